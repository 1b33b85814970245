//! `keras.optimizers.LossScaleOptimizer`: dynamic loss scaling around another optimizer.
//!
//! Follows `keras/src/optimizers/loss_scale_optimizer.py` (Keras 3.15): the train step
//! multiplies the loss by `dynamic_scale` before differentiating; `apply_gradients` divides
//! the gradients by it and, when every gradient is finite, lets the inner optimizer apply them
//! and doubles the scale after `dynamic_growth_steps` finite steps in a row; when one is not,
//! the step is skipped (the inner optimizer and its `iterations` do not move) and the scale is
//! halved.

use serde_json::{json, Map, Value};

use super::base::{check_set_variables, take_f64, take_opt_i64};
use super::Optimizer;
use crate::layers::Variable;
use crate::{keras_bail, Result, Tensor};

/// `keras.optimizers.LossScaleOptimizer(inner_optimizer, initial_scale=2**15,
/// dynamic_growth_steps=2000)`.
///
/// Its variables are, in Keras's order, its own `iteration` (always 0: `iterations` is the
/// inner optimizer's) and `learning_rate` (0.0), `step_counter` (int64) and `dynamic_scale`
/// (float32), followed by the inner optimizer's variables.
///
/// ```
/// use keras::optimizers::{Adam, LossScaleOptimizer, Optimizer};
/// let opt = LossScaleOptimizer::new(Adam::new().learning_rate(1e-3))
///     .initial_scale(1024.0)
///     .dynamic_growth_steps(100);
/// assert_eq!(opt.scale_loss(2.0), 2048.0);
/// assert_eq!(opt.get_config()["inner_optimizer"]["class_name"], "Adam");
/// assert_eq!(opt.learning_rate(), 1e-3);
/// ```
pub struct LossScaleOptimizer {
    name: String,
    inner: Box<dyn Optimizer>,
    initial_scale: f64,
    dynamic_growth_steps: i64,
    built: bool,
    step_counter: i64,
    dynamic_scale: f32,
}

impl std::fmt::Debug for LossScaleOptimizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LossScaleOptimizer")
            .field("name", &self.name)
            .field("inner_optimizer", &self.inner.name())
            .field("initial_scale", &self.initial_scale)
            .field("dynamic_growth_steps", &self.dynamic_growth_steps)
            .field("step_counter", &self.step_counter)
            .field("dynamic_scale", &self.dynamic_scale)
            .finish()
    }
}

impl Clone for LossScaleOptimizer {
    fn clone(&self) -> Self {
        LossScaleOptimizer {
            name: self.name.clone(),
            inner: self.inner.box_clone(),
            initial_scale: self.initial_scale,
            dynamic_growth_steps: self.dynamic_growth_steps,
            built: self.built,
            step_counter: self.step_counter,
            dynamic_scale: self.dynamic_scale,
        }
    }
}

/// Base-optimizer arguments Keras still accepts in a config, only at their defaults
/// (files written by older Keras versions list them).
const BASE_DEFAULTS: [(&str, Value); 9] = [
    ("weight_decay", Value::Null),
    ("clipnorm", Value::Null),
    ("global_clipnorm", Value::Null),
    ("clipvalue", Value::Null),
    ("use_ema", Value::Bool(false)),
    ("ema_momentum", Value::Null), // 0.99, checked numerically below
    ("ema_overwrite_frequency", Value::Null),
    ("loss_scale_factor", Value::Null),
    ("gradient_accumulation_steps", Value::Null),
];

impl LossScaleOptimizer {
    /// Wraps `inner_optimizer` with Keras's defaults (`initial_scale=2**15`,
    /// `dynamic_growth_steps=2000`). As Keras, the inner optimizer's own
    /// `loss_scale_factor` is turned off so gradients are not unscaled twice.
    pub fn new(inner_optimizer: impl crate::trainers::IntoOptimizer) -> Self {
        Self::try_new(inner_optimizer).unwrap_or_else(|_| Self::wrap(Box::new(super::SGD::new())))
    }

    /// [`new`](Self::new), with an error when `inner_optimizer` is a name no optimizer has.
    pub fn try_new(inner_optimizer: impl crate::trainers::IntoOptimizer) -> Result<Self> {
        Ok(Self::wrap(disable_loss_scale_factor(inner_optimizer.into_optimizer()?)?))
    }

    fn wrap(inner: Box<dyn Optimizer>) -> Self {
        LossScaleOptimizer {
            name: crate::backend::unique_name("loss_scale_optimizer"),
            inner,
            initial_scale: 32768.0,
            dynamic_growth_steps: 2000,
            built: false,
            step_counter: 0,
            dynamic_scale: 32768.0,
        }
    }

    /// `initial_scale=`: the loss scale before the first step (default `2**15`).
    pub fn initial_scale(mut self, v: impl Into<f64>) -> Self {
        self.initial_scale = v.into();
        if !self.built {
            self.dynamic_scale = self.initial_scale as f32;
        }
        self
    }

