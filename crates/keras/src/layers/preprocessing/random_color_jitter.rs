//! `RandomColorJitter`: RandomBrightness, RandomContrast, RandomSaturation and RandomHue in
//! turn, each when its factor is given (in training).

use serde_json::{json, Value};

use super::image_common::num;
use super::{RandomBrightness, RandomContrast, RandomHue, RandomSaturation};
use crate::layers::data_format::DataFormat;
use crate::layers::layer::{CallContext, Layer, LayerBase};
use crate::layers::layer_args::{LayerArgs, LayerCfg};
use crate::utils::config_args::config_args;
use crate::{keras_bail, Result, Tensor};

/// Explicit parameters of [`RandomColorJitter::transform_with`], one value per image for each
/// of the layer's parts (`None` for a part the layer does not have): Keras's transformations
/// of the sub-layers.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ColorJitterParams {
    /// RandomBrightness's deltas (already times the value range's width).
    pub brightness: Option<Vec<f32>>,
    /// RandomContrast's factors.
    pub contrast: Option<Vec<f32>>,
    /// RandomSaturation's factors (already `f / (1 - f + 1e-7)`).
    pub saturation: Option<Vec<f32>>,
    /// RandomHue's shifts (already signed and halved).
    pub hue: Option<Vec<f32>>,
}

/// Keras `keras.layers.RandomColorJitter`: in training, RandomBrightness
/// (`brightness_factor`), RandomContrast (`contrast_factor`), RandomSaturation
/// (`saturation_factor`) and RandomHue (`hue_factor`) applied in this order, each only when its
/// factor is given (a number or a pair, read and checked as the sub-layer reads its `factor`),
/// all with `value_range` (default `[0, 255]`). Identity in inference.
///
/// As in Keras, the sub-layers are made without the layer's `data_format`: they take the
/// default image data format, so channels-first images go through them as channels-last
/// ones (contrast means over channels and rows; saturation and hue need a last axis of 3).
/// The sub-layers draw from streams seeded by `seed` (`seed + 1`, `+ 2`, `+ 3` for the later
/// ones, so that their draws are independent), or from the global generator.
///
/// ```
/// use keras::layers::{CallContext, ColorJitterParams, Layer, RandomColorJitter};
/// let jitter = RandomColorJitter::new().brightness_factor(0.2).contrast_factor(0.5).seed(1);
/// let x = keras::Tensor::new(vec![10.0, 20.0, 30.0, 40.0], [1, 2, 2, 1]).unwrap();
/// // Explicit parameters: add 10, then halve the contrast around the mean (35).
/// let p = ColorJitterParams { brightness: Some(vec![10.0]), contrast: Some(vec![0.5]), ..Default::default() };
/// assert_eq!(jitter.transform_with(&x, &p).unwrap().to_f32_vec(), vec![27.5, 32.5, 37.5, 42.5]);
/// assert_eq!(jitter.call(&x, &mut CallContext::new(false)).unwrap().to_f32_vec(), x.to_f32_vec());
/// ```
pub struct RandomColorJitter {
    base: LayerBase,
    args: RandomColorJitterArgs,
    brightness: Option<RandomBrightness>,
    contrast: Option<RandomContrast>,
    saturation: Option<RandomSaturation>,
    hue: Option<RandomHue>,
}

config_args! {
    /// RandomColorJitter's Keras arguments, in the order of its `get_config()`.
    pub(crate) struct RandomColorJitterArgs in RandomColorJitter.args, family LayerArgs {
        data_format: DataFormat = DataFormat::default(),
        /// `[min, max]` of the pixel values, kept as given (checked by the sub-layers).
        value_range: Value = json!([0, 255]),
        /// RandomBrightness's `factor`, or `null` for none.
        brightness_factor: Value = Value::Null,
        /// RandomContrast's `factor`, or `null` for none.
        contrast_factor: Value = Value::Null,
        /// RandomSaturation's `factor`, or `null` for none.
        saturation_factor: Value = Value::Null,
        /// RandomHue's `factor`, or `null` for none.
        hue_factor: Value = Value::Null,
        /// A fixed seed for this layer's draws (otherwise the global generator).
        seed: Option<u64> = None,
    }
}

