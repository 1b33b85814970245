//! Learning-rate schedules (`keras.optimizers.schedules`): the learning rate as a function of
//! the number of updates already applied (0 for the first update).
//!
//! ```
//! use keras::optimizers::schedules::{ExponentialDecay, LearningRateSchedule};
//! let s = ExponentialDecay::new(0.1, 2, 0.5);
//! assert!((s.call(2) - 0.05).abs() < 1e-7);
//! ```

use std::f32::consts::PI;
use std::fmt::Debug;

use serde_json::{json, Map, Value};

use crate::optimizers::base::take_bool;
use crate::{keras_bail, Error, Result};

/// A Keras `LearningRateSchedule`.
pub trait LearningRateSchedule: Send + Sync + Debug {
    /// The Keras class name (`ExponentialDecay`).
    fn class_name(&self) -> &'static str;
    /// The learning rate after `step` updates (float32 arithmetic, as Keras).
    fn call(&self, step: u64) -> f32;
    /// The Keras config (`schedule.get_config()`).
    fn get_config(&self) -> Value;
    /// A boxed copy.
    fn clone_box(&self) -> Box<dyn LearningRateSchedule>;
}

/// The serialized form `{"module": "keras.optimizers.schedules", "class_name", "config",
/// "registered_name": null}`.
pub fn serialize(schedule: &dyn LearningRateSchedule) -> Value {
    json!({
        "module": "keras.optimizers.schedules",
        "class_name": schedule.class_name(),
        "config": schedule.get_config(),
        "registered_name": null,
    })
}

/// A schedule from its serialized form (`{"class_name": "ExponentialDecay", "config": {..}}`).
pub fn deserialize(config: &Value) -> Result<Box<dyn LearningRateSchedule>> {
    let Some(class_name) = config.get("class_name").and_then(Value::as_str) else {
        keras_bail!(Config, "Could not interpret learning rate schedule: {config} (no `class_name`)");
    };
    let mut cfg = match config.get("config") {
        Some(Value::Object(m)) => m.clone(),
        _ => Map::new(),
    };
    let s: Box<dyn LearningRateSchedule> = match class_name {
        "ExponentialDecay" => Box::new(ExponentialDecay::from_map(&mut cfg)?),
        "PiecewiseConstantDecay" => Box::new(PiecewiseConstantDecay::from_map(&mut cfg)?),
        "PolynomialDecay" => Box::new(PolynomialDecay::from_map(&mut cfg)?),
        "InverseTimeDecay" => Box::new(InverseTimeDecay::from_map(&mut cfg)?),
        "CosineDecay" => Box::new(CosineDecay::from_map(&mut cfg)?),
        "CosineDecayRestarts" => Box::new(CosineDecayRestarts::from_map(&mut cfg)?),
        other => keras_bail!(
            InvalidArgument,
            "Unknown decay: '{other}'. Please ensure you are using a \
             `keras.utils.custom_object_scope` and that this object is included in the scope."
        ),
    };
    if !cfg.is_empty() {
        let keys: Vec<String> = cfg.keys().map(|k| format!("'{k}'")).collect();
        keras_bail!(
            InvalidArgument,
            "{class_name}.__init__() got unexpected keyword argument(s) {}",
            keys.join(", ")
        );
    }
    Ok(s)
}

/// A number kept as given (an integer stays an integer in the config).
#[derive(Clone, Copy, Debug, PartialEq)]
struct Num {
    v: f64,
    int: bool,
}

impl Num {
    fn int(v: u64) -> Self {
        Num { v: v as f64, int: true }
    }
    fn float(v: f64) -> Self {
        Num { v, int: false }
    }
    fn json(&self) -> Value {
        if self.int {
            json!(self.v as i64)
        } else {
            json!(self.v)
        }
    }
    fn f(&self) -> f32 {
        self.v as f32
    }
}

