//! `Resizing`: resizes images to a fixed `(height, width)`.

use serde_json::{Number, Value};

use super::image_common::{image_call, image_layer_impl, image_shape, number, sized_base};
use crate::layers::data_format::DataFormat;
use crate::layers::layer::{configured, CallContext, Layer, LayerBase, Shape};
use crate::layers::layer_args::{named_arg, LayerArgs, LayerCfg};
use crate::preprocessing::image::images::Images;
use crate::preprocessing::image::resize::{resize_images, Interpolation, ResizeArgs};
use crate::utils::config_args::config_args;
use crate::{keras_bail, Error, Result, Tensor};

/// Keras `keras.layers.Resizing`: `keras.ops.image.resize` of every image to
/// `(height, width)` with the layer's interpolation, antialias and crop/pad-to-aspect-ratio
/// options. Same in training and inference.
///
/// ```
/// use keras::layers::{CallContext, Layer, Resizing};
/// let r = Resizing::new(2, 3).interpolation("nearest");
/// let x = keras::Tensor::zeros([1, 4, 6, 3]);
/// assert_eq!(r.call(&x, &mut CallContext::new(false)).unwrap().shape(), &[1, 2, 3, 3]);
/// ```
pub struct Resizing {
    base: LayerBase,
    args: ResizingArgs,
}

named_arg!(Interpolation);

config_args! {
    /// Resizing's Keras arguments, in the order of its `get_config()`.
    pub(crate) struct ResizingArgs in Resizing.args, family LayerArgs {
        data_format: DataFormat = DataFormat::default(),
        height: usize,
        width: usize,
        interpolation: Interpolation = Interpolation::Bilinear,
        crop_to_aspect_ratio: bool = false,
        pad_to_aspect_ratio: bool = false,
        /// Only `"constant"` (checked by `from_config`).
        fill_mode: String = "constant".into(),
        /// Padding value of `pad_to_aspect_ratio`.
        fill_value: Number = Number::from_f64(0.0).expect("finite");
            builder fill_value(v: f64) => number(v),
        /// Low-pass filter when down-sampling.
        antialias: bool = false; builder antialias(antialias: bool),
    }
}

impl Resizing {
    /// Resizes to `(height, width)` (bilinear, no antialias).
    pub fn new(height: usize, width: usize) -> Self {
        let base = sized_base("resizing", "Resizing", height, width);
        Resizing { base, args: ResizingArgs { height, width, ..ResizingArgs::defaults() } }
    }

    /// `"bilinear"`, `"nearest"`, `"bicubic"`, `"area"`, `"lanczos3"` or `"lanczos5"`.
    pub fn interpolation(mut self, name: &str) -> Self {
        self.base.accept(&mut self.args.interpolation, name.parse::<Interpolation>());
        self
    }

    /// Centre-crop to the target aspect ratio before resizing.
    pub fn crop_to_aspect_ratio(mut self, yes: bool) -> Self {
        self.args.crop_to_aspect_ratio = yes;
        self.check_aspect();
        self
    }

    /// Pad to the target aspect ratio (with `fill_value`) before resizing.
    pub fn pad_to_aspect_ratio(mut self, yes: bool) -> Self {
        self.args.pad_to_aspect_ratio = yes;
        self.check_aspect();
        self
    }

    crate::layers::builders::base_builders!();

    fn check_aspect(&mut self) {
        if self.args.crop_to_aspect_ratio && self.args.pad_to_aspect_ratio {
            self.base.fail(Error::InvalidArgument(
                "Only one of `pad_to_aspect_ratio` & `crop_to_aspect_ratio` can be `True`.".into(),
            ));
        }
    }

    crate::layers::reshaping::args::data_format_builder!(args);

    /// Rebuilds from a Keras config.
    pub fn from_config(cfg: &Value) -> Result<Self> {
        let args = ResizingArgs::read_args(&mut LayerCfg::new(cfg, "Resizing"))?;
        if args.fill_mode != "constant" {
            keras_bail!(
                Config,
                "Invalid value for argument `fill_mode`. Only `'constant'` is supported. Received: fill_mode={}",
                args.fill_mode
            );
        }
        let mut l = Resizing::new(args.height, args.width);
        l.args = args;
        l.check_aspect();
        configured(l, cfg)
    }

    /// The options of `keras.ops.image.resize` these arguments give.
    fn resize_args(&self) -> ResizeArgs {
        let a = &self.args;
        ResizeArgs {
            interpolation: a.interpolation,
            antialias: a.antialias,
            crop_to_aspect_ratio: a.crop_to_aspect_ratio,
            pad_to_aspect_ratio: a.pad_to_aspect_ratio,
            fill_value: a.fill_value.as_f64().unwrap_or(0.0) as f32,
        }
    }
}

impl Resizing {
    /// The layer on channels-last images.
    fn call_last(&self, x: &Tensor, _ctx: &mut CallContext) -> Result<Tensor> {
        let img = Images::from_tensor(x, &format!("Layer {}", self.base.name))?;
        resize_images(&img, (self.args.height, self.args.width), self.resize_args())?.into_tensor()
    }
}

image_layer_impl!(Resizing, "Resizing", resized);
