//! `AdditiveAttention`: Bahdanau-style attention (Keras
//! `keras/src/layers/attention/additive_attention.py`), the [`Attention`] machinery with
//! additive scores.

use serde_json::Value;

use crate::layers::attention::attention::{AdditiveAttentionArgs, Attention, AttentionArgs, ScoreMode};
use crate::layers::call_kwargs::{CallKwargs, ShapeKwargs};
use crate::layers::layer::{CallContext, Layer, Shape, Variable};
use crate::layers::layer_args::LayerCfg;
use crate::{Result, Tensor};

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
    fn takes_list(&self) -> bool {
        true
    }
    fn compute_output_shape(&self, s: &[Option<usize>]) -> Result<Shape> {
        self.0.compute_output_shape(s)
    }
    fn build(&mut self, s: &[Option<usize>]) -> Result<()> {
        self.0.build(s)
    }
    fn call(&self, x: &Tensor, ctx: &mut CallContext) -> Result<Tensor> {
        self.0.call(x, ctx)
    }
    fn build_multi(&mut self, shapes: &[Shape]) -> Result<()> {
        self.0.build_multi(shapes)
    }
    fn compute_output_shapes(&self, shapes: &[Shape]) -> Result<Vec<Shape>> {
        self.0.compute_output_shapes(shapes)
    }
    fn call_multi(
        &self,
        inputs: &[Tensor],
        masks: &[Option<Tensor>],
        ctx: &mut CallContext,
    ) -> Result<Vec<Tensor>> {
        self.0.call_multi(inputs, masks, ctx)
    }
    fn compute_masks(&self, inputs: &[Tensor], masks: &[Option<Tensor>]) -> Result<Vec<Option<Tensor>>> {
        self.0.compute_masks(inputs, masks)
    }
    fn call_kwarg_names(&self) -> &'static [&'static str] {
        self.0.call_kwarg_names()
    }
    fn call_with_kwargs(
        &self,
        inputs: &[Tensor],
        masks: &[Option<Tensor>],
        kwargs: &CallKwargs,
        ctx: &mut CallContext,
    ) -> Result<Vec<Tensor>> {
        self.0.call_with_kwargs(inputs, masks, kwargs, ctx)
    }
    fn build_with_kwargs(&mut self, shapes: &[Shape], kwargs: &ShapeKwargs) -> Result<()> {
        self.0.build_with_kwargs(shapes, kwargs)
    }
    fn compute_output_shapes_with_kwargs(
        &self,
        shapes: &[Shape],
        kwargs: &ShapeKwargs,
    ) -> Result<Vec<Shape>> {
        self.0.compute_output_shapes_with_kwargs(shapes, kwargs)
    }
    fn compute_masks_with_kwargs(
        &self,
        inputs: &[Tensor],
        masks: &[Option<Tensor>],
        kwargs: &CallKwargs,
    ) -> Result<Vec<Option<Tensor>>> {
        self.0.compute_masks_with_kwargs(inputs, masks, kwargs)
    }
    fn own_weights(&self) -> Vec<&Variable> {
        self.0.weights()
    }
    fn own_weights_mut(&mut self) -> Vec<&mut Variable> {
        self.0.weights_mut()
    }
    fn get_config(&self) -> Value {
        self.0.config()
    }
    fn serialize(&self) -> Value {
        self.0.serialize()
    }
}
