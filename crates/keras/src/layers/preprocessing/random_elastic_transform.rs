//! `RandomElasticTransform`: displaces the pixels of a random share of the images along a
//! smoothed random field (in training).

use serde_json::{json, Number, Value};

use super::color::transform_last;
use super::image_common::{
    checked_from_config, image_call, image_layer_impl, image_shape, interpolation_builder, keep_range,
    named_factor, num, number, probability_factor_builder, uniform, value_range_builder, LayerRng,
};
use super::random_gaussian_blur::{depthwise_same, gaussian_kernel, MAX_KERNEL};
use crate::layers::data_format::DataFormat;
use crate::layers::layer::{CallContext, Layer, LayerBase, Shape};
use crate::layers::layer_args::LayerArgs;
use crate::preprocessing::image::affine::AffineInterpolation;
use crate::preprocessing::image::images::Images;
use crate::utils::config_args::config_args;
use crate::{keras_bail, Error, Result, Tensor};

/// Keras `keras.layers.RandomElasticTransform`: in training, each image is distorted when a
/// uniform draw in `[0, 1)` falls below a probability drawn from the `factor` range (a number
/// `f` for `[0, f]`, or a pair, within `[0, 1]`; default 1.0). One distortion factor `s` is
/// drawn per batch from the `scale` range (read as `factor`, default 1.0), giving
/// `alpha = 0.1 s max(h, w)` and `sigma = 0.05 s min(h, w)`. Each image gets a standard normal
/// field `n` of shape `(h, w)`; the displacement `d = blur(sigma n)`, a Gaussian blur of size
/// `6 int(sigma) | 1` and standard deviation `sigma`, moves the sample point of pixel
/// `(y, x)` to `(y + alpha d, x + alpha d)` (Keras draws the x and y fields from one seed, so
/// they are equal), read with Keras's `map_coordinates` (TensorFlow backend): `interpolation`
/// `"bilinear"` or `"nearest"`, points outside by `fill_mode` (`"reflect"` default,
/// `"constant"` with `fill_value`, `"nearest"`, `"wrap"`; `"mirror"` is accepted and, as with
/// TensorFlow, refused when the layer runs). Every image is then clipped to `value_range`.
/// Identity in inference, or when the upper bound of `factor` or `scale` is 0.
///
/// ```
/// use keras::layers::{CallContext, Layer, RandomElasticTransform};
/// let elastic = RandomElasticTransform::new().fill_mode("nearest").seed(1);
/// let x = keras::Tensor::new((0..400).map(|v| (v % 255) as f32).collect(), [1, 20, 20, 1]).unwrap();
/// // Explicit parameters (Keras's `transform_images`): a zero field moves nothing.
/// let zero = keras::Tensor::zeros([1, 20, 20]);
/// let y = elastic.transform_with(&x, &[true], 1.0, &zero, &zero).unwrap();
/// assert_eq!(y.to_f32_vec(), x.to_f32_vec());
/// assert_eq!(elastic.call(&x, &mut CallContext::new(true)).unwrap().shape(), &[1, 20, 20, 1]);
/// ```
pub struct RandomElasticTransform {
    base: LayerBase,
    args: RandomElasticTransformArgs,
    factor: (f64, f64),
    scale: (f64, f64),
    vrange: (f32, f32),
    rng: LayerRng,
}

config_args! {
    /// RandomElasticTransform's Keras arguments, in the order of its `get_config()`.
    pub(crate) struct RandomElasticTransformArgs in RandomElasticTransform.args, family LayerArgs {
        data_format: DataFormat = DataFormat::default(),
        /// `[lower, upper]` of the transform probability (checked by the constructor).
        factor: Value = json!([0, 1.0]),
        /// `[lower, upper]` of the distortion factor (checked by the constructor).
        scale: Value = json!([0, 1.0]),
        interpolation: AffineInterpolation = AffineInterpolation::Bilinear,
        /// How points outside the image are filled (checked by the constructor).
        fill_mode: String = "reflect".into(),
        /// The value outside the image with `fill_mode="constant"`.
        fill_value: Number = number(0.0); builder fill_value(v: f64) => number(v),
        /// `[min, max]` of the pixel values, kept as given (checked by the constructor).
        value_range: Value = json!([0, 255]),
        /// A fixed seed for this layer's draws (otherwise the global generator).
        seed: Option<u64> = None; builder seed(seed: u64) => Some(seed),
    }
}

/// Keras's `map_coordinates` fill modes (TensorFlow backend), less `"mirror"`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum CoordFill {
    Constant,
    Nearest,
    Wrap,
    Reflect,
}

/// The fill modes the layer accepts (Keras's `_SUPPORTED_FILL_MODES`).
const FILL_MODES: [&str; 5] = ["constant", "nearest", "wrap", "mirror", "reflect"];

impl Default for RandomElasticTransform {
    fn default() -> Self {
        Self::new()
    }
}

