//! `HyperParameters` (keras-tuner `engine.hyperparameters`): a search space and the values
//! of one trial. A hypermodel's `build` asks it for values (`hp.int("units", 32, 512)`);
//! the first time a name is asked for, the hyperparameter joins the space and gets its
//! default; in a trial it gets the value the oracle chose.
//!
//! Submodules:
//! - `hp_types`: The hyperparameter kinds (keras-tuner `hp_types`) and [`HyperParameter`], the one type that holds any of them in a search space
//! - `value`: `HpValue`

mod hp_types;
mod value;

pub use hp_types::{Boolean, Choice, Fixed, Float, HyperParameter, Int, Sampling};
pub use value::{HpValue, Values};

use crate::engine::conditions::Condition;
use crate::error::{bail, Error, Result};
use crate::json::Json;

/// A search space (`space`) and the active values of a trial (`values`).
///
/// ```
/// use keras_tuner::HyperParameters;
///
/// let mut hp = HyperParameters::new();
/// let units = hp.int("units", 32, 512).step(32).value().unwrap();
/// let lr = hp.float("learning_rate", 1e-4, 1e-2).sampling("log").value().unwrap();
/// let act = hp.choice("activation", ["relu", "tanh"]).value().unwrap();
/// assert_eq!((units, lr, act.as_str()), (32, 1e-4, Some("relu")));
///
/// // Hyperparameters that only matter for one branch.
/// hp.conditional_scope("activation", ["relu"], |hp| {
///     hp.boolean("leaky").value()?;
///     Ok(())
/// })
/// .unwrap();
/// assert_eq!(hp.space().len(), 4);
/// assert_eq!(hp.get("units").unwrap().as_i64(), Some(32));
/// ```
#[derive(Clone, Debug, Default)]
pub struct HyperParameters {
    name_scopes: Vec<String>,
    conditions: Vec<Condition>,
    space: Vec<HyperParameter>,
    values: Values,
    /// Conditional scopes entered while active / inactive (the tuner uses them to find the
    /// hyperparameters of every branch before the search).
    pub(crate) active_scopes: Vec<Vec<Condition>>,
    pub(crate) inactive_scopes: Vec<Vec<Condition>>,
}

impl HyperParameters {
    /// An empty space.
    pub fn new() -> Self {
        Self::default()
    }

    /// The hyperparameters, in registration order (parents before their children).
    pub fn space(&self) -> &[HyperParameter] {
        &self.space
    }

    /// The active values.
    pub fn values(&self) -> &Values {
        &self.values
    }

    /// The active values, mutable (to fix values before a build, as `hp.values[...] = v`).
    pub fn values_mut(&mut self) -> &mut Values {
        &mut self.values
    }

    pub(crate) fn merge_space_raw(&mut self, hps: &[HyperParameter]) {
        self.space.extend(hps.iter().cloned());
    }

    /// Replaces the values.
    pub fn set_values(&mut self, values: Values) {
        self.values = values;
    }

    fn qualified(&self, name: &str) -> String {
        if self.name_scopes.is_empty() {
            name.to_string()
        } else {
            format!("{}/{name}", self.name_scopes.join("/"))
        }
    }

    fn conditions_active(&self, conditions: &[Condition]) -> bool {
        conditions.iter().all(|c| c.is_active(&self.values))
    }

    /// Whether `hp` is active: all its parent conditions hold.
    pub fn is_active_hp(&self, hp: &HyperParameter) -> bool {
        self.conditions_active(hp.conditions())
    }

    /// Whether any hyperparameter named `name` is active.
    pub fn is_active(&self, name: &str) -> bool {
        self.space.iter().any(|h| h.name() == name && self.is_active_hp(h))
    }

    pub(crate) fn exists(&self, name: &str, conditions: &[Condition]) -> bool {
        self.space.iter().any(|h| h.name() == name && h.conditions() == conditions)
    }

    fn exists_named(&self, name: &str) -> bool {
        self.space.iter().any(|h| h.name() == name)
    }

    /// Gets or registers `hp` (keras-tuner `_retrieve`): its value, or `None` when inactive.
    pub fn retrieve(&mut self, hp: HyperParameter) -> Result<Option<HpValue>> {
        if self.exists(hp.name(), hp.conditions()) {
            if self.is_active_hp(&hp) {
                let v = self.values.get(hp.name()).cloned().unwrap_or_else(|| hp.default_value());
                return Ok(Some(v));
            }
            return Ok(None);
        }
        self.register(hp, false)
    }

