//! `RandomShear`: shears each image by random x and y factors (in training).

use serde_json::{json, Number, Value};

use super::color::transform_last;
use super::image_common::{
    fill_mode_builder, image_call, image_layer_impl, image_shape, interpolation_builder, num, number,
    uniform, LayerRng,
};
use crate::layers::data_format::DataFormat;
use crate::layers::layer::{configured, CallContext, Layer, LayerBase, Shape};
use crate::layers::layer_args::{LayerArgs, LayerCfg};
use crate::preprocessing::image::affine::{transform_images, AffineInterpolation, FillMode};
use crate::preprocessing::image::images::Images;
use crate::utils::config_args::config_args;
use crate::{Error, Result, Tensor};

/// Keras `keras.layers.RandomShear`: in training, each image is sampled at
/// `(x + s_x y, s_y x + y)` (Keras's `affine_transform` with `[1, s_x, 0, s_y, 1, 0, 0, 0]`),
/// with `s_x` drawn from the `x_factor` range and `s_y` from `y_factor` (each a number `f` for
/// `[-f, f]`, or a pair, within `[0, 1]`) and one random sign for both. `fill_mode`
/// (`"reflect"` default, `"wrap"`, `"constant"`, `"nearest"`), `fill_value` and
/// `interpolation` (`"bilinear"` default or `"nearest"`) as in the affine layers. Identity in
/// inference.
///
/// As in Keras, a config written by a layer with a factor other than 0 (`[-f, f]`) does not
/// load: the range check refuses its negative bound.
///
/// ```
/// use keras::layers::{CallContext, Layer, RandomShear};
/// let shear = RandomShear::new(0.3, 0.0).fill_mode("constant").seed(1);
/// let x = keras::Tensor::new((0..9).map(|v| v as f32).collect(), [3, 3, 1]).unwrap();
/// // Explicit parameters (Keras's `transform_images`): no shear is the identity.
/// assert_eq!(shear.transform_with(&x, &[[0.0, 0.0]]).unwrap().to_f32_vec(), x.to_f32_vec());
/// // s_x = 1: row y reads column x + y.
/// let y = shear.transform_with(&x, &[[1.0, 0.0]]).unwrap().to_f32_vec();
/// assert_eq!(&y[3..6], &[4.0, 5.0, 0.0]);
/// assert_eq!(shear.call(&x, &mut CallContext::new(true)).unwrap().shape(), &[3, 3, 1]);
/// ```
pub struct RandomShear {
    base: LayerBase,
    args: RandomShearArgs,
    x: (f64, f64),
    y: (f64, f64),
    rng: LayerRng,
}

config_args! {
    /// RandomShear's Keras arguments, in the order of its `get_config()`.
    pub(crate) struct RandomShearArgs in RandomShear.args, family LayerArgs {
        data_format: DataFormat = DataFormat::default(),
        /// `[lower, upper]` of the x shear (checked by the constructor).
        x_factor: Value = json!([-0.0, 0.0]),
        /// `[lower, upper]` of the y shear (checked by the constructor).
        y_factor: Value = json!([-0.0, 0.0]),
        fill_mode: FillMode = FillMode::Reflect,
        interpolation: AffineInterpolation = AffineInterpolation::Bilinear,
        /// A fixed seed for this layer's draws (otherwise the global generator).
        seed: Option<u64> = None; builder seed(seed: u64) => Some(seed),
        /// The value of `fill_mode="constant"`.
        fill_value: Number = number(0.0); builder fill_value(v: f64) => number(v),
    }
}

const FACTOR_MSG: &str =
    "The `factor` argument should be a number (or a list of two numbers) in the range [0, 1.0]. ";