/// The builders of the four factors: each sets its argument and remakes the parts.
macro_rules! factor_builders {
    ($($(#[$doc:meta])* $name:ident,)*) => {$(
        $(#[$doc])*
        pub fn $name(mut self, f: f64) -> Self {
            self.args.$name = num(f);
            self.rebuilt()
        }
    )*};
}

impl Default for RandomColorJitter {
    fn default() -> Self {
        Self::new()
    }
}

impl RandomColorJitter {
    /// Keras's defaults: no part (the identity), values in `[0, 255]`.
    pub fn new() -> Self {
        RandomColorJitter {
            base: LayerBase::new("random_color_jitter"),
            args: RandomColorJitterArgs::defaults(),
            brightness: None,
            contrast: None,
            saturation: None,
            hue: None,
        }
    }

    factor_builders! {
        /// RandomBrightness with `factor` (a delta in `[-f, f]` of the value range).
        brightness_factor,
        /// RandomContrast with `factor` (a contrast factor in `[1 - f, 1 + f]`).
        contrast_factor,
        /// RandomSaturation with `factor` (`[-f, f]`, 0.5 is the identity).
        saturation_factor,
        /// RandomHue with `factor` (`[0, f]`, within `[0, 1]`).
        hue_factor,
    }

    /// The range of the pixel values (default `[0, 255]`).
    pub fn value_range(mut self, min: f64, max: f64) -> Self {
        self.args.value_range = json!([num(min), num(max)]);
        self.rebuilt()
    }

    /// A fixed seed for the sub-layers' draws.
    pub fn seed(mut self, seed: u64) -> Self {
        self.args.seed = Some(seed);
        self.rebuilt()
    }

    crate::layers::builders::name_builder!();

    crate::layers::reshaping::args::data_format_builder!(args);

    /// The sub-layers of the arguments (their errors are the layer's pending error).
    fn rebuilt(mut self) -> Self {
        if let Err(e) = self.build_parts() {
            self.base.fail(e);
        }
        self
    }

    fn build_parts(&mut self) -> Result<()> {
        let a = &self.args;
        let part = |f: &Value, k: u64| -> Option<Value> {
            (!f.is_null()).then(|| {
                json!({"factor": f, "value_range": a.value_range, "seed": a.seed.map(|s| s.wrapping_add(k))})
            })
        };
        let (b, c, s, h) = (
            part(&a.brightness_factor, 0),
            part(&a.contrast_factor, 1),
            part(&a.saturation_factor, 2),
            part(&a.hue_factor, 3),
        );
        self.brightness = b.map(|c| RandomBrightness::from_config(&c)).transpose()?;
        self.contrast = c.map(|c| RandomContrast::from_config(&c)).transpose()?;
        self.saturation = s.map(|c| RandomSaturation::from_config(&c)).transpose()?;
        self.hue = h.map(|c| RandomHue::from_config(&c)).transpose()?;
        Ok(())
    }

    /// Rebuilds from a Keras config (with the sub-layers' checks).
    pub fn from_config(cfg: &Value) -> Result<Self> {
        let args = RandomColorJitterArgs::read_args(&mut LayerCfg::new(cfg, "RandomColorJitter"))?;
        let mut l = RandomColorJitter { args, ..RandomColorJitter::new() };
        l.build_parts()?;
        l.base.apply_config(cfg);
        Ok(l)
    }

    /// Keras's `transform_images` with explicit parameters: the layer's parts in order, each
    /// with its parameters from `p` (one per image); the images go through the sub-layers in
    /// their (default) data format, as in Keras.
    pub fn transform_with(&self, images: &Tensor, p: &ColorJitterParams) -> Result<Tensor> {
        crate::layers::layer::check_pending(self)?;
        fn part<'a, L>(
            l: &'a Option<L>,
            p: &'a Option<Vec<f32>>,
            what: &str,
        ) -> Result<Option<(&'a L, &'a [f32])>> {
            match (l, p) {
                (Some(l), Some(p)) => Ok(Some((l, p))),
                (None, None) => Ok(None),
                (Some(_), None) => {
                    keras_bail!(InvalidArgument, "RandomColorJitter: parameters for `{what}` are missing")
                }
                (None, Some(_)) => keras_bail!(
                    InvalidArgument,
                    "RandomColorJitter: no `{what}_factor`, but parameters for it"
                ),
            }
        }
        let mut x = images.clone();
        if let Some((l, v)) = part(&self.brightness, &p.brightness, "brightness")? {
            x = l.transform_with(&x, v)?;
        }
        if let Some((l, v)) = part(&self.contrast, &p.contrast, "contrast")? {
            x = l.transform_with(&x, v)?;
        }
        if let Some((l, v)) = part(&self.saturation, &p.saturation, "saturation")? {
            x = l.transform_with(&x, v)?;
        }
        if let Some((l, v)) = part(&self.hue, &p.hue, "hue")? {
            x = l.transform_with(&x, v)?;
        }
        Ok(x)
    }

    /// The layer in training: each part with its own draw.
    fn call_training(&self, x: &Tensor) -> Result<Tensor> {
        self.parts().into_iter().try_fold(x.clone(), |y, l| l.call(&y, &mut CallContext::new(true)))
    }

    /// The present parts, in Keras's order.
    fn parts(&self) -> Vec<&dyn Layer> {
        let mut v: Vec<&dyn Layer> = Vec::new();
        if let Some(l) = &self.brightness {
            v.push(l);
        }
        if let Some(l) = &self.contrast {
            v.push(l);
        }
        if let Some(l) = &self.saturation {
            v.push(l);
        }
        if let Some(l) = &self.hue {
            v.push(l);
        }
        v
    }
}

impl Layer for RandomColorJitter {
    super::augment_ops::composite_layer_methods!("RandomColorJitter");
}
