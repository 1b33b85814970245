//! Weight constraints (`keras.constraints`): projections applied to a variable after each
//! optimizer update (Keras's `optimizer.apply` assigns `constraint(variable)` to every
//! trained variable that has one).
//!
//! ```
//! use keras::constraints::Constraint;
//! use keras::Tensor;
//!
//! let w = Tensor::new(vec![-1.0, 2.0], [2]).unwrap();
//! let c = Constraint::NonNeg;
//! assert_eq!(c.apply(&w).unwrap().to_f32_vec(), vec![0.0, 2.0]);
//! assert_eq!(c.to_config()["class_name"], "NonNeg");
//! ```

use serde_json::{json, Value};

use crate::regularizers::Identifier;
use crate::utils::python_repr::py_float_json;
use crate::{keras_bail, Error, Result, Tensor};

/// Keras `backend.epsilon()`, added to norms before dividing.
const EPSILON: f32 = 1e-7;

/// The axis argument of a norm constraint: one axis or several (negative counts from the end).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Axes {
    /// One axis (`axis=0`).
    One(i64),
    /// Several axes (`axis=[0, 1, 2]` for a conv kernel).
    Many(Vec<i64>),
}

impl Axes {
    fn to_json(&self) -> Value {
        match self {
            Axes::One(a) => json!(a),
            Axes::Many(v) => json!(v),
        }
    }

    fn from_json(v: Option<&Value>) -> Result<Self> {
        match v {
            None | Some(Value::Null) => Ok(Axes::One(0)),
            Some(Value::Number(n)) => n
                .as_i64()
                .map(Axes::One)
                .ok_or_else(|| Error::Config(format!("`axis` must be an integer, got {n}"))),
            Some(Value::Array(a)) => a
                .iter()
                .map(|x| {
                    x.as_i64().ok_or_else(|| Error::Config(format!("`axis` must hold integers, got {x}")))
                })
                .collect::<Result<Vec<_>>>()
                .map(Axes::Many),
            Some(other) => {
                keras_bail!(Config, "`axis` must be an integer or a list of integers, got {other}")
            }
        }
    }

    /// Resolved axes for a tensor of `rank` (error when out of range).
    fn resolve(&self, rank: usize) -> Result<Vec<bool>> {
        let list = match self {
            Axes::One(a) => vec![*a],
            Axes::Many(v) => v.clone(),
        };
        let mut reduced = vec![false; rank];
        for a in list {
            let r = rank as i64;
            if a < -r || a >= r {
                keras_bail!(
                    InvalidArgument,
                    "Constraint axis {a} is out of bounds for a variable of rank {rank}"
                );
            }
            reduced[a.rem_euclid(r.max(1)) as usize] = true;
        }
        Ok(reduced)
    }
}

/// A number kept with the JSON form Keras writes (`2` stays an int, `2.0` a float).
#[derive(Clone, Debug, PartialEq)]
pub struct Num {
    value: f32,
    int: bool,
}

impl Num {
    /// A float argument.
    pub fn float(value: f32) -> Self {
        Num { value, int: false }
    }
    /// An integer argument.
    pub fn int(value: i64) -> Self {
        Num { value: value as f32, int: true }
    }
    /// The value.
    pub fn value(&self) -> f32 {
        self.value
    }
    fn to_json(&self) -> Value {
        if self.int {
            json!(self.value as i64)
        } else {
            py_float_json(self.value)
        }
    }
    fn from_json(v: Option<&Value>, default: Num, name: &str) -> Result<Num> {
        match v {
            None | Some(Value::Null) => Ok(default),
            Some(Value::Number(n)) if n.is_i64() || n.is_u64() => {
                Ok(Num::int(n.as_i64().unwrap_or(i64::MAX)))
            }
            Some(Value::Number(n)) => Ok(Num::float(n.as_f64().unwrap_or(0.0) as f32)),
            Some(other) => keras_bail!(Config, "constraint argument `{name}` must be a number, got {other}"),
        }
    }
}