    /// `dynamic_growth_steps=`: the scale doubles after this many finite steps in a row
    /// (default 2000).
    pub fn dynamic_growth_steps(mut self, v: i64) -> Self {
        self.dynamic_growth_steps = v;
        self
    }

    /// `name=` (default `loss_scale_optimizer`, made unique).
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }

    /// The wrapped optimizer (Keras `inner_optimizer`).
    pub fn inner_optimizer(&self) -> &dyn Optimizer {
        self.inner.as_ref()
    }

    /// The current loss scale (Keras `dynamic_scale`; `initial_scale` before the first step).
    pub fn dynamic_scale(&self) -> f32 {
        if self.built {
            self.dynamic_scale
        } else {
            self.initial_scale as f32
        }
    }

    /// Finite steps since the scale last changed (Keras `step_counter`).
    pub fn step_counter(&self) -> i64 {
        self.step_counter
    }

    /// `scale_loss(loss)`: the loss times the current scale.
    pub fn scale_loss(&self, loss: f32) -> f32 {
        loss * self.dynamic_scale()
    }

    /// Builds it from a Keras config (`{"name", "inner_optimizer", "initial_scale",
    /// "dynamic_growth_steps"}`), rejecting what Keras rejects: `dynamic=false`, base
    /// optimizer arguments away from their defaults, and unknown keys.
    pub fn from_config(config: &Value) -> Result<Self> {
        let mut cfg: Map<String, Value> = match config {
            Value::Object(m) => m.clone(),
            other => keras_bail!(Config, "LossScaleOptimizer config must be a JSON object, received {other}"),
        };
        let Some(inner_cfg) = cfg.remove("inner_optimizer") else {
            keras_bail!(
                InvalidArgument,
                "LossScaleOptimizer.__init__() missing 1 required positional argument: 'inner_optimizer'"
            );
        };
        if let Some(d) = cfg.remove("dynamic") {
            if !truthy(&d) {
                keras_bail!(
                    InvalidArgument,
                    "LossScaleOptimizer no longer supports `dynamic=False`. Instead, simply set \
                     `loss_scale_factor` directly on the `inner_optimizer`."
                );
            }
        }
        for (key, default) in BASE_DEFAULTS.iter() {
            let Some(v) = cfg.remove(*key) else { continue };
            let at_default = match *key {
                "ema_momentum" => v.as_f64() == Some(0.99),
                _ => &v == default,
            };
            if !at_default {
                keras_bail!(
                    InvalidArgument,
                    "LossScaleOptimizer does not support `{key}`. Instead, set `{key}` on the `inner_optimizer`."
                );
            }
        }
        let name = match cfg.remove("name") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s),
            Some(v) => keras_bail!(InvalidArgument, "Argument `name` must be a string. Received: name={v}"),
        };
        let initial_scale = take_f64(&mut cfg, "initial_scale", 32768.0)?;
        let Some(dynamic_growth_steps) = take_opt_i64(&mut cfg, "dynamic_growth_steps", Some(2000))? else {
            keras_bail!(
                InvalidArgument,
                "Argument `dynamic_growth_steps` must be an integer. Received: None"
            );
        };
        if !cfg.is_empty() {
            let keys: Vec<&str> = cfg.keys().map(String::as_str).collect();
            keras_bail!(
                InvalidArgument,
                "LossScaleOptimizer does not support arguments: `{}`.",
                keys.join("`, `")
            );
        }
        let inner = disable_loss_scale_factor(super::deserialize(&inner_cfg)?)?;
        let mut opt =
            Self::wrap(inner).initial_scale(initial_scale).dynamic_growth_steps(dynamic_growth_steps);
        if let Some(n) = name {
            opt.name = n;
        }
        Ok(opt)
    }

    /// Creates `step_counter` and `dynamic_scale`, and builds the inner optimizer.
    fn build_own(&mut self, vars: &[&Variable]) -> Result<()> {
        if !self.inner.built() {
            self.inner.build(vars)?;
        }
        if !self.built {
            self.step_counter = 0;
            self.dynamic_scale = self.initial_scale as f32;
            self.built = true;
        }
        Ok(())
    }
}

/// Python truthiness of a JSON value (`dynamic=0` is false as `dynamic=False`).
fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// Keras sets `inner_optimizer.loss_scale_factor = None`: rebuilt from its config with the
/// factor cleared, when one is set (a fresh optimizer; its state, if any, carries over).
fn disable_loss_scale_factor(inner: Box<dyn Optimizer>) -> Result<Box<dyn Optimizer>> {
    if inner.class_name() == "LossScaleOptimizer" {
        keras_bail!(InvalidArgument, "LossScaleOptimizer cannot wrap another LossScaleOptimizer");
    }
    let mut ser = inner.serialize();
    let has_factor = ser["config"].get("loss_scale_factor").is_some_and(|v| !v.is_null());
    if !has_factor {
        return Ok(inner);
    }
    ser["config"]["loss_scale_factor"] = Value::Null;
    let mut fresh = super::deserialize(&ser)?;
    if inner.built() {
        // Same variables, so the state carries over through set_variables once built; an
        // unbuilt optimizer has only its iteration and learning rate, kept by the config.
        let vals: Vec<Tensor> = inner.variables().into_iter().map(|(_, t)| t).collect();
        let _ = fresh.set_variables(&vals);
    }
    Ok(fresh)
}

