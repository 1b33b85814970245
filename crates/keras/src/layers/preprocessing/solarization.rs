//! `Solarization`: inverts the pixels above a random threshold, after adding a random offset
//! (in training).

use serde_json::{json, Value};

use super::color::{map_range, train_call, transform_last};
use super::image_common::{image_call, image_layer_impl, image_shape, num, uniform, LayerRng};
use crate::layers::data_format::DataFormat;
use crate::layers::layer::{configured, CallContext, Layer, LayerBase, Shape};
use crate::layers::layer_args::{LayerArgs, LayerCfg};
use crate::preprocessing::image::images::Images;
use crate::utils::config_args::config_args;
use crate::{Error, Result, Tensor};

/// Keras `keras.layers.Solarization`: in training, each image gets `a` added (clipped to
/// `[0, 255]` in the 0–255 scale of `value_range`), and every value not below the threshold
/// `t` becomes `255 - value`. `a` is drawn from `[lower, upper * 255]` of `addition_factor`
/// and `t` from `[lower, upper * 255]` of `threshold_factor` (each a number `f` for `[0, f]`
/// or a pair, within `[0, 1]`; Keras scales only the upper bound). Identity in inference.
///
/// ```
/// use keras::layers::{CallContext, Layer, Solarization};
/// let s = Solarization::new().threshold_factor(0.5).seed(1);
/// let x = keras::Tensor::new(vec![0.0, 100.0, 250.0], [1, 3, 1]).unwrap();
/// let y = s.call(&x, &mut CallContext::new(true)).unwrap().to_f32_vec();
/// assert_eq!(y[2], 5.0); // 250 is above every threshold up to 127.5
/// // Explicit parameters (Keras's `transform_images`): no addition, threshold 50.
/// let y = s.transform_with(&x, &[0.0], &[50.0]).unwrap();
/// assert_eq!(y.to_f32_vec(), vec![0.0, 155.0, 5.0]);
/// ```
pub struct Solarization {
    base: LayerBase,
    args: SolarizationArgs,
    addition: (f64, f64),
    threshold: (f64, f64),
    vrange: (f32, f32),
    rng: LayerRng,
}

config_args! {
    /// Solarization's Keras arguments, in the order of its `get_config()`.
    pub(crate) struct SolarizationArgs in Solarization.args, family LayerArgs {
        data_format: DataFormat = DataFormat::default(),
        /// `[min, max]` of the pixel values, sorted (checked by the constructor).
        value_range: Value = json!([0, 255]),
        /// `[lower, upper]` (checked by the constructor).
        addition_factor: Value = json!([0, 0.0]),
        /// `[lower, upper]` (checked by the constructor).
        threshold_factor: Value = json!([0, 0.0]),
        /// A fixed seed for this layer's draws (otherwise the global generator).
        seed: Option<u64> = None; builder seed(seed: u64) => Some(seed),
    }
}

const FACTOR_MSG: &str = "The `addition_factor` and `threshold_factor` arguments should be a number \
                          (or a list of two numbers) in the range [0, 1]. ";

/// Solarization's `_set_factor`: a number `f` gives `[0, f]`, a pair is sorted; each in `[0, 1]`.
fn solar_factor(v: &Value, name: &str) -> Result<(f64, f64, Value)> {
    let check = |x: f64, shown: &Value| {
        if x.is_nan() || !(0.0..=1.0).contains(&x) {
            return Err(Error::InvalidArgument(format!("{FACTOR_MSG}Received: input_number={shown}")));
        }
        Ok(x)
    };
    let wrong = || Error::InvalidArgument(format!("{FACTOR_MSG}Received: {name}={v}"));
    match v {
        Value::Array(a) if a.len() == 2 => {
            let x = check(a[0].as_f64().ok_or_else(wrong)?, &a[0])?;
            let y = check(a[1].as_f64().ok_or_else(wrong)?, &a[1])?;
            let (lo, hi) = if x <= y { (0, 1) } else { (1, 0) };
            Ok((x.min(y), x.max(y), json!([a[lo], a[hi]])))
        }
        Value::Number(n) => {
            let x = check(n.as_f64().ok_or_else(wrong)?, v)?;
            Ok((0.0, x, json!([0, Value::Number(n.clone())])))
        }
        _ => Err(wrong()),
    }
}

