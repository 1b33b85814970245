//! `Float`: a float in `[min_value, max_value]`, with an optional step and linear, log or
//! reverse-log sampling (keras-tuner `hp_types.Float`).

use super::numerical::{check, Range, Sampling};
use crate::engine::conditions::Condition;
use crate::error::Result;
use crate::json::{python_float_repr, Json};

/// A float hyperparameter.
#[derive(Clone, Debug, PartialEq)]
pub struct Float {
    /// Name (qualified by name scopes).
    pub name: String,
    /// Lower bound.
    pub min_value: f64,
    /// Upper bound.
    pub max_value: f64,
    /// Distance (linear) or ratio (log) between values; `None`: continuous.
    pub step: Option<f64>,
    /// How values are drawn.
    pub sampling: Sampling,
    /// The default as given (`None`: `min_value`).
    pub default: Option<f64>,
    /// Conditions for being active.
    pub conditions: Vec<Condition>,
}

impl Float {
    /// Checks the arguments as keras-tuner does.
    pub fn new(
        name: impl Into<String>,
        min_value: f64,
        max_value: f64,
        step: Option<f64>,
        sampling: Sampling,
        default: Option<f64>,
        conditions: Vec<Condition>,
    ) -> Result<Float> {
        let hp = Float { name: name.into(), min_value, max_value, step, sampling, default, conditions };
        check("Float", &hp.name, &hp.range(), &|v| python_float_repr(v))?;
        Ok(hp)
    }

    pub(crate) fn range(&self) -> Range {
        Range {
            min: self.min_value,
            max: self.max_value,
            step: self.step,
            sampling: self.sampling,
            integer: false,
        }
    }

    /// The default value (`min_value` when none was given).
    pub fn default_value(&self) -> f64 {
        self.default.unwrap_or(self.min_value)
    }

    /// The value at cumulative probability `prob` in `[0, 1)`.
    pub fn prob_to_value(&self, prob: f64) -> f64 {
        let r = self.range();
        match self.step {
            None => r.sample_value(prob, r.max),
            Some(_) => r.sample_with_step(prob),
        }
    }

    /// The cumulative probability of `value`.
    pub fn value_to_prob(&self, value: f64) -> f64 {
        let r = self.range();
        match self.step {
            None => r.value_prob(value, r.max),
            Some(_) => r.value_prob_with_step(value),
        }
    }

    /// Every value a grid visits (10 evenly spread ones when there is no step).
    pub fn values(&self) -> Vec<f64> {
        let r = self.range();
        let mut v: Vec<f64> = match self.step {
            None => (0..10).map(|i| self.prob_to_value(i as f64 * 0.1 + 0.05)).collect(),
            Some(_) => (0..r.n_values()).map(|i| r.value_by_index(i)).collect(),
        };
        if self.step.is_none() {
            v.sort_by(f64::total_cmp);
        }
        v.dedup();
        v
    }

    /// keras-tuner's config (`default` is the effective default).
    pub fn config(&self) -> Json {
        Json::obj([
            ("name", Json::str(&self.name)),
            ("default", Json::Float(self.default_value())),
            ("conditions", Json::Array(self.conditions.iter().map(Condition::to_json).collect())),
            ("min_value", Json::Float(self.min_value)),
            ("max_value", Json::Float(self.max_value)),
            ("step", self.step.map_or(Json::Null, Json::Float)),
            ("sampling", Json::str(self.sampling.as_str())),
        ])
    }
}
