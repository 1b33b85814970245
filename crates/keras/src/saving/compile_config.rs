//! The compile configuration in both of Keras's forms: `compile_config` inside a `.keras`
//! file's `config.json`, and the legacy `training_config` attribute of an `.h5` file
//! (same keys, with the optimizer as `optimizer_config` without `module`).

use serde_json::{json, Map, Value};

use super::warn;
use crate::metrics;
use crate::models::{Functional, Sequential};
use crate::optimizers;
use crate::trainers::{CompileArgs, Compiled, LossArg, LossWeights, Losses, MetricArg, Metrics};
use crate::{keras_bail, losses, Error, Result};

/// Keras `model.get_compile_config()`.
pub(crate) fn compile_config(c: &Compiled) -> Value {
    json!({
        "optimizer": c.optimizer.serialize(),
        "loss": c.loss_config(),
        "loss_weights": c.loss_weights_config(),
        "metrics": c.metrics_config_value(),
        "weighted_metrics": c.weighted_metrics_config(),
        "run_eagerly": false,
        "steps_per_execution": 1,
        "jit_compile": false,
    })
}

/// The legacy `training_config` (Keras `saving_utils.model_metadata`).
pub(crate) fn training_config(c: &Compiled) -> Value {
    json!({
        "loss": c.loss_config(),
        "loss_weights": c.loss_weights_config(),
        // An empty list makes Keras's legacy loader fail to compile (`metrics=[]` is refused
        // for the model's outputs): no metrics are written as `null`, as Keras writes them.
        "metrics": empty_as_null(c.metrics_config_value()),
        "weighted_metrics": empty_as_null(c.weighted_metrics_config()),
        "run_eagerly": false,
        "steps_per_execution": 1,
        "jit_compile": false,
        "optimizer_config": {
            "class_name": c.optimizer.class_name(),
            "config": c.optimizer.get_config(),
        },
    })
}

fn empty_as_null(v: &Value) -> Value {
    match v {
        Value::Array(a) if a.is_empty() => Value::Null,
        other => other.clone(),
    }
}

/// Keys tf.keras 2.x optimizers wrote that Keras 3 no longer has.
const LEGACY_OPTIMIZER_KEYS: &[&str] = &["decay", "jit_compile", "is_legacy_optimizer"];

fn optimizer_from(v: &Value) -> Result<Box<dyn optimizers::Optimizer>> {
    let mut v = v.clone();
    // tf.keras 2.11+ registers its optimizers as `Custom>Adam`.
    let class = v.get("class_name").and_then(Value::as_str).unwrap_or("");
    let class = class.strip_prefix("Custom>").unwrap_or(class).to_string();
    if let Some(o) = v.as_object_mut() {
        o.insert("class_name".into(), Value::String(class.clone()));
    }
    if let Some(cfg) = v.get_mut("config").and_then(Value::as_object_mut) {
        for k in LEGACY_OPTIMIZER_KEYS {
            if let Some(x) = cfg.remove(*k) {
                if *k == "decay" && x.as_f64().is_some_and(|d| d != 0.0) {
                    warn("Argument `decay` is no longer supported and will be ignored.");
                }
            }
        }
        // tf.keras names optimizers by class ("Adam"); Keras 3 by snake case.
        if let Some(Value::String(n)) = cfg.get("name") {
            let lower = n.to_ascii_lowercase();
            if class.eq_ignore_ascii_case(n) {
                cfg.insert("name".into(), Value::String(lower));
            }
        }
    }
    optimizers::deserialize(&v)
}

fn metric_from(v: &Value) -> Result<MetricArg> {
    match v {
        Value::String(s) => Ok(MetricArg::Name(s.clone())),
        Value::Object(o) => {
            let class = o.get("class_name").and_then(Value::as_str).unwrap_or("");
            if class == "function" {
                if let Some(s) = o.get("config").and_then(Value::as_str) {
                    return Ok(MetricArg::Name(s.to_string()));
                }
            }
            // Every hyper-parameter of the config (tf.keras 2.x's `MeanMetricWrapper` with the
            // function name in `fn` included).
            let m = metrics::deserialize(v)
                .map_err(|e| Error::Config(format!("Could not interpret metric identifier: {v} ({e})")))?;
            Ok(MetricArg::Object(m))
        }
        other => keras_bail!(
            Config,
            "Could not interpret metric identifier: {other} (keras-rs supports one output: a list of names or metric objects)"
        ),
    }
}

