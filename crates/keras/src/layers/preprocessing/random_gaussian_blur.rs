//! `RandomGaussianBlur`: blurs a random share of the images with a Gaussian kernel of random
//! width (in training).

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
use crate::{Error, Result, Tensor};

/// Keras `keras.layers.RandomGaussianBlur`: in training, each image is blurred when a uniform
/// draw in `[0, 1)` falls below a probability drawn from the `factor` range (a number `f` for
/// `[0, f]`, or a pair, within `[0, 1]`; default 1.0). The kernel is Keras's
/// `ops.image.gaussian_blur` of size `kernel_size` (odd; a number or a pair) with the two
/// standard deviations `(sigma_x, sigma_y)` drawn once per batch from the `sigma` range (read
/// as `factor`, within `[0, 1]`) plus `1e-6`; zero padding. Every image is then clipped to
/// `value_range` (kept as given). Identity in inference.
///
/// ```
/// use keras::layers::{CallContext, Layer, RandomGaussianBlur};
/// let blur = RandomGaussianBlur::new().kernel_size(3).seed(1);
/// let mut v = vec![0.0f32; 9];
/// v[4] = 100.0;
/// let x = keras::Tensor::new(v, [1, 3, 3, 1]).unwrap();
/// // Explicit parameters (Keras's `transform_images`): blur with sigma 1 both ways.
/// let y = blur.transform_with(&x, &[true], [1.0, 1.0]).unwrap().to_f32_vec();
/// assert!(y[4] < 100.0 && y[0] > 0.0 && (y.iter().sum::<f32>() - 100.0).abs() < 1e-3);
/// assert_eq!(blur.call(&x, &mut CallContext::new(true)).unwrap().shape(), &[1, 3, 3, 1]);
/// ```
pub struct RandomGaussianBlur {
    base: LayerBase,
    args: RandomGaussianBlurArgs,
    factor: (f64, f64),
    kernel: (usize, usize),
    sigma: (f64, f64),
    vrange: (f32, f32),
    rng: LayerRng,
}

config_args! {
    /// RandomGaussianBlur's Keras arguments, in the order of its `get_config()`.
    pub(crate) struct RandomGaussianBlurArgs in RandomGaussianBlur.args, family LayerArgs {
        data_format: DataFormat = DataFormat::default(),
        /// `[lower, upper]` of the blur probability (checked by the constructor).
        factor: Value = json!([0, 1.0]),
        /// `[size_0, size_1]`, odd (checked by the constructor).
        kernel_size: Value = json!([3, 3]),
        /// `[lower, upper]` of the standard deviations (checked by the constructor).
        sigma: Value = json!([0, 1.0]),
        /// `[min, max]` of the pixel values, kept as given (checked by the constructor).
        value_range: Value = json!([0, 255]),
        /// A fixed seed for this layer's draws (otherwise the global generator).
        seed: Option<u64> = None; builder seed(seed: u64) => Some(seed),
    }
}

/// The largest kernel side keras-rs accepts (Keras has no limit).
pub(crate) const MAX_KERNEL: usize = 4095;

/// Keras's `_set_kernel_size`: a number `k` gives `(k, k)`, a pair is kept; odd sizes (up to
/// [`MAX_KERNEL`]).
fn kernel_size(v: &Value) -> Result<(usize, usize, Value)> {
    let err =
        || Error::InvalidArgument(format!("kernel_size must be an odd number. Received: kernel_size={v}"));
    let odd = |x: &Value| -> Result<usize> {
        let k = x.as_f64().filter(|k| k.fract() == 0.0 && *k >= 1.0 && k % 2.0 == 1.0).ok_or_else(err)?;
        // keras-rs's limit: the kernel is allocated whole, as TensorFlow does.
        if k > MAX_KERNEL as f64 {
            crate::keras_bail!(
                InvalidArgument,
                "kernel_size must be at most {MAX_KERNEL} (keras-rs's limit). Received: kernel_size={v}"
            );
        }
        Ok(k as usize)
    };
    match v {
        Value::Array(a) if a.len() == 2 => Ok((odd(&a[0])?, odd(&a[1])?, v.clone())),
        Value::Array(_) => Err(Error::InvalidArgument(format!(
            "The `kernel_size` argument should be a number (or a list of two numbers) Received: kernel_size={v}"
        ))),
        Value::Number(_) => {
            let k = odd(v)?;
            Ok((k, k, json!([v, v])))
        }
        _ => Err(err()),
    }
}

impl Default for RandomGaussianBlur {
    fn default() -> Self {
        Self::new()
    }
}

impl RandomGaussianBlur {
    /// Keras's defaults: `factor=1.0`, `kernel_size=3`, `sigma=1.0`, values in `[0, 255]`.
    pub fn new() -> Self {
        RandomGaussianBlur {
            base: LayerBase::new("random_gaussian_blur"),
            args: RandomGaussianBlurArgs::defaults(),
            factor: (0.0, 1.0),
            kernel: (3, 3),
            sigma: (0.0, 1.0),
            vrange: (0.0, 255.0),
            rng: LayerRng::default(),
        }
    }

    probability_factor_builder! {
        /// The blur probability range: `[0, f]` (within `[0, 1]`).
    }

    /// An odd kernel size (both axes).
    pub fn kernel_size(mut self, k: usize) -> Self {
        self.set_kernel(&json!(k));
        self
    }

    fn set_kernel(&mut self, v: &Value) {
        match kernel_size(v) {
            Ok((a, b, j)) => {
                self.kernel = (a, b);
                self.args.kernel_size = j;
            }
            Err(e) => self.base.fail(e),
        }
    }

