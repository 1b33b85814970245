//! `RandomErasing`: fills a random rectangle of a random share of the images (in training).

use keras_engine::ops;
use serde_json::{json, Value};

use super::color::transform_last;
use super::image_common::{
    checked_from_config, image_call, image_layer_impl, image_shape, keep_range, named_factor, num,
    probability_factor_builder, uniform, value_range_builder, LayerRng,
};
use crate::layers::data_format::DataFormat;
use crate::layers::layer::{CallContext, Layer, LayerBase, Shape};
use crate::layers::layer_args::LayerArgs;
use crate::preprocessing::image::images::Images;
use crate::utils::config_args::config_args;
use crate::{keras_bail, Error, Result, Tensor};

/// Keras `keras.layers.RandomErasing`: in training, each image is erased when a uniform draw
/// in `[0, 1)` falls below a probability drawn from the `factor` range (a number `f` for
/// `[0, f]`, or a pair, within `[0, 1]`; default 1.0). The erased box has sides
/// `sqrt(s_w) * width` and `sqrt(s_h) * height` (`s_w`, `s_h` drawn from the `scale` range,
/// default `[0.02, 0.33]`) at a uniform position; it is filled with `fill_value` (a number, or
/// one number per channel), or, by default, with Gaussian noise times `value_range[1]`, the
/// fill clipped to `value_range` (kept as given). Identity in inference.
///
/// A three-number `fill_value` fills channel by channel in both data formats (Keras
/// broadcasts it along the last axis, which channels-first is the width).
///
/// ```
/// use keras::layers::{CallContext, Layer, RandomErasing};
/// let erase = RandomErasing::new().fill_value(0.0).seed(1);
/// let x = keras::Tensor::full([1, 4, 4, 1], 9.0);
/// // Explicit parameters (Keras's `transform_images`): erase x in [1, 3), y in [0, 2).
/// let fill = keras::Tensor::zeros([1, 4, 4, 1]);
/// let y = erase.transform_with(&x, &[true], &[[1.0, 3.0, 0.0, 2.0]], &fill).unwrap().to_f32_vec();
/// assert_eq!(&y[..4], &[9.0, 0.0, 0.0, 9.0]);
/// assert_eq!(erase.call(&x, &mut CallContext::new(true)).unwrap().shape(), &[1, 4, 4, 1]);
/// ```
pub struct RandomErasing {
    base: LayerBase,
    args: RandomErasingArgs,
    factor: (f64, f64),
    scale: (f64, f64),
    /// `None` (noise), one value, or one per channel.
    fill: Option<Vec<f32>>,
    vrange: (f32, f32),
    rng: LayerRng,
}

config_args! {
    /// RandomErasing's Keras arguments, in the order of its `get_config()`.
    pub(crate) struct RandomErasingArgs in RandomErasing.args, family LayerArgs {
        data_format: DataFormat = DataFormat::default(),
        /// `[lower, upper]` of the erasing probability (checked by the constructor).
        factor: Value = json!([0, 1.0]),
        /// `[lower, upper]` of the box's area shares (checked by the constructor).
        scale: Value = json!([0.02, 0.33]),
        /// `null` (noise), a number or three numbers (checked by the constructor).
        fill_value: Value = Value::Null,
        /// `[min, max]` of the pixel values, kept as given (checked by the constructor).
        value_range: Value = json!([0, 255]),
        /// A fixed seed for this layer's draws (otherwise the global generator).
        seed: Option<u64> = None; builder seed(seed: u64) => Some(seed),
    }
}

/// Keras's `fill_value` check (made when the layer is built rather than at its first call).
fn fill_value(v: &Value) -> Result<Option<Vec<f32>>> {
    let err = || {
        Error::InvalidArgument(format!(
            "The `fill_value` argument should be a number (or a list of three numbers) Received: fill_value={v}"
        ))
    };
    match v {
        Value::Null => Ok(None),
        Value::Number(n) => Ok(Some(vec![n.as_f64().ok_or_else(err)? as f32])),
        Value::Array(a) if a.len() == 3 => {
            a.iter().map(|x| x.as_f64().map(|f| f as f32).ok_or_else(err)).collect::<Result<_>>().map(Some)
        }
        _ => Err(err()),
    }
}

impl Default for RandomErasing {
    fn default() -> Self {
        Self::new()
    }
}

impl RandomErasing {
    /// Keras's defaults: `factor=1.0`, `scale=(0.02, 0.33)`, noise fill, values in `[0, 255]`.
    pub fn new() -> Self {
        RandomErasing {
            base: LayerBase::new("random_erasing"),
            args: RandomErasingArgs::defaults(),
            factor: (0.0, 1.0),
            scale: (0.02, 0.33),
            fill: None,
            vrange: (0.0, 255.0),
            rng: LayerRng::default(),
        }
    }

    probability_factor_builder! {
        /// The erasing probability range: `[0, f]` (within `[0, 1]`).
    }

    /// The range `[lower, upper]` of the box's area shares (within `[0, 1]`).
    pub fn scale(mut self, lower: f64, upper: f64) -> Self {
        self.set_scale(&json!([num(lower), num(upper)]));
        self
    }

    fn set_scale(&mut self, v: &Value) {
        keep_range(&mut self.base, named_factor(v, "scale"), &mut self.scale, &mut self.args.scale);
    }

    /// Fills boxes with `v` (instead of noise).
    pub fn fill_value(mut self, v: f64) -> Self {
        self.set_fill(&num(v));
        self
    }

