//! `RandomInvert`: inverts a random share of the images (in training).

use serde_json::{json, Value};

use super::color::{factor_layer, train_call, transform_last};
use super::image_common::{base_factor, image_call, image_layer_impl, image_shape, num, uniform, LayerRng};
use crate::layers::data_format::DataFormat;
use crate::layers::layer::{CallContext, Layer, LayerBase, Shape};
use crate::layers::layer_args::{LayerArgs, LayerCfg};
use crate::preprocessing::image::images::Images;
use crate::utils::config_args::config_args;
use crate::{Result, Tensor};

factor_layer! {
    /// Keras `keras.layers.RandomInvert`: in training, each image is replaced by
    /// `value_range[1] - x` when a uniform draw in `[0, 1)` falls below a probability drawn
    /// from the `factor` range (a number `f` for `[0, f]`, or a pair, within `[0, 1]`).
    /// `value_range` is kept as given (Keras neither sorts nor uses its first value here).
    /// Identity in inference.
    ///
    /// ```
    /// use keras::layers::{CallContext, Layer, RandomInvert};
    /// let inv = RandomInvert::new(1.0).seed(3);
    /// let x = keras::Tensor::new(vec![0.0, 55.0], [1, 1, 2, 1]).unwrap();
    /// // Explicit parameters (Keras's `transform_images`): invert the one image.
    /// assert_eq!(inv.transform_with(&x, &[true]).unwrap().to_f32_vec(), vec![255.0, 200.0]);
    /// let y = inv.call(&x, &mut CallContext::new(true)).unwrap().to_f32_vec();
    /// assert!(y == vec![0.0, 55.0] || y == vec![255.0, 200.0]);
    /// ```
    RandomInvert, RandomInvertArgs, "RandomInvert", "random_invert", bounds (0, 1), sort false,
    new "Inverts with a probability drawn from `[0, factor]` (Keras's default factor is 1.0)."
}

impl RandomInvert {
    /// Keras's `transform_images` with explicit parameters: image `i` (of `images`, in the
    /// layer's data format) is inverted where `apply[i]`.
    pub fn transform_with(&self, images: &Tensor, apply: &[bool]) -> Result<Tensor> {
        transform_last(self.args.data_format, images, apply, "RandomInvert", |img, p| {
            self.apply(img, p);
            Ok(())
        })
    }

    fn apply(&self, img: &mut Images, apply: &[bool]) {
        let top = self.vrange.1;
        for (b, _) in apply.iter().enumerate().filter(|(_, a)| **a) {
            img.image_mut(b).iter_mut().for_each(|v| *v = top - *v);
        }
    }

    /// The layer on channels-last images.
    fn call_last(&self, x: &Tensor, ctx: &mut CallContext) -> Result<Tensor> {
        let (lo, hi) = self.factor;
        let draw = |n| {
            self.draws(n, |r| {
                let p = uniform(r, lo, hi);
                uniform(r, 0.0, 1.0) < p
            })
        };
        train_call(x, &self.base.name, ctx.training, draw, |img, a| {
            self.apply(img, a);
            Ok(())
        })
    }
}

image_layer_impl!(RandomInvert, "RandomInvert", same_shape);
