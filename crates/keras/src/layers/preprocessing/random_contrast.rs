//! `RandomContrast` and `RandomBrightness`: random per-image intensity changes in training.

use serde_json::{json, Value};

use super::color::transform_last;
use super::image_common::{base_factor, image_call, image_layer_impl, image_shape, num, uniform, LayerRng};
use crate::layers::data_format::DataFormat;
use crate::layers::layer::{configured, CallContext, Layer, LayerBase, Shape};
use crate::layers::layer_args::{LayerArgs, LayerCfg};
use crate::preprocessing::image::images::Images;
use crate::utils::config_args::config_args;
use crate::{Result, Tensor};

/// The arguments RandomContrast and RandomBrightness declare, the same in the same order.
macro_rules! intensity_args {
    ($Args:ident, $Owner:ident, $doc:literal) => {
        config_args! {
            #[doc = $doc]
            pub(crate) struct $Args in $Owner.args, family LayerArgs {
                data_format: DataFormat = DataFormat::default(),
                /// The factor as Keras keeps it: `[lower, upper]` (checked by the constructor).
                factor: Value,
                /// `[min, max]` of the pixel values (checked by the constructor).
                value_range: Value = json!([0, 255]),
                /// A fixed seed for this layer's draws (otherwise the global generator).
                seed: Option<u64> = None; builder seed(seed: u64) => Some(seed),
            }
        }
    };
}

/// Writes, inside the `impl` of an intensity layer, `with(factor)` (the factor checked within
/// `$bounds` as Keras's `_set_factor` does; a bad one is the layer's pending error) and
/// `from_config` (the constructor's and builders' checks on the config's values).
macro_rules! intensity_constructors {
    ($Ty:ident, $Args:ident, $snake:literal, $class:literal, $bounds:expr) => {
        fn with(f: &Value) -> Self {
            let mut base = LayerBase::new($snake);
            let (lower, upper, factor) = base_factor(f, $bounds).unwrap_or_else(|e| {
                base.fail(e);
                (0.0, 0.0, json!([0, 0]))
            });
            let args = $Args { factor, ..$Args::defaults() };
            $Ty { base, args, lower, upper, range: (0.0, 255.0), rng: LayerRng::default() }
        }

        /// Rebuilds from a Keras config.
        pub fn from_config(cfg: &Value) -> Result<Self> {
            let args = $Args::read_args(&mut LayerCfg::new(cfg, $class))?;
            let mut l = $Ty::with(&args.factor);
            l.set_value_range(&args.value_range)?;
            let a = l.args;
            l.args = $Args { factor: a.factor, value_range: a.value_range, ..args };
            configured(l, cfg)
        }
    };
}

/// Keras `keras.layers.RandomContrast`: in training, each image becomes
/// `(x - mean) * f + mean` (mean over height and width, per channel) with `f` drawn from
/// `[1 - lower, 1 + upper]`, clipped to `value_range`. `factor` is in `[0, 1]`.
///
/// ```
/// use keras::layers::{CallContext, Layer, RandomContrast};
/// let c = RandomContrast::new(0.5).seed(2);
/// let x = keras::Tensor::new(vec![10.0, 20.0, 30.0, 40.0], [2, 2, 1]).unwrap();
/// let y = c.call(&x, &mut CallContext::new(true)).unwrap();
/// let mean: f32 = y.to_f32_vec().iter().sum::<f32>() / 4.0;
/// assert!((mean - 25.0).abs() < 1e-4);
/// ```
pub struct RandomContrast {
    base: LayerBase,
    args: RandomContrastArgs,
    lower: f64,
    upper: f64,
    range: (f64, f64),
    rng: LayerRng,
}

intensity_args!(
    RandomContrastArgs,
    RandomContrast,
    "RandomContrast's Keras arguments, in the order of its `get_config()`."
);

impl RandomContrast {
    /// Contrast factor in `[1 - factor, 1 + factor]`, values in `[0, 255]`.
    pub fn new(factor: f64) -> Self {
        Self::with(&num(factor))
    }

    intensity_constructors!(RandomContrast, RandomContrastArgs, "random_contrast", "RandomContrast", (0, 1));

    crate::layers::preprocessing::image_common::value_range_builder! {
        /// The `(min, max)` the output is clipped to.
        sort: false,
        |l, a, b| l.range = (a, b)
    }

    crate::layers::builders::name_builder!();

    crate::layers::reshaping::args::data_format_builder!(args);
}

impl RandomContrast {
    /// The layer on channels-last images.
    fn call_last(&self, x: &Tensor, ctx: &mut CallContext) -> Result<Tensor> {
        let mut img = Images::from_tensor(x, &format!("Layer {}", self.base.name))?;
        // An image without channels (or pixels) has nothing to adjust.
        if !ctx.training || img.c == 0 || img.h * img.w == 0 {
            return img.into_tensor();
        }
        let factors: Vec<f32> = self.rng.with(self.args.seed, |r| {
            (0..img.n).map(|_| uniform(r, 1.0 - self.lower, 1.0 + self.upper) as f32).collect()
        });
        self.apply(&mut img, &factors);
        img.into_tensor()
    }