    fn register(&mut self, hp: HyperParameter, overwrite: bool) -> Result<Option<HpValue>> {
        for c in &self.conditions {
            if c.name == hp.name() {
                bail!(
                    Value,
                    "A conditional `HyperParameter` cannot have the same name as its parent. Found: {} and parent_name: {}",
                    hp.name(),
                    c.name
                );
            }
        }
        let active = self.is_active_hp(&hp);
        let (name, default) = (hp.name().to_string(), hp.default_value());
        self.space.push(hp);
        if active {
            if overwrite || !self.values.contains(&name) {
                self.values.insert(name.clone(), default);
            }
            return Ok(self.values.get(&name).cloned());
        }
        Ok(None)
    }

    /// The current value of `name` (keras-tuner `hp.get`): an error when it does not exist
    /// or is inactive.
    pub fn get(&self, name: &str) -> Result<&HpValue> {
        let name = self.qualified(name);
        if let Some(v) = self.values.get(&name) {
            return Ok(v);
        }
        if self.exists_named(&name) {
            bail!(Value, "{name} is currently inactive.");
        }
        bail!(Key, "{name} does not exist.")
    }

    /// True when `name` has an active value (Python `name in hp`).
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_ok()
    }

    /// An integer hyperparameter in `[min_value, max_value]` (both included).
    pub fn int(&mut self, name: &str, min_value: i64, max_value: i64) -> IntBuilder<'_> {
        IntBuilder::start(self, name, min_value, max_value)
    }

    /// A float hyperparameter in `[min_value, max_value]`.
    pub fn float(&mut self, name: &str, min_value: f64, max_value: f64) -> FloatBuilder<'_> {
        FloatBuilder::start(self, name, min_value, max_value)
    }

    /// One of `values` (all of one type: the Rust type makes that so; use
    /// [`HyperParameters::choice_values`] for values built at run time).
    pub fn choice<T: Into<HpValue>>(
        &mut self,
        name: &str,
        values: impl IntoIterator<Item = T>,
    ) -> ChoiceBuilder<'_> {
        ChoiceBuilder {
            hp: self,
            name: name.to_string(),
            values: values.into_iter().map(Into::into).collect(),
            ordered: None,
            default: None,
            parent: None,
        }
    }

    /// One of `values` given as [`HpValue`]s; values of mixed types are an error (a `TypeError`
    /// in keras-tuner) when the value is asked for.
    pub fn choice_values(&mut self, name: &str, values: Vec<HpValue>) -> ChoiceBuilder<'_> {
        self.choice(name, values)
    }

    /// True or false (default false).
    pub fn boolean(&mut self, name: &str) -> BooleanBuilder<'_> {
        BooleanBuilder { hp: self, name: name.to_string(), default: false, parent: None }
    }

    /// A fixed, untuned value (an error when registered inactive inside a conditional scope;
    /// see [`HyperParameters::fixed_opt`]).
    pub fn fixed(&mut self, name: &str, value: impl Into<HpValue>) -> Result<HpValue> {
        self.fixed_opt(name, value)?.ok_or_else(|| inactive(name))
    }

    /// A fixed value; `None` when inactive.
    pub fn fixed_opt(&mut self, name: &str, value: impl Into<HpValue>) -> Result<Option<HpValue>> {
        let name = self.qualified(name);
        let hp =
            HyperParameter::Fixed(Fixed { name, value: value.into(), conditions: self.conditions.clone() });
        self.retrieve(hp)
    }

    /// Runs `f` with the hyperparameters created inside it active only when `parent_name`
    /// has one of `parent_values` (keras-tuner `conditional_scope`). The code runs either
    /// way; inactive hyperparameters are registered but have no value.
    pub fn conditional_scope<R, T: Into<HpValue>>(
        &mut self,
        parent_name: &str,
        parent_values: impl IntoIterator<Item = T>,
        f: impl FnOnce(&mut HyperParameters) -> Result<R>,
    ) -> Result<R> {
        let parent_name = self.qualified(parent_name);
        if !self.exists_named(&parent_name) {
            bail!(Value, "`HyperParameter` named: {parent_name} not defined.");
        }
        let condition = Condition::parent(parent_name, parent_values.into_iter().map(Into::into).collect())?;
        let active = condition.is_active(&self.values);
        self.conditions.push(condition);
        if active {
            self.active_scopes.push(self.conditions.clone());
        } else {
            self.inactive_scopes.push(self.conditions.clone());
        }
        let out = f(self);
        self.conditions.pop();
        out
    }

    /// Runs `f` with names prefixed by `name/` (keras-tuner `name_scope`).
    pub fn name_scope<R>(
        &mut self,
        name: &str,
        f: impl FnOnce(&mut HyperParameters) -> Result<R>,
    ) -> Result<R> {
        self.name_scopes.push(name.to_string());
        let out = f(self);
        self.name_scopes.pop();
        out
    }

    fn with_parent<R>(
        &mut self,
        parent: Option<(String, Vec<HpValue>)>,
        f: impl FnOnce(&mut HyperParameters) -> Result<R>,
    ) -> Result<R> {
        match parent {
            Some((name, values)) => self.conditional_scope(&name, values, f),
            None => f(self),
        }
    }

    /// `get_config()`: `{"space": [...], "values": {...}}`.
    pub fn get_config(&self) -> Json {
        Json::obj([
            ("space", Json::Array(self.space.iter().map(HyperParameter::to_json).collect())),
            ("values", self.values.to_json()),
        ])
    }

    /// Reads [`HyperParameters::get_config`] (as keras-tuner writes it in `trial.json`).
    pub fn from_config(cfg: &Json) -> Result<HyperParameters> {
        let mut hps = HyperParameters::new();
        if let Some(space) = cfg.get("space") {
            let space = space
                .as_array()
                .ok_or_else(|| Error::Value("hyperparameters: 'space' must be a list".into()))?;
            for p in space {
                hps.space.push(HyperParameter::from_json(p)?);
            }
        }
        if let Some(values) = cfg.get("values") {
            hps.values = Values::from_json(values)?;
        }
        Ok(hps)
    }

    /// Adds the hyperparameters of `hps` (keras-tuner `merge`); existing ones (same name and
    /// conditions) are replaced only with `overwrite`.
    pub fn merge(&mut self, hps: &[HyperParameter], overwrite: bool) -> Result<()> {
        for hp in hps {
            if !overwrite && self.exists(hp.name(), hp.conditions()) {
                continue;
            }
            self.register(hp.clone(), overwrite)?;
        }
        Ok(())
    }

    /// Adds missing active values (drawn from `seed`, one draw per value) and removes
    /// inactive ones (keras-tuner `ensure_active_values`, which draws unseeded).
    pub fn ensure_active_values(&mut self, seed: i64) {
        let space = self.space.clone();
        for (i, hp) in space.iter().enumerate() {
            if self.is_active_hp(hp) {
                if !self.values.contains(hp.name()) {
                    self.values.insert(hp.name(), hp.random_sample(seed.wrapping_add(i as i64)));
                }
            } else {
                self.values.remove(hp.name());
            }
        }
    }
}