impl Default for Solarization {
    fn default() -> Self {
        Self::new()
    }
}

impl Solarization {
    /// Solarizes every value (threshold 0, no addition), values in `[0, 255]`.
    pub fn new() -> Self {
        Solarization {
            base: LayerBase::new("solarization"),
            args: SolarizationArgs::defaults(),
            addition: (0.0, 0.0),
            threshold: (0.0, 0.0),
            vrange: (0.0, 255.0),
            rng: LayerRng::default(),
        }
    }

    /// The addition range: `[0, f]` (times 255 at the top, as Keras).
    pub fn addition_factor(self, f: f64) -> Self {
        self.set_factor(&num(f), true)
    }

    /// The threshold range: `[0, f]` (times 255 at the top, as Keras).
    pub fn threshold_factor(self, f: f64) -> Self {
        self.set_factor(&num(f), false)
    }

    fn set_factor(mut self, v: &Value, addition: bool) -> Self {
        let name = if addition { "addition_factor" } else { "threshold_factor" };
        match solar_factor(v, name) {
            Ok((lo, hi, j)) if addition => {
                self.addition = (lo, hi);
                self.args.addition_factor = j;
            }
            Ok((lo, hi, j)) => {
                self.threshold = (lo, hi);
                self.args.threshold_factor = j;
            }
            Err(e) => self.base.fail(e),
        }
        self
    }

    crate::layers::preprocessing::image_common::value_range_builder! {
        /// The range of the pixel values (sorted, as Keras does).
        sort: true,
        |l, a, b| l.vrange = (a as f32, b as f32)
    }

    crate::layers::builders::name_builder!();

    crate::layers::reshaping::args::data_format_builder!(args);

    /// Rebuilds from a Keras config.
    pub fn from_config(cfg: &Value) -> Result<Self> {
        let args = SolarizationArgs::read_args(&mut LayerCfg::new(cfg, "Solarization"))?;
        let mut l = Solarization::new()
            .set_factor(&args.addition_factor, true)
            .set_factor(&args.threshold_factor, false);
        // After the factors' errors, as Keras checks them first.
        if let Err(e) = l.set_value_range(&args.value_range) {
            l.base.fail(e);
        }
        let a = l.args;
        l.args = SolarizationArgs {
            value_range: a.value_range,
            addition_factor: a.addition_factor,
            threshold_factor: a.threshold_factor,
            ..args
        };
        configured(l, cfg)
    }

    /// Keras's `transform_images` with explicit parameters: image `i` (of `images`, in the
    /// layer's data format) gets `additions[i]` added and is solarized above `thresholds[i]`,
    /// both in the 0–255 scale.
    pub fn transform_with(&self, images: &Tensor, additions: &[f32], thresholds: &[f32]) -> Result<Tensor> {
        if additions.len() != thresholds.len() {
            crate::keras_bail!(
                InvalidArgument,
                "Solarization: {} additions but {} thresholds",
                additions.len(),
                thresholds.len()
            );
        }
        let params: Vec<(f32, f32)> = additions.iter().copied().zip(thresholds.iter().copied()).collect();
        transform_last(self.args.data_format, images, &params, "Solarization", |img, p| {
            self.apply(img, p);
            Ok(())
        })
    }

    fn apply(&self, img: &mut Images, params: &[(f32, f32)]) {
        for (b, &(add, thr)) in params.iter().enumerate() {
            let im = img.image_mut(b);
            map_range(im, self.vrange, (0.0, 255.0));
            for v in im.iter_mut() {
                let r = (*v + add).clamp(0.0, 255.0);
                *v = if r < thr { r } else { 255.0 - r };
            }
            map_range(im, (0.0, 255.0), self.vrange);
        }
    }

    /// The layer on channels-last images.
    fn call_last(&self, x: &Tensor, ctx: &mut CallContext) -> Result<Tensor> {
        let (a, t) = (self.addition, self.threshold);
        let draw = |n| {
            self.rng.with(self.args.seed, |r| {
                (0..n)
                    .map(|_| (uniform(r, a.0, a.1 * 255.0) as f32, uniform(r, t.0, t.1 * 255.0) as f32))
                    .collect()
            })
        };
        train_call(x, &self.base.name, ctx.training, draw, |img, p| {
            self.apply(img, p);
            Ok(())
        })
    }
}

image_layer_impl!(Solarization, "Solarization", same_shape);