/// A Keras weight constraint.
#[derive(Clone, Debug, PartialEq)]
pub enum Constraint {
    /// Rescales slices whose L2 norm (over `axis`) exceeds `max_value` (Keras `MaxNorm`,
    /// defaults `max_value=2`, `axis=0`).
    MaxNorm {
        /// The largest allowed norm.
        max_value: Num,
        /// The axes the norm runs over.
        axis: Axes,
    },
    /// Moves norms toward `[min_value, max_value]` at `rate` (Keras `MinMaxNorm`, defaults
    /// `0.0, 1.0, rate=1.0, axis=0`).
    MinMaxNorm {
        /// Smallest norm.
        min_value: Num,
        /// Largest norm.
        max_value: Num,
        /// 1.0 enforces strictly; smaller values move part of the way.
        rate: Num,
        /// The axes the norm runs over.
        axis: Axes,
    },
    /// Zeroes negative weights (Keras `NonNeg`).
    NonNeg,
    /// Divides by the L2 norm over `axis` (Keras `UnitNorm`, default `axis=0`).
    UnitNorm {
        /// The axes the norm runs over.
        axis: Axes,
    },
}

impl Constraint {
    /// `MaxNorm(max_value, axis)`.
    pub fn max_norm(max_value: f32, axis: i64) -> Self {
        Constraint::MaxNorm { max_value: Num::float(max_value), axis: Axes::One(axis) }
    }
    /// `MinMaxNorm(min_value, max_value, rate, axis)`.
    pub fn min_max_norm(min_value: f32, max_value: f32, rate: f32, axis: i64) -> Self {
        Constraint::MinMaxNorm {
            min_value: Num::float(min_value),
            max_value: Num::float(max_value),
            rate: Num::float(rate),
            axis: Axes::One(axis),
        }
    }
    /// `UnitNorm(axis)`.
    pub fn unit_norm(axis: i64) -> Self {
        Constraint::UnitNorm { axis: Axes::One(axis) }
    }
    /// Replaces the axis by several axes (`[0, 1, 2]` for a conv kernel). No-op for NonNeg.
    pub fn with_axes(mut self, axes: &[i64]) -> Self {
        match &mut self {
            Constraint::MaxNorm { axis, .. }
            | Constraint::MinMaxNorm { axis, .. }
            | Constraint::UnitNorm { axis } => *axis = Axes::Many(axes.to_vec()),
            Constraint::NonNeg => {}
        }
        self
    }

    /// Resolves a Keras string identifier (`"max_norm"`, `"NonNeg"`, ...) with default arguments.
    pub fn from_name(name: &str) -> Result<Self> {
        Ok(match name {
            "max_norm" | "MaxNorm" => Constraint::MaxNorm { max_value: Num::int(2), axis: Axes::One(0) },
            "min_max_norm" | "MinMaxNorm" => Constraint::MinMaxNorm {
                min_value: Num::float(0.0),
                max_value: Num::float(1.0),
                rate: Num::float(1.0),
                axis: Axes::One(0),
            },
            "non_neg" | "NonNeg" => Constraint::NonNeg,
            "unit_norm" | "UnitNorm" => Constraint::UnitNorm { axis: Axes::One(0) },
            other => keras_bail!(InvalidArgument, "Could not interpret constraint identifier: {other}"),
        })
    }

    /// Reads a constraint from a string name or its serialized form; `null` gives `None`.
    pub fn from_config(v: &Value) -> Result<Option<Self>> {
        let (class, cfg) = match Identifier::read(v, "constraint")? {
            Identifier::Null => return Ok(None),
            Identifier::Name(s) => return Self::from_name(s).map(Some),
            Identifier::Object(class, cfg) => (class, cfg),
        };
        let c = match Self::from_name(class)? {
            Constraint::MaxNorm { max_value, axis } => Constraint::MaxNorm {
                max_value: Num::from_json(cfg.get("max_value"), max_value, "max_value")?,
                axis: if cfg.get("axis").is_some() { Axes::from_json(cfg.get("axis"))? } else { axis },
            },
            Constraint::MinMaxNorm { min_value, max_value, rate, .. } => Constraint::MinMaxNorm {
                min_value: Num::from_json(cfg.get("min_value"), min_value, "min_value")?,
                max_value: Num::from_json(cfg.get("max_value"), max_value, "max_value")?,
                rate: Num::from_json(cfg.get("rate"), rate, "rate")?,
                axis: Axes::from_json(cfg.get("axis"))?,
            },
            Constraint::NonNeg => Constraint::NonNeg,
            Constraint::UnitNorm { .. } => Constraint::UnitNorm { axis: Axes::from_json(cfg.get("axis"))? },
        };
        Ok(Some(c))
    }

