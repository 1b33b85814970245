//! `Resizing`: resizes images to a fixed `(height, width)`.

use serde_json::{json, Value};

use super::image_common::{image_call, image_shape, num, preprocessing_layer_boilerplate, usize_of};
use crate::layers::data_format::DataFormat;
use crate::layers::layer::{CallContext, Layer, LayerBase, Shape};
use crate::layers::reshaping::args::data_format_builder;
use crate::preprocessing::image::images::Images;
use crate::preprocessing::image::resize::{resize_images, Interpolation, ResizeArgs};
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
    height: usize,
    width: usize,
    opts: ResizeArgs,
    fill_value: Value,
    data_format: DataFormat,
}

impl Resizing {
    /// Resizes to `(height, width)` (bilinear, no antialias).
    pub fn new(height: usize, width: usize) -> Self {
        let mut base = LayerBase::new("resizing");
        if height == 0 || width == 0 {
            base.fail(Error::InvalidArgument(format!(
                "Resizing: `height` and `width` must be positive, got ({height}, {width})"
            )));
        }
        Resizing {
            data_format: DataFormat::default(),
            base,
            height,
            width,
            opts: ResizeArgs::default(),
            fill_value: json!(0.0),
        }
    }

    /// `"bilinear"`, `"nearest"`, `"bicubic"`, `"area"`, `"lanczos3"` or `"lanczos5"`.
    pub fn interpolation(mut self, name: &str) -> Self {
        match name.parse::<Interpolation>() {
            Ok(i) => self.opts.interpolation = i,
            Err(e) => self.base.fail(e),
        }
        self
    }

    /// Centre-crop to the target aspect ratio before resizing.
    pub fn crop_to_aspect_ratio(mut self, yes: bool) -> Self {
        self.opts.crop_to_aspect_ratio = yes;
        self.check_aspect();
        self
    }

    /// Pad to the target aspect ratio (with `fill_value`) before resizing.
    pub fn pad_to_aspect_ratio(mut self, yes: bool) -> Self {
        self.opts.pad_to_aspect_ratio = yes;
        self.check_aspect();
        self
    }

    /// Padding value of `pad_to_aspect_ratio`.
    pub fn fill_value(mut self, v: f64) -> Self {
        self.opts.fill_value = v as f32;
        self.fill_value = num(v);
        self
    }

    crate::setters::setters! {
        /// Low-pass filter when down-sampling.
        antialias(opts.antialias): bool,
    }

    crate::layers::builders::base_builders!();

    fn check_aspect(&mut self) {
        if self.opts.crop_to_aspect_ratio && self.opts.pad_to_aspect_ratio {
            self.base.fail(Error::InvalidArgument(
                "Only one of `pad_to_aspect_ratio` & `crop_to_aspect_ratio` can be `True`.".into(),
            ));
        }
    }

    data_format_builder!();

    /// Rebuilds from a Keras config.
    pub fn from_config(cfg: &Value) -> Result<Self> {
        let data_format = DataFormat::from_config(cfg)?;
        let mut l = Resizing::new(usize_of(cfg, "height", "Resizing")?, usize_of(cfg, "width", "Resizing")?);
        if let Some(i) = cfg.get("interpolation").and_then(Value::as_str) {
            l = l.interpolation(i);
        }
        let flag = |k: &str| cfg.get(k).and_then(Value::as_bool).unwrap_or(false);
        l = l
            .crop_to_aspect_ratio(flag("crop_to_aspect_ratio"))
            .pad_to_aspect_ratio(flag("pad_to_aspect_ratio"));
        l = l.antialias(flag("antialias"));
        if let Some(v) = cfg.get("fill_value").filter(|v| v.is_number()) {
            l.opts.fill_value = v.as_f64().unwrap_or(0.0) as f32;
            l.fill_value = v.clone();
        }
        match cfg.get("fill_mode").and_then(Value::as_str) {
            None | Some("constant") => {}
            Some(other) => keras_bail!(
                Config,
                "Invalid value for argument `fill_mode`. Only `'constant'` is supported. Received: fill_mode={other}"
            ),
        }
        l.data_format = data_format;
        l.base.apply_config(cfg);
        l.base.take_pending()?;
        Ok(l)
    }
}

impl Resizing {
    /// The layer on channels-last images.
    fn call_last(&self, x: &Tensor, _ctx: &mut CallContext) -> Result<Tensor> {
        let img = Images::from_tensor(x, &format!("Layer {}", self.base.name))?;
        resize_images(&img, (self.height, self.width), self.opts)?.into_tensor()
    }
}

impl Layer for Resizing {
    preprocessing_layer_boilerplate!("Resizing", resized);
    fn get_config(&self) -> Value {
        let mut m = self.base.base_config();
        m.insert("data_format".into(), json!(self.data_format.as_str()));
        m.insert("height".into(), json!(self.height));
        m.insert("width".into(), json!(self.width));
        m.insert("interpolation".into(), json!(self.opts.interpolation.name()));
        m.insert("crop_to_aspect_ratio".into(), json!(self.opts.crop_to_aspect_ratio));
        m.insert("pad_to_aspect_ratio".into(), json!(self.opts.pad_to_aspect_ratio));
        m.insert("fill_mode".into(), json!("constant"));
        m.insert("fill_value".into(), self.fill_value.clone());
        m.insert("antialias".into(), json!(self.opts.antialias));
        Value::Object(m)
    }
}