/// Compiles `model` from a `compile_config` or a legacy `training_config` (Keras
/// `compile_from_config`), then builds the optimizer for the model's trainable weights so
/// saved optimizer variables can be restored.
///
/// As Keras's `saving_lib`, an empty config (`{}`, what Keras 3 writes for a model saved
/// without `compile()`) or `null` leaves the model uncompiled. A config without a loss (a
/// model compiled with `loss=None`) also loads uncompiled, with a warning: keras-rs trains
/// only with a loss.
pub(crate) fn compile_from_config<M: Compilable>(model: &mut M, cfg: &Value) -> Result<()> {
    if cfg.is_null() || cfg.as_object().is_some_and(|m| m.is_empty()) {
        return Ok(());
    }
    let Some(m) = cfg.as_object() else {
        keras_bail!(Config, "The compile config must be a JSON object, received {cfg}");
    };
    if m.get("loss").is_none_or(Value::is_null) {
        warn(
            "The saved compile config has no loss (the model was compiled with `loss=None`); \
             keras-rs compiles only with a loss, so the model is loaded uncompiled and its \
             optimizer state is not restored. Compile it manually.",
        );
        return Ok(());
    }
    let opt_cfg = m.get("optimizer").or_else(|| m.get("optimizer_config")).unwrap_or(&Value::Null);
    let optimizer = if opt_cfg.is_null() { optimizers::get("rmsprop")? } else { optimizer_from(opt_cfg)? };
    let loss_cfg = m.get("loss").unwrap_or(&Value::Null);
    let loss = match loss_cfg {
        Value::Object(o) if o.len() == 1 && !o.contains_key("class_name") => {
            keras_bail!(Config, "Losses per output ({loss_cfg}) are not supported: Sequential has one output")
        }
        Value::Array(_) => {
            keras_bail!(Config, "Lists of losses ({loss_cfg}) are not supported: Sequential has one output")
        }
        other => losses::deserialize(other)?,
    };
    let metrics = match m.get("metrics") {
        None | Some(Value::Null) => Vec::new(),
        // tf.keras 2.x nests one list per output: `[[...]]` for a single output.
        Some(Value::Array(list)) if list.len() == 1 && list[0].is_array() => {
            list[0].as_array().into_iter().flatten().map(metric_from).collect::<Result<Vec<_>>>()?
        }
        Some(Value::Array(list)) => list.iter().map(metric_from).collect::<Result<Vec<_>>>()?,
        Some(other) => vec![metric_from(other)?],
    };
    for k in ["loss_weights", "weighted_metrics"] {
        if m.get(k).is_some_and(|v| !v.is_null()) {
            warn(format!("`{k}` in the saved compile config is not supported by keras-rs and is ignored."));
        }
    }
    model.compile_parts(optimizer, loss, metrics)?;
    if let Value::String(s) = loss_cfg {
        if let Some(c) = model.compile_state_mut() {
            c.set_loss_identifier(s.clone());
        }
    }
    if model.is_built() {
        model.build_optimizer()?;
    }
    Ok(())
}

/// Compiles a Functional model from its saved config, with a loss, loss weight and metrics
/// per output when the config has them (Keras 3 lists or dicts by output name, tf.keras 2.x
/// lists per output); a config with one loss for a one-output model goes through
/// [`compile_from_config`], so the loss keeps its saved identifier.
pub(crate) fn compile_functional_from_config(model: &mut Functional, cfg: &Value) -> Result<()> {
    let Some(m) = cfg.as_object().filter(|m| !m.is_empty()) else {
        return compile_from_config(model, cfg);
    };
    let loss_cfg = m.get("loss").unwrap_or(&Value::Null);
    let per_output =
        loss_cfg.is_array() || loss_cfg.as_object().is_some_and(|o| !o.contains_key("class_name"));
    let plain_metrics = |k: &str| match m.get(k) {
        None | Some(Value::Null) => true,
        Some(Value::Array(v)) => v.iter().all(|x| !x.is_array()),
        _ => false,
    };
    let plain_weights = m.get("loss_weights").is_none_or(Value::is_null);
    if model.output_names().len() == 1
        && !per_output
        && plain_metrics("metrics")
        && plain_weights
        && plain_metrics("weighted_metrics")
    {
        return compile_from_config(model, cfg);
    }
    if loss_cfg.is_null() {
        return compile_from_config(model, cfg);
    }
    let opt_cfg = m.get("optimizer").or_else(|| m.get("optimizer_config")).unwrap_or(&Value::Null);
    let optimizer = if opt_cfg.is_null() { optimizers::get("rmsprop")? } else { optimizer_from(opt_cfg)? };
    let loss_arg = |v: &Value| -> Result<Option<LossArg>> {
        Ok(match v {
            Value::Null => None,
            Value::String(s) => Some(LossArg::Name(s.clone())),
            other => Some(LossArg::Object(losses::deserialize(other)?)),
        })
    };
    let loss = match loss_cfg {
        Value::Array(v) => Losses::List(v.iter().map(loss_arg).collect::<Result<_>>()?),
        Value::Object(o) if !o.contains_key("class_name") => {
            Losses::Map(o.iter().map(|(k, v)| Ok((k.clone(), loss_arg(v)?))).collect::<Result<_>>()?)
        }
        other => Losses::All(loss_arg(other)?.expect("not null")),
    };
    let mut args = CompileArgs::new(optimizer).loss(loss);
    match m.get("loss_weights") {
        None | Some(Value::Null) => {}
        Some(v) => args = args.loss_weights(loss_weights_from(v)?),
    }
    if let Some(metrics) = metrics_from(m.get("metrics"))? {
        args = args.metrics(metrics);
    }
    if let Some(metrics) = metrics_from(m.get("weighted_metrics"))? {
        args = args.weighted_metrics(metrics);
    }
    model.compile_args(args)?;
    model.build_optimizer()
}

