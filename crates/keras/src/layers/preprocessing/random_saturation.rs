//! `RandomSaturation`: scales the HSV saturation of each image by a random factor (in
//! training).

use serde_json::{json, Value};

use super::color::{check_rgb, factor_layer, hsv_to_rgb, rgb_to_hsv, train_call, transform_last};
use super::image_common::{base_factor, image_call, image_layer_impl, image_shape, num, uniform, LayerRng};
use crate::layers::data_format::DataFormat;
use crate::layers::layer::{CallContext, Layer, LayerBase, Shape};
use crate::layers::layer_args::{LayerArgs, LayerCfg};
use crate::preprocessing::image::images::Images;
use crate::utils::config_args::config_args;
use crate::{Result, Tensor};

factor_layer! {
    /// Keras `keras.layers.RandomSaturation`: in training, each RGB image's HSV saturation is
    /// multiplied by `f / (1 - f + 1e-7)` (clipped to `value_range`), with `f` drawn from the
    /// `factor` range (a number `f` for `[-f, f]`, or a pair, within `[-1, 1]`, as Keras's base
    /// layer reads it): 0.5 keeps the image, 0 makes it grey, 1 fully saturated. Identity in
    /// inference.
    ///
    /// ```
    /// use keras::layers::{CallContext, Layer, RandomSaturation};
    /// let s = RandomSaturation::range(0.5, 0.5).seed(2);
    /// let x = keras::Tensor::new(vec![200.0, 100.0, 50.0], [1, 1, 3]).unwrap();
    /// let y = s.call(&x, &mut CallContext::new(true)).unwrap().to_f32_vec();
    /// assert!(y.iter().zip([200.0, 100.0, 50.0]).all(|(a, b)| (a - b).abs() < 1e-3));
    /// // Explicit parameters (Keras's `transform_images`): saturation times 0.
    /// assert_eq!(s.transform_with(&x, &[0.0]).unwrap().to_f32_vec(), vec![200.0; 3]);
    /// ```
    RandomSaturation, RandomSaturationArgs, "RandomSaturation", "random_saturation",
    bounds (-1, 1), sort true,
    new "Saturation factors drawn from `[-factor, factor]` (within `[-1, 1]`; 0.5 is the identity)."
}

impl RandomSaturation {
    /// Keras's `transform_images` with explicit parameters: the saturation of image `i` (of
    /// `images`, in the layer's data format) is multiplied by `factors[i]` (Keras's
    /// transformation, already `f / (1 - f + 1e-7)`).
    pub fn transform_with(&self, images: &Tensor, factors: &[f32]) -> Result<Tensor> {
        transform_last(self.args.data_format, images, factors, "RandomSaturation", |img, f| {
            self.apply(img, f)
        })
    }

    fn apply(&self, img: &mut Images, factors: &[f32]) -> Result<()> {
        check_rgb(img, "RandomSaturation")?;
        let (lo, hi) = self.vrange;
        for (b, &f) in factors.iter().enumerate() {
            for p in img.image_mut(b).chunks_mut(3) {
                let (h, s, v) = rgb_to_hsv(p[0], p[1], p[2]);
                let (r, g, bl) = hsv_to_rgb(h, (s * f).clamp(lo, hi), v);
                p.copy_from_slice(&[r, g, bl]);
            }
        }
        Ok(())
    }

    /// The layer on channels-last images.
    fn call_last(&self, x: &Tensor, ctx: &mut CallContext) -> Result<Tensor> {
        let (lo, hi) = self.factor;
        let draw = |n| {
            self.draws(n, |r| {
                let f = uniform(r, lo, hi) as f32;
                f / (1.0 - f + 1e-7)
            })
        };
        train_call(x, &self.base.name, ctx.training, draw, |img, f| self.apply(img, f))
    }
}

image_layer_impl!(RandomSaturation, "RandomSaturation", same_shape);
