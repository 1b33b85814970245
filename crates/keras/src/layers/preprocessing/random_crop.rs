//! `RandomCrop`: a random `(height, width)` window of each batch in training.

use serde_json::Value;

use super::image_common::{image_call, image_layer_impl, image_shape, sized_base, LayerRng};
use crate::layers::data_format::DataFormat;
use crate::layers::layer::{configured, CallContext, Layer, LayerBase, Shape};
use crate::layers::layer_args::{LayerArgs, LayerCfg};
use crate::preprocessing::image::images::Images;
use crate::preprocessing::image::resize::{aspect_crop_box, resize_plain, Interpolation};
use crate::utils::config_args::config_args;
use crate::{Result, Tensor};

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
    args: RandomCropArgs,
    rng: LayerRng,
}

config_args! {
    /// RandomCrop's Keras arguments, in the order of its `get_config()`.
    pub(crate) struct RandomCropArgs in RandomCrop.args, family LayerArgs {
        data_format: DataFormat = DataFormat::default(),
        height: usize,
        width: usize,
        /// A fixed seed for this layer's draws.
        seed: Option<u64> = None; builder seed(seed: u64) => Some(seed),
    }
}

impl RandomCrop {
    /// Crops to `(height, width)` (both positive).
    pub fn new(height: usize, width: usize) -> Self {
        let base = sized_base("random_crop", "RandomCrop", height, width);
        // Keras's `make_default_seed()`: the layer always records a seed.
        let seed = Some(keras_engine::with_global_rng(|r| r.below(1 << 30)));
        RandomCrop {
            base,
            args: RandomCropArgs { height, width, seed, ..RandomCropArgs::defaults() },
            rng: LayerRng::default(),
        }
    }

    crate::layers::builders::name_builder!();

    crate::layers::reshaping::args::data_format_builder!(args);

    /// Rebuilds from a Keras config.
    pub fn from_config(cfg: &Value) -> Result<Self> {
        let mut args = RandomCropArgs::read_args(&mut LayerCfg::new(cfg, "RandomCrop"))?;
        let mut l = RandomCrop::new(args.height, args.width);
        // `seed: null` draws one, as the constructor does.
        args.seed = args.seed.or(l.args.seed);
        l.args = args;
        configured(l, cfg)
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
        let (height, width) = (self.args.height, self.args.width);
        let (h0, w0) = if h > height && w > width {
            self.rng.with(self.args.seed, |r| {
                let a = (r.uniform_f64() * (h - height + 1) as f64) as usize;
                let b = (r.uniform_f64() * (w - width + 1) as f64) as usize;
                (a.min(h - height), b.min(w - width))
            })
        } else {
            let (a, b, _, _) = aspect_crop_box(h, w, (height, width));
            (a, b)
        };
        // Keras slices `height x width` from the start (clipped), then resizes if short.
        let cropped = img.crop(h0, w0, height, width);
        if cropped.h == height && cropped.w == width {
            return cropped.into_tensor();
        }
        resize_plain(&cropped, (height, width), Interpolation::Bilinear, false)?.into_tensor()
    }
}

image_layer_impl!(RandomCrop, "RandomCrop", resized);