fn take_num(cfg: &mut Map<String, Value>, key: &str, default: Option<Num>) -> Result<Num> {
    match cfg.remove(key) {
        Some(Value::Number(n)) => Ok(Num { v: n.as_f64().unwrap_or(0.0), int: n.is_i64() || n.is_u64() }),
        Some(v) => {
            Err(Error::InvalidArgument(format!("Argument `{key}` must be a number. Received: {key}={v}")))
        }
        None => default.ok_or_else(|| Error::InvalidArgument(format!("missing required argument: '{key}'"))),
    }
}

fn take_name(cfg: &mut Map<String, Value>, default: &str) -> String {
    match cfg.remove("name") {
        Some(Value::String(s)) => s,
        _ => default.to_string(),
    }
}

fn check_steps(key: &str, n: Num) -> Result<()> {
    if n.v.is_nan() || n.v <= 0.0 {
        keras_bail!(
            InvalidArgument,
            "Argument `{key}` must be > 0. Received: {key}={}",
            if n.int { format!("{}", n.v as i64) } else { crate::optimizers::base::py_float(n.v) }
        );
    }
    Ok(())
}

/// `initial_learning_rate * decay_rate ^ (step / decay_steps)` (floored exponent with
/// `staircase`).
#[derive(Clone, Debug)]
pub struct ExponentialDecay {
    initial_learning_rate: Num,
    decay_steps: Num,
    decay_rate: Num,
    staircase: bool,
    name: String,
}

impl ExponentialDecay {
    /// `ExponentialDecay(initial_learning_rate, decay_steps, decay_rate)`.
    pub fn new(initial_learning_rate: f64, decay_steps: u64, decay_rate: f64) -> Self {
        ExponentialDecay {
            initial_learning_rate: Num::float(initial_learning_rate),
            decay_steps: Num::int(decay_steps),
            decay_rate: Num::float(decay_rate),
            staircase: false,
            name: "ExponentialDecay".into(),
        }
    }

    /// `staircase=`: decay at discrete intervals.
    pub fn staircase(mut self, yes: bool) -> Self {
        self.staircase = yes;
        self
    }

    /// Checks `decay_steps > 0` (the Keras constructor's check).
    pub fn check(&self) -> Result<()> {
        check_steps("decay_steps", self.decay_steps)
    }

    fn from_map(cfg: &mut Map<String, Value>) -> Result<Self> {
        let s = ExponentialDecay {
            initial_learning_rate: take_num(cfg, "initial_learning_rate", None)?,
            decay_steps: take_num(cfg, "decay_steps", None)?,
            decay_rate: take_num(cfg, "decay_rate", None)?,
            staircase: take_bool(cfg, "staircase", false)?,
            name: take_name(cfg, "ExponentialDecay"),
        };
        s.check()?;
        Ok(s)
    }
}

impl LearningRateSchedule for ExponentialDecay {
    fn class_name(&self) -> &'static str {
        "ExponentialDecay"
    }
    fn call(&self, step: u64) -> f32 {
        let mut p = step as f32 / self.decay_steps.f();
        if self.staircase {
            p = p.floor();
        }
        self.initial_learning_rate.f() * self.decay_rate.f().powf(p)
    }
    fn get_config(&self) -> Value {
        json!({
            "initial_learning_rate": self.initial_learning_rate.json(),
            "decay_steps": self.decay_steps.json(),
            "decay_rate": self.decay_rate.json(),
            "staircase": self.staircase,
            "name": self.name,
        })
    }
    fn clone_box(&self) -> Box<dyn LearningRateSchedule> {
        Box::new(self.clone())
    }
}

/// `values[0]` while `step <= boundaries[0]`, `values[i]` while
/// `boundaries[i-1] < step <= boundaries[i]`, `values[n]` after the last boundary.
#[derive(Clone, Debug)]
pub struct PiecewiseConstantDecay {
    boundaries: Vec<Num>,
    values: Vec<Num>,
    name: String,
}