impl RandomElasticTransform {
    /// Keras's defaults: `factor=1.0`, `scale=1.0`, bilinear, `fill_mode="reflect"`, fill 0,
    /// values in `[0, 255]`.
    pub fn new() -> Self {
        RandomElasticTransform {
            base: LayerBase::new("random_elastic_transform"),
            args: RandomElasticTransformArgs::defaults(),
            factor: (0.0, 1.0),
            scale: (0.0, 1.0),
            vrange: (0.0, 255.0),
            rng: LayerRng::default(),
        }
    }

    probability_factor_builder! {
        /// The transform probability range: `[0, f]` (within `[0, 1]`).
    }

    /// The distortion factor range: `[0, s]` (within `[0, 1]`).
    pub fn scale(mut self, s: f64) -> Self {
        self.set_scale(&num(s));
        self
    }

    fn set_scale(&mut self, v: &Value) {
        keep_range(&mut self.base, named_factor(v, "scale"), &mut self.scale, &mut self.args.scale);
    }

    interpolation_builder!();

    /// How points outside the image are filled: `"reflect"` (default), `"constant"`,
    /// `"nearest"`, `"wrap"` or `"mirror"` (refused when the layer runs, as by TensorFlow).
    pub fn fill_mode(mut self, mode: &str) -> Self {
        self.set_fill_mode(&mode.to_string());
        self
    }

    fn set_fill_mode(&mut self, mode: &String) {
        if FILL_MODES.contains(&mode.as_str()) {
            self.args.fill_mode = mode.clone();
        } else {
            self.base.fail(Error::InvalidArgument(format!(
                "Unknown `fill_mode` {mode}. Expected of one {{'constant', 'nearest', 'wrap', 'mirror', 'reflect'}}."
            )));
        }
    }

    value_range_builder! {
        /// The range of the pixel values (kept as given, as Keras does).
        sort: false,
        |l, a, b| l.vrange = (a as f32, b as f32)
    }

    checked_from_config!(
        RandomElasticTransformArgs,
        "RandomElasticTransform",
        [set_factor(factor), set_scale(scale), set_fill_mode(fill_mode)],
        keep [data_format, interpolation, fill_value, seed]
    );

    /// Keras's `transform_images` with explicit parameters: image `i` (of `images`, in the
    /// layer's data format) is distorted where `apply[i]`, with the distortion factor
    /// `distortion_factor` (Keras's draw from `scale`) and the standard normal fields `dx` and
    /// `dy` of shape `(n, h, w)` (`n = 1` for one unbatched image; Keras's fields, which it
    /// draws equal); then every image is clipped to `value_range`.
    pub fn transform_with(
        &self,
        images: &Tensor,
        apply: &[bool],
        distortion_factor: f32,
        dx: &Tensor,
        dy: &Tensor,
    ) -> Result<Tensor> {
        transform_last(self.args.data_format, images, apply, "RandomElasticTransform", |img, a| {
            let want = [img.n, img.h, img.w];
            for (name, f) in [("dx", dx), ("dy", dy)] {
                if f.shape() != want {
                    keras_bail!(
                        Shape,
                        "RandomElasticTransform: `{name}` must have the shape (n, h, w) = {want:?} of the \
                         images, got {:?}",
                        f.shape()
                    );
                }
            }
            self.apply(img, a, distortion_factor, &dx.to_f32_vec(), &dy.to_f32_vec())
        })
    }

    fn fill(&self) -> Result<CoordFill> {
        Ok(match self.args.fill_mode.as_str() {
            "constant" => CoordFill::Constant,
            "nearest" => CoordFill::Nearest,
            "wrap" => CoordFill::Wrap,
            "reflect" => CoordFill::Reflect,
            m => keras_bail!(
                InvalidArgument,
                "Invalid value for argument `fill_mode`. Expected of one ('constant', 'nearest', 'wrap', \
                 'reflect'). Received: fill_mode={m}"
            ),
        })
    }

    /// Keras's `_transform_images` (TensorFlow's `elastic_transform`) on channels-last images.
    fn apply(&self, img: &mut Images, apply: &[bool], factor: f32, dx: &[f32], dy: &[f32]) -> Result<()> {
        let mode = self.fill()?;
        let (h, w) = (img.h, img.w);
        // Keras's `get_elastic_transform_params`, in float32 as its tensors.
        let alpha = h.max(w) as f32 * (0.1 * factor);
        let sigma = h.min(w) as f32 * (0.05 * factor);
        // TensorFlow's int32 cast of sigma (truncation), then an odd size.
        let k = (sigma as i64).saturating_mul(6) | 1;
        if !(1..=MAX_KERNEL as i64).contains(&k) {
            keras_bail!(
                InvalidArgument,
                "RandomElasticTransform: the blur kernel size {k} (6 * int(sigma) | 1, sigma={sigma}) must be \
                 in [1, {MAX_KERNEL}] (keras-rs's limit)"
            );
        }
        let (kh, kw, kernel) = gaussian_kernel((k as usize, k as usize), [sigma, sigma])?;
        let scaled = |f: &[f32]| Images {
            n: img.n,
            h,
            w,
            c: 1,
            batched: true,
            data: f.iter().map(|v| v * sigma).collect(),
        };
        // The layer's own call passes one field for both (Keras's draw): blurred once.
        let same = std::ptr::eq(dx, dy);
        let (nx, ny) = (scaled(dx), if same { None } else { Some(scaled(dy)) });
        let fill = self.args.fill_value.as_f64().unwrap_or(0.0) as f32;
        for (b, _) in apply.iter().enumerate().filter(|(_, a)| **a) {
            let fx = depthwise_same(&nx, b, &kernel, kh, kw);
            let fy = match &ny {
                Some(ny) => depthwise_same(ny, b, &kernel, kh, kw),
                None => fx.clone(),
            };
            let coords: Vec<(f32, f32)> = (0..h * w)
                .map(|p| ((p / w) as f32 + alpha * fy[p], (p % w) as f32 + alpha * fx[p]))
                .collect();
            let out =
                map_coordinates(img.image(b), (h, w, img.c), &coords, self.args.interpolation, mode, fill);
            img.image_mut(b).copy_from_slice(&out);
        }
        // numpy's clip: the upper bound wins when the bounds are reversed.
        let (lo, hi) = self.vrange;
        img.data.iter_mut().for_each(|v| *v = v.max(lo).min(hi));
        Ok(())
    }

