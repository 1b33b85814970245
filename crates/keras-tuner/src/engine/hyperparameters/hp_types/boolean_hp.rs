//! `Boolean`: `True` or `False` (keras-tuner `hp_types.Boolean`).

use crate::engine::conditions::Condition;
use crate::json::Json;

/// A boolean hyperparameter (default `false`).
#[derive(Clone, Debug, PartialEq)]
pub struct Boolean {
    /// Name (qualified by name scopes).
    pub name: String,
    /// The default value.
    pub default: bool,
    /// Conditions for being active.
    pub conditions: Vec<Condition>,
}

impl Boolean {
    /// The value at cumulative probability `prob`: `prob >= 0.5`.
    pub fn prob_to_value(&self, prob: f64) -> bool {
        prob >= 0.5
    }

    /// 0.75 for true, 0.25 for false (bucket centres).
    pub fn value_to_prob(&self, value: bool) -> f64 {
        if value {
            0.75
        } else {
            0.25
        }
    }

    /// keras-tuner's config.
    pub fn config(&self) -> Json {
        Json::obj([
            ("name", Json::str(&self.name)),
            ("default", Json::Bool(self.default)),
            ("conditions", Json::Array(self.conditions.iter().map(Condition::to_json).collect())),
        ])
    }
}
