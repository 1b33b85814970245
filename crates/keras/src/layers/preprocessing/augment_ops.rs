//! The augmentation operations RandAugment and AugMix draw from: the eleven sub-layers Keras
//! makes from their `factor`, `value_range`, `interpolation`, `seed` and `data_format`, and
//! [`AugmentOp`], one operation with explicit parameters (the layers' `transform_with`); and
//! the `Layer` methods of the composite layers (RandomColorJitter, RandAugment, AugMix).

use serde_json::{json, Value};

use super::{
    AutoContrast, Equalization, RandomBrightness, RandomColorDegeneration, RandomContrast,
    RandomPosterization, RandomRotation, RandomSharpness, RandomShear, RandomTranslation, Solarization,
};
use crate::layers::data_format::DataFormat;
use crate::layers::layer::{CallContext, Layer};
use crate::{keras_bail, Result, Tensor};

/// The most operations keras-rs chains in one call (Keras has no limit).
pub(crate) const MAX_OPS: usize = 1024;

/// keras-rs's limit on the operations of one call: `count` (described by `received`) must
/// be at most [`MAX_OPS`].
pub(crate) fn check_op_count(count: usize, what: &str, received: &str) -> Result<()> {
    if count > MAX_OPS {
        keras_bail!(
            InvalidArgument,
            "{what} must be at most {MAX_OPS} (keras-rs's limit). Received: {received}"
        );
    }
    Ok(())
}

/// Keras's `_is_batched` check of a composite layer's input: one image or a batch.
pub(crate) fn check_image_rank(x: &Tensor) -> Result<()> {
    if !matches!(x.rank(), 3 | 4) {
        keras_bail!(
            Shape,
            "Expected image tensor to have rank 3 (single image) or 4 (batch of images). Received: \
             data.shape={:?}",
            x.shape()
        );
    }
    Ok(())
}

/// One augmentation operation with explicit parameters (one value per image), as RandAugment
/// and AugMix apply it: the sub-layer's `transform_with` (Keras's `transform_images` with
/// the sub-layer's transformation). RandomTranslation and RandomRotation have no explicit
/// form in keras-rs; they run only with their own draws.
#[derive(Clone, Debug, PartialEq)]
pub enum AugmentOp {
    /// RandomShear with `[shear_x, shear_y]` per image.
    Shear(Vec<[f32; 2]>),
    /// RandomBrightness with its deltas (already times the value range's width).
    Brightness(Vec<f32>),
    /// RandomColorDegeneration with its blend factors.
    ColorDegeneration(Vec<f32>),
    /// RandomContrast with its contrast factors.
    Contrast(Vec<f32>),
    /// RandomSharpness with its sharpness factors.
    Sharpness(Vec<f32>),
    /// RandomPosterization with its bit shifts.
    Posterization(Vec<u8>),
    /// Solarization with its additions and thresholds.
    Solarization {
        /// Added to each image (in the 0..255 scale).
        additions: Vec<f32>,
        /// Pixels above the threshold are inverted.
        thresholds: Vec<f32>,
    },
    /// AutoContrast (no parameters).
    AutoContrast,
    /// Equalization (no parameters).
    Equalization,
}

/// The names of the operations, in RandAugment's order (Keras's `_AUGMENT_LAYERS`).
pub(crate) const RAND_AUGMENT_ORDER: [Op; 11] = [
    Op::Shear,
    Op::Translation,
    Op::Rotation,
    Op::Brightness,
    Op::ColorDegeneration,
    Op::Contrast,
    Op::Sharpness,
    Op::Posterization,
    Op::Solarization,
    Op::AutoContrast,
    Op::Equalization,
];

/// AugMix's operations (Keras's `AUGMENT_LAYERS_ALL`; the first seven without `all_ops`).
pub(crate) const AUG_MIX_ORDER: [Op; 11] = [
    Op::Shear,
    Op::Translation,
    Op::Rotation,
    Op::Posterization,
    Op::Solarization,
    Op::AutoContrast,
    Op::Equalization,
    Op::Brightness,
    Op::ColorDegeneration,
    Op::Contrast,
    Op::Sharpness,
];

