//! The three affine random layers: `RandomRotation`, `RandomZoom`, `RandomTranslation`. Each
//! draws one transform per image in training (identity in inference) and samples with
//! `keras.ops.image.affine_transform` (fill_mode, fill_value, nearest/bilinear).

use keras_engine::Rng;
use serde_json::{json, Number, Value};

use super::image_common::{
    base_factor, fill_mode_builder, image_call, image_layer_impl, image_shape, interpolation_builder, num,
    number, pair_factor, uniform, LayerRng,
};
use crate::layers::data_format::DataFormat;
use crate::layers::layer::{configured, CallContext, Layer, LayerBase, Shape};
use crate::layers::layer_args::{named_arg, LayerArgs, LayerCfg};
use crate::preprocessing::image::affine::{
    compute_affine_matrix, transform_images, AffineInterpolation, FillMode,
};
use crate::preprocessing::image::images::Images;
use crate::utils::config_args::config_args;
use crate::{Result, Tensor};

named_arg!(FillMode, AffineInterpolation);

/// The sampling arguments of an affine layer's `call`.
struct Sampling {
    fill_mode: FillMode,
    interpolation: AffineInterpolation,
    fill_value: f32,
    seed: Option<u64>,
}

impl Sampling {
    /// The sampling arguments from a layer's declared `fill_mode`, `interpolation`,
    /// `fill_value` and `seed`.
    fn of(
        fill_mode: FillMode,
        interpolation: AffineInterpolation,
        fill_value: &Number,
        seed: Option<u64>,
    ) -> Self {
        Sampling { fill_mode, interpolation, fill_value: fill_value.as_f64().unwrap_or(0.0) as f32, seed }
    }

    /// The images `x` transformed by one `draw(rng, height, width)` each in training; the
    /// images unchanged otherwise.
    fn apply(
        &self,
        rng: &LayerRng,
        x: &Tensor,
        name: &str,
        training: bool,
        draw: impl Fn(&mut Rng, usize, usize) -> [f32; 8],
    ) -> Result<Tensor> {
        let img = Images::from_tensor(x, &format!("Layer {name}"))?;
        if !training {
            return img.into_tensor();
        }
        let transforms: Vec<[f32; 8]> =
            rng.with(self.seed, |r| (0..img.n).map(|_| draw(r, img.h, img.w)).collect());
        transform_images(&img, &transforms, self.interpolation, self.fill_mode, self.fill_value)?
            .into_tensor()
    }
}

/// The sampling arguments of `$layer`'s declared arguments.
macro_rules! sampling {
    ($layer:expr) => {{
        let a = &$layer.args;
        Sampling::of(a.fill_mode, a.interpolation, &a.fill_value, a.seed)
    }};
}

/// The builders of the affine layers' sampling arguments that parse a name.
macro_rules! sampling_builders {
    () => {
        fill_mode_builder!();
        interpolation_builder!();
    };
}

/// Keras `keras.layers.RandomRotation`: in training, rotates each image by a random angle of
/// `factor * 360` degrees (`factor` a number `f` for `[-f, f]`, or a pair), about its centre.
///
/// ```
/// use keras::layers::{CallContext, Layer, RandomRotation};
/// let rot = RandomRotation::new(0.1).seed(3);
/// let x = keras::Tensor::ones([2, 5, 5, 1]);
/// assert_eq!(rot.call(&x, &mut CallContext::new(true)).unwrap().shape(), &[2, 5, 5, 1]);
/// ```
pub struct RandomRotation {
    base: LayerBase,
    args: RandomRotationArgs,
    lower: f64,
    upper: f64,
    rng: LayerRng,
}

config_args! {
    /// RandomRotation's Keras arguments, in the order of its `get_config()`.
    pub(crate) struct RandomRotationArgs in RandomRotation.args, family LayerArgs {
        data_format: DataFormat = DataFormat::default(),
        /// The factor as Keras keeps it: `[lower, upper]` (checked by the constructor).
        factor: Value,
        fill_mode: FillMode = FillMode::Reflect,
        /// The value of `fill_mode="constant"`.
        fill_value: Number = number(0.0); builder fill_value(v: f64) => number(v),
        interpolation: AffineInterpolation = AffineInterpolation::Bilinear,
        /// A fixed seed for this layer's draws (otherwise the global generator).
        seed: Option<u64> = None; builder seed(seed: u64) => Some(seed),
    }
}

impl RandomRotation {
    /// Rotation by up to `factor` of a full turn either way.
    pub fn new(factor: f64) -> Self {
        Self::with_factor(&num(factor))
    }

    /// Rotation in `[lower, upper]` turns.
    pub fn range(lower: f64, upper: f64) -> Self {
        Self::with_factor(&json!([lower, upper]))
    }

    fn with_factor(f: &Value) -> Self {
        let mut base = LayerBase::new("random_rotation");
        let (lower, upper, factor) = base_factor(f, (-1, 1)).unwrap_or_else(|e| {
            base.fail(e);
            (0.0, 0.0, json!([0, 0]))
        });
        let args = RandomRotationArgs { factor, ..RandomRotationArgs::defaults() };
        RandomRotation { base, args, lower, upper, rng: LayerRng::default() }
    }

