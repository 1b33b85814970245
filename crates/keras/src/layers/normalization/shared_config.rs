//! The config keys BatchNormalization, LayerNormalization and GroupNormalization share
//! (`epsilon`, `center`, `scale`, the `beta` / `gamma` initializers, regularizers and
//! constraints), each read and written once here. Each layer calls these in its own Keras
//! key order, around its own keys (`axis`, `momentum`, `groups`, ...).

use serde_json::{json, Map, Value};

use crate::constraints::Constraint;
use crate::initializers::Initializer;
use crate::layers::layer::Variable;
use crate::layers::reshaping::args::{bool_arg, f64_arg};
use crate::regularizers::Regularizer;
use crate::Result;

/// The regularizers and constraints of `beta` and `gamma` (Keras's `beta_regularizer`,
/// `gamma_regularizer`, `beta_constraint`, `gamma_constraint`; `None` for Keras's `None`),
/// read, written and attached to the weights once for the three layers.
#[derive(Clone, Debug, Default)]
pub(crate) struct WeightExtras {
    pub(crate) beta_regularizer: Option<Regularizer>,
    pub(crate) gamma_regularizer: Option<Regularizer>,
    pub(crate) beta_constraint: Option<Constraint>,
    pub(crate) gamma_constraint: Option<Constraint>,
}

impl WeightExtras {
    /// Reads the four keys of a config (absent or `null`: none).
    pub(crate) fn read(cfg: &Value) -> Result<Self> {
        let get = |k: &str| cfg.get(k).unwrap_or(&Value::Null);
        Ok(WeightExtras {
            beta_regularizer: Regularizer::from_config(get("beta_regularizer"))?,
            gamma_regularizer: Regularizer::from_config(get("gamma_regularizer"))?,
            beta_constraint: Constraint::from_config(get("beta_constraint"))?,
            gamma_constraint: Constraint::from_config(get("gamma_constraint"))?,
        })
    }

    /// Writes the four keys in Keras's order, `null` for none.
    pub(crate) fn write(&self, m: &mut Map<String, Value>) {
        let reg = |r: &Option<Regularizer>| r.as_ref().map_or(Value::Null, Regularizer::to_config);
        let con = |c: &Option<Constraint>| c.as_ref().map_or(Value::Null, Constraint::to_config);
        m.insert("beta_regularizer".into(), reg(&self.beta_regularizer));
        m.insert("gamma_regularizer".into(), reg(&self.gamma_regularizer));
        m.insert("beta_constraint".into(), con(&self.beta_constraint));
        m.insert("gamma_constraint".into(), con(&self.gamma_constraint));
    }

    /// `beta` with its regularizer and constraint.
    pub(crate) fn beta(&self, v: Variable) -> Variable {
        v.with_regularizer(self.beta_regularizer.clone()).with_constraint(self.beta_constraint.clone())
    }

    /// `gamma` with its regularizer and constraint.
    pub(crate) fn gamma(&self, v: Variable) -> Variable {
        v.with_regularizer(self.gamma_regularizer.clone()).with_constraint(self.gamma_constraint.clone())
    }
}

/// Writes `epsilon`, `center` and `scale`, in this order (the same in all three layers).
pub(crate) fn write_epsilon_center_scale(
    m: &mut Map<String, Value>,
    epsilon: f64,
    center: bool,
    scale: bool,
) {
    m.insert("epsilon".into(), json!(epsilon));
    m.insert("center".into(), json!(center));
    m.insert("scale".into(), json!(scale));
}

/// Writes `beta_initializer`, then `gamma_initializer`.
pub(crate) fn write_initializers(m: &mut Map<String, Value>, beta: &Initializer, gamma: &Initializer) {
    m.insert("beta_initializer".into(), beta.to_config());
    m.insert("gamma_initializer".into(), gamma.to_config());
}

/// Reads `epsilon`, `center` and `scale` (Keras's defaults 1e-3, true, true), in this order.
pub(crate) fn read_epsilon_center_scale(cfg: &Value, class: &str) -> Result<(f64, bool, bool)> {
    Ok((
        f64_arg(cfg, "epsilon", 1e-3, class)?,
        bool_arg(cfg, "center", true, class)?,
        bool_arg(cfg, "scale", true, class)?,
    ))
}

/// Reads the `beta_initializer` and `gamma_initializer` a config gives (a key that is
/// absent leaves its initializer as it is).
pub(crate) fn read_initializers(cfg: &Value, beta: &mut Initializer, gamma: &mut Initializer) -> Result<()> {
    for (key, slot) in [("beta_initializer", beta), ("gamma_initializer", gamma)] {
        if let Some(v) = cfg.get(key) {
            *slot = Initializer::from_config(v)?;
        }
    }
    Ok(())
}
