//! `RandomCrop`: a random `(height, width)` window of each batch in training.

use serde_json::{json, Value};

use super::image_common::{
    image_call, image_shape, preprocessing_layer_boilerplate, seed_of, usize_of, LayerRng,
};
use crate::layers::data_format::DataFormat;
use crate::layers::layer::{CallContext, Layer, LayerBase, Shape};
use crate::layers::reshaping::args::data_format_builder;
use crate::preprocessing::image::images::Images;
use crate::preprocessing::image::resize::{aspect_crop_box, resize_plain, Interpolation};
use crate::{Error, Result, Tensor};

/// Keras `keras.layers.RandomCrop`: in training, crops the batch at one random offset to
/// `(height, width)`; an input not larger than the target on both axes is cropped to the
/// target's aspect ratio and resized (bilinear). In inference the input passes unchanged
/// (Keras 3.15's behaviour). Without a seed, a random one is drawn and kept in the config.
///
/// ```
/// use keras::layers::{CallContext, Layer, RandomCrop};
/// let crop = RandomCrop::new(2, 3).seed(5);
/// let x = keras::Tensor::zeros([4, 6, 6, 1]);
/// assert_eq!(crop.call(&x, &mut CallContext::new(true)).unwrap().shape(), &[4, 2, 3, 1]);
/// ```
pub struct RandomCrop {
    base: LayerBase,
    height: usize,
    width: usize,
    rng: LayerRng,
    data_format: DataFormat,
}

impl RandomCrop {
    /// Crops to `(height, width)` (both positive).
    pub fn new(height: usize, width: usize) -> Self {
        let mut base = LayerBase::new("random_crop");
        if height == 0 || width == 0 {
            base.fail(Error::InvalidArgument(format!(
                "RandomCrop: `height` and `width` must be positive, got ({height}, {width})"
            )));
        }
        // Keras's `make_default_seed()`: the layer always records a seed.
        let seed = keras_engine::with_global_rng(|r| r.below(1 << 30));
        RandomCrop { data_format: DataFormat::default(), base, height, width, rng: LayerRng::new(Some(seed)) }
    }

    /// A fixed seed for this layer's draws.
    pub fn seed(mut self, seed: u64) -> Self {
        self.rng = LayerRng::new(Some(seed));
        self
    }

    crate::layers::builders::name_builder!();

    data_format_builder!();

    /// Rebuilds from a Keras config.
    pub fn from_config(cfg: &Value) -> Result<Self> {
        let data_format = DataFormat::from_config(cfg)?;
        let mut l =
            RandomCrop::new(usize_of(cfg, "height", "RandomCrop")?, usize_of(cfg, "width", "RandomCrop")?);
        if let Some(s) = seed_of(cfg) {
            l = l.seed(s);
        }
        l.data_format = data_format;
        l.base.apply_config(cfg);
        l.base.take_pending()?;
        Ok(l)
    }
}

impl RandomCrop {
    /// The layer on channels-last images.
    fn call_last(&self, x: &Tensor, ctx: &mut CallContext) -> Result<Tensor> {
        let img = Images::from_tensor(x, &format!("Layer {}", self.base.name))?;
        if !ctx.training {
            return img.into_tensor();
        }
        let (h, w) = (img.h, img.w);
        let (h0, w0) = if h > self.height && w > self.width {
            self.rng.with(|r| {
                let a = (r.uniform_f64() * (h - self.height + 1) as f64) as usize;
                let b = (r.uniform_f64() * (w - self.width + 1) as f64) as usize;
                (a.min(h - self.height), b.min(w - self.width))
            })
        } else {
            let (a, b, _, _) = aspect_crop_box(h, w, (self.height, self.width));
            (a, b)
        };
        // Keras slices `height x width` from the start (clipped), then resizes if short.
        let cropped = img.crop(h0, w0, self.height, self.width);
        if cropped.h == self.height && cropped.w == self.width {
            return cropped.into_tensor();
        }
        resize_plain(&cropped, (self.height, self.width), Interpolation::Bilinear, false)?.into_tensor()
    }
}

impl Layer for RandomCrop {
    preprocessing_layer_boilerplate!("RandomCrop", resized);
    fn get_config(&self) -> Value {
        let mut m = self.base.base_config();
        m.insert("data_format".into(), json!(self.data_format.as_str()));
        m.insert("height".into(), json!(self.height));
        m.insert("width".into(), json!(self.width));
        m.insert("seed".into(), self.rng.seed_json());
        Value::Object(m)
    }
}