/// One int64 scalar from a loaded tensor (int64, or a float holding an integer).
fn scalar_i64(t: &Tensor) -> i64 {
    match t.as_i64() {
        Ok(s) if !s.is_empty() => s[0],
        _ => t.to_f32_vec().first().copied().unwrap_or(0.0) as i64,
    }
}

impl Optimizer for LossScaleOptimizer {
    fn name(&self) -> &str {
        &self.name
    }

    fn class_name(&self) -> &str {
        "LossScaleOptimizer"
    }

    fn apply_gradients(&mut self, grads: &[Tensor], vars: &mut [&mut Variable]) -> Result<()> {
        if grads.len() != vars.len() {
            keras_bail!(
                Value,
                "Expected {} gradients, one per variable, but received {}",
                vars.len(),
                grads.len()
            );
        }
        if !self.built {
            let refs: Vec<&Variable> = vars.iter().map(|v| &**v).collect();
            self.build_own(&refs)?;
        }
        let finite = grads.iter().all(|g| g.to_f32_vec().iter().all(|x| x.is_finite()));
        if !finite {
            // Downscale the loss and reset the counter; the update is skipped.
            self.step_counter = 0;
            self.dynamic_scale /= 2.0;
            return Ok(());
        }
        let scale = Tensor::scalar(self.dynamic_scale);
        let unscaled =
            grads.iter().map(|g| Ok(keras_engine::ops::div(g, &scale)?)).collect::<Result<Vec<_>>>()?;
        self.inner.apply_gradients(&unscaled, vars)?;
        if self.step_counter == self.dynamic_growth_steps - 1 {
            self.step_counter = 0;
            self.dynamic_scale *= 2.0;
        } else {
            self.step_counter += 1;
        }
        Ok(())
    }

    fn loss_scale(&self) -> Option<f32> {
        Some(self.dynamic_scale())
    }

    fn learning_rate(&self) -> f32 {
        self.inner.learning_rate()
    }

    fn set_learning_rate(&mut self, lr: f32) {
        self.inner.set_learning_rate(lr)
    }

    fn try_set_learning_rate(&mut self, lr: f32) -> Result<()> {
        self.inner.try_set_learning_rate(lr)
    }

    fn iterations(&self) -> u64 {
        self.inner.iterations()
    }

    fn get_config(&self) -> Value {
        json!({
            "name": self.name,
            "inner_optimizer": self.inner.serialize(),
            "initial_scale": self.initial_scale,
            "dynamic_growth_steps": self.dynamic_growth_steps,
        })
    }

    fn variables(&self) -> Vec<(String, Tensor)> {
        let n = &self.name;
        let int = |v: i64| {
            Tensor::from_i64(vec![v], Vec::<usize>::new()).unwrap_or_else(|_| Tensor::scalar(v as f32))
        };
        let mut out =
            vec![(format!("{n}/iteration"), int(0)), (format!("{n}/learning_rate"), Tensor::scalar(0.0))];
        if self.built {
            out.push((format!("{n}/step_counter"), int(self.step_counter)));
            out.push((format!("{n}/dynamic_scale"), Tensor::scalar(self.dynamic_scale)));
        }
        out.extend(self.inner.variables());
        out
    }

    fn built(&self) -> bool {
        self.built
    }

    fn build(&mut self, vars: &[&Variable]) -> Result<()> {
        self.build_own(vars)
    }

    fn set_variables(&mut self, values: &[Tensor]) -> Result<()> {
        check_set_variables(&self.name, self.built, self.variables().len(), values.len())?;
        // values[0..2] are the wrapper's own iteration and learning rate, unused by Keras.
        let scale = values[3].to_f32_vec();
        let Some(&scale) = scale.first() else {
            keras_bail!(Value, "Optimizer '{}': `dynamic_scale` must be a scalar", self.name);
        };
        self.inner.set_variables(&values[4..])?;
        self.step_counter = scalar_i64(&values[2]);
        self.dynamic_scale = scale;
        Ok(())
    }

    fn finalize_variable_values(&self, vars: &mut [&mut Variable]) -> Result<()> {
        self.inner.finalize_variable_values(vars)
    }

    fn box_clone(&self) -> Box<dyn Optimizer> {
        Box::new(self.clone())
    }
}
