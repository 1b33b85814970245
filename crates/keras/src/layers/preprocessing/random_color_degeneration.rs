//! `RandomColorDegeneration`: blends each image with its grey version by a random factor (in
//! training).

use serde_json::{json, Value};

use super::color::{check_gray_input, factor_layer, gray, train_call, transform_last};
use super::image_common::{base_factor, image_call, image_layer_impl, image_shape, num, uniform, LayerRng};
use crate::layers::data_format::DataFormat;
use crate::layers::layer::{CallContext, Layer, LayerBase, Shape};
use crate::layers::layer_args::{LayerArgs, LayerCfg};
use crate::preprocessing::image::images::Images;
use crate::utils::config_args::config_args;
use crate::{Result, Tensor};

factor_layer! {
    /// Keras `keras.layers.RandomColorDegeneration`: in training, each image becomes
    /// `x + f * (gray(x) - x)`, clipped to `value_range`, with `f` drawn from the `factor`
    /// range (a number `f` for `[-f, f]`, or a pair, within `[-1, 1]`, as Keras's base layer
    /// reads it): 0 keeps the image, 1 makes it grey. RGB images (`compute_output_shape`
    /// requires 3 channels, as Keras's). Identity in inference.
    ///
    /// ```
    /// use keras::layers::{CallContext, Layer, RandomColorDegeneration};
    /// let d = RandomColorDegeneration::new(0.5).seed(2);
    /// let x = keras::Tensor::new(vec![100.0, 0.0, 0.0], [1, 1, 3]).unwrap();
    /// // Explicit parameters (Keras's `transform_images`): fully grey.
    /// let y = d.transform_with(&x, &[1.0]).unwrap().to_f32_vec();
    /// assert!(y.iter().all(|v| (v - 29.89).abs() < 1e-3));
    /// assert_eq!(d.call(&x, &mut CallContext::new(true)).unwrap().shape(), &[1, 1, 3]);
    /// ```
    RandomColorDegeneration, RandomColorDegenerationArgs, "RandomColorDegeneration",
    "random_color_degeneration", bounds (-1, 1), sort true,
    new "Blend factors drawn from `[-factor, factor]` (within `[-1, 1]`)."
}

impl RandomColorDegeneration {
    /// Keras's `transform_images` with explicit parameters: image `i` (of `images`, in the
    /// layer's data format) is blended towards grey by `factors[i]`.
    pub fn transform_with(&self, images: &Tensor, factors: &[f32]) -> Result<Tensor> {
        transform_last(self.args.data_format, images, factors, "RandomColorDegeneration", |img, f| {
            self.apply(img, f)
        })
    }

    fn apply(&self, img: &mut Images, factors: &[f32]) -> Result<()> {
        check_gray_input(img)?;
        let (lo, hi) = self.vrange;
        let c = img.c;
        for (b, &f) in factors.iter().enumerate() {
            for p in img.image_mut(b).chunks_mut(c) {
                // One channel is its own grey image.
                let g = if c == 3 { Some(gray(p)) } else { None };
                for v in p.iter_mut() {
                    let g = g.unwrap_or(*v);
                    *v = (*v + f * (g - *v)).clamp(lo, hi);
                }
            }
        }
        Ok(())
    }

    /// The layer on channels-last images.
    fn call_last(&self, x: &Tensor, ctx: &mut CallContext) -> Result<Tensor> {
        let (lo, hi) = self.factor;
        let draw = |n| self.draws(n, |r| uniform(r, lo, hi) as f32);
        train_call(x, &self.base.name, ctx.training, draw, |img, f| self.apply(img, f))
    }
}

image_layer_impl!(RandomColorDegeneration, "RandomColorDegeneration", rgb_shape);