    /// Keras's `transform_images` with explicit parameters: image `i` (of `images`, in the
    /// layer's data format) becomes `(x - mean) * factors[i] + mean`, clipped to `value_range`.
    pub fn transform_with(&self, images: &Tensor, factors: &[f32]) -> Result<Tensor> {
        transform_last(self.args.data_format, images, factors, "RandomContrast", |img, f| {
            self.apply(img, f);
            Ok(())
        })
    }

    fn apply(&self, img: &mut Images, factors: &[f32]) {
        let (lo, hi) = (self.range.0 as f32, self.range.1 as f32);
        let (hw, c) = (img.h * img.w, img.c);
        // An image without channels (or pixels) has nothing to adjust.
        if c == 0 || hw == 0 {
            return;
        }
        for (b, &f) in factors.iter().enumerate() {
            let im = img.image_mut(b);
            let mut mean = vec![0.0f32; c];
            for p in im.chunks(c) {
                mean.iter_mut().zip(p).for_each(|(m, v)| *m += v);
            }
            mean.iter_mut().for_each(|m| *m /= hw.max(1) as f32);
            for p in im.chunks_mut(c) {
                for (v, m) in p.iter_mut().zip(&mean) {
                    *v = ((*v - m) * f + m).clamp(lo, hi);
                }
            }
        }
    }
}

image_layer_impl!(RandomContrast, "RandomContrast", same_shape);

/// Keras `keras.layers.RandomBrightness`: in training, adds `d * (max - min)` to each image
/// with `d` drawn from the `factor` range (within `[-1, 1]`), clipped to `value_range`.
///
/// ```
/// use keras::layers::{CallContext, Layer, RandomBrightness};
/// let b = RandomBrightness::new(0.2).value_range(0.0, 1.0).seed(4);
/// let x = keras::Tensor::full([1, 3, 3, 3], 0.5);
/// let y = b.call(&x, &mut CallContext::new(true)).unwrap();
/// assert!(y.to_f32_vec().iter().all(|v| (0.3..=0.7).contains(v)));
/// ```
pub struct RandomBrightness {
    base: LayerBase,
    args: RandomBrightnessArgs,
    lower: f64,
    upper: f64,
    range: (f64, f64),
    rng: LayerRng,
}

intensity_args!(
    RandomBrightnessArgs,
    RandomBrightness,
    "RandomBrightness's Keras arguments, in the order of its `get_config()`."
);

impl RandomBrightness {
    /// Brightness delta in `[-factor, factor]` of the value range `[0, 255]`.
    pub fn new(factor: f64) -> Self {
        Self::with(&num(factor))
    }

    /// Delta in `[lower, upper]` (each in `[-1, 1]`).
    pub fn range(lower: f64, upper: f64) -> Self {
        Self::with(&json!([num(lower), num(upper)]))
    }

    intensity_constructors!(
        RandomBrightness,
        RandomBrightnessArgs,
        "random_brightness",
        "RandomBrightness",
        (-1, 1)
    );

    crate::layers::preprocessing::image_common::value_range_builder! {
        /// The `(min, max)` of pixel values (sorted, as Keras does).
        sort: true,
        |l, a, b| l.range = (a, b)
    }

    crate::layers::builders::name_builder!();

    crate::layers::reshaping::args::data_format_builder!(args);
}

impl RandomBrightness {
    /// The layer on channels-last images.
    fn call_last(&self, x: &Tensor, ctx: &mut CallContext) -> Result<Tensor> {
        let mut img = Images::from_tensor(x, &format!("Layer {}", self.base.name))?;
        // An image without channels (or pixels) has nothing to adjust.
        if !ctx.training || img.c == 0 || img.h * img.w == 0 {
            return img.into_tensor();
        }
        let span = self.range.1 - self.range.0;
        let deltas: Vec<f32> = self.rng.with(self.args.seed, |r| {
            (0..img.n).map(|_| (uniform(r, self.lower, self.upper) * span) as f32).collect()
        });
        self.apply(&mut img, &deltas);
        img.into_tensor()
    }

    /// Keras's `transform_images` with explicit parameters: `deltas[i]` (Keras's `rgb_delta`,
    /// already times the value range's width) is added to image `i` (of `images`, in the
    /// layer's data format), clipped to `value_range`.
    pub fn transform_with(&self, images: &Tensor, deltas: &[f32]) -> Result<Tensor> {
        transform_last(self.args.data_format, images, deltas, "RandomBrightness", |img, d| {
            self.apply(img, d);
            Ok(())
        })
    }

    fn apply(&self, img: &mut Images, deltas: &[f32]) {
        let (lo, hi) = (self.range.0 as f32, self.range.1 as f32);
        for (b, &d) in deltas.iter().enumerate() {
            img.image_mut(b).iter_mut().for_each(|v| *v = (*v + d).clamp(lo, hi));
        }
    }
}

image_layer_impl!(RandomBrightness, "RandomBrightness", same_shape);
