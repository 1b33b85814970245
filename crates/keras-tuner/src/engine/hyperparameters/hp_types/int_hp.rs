//! `Int`: an integer in `[min_value, max_value]` (both included), with an optional step and
//! linear, log or reverse-log sampling (keras-tuner `hp_types.Int`).

use super::numerical::{check, Range, Sampling};
use crate::engine::conditions::Condition;
use crate::error::Result;
use crate::json::Json;

/// An integer hyperparameter. With `step` unset and linear sampling the step is 1; with
/// log sampling and no step any integer in the range may be drawn.
#[derive(Clone, Debug, PartialEq)]
pub struct Int {
    /// Name (qualified by name scopes).
    pub name: String,
    /// Lower bound, included.
    pub min_value: i64,
    /// Upper bound, included.
    pub max_value: i64,
    /// Distance (linear) or ratio (log) between values.
    pub step: Option<i64>,
    /// How values are drawn.
    pub sampling: Sampling,
    /// The default as given (`None`: `min_value`).
    pub default: Option<i64>,
    /// Conditions for being active.
    pub conditions: Vec<Condition>,
}

impl Int {
    /// Checks the arguments as keras-tuner does.
    pub fn new(
        name: impl Into<String>,
        min_value: i64,
        max_value: i64,
        step: Option<i64>,
        sampling: Sampling,
        default: Option<i64>,
        conditions: Vec<Condition>,
    ) -> Result<Int> {
        let name = name.into();
        let step = match step {
            None if sampling == Sampling::Linear => Some(1),
            s => s,
        };
        let hp = Int { name, min_value, max_value, step, sampling, default, conditions };
        check("Int", &hp.name, &hp.range(), &|v| format!("{}", v as i64))?;
        Ok(hp)
    }

    pub(crate) fn range(&self) -> Range {
        Range {
            min: self.min_value as f64,
            max: self.max_value as f64,
            step: self.step.map(|s| s as f64),
            sampling: self.sampling,
            integer: true,
        }
    }

    /// The default value (`min_value` when none was given).
    pub fn default_value(&self) -> i64 {
        self.default.unwrap_or(self.min_value)
    }

    /// The value at cumulative probability `prob` in `[0, 1)`.
    pub fn prob_to_value(&self, prob: f64) -> i64 {
        let r = self.range();
        match self.step {
            None => r.sample_value(prob, r.max + 1.0) as i64,
            Some(_) => r.sample_with_step(prob) as i64,
        }
    }

    /// The cumulative probability at the centre of `value`'s bucket.
    pub fn value_to_prob(&self, value: f64) -> f64 {
        let r = self.range();
        match self.step {
            None => r.value_prob(value + 0.5, r.max + 1.0),
            Some(_) => r.value_prob_with_step(value),
        }
    }

    /// Every value a grid visits (10 evenly spread ones when there is no step).
    pub fn values(&self) -> Vec<i64> {
        let r = self.range();
        let mut v: Vec<i64> = match self.step {
            None => (0..10).map(|i| self.prob_to_value(i as f64 * 0.1 + 0.05)).collect(),
            Some(_) => (0..r.n_values()).map(|i| r.value_by_index(i) as i64).collect(),
        };
        if self.step.is_none() {
            v.sort_unstable();
        }
        v.dedup();
        v
    }

    /// keras-tuner's config (`default` is `null` when not given).
    pub fn config(&self) -> Json {
        Json::obj([
            ("name", Json::str(&self.name)),
            ("default", self.default.map_or(Json::Null, Json::Int)),
            ("conditions", Json::Array(self.conditions.iter().map(Condition::to_json).collect())),
            ("min_value", Json::Int(self.min_value)),
            ("max_value", Json::Int(self.max_value)),
            ("step", self.step.map_or(Json::Null, Json::Int)),
            ("sampling", Json::str(self.sampling.as_str())),
        ])
    }
}
