//! `RandomGrayscale`: turns a random share of the images grey (in training).

use serde_json::{Number, Value};

use super::color::{check_gray_input, gray, train_call, transform_last};
use super::image_common::{image_call, image_layer_impl, image_shape, number, uniform, LayerRng};
use crate::layers::data_format::DataFormat;
use crate::layers::layer::{configured, CallContext, Layer, LayerBase, Shape};
use crate::layers::layer_args::{LayerArgs, LayerCfg};
use crate::preprocessing::image::images::Images;
use crate::utils::config_args::config_args;
use crate::{Error, Result, Tensor};

/// Keras `keras.layers.RandomGrayscale`: in training, each image becomes grey (every channel
/// the luma `0.2989 R + 0.5870 G + 0.1140 B`) with probability `factor` (in `[0, 1]`, default
/// 0.5). Images need 3 channels (or 1, kept). Identity in inference. Keras does not write
/// `seed` in the config.
///
/// ```
/// use keras::layers::{CallContext, Layer, RandomGrayscale};
/// let g = RandomGrayscale::new(1.0).seed(1);
/// let x = keras::Tensor::new(vec![100.0, 0.0, 0.0], [1, 1, 1, 3]).unwrap();
/// let y = g.call(&x, &mut CallContext::new(true)).unwrap().to_f32_vec();
/// assert!(y.iter().all(|v| (v - 29.89).abs() < 1e-3));
/// // Explicit parameters (Keras's `transform_images`): leave the image as it is.
/// assert_eq!(g.transform_with(&x, &[false]).unwrap().to_f32_vec(), x.to_f32_vec());
/// ```
pub struct RandomGrayscale {
    base: LayerBase,
    args: RandomGrayscaleArgs,
    rng: LayerRng,
}

config_args! {
    /// RandomGrayscale's Keras arguments, in the order of its `get_config()`.
    pub(crate) struct RandomGrayscaleArgs in RandomGrayscale.args, family LayerArgs {
        data_format: DataFormat = DataFormat::default(),
        /// The probability of turning an image grey (checked by the constructor).
        factor: Number = number(0.5),
        /// A fixed seed for this layer's draws (otherwise the global generator); Keras leaves
        /// it out of the config.
        seed: Option<u64> = None; builder seed(seed: u64) => Some(seed); write false,
    }
}

impl RandomGrayscale {
    /// Grey with probability `factor` (in `[0, 1]`; Keras's default is 0.5).
    pub fn new(factor: f64) -> Self {
        Self::with_factor(number(factor))
    }

    fn with_factor(factor: Number) -> Self {
        let mut base = LayerBase::new("random_grayscale");
        let f = factor.as_f64().unwrap_or(f64::NAN);
        if f.is_nan() || !(0.0..=1.0).contains(&f) {
            base.fail(Error::InvalidArgument(format!(
                "`factor` should be between 0 and 1. Received: factor={factor}"
            )));
        }
        RandomGrayscale {
            base,
            args: RandomGrayscaleArgs { factor, ..RandomGrayscaleArgs::defaults() },
            rng: LayerRng::default(),
        }
    }

    crate::layers::builders::name_builder!();

    crate::layers::reshaping::args::data_format_builder!(args);

    /// Rebuilds from a Keras config.
    pub fn from_config(cfg: &Value) -> Result<Self> {
        let args = RandomGrayscaleArgs::read_args(&mut LayerCfg::new(cfg, "RandomGrayscale"))?;
        let mut l = RandomGrayscale::with_factor(args.factor.clone());
        l.args = args;
        configured(l, cfg)
    }

    /// Keras's `transform_images` with explicit parameters: image `i` (of `images`, in the
    /// layer's data format) turns grey where `apply[i]`.
    pub fn transform_with(&self, images: &Tensor, apply: &[bool]) -> Result<Tensor> {
        transform_last(self.args.data_format, images, apply, "RandomGrayscale", apply_gray)
    }

    /// The layer on channels-last images.
    fn call_last(&self, x: &Tensor, ctx: &mut CallContext) -> Result<Tensor> {
        let p = self.args.factor.as_f64().unwrap_or(0.0);
        let draw = |n| self.rng.with(self.args.seed, |r| (0..n).map(|_| uniform(r, 0.0, 1.0) < p).collect());
        train_call(x, &self.base.name, ctx.training, draw, apply_gray)
    }
}

/// Images `b` with `apply[b]` turned grey (RGB), or kept (one channel).
fn apply_gray(img: &mut Images, apply: &[bool]) -> Result<()> {
    check_gray_input(img)?;
    if img.c == 1 {
        return Ok(());
    }
    for (b, _) in apply.iter().enumerate().filter(|(_, a)| **a) {
        for p in img.image_mut(b).chunks_mut(3) {
            let g = gray(p);
            p.fill(g);
        }
    }
    Ok(())
}

image_layer_impl!(RandomGrayscale, "RandomGrayscale", same_shape);
