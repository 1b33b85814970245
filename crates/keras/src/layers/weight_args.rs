//! `WeightArgs`: the initializer, regularizer and constraint of one weight (Keras's
//! `{prefix}_initializer`, `{prefix}_regularizer`, `{prefix}_constraint`), read and written
//! once for the layers that have them: the convolutions, Dense, EinsumDense and
//! MultiHeadAttention.

use serde_json::{Map, Value};

use crate::constraints::Constraint;
use crate::initializers::Initializer;
use crate::layers::convolutional::common::init_arg;
use crate::layers::layer::Variable;
use crate::regularizers::Regularizer;
use crate::{Result, Tensor};

/// The initializer, regularizer and constraint of one weight.
#[derive(Clone)]
pub(crate) struct WeightArgs {
    pub(crate) initializer: Initializer,
    pub(crate) regularizer: Option<Regularizer>,
    pub(crate) constraint: Option<Constraint>,
}

impl WeightArgs {
    /// `initializer`, no regularizer, no constraint.
    pub(crate) fn new(initializer: Initializer) -> Self {
        WeightArgs { initializer, regularizer: None, constraint: None }
    }

    /// The arguments of one weight from a layer's declared `{prefix}_initializer`,
    /// `{prefix}_regularizer` and `{prefix}_constraint` (see [`crate::layers::layer_args`]).
    pub(crate) fn of(
        initializer: &Initializer,
        regularizer: &Option<Regularizer>,
        constraint: &Option<Constraint>,
    ) -> Self {
        WeightArgs {
            initializer: initializer.clone(),
            regularizer: regularizer.clone(),
            constraint: constraint.clone(),
        }
    }

    /// Reads `{prefix}_initializer` (`default` when absent or `null`, as Keras's
    /// `add_weight` does), `{prefix}_regularizer` and `{prefix}_constraint` (`null` for none).
    pub(crate) fn from_config(cfg: &Value, prefix: &str, default: Initializer) -> Result<Self> {
        let get = |k: &str| cfg.get(format!("{prefix}_{k}")).unwrap_or(&Value::Null);
        Ok(WeightArgs {
            initializer: init_arg(cfg, &format!("{prefix}_initializer"), default)?,
            regularizer: Regularizer::from_config(get("regularizer"))?,
            constraint: Constraint::from_config(get("constraint"))?,
        })
    }

    /// A trainable variable `name` of `layer`, of `shape`, drawn from the initializer.
    pub(crate) fn variable(&self, name: &str, layer: &str, shape: &[usize]) -> Result<Variable> {
        Ok(self.variable_of(name, layer, self.initializer.initialize(shape)?))
    }

    /// A trainable variable `name` of `layer` holding `value`, with the regularizer and
    /// constraint.
    pub(crate) fn variable_of(&self, name: &str, layer: &str, value: Tensor) -> Variable {
        Variable::new(name, layer, value, true)
            .with_regularizer(self.regularizer.clone())
            .with_constraint(self.constraint.clone())
    }
}

/// Writes the arguments of `weights` (`(prefix, args)`) in Keras's `get_config()` order: every
/// initializer, every regularizer, then `activity_regularizer` when given (the layers whose
/// Keras `get_config()` writes it there), then every constraint.
pub(crate) fn write_weight_args<'a>(
    m: &mut Map<String, Value>,
    weights: impl Iterator<Item = (&'a str, &'a WeightArgs)> + Clone,
    activity_regularizer: Option<&Option<Regularizer>>,
) {
    write_initializer_args(m, weights.clone());
    write_penalty_args(m, weights, activity_regularizer);
}

/// The first half of [`write_weight_args`]: every `{prefix}_initializer` (BatchNormalization
/// writes its moving-statistics initializers between the two halves).
pub(crate) fn write_initializer_args<'a>(
    m: &mut Map<String, Value>,
    weights: impl Iterator<Item = (&'a str, &'a WeightArgs)>,
) {
    for (p, w) in weights {
        m.insert(format!("{p}_initializer"), w.initializer.to_config());
    }
}

/// The second half of [`write_weight_args`]: every regularizer, `activity_regularizer` when
/// given, then every constraint.
pub(crate) fn write_penalty_args<'a>(
    m: &mut Map<String, Value>,
    weights: impl Iterator<Item = (&'a str, &'a WeightArgs)> + Clone,
    activity_regularizer: Option<&Option<Regularizer>>,
) {
    let reg = |r: &Option<Regularizer>| r.as_ref().map_or(Value::Null, Regularizer::to_config);
    for (p, w) in weights.clone() {
        m.insert(format!("{p}_regularizer"), reg(&w.regularizer));
    }
    if let Some(r) = activity_regularizer {
        // When set, the base config already placed it after `dtype` (Keras merges the dicts).
        m.insert("activity_regularizer".into(), reg(r));
    }
    for (p, w) in weights {
        m.insert(format!("{p}_constraint"), w.constraint.as_ref().map_or(Value::Null, Constraint::to_config));
    }
}