fn parent_of<T: Into<HpValue>>(
    name: &str,
    values: impl IntoIterator<Item = T>,
) -> Option<(String, Vec<HpValue>)> {
    Some((name.to_string(), values.into_iter().map(Into::into).collect()))
}

fn inactive(name: &str) -> Error {
    Error::Value(format!(
        "{name} is currently inactive (its parent condition does not hold); use `value_opt()` inside conditional scopes."
    ))
}

/// The methods every builder shares: `parent`, and `value` from the builder's `value_opt`.
macro_rules! builder_common {
    ($Builder:ident, $T:ty) => {
        impl $Builder<'_> {
            /// Active only when `parent_name` has one of `parent_values`.
            pub fn parent<T: Into<HpValue>>(
                mut self,
                parent_name: &str,
                parent_values: impl IntoIterator<Item = T>,
            ) -> Self {
                self.parent = parent_of(parent_name, parent_values);
                self
            }
            /// Registers the hyperparameter and returns its value (an error when inactive).
            pub fn value(self) -> Result<$T> {
                let name = self.name.clone();
                self.value_opt()?.ok_or_else(|| inactive(&name))
            }
        }
    };
}

/// The registered value as a `T` (`get`), `None` when inactive; a value of another type is a
/// `TypeError` naming `what` the value should be.
fn typed<T>(
    value: Option<HpValue>,
    name: &str,
    get: impl Fn(&HpValue) -> Option<T>,
    what: &str,
) -> Result<Option<T>> {
    match value {
        None => Ok(None),
        Some(v) => get(&v).map(Some).ok_or_else(|| Error::Type(format!("{name} has value {v}, not {what}"))),
    }
}

