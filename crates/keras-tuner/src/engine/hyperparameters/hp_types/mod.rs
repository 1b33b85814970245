//! The hyperparameter kinds (keras-tuner `hp_types`) and [`HyperParameter`], the one type
//! that holds any of them in a search space.
//!
//! Submodules:
//! - `boolean_hp`: `Boolean`
//! - `choice_hp`: `Choice`
//! - `fixed_hp`: `Fixed`
//! - `float_hp`: `Float`
//! - `int_hp`: `Int`
//! - `numerical`: What `Int` and `Float` share (keras-tuner `Numerical`)

mod boolean_hp;
mod choice_hp;
mod fixed_hp;
mod float_hp;
mod int_hp;
pub(crate) mod numerical;

pub use boolean_hp::Boolean;
pub use choice_hp::Choice;
pub use fixed_hp::Fixed;
pub use float_hp::Float;
pub use int_hp::Int;
pub use numerical::Sampling;

use super::HpValue;
use crate::engine::conditions::Condition;
use crate::error::{bail, Error, Result};
use crate::json::Json;
use crate::utils::PyRandom;

/// One hyperparameter of a search space.
#[derive(Clone, Debug, PartialEq)]
pub enum HyperParameter {
    /// An integer range.
    Int(Int),
    /// A float range.
    Float(Float),
    /// A choice among values.
    Choice(Choice),
    /// True or false.
    Boolean(Boolean),
    /// A fixed value.
    Fixed(Fixed),
}

impl HyperParameter {
    /// The name.
    pub fn name(&self) -> &str {
        match self {
            HyperParameter::Int(h) => &h.name,
            HyperParameter::Float(h) => &h.name,
            HyperParameter::Choice(h) => &h.name,
            HyperParameter::Boolean(h) => &h.name,
            HyperParameter::Fixed(h) => &h.name,
        }
    }

    /// The conditions under which it is active.
    pub fn conditions(&self) -> &[Condition] {
        match self {
            HyperParameter::Int(h) => &h.conditions,
            HyperParameter::Float(h) => &h.conditions,
            HyperParameter::Choice(h) => &h.conditions,
            HyperParameter::Boolean(h) => &h.conditions,
            HyperParameter::Fixed(h) => &h.conditions,
        }
    }