/// RandomShear's `_set_factor_with_name`: a number `f` gives `[-f, f]`, a pair is sorted;
/// each in `[0, 1]`.
fn shear_factor(v: &Value, name: &str) -> Result<(f64, f64, Value)> {
    let check = |x: &Value| {
        let f =
            x.as_f64().ok_or_else(|| Error::InvalidArgument(format!("{FACTOR_MSG}Received: {name}={v}")))?;
        if f.is_nan() || !(0.0..=1.0).contains(&f) {
            return Err(Error::InvalidArgument(format!("{FACTOR_MSG}Received: input_number={x}")));
        }
        Ok(f)
    };
    match v {
        Value::Array(a) if a.len() == 2 => {
            let (x, y) = (check(&a[0])?, check(&a[1])?);
            let (lo, hi) = if x <= y { (0, 1) } else { (1, 0) };
            Ok((x.min(y), x.max(y), json!([a[lo], a[hi]])))
        }
        Value::Number(n) => {
            let f = check(v)?;
            // An integer stays an integer in the config, as in Python.
            let lower = n.as_i64().map_or_else(|| num(-f), |i| json!(-i));
            Ok((-f, f, json!([lower, v])))
        }
        _ => Err(Error::InvalidArgument(format!("{FACTOR_MSG}Received: {name}={v}"))),
    }
}

impl RandomShear {
    /// Shears drawn from `[-x_factor, x_factor]` and `[-y_factor, y_factor]` (each in `[0, 1]`).
    pub fn new(x_factor: f64, y_factor: f64) -> Self {
        let l = RandomShear {
            base: LayerBase::new("random_shear"),
            args: RandomShearArgs::defaults(),
            x: (0.0, 0.0),
            y: (0.0, 0.0),
            rng: LayerRng::default(),
        };
        l.set(&num(x_factor), true).set(&num(y_factor), false)
    }

    fn set(mut self, v: &Value, x: bool) -> Self {
        match shear_factor(v, if x { "x_factor" } else { "y_factor" }) {
            Ok((lo, hi, j)) if x => {
                self.x = (lo, hi);
                self.args.x_factor = j;
            }
            Ok((lo, hi, j)) => {
                self.y = (lo, hi);
                self.args.y_factor = j;
            }
            Err(e) => self.base.fail(e),
        }
        self
    }

    fill_mode_builder!();

    interpolation_builder!();

    /// Rebuilds from a Keras config.
    pub fn from_config(cfg: &Value) -> Result<Self> {
        let args = RandomShearArgs::read_args(&mut LayerCfg::new(cfg, "RandomShear"))?;
        let mut l = RandomShear::new(0.0, 0.0).set(&args.x_factor, true).set(&args.y_factor, false);
        l.args = RandomShearArgs { x_factor: l.args.x_factor, y_factor: l.args.y_factor, ..args };
        configured(l, cfg)
    }

    /// Keras's `transform_images` with explicit parameters: image `i` (of `images`, in the
    /// layer's data format) sheared by `shears[i] = [s_x, s_y]` (Keras's `shear_factor`, the
    /// sign included).
    pub fn transform_with(&self, images: &Tensor, shears: &[[f32; 2]]) -> Result<Tensor> {
        transform_last(self.args.data_format, images, shears, "RandomShear", |img, s| {
            *img = self.apply(img, s)?;
            Ok(())
        })
    }

    fn apply(&self, img: &Images, shears: &[[f32; 2]]) -> Result<Images> {
        let t: Vec<[f32; 8]> =
            shears.iter().map(|&[sx, sy]| [1.0, sx, 0.0, sy, 1.0, 0.0, 0.0, 0.0]).collect();
        if t.is_empty() {
            return Ok(img.clone());
        }
        let fill = self.args.fill_value.as_f64().unwrap_or(0.0) as f32;
        transform_images(img, &t, self.args.interpolation, self.args.fill_mode, fill)
    }

    /// The layer on channels-last images.
    fn call_last(&self, x: &Tensor, ctx: &mut CallContext) -> Result<Tensor> {
        let img = Images::from_tensor(x, &format!("Layer {}", self.base.name))?;
        if !ctx.training {
            return img.into_tensor();
        }
        let ((x0, x1), (y0, y1)) = (self.x, self.y);
        let shears: Vec<[f32; 2]> = self.rng.with(self.args.seed, |r| {
            (0..img.n)
                .map(|_| {
                    let sign = if r.uniform_f64() > 0.5 { -1.0 } else { 1.0 };
                    let sy = uniform(r, y0, y1);
                    let sx = uniform(r, x0, x1);
                    [(sx * sign) as f32, (sy * sign) as f32]
                })
                .collect()
        });
        self.apply(&img, &shears)?.into_tensor()
    }
}

image_layer_impl!(RandomShear, "RandomShear", same_shape);