/// One of the eleven sub-layers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    Shear,
    Translation,
    Rotation,
    Brightness,
    ColorDegeneration,
    Contrast,
    Sharpness,
    Posterization,
    Solarization,
    AutoContrast,
    Equalization,
}

/// The eleven sub-layers of RandAugment and AugMix, made as Keras makes them (each from a
/// config, so with its own checks); their draws use streams seeded by `seed + k` (`k` the
/// sub-layer's place), or the global generator.
pub(crate) struct AugmentOps {
    shear: RandomShear,
    translation: RandomTranslation,
    rotation: RandomRotation,
    brightness: RandomBrightness,
    color_degeneration: RandomColorDegeneration,
    contrast: RandomContrast,
    sharpness: RandomSharpness,
    posterization: RandomPosterization,
    solarization: Solarization,
    auto_contrast: AutoContrast,
    equalization: Equalization,
}

impl AugmentOps {
    /// The sub-layers for a layer's `factor` argument (read as the base layer's, within
    /// `[0, 1]`), with the factor as the config keeps it.
    pub fn from_args(
        factor: &Value,
        value_range: &Value,
        interpolation: &str,
        seed: Option<u64>,
        df: DataFormat,
    ) -> Result<(Self, Value)> {
        let (lo, hi, factor) = super::image_common::base_factor(factor, (0, 1))?;
        Ok((AugmentOps::new((lo, hi), value_range, interpolation, seed, df)?, factor))
    }

    /// The sub-layers for `factor` (`[lower, upper]`), `value_range`, `interpolation`,
    /// `seed` and `data_format`.
    pub fn new(
        factor: (f64, f64),
        value_range: &Value,
        interpolation: &str,
        seed: Option<u64>,
        df: DataFormat,
    ) -> Result<Self> {
        let f = json!([factor.0, factor.1]);
        let df = df.as_str();
        let seed = |k: u64| seed.map(|s| s.wrapping_add(k));
        let color =
            |k: u64| json!({"factor": f, "value_range": value_range, "seed": seed(k), "data_format": df});
        // Keras's `max(1, int(8 * upper))` bits.
        let bits = ((8.0 * factor.1) as i64).max(1);
        let plain = json!({"value_range": value_range, "data_format": df});
        Ok(AugmentOps {
            shear: RandomShear::from_config(&json!({
                "x_factor": f, "y_factor": f, "interpolation": interpolation, "seed": seed(0), "data_format": df
            }))?,
            translation: RandomTranslation::from_config(&json!({
                "height_factor": f, "width_factor": f, "interpolation": interpolation, "seed": seed(1), "data_format": df
            }))?,
            rotation: RandomRotation::from_config(&json!({
                "factor": f, "interpolation": interpolation, "seed": seed(2), "data_format": df
            }))?,
            brightness: RandomBrightness::from_config(&color(3))?,
            color_degeneration: RandomColorDegeneration::from_config(&color(4))?,
            contrast: RandomContrast::from_config(&color(5))?,
            sharpness: RandomSharpness::from_config(&color(6))?,
            posterization: RandomPosterization::from_config(&json!({
                "factor": bits, "value_range": value_range, "seed": seed(7), "data_format": df
            }))?,
            solarization: Solarization::from_config(&json!({
                "addition_factor": f, "threshold_factor": f, "value_range": value_range, "seed": seed(8), "data_format": df
            }))?,
            auto_contrast: AutoContrast::from_config(&plain)?,
            equalization: Equalization::from_config(&plain)?,
        })
    }

    /// The sub-layer of `op`.
    pub fn layer(&self, op: Op) -> &dyn Layer {
        match op {
            Op::Shear => &self.shear,
            Op::Translation => &self.translation,
            Op::Rotation => &self.rotation,
            Op::Brightness => &self.brightness,
            Op::ColorDegeneration => &self.color_degeneration,
            Op::Contrast => &self.contrast,
            Op::Sharpness => &self.sharpness,
            Op::Posterization => &self.posterization,
            Op::Solarization => &self.solarization,
            Op::AutoContrast => &self.auto_contrast,
            Op::Equalization => &self.equalization,
        }
    }

    /// `op` with its own draw (in training).
    pub fn call(&self, op: Op, x: &Tensor) -> Result<Tensor> {
        self.layer(op).call(x, &mut CallContext::new(true))
    }