    /// The standard deviation range: `[0, s]` (within `[0, 1]`).
    pub fn sigma(mut self, s: f64) -> Self {
        self.set_sigma(&num(s));
        self
    }

    fn set_sigma(&mut self, v: &Value) {
        keep_range(&mut self.base, named_factor(v, "sigma"), &mut self.sigma, &mut self.args.sigma);
    }

    value_range_builder! {
        /// The range of the pixel values (kept as given, as Keras does).
        sort: false,
        |l, a, b| l.vrange = (a as f32, b as f32)
    }

    crate::layers::builders::name_builder!();

    crate::layers::reshaping::args::data_format_builder!(args);

    checked_from_config!(RandomGaussianBlurArgs, "RandomGaussianBlur", [set_factor(factor), set_kernel(kernel_size), set_sigma(sigma)], keep [data_format, seed]);

    /// Keras's `transform_images` with explicit parameters: image `i` (of `images`, in the
    /// layer's data format) is blurred where `apply[i]`, with the standard deviations
    /// `sigma = [sigma_x, sigma_y]` (Keras's `blur_factor`, the `1e-6` included); then every
    /// image is clipped to `value_range`.
    pub fn transform_with(&self, images: &Tensor, apply: &[bool], sigma: [f32; 2]) -> Result<Tensor> {
        transform_last(self.args.data_format, images, apply, "RandomGaussianBlur", |img, a| {
            self.apply(img, a, sigma)
        })
    }

    fn apply(&self, img: &mut Images, apply: &[bool], sigma: [f32; 2]) -> Result<()> {
        if apply.iter().any(|a| *a) {
            let (kh, kw, kernel) = gaussian_kernel(self.kernel, sigma)?;
            for (b, _) in apply.iter().enumerate().filter(|(_, a)| **a) {
                let out = depthwise_same(img, b, &kernel, kh, kw);
                img.image_mut(b).copy_from_slice(&out);
            }
        }
        // numpy's clip: the upper bound wins when the bounds are reversed.
        let (lo, hi) = self.vrange;
        img.data.iter_mut().for_each(|v| *v = v.max(lo).min(hi));
        Ok(())
    }

    /// The layer on channels-last images.
    fn call_last(&self, x: &Tensor, ctx: &mut CallContext) -> Result<Tensor> {
        let mut img = Images::from_tensor(x, &format!("Layer {}", self.base.name))?;
        if !ctx.training {
            return img.into_tensor();
        }
        let ((f0, f1), (s0, s1)) = (self.factor, self.sigma);
        let (apply, sigma) = self.rng.with(self.args.seed, |r| {
            let apply: Vec<bool> = (0..img.n)
                .map(|_| {
                    let p = uniform(r, f0, f1);
                    uniform(r, 0.0, 1.0) < p
                })
                .collect();
            let sigma = [uniform(r, s0, s1) as f32 + 1e-6, uniform(r, s0, s1) as f32 + 1e-6];
            (apply, sigma)
        });
        self.apply(&mut img, &apply, sigma)?;
        img.into_tensor()
    }
}

/// Keras's (TensorFlow backend) `gaussian_blur` kernel: 1-D Gaussians of `size.0` points with
/// `sigma[0]` (x) and `size.1` with `sigma[1]` (y), their outer product `y x` laid out as a
/// `(size.0, size.1)` kernel (Keras's reshape; the same as the transpose for square kernels).
pub(crate) fn gaussian_kernel(size: (usize, usize), sigma: [f32; 2]) -> Result<(usize, usize, Vec<f32>)> {
    let one_d = |n: usize, s: f32| -> Result<Vec<f32>> {
        let mut k = keras_engine::alloc::try_filled(keras_engine::alloc::checked_numel(&[n], 4)?, 0.0f32)?;
        let mid = (n as f32 - 1.0) / 2.0;
        for (i, v) in k.iter_mut().enumerate() {
            let t = (i as f32 - mid) / s;
            *v = (-0.5 * (t * t)).exp();
        }
        let sum: f32 = k.iter().sum();
        k.iter_mut().for_each(|v| *v /= sum);
        Ok(k)
    };
    let (kx, ky) = (one_d(size.0, sigma[0])?, one_d(size.1, sigma[1])?);
    let len = keras_engine::alloc::checked_numel(&[size.0, size.1], 4)?;
    let mut k = keras_engine::alloc::try_filled(len, 0.0f32)?;
    for (i, v) in k.iter_mut().enumerate() {
        *v = ky[i / size.0] * kx[i % size.0];
    }
    Ok((size.0, size.1, k))
}

/// The depthwise `"SAME"` (zero-padded) convolution of image `b` with the `(kh, kw)` kernel,
/// the same on every channel; taps outside the image are skipped.
pub(crate) fn depthwise_same(img: &Images, b: usize, kernel: &[f32], kh: usize, kw: usize) -> Vec<f32> {
    let (h, w, c) = (img.h, img.w, img.c);
    let (pt, pl) = ((kh - 1) / 2, (kw - 1) / 2);
    let src = img.image(b);
    let mut out = vec![0.0f32; src.len()];
    for y in 0..h {
        let (r0, r1) = (pt.saturating_sub(y), kh.min(h + pt - y));
        for x in 0..w {
            let (c0, c1) = (pl.saturating_sub(x), kw.min(w + pl - x));
            for ch in 0..c {
                let mut acc = 0.0f32;
                for r in r0..r1 {
                    let row = (y + r - pt) * w;
                    for q in c0..c1 {
                        acc += src[(row + x + q - pl) * c + ch] * kernel[r * kw + q];
                    }
                }
                out[(y * w + x) * c + ch] = acc;
            }
        }
    }
    out
}

image_layer_impl!(RandomGaussianBlur, "RandomGaussianBlur", same_shape);
