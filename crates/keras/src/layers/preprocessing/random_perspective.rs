//! `RandomPerspective`: moves the corners of a random share of the images by random amounts
//! and warps them accordingly (in training).

use serde_json::{json, Number, Value};

use super::color::transform_last;
use super::image_common::{
    image_call, image_layer_impl, image_shape, interpolation_builder, number, probability_factor_builder,
    uniform, LayerRng,
};
use crate::layers::data_format::DataFormat;
use crate::layers::layer::{configured, CallContext, Layer, LayerBase, Shape};
use crate::layers::layer_args::{LayerArgs, LayerCfg};
use crate::preprocessing::image::affine::{transform_images, AffineInterpolation, FillMode};
use crate::preprocessing::image::images::Images;
use crate::utils::config_args::config_args;
use crate::{Error, Result, Tensor};

/// Keras `keras.layers.RandomPerspective`: in training, each image is warped when a uniform
/// draw in `[0, 1)` falls below a probability drawn from the `factor` range (a number `f` for
/// `[0, f]`, or a pair, within `[0, 1]`; default 1.0). The warp moves each corner `p` of the
/// image (`(0, 0)`, `(w - 1, 0)`, `(0, h - 1)`, `(w - 1, h - 1)`) to `p + p * d`, with the
/// eight `d` drawn from `[-scale / 2, scale / 2]` (`scale` in `[0, 1]`, default 1.0), and
/// samples the image through the homography between them (Keras's
/// `ops.image.perspective_transform`: `fill_value` outside, `interpolation` `"bilinear"` or
/// `"nearest"`). Identity in inference.
///
/// ```
/// use keras::layers::{CallContext, Layer, RandomPerspective};
/// let warp = RandomPerspective::new().scale(0.5).seed(1);
/// let x = keras::Tensor::new((0..16).map(|v| v as f32).collect(), [1, 4, 4, 1]).unwrap();
/// // Explicit parameters (Keras's `transform_images`): corners that stay put change nothing.
/// let corners = [[0.0, 0.0], [3.0, 0.0], [0.0, 3.0], [3.0, 3.0]];
/// let y = warp.transform_with(&x, &[true], &[corners], &[corners]).unwrap().to_f32_vec();
/// assert!(y.iter().zip(x.to_f32_vec()).all(|(a, b)| (a - b).abs() < 1e-4));
/// assert_eq!(warp.call(&x, &mut CallContext::new(true)).unwrap().shape(), &[1, 4, 4, 1]);
/// ```
pub struct RandomPerspective {
    base: LayerBase,
    args: RandomPerspectiveArgs,
    factor: (f64, f64),
    rng: LayerRng,
}

config_args! {
    /// RandomPerspective's Keras arguments, in the order of its `get_config()`.
    pub(crate) struct RandomPerspectiveArgs in RandomPerspective.args, family LayerArgs {
        data_format: DataFormat = DataFormat::default(),
        /// `[lower, upper]` of the warp probability (checked by the constructor).
        factor: Value = json!([0, 1.0]),
        /// The corner displacement range (checked by the constructor).
        scale: Number = number(1.0),
        interpolation: AffineInterpolation = AffineInterpolation::Bilinear,
        /// The value outside the warped image.
        fill_value: Number = number(0.0); builder fill_value(v: f64) => number(v),
        /// A fixed seed for this layer's draws (otherwise the global generator).
        seed: Option<u64> = None; builder seed(seed: u64) => Some(seed),
    }
}

/// The four corners of an image, as `[x, y]` points.
pub type Corners = [[f32; 2]; 4];

impl Default for RandomPerspective {
    fn default() -> Self {
        Self::new()
    }
}

impl RandomPerspective {
    /// Keras's defaults: `factor=1.0`, `scale=1.0`, bilinear, fill 0.
    pub fn new() -> Self {
        RandomPerspective {
            base: LayerBase::new("random_perspective"),
            args: RandomPerspectiveArgs::defaults(),
            factor: (0.0, 1.0),
            rng: LayerRng::default(),
        }
    }

    probability_factor_builder! {
        /// The warp probability range: `[0, f]` (within `[0, 1]`).
    }

    /// The corner displacement range `[-s / 2, s / 2]` (times the corner's coordinates).
    pub fn scale(mut self, s: f64) -> Self {
        self.args.scale = number(s);
        self.check_scale();
        self
    }

    fn check_scale(&mut self) {
        let s = self.args.scale.as_f64().unwrap_or(f64::NAN);
        if s.is_nan() || !(0.0..=1.0).contains(&s) {
            let e = format!(
                "The `scale` argument should be a number in the range [0,1]. Received: scale={}",
                self.args.scale
            );
            self.base.fail(Error::InvalidArgument(e));
        }
    }

    interpolation_builder!();