    /// The Keras class name.
    pub fn class_name(&self) -> &'static str {
        match self {
            Constraint::MaxNorm { .. } => "MaxNorm",
            Constraint::MinMaxNorm { .. } => "MinMaxNorm",
            Constraint::NonNeg => "NonNeg",
            Constraint::UnitNorm { .. } => "UnitNorm",
        }
    }

    /// `get_config()`.
    pub fn get_config(&self) -> Value {
        match self {
            Constraint::MaxNorm { max_value, axis } => {
                json!({ "max_value": max_value.to_json(), "axis": axis.to_json() })
            }
            Constraint::MinMaxNorm { min_value, max_value, rate, axis } => json!({
                "min_value": min_value.to_json(),
                "max_value": max_value.to_json(),
                "rate": rate.to_json(),
                "axis": axis.to_json(),
            }),
            Constraint::NonNeg => json!({}),
            Constraint::UnitNorm { axis } => json!({ "axis": axis.to_json() }),
        }
    }

    /// The serialized form Keras writes into layer configs.
    pub fn to_config(&self) -> Value {
        json!({
            "module": "keras.constraints",
            "class_name": self.class_name(),
            "config": self.get_config(),
            "registered_name": null,
        })
    }

    /// The constrained value of `w` (a new tensor, no gradient).
    pub fn apply(&self, w: &Tensor) -> Result<Tensor> {
        let data = w.to_f32_vec();
        let out: Vec<f32> = match self {
            Constraint::NonNeg => data.iter().map(|&x| if x >= 0.0 { x } else { 0.0 }).collect(),
            Constraint::MaxNorm { axis, max_value } => {
                let m = max_value.value();
                scale_by_norm(&data, w.shape(), axis, |n| n.clamp(0.0, m.max(0.0)) / (EPSILON + n))?
            }
            Constraint::MinMaxNorm { axis, min_value, max_value, rate } => {
                let (lo, hi, r) = (min_value.value(), max_value.value(), rate.value());
                scale_by_norm(&data, w.shape(), axis, |n| {
                    let clipped = n.max(lo).min(hi);
                    (r * clipped + (1.0 - r) * n) / (EPSILON + n)
                })?
            }
            Constraint::UnitNorm { axis } => scale_by_norm(&data, w.shape(), axis, |n| 1.0 / (EPSILON + n))?,
        };
        Ok(Tensor::new(out, w.shape().to_vec())?)
    }
}