impl PiecewiseConstantDecay {
    /// `PiecewiseConstantDecay(boundaries, values)`; `values` must have one more element.
    pub fn new(boundaries: &[u64], values: &[f64]) -> Result<Self> {
        let s = PiecewiseConstantDecay {
            boundaries: boundaries.iter().map(|&b| Num::int(b)).collect(),
            values: values.iter().map(|&v| Num::float(v)).collect(),
            name: "PiecewiseConstant".into(),
        };
        s.check()?;
        Ok(s)
    }

    fn check(&self) -> Result<()> {
        if self.boundaries.len() + 1 != self.values.len() {
            let b: Vec<String> = self.boundaries.iter().map(|n| n.json().to_string()).collect();
            let v: Vec<String> = self.values.iter().map(|n| n.json().to_string()).collect();
            keras_bail!(
                InvalidArgument,
                "The length of boundaries should be 1 less than the length of values. \
                 Received: boundaries=[{}] of length {}, and values=[{}] of length {}.",
                b.join(", "),
                self.boundaries.len(),
                v.join(", "),
                self.values.len()
            );
        }
        Ok(())
    }

    fn from_map(cfg: &mut Map<String, Value>) -> Result<Self> {
        let list = |cfg: &mut Map<String, Value>, key: &str| -> Result<Vec<Num>> {
            match cfg.remove(key) {
                Some(Value::Array(a)) => a
                    .iter()
                    .map(|x| match x {
                        Value::Number(n) => {
                            Ok(Num { v: n.as_f64().unwrap_or(0.0), int: n.is_i64() || n.is_u64() })
                        }
                        other => Err(Error::InvalidArgument(format!(
                            "`{key}` must be a list of numbers, received {other}"
                        ))),
                    })
                    .collect(),
                _ => Err(Error::InvalidArgument(format!("missing required argument: '{key}'"))),
            }
        };
        let s = PiecewiseConstantDecay {
            boundaries: list(cfg, "boundaries")?,
            values: list(cfg, "values")?,
            name: take_name(cfg, "PiecewiseConstant"),
        };
        s.check()?;
        Ok(s)
    }
}

impl LearningRateSchedule for PiecewiseConstantDecay {
    fn class_name(&self) -> &'static str {
        "PiecewiseConstantDecay"
    }
    fn call(&self, step: u64) -> f32 {
        let s = step as f64;
        for (b, v) in self.boundaries.iter().zip(&self.values) {
            if s <= b.v {
                return v.f();
            }
        }
        self.values.last().map_or(0.0, Num::f)
    }
    fn get_config(&self) -> Value {
        json!({
            "boundaries": self.boundaries.iter().map(Num::json).collect::<Vec<_>>(),
            "values": self.values.iter().map(Num::json).collect::<Vec<_>>(),
            "name": self.name,
        })
    }
    fn clone_box(&self) -> Box<dyn LearningRateSchedule> {
        Box::new(self.clone())
    }
}

/// `(initial - end) * (1 - min(step, decay_steps)/decay_steps)^power + end`; with `cycle`
/// the decay period grows to the first multiple of `decay_steps` above the step.
#[derive(Clone, Debug)]
pub struct PolynomialDecay {
    initial_learning_rate: Num,
    decay_steps: Num,
    end_learning_rate: Num,
    power: Num,
    cycle: bool,
    name: String,
}

impl PolynomialDecay {
    /// `PolynomialDecay(initial_learning_rate, decay_steps)` (end 0.0001, power 1.0).
    pub fn new(initial_learning_rate: f64, decay_steps: u64) -> Self {
        PolynomialDecay {
            initial_learning_rate: Num::float(initial_learning_rate),
            decay_steps: Num::int(decay_steps),
            end_learning_rate: Num::float(0.0001),
            power: Num::float(1.0),
            cycle: false,
            name: "PolynomialDecay".into(),
        }
    }
    /// `end_learning_rate=`.
    pub fn end_learning_rate(mut self, v: f64) -> Self {
        self.end_learning_rate = Num::float(v);
        self
    }
    /// `power=`.
    pub fn power(mut self, v: f64) -> Self {
        self.power = Num::float(v);
        self
    }
    /// `cycle=`.
    pub fn cycle(mut self, yes: bool) -> Self {
        self.cycle = yes;
        self
    }
    /// Checks `decay_steps > 0`.
    pub fn check(&self) -> Result<()> {
        check_steps("decay_steps", self.decay_steps)
    }