    /// Fills boxes with one value per channel (RGB images).
    pub fn fill_rgb(mut self, v: [f64; 3]) -> Self {
        self.set_fill(&json!([num(v[0]), num(v[1]), num(v[2])]));
        self
    }

    fn set_fill(&mut self, v: &Value) {
        match fill_value(v) {
            Ok(f) => {
                self.fill = f;
                self.args.fill_value = v.clone();
            }
            Err(e) => self.base.fail(e),
        }
    }

    value_range_builder! {
        /// The range of the pixel values (kept as given, as Keras does).
        sort: false,
        |l, a, b| l.vrange = (a as f32, b as f32)
    }

    crate::layers::builders::name_builder!();

    crate::layers::reshaping::args::data_format_builder!(args);

    checked_from_config!(RandomErasingArgs, "RandomErasing", [set_factor(factor), set_scale(scale), set_fill(fill_value)], keep [data_format, seed]);

    /// Keras's `transform_images` with explicit parameters: in image `i` (of `images`, in the
    /// layer's data format) where `apply[i]`, the pixels with `x0 <= col < x1` and
    /// `y0 <= row < y1` (`boxes[i] = [x0, x1, y0, y1]`) take their values from `fill` (shaped
    /// as `images`).
    pub fn transform_with(
        &self,
        images: &Tensor,
        apply: &[bool],
        boxes: &[[f32; 4]],
        fill: &Tensor,
    ) -> Result<Tensor> {
        if fill.shape() != images.shape() {
            keras_bail!(
                InvalidArgument,
                "RandomErasing: `fill` must have the images' shape {:?}, got {:?}",
                images.shape(),
                fill.shape()
            );
        }
        if boxes.len() != apply.len() {
            keras_bail!(InvalidArgument, "RandomErasing: {} boxes for {} images", boxes.len(), apply.len());
        }
        // The fill channels-last, as `transform_last` hands the images to `erase`.
        let fill = match (self.args.data_format, fill.rank()) {
            (DataFormat::ChannelsFirst, 4) => ops::transpose(fill, &[0, 2, 3, 1])?,
            (DataFormat::ChannelsFirst, 3) => ops::transpose(fill, &[1, 2, 0])?,
            _ => fill.clone(),
        };
        let fill = Images::from_tensor(&fill, "RandomErasing")?;
        let params: Vec<(bool, [f32; 4])> = apply.iter().copied().zip(boxes.iter().copied()).collect();
        transform_last(self.args.data_format, images, &params, "RandomErasing", |img, p| {
            erase(img, p, &fill.data);
            Ok(())
        })
    }

    /// The layer on channels-last images.
    fn call_last(&self, x: &Tensor, ctx: &mut CallContext) -> Result<Tensor> {
        let mut img = Images::from_tensor(x, &format!("Layer {}", self.base.name))?;
        if !ctx.training {
            return img.into_tensor();
        }
        let (n, h, w, c) = (img.n, img.h as f32, img.w as f32, img.c);
        let ((s0, s1), (f0, f1)) = (self.scale, self.factor);
        let (params, fill) = self.rng.with(self.args.seed, |r| {
            let params: Vec<(bool, [f32; 4])> = (0..n)
                .map(|_| {
                    let (mw, mh) = ((uniform(r, s0, s1) as f32).sqrt(), (uniform(r, s0, s1) as f32).sqrt());
                    let (cw, ch) = (mw * w, mh * h);
                    let x0 = r.uniform_f32() * (w - cw);
                    let y0 = r.uniform_f32() * (h - ch);
                    let p = uniform(r, f0, f1);
                    (uniform(r, 0.0, 1.0) < p, [x0, x0 + cw, y0, y0 + ch])
                })
                .collect();
            let fill: Vec<f32> = match &self.fill {
                None => (0..img.data.len()).map(|_| r.normal_f64() as f32 * self.vrange.1).collect(),
                Some(v) => (0..img.data.len()).map(|i| v[i % v.len()]).collect(),
            };
            (params, fill)
        });
        // numpy's clip: the upper bound wins when the bounds are reversed.
        let (lo, hi) = self.vrange;
        let fill: Vec<f32> = fill.into_iter().map(|v| v.max(lo).min(hi)).collect();
        if let Some(v) = self.fill.as_ref().filter(|v| v.len() == 3 && c != 3) {
            keras_bail!(
                Shape,
                "RandomErasing: a fill_value of {} numbers needs 3 channels, got {c}",
                v.len()
            );
        }
        erase(&mut img, &params, &fill);
        img.into_tensor()
    }
}

/// Fills the boxes of the images with `apply` from `fill` (channels-last, the images' size).
fn erase(img: &mut Images, params: &[(bool, [f32; 4])], fill: &[f32]) {
    let (h, w, c) = (img.h, img.w, img.c);
    let per = h * w * c;
    for (b, (_, [x0, x1, y0, y1])) in params.iter().enumerate().filter(|(_, p)| p.0) {
        let im = img.image_mut(b);
        for y in 0..h {
            let fy = y as f32;
            if fy < *y0 || fy >= *y1 {
                continue;
            }
            for x in 0..w {
                let fx = x as f32;
                if fx >= *x0 && fx < *x1 {
                    let i = (y * w + x) * c;
                    im[i..i + c].copy_from_slice(&fill[b * per + i..b * per + i + c]);
                }
            }
        }
    }
}

image_layer_impl!(RandomErasing, "RandomErasing", same_shape);