    /// Rebuilds from a Keras config.
    pub fn from_config(cfg: &Value) -> Result<Self> {
        let args = RandomPerspectiveArgs::read_args(&mut LayerCfg::new(cfg, "RandomPerspective"))?;
        let mut l = RandomPerspective::new();
        l.set_factor(&args.factor);
        l.args = RandomPerspectiveArgs { factor: l.args.factor, ..args };
        l.check_scale();
        configured(l, cfg)
    }

    /// Keras's `transform_images` with explicit parameters: image `i` (of `images`, in the
    /// layer's data format) is warped where `apply[i]`, by the homography taking
    /// `end[i]` to `start[i]` (Keras's `start_points` and `end_points`, `[x, y]` each).
    pub fn transform_with(
        &self,
        images: &Tensor,
        apply: &[bool],
        start: &[Corners],
        end: &[Corners],
    ) -> Result<Tensor> {
        if start.len() != apply.len() || end.len() != apply.len() {
            crate::keras_bail!(
                InvalidArgument,
                "RandomPerspective: {} start and {} end corner sets for {} images",
                start.len(),
                end.len(),
                apply.len()
            );
        }
        let params: Vec<(bool, Corners, Corners)> =
            (0..apply.len()).map(|i| (apply[i], start[i], end[i])).collect();
        transform_last(self.args.data_format, images, &params, "RandomPerspective", |img, p| {
            *img = self.apply(img, p)?;
            Ok(())
        })
    }

    fn apply(&self, img: &Images, params: &[(bool, Corners, Corners)]) -> Result<Images> {
        if params.is_empty() {
            return Ok(img.clone());
        }
        let t: Vec<[f32; 8]> = params.iter().map(|(_, s, e)| homography(s, e)).collect();
        let fill = self.args.fill_value.as_f64().unwrap_or(0.0) as f32;
        let mut out = transform_images(img, &t, self.args.interpolation, FillMode::Constant, fill)?;
        for (b, _) in params.iter().enumerate().filter(|(_, p)| !p.0) {
            out.image_mut(b).copy_from_slice(img.image(b));
        }
        Ok(out)
    }

    /// The layer on channels-last images.
    fn call_last(&self, x: &Tensor, ctx: &mut CallContext) -> Result<Tensor> {
        let img = Images::from_tensor(x, &format!("Layer {}", self.base.name))?;
        if !ctx.training {
            return img.into_tensor();
        }
        let (f0, f1) = self.factor;
        let half = self.args.scale.as_f64().unwrap_or(0.0) * 0.5;
        let (w, h) = (img.w as f32 - 1.0, img.h as f32 - 1.0);
        let start: Corners = [[0.0, 0.0], [w, 0.0], [0.0, h], [w, h]];
        let params: Vec<(bool, Corners, Corners)> = self.rng.with(self.args.seed, |r| {
            (0..img.n)
                .map(|_| {
                    let p = uniform(r, f0, f1);
                    let apply = uniform(r, 0.0, 1.0) < p;
                    let mut end = start;
                    for pt in end.iter_mut() {
                        for v in pt.iter_mut() {
                            *v += *v * uniform(r, -half, half) as f32;
                        }
                    }
                    (apply, start, end)
                })
                .collect()
        });
        self.apply(&img, &params)?.into_tensor()
    }
}

/// Keras's `compute_homography_matrix`: the projective transform `[a0, a1, a2, b0, b1, b2,
/// c0, c1]` mapping each `end` point to its `start` point (the 8x8 system solved in f64 with
/// partial pivoting; a singular system gives the identity).
#[allow(clippy::needless_range_loop)]
fn homography(start: &Corners, end: &Corners) -> [f32; 8] {
    let mut m = [[0.0f64; 9]; 8];
    for i in 0..4 {
        let (sx, sy) = (start[i][0] as f64, start[i][1] as f64);
        let (ex, ey) = (end[i][0] as f64, end[i][1] as f64);
        m[2 * i] = [ex, ey, 1.0, 0.0, 0.0, 0.0, -sx * ex, -sx * ey, sx];
        m[2 * i + 1] = [0.0, 0.0, 0.0, ex, ey, 1.0, -sy * ex, -sy * ey, sy];
    }
    for col in 0..8 {
        let pivot = (col..8).max_by(|&a, &b| m[a][col].abs().total_cmp(&m[b][col].abs())).unwrap_or(col);
        if m[pivot][col].abs() < 1e-12 {
            return [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0];
        }
        m.swap(col, pivot);
        for row in 0..8 {
            if row != col {
                let f = m[row][col] / m[col][col];
                for k in col..9 {
                    m[row][k] -= f * m[col][k];
                }
            }
        }
    }
    let mut t = [0.0f32; 8];
    for (i, v) in t.iter_mut().enumerate() {
        *v = (m[i][8] / m[i][i]) as f32;
    }
    t
}

image_layer_impl!(RandomPerspective, "RandomPerspective", same_shape);
