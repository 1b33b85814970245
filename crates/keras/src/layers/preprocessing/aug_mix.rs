//! `AugMix`: blends each batch with a weighted mix of randomly augmented copies (in
//! training).

use serde_json::{json, Number, Value};

use super::augment_ops::{check_op_count, AugmentOp, AugmentOps, AUG_MIX_ORDER};
use super::image_common::{num, number, value_range, LayerRng};
use super::mixing::{beta_draw, dirichlet_draw, draw_alpha};
use crate::layers::data_format::DataFormat;
use crate::layers::layer::{Layer, LayerBase};
use crate::layers::layer_args::{LayerArgs, LayerCfg};
use crate::utils::config_args::config_args;
use crate::{keras_bail, Result, Tensor};

/// Keras `keras.layers.AugMix`: in training, `num_chains` chains (default 3) of up to
/// `chain_depth` operations (default 3; each step picks uniformly one of the operations or
/// none) run on copies of the batch; the result is `w * x + (1 - w) * sum_k c_k chain_k(x)`,
/// clipped to `value_range`, with chain weights `c` from Dirichlet(`alpha`) and `w` from
/// Beta(`alpha`, `alpha`) (default `alpha=1.0`), drawn once per batch. The operations are
/// RandomShear, RandomTranslation, RandomRotation, RandomPosterization, Solarization,
/// AutoContrast, Equalization, and with `all_ops` (default) RandomBrightness,
/// RandomColorDegeneration, RandomContrast and RandomSharpness, made as RandAugment makes
/// them from `factor` (default 0.3), `value_range`, `interpolation`, `seed` and
/// `data_format`. Identity in inference.
///
/// Keras picks the operations with Python's unseeded `random`; keras-rs with the layer's
/// stream. `num_chains * chain_depth` is at most 1024 (keras-rs's limit), and `alpha` must be
/// positive and finite when the layer draws.
///
/// ```
/// use keras::layers::{AugMix, AugmentOp, CallContext, Layer};
/// let aug = AugMix::new().seed(1);
/// let x = keras::Tensor::new((0..2 * 4 * 4 * 3).map(|v| (v * 5 % 256) as f32).collect(), [2, 4, 4, 3]).unwrap();
/// assert_eq!(aug.call(&x, &mut CallContext::new(true)).unwrap().shape(), &[2, 4, 4, 3]);
/// // Explicit chains and weights (Keras's `transform_images`): half the image, half its
/// // brightened copy.
/// let chains = vec![vec![AugmentOp::Brightness(vec![10.0, 10.0])]];
/// let y = aug.transform_with(&x, &chains, &[1.0], 0.5).unwrap();
/// assert!(y.to_f32_vec().iter().zip(x.to_f32_vec()).all(|(a, b)| (a - (b + 5.0).min(250.0)).abs() < 1e-3 || b > 245.0));
/// ```
pub struct AugMix {
    base: LayerBase,
    args: AugMixArgs,
    range: (f32, f32),
    ops: Option<AugmentOps>,
    rng: LayerRng,
}

config_args! {
    /// AugMix's Keras arguments, in the order of its `get_config()`.
    pub(crate) struct AugMixArgs in AugMix.args, family LayerArgs {
        data_format: DataFormat = DataFormat::default(),
        /// `[min, max]` of the pixel values, kept as given (checked by the constructor).
        value_range: Value = json!([0, 255]),
        /// The number of augmentation chains.
        num_chains: usize = 3,
        /// The most operations of a chain.
        chain_depth: usize = 3,
        /// `[lower, upper]` of the operations' factors (checked by the constructor).
        factor: Value = json!([0, 0.3]),
        /// The Dirichlet and Beta parameter.
        alpha: Number = number(1.0),
        /// All eleven operations, or the first seven.
        all_ops: bool = true,
        /// The geometric operations' interpolation.
        interpolation: String = "bilinear".into(),
        /// A fixed seed for this layer's draws (otherwise the global generator).
        seed: Option<u64> = None,
    }
}

impl Default for AugMix {
    fn default() -> Self {
        Self::new()
    }
}

impl AugMix {
    /// Keras's defaults: 3 chains of depth 3, `factor=0.3`, `alpha=1.0`, all operations.
    pub fn new() -> Self {
        AugMix {
            base: LayerBase::new("aug_mix"),
            args: AugMixArgs::defaults(),
            range: (0.0, 255.0),
            ops: None,
            rng: LayerRng::default(),
        }
        .rebuilt()
    }

    /// The number of chains.
    pub fn num_chains(mut self, n: usize) -> Self {
        self.args.num_chains = n;
        self.rebuilt()
    }

    /// The most operations of a chain.
    pub fn chain_depth(mut self, n: usize) -> Self {
        self.args.chain_depth = n;
        self.rebuilt()
    }