    /// `op` with explicit parameters.
    pub fn apply(&self, op: &AugmentOp, x: &Tensor) -> Result<Tensor> {
        match op {
            AugmentOp::Shear(s) => self.shear.transform_with(x, s),
            AugmentOp::Brightness(d) => self.brightness.transform_with(x, d),
            AugmentOp::ColorDegeneration(f) => self.color_degeneration.transform_with(x, f),
            AugmentOp::Contrast(f) => self.contrast.transform_with(x, f),
            AugmentOp::Sharpness(f) => self.sharpness.transform_with(x, f),
            AugmentOp::Posterization(s) => self.posterization.transform_with(x, s),
            AugmentOp::Solarization { additions, thresholds } => {
                self.solarization.transform_with(x, additions, thresholds)
            }
            AugmentOp::AutoContrast => self.auto_contrast.call(x, &mut CallContext::new(true)),
            AugmentOp::Equalization => self.equalization.transform(x),
        }
    }
}

/// The builders and checks RandAugment and AugMix share (fields `base`, `args` with
/// `value_range`, `interpolation`, `seed`, `data_format`, and `ops`; the layer's
/// `build_ops` makes the sub-layers): `value_range`, `interpolation`, `seed`, `data_format`
/// (each remaking the sub-layers), `name`, and `checked_ops`.
macro_rules! ops_layer_builders {
    ($class:literal) => {
        /// The range of the pixel values (default `[0, 255]`).
        pub fn value_range(mut self, min: f64, max: f64) -> Self {
            use $crate::layers::preprocessing::image_common::num;
            self.args.value_range = serde_json::json!([num(min), num(max)]);
            self.rebuilt()
        }

        /// `"bilinear"` or `"nearest"` (the geometric operations).
        pub fn interpolation(mut self, name: &str) -> Self {
            self.args.interpolation = name.into();
            self.rebuilt()
        }

        /// A fixed seed for the draws.
        pub fn seed(mut self, seed: u64) -> Self {
            self.args.seed = Some(seed);
            self.rebuilt()
        }

        /// `"channels_last"` or `"channels_first"` (default: the image data format).
        pub fn data_format(mut self, f: &str) -> Self {
            self.base.accept(&mut self.args.data_format, $crate::layers::DataFormat::parse(f));
            self.rebuilt()
        }

        $crate::layers::builders::name_builder!();

        /// The sub-layers remade for the arguments (an error is the layer's pending error).
        fn rebuilt(mut self) -> Self {
            if let Err(e) = self.build_ops() {
                self.ops = None;
                self.base.fail(e);
            }
            self
        }

        /// The sub-layers, or the layer's pending error.
        fn checked_ops(&self) -> $crate::Result<&$crate::layers::preprocessing::augment_ops::AugmentOps> {
            $crate::layers::layer::check_pending(self)?;
            match &self.ops {
                Some(ops) => Ok(ops),
                None => $crate::keras_bail!(
                    InvalidArgument,
                    concat!($class, ": the layer's arguments are invalid")
                ),
            }
        }
    };
}
pub(crate) use ops_layer_builders;

/// The `Layer` methods of a composite image layer (fields `base`, `args` with
/// `data_format`): the input's shape, Keras's rank check, the identity in inference, the
/// layer's `call_training(&self, x)` in training, and the config of its arguments.
macro_rules! composite_layer_methods {
    ($class:literal) => {
        $crate::layers::layer::layer_base_methods!($class);
        fn records_build_config(&self) -> bool {
            false
        }
        fn compute_output_shape(&self, s: &[Option<usize>]) -> $crate::Result<$crate::layers::Shape> {
            $crate::layers::preprocessing::image_common::image_shape(self.args.data_format, s, |s| {
                Ok(s.to_vec())
            })
        }
        fn call(
            &self,
            x: &$crate::Tensor,
            ctx: &mut $crate::layers::CallContext,
        ) -> $crate::Result<$crate::Tensor> {
            $crate::layers::layer::check_pending(self)?;
            $crate::layers::preprocessing::augment_ops::check_image_rank(x)?;
            if !ctx.training {
                return Ok(x.clone());
            }
            self.call_training(x)
        }
        $crate::layers::reshaping::args::layer_common!(@args_config);
    };
}
pub(crate) use composite_layer_methods;