/// `w * factor(norm)` where `norm` is the L2 norm of `w` over `axes` (kept dims).
fn scale_by_norm(
    data: &[f32],
    shape: &[usize],
    axes: &Axes,
    factor: impl Fn(f32) -> f32,
) -> Result<Vec<f32>> {
    let reduced = axes.resolve(shape.len())?;
    // Row-major strides; the group of an element is its index with reduced axes set to 0.
    let rank = shape.len();
    let mut strides = vec![1usize; rank];
    for i in (0..rank.saturating_sub(1)).rev() {
        strides[i] = strides[i + 1] * shape[i + 1];
    }
    let group_of = |flat: usize| -> usize {
        let mut g = 0;
        for d in 0..rank {
            if !reduced[d] {
                g += (flat / strides[d]) % shape[d] * strides[d];
            }
        }
        g
    };
    let mut sums = vec![0.0f64; data.len().max(1)];
    for (i, &x) in data.iter().enumerate() {
        sums[group_of(i)] += (x as f64) * (x as f64);
    }
    Ok(data.iter().enumerate().map(|(i, &x)| x * factor(sums[group_of(i)].sqrt() as f32)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: &[f32], b: &[f32]) {
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() < 1e-5, "{a:?} vs {b:?}");
        }
    }

    #[test]
    fn max_norm_rescales_only_large_columns() {
        // Columns (3, 4) (norm 5) and (0.3, 0.4) (norm 0.5) over axis 0.
        let w = Tensor::new(vec![3.0, 0.3, 4.0, 0.4], [2, 2]).unwrap();
        let c = Constraint::max_norm(2.0, 0);
        let got = c.apply(&w).unwrap().to_f32_vec();
        close(&got, &[1.2, 0.3 * 0.5 / (0.5 + 1e-7), 1.6, 0.4 * 0.5 / (0.5 + 1e-7)]);
        // Over axis 1: rows (3, 0.3), (4, 0.4).
        let r = Constraint::max_norm(1.0, -1).apply(&w).unwrap().to_f32_vec();
        let n0 = (9.09f32).sqrt();
        let n1 = (16.16f32).sqrt();
        close(&r, &[3.0 / n0, 0.3 / n0, 4.0 / n1, 0.4 / n1]);
        // All axes of a 3-D tensor.
        let t = Tensor::new(vec![2.0; 8], [2, 2, 2]).unwrap();
        let a = Constraint::max_norm(1.0, 0).with_axes(&[0, 1, 2]).apply(&t).unwrap().to_f32_vec();
        close(&a, &[2.0 / 32f32.sqrt(); 8]);
    }

    #[test]
    fn unit_min_max_and_non_neg() {
        let w = Tensor::new(vec![3.0, 0.3, 4.0, 0.4], [2, 2]).unwrap();
        close(&Constraint::unit_norm(0).apply(&w).unwrap().to_f32_vec(), &[0.6, 0.6, 0.8, 0.8]);
        // min 1, max 2, rate 0.5: norm 5 -> 0.5*2 + 0.5*5 = 3.5; norm 0.5 -> 0.5*1 + 0.25 = 0.75.
        let m = Constraint::min_max_norm(1.0, 2.0, 0.5, 0).apply(&w).unwrap().to_f32_vec();
        close(&m, &[3.0 * 0.7, 0.3 * 1.5, 4.0 * 0.7, 0.4 * 1.5]);
        let n = Constraint::NonNeg.apply(&Tensor::new(vec![-1.0, 0.0, 2.0], [3]).unwrap()).unwrap();
        assert_eq!(n.to_f32_vec(), vec![0.0, 0.0, 2.0]);
        assert!(Constraint::unit_norm(2).apply(&w).is_err());
        assert!(Constraint::max_norm(1.0, -3).apply(&w).is_err());
    }

    #[test]
    fn configs_round_trip() {
        let d = Constraint::from_name("max_norm").unwrap();
        assert_eq!(
            d.to_config(),
            json!({"module": "keras.constraints", "class_name": "MaxNorm", "config": {"max_value": 2, "axis": 0}, "registered_name": null})
        );
        assert_eq!(
            Constraint::from_name("min_max_norm").unwrap().get_config(),
            json!({"min_value": 0.0, "max_value": 1.0, "rate": 1.0, "axis": 0})
        );
        assert_eq!(Constraint::NonNeg.get_config(), json!({}));
        for c in [
            Constraint::max_norm(3.5, 1),
            Constraint::min_max_norm(0.1, 2.0, 0.7, 0).with_axes(&[0, 1, 2]),
            Constraint::NonNeg,
            Constraint::unit_norm(-1),
            d,
        ] {
            assert_eq!(Constraint::from_config(&c.to_config()).unwrap(), Some(c));
        }
        assert!(Constraint::from_name("positive").is_err());
        assert!(Constraint::from_config(&json!({"class_name": "UnitNorm", "config": {"axis": "x"}})).is_err());
        assert_eq!(Constraint::from_config(&Value::Null).unwrap(), None);
    }
}
