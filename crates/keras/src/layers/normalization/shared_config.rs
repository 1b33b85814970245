//! The config keys BatchNormalization, LayerNormalization and GroupNormalization share
//! (`epsilon`, `center`, `scale`, the `beta` / `gamma` initializers, regularizers and
//! constraints), each read and written once here. Each layer calls these in its own Keras
//! key order, around its own keys (`axis`, `momentum`, `groups`, ...).

use serde_json::{json, Map, Value};

use crate::initializers::Initializer;
use crate::layers::reshaping::args::{bool_arg, f64_arg};
use crate::layers::weight_args::WeightArgs;
use crate::Result;

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

/// Reads `epsilon`, `center` and `scale` (Keras's defaults 1e-3, true, true), in this order.
pub(crate) fn read_epsilon_center_scale(cfg: &Value, class: &str) -> Result<(f64, bool, bool)> {
    Ok((
        f64_arg(cfg, "epsilon", 1e-3, class)?,
        bool_arg(cfg, "center", true, class)?,
        bool_arg(cfg, "scale", true, class)?,
    ))
}

/// `beta`'s and `gamma`'s initializer, regularizer and constraint from a config (Keras's
/// defaults: zeros and ones, no penalty, no constraint).
pub(crate) fn read_beta_gamma(cfg: &Value) -> Result<(WeightArgs, WeightArgs)> {
    Ok((
        WeightArgs::from_config(cfg, "beta", Initializer::Zeros)?,
        WeightArgs::from_config(cfg, "gamma", Initializer::Ones)?,
    ))
}

/// `beta` and `gamma` as [`crate::layers::weight_args::write_weight_args`] and its halves take
/// them, in Keras's order.
pub(crate) fn beta_gamma<'a>(
    beta: &'a WeightArgs,
    gamma: &'a WeightArgs,
) -> [(&'static str, &'a WeightArgs); 2] {
    [("beta", beta), ("gamma", gamma)]
}
