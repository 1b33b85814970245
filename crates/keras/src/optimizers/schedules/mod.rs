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
use crate::utils::config_args::{config_args, ArgFamily, ConfigArg};
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
#[derive(Clone, Copy, Debug, Default, PartialEq)]
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

fn check_steps(key: &str, n: Num) -> Result<()> {
    if n.v.is_nan() || n.v <= 0.0 {
        keras_bail!(
            InvalidArgument,
            "Argument `{key}` must be > 0. Received: {key}={}",
            if n.int { format!("{}", n.v as i64) } else { crate::utils::python_repr::python_float_repr(n.v) }
        );
    }
    Ok(())
}

/// The parts every schedule shares: `from_map` (its `config_args!` reader, then the
/// constructor's `check`) and the [`LearningRateSchedule`] impl around its `call` (the
/// class name, `get_config` from its `config_args!` writer, `clone_box`).
///
/// `check field` also writes the public `check()`: `field > 0`, the Keras constructor's check.
macro_rules! schedule_impl {
    ($ty:ident, $class:literal, check $steps:ident, $($call:tt)*) => {
        impl $ty {
            #[doc = concat!("Checks `", stringify!($steps), " > 0` (the Keras constructor's check).")]
            pub fn check(&self) -> Result<()> {
                check_steps(stringify!($steps), self.$steps)
            }
        }
        schedule_impl! { $ty, $class, $($call)* }
    };
    ($ty:ident, $class:literal, $($call:tt)*) => {
        impl $ty {
            fn from_map(cfg: &mut Map<String, Value>) -> Result<Self> {
                let s = Self::read_args(cfg)?;
                s.check()?;
                Ok(s)
            }
        }

        impl LearningRateSchedule for $ty {
            fn class_name(&self) -> &'static str {
                $class
            }
            $($call)*
            fn get_config(&self) -> Value {
                let mut m = Map::new();
                self.write_args(&mut m);
                Value::Object(m)
            }
            fn clone_box(&self) -> Box<dyn LearningRateSchedule> {
                Box::new(self.clone())
            }
        }
    };
}

/// The schedules' config readers: each removes its key from the config, so that leftover
/// keys can be reported as unexpected arguments.
pub(crate) struct ScheduleArgs;

impl ArgFamily for ScheduleArgs {
    type Src<'a> = Map<String, Value>;
}

impl ConfigArg<ScheduleArgs> for Num {
    fn to_config(&self) -> Value {
        self.json()
    }
    fn from_config(cfg: &mut Map<String, Value>, key: &str, default: Option<Self>) -> Result<Self> {
        take_num(cfg, key, default)
    }
}

impl ConfigArg<ScheduleArgs> for Option<Num> {
    fn to_config(&self) -> Value {
        self.map_or(Value::Null, |n| n.json())
    }
    /// `null` or missing is `None`.
    fn from_config(cfg: &mut Map<String, Value>, key: &str, _default: Option<Self>) -> Result<Self> {
        match cfg.get(key) {
            None | Some(Value::Null) => {
                cfg.remove(key);
                Ok(None)
            }
            Some(_) => Ok(Some(take_num(cfg, key, None)?)),
        }
    }
}

impl ConfigArg<ScheduleArgs> for Vec<Num> {
    fn to_config(&self) -> Value {
        Value::Array(self.iter().map(Num::json).collect())
    }
    /// A list of numbers; anything else is a missing argument.
    fn from_config(cfg: &mut Map<String, Value>, key: &str, default: Option<Self>) -> Result<Self> {
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
            _ => default.ok_or_else(|| Error::InvalidArgument(format!("missing required argument: '{key}'"))),
        }
    }
}

impl ConfigArg<ScheduleArgs> for bool {
    fn to_config(&self) -> Value {
        Value::Bool(*self)
    }
    fn from_config(cfg: &mut Map<String, Value>, key: &str, default: Option<Self>) -> Result<Self> {
        take_bool(cfg, key, default.unwrap_or(false))
    }
}

/// The schedule's `name`: a string, or the default for anything else.
impl ConfigArg<ScheduleArgs> for String {
    fn to_config(&self) -> Value {
        Value::String(self.clone())
    }
    fn from_config(cfg: &mut Map<String, Value>, key: &str, default: Option<Self>) -> Result<Self> {
        match cfg.remove(key) {
            Some(Value::String(s)) => Ok(s),
            _ => Ok(default.unwrap_or_default()),
        }
    }
}