    /// keras-tuner's class name (`Int`, `Float`, `Choice`, `Boolean`, `Fixed`).
    pub fn class_name(&self) -> &'static str {
        match self {
            HyperParameter::Int(_) => "Int",
            HyperParameter::Float(_) => "Float",
            HyperParameter::Choice(_) => "Choice",
            HyperParameter::Boolean(_) => "Boolean",
            HyperParameter::Fixed(_) => "Fixed",
        }
    }

    /// True for `Fixed` (not part of the space a Bayesian search models).
    pub fn is_fixed(&self) -> bool {
        matches!(self, HyperParameter::Fixed(_))
    }

    /// The default value.
    pub fn default_value(&self) -> HpValue {
        match self {
            HyperParameter::Int(h) => HpValue::Int(h.default_value()),
            HyperParameter::Float(h) => HpValue::Float(h.default_value()),
            HyperParameter::Choice(h) => h.default_value(),
            HyperParameter::Boolean(h) => HpValue::Bool(h.default),
            HyperParameter::Fixed(h) => h.value.clone(),
        }
    }

    /// The value at cumulative probability `prob` in `[0, 1)`.
    pub fn prob_to_value(&self, prob: f64) -> HpValue {
        match self {
            HyperParameter::Int(h) => HpValue::Int(h.prob_to_value(prob)),
            HyperParameter::Float(h) => HpValue::Float(h.prob_to_value(prob)),
            HyperParameter::Choice(h) => h.prob_to_value(prob),
            HyperParameter::Boolean(h) => HpValue::Bool(h.prob_to_value(prob)),
            HyperParameter::Fixed(h) => h.value.clone(),
        }
    }

    /// The cumulative probability of `value` (the embedding Bayesian optimization uses).
    pub fn value_to_prob(&self, value: &HpValue) -> f64 {
        match self {
            HyperParameter::Int(h) => h.value_to_prob(value.as_f64().unwrap_or(h.default_value() as f64)),
            HyperParameter::Float(h) => h.value_to_prob(value.as_f64().unwrap_or(h.default_value())),
            HyperParameter::Choice(h) => h.value_to_prob(value),
            HyperParameter::Boolean(h) => h.value_to_prob(value.as_bool().unwrap_or(h.default)),
            HyperParameter::Fixed(_) => 0.5,
        }
    }

    /// `random_sample(seed)`: `prob_to_value(random.Random(seed).random())`, the draw
    /// keras-tuner makes for each active hyperparameter of a random trial.
    pub fn random_sample(&self, seed: i64) -> HpValue {
        self.prob_to_value(PyRandom::new(seed.unsigned_abs()).random())
    }

    /// Every value a grid search visits, in order.
    pub fn values(&self) -> Vec<HpValue> {
        match self {
            HyperParameter::Int(h) => h.values().into_iter().map(HpValue::Int).collect(),
            HyperParameter::Float(h) => h.values().into_iter().map(HpValue::Float).collect(),
            HyperParameter::Choice(h) => h.values.clone(),
            HyperParameter::Boolean(_) => vec![HpValue::Bool(true), HpValue::Bool(false)],
            HyperParameter::Fixed(h) => vec![h.value.clone()],
        }
    }

    /// `get_config()`.
    pub fn config(&self) -> Json {
        match self {
            HyperParameter::Int(h) => h.config(),
            HyperParameter::Float(h) => h.config(),
            HyperParameter::Choice(h) => h.config(),
            HyperParameter::Boolean(h) => h.config(),
            HyperParameter::Fixed(h) => h.config(),
        }
    }

    /// `{"class_name": ..., "config": ...}` as a search space stores it.
    pub fn to_json(&self) -> Json {
        Json::obj([("class_name", Json::str(self.class_name())), ("config", self.config())])
    }

    /// Reads [`HyperParameter::to_json`], checking every argument as the constructors do.
    pub fn from_json(v: &Json) -> Result<HyperParameter> {
        let class = v.get("class_name").and_then(Json::as_str).unwrap_or("");
        let cfg = v.req("config", "hyperparameter")?;
        let what = format!("hyperparameter {class}");
        let name =
            cfg.req("name", &what)?.as_str().ok_or_else(|| Error::Value(format!("{what}: bad name")))?;
        let conditions = match cfg.get("conditions") {
            Some(Json::Array(a)) => a.iter().map(Condition::from_json).collect::<Result<Vec<_>>>()?,
            _ => Vec::new(),
        };
        let sampling = || -> Result<Sampling> {
            match cfg.get("sampling").and_then(Json::as_str) {
                Some(s) => Sampling::parse(s, class, name),
                None => Ok(Sampling::Linear),
            }
        };
        let int = |k: &str| -> Result<Option<i64>> {
            match cfg.get(k) {
                None | Some(Json::Null) => Ok(None),
                Some(j) => j
                    .as_i64()
                    .map(Some)
                    .ok_or_else(|| Error::Value(format!("{what} '{name}': {k} must be an int"))),
            }
        };
        let float = |k: &str| -> Result<Option<f64>> {
            match cfg.get(k) {
                None | Some(Json::Null) => Ok(None),
                Some(j) => j
                    .as_f64()
                    .map(Some)
                    .ok_or_else(|| Error::Value(format!("{what} '{name}': {k} must be a number"))),
            }
        };
        let missing = |k: &str| Error::Value(format!("{what} '{name}': missing {k}"));
        Ok(match class {
            "Int" => HyperParameter::Int(Int::new(
                name,
                int("min_value")?.ok_or_else(|| missing("min_value"))?,
                int("max_value")?.ok_or_else(|| missing("max_value"))?,
                int("step")?,
                sampling()?,
                int("default")?,
                conditions,
            )?),
            "Float" => HyperParameter::Float(Float::new(
                name,
                float("min_value")?.ok_or_else(|| missing("min_value"))?,
                float("max_value")?.ok_or_else(|| missing("max_value"))?,
                float("step")?,
                sampling()?,
                float("default")?,
                conditions,
            )?),
            "Choice" => {
                let values = match cfg.get("values") {
                    Some(Json::Array(a)) => a
                        .iter()
                        .map(|j| {
                            HpValue::from_json(j)
                                .ok_or_else(|| Error::Value(format!("{what} '{name}': bad value")))
                        })
                        .collect::<Result<Vec<_>>>()?,
                    _ => Vec::new(),
                };
                let default = cfg.get("default").and_then(HpValue::from_json);
                let ordered = cfg.get("ordered").and_then(Json::as_bool);
                HyperParameter::Choice(Choice::new(name, values, ordered, default, conditions)?)
            }
            "Boolean" => {
                let default = match cfg.get("default") {
                    None | Some(Json::Null) => false,
                    Some(Json::Bool(b)) => *b,
                    Some(other) => bail!(
                        Value,
                        "`default` must be a Python boolean. You passed: default={}",
                        other.py_repr()
                    ),
                };
                HyperParameter::Boolean(Boolean { name: name.to_string(), default, conditions })
            }
            "Fixed" => {
                let value = cfg.get("value").and_then(HpValue::from_json).ok_or_else(|| {
                    Error::Value(format!(
                        "`Fixed` value must be an `int`, `float`, `str`, or `bool` ('{name}')"
                    ))
                })?;
                HyperParameter::Fixed(Fixed { name: name.to_string(), value, conditions })
            }
            other => bail!(Value, "Unknown hyperparameter class: '{other}'"),
        })
    }
}