    /// The layer on channels-last images.
    fn call_last(&self, x: &Tensor, ctx: &mut CallContext) -> Result<Tensor> {
        let mut img = Images::from_tensor(x, &format!("Layer {}", self.base.name))?;
        let ((f0, f1), (s0, s1)) = (self.factor, self.scale);
        // Keras's `get_random_transformation` gives no transformation here.
        if !ctx.training || f1 == 0.0 || s1 == 0.0 {
            return img.into_tensor();
        }
        let len = keras_engine::alloc::checked_numel(&[img.n, img.h, img.w], 4)?;
        let mut noise = keras_engine::alloc::try_filled(len, 0.0f32)?;
        let (apply, factor) = self.rng.with(self.args.seed, |r| {
            let apply: Vec<bool> = (0..img.n)
                .map(|_| {
                    let p = uniform(r, f0, f1);
                    uniform(r, 0.0, 1.0) < p
                })
                .collect();
            let factor = uniform(r, s0, s1) as f32;
            r.fill_standard_normal_f32(&mut noise);
            (apply, factor)
        });
        self.apply(&mut img, &apply, factor, &noise, &noise)?;
        img.into_tensor()
    }
}

/// Keras's `map_coordinates` (TensorFlow backend) of one channels-last image at the points
/// `(y, x)` of `coords` (one per output pixel), every channel: `order` 0 rounds half to even,
/// order 1 sums the four neighbours weighted in Keras's order; out-of-range indices are moved
/// in by `mode`, or (`Constant`) read as `fill`.
fn map_coordinates(
    src: &[f32],
    (h, w, c): (usize, usize, usize),
    coords: &[(f32, f32)],
    interp: AffineInterpolation,
    mode: CoordFill,
    fill: f32,
) -> Vec<f32> {
    // One axis: an index moved in by the mode, and whether it was inside.
    let fix = |i: i64, size: usize| -> (usize, bool) {
        let n = size as i64;
        let j = match mode {
            CoordFill::Constant => return (i.clamp(0, n - 1) as usize, (0..n).contains(&i)),
            CoordFill::Nearest => i.clamp(0, n - 1),
            CoordFill::Wrap => i.rem_euclid(n),
            CoordFill::Reflect => {
                let m = i.abs() % (2 * n);
                if m < n {
                    m
                } else {
                    2 * n - m - 1
                }
            }
        };
        (j as usize, true)
    };
    // `(index, weight)` of the taps along one axis.
    let taps = |v: f32| -> [(i64, f32); 2] {
        // Far-off (or infinite) points stay far off, within i64 arithmetic; NaN reads index 0.
        let v = v.clamp(-1e15, 1e15);
        match interp {
            AffineInterpolation::Nearest => [(v.round_ties_even() as i64, 1.0), (0, 0.0)],
            AffineInterpolation::Bilinear => {
                let lower = v.floor();
                let upper_w = v - lower;
                [(lower as i64, 1.0 - upper_w), (lower as i64 + 1, upper_w)]
            }
        }
    };
    let ntaps = if interp == AffineInterpolation::Nearest { 1 } else { 2 };
    let mut out = vec![0.0f32; coords.len() * c];
    for (p, &(y, x)) in coords.iter().enumerate() {
        let (ty, tx) = (taps(y), taps(x));
        let dst = &mut out[p * c..(p + 1) * c];
        for (iy, wy) in &ty[..ntaps] {
            let (yy, vy) = fix(*iy, h);
            for (ix, wx) in &tx[..ntaps] {
                let (xx, vx) = fix(*ix, w);
                let weight = wy * wx;
                let at = (yy * w + xx) * c;
                for (ch, d) in dst.iter_mut().enumerate() {
                    let v = if vy && vx { src[at + ch] } else { fill };
                    *d += weight * v;
                }
            }
        }
    }
    out
}

image_layer_impl!(RandomElasticTransform, "RandomElasticTransform", same_shape);