/// The builder of a numeric range hyperparameter (`Int`, `Float`): its options (`step`,
/// `sampling`, `default`), then `value_opt` building the `$Def` and reading back a `$T`.
macro_rules! range_builder {
    ($(#[$doc:meta])* $Builder:ident, $T:ty, $Def:ident, $class:literal, $get:ident, $what:literal) => {
        $(#[$doc])*
        pub struct $Builder<'a> {
            hp: &'a mut HyperParameters,
            name: String,
            min_value: $T,
            max_value: $T,
            step: Option<$T>,
            sampling: Result<Sampling>,
            default: Option<$T>,
            parent: Option<(String, Vec<HpValue>)>,
        }

        impl<'a> $Builder<'a> {
            fn start(hp: &'a mut HyperParameters, name: &str, min_value: $T, max_value: $T) -> Self {
                $Builder {
                    hp,
                    name: name.to_string(),
                    min_value,
                    max_value,
                    step: None,
                    sampling: Ok(Sampling::Linear),
                    default: None,
                    parent: None,
                }
            }
            /// Distance (linear sampling) or ratio (log sampling) between values.
            pub fn step(mut self, step: $T) -> Self {
                self.step = Some(step);
                self
            }
            /// `"linear"` (default), `"log"` or `"reverse_log"`.
            pub fn sampling(mut self, sampling: &str) -> Self {
                self.sampling = Sampling::parse(sampling, $class, &self.name);
                self
            }
            /// The default (otherwise `min_value`).
            pub fn default(mut self, v: $T) -> Self {
                self.default = Some(v);
                self
            }
            /// Registers the hyperparameter; its value, or `None` when inactive.
            pub fn value_opt(self) -> Result<Option<$T>> {
                let $Builder { hp, name, min_value, max_value, step, sampling, default, parent } = self;
                let sampling = sampling?;
                hp.with_parent(parent, |hp| {
                    let name = hp.qualified(&name);
                    let def = $Def::new(
                        name.clone(),
                        min_value,
                        max_value,
                        step,
                        sampling,
                        default,
                        hp.conditions.clone(),
                    )?;
                    typed(hp.retrieve(HyperParameter::$Def(def))?, &name, HpValue::$get, $what)
                })
            }
        }

        builder_common!($Builder, $T);
    };
}

range_builder! {
    /// Options of [`HyperParameters::int`]; finish with `value()` or `value_opt()`.
    IntBuilder, i64, Int, "Int", as_i64, "an int"
}

range_builder! {
    /// Options of [`HyperParameters::float`]; finish with `value()` or `value_opt()`.
    FloatBuilder, f64, Float, "Float", as_f64, "a float"
}

/// Options of [`HyperParameters::choice`]; finish with `value()` or `value_opt()`.
pub struct ChoiceBuilder<'a> {
    hp: &'a mut HyperParameters,
    name: String,
    values: Vec<HpValue>,
    ordered: Option<bool>,
    default: Option<HpValue>,
    parent: Option<(String, Vec<HpValue>)>,
}

impl ChoiceBuilder<'_> {
    /// Whether the values are ordered (numbers only; the default for numbers).
    pub fn ordered(mut self, yes: bool) -> Self {
        self.ordered = Some(yes);
        self
    }
    /// The default (otherwise the first value).
    pub fn default(mut self, v: impl Into<HpValue>) -> Self {
        self.default = Some(v.into());
        self
    }
    /// Registers the hyperparameter; its value, or `None` when inactive.
    pub fn value_opt(self) -> Result<Option<HpValue>> {
        let ChoiceBuilder { hp, name, values, ordered, default, parent } = self;
        hp.with_parent(parent, |hp| {
            let def = Choice::new(hp.qualified(&name), values, ordered, default, hp.conditions.clone())?;
            hp.retrieve(HyperParameter::Choice(def))
        })
    }
}