    sampling_builders!();

    /// Rebuilds from a Keras config.
    pub fn from_config(cfg: &Value) -> Result<Self> {
        let args = RandomRotationArgs::read_args(&mut LayerCfg::new(cfg, "RandomRotation"))?;
        let mut l = RandomRotation::with_factor(&args.factor);
        l.args = RandomRotationArgs { factor: l.args.factor, ..args };
        configured(l, cfg)
    }
}

impl RandomRotation {
    /// The layer on channels-last images.
    fn call_last(&self, x: &Tensor, ctx: &mut CallContext) -> Result<Tensor> {
        let (lo, hi) = (self.lower * 360.0, self.upper * 360.0);
        sampling!(self).apply(&self.rng, x, &self.base.name, ctx.training, |r, h, w| {
            let angle = uniform(r, lo, hi) as f32;
            compute_affine_matrix((0.5, 0.5), angle, (0.0, 0.0), 1.0, (0.0, 0.0), h, w)
        })
    }
}

image_layer_impl!(RandomRotation, "RandomRotation", same_shape);

const ZOOM_MSG: &str =
    "The `height_factor` and `width_factor` arguments should be a number (or a list of two \
                        numbers) in the range (-1.0, 1.0]. ";
const SHIFT_MSG: &str =
    "The `height_factor` and `width_factor` arguments should be a number (or a list of two \
                         numbers) in the range [-1.0, 1.0]. ";

/// Keras `keras.layers.RandomZoom`: in training, zooms each image by `1 + z` with `z` drawn
/// from `height_factor` (and `width_factor`, else the same draw keeps the aspect ratio).
/// Negative factors zoom in, positive ones zoom out.
///
/// ```
/// use keras::layers::{CallContext, Layer, RandomZoom};
/// let zoom = RandomZoom::new(0.2).width_factor(0.1).seed(3);
/// let x = keras::Tensor::ones([1, 4, 4, 3]);
/// assert_eq!(zoom.call(&x, &mut CallContext::new(true)).unwrap().shape(), &[1, 4, 4, 3]);
/// ```
pub struct RandomZoom {
    base: LayerBase,
    args: RandomZoomArgs,
    height: (f64, f64),
    width: Option<(f64, f64)>,
    rng: LayerRng,
}

config_args! {
    /// RandomZoom's Keras arguments, in the order of its `get_config()`.
    pub(crate) struct RandomZoomArgs in RandomZoom.args, family LayerArgs {
        data_format: DataFormat = DataFormat::default(),
        /// A number `f` for `[-f, f]` or a pair (checked by the constructor).
        height_factor: Value,
        /// `null` (the height's draw) or as `height_factor` (checked by the constructor).
        width_factor: Value = Value::Null,
        fill_mode: FillMode = FillMode::Reflect,
        interpolation: AffineInterpolation = AffineInterpolation::Bilinear,
        /// A fixed seed for this layer's draws (otherwise the global generator).
        seed: Option<u64> = None; builder seed(seed: u64) => Some(seed),
        /// The value of `fill_mode="constant"`.
        fill_value: Number = number(0.0); builder fill_value(v: f64) => number(v),
    }
}

fn zoom_ok(x: f64) -> bool {
    x <= 1.0 && x > -1.0
}

fn shift_ok(x: f64) -> bool {
    (-1.0..=1.0).contains(&x)
}

/// A zoom or shift range from its factor (`(0, 0)` after a failure recorded in `base`).
fn factor_range(base: &mut LayerBase, v: &Value, name: &str, ok: fn(f64) -> bool, msg: &str) -> (f64, f64) {
    pair_factor(v, name, ok, msg).unwrap_or_else(|e| {
        base.fail(e);
        (0.0, 0.0)
    })
}

impl RandomZoom {
    /// Zoom by `height_factor` (a number `f` for `[-f, f]`).
    pub fn new(height_factor: f64) -> Self {
        Self::with_factors(&num(height_factor), &Value::Null)
    }

    /// A separate zoom range for the width (a number `f` for `[-f, f]`).
    pub fn width_factor(mut self, f: f64) -> Self {
        self.args.width_factor = num(f);
        self.width =
            Some(factor_range(&mut self.base, &self.args.width_factor, "width_factor", zoom_ok, ZOOM_MSG));
        self
    }

    fn with_factors(hf: &Value, wf: &Value) -> Self {
        let mut base = LayerBase::new("random_zoom");
        let height = factor_range(&mut base, hf, "height_factor", zoom_ok, ZOOM_MSG);
        let width = (!wf.is_null()).then(|| factor_range(&mut base, wf, "width_factor", zoom_ok, ZOOM_MSG));
        let args = RandomZoomArgs {
            height_factor: hf.clone(),
            width_factor: wf.clone(),
            ..RandomZoomArgs::defaults()
        };
        RandomZoom { base, args, height, width, rng: LayerRng::default() }
    }

