//! Conditions that make a hyperparameter active (keras-tuner `conditions.Parent`): the
//! parent hyperparameter's value must be one of the listed values.

use super::hyperparameters::{HpValue, Values};
use crate::error::{bail, Result};
use crate::json::Json;

/// `Parent(name, values)`: active when `values[name]` is one of `values`.
#[derive(Clone, Debug, PartialEq)]
pub struct Condition {
    /// The parent hyperparameter.
    pub name: String,
    /// The parent values that activate the child.
    pub values: Vec<HpValue>,
}

impl Condition {
    /// A parent condition; the values must be non-empty and of one scalar kind.
    pub fn parent(name: impl Into<String>, values: Vec<HpValue>) -> Result<Condition> {
        let name = name.into();
        if values.is_empty() {
            bail!(Value, "The parent values of the condition on '{name}' must not be empty.");
        }
        Ok(Condition { name, values })
    }

    /// True when the parent has one of the values.
    pub fn is_active(&self, values: &Values) -> bool {
        values.get(&self.name).is_some_and(|v| self.values.contains(v))
    }

    /// `{"class_name": "Parent", "config": {"name": ..., "values": [...]}}`.
    pub fn to_json(&self) -> Json {
        Json::obj([
            ("class_name", Json::str("Parent")),
            (
                "config",
                Json::obj([
                    ("name", Json::str(&self.name)),
                    ("values", Json::Array(self.values.iter().map(HpValue::to_json).collect())),
                ]),
            ),
        ])
    }

    /// Reads [`Condition::to_json`].
    pub fn from_json(v: &Json) -> Result<Condition> {
        let class = v.get("class_name").and_then(Json::as_str).unwrap_or("");
        if class != "Parent" {
            bail!(Value, "Unrecognized condition of type: {class}");
        }
        let cfg = v.req("config", "condition")?;
        let name = cfg.req("name", "condition")?.as_str().unwrap_or_default().to_string();
        let values = match cfg.req("values", "condition")? {
            Json::Array(a) => a.iter().filter_map(HpValue::from_json).collect(),
            one => HpValue::from_json(one).into_iter().collect(),
        };
        Condition::parent(name, values)
    }
}
