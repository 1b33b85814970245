//! `Fixed`: a value that is not tuned (keras-tuner `hp_types.Fixed`).

use crate::engine::conditions::Condition;
use crate::engine::hyperparameters::HpValue;
use crate::json::Json;

/// A fixed value.
#[derive(Clone, Debug, PartialEq)]
pub struct Fixed {
    /// Name (qualified by name scopes).
    pub name: String,
    /// The value.
    pub value: HpValue,
    /// Conditions for being active.
    pub conditions: Vec<Condition>,
}

impl Fixed {
    /// keras-tuner's config (no `default`, a `value`).
    pub fn config(&self) -> Json {
        Json::obj([
            ("name", Json::str(&self.name)),
            ("conditions", Json::Array(self.conditions.iter().map(Condition::to_json).collect())),
            ("value", self.value.to_json()),
        ])
    }
}