    sampling_builders!();

    /// Rebuilds from a Keras config.
    pub fn from_config(cfg: &Value) -> Result<Self> {
        let args = RandomZoomArgs::read_args(&mut LayerCfg::new(cfg, "RandomZoom"))?;
        let mut l = RandomZoom::with_factors(&args.height_factor, &args.width_factor);
        l.args = args;
        configured(l, cfg)
    }
}

impl RandomZoom {
    /// The layer on channels-last images.
    fn call_last(&self, x: &Tensor, ctx: &mut CallContext) -> Result<Tensor> {
        sampling!(self).apply(&self.rng, x, &self.base.name, ctx.training, |r, h, w| {
            let zh = uniform(r, 1.0 + self.height.0, 1.0 + self.height.1) as f32;
            let zw = match self.width {
                Some((lo, hi)) => uniform(r, 1.0 + lo, 1.0 + hi) as f32,
                None => zh,
            };
            zoom_matrix(zh, zw, h, w)
        })
    }
}

image_layer_impl!(RandomZoom, "RandomZoom", same_shape);

/// Keras's `_get_zoom_matrix` (zoom about the image centre).
pub(crate) fn zoom_matrix(zh: f32, zw: f32, h: usize, w: usize) -> [f32; 8] {
    let x_off = (w as f32 - 1.0) / 2.0 * (1.0 - zw);
    let y_off = (h as f32 - 1.0) / 2.0 * (1.0 - zh);
    [zw, 0.0, x_off, 0.0, zh, y_off, 0.0, 0.0]
}

/// Keras `keras.layers.RandomTranslation`: in training, shifts each image by a random
/// fraction of its height (`height_factor`) and width (`width_factor`).
///
/// ```
/// use keras::layers::{CallContext, Layer, RandomTranslation};
/// let shift = RandomTranslation::new(0.1, 0.2).fill_mode("constant").seed(3);
/// let x = keras::Tensor::ones([1, 4, 4, 3]);
/// assert_eq!(shift.call(&x, &mut CallContext::new(true)).unwrap().shape(), &[1, 4, 4, 3]);
/// ```
pub struct RandomTranslation {
    base: LayerBase,
    args: RandomTranslationArgs,
    height: (f64, f64),
    width: (f64, f64),
    rng: LayerRng,
}

config_args! {
    /// RandomTranslation's Keras arguments, in the order of its `get_config()`.
    pub(crate) struct RandomTranslationArgs in RandomTranslation.args, family LayerArgs {
        data_format: DataFormat = DataFormat::default(),
        /// A number `f` for `[-f, f]` or a pair (checked by the constructor).
        height_factor: Value,
        /// A number `f` for `[-f, f]` or a pair (checked by the constructor).
        width_factor: Value,
        fill_mode: FillMode = FillMode::Reflect,
        interpolation: AffineInterpolation = AffineInterpolation::Bilinear,
        /// A fixed seed for this layer's draws (otherwise the global generator).
        seed: Option<u64> = None; builder seed(seed: u64) => Some(seed),
        /// The value of `fill_mode="constant"`.
        fill_value: Number = number(0.0); builder fill_value(v: f64) => number(v),
    }
}

impl RandomTranslation {
    /// Shifts by up to `height_factor * height` and `width_factor * width` either way.
    pub fn new(height_factor: f64, width_factor: f64) -> Self {
        Self::with_factors(&num(height_factor), &num(width_factor))
    }

    fn with_factors(hf: &Value, wf: &Value) -> Self {
        let mut base = LayerBase::new("random_translation");
        let height = factor_range(&mut base, hf, "height_factor", shift_ok, SHIFT_MSG);
        let width = factor_range(&mut base, wf, "width_factor", shift_ok, SHIFT_MSG);
        let args = RandomTranslationArgs {
            height_factor: hf.clone(),
            width_factor: wf.clone(),
            ..RandomTranslationArgs::defaults()
        };
        RandomTranslation { base, args, height, width, rng: LayerRng::default() }
    }

    sampling_builders!();

    /// Rebuilds from a Keras config.
    pub fn from_config(cfg: &Value) -> Result<Self> {
        let args = RandomTranslationArgs::read_args(&mut LayerCfg::new(cfg, "RandomTranslation"))?;
        let mut l = RandomTranslation::with_factors(&args.height_factor, &args.width_factor);
        l.args = args;
        configured(l, cfg)
    }
}

impl RandomTranslation {
    /// The layer on channels-last images.
    fn call_last(&self, x: &Tensor, ctx: &mut CallContext) -> Result<Tensor> {
        sampling!(self).apply(&self.rng, x, &self.base.name, ctx.training, |r, h, w| {
            let dy = (uniform(r, self.height.0, self.height.1) * h as f64) as f32;
            let dx = (uniform(r, self.width.0, self.width.1) * w as f64) as f32;
            [1.0, 0.0, -dx, 0.0, 1.0, -dy, 0.0, 0.0]
        })
    }
}

image_layer_impl!(RandomTranslation, "RandomTranslation", same_shape);
