//! `RandomPosterization`: keeps a random number of the high bits of each 8-bit value (in
//! training).

use serde_json::{json, Value};

use super::color::{factor_layer, map_range, train_call, transform_last};
use super::image_common::{base_factor, image_call, image_layer_impl, image_shape, num, LayerRng};
use crate::layers::data_format::DataFormat;
use crate::layers::layer::{CallContext, Layer, LayerBase, Shape};
use crate::layers::layer_args::{LayerArgs, LayerCfg};
use crate::preprocessing::image::images::Images;
use crate::utils::config_args::config_args;
use crate::{Result, Tensor};

factor_layer! {
    /// Keras `keras.layers.RandomPosterization`: in training, each image (in the 0–255 scale
    /// of `value_range`, truncated to 8 bits) keeps its `bits` high bits, with `bits` drawn
    /// uniformly from the integers in `[lower, upper)` of `factor` (a number `f` for
    /// `[1, f]`, or a pair, within `[1, 8]`; `lower` itself when both are equal). Identity in
    /// inference. The conversion to 8 bits saturates values outside `[0, 255]`.
    ///
    /// ```
    /// use keras::layers::{CallContext, Layer, RandomPosterization};
    /// let p = RandomPosterization::new(4.0).seed(1);
    /// let x = keras::Tensor::new(vec![255.0, 100.0, 7.0], [1, 3, 1]).unwrap();
    /// // Explicit parameters (Keras's `transform_images`): shift by 8 - 2 bits.
    /// assert_eq!(p.transform_with(&x, &[6]).unwrap().to_f32_vec(), vec![192.0, 64.0, 0.0]);
    /// let y = p.call(&x, &mut CallContext::new(true)).unwrap();
    /// assert_eq!(y.shape(), &[1, 3, 1]);
    /// ```
    RandomPosterization, RandomPosterizationArgs, "RandomPosterization", "random_posterization",
    bounds (1, 8), sort true,
    new "Keeps between 1 and `factor` bits (drawn from the integers in `[1, factor)`)."
}

impl RandomPosterization {
    /// Keras's `transform_images` with explicit parameters: image `i` (of `images`, in the
    /// layer's data format) is shifted right and back left by `shifts[i]` bits (Keras's
    /// `shift_factor`, `8 - bits`; TensorFlow clamps shifts to `[0, 7]`).
    pub fn transform_with(&self, images: &Tensor, shifts: &[u8]) -> Result<Tensor> {
        transform_last(self.args.data_format, images, shifts, "RandomPosterization", |img, s| {
            self.apply(img, s);
            Ok(())
        })
    }

    fn apply(&self, img: &mut Images, shifts: &[u8]) {
        for (b, &s) in shifts.iter().enumerate() {
            let s = s.min(7);
            let im = img.image_mut(b);
            map_range(im, self.vrange, (0.0, 255.0));
            for v in im.iter_mut() {
                *v = (((*v as u8) >> s) << s) as f32;
            }
            map_range(im, (0.0, 255.0), self.vrange);
        }
    }

    /// The layer on channels-last images.
    fn call_last(&self, x: &Tensor, ctx: &mut CallContext) -> Result<Tensor> {
        // In f64 and saturating: the bounds may be any numbers a config holds.
        let (lo, hi) = (self.factor.0.trunc(), self.factor.1.trunc());
        let draw = |n| {
            self.draws(n, |r| {
                let bits = if lo != hi { lo + (r.uniform_f64() * (hi - lo)).floor() } else { lo };
                8i64.saturating_sub(bits as i64).clamp(0, 7) as u8
            })
        };
        train_call(x, &self.base.name, ctx.training, draw, |img, s| {
            self.apply(img, s);
            Ok(())
        })
    }
}

image_layer_impl!(RandomPosterization, "RandomPosterization", same_shape);
