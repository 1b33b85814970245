//! `RandomHue`: rotates the HSV hue of each image by a random amount (in training).

use serde_json::{json, Value};

use super::color::{check_rgb, factor_layer, hsv_to_rgb, map_range, rgb_to_hsv, train_call, transform_last};
use super::image_common::{base_factor, image_call, image_layer_impl, image_shape, num, uniform, LayerRng};
use crate::layers::data_format::DataFormat;
use crate::layers::layer::{CallContext, Layer, LayerBase, Shape};
use crate::layers::layer_args::{LayerArgs, LayerCfg};
use crate::preprocessing::image::images::Images;
use crate::utils::config_args::config_args;
use crate::{Result, Tensor};

factor_layer! {
    /// Keras `keras.layers.RandomHue`: in training, the HSV hue of each RGB image (mapped from
    /// `value_range` to `[0, 1]`) is shifted by `±f / 2` (sign drawn with probability 1/2,
    /// `f` from the `factor` range: a number `f` for `[0, f]`, or a pair, within `[0, 1]`),
    /// wrapped into `[0, 1]`, and the result clipped and mapped back. `value_range` is kept as
    /// given. Identity in inference.
    ///
    /// ```
    /// use keras::layers::{CallContext, Layer, RandomHue};
    /// let h = RandomHue::new(0.5).seed(2);
    /// let x = keras::Tensor::new(vec![255.0, 0.0, 0.0], [1, 1, 3]).unwrap();
    /// // Explicit parameters (Keras's `transform_images`): a third of a turn, red to green.
    /// let y = h.transform_with(&x, &[1.0 / 3.0]).unwrap().to_f32_vec();
    /// assert!(y[0].abs() < 1e-3 && (y[1] - 255.0).abs() < 1e-3 && y[2].abs() < 1e-3);
    /// assert_eq!(h.call(&x, &mut CallContext::new(true)).unwrap().shape(), &[1, 1, 3]);
    /// ```
    RandomHue, RandomHueArgs, "RandomHue", "random_hue", bounds (0, 1), sort false,
    new "Hue shifts of up to `factor / 2` of a turn either way (`factor` in `[0, 1]`)."
}

impl RandomHue {
    /// Keras's `transform_images` with explicit parameters: the hue of image `i` (of
    /// `images`, in the layer's data format) is shifted by `shifts[i]` turns (Keras's
    /// transformation, already `±f / 2`).
    pub fn transform_with(&self, images: &Tensor, shifts: &[f32]) -> Result<Tensor> {
        transform_last(self.args.data_format, images, shifts, "RandomHue", |img, s| self.apply(img, s))
    }

    fn apply(&self, img: &mut Images, shifts: &[f32]) -> Result<()> {
        check_rgb(img, "RandomHue")?;
        for (b, &d) in shifts.iter().enumerate() {
            let im = img.image_mut(b);
            map_range(im, self.vrange, (0.0, 1.0));
            for p in im.chunks_mut(3) {
                let (h, s, v) = rgb_to_hsv(p[0], p[1], p[2]);
                let mut h = h + d;
                if h > 1.0 {
                    h -= 1.0;
                }
                if h < 0.0 {
                    h += 1.0;
                }
                let (r, g, bl) = hsv_to_rgb(h, s, v);
                p.copy_from_slice(&[r.clamp(0.0, 1.0), g.clamp(0.0, 1.0), bl.clamp(0.0, 1.0)]);
            }
            map_range(im, (0.0, 1.0), self.vrange);
        }
        Ok(())
    }

    /// The layer on channels-last images.
    fn call_last(&self, x: &Tensor, ctx: &mut CallContext) -> Result<Tensor> {
        let (lo, hi) = self.factor;
        let draw = |n| {
            self.draws(n, |r| {
                let sign = if r.uniform_f64() > 0.5 { -1.0 } else { 1.0 };
                (sign * uniform(r, lo, hi) * 0.5) as f32
            })
        };
        train_call(x, &self.base.name, ctx.training, draw, |img, s| self.apply(img, s))
    }
}

image_layer_impl!(RandomHue, "RandomHue", same_shape);