builder_common!(ChoiceBuilder, HpValue);

/// Options of [`HyperParameters::boolean`]; finish with `value()` or `value_opt()`.
pub struct BooleanBuilder<'a> {
    hp: &'a mut HyperParameters,
    name: String,
    default: bool,
    parent: Option<(String, Vec<HpValue>)>,
}

impl BooleanBuilder<'_> {
    /// The default (otherwise false).
    pub fn default(mut self, v: bool) -> Self {
        self.default = v;
        self
    }
    /// Registers the hyperparameter; its value, or `None` when inactive.
    pub fn value_opt(self) -> Result<Option<bool>> {
        let BooleanBuilder { hp, name, default, parent } = self;
        hp.with_parent(parent, |hp| {
            let name = hp.qualified(&name);
            let def = Boolean { name: name.clone(), default, conditions: hp.conditions.clone() };
            typed(hp.retrieve(HyperParameter::Boolean(def))?, &name, HpValue::as_bool, "a bool")
        })
    }
}

builder_common!(BooleanBuilder, bool);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_matches_keras_tuner() {
        // HyperParameters.get_config() printed by keras-tuner 1.4.8 for the same calls.
        let mut hp = HyperParameters::new();
        hp.int("units", 32, 512).step(32).value().unwrap();
        hp.float("lr", 1e-4, 1e-2).sampling("log").value().unwrap();
        hp.choice("act", ["relu", "tanh"]).value().unwrap();
        hp.boolean("flag").value().unwrap();
        hp.fixed("fx", 3).unwrap();
        hp.conditional_scope("act", ["relu"], |hp| hp.int("n", 1, 3).value()).unwrap();
        let want = r#"{"space": [{"class_name": "Int", "config": {"name": "units", "default": null, "conditions": [], "min_value": 32, "max_value": 512, "step": 32, "sampling": "linear"}}, {"class_name": "Float", "config": {"name": "lr", "default": 0.0001, "conditions": [], "min_value": 0.0001, "max_value": 0.01, "step": null, "sampling": "log"}}, {"class_name": "Choice", "config": {"name": "act", "default": "relu", "conditions": [], "values": ["relu", "tanh"], "ordered": false}}, {"class_name": "Boolean", "config": {"name": "flag", "default": false, "conditions": []}}, {"class_name": "Fixed", "config": {"name": "fx", "conditions": [], "value": 3}}, {"class_name": "Int", "config": {"name": "n", "default": null, "conditions": [{"class_name": "Parent", "config": {"name": "act", "values": ["relu"]}}], "min_value": 1, "max_value": 3, "step": 1, "sampling": "linear"}}], "values": {"units": 32, "lr": 0.0001, "act": "relu", "flag": false, "fx": 3, "n": 1}}"#;
        assert_eq!(hp.get_config().dumps(), want);
        let back = HyperParameters::from_config(&Json::parse(want).unwrap()).unwrap();
        assert_eq!(back.get_config().dumps(), want);
    }

    #[test]
    fn a_value_of_another_type_is_a_type_error() {
        let mut hp = HyperParameters::new();
        hp.choice("x", ["a", "b"]).value().unwrap();
        let msg = |e: Error| match e {
            Error::Type(m) => m,
            other => panic!("not a TypeError: {other:?}"),
        };
        assert!(msg(hp.int("x", 1, 3).value().unwrap_err()).ends_with("not an int"));
        assert!(msg(hp.float("x", 0.0, 1.0).value().unwrap_err()).ends_with("not a float"));
        assert!(msg(hp.boolean("x").value().unwrap_err()).ends_with("not a bool"));
    }

    #[test]
    fn inactive_values_are_hidden() {
        let mut hp = HyperParameters::new();
        hp.choice("model", ["mlp", "cnn"]).value().unwrap();
        let v = hp.conditional_scope("model", ["cnn"], |hp| hp.int("filters", 8, 64).value_opt()).unwrap();
        assert_eq!(v, None);
        assert!(matches!(hp.get("filters"), Err(Error::Value(_))));
        assert!(matches!(hp.get("nope"), Err(Error::Key(_))));
        assert!(hp.conditional_scope("missing", ["x"], |_| Ok(())).is_err());
    }
}
