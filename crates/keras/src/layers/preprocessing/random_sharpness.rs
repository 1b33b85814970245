//! `RandomSharpness`: sharpens or blurs each image by a random factor (in training).

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
    /// Keras `keras.layers.RandomSharpness`: in training, each image becomes
    /// `x + (1 - 2f) * (blur(x) - x)`, clipped to `value_range`, where `blur` is the 3x3
    /// smoothing kernel `[[1, 1, 1], [1, 5, 1], [1, 1, 1]] / 13` (zero padding, per channel)
    /// and `f` is drawn from the `factor` range (a number `f` for `[0, f]`, or a pair, within
    /// `[0, 1]`): 0.5 keeps the image, 0 blurs it, 1 sharpens it. Identity in inference.
    ///
    /// ```
    /// use keras::layers::{CallContext, Layer, RandomSharpness};
    /// let s = RandomSharpness::new(1.0).seed(2);
    /// let x = keras::Tensor::new(vec![13.0; 9], [3, 3, 1]).unwrap();
    /// // Explicit parameters (Keras's `transform_images`): 0.5 is the identity.
    /// assert_eq!(s.transform_with(&x, &[0.5]).unwrap().to_f32_vec(), vec![13.0; 9]);
    /// // Full blur: the centre (all neighbours inside) keeps 13.
    /// assert!((s.transform_with(&x, &[0.0]).unwrap().to_f32_vec()[4] - 13.0).abs() < 1e-4);
    /// assert_eq!(s.call(&x, &mut CallContext::new(true)).unwrap().shape(), &[3, 3, 1]);
    /// ```
    RandomSharpness, RandomSharpnessArgs, "RandomSharpness", "random_sharpness",
    bounds (0, 1), sort true,
    new "Sharpness factors drawn from `[0, factor]` (within `[0, 1]`; 0.5 is the identity)."
}

impl RandomSharpness {
    /// Keras's `transform_images` with explicit parameters: image `i` (of `images`, in the
    /// layer's data format) with sharpness factor `factors[i]` (Keras's transformation,
    /// before its doubling).
    pub fn transform_with(&self, images: &Tensor, factors: &[f32]) -> Result<Tensor> {
        transform_last(self.args.data_format, images, factors, "RandomSharpness", |img, f| {
            self.apply(img, f);
            Ok(())
        })
    }

    fn apply(&self, img: &mut Images, factors: &[f32]) {
        let (h, w, c) = (img.h, img.w, img.c);
        let (a, centre) = (1.0f32 / 13.0, 5.0f32 / 13.0);
        let (lo, hi) = self.vrange;
        for (b, &f) in factors.iter().enumerate() {
            let blend = 1.0 - f * 2.0;
            let src = img.image(b).to_vec();
            let dst = img.image_mut(b);
            for y in 0..h {
                for x in 0..w {
                    for ch in 0..c {
                        let mut acc = 0.0f32;
                        for dy in 0..3 {
                            for dx in 0..3 {
                                let (yy, xx) = ((y + dy).wrapping_sub(1), (x + dx).wrapping_sub(1));
                                if yy < h && xx < w {
                                    let k = if dy == 1 && dx == 1 { centre } else { a };
                                    acc += src[(yy * w + xx) * c + ch] * k;
                                }
                            }
                        }
                        let i = (y * w + x) * c + ch;
                        dst[i] = (src[i] + blend * (acc - src[i])).clamp(lo, hi);
                    }
                }
            }
        }
    }

    /// The layer on channels-last images.
    fn call_last(&self, x: &Tensor, ctx: &mut CallContext) -> Result<Tensor> {
        let (lo, hi) = self.factor;
        let draw = |n| self.draws(n, |r| uniform(r, lo, hi) as f32);
        train_call(x, &self.base.name, ctx.training, draw, |img, f| {
            self.apply(img, f);
            Ok(())
        })
    }
}

image_layer_impl!(RandomSharpness, "RandomSharpness", same_shape);
