//! `RandAugment`: `num_ops` operations drawn from eleven augmentation layers, applied in turn
//! (in training).

use serde_json::{json, Value};

use super::augment_ops::{check_op_count, AugmentOp, AugmentOps, RAND_AUGMENT_ORDER};
use super::image_common::{num, LayerRng};
use crate::layers::data_format::DataFormat;
use crate::layers::layer::{Layer, LayerBase};
use crate::layers::layer_args::{LayerArgs, LayerCfg};
use crate::utils::config_args::config_args;
use crate::{Result, Tensor};

/// Keras `keras.layers.RandAugment`: in training, `num_ops` operations (default 2) are drawn
/// uniformly, with repetition, once per batch from RandomShear, RandomTranslation,
/// RandomRotation, RandomBrightness, RandomColorDegeneration, RandomContrast,
/// RandomSharpness, RandomPosterization, Solarization, AutoContrast and Equalization, and
/// applied in turn to the whole batch. The sub-layers are Keras's: their factors are the
/// `factor` range (a number `f` for `[0, f]`, or a pair, within `[0, 1]`; default 0.5),
/// RandomPosterization keeps `max(1, int(8 * upper))` bits, the geometric ones use
/// `interpolation` (default `"bilinear"`), all use `value_range` and `data_format`. Identity
/// in inference.
///
/// Each operation draws its parameters when it runs, from a stream seeded by `seed` plus its
/// place in the list (or from the global generator); Keras draws every operation's
/// parameters once per batch, so an operation drawn twice repeats its parameters there and
/// draws anew here. `num_ops` is at most 1024 (keras-rs's limit).
///
/// ```
/// use keras::layers::{AugmentOp, CallContext, Layer, RandAugment};
/// let ra = RandAugment::new().num_ops(3).seed(1);
/// let x = keras::Tensor::new((0..2 * 4 * 4 * 3).map(|v| (v * 5 % 256) as f32).collect(), [2, 4, 4, 3]).unwrap();
/// assert_eq!(ra.call(&x, &mut CallContext::new(true)).unwrap().shape(), &[2, 4, 4, 3]);
/// // Explicit operations (Keras's `transform_images` with chosen layers and transformations).
/// let y = ra.transform_with(&x, &[AugmentOp::Brightness(vec![300.0, 300.0]), AugmentOp::Equalization]).unwrap();
/// assert!(y.to_f32_vec().iter().all(|v| *v == 255.0));
/// ```
pub struct RandAugment {
    base: LayerBase,
    args: RandAugmentArgs,
    ops: Option<AugmentOps>,
    rng: LayerRng,
}

config_args! {
    /// RandAugment's Keras arguments, in the order of its `get_config()`.
    pub(crate) struct RandAugmentArgs in RandAugment.args, family LayerArgs {
        data_format: DataFormat = DataFormat::default(),
        /// `[min, max]` of the pixel values, kept as given (checked by the sub-layers).
        value_range: Value = json!([0, 255]),
        /// The number of operations per batch.
        num_ops: usize = 2,
        /// `[lower, upper]` of the operations' factors (checked by the constructor).
        factor: Value = json!([0, 0.5]),
        /// The geometric operations' interpolation.
        interpolation: String = "bilinear".into(),
        /// A fixed seed for this layer's draws (otherwise the global generator).
        seed: Option<u64> = None,
    }
}

impl Default for RandAugment {
    fn default() -> Self {
        Self::new()
    }
}

impl RandAugment {
    /// Keras's defaults: two operations, `factor=0.5`, values in `[0, 255]`, bilinear.
    pub fn new() -> Self {
        RandAugment {
            base: LayerBase::new("rand_augment"),
            args: RandAugmentArgs::defaults(),
            ops: None,
            rng: LayerRng::default(),
        }
        .rebuilt()
    }

    /// The number of operations per batch (at most 1024).
    pub fn num_ops(mut self, n: usize) -> Self {
        self.args.num_ops = n;
        self.rebuilt()
    }

    /// The operations' factor range: `[0, f]` (within `[0, 1]`).
    pub fn factor(mut self, f: f64) -> Self {
        self.args.factor = num(f);
        self.rebuilt()
    }

    super::augment_ops::ops_layer_builders!("RandAugment");

    fn build_ops(&mut self) -> Result<()> {
        let a = &self.args;
        check_op_count(a.num_ops, "`num_ops`", &format!("num_ops={}", a.num_ops))?;
        let (ops, factor) =
            AugmentOps::from_args(&a.factor, &a.value_range, &a.interpolation, a.seed, a.data_format)?;
        (self.ops, self.args.factor) = (Some(ops), factor);
        Ok(())
    }

    /// Rebuilds from a Keras config (with the constructor's and the sub-layers' checks).
    pub fn from_config(cfg: &Value) -> Result<Self> {
        let args = RandAugmentArgs::read_args(&mut LayerCfg::new(cfg, "RandAugment"))?;
        let mut l = RandAugment { args, ..RandAugment::new() };
        l.build_ops()?;
        l.base.apply_config(cfg);
        Ok(l)
    }

    /// Keras's `transform_images` with explicit operations: each of `ops` in turn, with its
    /// parameters, on `images` (in the layer's data format).
    pub fn transform_with(&self, images: &Tensor, ops: &[AugmentOp]) -> Result<Tensor> {
        let all = self.checked_ops()?;
        let mut x = images.clone();
        for op in ops {
            x = all.apply(op, &x)?;
        }
        Ok(x)
    }
}

impl RandAugment {
    /// The layer in training: `num_ops` operations drawn for the batch, in turn.
    fn call_training(&self, x: &Tensor) -> Result<Tensor> {
        let ops = self.checked_ops()?;
        let picks: Vec<usize> = self.rng.with(self.args.seed, |r| {
            (0..self.args.num_ops).map(|_| r.below(RAND_AUGMENT_ORDER.len() as u64) as usize).collect()
        });
        picks.iter().try_fold(x.clone(), |y, &i| ops.call(RAND_AUGMENT_ORDER[i], &y))
    }
}

impl Layer for RandAugment {
    super::augment_ops::composite_layer_methods!("RandAugment");
}