    /// The operations' factor range: `[0, f]` (within `[0, 1]`).
    pub fn factor(mut self, f: f64) -> Self {
        self.args.factor = num(f);
        self.rebuilt()
    }

    /// The Dirichlet and Beta parameter.
    pub fn alpha(mut self, a: f64) -> Self {
        self.args.alpha = number(a);
        self
    }

    /// `false`: only the seven operations that do not change colors by a factor.
    pub fn all_ops(mut self, all: bool) -> Self {
        self.args.all_ops = all;
        self
    }

    super::augment_ops::ops_layer_builders!("AugMix");

    fn build_ops(&mut self) -> Result<()> {
        let a = &self.args;
        let received = format!("num_chains={}, chain_depth={}", a.num_chains, a.chain_depth);
        check_op_count(a.num_chains.saturating_mul(a.chain_depth), "`num_chains * chain_depth`", &received)?;
        let (v0, v1, _) = value_range(&a.value_range, false)?;
        let (ops, factor) =
            AugmentOps::from_args(&a.factor, &a.value_range, &a.interpolation, a.seed, a.data_format)?;
        (self.ops, self.args.factor, self.range) = (Some(ops), factor, (v0 as f32, v1 as f32));
        Ok(())
    }

    /// Rebuilds from a Keras config (with the constructor's and the sub-layers' checks).
    pub fn from_config(cfg: &Value) -> Result<Self> {
        let args = AugMixArgs::read_args(&mut LayerCfg::new(cfg, "AugMix"))?;
        let mut l = AugMix { args, ..AugMix::new() };
        l.build_ops()?;
        l.base.apply_config(cfg);
        Ok(l)
    }

    /// Keras's `transform_images` with explicit parameters: each chain of `chains` (its
    /// operations in turn, with their parameters) on a copy of `images` (in the layer's data
    /// format), mixed with `chain_weights` (one per chain), blended with the images by
    /// `weight_sample`, clipped to `value_range`.
    pub fn transform_with(
        &self,
        images: &Tensor,
        chains: &[Vec<AugmentOp>],
        chain_weights: &[f32],
        weight_sample: f32,
    ) -> Result<Tensor> {
        let ops = self.checked_ops()?;
        if chain_weights.len() != chains.len() {
            keras_bail!(
                InvalidArgument,
                "AugMix: one weight per chain: {} chains, {} weights",
                chains.len(),
                chain_weights.len()
            );
        }
        self.mix(images, chain_weights, weight_sample, |k, x| {
            chains[k].iter().try_fold(x.clone(), |y, op| ops.apply(op, &y))
        })
    }

    /// `w * x + (1 - w) * sum_k c_k chain(k, x)`, clipped (Keras's float32 operations).
    fn mix(
        &self,
        x: &Tensor,
        chain_weights: &[f32],
        w: f32,
        chain: impl Fn(usize, &Tensor) -> Result<Tensor>,
    ) -> Result<Tensor> {
        let mut aug = vec![0.0f32; x.numel()];
        for (k, &c) in chain_weights.iter().enumerate() {
            let y = chain(k, x)?;
            if y.shape() != x.shape() {
                keras_bail!(Shape, "AugMix: a chain changed the images' shape");
            }
            aug.iter_mut().zip(y.to_f32_vec()).for_each(|(a, v)| *a += v * c);
        }
        let (lo, hi) = self.range;
        let out: Vec<f32> =
            x.to_f32_vec().iter().zip(&aug).map(|(v, a)| (w * v + (1.0 - w) * a).max(lo).min(hi)).collect();
        Ok(Tensor::new(out, x.shape().to_vec())?)
    }
}

impl AugMix {
    /// The layer in training: chains and weights drawn for the batch, mixed.
    fn call_training(&self, x: &Tensor) -> Result<Tensor> {
        let ops = self.checked_ops()?;
        let alpha = draw_alpha(&self.args.alpha, "AugMix")?;
        let choices = if self.args.all_ops { AUG_MIX_ORDER.len() } else { 7 };
        let (weights, w, chains) = self.rng.with(self.args.seed, |r| {
            let weights: Vec<f32> =
                dirichlet_draw(r, alpha, self.args.num_chains).iter().map(|&v| v as f32).collect();
            let w = beta_draw(r, alpha, alpha) as f32;
            // Each step: one of the operations, or none (the last choice).
            let chains: Vec<Vec<usize>> = (0..self.args.num_chains)
                .map(|_| {
                    (0..self.args.chain_depth)
                        .map(|_| r.below(choices as u64 + 1) as usize)
                        .filter(|&i| i < choices)
                        .collect()
                })
                .collect();
            (weights, w, chains)
        });
        self.mix(x, &weights, w, |k, x| {
            chains[k].iter().try_fold(x.clone(), |y, &i| ops.call(AUG_MIX_ORDER[i], &y))
        })
    }
}

impl Layer for AugMix {
    super::augment_ops::composite_layer_methods!("AugMix");
}