fn loss_weights_from(v: &Value) -> Result<LossWeights> {
    let num = |x: &Value| {
        x.as_f64().map(|f| f as f32).ok_or_else(|| Error::Config(format!("Invalid loss weight: {x}")))
    };
    Ok(match v {
        Value::Array(list) => LossWeights::List(list.iter().map(num).collect::<Result<_>>()?),
        Value::Object(o) => {
            LossWeights::Map(o.iter().map(|(k, x)| Ok((k.clone(), num(x)?))).collect::<Result<_>>()?)
        }
        other => LossWeights::One(num(other)?),
    })
}

/// `metrics` / `weighted_metrics` of a compile config: a flat list, a list per output (an
/// entry may be one metric or a list) or a dict by output name.
fn metrics_from(v: Option<&Value>) -> Result<Option<Metrics>> {
    let group = |x: &Value| -> Result<Vec<MetricArg>> {
        match x {
            Value::Null => Ok(Vec::new()),
            Value::Array(l) => l.iter().map(metric_from).collect(),
            other => Ok(vec![metric_from(other)?]),
        }
    };
    Ok(match v {
        None | Some(Value::Null) => None,
        Some(Value::Array(list)) if list.is_empty() => None,
        Some(Value::Array(list)) if list.iter().any(Value::is_array) => {
            Some(Metrics::PerOutput(list.iter().map(group).collect::<Result<_>>()?))
        }
        Some(Value::Array(list)) => Some(Metrics::Flat(list.iter().map(metric_from).collect::<Result<_>>()?)),
        Some(Value::Object(o)) if !o.contains_key("class_name") => {
            Some(Metrics::Map(o.iter().map(|(k, x)| Ok((k.clone(), group(x)?))).collect::<Result<_>>()?))
        }
        Some(other) => Some(Metrics::Flat(vec![metric_from(other)?])),
    })
}

/// What [`compile_from_config`] needs from a model (Sequential and Functional).
pub(crate) trait Compilable {
    fn compile_parts(
        &mut self,
        optimizer: Box<dyn crate::optimizers::Optimizer>,
        loss: Box<dyn crate::losses::Loss>,
        metrics: Vec<crate::trainers::MetricArg>,
    ) -> Result<()>;
    fn compile_state_mut(&mut self) -> Option<&mut crate::trainers::Compiled>;
    fn is_built(&self) -> bool;
    fn build_optimizer(&mut self) -> Result<()>;
}

/// `Compilable` for a model type by its own methods; `|m| built` says whether it is built.
macro_rules! compilable {
    ($model:ty, |$m:ident| $built:expr) => {
        impl Compilable for $model {
            fn compile_parts(
                &mut self,
                optimizer: Box<dyn crate::optimizers::Optimizer>,
                loss: Box<dyn crate::losses::Loss>,
                metrics: Vec<crate::trainers::MetricArg>,
            ) -> Result<()> {
                self.compile_with(optimizer, loss, metrics)
            }
            fn compile_state_mut(&mut self) -> Option<&mut crate::trainers::Compiled> {
                <$model>::compile_state_mut(self)
            }
            fn is_built(&self) -> bool {
                let $m = self;
                $built
            }
            fn build_optimizer(&mut self) -> Result<()> {
                <$model>::build_optimizer(self)
            }
        }
    };
}

compilable!(Sequential, |m| m.built());
// A Functional model is built by its graph.
compilable!(crate::models::Functional, |_m| true);

/// Reads a JSON object that must be one (`what` names it in errors).
pub(crate) fn parse_json_object(text: &str, what: &str) -> Result<Map<String, Value>> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(other) => Err(Error::Config(format!("{what} must be a JSON object, found {}", type_name(&other)))),
        Err(e) => Err(Error::Config(format!("{what} is not valid JSON: {e}"))),
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
