//! Pieces shared by the image preprocessing layers: Keras's `factor` rules, the
//! `data_format` check, config numbers that keep their int/float type, and the layer's
//! random stream (its own seeded generator, or the global one).

use std::sync::Mutex;

use keras_engine::{with_global_rng, Rng};
use serde_json::{Number, Value};

use crate::{keras_bail, Error, Result};

/// A random stream: seeded per layer (`seed` argument) or the thread's global generator.
pub(crate) struct LayerRng {
    pub seed: Option<u64>,
    rng: Mutex<Option<Rng>>,
}

impl LayerRng {
    pub fn new(seed: Option<u64>) -> Self {
        LayerRng { seed, rng: Mutex::new(seed.map(Rng::new)) }
    }

    /// Runs `f` on this layer's generator.
    pub fn with<R>(&self, f: impl FnOnce(&mut Rng) -> R) -> R {
        let mut guard = self.rng.lock().unwrap_or_else(|e| e.into_inner());
        match guard.as_mut() {
            Some(r) => f(r),
            None => with_global_rng(f),
        }
    }

    pub fn seed_json(&self) -> Value {
        self.seed.map(Value::from).unwrap_or(Value::Null)
    }
}

/// Uniform in `[lo, hi)`.
pub(crate) fn uniform(r: &mut Rng, lo: f64, hi: f64) -> f64 {
    lo + (hi - lo) * r.uniform_f64()
}

/// Keras's `data_format`: only channels_last is implemented.
pub(crate) fn check_data_format(cfg: &Value, class: &str) -> Result<()> {
    match cfg.get("data_format").and_then(Value::as_str) {
        None | Some("channels_last") => Ok(()),
        Some(other) => {
            keras_bail!(
                Config,
                "{class}: data_format '{other}' is not supported (keras-rs images are channels_last)"
            )
        }
    }
}

/// A config number that remembers whether the user gave an int or a float.
pub(crate) fn num(v: f64) -> Value {
    Number::from_f64(v).map(Value::Number).unwrap_or(Value::Null)
}

fn neg(n: &Number) -> Number {
    match n.as_i64() {
        Some(i) => Number::from(-i),
        None => Number::from_f64(-n.as_f64().unwrap_or(0.0)).unwrap_or(Number::from(0)),
    }
}

fn f(n: &Number) -> f64 {
    n.as_f64().unwrap_or(f64::NAN)
}

/// The base layer's `_set_factor`: a number `f` gives `[max(-f, low), f]` (with `|f|`), a pair
/// is sorted; both must lie in `bounds`. Returns `(lower, upper, config value)`.
pub(crate) fn base_factor(v: &Value, bounds: (i64, i64)) -> Result<(f64, f64, Value)> {
    let err = || {
        Error::InvalidArgument(format!(
            "The `factor` argument should be a number (or a list of two numbers) in the range [{}, {}]. \
             Received: factor={v}",
            bounds.0, bounds.1
        ))
    };
    let (lo, hi) = (bounds.0 as f64, bounds.1 as f64);
    match v {
        Value::Array(a) => {
            let ns: Vec<&Number> = a.iter().filter_map(|x| x.as_number()).collect();
            if ns.len() != 2 || a.len() != 2 || f(ns[0]) > hi || f(ns[1]) < lo {
                return Err(err());
            }
            let (a, b) = if f(ns[0]) <= f(ns[1]) { (ns[0], ns[1]) } else { (ns[1], ns[0]) };
            Ok((f(a), f(b), Value::Array(vec![Value::Number(a.clone()), Value::Number(b.clone())])))
        }
        Value::Number(n) => {
            let x = f(n);
            if x < lo || x > hi || x.is_nan() {
                return Err(err());
            }
            let abs = if x < 0.0 { neg(n) } else { n.clone() };
            let minus = neg(&abs);
            let lower = if f(&minus) >= lo { minus } else { Number::from(bounds.0) };
            Ok((f(&lower), f(&abs), Value::Array(vec![Value::Number(lower), Value::Number(abs)])))
        }
        _ => Err(err()),
    }
}

/// RandomZoom / RandomTranslation's `_set_factor`: `(lower, upper)` from a number or pair, each
/// checked by `ok`.
pub(crate) fn pair_factor(v: &Value, name: &str, ok: impl Fn(f64) -> bool, msg: &str) -> Result<(f64, f64)> {
    let err = || Error::InvalidArgument(format!("{msg}Received: {name}={v}"));
    match v {
        Value::Array(a) if a.len() == 2 => {
            let x = a[0].as_f64().ok_or_else(err)?;
            let y = a[1].as_f64().ok_or_else(err)?;
            if !ok(x) || !ok(y) {
                return Err(err());
            }
            Ok((x.min(y), x.max(y)))
        }
        Value::Number(n) => {
            let x = n.as_f64().ok_or_else(err)?;
            if !ok(x) {
                return Err(err());
            }
            Ok((-x.abs(), x.abs()))
        }
        _ => Err(err()),
    }
}

/// `value_range`: two numbers, kept sorted (as Keras's RandomBrightness does).
pub(crate) fn value_range(v: &Value, sort: bool) -> Result<(f64, f64, Value)> {
    let err = || {
        Error::InvalidArgument(format!(
            "The `value_range` argument should be a list of two numbers. Received: value_range={v}"
        ))
    };
    let a = v.as_array().filter(|a| a.len() == 2).ok_or_else(err)?;
    let (x, y) = (a[0].as_f64().ok_or_else(err)?, a[1].as_f64().ok_or_else(err)?);
    if sort && x > y {
        return Ok((y, x, Value::Array(vec![a[1].clone(), a[0].clone()])));
    }
    Ok((x, y, v.clone()))
}

/// An unsigned integer config entry.
pub(crate) fn usize_of(cfg: &Value, key: &str, class: &str) -> Result<usize> {
    cfg.get(key).and_then(Value::as_u64).map(|v| v as usize).ok_or_else(|| {
        Error::Config(format!("{class} config needs a non-negative integer `{key}`, got {:?}", cfg.get(key)))
    })
}

/// The `seed` config entry (null or an integer).
pub(crate) fn seed_of(cfg: &Value) -> Option<u64> {
    cfg.get("seed").and_then(Value::as_u64)
}

/// Implements the boilerplate `Layer` methods of a preprocessing layer.
macro_rules! preprocessing_layer_boilerplate {
    ($class:literal) => {
        fn class_name(&self) -> &'static str {
            $class
        }
        fn base(&self) -> &LayerBase {
            &self.base
        }
        fn base_mut(&mut self) -> &mut LayerBase {
            &mut self.base
        }
        fn as_any(&self) -> &dyn std::any::Any {
            self
        }
        fn records_build_config(&self) -> bool {
            false
        }
    };
}
pub(crate) use preprocessing_layer_boilerplate;

/// The output shape of a layer that maps images to `(height, width)`.
pub(crate) fn resized_shape(
    s: &[Option<usize>],
    height: usize,
    width: usize,
    class: &str,
) -> Result<crate::layers::Shape> {
    let mut out = s.to_vec();
    match out.len() {
        3 => {
            out[0] = Some(height);
            out[1] = Some(width);
        }
        4 => {
            out[1] = Some(height);
            out[2] = Some(width);
        }
        _ => keras_bail!(
            Shape,
            "{class}: expected images of rank 3 (unbatched) or 4 (batched), got shape {s:?}"
        ),
    }
    Ok(out)
}
