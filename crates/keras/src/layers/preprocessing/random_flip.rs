//! `RandomFlip`: flips images horizontally and/or vertically at random during training.

use serde_json::{json, Value};

use super::image_common::{image_call, image_shape, preprocessing_layer_boilerplate, seed_of, LayerRng};
use crate::layers::data_format::DataFormat;
use crate::layers::layer::{CallContext, Layer, LayerBase, Shape};
use crate::layers::reshaping::args::data_format_builder;
use crate::preprocessing::image::images::Images;
use crate::{keras_bail, Error, Result, Tensor};

/// Keras `keras.layers.RandomFlip`: in training, each image is flipped with probability 1/2
/// along the axes of `mode` (`"horizontal"`, `"vertical"` or `"horizontal_and_vertical"`, the
/// default; in that mode one draw decides both flips, as in Keras). Identity in inference.
///
/// ```
/// use keras::layers::{CallContext, Layer, RandomFlip};
/// let flip = RandomFlip::new("horizontal").seed(1);
/// let x = keras::Tensor::new(vec![1.0, 2.0], [1, 1, 2, 1]).unwrap();
/// let y = flip.call(&x, &mut CallContext::new(true)).unwrap();
/// assert!(y.to_f32_vec() == vec![1.0, 2.0] || y.to_f32_vec() == vec![2.0, 1.0]);
/// ```
pub struct RandomFlip {
    base: LayerBase,
    mode: String,
    rng: LayerRng,
    data_format: DataFormat,
}

impl RandomFlip {
    /// Flips along `mode`.
    pub fn new(mode: &str) -> Self {
        let mut base = LayerBase::new("random_flip");
        if !matches!(mode, "horizontal" | "vertical" | "horizontal_and_vertical") {
            base.fail(Error::InvalidArgument(format!(
                "RandomFlip layer {} received an unknown mode argument {mode}",
                base.name
            )));
        }
        RandomFlip {
            data_format: DataFormat::default(),
            base,
            mode: mode.to_string(),
            rng: LayerRng::new(None),
        }
    }

    /// A fixed seed for this layer's draws (otherwise the global generator).
    pub fn seed(mut self, seed: u64) -> Self {
        self.rng = LayerRng::new(Some(seed));
        self
    }

    crate::layers::builders::name_builder!();

    data_format_builder!();

    /// Rebuilds from a Keras config.
    pub fn from_config(cfg: &Value) -> Result<Self> {
        let data_format = DataFormat::from_config(cfg)?;
        let mode = cfg.get("mode").and_then(Value::as_str).unwrap_or("horizontal_and_vertical");
        let mut l = RandomFlip::new(mode);
        l.rng = LayerRng::new(seed_of(cfg));
        l.data_format = data_format;
        l.base.apply_config(cfg);
        l.base.take_pending()?;
        Ok(l)
    }
}

/// Flips one `(h, w, c)` image in place.
pub(crate) fn flip_image(img: &mut [f32], h: usize, w: usize, c: usize, horizontal: bool, vertical: bool) {
    let src = img.to_vec();
    for y in 0..h {
        let sy = if vertical { h - 1 - y } else { y };
        for x in 0..w {
            let sx = if horizontal { w - 1 - x } else { x };
            img[(y * w + x) * c..(y * w + x + 1) * c]
                .copy_from_slice(&src[(sy * w + sx) * c..(sy * w + sx + 1) * c]);
        }
    }
}

impl RandomFlip {
    /// The layer on channels-last images.
    fn call_last(&self, x: &Tensor, ctx: &mut CallContext) -> Result<Tensor> {
        let mut img = Images::from_tensor(x, &format!("Layer {}", self.base.name))?;
        if !ctx.training {
            return img.into_tensor();
        }
        let (h_axis, v_axis) = match self.mode.as_str() {
            "horizontal" => (true, false),
            "vertical" => (false, true),
            "horizontal_and_vertical" => (true, true),
            other => keras_bail!(InvalidArgument, "RandomFlip: unknown mode {other}"),
        };
        let flips: Vec<bool> = self.rng.with(|r| (0..img.n).map(|_| r.uniform_f64() <= 0.5).collect());
        let (h, w, c) = (img.h, img.w, img.c);
        for (b, flip) in flips.into_iter().enumerate() {
            if flip {
                flip_image(img.image_mut(b), h, w, c, h_axis, v_axis);
            }
        }
        img.into_tensor()
    }
}

impl Layer for RandomFlip {
    preprocessing_layer_boilerplate!("RandomFlip", same_shape);
    fn get_config(&self) -> Value {
        let mut m = self.base.base_config();
        m.insert("data_format".into(), json!(self.data_format.as_str()));
        m.insert("seed".into(), self.rng.seed_json());
        m.insert("mode".into(), json!(self.mode));
        Value::Object(m)
    }
}