/// A schedule of `initial_learning_rate`, `decay_rate` and `p = step / decay_steps` (`p`
/// floored with `staircase`): the struct, its arguments, `new` and the
/// [`LearningRateSchedule`] impl of `ExponentialDecay` and `InverseTimeDecay`, which differ
/// only in the formula `|initial_learning_rate, decay_rate, p| ...` (float32).
macro_rules! rate_decay_schedule {
    (
        $(#[$doc:meta])*
        $ty:ident, $class:literal, staircase $staircase_doc:literal,
        |$init:ident, $rate:ident, $p:ident| $formula:expr
    ) => {
        config_args! {
            $(#[$doc])*
            #[derive(Clone, Debug)]
            pub struct $ty with builders, family ScheduleArgs {
                initial_learning_rate: Num,
                decay_steps: Num,
                decay_rate: Num,
                #[doc = $staircase_doc]
                staircase: bool = false; builder staircase(yes: bool),
                name: String = $class.into(),
            }
        }

        impl $ty {
            #[doc = concat!("`", $class, "(initial_learning_rate, decay_steps, decay_rate)`.")]
            pub fn new(initial_learning_rate: f64, decay_steps: u64, decay_rate: f64) -> Self {
                $ty {
                    initial_learning_rate: Num::float(initial_learning_rate),
                    decay_steps: Num::int(decay_steps),
                    decay_rate: Num::float(decay_rate),
                    ..Self::defaults()
                }
            }
        }

        schedule_impl! {
            $ty, $class, check decay_steps,
            fn call(&self, step: u64) -> f32 {
                let mut $p = step as f32 / self.decay_steps.f();
                if self.staircase {
                    $p = $p.floor();
                }
                let ($init, $rate) = (self.initial_learning_rate.f(), self.decay_rate.f());
                $formula
            }
        }
    };
}

rate_decay_schedule! {
    /// `initial_learning_rate * decay_rate ^ (step / decay_steps)` (floored exponent with
    /// `staircase`).
    ExponentialDecay, "ExponentialDecay", staircase "`staircase=`: decay at discrete intervals.",
    |init, rate, p| init * rate.powf(p)
}

config_args! {
    /// `values[0]` while `step <= boundaries[0]`, `values[i]` while
    /// `boundaries[i-1] < step <= boundaries[i]`, `values[n]` after the last boundary.
    #[derive(Clone, Debug)]
    pub struct PiecewiseConstantDecay, family ScheduleArgs {
        boundaries: Vec<Num>,
        values: Vec<Num>,
        name: String = "PiecewiseConstant".into(),
    }
}

impl PiecewiseConstantDecay {
    /// `PiecewiseConstantDecay(boundaries, values)`; `values` must have one more element.
    pub fn new(boundaries: &[u64], values: &[f64]) -> Result<Self> {
        let s = PiecewiseConstantDecay {
            boundaries: boundaries.iter().map(|&b| Num::int(b)).collect(),
            values: values.iter().map(|&v| Num::float(v)).collect(),
            ..Self::defaults()
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
}

schedule_impl! {
    PiecewiseConstantDecay, "PiecewiseConstantDecay",
    fn call(&self, step: u64) -> f32 {
        let s = step as f64;
        for (b, v) in self.boundaries.iter().zip(&self.values) {
            if s <= b.v {
                return v.f();
            }
        }
        self.values.last().map_or(0.0, Num::f)
    }
}

config_args! {
    /// `(initial - end) * (1 - min(step, decay_steps)/decay_steps)^power + end`; with `cycle`
    /// the decay period grows to the first multiple of `decay_steps` above the step.
    #[derive(Clone, Debug)]
    pub struct PolynomialDecay with builders, family ScheduleArgs {
        initial_learning_rate: Num,
        decay_steps: Num,
        /// `end_learning_rate=`.
        end_learning_rate: Num = Num::float(0.0001); builder end_learning_rate(v: f64) => Num::float(v),
        /// `power=`.
        power: Num = Num::float(1.0); builder power(v: f64) => Num::float(v),
        /// `cycle=`.
        cycle: bool = false; builder cycle(yes: bool),
        name: String = "PolynomialDecay".into(),
    }
}

impl PolynomialDecay {
    /// `PolynomialDecay(initial_learning_rate, decay_steps)` (end 0.0001, power 1.0).
    pub fn new(initial_learning_rate: f64, decay_steps: u64) -> Self {
        PolynomialDecay {
            initial_learning_rate: Num::float(initial_learning_rate),
            decay_steps: Num::int(decay_steps),
            ..Self::defaults()
        }
    }
}

schedule_impl! {
    PolynomialDecay, "PolynomialDecay", check decay_steps,
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
}

rate_decay_schedule! {
    /// `initial_learning_rate / (1 + decay_rate * step / decay_steps)` (floored with
    /// `staircase`).
    InverseTimeDecay, "InverseTimeDecay", staircase "`staircase=`.",
    |init, rate, p| init / (1.0 + rate * p)
}

fn cosine_decayed(from_lr: f32, step: f32, decay_steps: f32, alpha: f64) -> f32 {
    let frac = step / decay_steps;
    let c = 0.5 * (1.0 + (PI * frac).cos());
    let decayed = (1.0 - alpha) as f32 * c + alpha as f32;
    from_lr * decayed
}

config_args! {
    /// Cosine decay from `initial_learning_rate` (or, with a warmup, from `warmup_target` after a
    /// linear warmup of `warmup_steps`) down to `alpha` times that value over `decay_steps`.
    #[derive(Clone, Debug)]
    pub struct CosineDecay with builders, family ScheduleArgs {
        initial_learning_rate: Num,
        decay_steps: Num,
        /// `alpha=`: the final fraction of the learning rate.
        alpha: Num = Num::float(0.0); builder alpha(v: f64) => Num::float(v),
        name: String = "CosineDecay".into(),
        /// Set with `warmup`.
        warmup_target: Option<Num> = None,
        /// Set with `warmup`.
        warmup_steps: Num = Num::int(0),
    }
}

impl CosineDecay {
    /// `CosineDecay(initial_learning_rate, decay_steps)` (alpha 0.0, no warmup).
    pub fn new(initial_learning_rate: f64, decay_steps: u64) -> Self {
        CosineDecay {
            initial_learning_rate: Num::float(initial_learning_rate),
            decay_steps: Num::int(decay_steps),
            ..Self::defaults()
        }
    }
    /// `warmup_target=` and `warmup_steps=`: a linear warmup to `target` first.
    pub fn warmup(mut self, target: f64, steps: u64) -> Self {
        self.warmup_target = Some(Num::float(target));
        self.warmup_steps = Num::int(steps);
        self
    }
}

schedule_impl! {
    CosineDecay, "CosineDecay", check decay_steps,
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
}

config_args! {
    /// Cosine decay with warm restarts (SGDR): periods grow by `t_mul`, restart peaks shrink by
    /// `m_mul`.
    #[derive(Clone, Debug)]
    pub struct CosineDecayRestarts with builders, family ScheduleArgs {
        initial_learning_rate: Num,
        first_decay_steps: Num,
        /// `t_mul=`.
        t_mul: Num = Num::float(2.0); builder t_mul(v: f64) => Num::float(v),
        /// `m_mul=`.
        m_mul: Num = Num::float(1.0); builder m_mul(v: f64) => Num::float(v),
        /// `alpha=`.
        alpha: Num = Num::float(0.0); builder alpha(v: f64) => Num::float(v),
        name: String = "SGDRDecay".into(),
    }
}

impl CosineDecayRestarts {
    /// `CosineDecayRestarts(initial_learning_rate, first_decay_steps)` (t_mul 2.0, m_mul 1.0,
    /// alpha 0.0).
    pub fn new(initial_learning_rate: f64, first_decay_steps: u64) -> Self {
        CosineDecayRestarts {
            initial_learning_rate: Num::float(initial_learning_rate),
            first_decay_steps: Num::int(first_decay_steps),
            ..Self::defaults()
        }
    }
}

schedule_impl! {
    CosineDecayRestarts, "CosineDecayRestarts", check first_decay_steps,
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
}