    fn from_map(cfg: &mut Map<String, Value>) -> Result<Self> {
        let s = PolynomialDecay {
            initial_learning_rate: take_num(cfg, "initial_learning_rate", None)?,
            decay_steps: take_num(cfg, "decay_steps", None)?,
            end_learning_rate: take_num(cfg, "end_learning_rate", Some(Num::float(0.0001)))?,
            power: take_num(cfg, "power", Some(Num::float(1.0)))?,
            cycle: take_bool(cfg, "cycle", false)?,
            name: take_name(cfg, "PolynomialDecay"),
        };
        s.check()?;
        Ok(s)
    }
}

impl LearningRateSchedule for PolynomialDecay {
    fn class_name(&self) -> &'static str {
        "PolynomialDecay"
    }
    fn call(&self, step: u64) -> f32 {
        let init = self.initial_learning_rate.f();
        let end = self.end_learning_rate.f();
        let mut s = step as f32;
        let mut ds = self.decay_steps.f();
        if self.cycle {
            let mult = if s == 0.0 { 1.0 } else { (s / ds).ceil() };
            ds *= mult;
        } else {
            s = s.min(ds);
        }
        let p = s / ds;
        (init - end) * (1.0 - p).powf(self.power.f()) + end
    }
    fn get_config(&self) -> Value {
        json!({
            "initial_learning_rate": self.initial_learning_rate.json(),
            "decay_steps": self.decay_steps.json(),
            "end_learning_rate": self.end_learning_rate.json(),
            "power": self.power.json(),
            "cycle": self.cycle,
            "name": self.name,
        })
    }
    fn clone_box(&self) -> Box<dyn LearningRateSchedule> {
        Box::new(self.clone())
    }
}

/// `initial_learning_rate / (1 + decay_rate * step / decay_steps)` (floored with
/// `staircase`).
#[derive(Clone, Debug)]
pub struct InverseTimeDecay {
    initial_learning_rate: Num,
    decay_steps: Num,
    decay_rate: Num,
    staircase: bool,
    name: String,
}

impl InverseTimeDecay {
    /// `InverseTimeDecay(initial_learning_rate, decay_steps, decay_rate)`.
    pub fn new(initial_learning_rate: f64, decay_steps: u64, decay_rate: f64) -> Self {
        InverseTimeDecay {
            initial_learning_rate: Num::float(initial_learning_rate),
            decay_steps: Num::int(decay_steps),
            decay_rate: Num::float(decay_rate),
            staircase: false,
            name: "InverseTimeDecay".into(),
        }
    }
    /// `staircase=`.
    pub fn staircase(mut self, yes: bool) -> Self {
        self.staircase = yes;
        self
    }
    /// Checks `decay_steps > 0`.
    pub fn check(&self) -> Result<()> {
        check_steps("decay_steps", self.decay_steps)
    }

    fn from_map(cfg: &mut Map<String, Value>) -> Result<Self> {
        let s = InverseTimeDecay {
            initial_learning_rate: take_num(cfg, "initial_learning_rate", None)?,
            decay_steps: take_num(cfg, "decay_steps", None)?,
            decay_rate: take_num(cfg, "decay_rate", None)?,
            staircase: take_bool(cfg, "staircase", false)?,
            name: take_name(cfg, "InverseTimeDecay"),
        };
        s.check()?;
        Ok(s)
    }
}

impl LearningRateSchedule for InverseTimeDecay {
    fn class_name(&self) -> &'static str {
        "InverseTimeDecay"
    }
    fn call(&self, step: u64) -> f32 {
        let mut p = step as f32 / self.decay_steps.f();
        if self.staircase {
            p = p.floor();
        }
        self.initial_learning_rate.f() / (1.0 + self.decay_rate.f() * p)
    }
    fn get_config(&self) -> Value {
        json!({
            "initial_learning_rate": self.initial_learning_rate.json(),
            "decay_steps": self.decay_steps.json(),
            "decay_rate": self.decay_rate.json(),
            "staircase": self.staircase,
            "name": self.name,
        })
    }
    fn clone_box(&self) -> Box<dyn LearningRateSchedule> {
        Box::new(self.clone())
    }
}

