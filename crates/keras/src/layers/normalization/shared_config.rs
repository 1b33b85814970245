//! The config keys BatchNormalization, LayerNormalization and GroupNormalization share
//! (`epsilon`, `center`, `scale`, the `beta` / `gamma` initializers, regularizers and
//! constraints), each read and written once here. Each layer calls these in its own Keras
//! key order, around its own keys (`axis`, `momentum`, `groups`, ...).

use serde_json::{json, Map, Value};

use crate::initializers::Initializer;
use crate::layers::reshaping::args::{bool_arg, f64_arg};
use crate::Result;

/// The regularizer and constraint keys of `beta` and `gamma`, in Keras's order. keras-rs
/// has none of them, so `get_config()` writes each as `null`.
pub(crate) const WEIGHT_EXTRAS: [&str; 4] =
    ["beta_regularizer", "gamma_regularizer", "beta_constraint", "gamma_constraint"];

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

/// Writes [`WEIGHT_EXTRAS`], each `null`.
pub(crate) fn write_weight_extras(m: &mut Map<String, Value>) {
    for k in WEIGHT_EXTRAS {
        m.insert(k.into(), Value::Null);
    }
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
