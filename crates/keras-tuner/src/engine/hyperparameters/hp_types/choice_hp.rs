//! `Choice`: one of a list of values of one type (keras-tuner `hp_types.Choice`).

use super::numerical::{index_to_prob, prob_to_index};
use crate::engine::conditions::Condition;
use crate::engine::hyperparameters::HpValue;
use crate::error::{bail, Result};
use crate::json::Json;

/// A choice among values that are all ints, all floats, all strings or all bools.
#[derive(Clone, Debug, PartialEq)]
pub struct Choice {
    /// Name (qualified by name scopes).
    pub name: String,
    /// The possible values.
    pub values: Vec<HpValue>,
    /// Whether the values are ordered (numbers only; the default for numbers).
    pub ordered: bool,
    /// The default as given (`None`: the first value).
    pub default: Option<HpValue>,
    /// Conditions for being active.
    pub conditions: Vec<Condition>,
}

fn list_repr(values: &[HpValue]) -> String {
    format!("[{}]", values.iter().map(HpValue::py_repr).collect::<Vec<_>>().join(", "))
}

impl Choice {
    /// Checks the arguments as keras-tuner does: values present and of one type, the
    /// default among them, `ordered` only for numbers.
    pub fn new(
        name: impl Into<String>,
        values: Vec<HpValue>,
        ordered: Option<bool>,
        default: Option<HpValue>,
        conditions: Vec<Condition>,
    ) -> Result<Choice> {
        let name = name.into();
        if values.is_empty() {
            bail!(Value, "`values` must be provided for `Choice`.");
        }
        let mut types: Vec<&str> = values.iter().map(HpValue::type_name).collect();
        types.sort_unstable();
        types.dedup();
        if types.len() > 1 {
            let set = types.iter().map(|t| format!("<class '{t}'>")).collect::<Vec<_>>().join(", ");
            bail!(
                Type,
                "A `Choice` can contain only one type of value, found values: {} with types {{{set}}}.",
                list_repr(&values)
            );
        }
        if let Some(d) = &default {
            if !values.contains(d) {
                bail!(
                    Value,
                    "The default value should be one of the choices. You passed: values={}, default={}",
                    list_repr(&values),
                    d.py_repr()
                );
            }
        }
        let numeric = values[0].is_numeric();
        if ordered == Some(true) && !numeric {
            bail!(Value, "`ordered` must be `False` for non-numeric types.");
        }
        Ok(Choice { name, values, ordered: ordered.unwrap_or(numeric), default, conditions })
    }

    /// The default value (the first value when none was given).
    pub fn default_value(&self) -> HpValue {
        self.default.clone().unwrap_or_else(|| self.values[0].clone())
    }

    /// The value at cumulative probability `prob`.
    pub fn prob_to_value(&self, prob: f64) -> HpValue {
        self.values[prob_to_index(prob, self.values.len())].clone()
    }

    /// The probability at the centre of `value`'s bucket (0.5 for a value not listed).
    pub fn value_to_prob(&self, value: &HpValue) -> f64 {
        match self.values.iter().position(|v| v == value) {
            Some(i) => index_to_prob(i as f64, self.values.len()),
            None => 0.5,
        }
    }

    /// keras-tuner's config.
    pub fn config(&self) -> Json {
        Json::obj([
            ("name", Json::str(&self.name)),
            ("default", self.default_value().to_json()),
            ("conditions", Json::Array(self.conditions.iter().map(Condition::to_json).collect())),
            ("values", Json::Array(self.values.iter().map(HpValue::to_json).collect())),
            ("ordered", Json::Bool(self.ordered)),
        ])
    }
}