fn cosine_decayed(from_lr: f32, step: f32, decay_steps: f32, alpha: f64) -> f32 {
    let frac = step / decay_steps;
    let c = 0.5 * (1.0 + (PI * frac).cos());
    let decayed = (1.0 - alpha) as f32 * c + alpha as f32;
    from_lr * decayed
}

/// Cosine decay from `initial_learning_rate` (or, with a warmup, from `warmup_target` after a
/// linear warmup of `warmup_steps`) down to `alpha` times that value over `decay_steps`.
#[derive(Clone, Debug)]
pub struct CosineDecay {
    initial_learning_rate: Num,
    decay_steps: Num,
    alpha: Num,
    name: String,
    warmup_target: Option<Num>,
    warmup_steps: Num,
}

impl CosineDecay {
    /// `CosineDecay(initial_learning_rate, decay_steps)` (alpha 0.0, no warmup).
    pub fn new(initial_learning_rate: f64, decay_steps: u64) -> Self {
        CosineDecay {
            initial_learning_rate: Num::float(initial_learning_rate),
            decay_steps: Num::int(decay_steps),
            alpha: Num::float(0.0),
            name: "CosineDecay".into(),
            warmup_target: None,
            warmup_steps: Num::int(0),
        }
    }
    /// `alpha=`: the final fraction of the learning rate.
    pub fn alpha(mut self, v: f64) -> Self {
        self.alpha = Num::float(v);
        self
    }
    /// `warmup_target=` and `warmup_steps=`: a linear warmup to `target` first.
    pub fn warmup(mut self, target: f64, steps: u64) -> Self {
        self.warmup_target = Some(Num::float(target));
        self.warmup_steps = Num::int(steps);
        self
    }
    /// Checks `decay_steps > 0`.
    pub fn check(&self) -> Result<()> {
        check_steps("decay_steps", self.decay_steps)
    }

    fn from_map(cfg: &mut Map<String, Value>) -> Result<Self> {
        let warmup_target = match cfg.get("warmup_target") {
            None | Some(Value::Null) => {
                cfg.remove("warmup_target");
                None
            }
            Some(_) => Some(take_num(cfg, "warmup_target", None)?),
        };
        let s = CosineDecay {
            initial_learning_rate: take_num(cfg, "initial_learning_rate", None)?,
            decay_steps: take_num(cfg, "decay_steps", None)?,
            alpha: take_num(cfg, "alpha", Some(Num::float(0.0)))?,
            name: take_name(cfg, "CosineDecay"),
            warmup_target,
            warmup_steps: take_num(cfg, "warmup_steps", Some(Num::int(0)))?,
        };
        s.check()?;
        Ok(s)
    }
}

impl LearningRateSchedule for CosineDecay {
    fn class_name(&self) -> &'static str {
        "CosineDecay"
    }
    fn call(&self, step: u64) -> f32 {
        let init = self.initial_learning_rate.f();
        let ds = self.decay_steps.f();
        let s = step as f32;
        match self.warmup_target {
            None => cosine_decayed(init, s.min(ds), ds, self.alpha.v),
            Some(target) => {
                let target = target.f();
                let ws = self.warmup_steps.f();
                let s = s.min(ds + ws);
                if s < ws {
                    (target - init) * (s / ws) + init
                } else {
                    cosine_decayed(target, s - ws, ds, self.alpha.v)
                }
            }
        }
    }
    fn get_config(&self) -> Value {
        json!({
            "initial_learning_rate": self.initial_learning_rate.json(),
            "decay_steps": self.decay_steps.json(),
            "alpha": self.alpha.json(),
            "name": self.name,
            "warmup_target": self.warmup_target.map_or(Value::Null, |n| n.json()),
            "warmup_steps": self.warmup_steps.json(),
        })
    }
    fn clone_box(&self) -> Box<dyn LearningRateSchedule> {
        Box::new(self.clone())
    }
}

