//! `AdditiveAttention`: Bahdanau-style attention (Keras
//! `keras/src/layers/attention/additive_attention.py`), the [`Attention`] machinery with
//! additive scores.

use serde_json::Value;

use crate::layers::attention::attention::{AdditiveAttentionArgs, Attention, AttentionArgs, ScoreMode};
use crate::layers::layer::Layer;
use crate::layers::layer_args::LayerCfg;
use crate::Result;

/// Keras `keras.layers.AdditiveAttention`: scores are `sum(scale * tanh(query + key), -1)`
/// with a learned `scale` vector of the query's last dimension (`use_scale`, default on);
/// then `softmax(scores) @ value` as in [`Attention`], with the same masks, dropout and call
/// keyword arguments (`return_attention_scores`, `use_causal_mask`).
///
/// ```
/// use keras::layers::{AdditiveAttention, CallContext, Layer};
/// use keras::Tensor;
///
/// let mut att = AdditiveAttention::new();
/// att.build_multi(&[vec![None, Some(2), Some(3)], vec![None, Some(4), Some(3)]]).unwrap();
/// assert_eq!(att.weights()[0].shape(), &[3]); // the scale vector
/// let out = att
///     .call_multi(&[Tensor::ones([1, 2, 3]), Tensor::ones([1, 4, 3])], &[None, None], &mut CallContext::new(false))
///     .unwrap();
/// assert_eq!(out[0].shape(), &[1, 2, 3]);
/// ```
pub struct AdditiveAttention(Attention);

impl Default for AdditiveAttention {
    fn default() -> Self {
        Self::new()
    }
}

impl AdditiveAttention {
    /// Additive attention with a learned scale and no dropout.
    pub fn new() -> Self {
        AdditiveAttention(Attention::with_mode(ScoreMode::Additive, "additive_attention", true))
    }

    /// Whether to learn the `scale` vector (default true).
    pub fn use_scale(mut self, yes: bool) -> Self {
        self.0.args.use_scale = yes;
        self
    }

    /// Dropout rate on the attention weights in training, in `[0, 1)`.
    pub fn dropout(mut self, rate: f32) -> Self {
        self.0.set_dropout(rate);
        self
    }

    /// A fixed seed for the dropout masks.
    pub fn seed(mut self, seed: u64) -> Self {
        self.0.set_seed(seed);
        self
    }

    /// Sets the layer name.
    pub fn name(mut self, name: &str) -> Self {
        self.0.base.rename(name);
        self
    }

    /// Rebuilds from a Keras config.
    pub fn from_config(cfg: &Value) -> Result<Self> {
        let a = AdditiveAttentionArgs::read_args(&mut LayerCfg::new(cfg, "AdditiveAttention"))?;
        let args = AttentionArgs {
            use_scale: a.use_scale,
            score_mode: ScoreMode::Additive,
            dropout: a.dropout,
            seed: a.seed,
        };
        let mut l = AdditiveAttention::new();
        l.0.configure(args, cfg)?;
        Ok(l)
    }
}

impl Layer for AdditiveAttention {
    crate::layers::layer::layer_base_methods!("AdditiveAttention", 0.base);
    // Every method Attention overrides but its sub-layer walk (it has none).
    crate::layers::forward::forward_layer_methods!(0;
        takes_list, compute_output_shape, build, call, build_multi, compute_output_shapes,
        call_multi, compute_masks, call_kwarg_names, call_with_kwargs, build_with_kwargs,
        compute_output_shapes_with_kwargs, compute_masks_with_kwargs, own_weights, own_weights_mut,
        get_config, serialize,
    );
}
