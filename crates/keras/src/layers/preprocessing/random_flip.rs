//! `RandomFlip`: flips images horizontally and/or vertically at random during training.

use serde_json::Value;

use super::image_common::{image_call, image_layer_impl, image_shape, LayerRng};
use crate::layers::data_format::DataFormat;
use crate::layers::layer::{configured, CallContext, Layer, LayerBase, Shape};
use crate::layers::layer_args::{LayerArgs, LayerCfg};
use crate::preprocessing::image::images::Images;
use crate::utils::config_args::config_args;
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
    args: RandomFlipArgs,
    rng: LayerRng,
}

config_args! {
    /// RandomFlip's Keras arguments, in the order of its `get_config()`.
    pub(crate) struct RandomFlipArgs in RandomFlip.args, family LayerArgs {
        data_format: DataFormat = DataFormat::default(),
        /// A fixed seed for this layer's draws (otherwise the global generator).
        seed: Option<u64> = None; builder seed(seed: u64) => Some(seed),
        mode: String = "horizontal_and_vertical".into(),
    }
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
            base,
            args: RandomFlipArgs { mode: mode.to_string(), ..RandomFlipArgs::defaults() },
            rng: LayerRng::default(),
        }
    }

    crate::layers::builders::name_builder!();

    crate::layers::reshaping::args::data_format_builder!(args);

    /// Rebuilds from a Keras config.
    pub fn from_config(cfg: &Value) -> Result<Self> {
        let args = RandomFlipArgs::read_args(&mut LayerCfg::new(cfg, "RandomFlip"))?;
        let mut l = RandomFlip::new(&args.mode);
        l.args = args;
        configured(l, cfg)
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
        let (h_axis, v_axis) = match self.args.mode.as_str() {
            "horizontal" => (true, false),
            "vertical" => (false, true),
            "horizontal_and_vertical" => (true, true),
            other => keras_bail!(InvalidArgument, "RandomFlip: unknown mode {other}"),
        };
        let flips: Vec<bool> =
            self.rng.with(self.args.seed, |r| (0..img.n).map(|_| r.uniform_f64() <= 0.5).collect());
        let (h, w, c) = (img.h, img.w, img.c);
        for (b, flip) in flips.into_iter().enumerate() {
            if flip {
                flip_image(img.image_mut(b), h, w, c, h_axis, v_axis);
            }
        }
        img.into_tensor()
    }
}

image_layer_impl!(RandomFlip, "RandomFlip", same_shape);