/// Cosine decay with warm restarts (SGDR): periods grow by `t_mul`, restart peaks shrink by
/// `m_mul`.
#[derive(Clone, Debug)]
pub struct CosineDecayRestarts {
    initial_learning_rate: Num,
    first_decay_steps: Num,
    t_mul: Num,
    m_mul: Num,
    alpha: Num,
    name: String,
}

impl CosineDecayRestarts {
    /// `CosineDecayRestarts(initial_learning_rate, first_decay_steps)` (t_mul 2.0, m_mul 1.0,
    /// alpha 0.0).
    pub fn new(initial_learning_rate: f64, first_decay_steps: u64) -> Self {
        CosineDecayRestarts {
            initial_learning_rate: Num::float(initial_learning_rate),
            first_decay_steps: Num::int(first_decay_steps),
            t_mul: Num::float(2.0),
            m_mul: Num::float(1.0),
            alpha: Num::float(0.0),
            name: "SGDRDecay".into(),
        }
    }
    /// `t_mul=`.
    pub fn t_mul(mut self, v: f64) -> Self {
        self.t_mul = Num::float(v);
        self
    }
    /// `m_mul=`.
    pub fn m_mul(mut self, v: f64) -> Self {
        self.m_mul = Num::float(v);
        self
    }
    /// `alpha=`.
    pub fn alpha(mut self, v: f64) -> Self {
        self.alpha = Num::float(v);
        self
    }
    /// Checks `first_decay_steps > 0`.
    pub fn check(&self) -> Result<()> {
        check_steps("first_decay_steps", self.first_decay_steps)
    }

    fn from_map(cfg: &mut Map<String, Value>) -> Result<Self> {
        let s = CosineDecayRestarts {
            initial_learning_rate: take_num(cfg, "initial_learning_rate", None)?,
            first_decay_steps: take_num(cfg, "first_decay_steps", None)?,
            t_mul: take_num(cfg, "t_mul", Some(Num::float(2.0)))?,
            m_mul: take_num(cfg, "m_mul", Some(Num::float(1.0)))?,
            alpha: take_num(cfg, "alpha", Some(Num::float(0.0)))?,
            name: take_name(cfg, "SGDRDecay"),
        };
        s.check()?;
        Ok(s)
    }
}

impl LearningRateSchedule for CosineDecayRestarts {
    fn class_name(&self) -> &'static str {
        "CosineDecayRestarts"
    }
    fn call(&self, step: u64) -> f32 {
        let init = self.initial_learning_rate.f();
        let alpha = self.alpha.f();
        let t_mul = self.t_mul.f();
        let m_mul = self.m_mul.f();
        let mut frac = step as f32 / self.first_decay_steps.f();
        let i_restart = if t_mul == 1.0 {
            let i = frac.floor();
            frac -= i;
            i
        } else {
            let i = ((1.0 - frac * (1.0 - t_mul)).ln() / t_mul.ln()).floor();
            let sum_r = (1.0 - t_mul.powf(i)) / (1.0 - t_mul);
            frac = (frac - sum_r) / t_mul.powf(i);
            i
        };
        let m_fac = m_mul.powf(i_restart);
        let c = 0.5 * m_fac * (1.0 + (PI * frac).cos());
        let decayed = (1.0 - alpha) * c + alpha;
        init * decayed
    }
    fn get_config(&self) -> Value {
        json!({
            "initial_learning_rate": self.initial_learning_rate.json(),
            "first_decay_steps": self.first_decay_steps.json(),
            "t_mul": self.t_mul.json(),
            "m_mul": self.m_mul.json(),
            "alpha": self.alpha.json(),
            "name": self.name,
        })
    }
    fn clone_box(&self) -> Box<dyn LearningRateSchedule> {
        Box::new(self.clone())
    }
}
