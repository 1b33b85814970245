//! The state and the `apply` pipeline every Keras optimizer shares ([`BaseOptimizer`]), and the
//! per-optimizer [`UpdateRule`] it drives.
//!
//! The pipeline follows `keras/src/optimizers/base_optimizer.py` (TensorFlow backend):
//! loss-scale unscaling, gradient accumulation, clipping (`clipnorm`, else `global_clipnorm`,
//! else `clipvalue`), decoupled weight decay `var -= var * weight_decay * lr`, the
//! per-variable `update_step`, the EMA of the weights, and finally `iterations += 1`. The
//! learning rate is evaluated once per step, at the iteration count before the step.

use keras_engine::kernels::amx::prepacked::PackedRefresh;
use serde_json::{json, Map, Value};

use super::schedules::{self, LearningRateSchedule};
use super::Optimizer;
use crate::layers::Variable;
use crate::utils::python_repr::python_float_repr;
use crate::utils::python_repr::{python_repr, python_str_repr};
use crate::{keras_bail, DType, Error, Result, Tensor};

/// What an [`UpdateRule`] needs to know about the current step.
#[derive(Clone, Copy, Debug)]
pub struct StepInfo {
    /// The learning rate of this step (float32, as Keras casts it).
    pub lr: f32,
    /// Keras `optimizer.iterations` before this step (`t - 1`, where `t` starts at 1).
    pub iterations: u64,
    /// Decoupled weight decay of this variable (`Some(wd)`: `var -= var * wd * lr` first).
    pub weight_decay: Option<f32>,
    /// The learning rate comes from a schedule (Adafactor's relative step applies only to a
    /// constant one).
    pub lr_is_schedule: bool,
}

impl StepInfo {
    /// Applies the decoupled weight decay to one element, the way Keras does before the step.
    #[inline(always)]
    pub fn decay(&self, w: f32) -> f32 {
        match self.weight_decay {
            Some(wd) => w - w * wd * self.lr,
            None => w,
        }
    }
}

/// One optimizer slot kind: its Keras name suffix and initial value (`("momentum", 0.0)`).
pub type SlotSpec = (&'static str, f32);

/// A model variable as an optimizer sees it when building its slots.
#[derive(Clone, Debug)]
pub struct VarInfo {
    /// The variable's name (`kernel`).
    pub name: String,
    /// Its path (`dense/kernel`).
    pub path: String,
    /// Its shape.
    pub shape: Vec<usize>,
}

/// How a per-variable slot is named among the optimizer's variables.
#[derive(Clone, Debug, PartialEq)]
pub enum SlotName {
    /// `<optimizer>/<variable path with _>_<suffix>` (`adam/dense_kernel_momentum`).
    Suffix(&'static str),
    /// `<optimizer>/<name>` (Adafactor's factored moments are named after the variable:
    /// `adafactor/kernel`).
    Scoped(String),
    /// A path outside the optimizer's scope (Adafactor's placeholders: just `bias`).
    Path(String),
}

/// How a per-variable slot starts.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SlotInit {
    /// Every element equal to this.
    Const(f32),
    /// A copy of the variable (ScheduleFreeAdamW's `momentum`).
    CopyOfVariable,
}

/// One slot of one variable, for rules whose slots depend on the variable (its shape, its
/// name) rather than the same [`SlotSpec`]s for every variable.
#[derive(Clone, Debug, PartialEq)]
pub struct SlotDef {
    /// How it is named.
    pub name: SlotName,
    /// Its shape.
    pub shape: Vec<usize>,
    /// Its initial value.
    pub init: SlotInit,
    /// An int32 placeholder Keras keeps among the variables (Adafactor's `r`/`c` for
    /// variables of rank < 2).
    pub int_placeholder: bool,
}

/// The algorithm part of a Keras optimizer: its slots, its `update_step`, and its own
/// hyper-parameters in `get_config()`.
pub trait UpdateRule: Send + Sync + Clone + Default + std::fmt::Debug + 'static {
    /// The Keras class name (`Adam`).
    const CLASS_NAME: &'static str;
    /// The constructor's default `learning_rate`.
    const DEFAULT_LR: f32;
    /// The snake-case base of automatic names (`adam`, `rm_sprop`, `adam_w`).
    const AUTO_NAME: &'static str;

    /// Slot kinds, in groups: each group is one Keras `add_optimizer_variables` call (the
    /// variables loop outside, the names of a group inside), so the group structure fixes the
    /// order of `optimizer.variables`.
    fn slot_groups(&self) -> Vec<Vec<SlotSpec>>;

    /// Updates one variable in place, in one pass. `slots` holds this variable's slots in the
    /// flattened order of [`slot_groups`](Self::slot_groups).
    fn update(&self, info: &StepInfo, var: &mut [f32], grad: &[f32], slots: &mut [&mut [f32]]);

    /// Called once per step before any variable is updated (Nadam's `u_product`).
    fn begin_step(&mut self, _iterations: u64) {}

    /// The same update as one fused GPU kernel, for rules that have one (Adam, AdamW, SGD);
    /// variables on a GPU then update there, with their slots resident.
    fn fused(&self) -> Option<keras_engine::ops::fused::FusedRule> {
        None
    }

    /// Scalar optimizer variables created after the slots (`(name, value)`, Nadam's
    /// `u_product`, which Keras names `variable`).
    fn extra_variables(&self) -> Vec<(&'static str, f32)> {
        Vec::new()
    }

    /// Overwrites the extra scalar variables (loading saved optimizer state).
    fn set_extra_variables(&mut self, _values: &[f32]) {}

    /// Appends this optimizer's own keys to the config, in Keras's order.
    fn config(&self, m: &mut Map<String, Value>);

    /// Reads this optimizer's own keys from a config, removing the keys it knows.
    fn read_config(&mut self, cfg: &mut Map<String, Value>) -> Result<()>;

    /// Checks the hyper-parameters as the Keras constructor does.
    fn validate(&self) -> Result<()> {
        Ok(())
    }

    /// Adjusts base defaults (AdamW's `weight_decay=0.004`).
    fn init_base(_base: &mut BaseState) {}

    /// The slots of one variable, when they depend on it (Adafactor, Muon); `None` (the
    /// default) gives every variable the [`slot_groups`](Self::slot_groups). A rule that
    /// returns `Some` for one variable must for all, and its variables are then listed
    /// variable by variable, slots in this order.
    fn var_slots(&self, _var: &VarInfo) -> Option<Vec<SlotDef>> {
        None
    }

    /// Updates one whole variable, for rules that are not element-wise (norms of the
    /// variable, matrix products); returns false to use the element-wise
    /// [`update`](Self::update). `slots` are this variable's slots in their order.
    fn update_var(
        &self,
        _info: &StepInfo,
        _var: &VarInfo,
        _data: &mut [f32],
        _grad: &[f32],
        _slots: &mut [Vec<f32>],
    ) -> bool {
        false
    }

    /// The decoupled weight decay of one variable, given the base `weight_decay` (Muon's
    /// Adam-updated variables use `adam_weight_decay`).
    fn weight_decay_for(&self, _var: &VarInfo, base: Option<f32>) -> Option<f32> {
        base
    }

    /// Checks base arguments this optimizer constrains further (AdamW's `weight_decay`).
    fn validate_base(_base: &BaseState) -> Result<()> {
        Ok(())
    }
}

/// A learning rate: a constant (a float32 Keras variable) or a schedule of the iteration.
#[derive(Debug)]
pub enum LearningRate {
    /// A constant stored as float32 (`optimizer/learning_rate`).
    Constant(f32),
    /// A `keras.optimizers.schedules.LearningRateSchedule`.
    Schedule(Box<dyn LearningRateSchedule>),
}

impl Clone for LearningRate {
    fn clone(&self) -> Self {
        match self {
            LearningRate::Constant(v) => LearningRate::Constant(*v),
            LearningRate::Schedule(s) => LearningRate::Schedule(s.clone_box()),
        }
    }
}

impl LearningRate {
    /// The value at `step` (the number of updates already applied).
    pub fn at(&self, step: u64) -> f32 {
        match self {
            LearningRate::Constant(v) => *v,
            LearningRate::Schedule(s) => s.call(step),
        }
    }
}

/// The base-optimizer arguments shared by every Keras optimizer.
#[derive(Clone, Debug)]
pub struct BaseState {
    /// `name`.
    pub name: String,
    /// `learning_rate`.
    pub learning_rate: LearningRate,
    /// `weight_decay` (`None`: off).
    pub weight_decay: Option<f64>,
    /// `clipnorm`.
    pub clipnorm: Option<f64>,
    /// `clipvalue`.
    pub clipvalue: Option<f64>,
    /// `global_clipnorm`.
    pub global_clipnorm: Option<f64>,
    /// `use_ema`.
    pub use_ema: bool,
    /// `ema_momentum`.
    pub ema_momentum: f64,
    /// `ema_overwrite_frequency`.
    pub ema_overwrite_frequency: Option<i64>,
    /// `loss_scale_factor`.
    pub loss_scale_factor: Option<f64>,
    /// `gradient_accumulation_steps`.
    pub gradient_accumulation_steps: Option<i64>,
    /// Variable names (substrings) excluded from weight decay.
    pub exclude_from_weight_decay: Vec<String>,
    /// Paths of the variables excluded from weight decay (Keras `var_list`).
    pub exclude_from_weight_decay_vars: Vec<String>,
}

/// Python's `repr` of an optional float (`None`, `1.0`, `0.5`).
pub(crate) fn py_opt(v: Option<f64>) -> String {
    match v {
        None => "None".into(),
        Some(x) => python_float_repr(x),
    }
}

fn opt_f64_json(v: Option<f64>) -> Value {
    v.map_or(Value::Null, |x| json!(x))
}

fn opt_i64_json(v: Option<i64>) -> Value {
    v.map_or(Value::Null, |x| json!(x))
}

impl BaseState {
    fn new(auto_name: &str) -> Self {
        BaseState {
            name: auto_name.to_string(),
            learning_rate: LearningRate::Constant(0.001),
            weight_decay: None,
            clipnorm: None,
            clipvalue: None,
            global_clipnorm: None,
            use_ema: false,
            ema_momentum: 0.99,
            ema_overwrite_frequency: None,
            loss_scale_factor: None,
            gradient_accumulation_steps: None,
            exclude_from_weight_decay: Vec::new(),
            exclude_from_weight_decay_vars: Vec::new(),
        }
    }

    /// The checks of Keras's `BaseOptimizer.__init__`.
    pub fn validate(&self) -> Result<()> {
        if let Some(steps) = self.gradient_accumulation_steps {
            if steps != 0 && steps < 2 {
                keras_bail!(
                    InvalidArgument,
                    "`gradient_accumulation_steps` must be an integer >= 2. Received: \
                     gradient_accumulation_steps={steps}"
                );
            }
        }
        if self.use_ema {
            if !(0.0..=1.0).contains(&self.ema_momentum) {
                keras_bail!(
                    InvalidArgument,
                    "`ema_momentum` must be in the range [0, 1]. Received: ema_momentum={}",
                    python_float_repr(self.ema_momentum)
                );
            }
            if let Some(f) = self.ema_overwrite_frequency {
                if f != 0 && f < 1 {
                    keras_bail!(
                        InvalidArgument,
                        "`ema_overwrite_frequency` must be an integer >= 1 or None. Received: \
                         ema_overwrite_frequency={f}"
                    );
                }
            }
        }
        let clip_args =
            [self.clipnorm, self.clipvalue, self.global_clipnorm].iter().filter(|a| a.is_some()).count();
        if clip_args > 1 {
            keras_bail!(
                InvalidArgument,
                "Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. Received: \
                 clipnorm={}, clipvalue={}, global_clipnorm={}",
                py_opt(self.clipnorm),
                py_opt(self.clipvalue),
                py_opt(self.global_clipnorm)
            );
        }
        Ok(())
    }

    /// The base keys of `get_config()`, in Keras's order.
    fn config(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("name".into(), json!(self.name));
        let lr = match &self.learning_rate {
            LearningRate::Constant(v) => json!(*v as f64),
            LearningRate::Schedule(s) => schedules::serialize(s.as_ref()),
        };
        m.insert("learning_rate".into(), lr);
        m.insert("weight_decay".into(), opt_f64_json(self.weight_decay));
        m.insert("clipnorm".into(), opt_f64_json(self.clipnorm));
        m.insert("global_clipnorm".into(), opt_f64_json(self.global_clipnorm));
        m.insert("clipvalue".into(), opt_f64_json(self.clipvalue));
        m.insert("use_ema".into(), json!(self.use_ema));
        m.insert("ema_momentum".into(), json!(self.ema_momentum));
        m.insert("ema_overwrite_frequency".into(), opt_i64_json(self.ema_overwrite_frequency));
        m.insert("loss_scale_factor".into(), opt_f64_json(self.loss_scale_factor));
        m.insert("gradient_accumulation_steps".into(), opt_i64_json(self.gradient_accumulation_steps));
        m
    }

    /// Reads the base keys from a config, removing them.
    fn read_config(&mut self, cfg: &mut Map<String, Value>) -> Result<()> {
        if let Some(v) = cfg.remove("name") {
            match v {
                Value::String(s) => self.name = s,
                Value::Null => {}
                other => {
                    keras_bail!(InvalidArgument, "Argument `name` must be a string. Received: name={other}")
                }
            }
        }
        if let Some(v) = cfg.remove("learning_rate") {
            self.learning_rate = match v {
                Value::Object(_) => LearningRate::Schedule(schedules::deserialize(&v)?),
                Value::Number(n) if n.is_f64() => LearningRate::Constant(n.as_f64().unwrap_or(0.0) as f32),
                other => keras_bail!(
                    InvalidArgument,
                    "Argument `learning_rate` should be float, or an instance of \
                     LearningRateSchedule, or a callable (that takes in the current iteration \
                     value and returns the corresponding learning rate value). Received \
                     instead: learning_rate={other}"
                ),
            };
        }
        self.weight_decay = take_opt_f64(cfg, "weight_decay", self.weight_decay)?;
        self.clipnorm = take_opt_f64(cfg, "clipnorm", self.clipnorm)?;
        self.global_clipnorm = take_opt_f64(cfg, "global_clipnorm", self.global_clipnorm)?;
        self.clipvalue = take_opt_f64(cfg, "clipvalue", self.clipvalue)?;
        self.use_ema = take_bool(cfg, "use_ema", self.use_ema)?;
        self.ema_momentum = take_f64(cfg, "ema_momentum", self.ema_momentum)?;
        self.ema_overwrite_frequency =
            take_opt_i64(cfg, "ema_overwrite_frequency", self.ema_overwrite_frequency)?;
        self.loss_scale_factor = take_opt_f64(cfg, "loss_scale_factor", self.loss_scale_factor)?;
        self.gradient_accumulation_steps =
            take_opt_i64(cfg, "gradient_accumulation_steps", self.gradient_accumulation_steps)?;
        // Keras 3 ignores the legacy `decay` argument (with a warning).
        cfg.remove("decay");
        Ok(())
    }
}

fn type_error(key: &str, what: &str, v: &Value) -> Error {
    Error::InvalidArgument(format!("Argument `{key}` must be {what}. Received: {key}={v}"))
}

/// Removes `key` from a config: a number (`None` when absent).
pub(crate) fn take_opt_f64(
    cfg: &mut Map<String, Value>,
    key: &str,
    default: Option<f64>,
) -> Result<Option<f64>> {
    match cfg.remove(key) {
        None => Ok(default),
        Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => Ok(n.as_f64()),
        Some(v) => Err(type_error(key, "a float or None", &v)),
    }
}

/// Removes `key` from a config: a number.
pub(crate) fn take_f64(cfg: &mut Map<String, Value>, key: &str, default: f64) -> Result<f64> {
    match cfg.remove(key) {
        None => Ok(default),
        Some(Value::Number(n)) => Ok(n.as_f64().unwrap_or(default)),
        Some(v) => Err(type_error(key, "a float", &v)),
    }
}

/// Removes `key` from a config: an integer (`None` when absent or null).
pub(crate) fn take_opt_i64(
    cfg: &mut Map<String, Value>,
    key: &str,
    default: Option<i64>,
) -> Result<Option<i64>> {
    match cfg.remove(key) {
        None => Ok(default),
        Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) if n.as_i64().is_some() => Ok(n.as_i64()),
        Some(Value::Number(n)) if n.as_f64().is_some_and(|f| f.fract() == 0.0) => {
            Ok(n.as_f64().map(|f| f as i64))
        }
        Some(v) => Err(type_error(key, "an integer or None", &v)),
    }
}

/// Removes `key` from a config: a boolean.
pub(crate) fn take_bool(cfg: &mut Map<String, Value>, key: &str, default: bool) -> Result<bool> {
    match cfg.remove(key) {
        None => Ok(default),
        Some(Value::Bool(b)) => Ok(b),
        Some(v) => Err(type_error(key, "a boolean", &v)),
    }
}

/// Keras's checks before an optimizer's `set_weights(values)`: the optimizer `name` is built,
/// and `given` values come for its `expected` variables.
pub(crate) fn check_set_variables(name: &str, built: bool, expected: usize, given: usize) -> Result<()> {
    if !built {
        keras_bail!(
            State,
            "You are calling `set_weights()` on an optimizer that has not yet been built. \
             Please call `optimizer.build(trainable_variables)` to create the optimizer \
             weights before calling `set_weights()`."
        );
    }
    if expected != given {
        keras_bail!(Value, "Optimizer '{name}' has {expected} variables whereas {given} values were given");
    }
    Ok(())
}

/// A Keras optimizer: the shared [`BaseState`] and pipeline, with the algorithm `R`.
///
/// The public optimizer types are aliases of it ([`Adam`](super::Adam) =
/// `BaseOptimizer<AdamRule>`), so every optimizer has the same base builder methods
/// (`learning_rate`, `weight_decay`, `clipnorm`, `clipvalue`, `global_clipnorm`, `use_ema`,
/// ...). Argument errors found by a builder method are reported by the first
/// [`apply_gradients`](Optimizer::apply_gradients) (and by [`check`](Self::check)).
#[derive(Clone, Debug)]
pub struct BaseOptimizer<R: UpdateRule> {
    base: BaseState,
    rule: R,
    iterations: u64,
    built: bool,
    /// `(slot name prefix, shape)` of each variable the optimizer was built with.
    built_vars: Vec<(String, Vec<usize>)>,
    /// Name, path and shape of each variable the optimizer was built with.
    var_infos: Vec<VarInfo>,
    /// Per-variable slot definitions, for rules with [`UpdateRule::var_slots`].
    slot_defs: Option<Vec<Vec<SlotDef>>>,
    /// `slots[var][k]`: slot `k` (flattened `slot_groups` order) of variable `var`.
    slots: Vec<Vec<Vec<f32>>>,
    /// EMA of each variable (`use_ema`).
    averages: Vec<Vec<f32>>,
    /// Gradient accumulators (`gradient_accumulation_steps`).
    accumulators: Vec<Vec<f32>>,
    /// Reusable buffers for preprocessed gradients (no allocation after the first step).
    scratch: Vec<Vec<f32>>,
    /// Slots of variables that live on a GPU, resident there (see `optimizers/device.rs`).
    device: super::device::DeviceSlots,
    pending_error: Option<Error>,
}

impl<R: UpdateRule> BaseOptimizer<R> {
    /// An optimizer with Keras's defaults for `rule`, named automatically (`adam`, `adam_1`).
    pub(crate) fn new_default() -> Self {
        let rule = R::default();
        let mut base = BaseState::new(R::AUTO_NAME);
        base.learning_rate = LearningRate::Constant(R::DEFAULT_LR);
        R::init_base(&mut base);
        Self::unbuilt(base, rule).auto_named()
    }

    /// An optimizer of `base` and `rule` with no variables built yet.
    fn unbuilt(base: BaseState, rule: R) -> Self {
        BaseOptimizer {
            base,
            rule,
            iterations: 0,
            built: false,
            built_vars: Vec::new(),
            var_infos: Vec::new(),
            slot_defs: None,
            slots: Vec::new(),
            averages: Vec::new(),
            accumulators: Vec::new(),
            scratch: Vec::new(),
            device: Default::default(),
            pending_error: None,
        }
    }

    fn auto_named(mut self) -> Self {
        self.base.name = crate::backend::unique_name(R::AUTO_NAME);
        self
    }

    /// Builds it from a Keras config (`optimizer.get_config()`), rejecting unknown keys.
    pub fn from_config(config: &Value) -> Result<Self> {
        let mut cfg = match config {
            Value::Object(m) => m.clone(),
            Value::Null => Map::new(),
            other => keras_bail!(Config, "{} config must be a JSON object, received {other}", R::CLASS_NAME),
        };
        let mut base = BaseState::new(R::AUTO_NAME);
        R::init_base(&mut base);
        let named = cfg.get("name").is_some_and(|v| v.is_string());
        base.learning_rate = LearningRate::Constant(R::DEFAULT_LR);
        base.read_config(&mut cfg)?;
        let mut rule = R::default();
        rule.read_config(&mut cfg)?;
        if !cfg.is_empty() {
            // In the config's order (the readers' removals reorder `cfg`), as Python prints it.
            let original = config.as_object().into_iter().flatten();
            let left = original.filter(|(k, _)| cfg.contains_key(*k));
            let keys: Vec<String> =
                left.map(|(k, v)| format!("{}: {}", python_str_repr(k), python_repr(v))).collect();
            keras_bail!(InvalidArgument, "Argument(s) not recognized: {{{}}}", keys.join(", "));
        }
        if !named {
            base.name = crate::backend::unique_name(R::AUTO_NAME);
        }
        let opt = Self::unbuilt(base, rule);
        opt.check()?;
        Ok(opt)
    }

    /// The first invalid argument, if any (what the Keras constructor would raise).
    pub fn check(&self) -> Result<()> {
        if let Some(e) = &self.pending_error {
            return Err(e.clone());
        }
        self.base.validate()?;
        R::validate_base(&self.base)?;
        self.rule.validate()
    }

    /// The shared base arguments.
    pub fn base(&self) -> &BaseState {
        &self.base
    }

    /// The algorithm and its hyper-parameters.
    pub fn rule(&self) -> &R {
        &self.rule
    }

    pub(crate) fn rule_mut(&mut self) -> &mut R {
        &mut self.rule
    }

    pub(crate) fn fail(&mut self, e: Error) {
        if self.pending_error.is_none() {
            self.pending_error = Some(e);
        }
    }

    /// Sets the name (`name=`); the automatic name is given back as in
    /// [`crate::layers::LayerBase::rename`].
    pub fn name(mut self, name: &str) -> Self {
        if self.base.name != name {
            crate::backend::release_name(&self.base.name);
        }
        self.base.name = name.to_string();
        self
    }

    /// Sets a constant learning rate (`learning_rate=`), stored as float32.
    pub fn learning_rate(mut self, lr: impl Into<f64>) -> Self {
        self.base.learning_rate = LearningRate::Constant(lr.into() as f32);
        self
    }

    /// Uses a learning-rate schedule (`learning_rate=ExponentialDecay(...)`).
    pub fn learning_rate_schedule(mut self, schedule: impl LearningRateSchedule + 'static) -> Self {
        self.base.learning_rate = LearningRate::Schedule(Box::new(schedule));
        self
    }

    /// Sets the decoupled weight decay (`weight_decay=`).
    pub fn weight_decay(mut self, wd: impl Into<f64>) -> Self {
        self.base.weight_decay = Some(wd.into());
        self
    }

    /// Removes the weight decay (`weight_decay=None`).
    pub fn no_weight_decay(mut self) -> Self {
        self.base.weight_decay = None;
        self
    }

    /// Clips each gradient by its own L2 norm (`clipnorm=`).
    pub fn clipnorm(mut self, v: impl Into<f64>) -> Self {
        self.base.clipnorm = Some(v.into());
        self
    }

    /// Clips each gradient element-wise to `[-v, v]` (`clipvalue=`).
    pub fn clipvalue(mut self, v: impl Into<f64>) -> Self {
        self.base.clipvalue = Some(v.into());
        self
    }

    /// Clips all gradients by their global L2 norm (`global_clipnorm=`).
    pub fn global_clipnorm(mut self, v: impl Into<f64>) -> Self {
        self.base.global_clipnorm = Some(v.into());
        self
    }

    /// Keeps an exponential moving average of the weights (`use_ema=`).
    pub fn use_ema(mut self, yes: bool) -> Self {
        self.base.use_ema = yes;
        self
    }

    /// EMA momentum (`ema_momentum=`, default 0.99).
    pub fn ema_momentum(mut self, v: impl Into<f64>) -> Self {
        self.base.ema_momentum = v.into();
        self
    }

    /// Overwrites the weights with their EMA every `n` steps (`ema_overwrite_frequency=`).
    pub fn ema_overwrite_frequency(mut self, n: i64) -> Self {
        self.base.ema_overwrite_frequency = Some(n);
        self
    }

    /// Divides the gradients by this factor before using them (`loss_scale_factor=`).
    pub fn loss_scale_factor(mut self, v: impl Into<f64>) -> Self {
        self.base.loss_scale_factor = Some(v.into());
        self
    }

    /// Updates only every `n` steps, with the mean gradient (`gradient_accumulation_steps=`).
    pub fn gradient_accumulation_steps(mut self, n: i64) -> Self {
        self.base.gradient_accumulation_steps = Some(n);
        self
    }

    /// Excludes variables whose name contains one of `names` from weight decay (Keras
    /// `exclude_from_weight_decay(var_names=...)`); only before the optimizer is built.
    pub fn exclude_from_weight_decay(mut self, names: &[&str]) -> Self {
        if self.built {
            self.fail(Error::State(
                "`exclude_from_weight_decay()` can only be configured before the optimizer is \
                 built."
                    .into(),
            ));
        }
        self.base.exclude_from_weight_decay = names.iter().map(|s| s.to_string()).collect();
        self
    }

    /// Excludes these variables from weight decay (Keras `exclude_from_weight_decay(var_list=
    /// ...)`); only before the optimizer is built. Combines with the names of
    /// [`exclude_from_weight_decay`](Self::exclude_from_weight_decay).
    pub fn exclude_variables_from_weight_decay(mut self, vars: &[&Variable]) -> Self {
        if self.built {
            self.fail(Error::State(
                "`exclude_from_weight_decay()` can only be configured before the optimizer is built.".into(),
            ));
        }
        self.base.exclude_from_weight_decay_vars = vars.iter().map(|v| v.path().to_string()).collect();
        self
    }

    fn slot_specs(&self) -> Vec<SlotSpec> {
        self.rule.slot_groups().into_iter().flatten().collect()
    }

    fn accumulation_steps(&self) -> Option<u64> {
        match self.base.gradient_accumulation_steps {
            Some(n) if n >= 2 => Some(n as u64),
            _ => None,
        }
    }

    /// Keras `optimizer.iterations`: steps applied (divided by the accumulation steps).
    fn iterations_property(&self) -> u64 {
        match self.accumulation_steps() {
            Some(n) => self.iterations / n,
            None => self.iterations,
        }
    }

    fn build_from(&mut self, vars: &[(String, String, Vec<usize>)], values: &[&[f32]]) {
        let specs = self.slot_specs();
        self.built_vars = vars
            .iter()
            .map(|(_, path, shape)| (path.trim_start_matches('/').replace('/', "_"), shape.clone()))
            .collect();
        self.var_infos = vars
            .iter()
            .map(|(name, path, shape)| VarInfo {
                name: name.clone(),
                path: path.clone(),
                shape: shape.clone(),
            })
            .collect();
        let defs: Vec<Option<Vec<SlotDef>>> = self.var_infos.iter().map(|v| self.rule.var_slots(v)).collect();
        if defs.iter().all(Option::is_some) && !defs.is_empty() {
            let defs: Vec<Vec<SlotDef>> = defs.into_iter().flatten().collect();
            self.slots = defs
                .iter()
                .enumerate()
                .map(|(i, ds)| {
                    ds.iter()
                        .map(|d| match d.init {
                            SlotInit::Const(c) => vec![c; d.shape.iter().product()],
                            SlotInit::CopyOfVariable => values.get(i).map(|v| v.to_vec()).unwrap_or_default(),
                        })
                        .collect()
                })
                .collect();
            self.slot_defs = Some(defs);
        } else {
            self.slot_defs = None;
            self.slots = vars
                .iter()
                .map(|(_, _, shape)| {
                    let n: usize = shape.iter().product();
                    specs.iter().map(|(_, init)| vec![*init; n]).collect()
                })
                .collect();
        }
        let sizes: Vec<usize> = vars.iter().map(|(_, _, s)| s.iter().product()).collect();
        self.averages =
            if self.base.use_ema { sizes.iter().map(|&n| vec![0.0; n]).collect() } else { Vec::new() };
        self.accumulators = if self.accumulation_steps().is_some() {
            sizes.iter().map(|&n| vec![0.0; n]).collect()
        } else {
            Vec::new()
        };
        self.built = true;
    }

    fn check_vars(&self, vars: &[(String, String, Vec<usize>)]) -> Result<()> {
        if vars.len() != self.built_vars.len() {
            keras_bail!(
                InvalidArgument,
                "Unknown variables: this optimizer was built with {} variables and received {}. \
                 This optimizer can only be called for the variables it was originally built \
                 with. When working with a new set of variables, you should recreate a new \
                 optimizer instance.",
                self.built_vars.len(),
                vars.len()
            );
        }
        for (i, ((_, path, shape), (_, built))) in vars.iter().zip(&self.built_vars).enumerate() {
            if shape != built {
                keras_bail!(
                    InvalidArgument,
                    "Unknown variable: {path} (position {i}, shape {shape:?}; the optimizer was \
                     built with shape {built:?}). This optimizer can only be called for the \
                     variables it was originally built with. When working with a new set of \
                     variables, you should recreate a new optimizer instance."
                );
            }
        }
        Ok(())
    }

    fn uses_weight_decay(&self, var: &Variable) -> bool {
        !self.base.exclude_from_weight_decay_vars.iter().any(|p| p == var.path())
            && !self.base.exclude_from_weight_decay.iter().any(|p| var.name().contains(p.as_str()))
    }

    /// Fills `self.scratch[i]` with the gradient values of `grads[i]` (float32).
    fn load_grads(&mut self, grads: &[Tensor]) {
        self.scratch.resize_with(grads.len(), Vec::new);
        for (buf, g) in self.scratch.iter_mut().zip(grads) {
            buf.clear();
            match g.as_f32() {
                Ok(s) => buf.extend_from_slice(s),
                Err(_) => buf.extend(g.to_f32_vec()),
            }
        }
    }

    /// Clipping as Keras's `_clip_gradients`, in place on `self.scratch`.
    fn clip_scratch(&mut self) {
        if let Some(c) = self.base.clipnorm.filter(|c| *c > 0.0) {
            let c = c as f32;
            for g in &mut self.scratch {
                // tf.clip_by_norm: g * c / max(||g||, c).
                let l2sum: f32 = g.iter().map(|x| x * x).sum();
                let l2norm = if l2sum > 0.0 { l2sum.sqrt() } else { l2sum };
                let denom = l2norm.max(c);
                for x in g.iter_mut() {
                    *x = *x * c / denom;
                }
            }
        } else if let Some(c) = self.base.global_clipnorm.filter(|c| *c > 0.0) {
            let c = c as f32;
            let sq: f32 = self.scratch.iter().map(|g| g.iter().map(|x| x * x).sum::<f32>()).sum();
            let norm = sq.sqrt();
            // Keras adds `norm - norm`: a NaN scale when the norm is not finite.
            let scale = if norm.is_finite() { c * (1.0 / norm).min(1.0 / c) } else { f32::NAN };
            for g in &mut self.scratch {
                for x in g.iter_mut() {
                    *x *= scale;
                }
            }
        } else if let Some(v) = self.base.clipvalue.filter(|c| *c > 0.0) {
            let v = v as f32;
            for g in &mut self.scratch {
                for x in g.iter_mut() {
                    *x = x.max(-v).min(v);
                }
            }
        }
    }

    fn needs_clip(&self) -> bool {
        self.base.clipnorm.is_some_and(|c| c > 0.0)
            || self.base.global_clipnorm.is_some_and(|c| c > 0.0)
            || self.base.clipvalue.is_some_and(|c| c > 0.0)
    }

    /// Runs `update_step` on every variable with the gradients in `self.scratch` (when
    /// `use_scratch`) or straight from `grads`.
    fn update_all(
        &mut self,
        grads: &[Tensor],
        vars: &mut [&mut Variable],
        use_scratch: bool,
        lr: f32,
    ) -> Result<()> {
        let iterations = self.iterations_property();
        self.rule.begin_step(iterations);
        let wd = self.base.weight_decay.map(|w| w as f32);
        // Variables on a GPU take the fused device update (one kernel per variable, slots
        // resident there); on the CPU this costs one device check.
        let on_gpu = vars.first().is_some_and(|v| v.value().device().is_cuda());
        if !use_scratch && on_gpu {
            if let Some(rule) = self.rule.fused() {
                let decay: Vec<f32> = vars
                    .iter()
                    .enumerate()
                    .map(|(i, v)| {
                        if !self.uses_weight_decay(v) {
                            return 0.0;
                        }
                        match self.var_infos.get(i) {
                            Some(info) => self.rule.weight_decay_for(info, wd),
                            None => wd,
                        }
                        .unwrap_or(0.0)
                    })
                    .collect();
                if self.device.try_update(rule, grads, vars, &self.slots, &decay, lr, iterations)? {
                    return Ok(());
                }
            }
        }
        let lr_is_schedule = matches!(self.base.learning_rate, LearningRate::Schedule(_));
        let infos: Vec<StepInfo> = vars
            .iter()
            .enumerate()
            .map(|(i, var)| StepInfo {
                lr,
                iterations,
                weight_decay: match self.var_infos.get(i) {
                    _ if !self.uses_weight_decay(var) => None,
                    Some(v) => self.rule.weight_decay_for(v, wd),
                    None => wd,
                },
                lr_is_schedule,
            })
            .collect();
        // Whole-variable rules update here; element-wise ones are gathered into one parallel
        // pass over every variable (one hand-off to the pool per step, not one per variable).
        // A kernel's copies packed for the AMX unit (where the products made any) are taken out
        // with its values and repacked piece by piece right after the update, while the piece
        // is in cache (`keras_engine::kernels::amx::prepacked`); a whole-variable rule drops them.
        let count = vars.len();
        let mut datas = Vec::with_capacity(count);
        let mut refreshes = Vec::with_capacity(count);
        for var in vars.iter_mut() {
            let (data, refresh) = var.value_mut().f32_mut_keeping_packed()?;
            datas.push(data);
            refreshes.push(refresh);
        }
        let mut elementwise = Vec::with_capacity(count);
        let mut wholes = vec![false; count];
        for (i, (data, slots)) in datas.into_iter().zip(self.slots.iter_mut()).enumerate() {
            let info = &infos[i];
            let g: &[f32] = if use_scratch { &self.scratch[i] } else { grads[i].as_f32()? };
            wholes[i] = match self.var_infos.get(i) {
                Some(v) => self.rule.update_var(info, v, data, g, slots),
                None => false,
            };
            if !wholes[i] {
                elementwise.push((info, data, g, slots, refreshes[i].as_ref()));
            }
        }
        update_elementwise(&self.rule, elementwise);
        for ((var, refresh), whole) in vars.iter_mut().zip(refreshes).zip(wholes) {
            if let (Some(r), false) = (refresh, whole) {
                var.value_mut().restore_packed(r);
            }
        }
        Ok(())
    }

    fn apply_impl(&mut self, grads: &[Tensor], vars: &mut [&mut Variable]) -> Result<()> {
        self.check()?;
        if grads.is_empty() {
            return Ok(());
        }
        if grads.len() != vars.len() {
            keras_bail!(
                InvalidArgument,
                "apply_gradients received {} gradients for {} variables",
                grads.len(),
                vars.len()
            );
        }
        let descr: Vec<(String, String, Vec<usize>)> =
            vars.iter().map(|v| (v.name().to_string(), v.path().to_string(), v.shape().to_vec())).collect();
        for (g, (_, path, shape)) in grads.iter().zip(&descr) {
            if g.shape() != shape.as_slice() {
                keras_bail!(
                    Shape,
                    "Gradient for variable {path} has shape {:?}, but the variable has shape \
                     {shape:?}",
                    g.shape()
                );
            }
        }
        if !self.built {
            let values: Vec<&[f32]> = vars.iter().map(|v| v.value().as_f32().unwrap_or(&[])).collect();
            self.build_from(&descr, &values);
        } else {
            self.check_vars(&descr)?;
        }

        let lr = self.base.learning_rate.at(self.iterations);
        let scale = self.base.loss_scale_factor;
        let all_f32 = grads.iter().all(|g| g.dtype() == DType::F32);

        if let Some(steps) = self.accumulation_steps() {
            self.load_grads(grads);
            if let Some(s) = scale {
                let s = s as f32;
                self.scratch.iter_mut().flatten().for_each(|x| *x /= s);
            }
            let is_update_step = (self.iterations + 1).is_multiple_of(steps);
            if is_update_step {
                let n = steps as f32;
                for (g, acc) in self.scratch.iter_mut().zip(&mut self.accumulators) {
                    for (x, a) in g.iter_mut().zip(acc.iter_mut()) {
                        *x = (*x + *a) / n;
                        *a = 0.0;
                    }
                }
                self.clip_scratch();
                self.update_all(grads, vars, true, lr)?;
            } else {
                for (g, acc) in self.scratch.iter().zip(&mut self.accumulators) {
                    for (x, a) in g.iter().zip(acc.iter_mut()) {
                        *a += *x;
                    }
                }
            }
        } else if scale.is_some() || self.needs_clip() || !all_f32 {
            self.load_grads(grads);
            if let Some(s) = scale {
                let s = s as f32;
                self.scratch.iter_mut().flatten().for_each(|x| *x /= s);
            }
            self.clip_scratch();
            self.update_all(grads, vars, true, lr)?;
        } else {
            self.update_all(grads, vars, false, lr)?;
        }

        if self.base.use_ema {
            let it = self.iterations_property();
            let momentum = if it != 0 { self.base.ema_momentum as f32 } else { 0.0 };
            for (var, avg) in vars.iter().zip(&mut self.averages) {
                let v = var.value().as_f32()?;
                for (a, &w) in avg.iter_mut().zip(v) {
                    *a = momentum * *a + (1.0 - momentum) * w;
                }
            }
            if let Some(f) = self.base.ema_overwrite_frequency.filter(|f| *f >= 1) {
                if (it + 1).is_multiple_of(f as u64) {
                    for (var, avg) in vars.iter_mut().zip(&self.averages) {
                        var.data_mut()?.copy_from_slice(avg);
                    }
                }
            }
        }
        self.iterations += 1;
        Ok(())
    }

    /// Keras's `optimizer.variables` as `(path, value)`, in Keras's order.
    fn variables_impl(&self) -> Vec<(String, Tensor)> {
        let n = &self.base.name;
        let mut out = vec![(
            format!("{n}/iteration"),
            Tensor::from_i64(vec![self.iterations as i64], Vec::<usize>::new())
                .unwrap_or_else(|_| Tensor::scalar(self.iterations as f32)),
        )];
        if let LearningRate::Constant(v) = self.base.learning_rate {
            out.push((format!("{n}/learning_rate"), Tensor::scalar(v)));
        }
        if !self.built {
            return out;
        }
        let tensor = |data: &[f32], shape: &[usize]| {
            Tensor::new(data.to_vec(), shape.to_vec()).unwrap_or_else(|_| Tensor::scalar(0.0))
        };
        for (i, (prefix, shape)) in self.built_vars.iter().enumerate() {
            if self.base.use_ema {
                out.push((format!("{n}/{prefix}_average"), tensor(&self.averages[i], shape)));
            }
            if self.accumulation_steps().is_some() {
                out.push((
                    format!("{n}/{prefix}_gradient_accumulator"),
                    tensor(&self.accumulators[i], shape),
                ));
            }
        }
        if let Some(defs) = &self.slot_defs {
            for (i, (prefix, _)) in self.built_vars.iter().enumerate() {
                for (j, d) in defs[i].iter().enumerate() {
                    let name = match &d.name {
                        SlotName::Suffix(sfx) => format!("{n}/{prefix}_{sfx}"),
                        SlotName::Scoped(s) => format!("{n}/{s}"),
                        SlotName::Path(p) => p.clone(),
                    };
                    let t = if d.int_placeholder {
                        Tensor::from_i32(
                            vec![self.slots[i][j].first().copied().unwrap_or(0.0) as i32],
                            d.shape.clone(),
                        )
                        .unwrap_or_else(|_| Tensor::scalar(0.0))
                    } else {
                        tensor(&self.slots[i][j], &d.shape)
                    };
                    out.push((name, t));
                }
            }
        } else {
            let mut k0 = 0;
            for group in self.rule.slot_groups() {
                for (i, (prefix, shape)) in self.built_vars.iter().enumerate() {
                    for (j, (slot, _)) in group.iter().enumerate() {
                        // Slots of a GPU-trained optimizer live on the device.
                        let value = match self.device.slot(i, k0 + j) {
                            Some(t) => t.clone(),
                            None => tensor(&self.slots[i][k0 + j], shape),
                        };
                        out.push((format!("{n}/{prefix}_{slot}"), value));
                    }
                }
                k0 += group.len();
            }
        }
        for (name, v) in self.rule.extra_variables() {
            out.push((format!("{n}/{name}"), Tensor::scalar(v)));
        }
        out
    }

    fn set_variables_impl(&mut self, values: &[Tensor]) -> Result<()> {
        let current = self.variables_impl();
        check_set_variables(&self.base.name, self.built, current.len(), values.len())?;
        for ((name, cur), v) in current.iter().zip(values) {
            if cur.shape() != v.shape() {
                keras_bail!(
                    Value,
                    "Optimizer variable {name} has shape {:?} not compatible with provided \
                     weight shape {:?}.",
                    cur.shape(),
                    v.shape()
                );
            }
        }
        let mut it = values.iter();
        let mut next = || it.next().map(|t| t.to_f32_vec()).unwrap_or_default();
        self.iterations = next().first().copied().unwrap_or(0.0).max(0.0) as u64;
        if let Some(t) = values.first() {
            if t.dtype() != DType::F32 {
                self.iterations = t.to_i64_vec().first().copied().unwrap_or(0).max(0) as u64;
            }
        }
        if let LearningRate::Constant(_) = self.base.learning_rate {
            let v = next();
            self.base.learning_rate = LearningRate::Constant(v.first().copied().unwrap_or(0.0));
        }
        for i in 0..self.built_vars.len() {
            if self.base.use_ema {
                self.averages[i] = next();
            }
            if self.accumulation_steps().is_some() {
                self.accumulators[i] = next();
            }
        }
        if let Some(defs) = &self.slot_defs {
            for (i, d) in defs.iter().enumerate() {
                for j in 0..d.len() {
                    self.slots[i][j] = next();
                }
            }
        } else {
            let mut k0 = 0;
            for group in self.rule.slot_groups() {
                for i in 0..self.built_vars.len() {
                    for j in 0..group.len() {
                        self.slots[i][k0 + j] = next();
                    }
                }
                k0 += group.len();
            }
        }
        let extras: Vec<f32> =
            self.rule.extra_variables().iter().map(|_| next().first().copied().unwrap_or(0.0)).collect();
        self.rule.set_extra_variables(&extras);
        // The host slots are the truth now; device copies are made again at the next step.
        self.device = Default::default();
        Ok(())
    }
}

impl<R: UpdateRule> Default for BaseOptimizer<R> {
    fn default() -> Self {
        Self::new_default()
    }
}

impl<R: UpdateRule> Optimizer for BaseOptimizer<R> {
    fn name(&self) -> &str {
        &self.base.name
    }

    /// Keras `BaseOptimizer.scale_loss`: the loss is multiplied by `loss_scale_factor`
    /// before differentiating, and the gradients are divided by it again.
    fn loss_scale(&self) -> Option<f32> {
        self.base.loss_scale_factor.map(|f| f as f32)
    }

    fn class_name(&self) -> &str {
        R::CLASS_NAME
    }

    fn apply_gradients(&mut self, grads: &[Tensor], vars: &mut [&mut Variable]) -> Result<()> {
        self.apply_impl(grads, vars)
    }

    fn prepare_replay(&mut self) -> Result<bool> {
        if self.rule.fused().is_none()
            || self.accumulation_steps().is_some()
            || self.base.use_ema
            || self.needs_clip()
            || self.base.loss_scale_factor.is_some()
        {
            return Ok(false);
        }
        let lr = self.base.learning_rate.at(self.iterations);
        if !self.device.prepare_replay(lr, self.iterations_property())? {
            return Ok(false);
        }
        self.iterations += 1;
        Ok(true)
    }

    fn learning_rate(&self) -> f32 {
        self.base.learning_rate.at(self.iterations)
    }

    fn set_learning_rate(&mut self, lr: f32) {
        self.base.learning_rate = LearningRate::Constant(lr);
    }

    fn try_set_learning_rate(&mut self, lr: f32) -> Result<()> {
        if let LearningRate::Schedule(_) = self.base.learning_rate {
            keras_bail!(
                State,
                "This optimizer was created with a `LearningRateSchedule` object as its \
                 `learning_rate` constructor argument, hence its learning rate is not settable. \
                 If you need the learning rate to be settable, you should instantiate the \
                 optimizer with a float `learning_rate` argument."
            );
        }
        self.base.learning_rate = LearningRate::Constant(lr);
        Ok(())
    }

    fn iterations(&self) -> u64 {
        self.iterations_property()
    }

    fn get_config(&self) -> Value {
        let mut m = self.base.config();
        self.rule.config(&mut m);
        Value::Object(m)
    }

    fn variables(&self) -> Vec<(String, Tensor)> {
        self.variables_impl()
    }

    fn built(&self) -> bool {
        self.built
    }

    fn build(&mut self, vars: &[&Variable]) -> Result<()> {
        self.check()?;
        let descr: Vec<(String, String, Vec<usize>)> =
            vars.iter().map(|v| (v.name().to_string(), v.path().to_string(), v.shape().to_vec())).collect();
        if !self.built {
            let values: Vec<&[f32]> = vars.iter().map(|v| v.value().as_f32().unwrap_or(&[])).collect();
            self.build_from(&descr, &values);
        }
        Ok(())
    }

    fn set_variables(&mut self, values: &[Tensor]) -> Result<()> {
        self.set_variables_impl(values)
    }

    fn finalize_variable_values(&self, vars: &mut [&mut Variable]) -> Result<()> {
        if !self.base.use_ema || !self.built {
            return Ok(());
        }
        if vars.len() != self.averages.len() {
            keras_bail!(
                Value,
                "The length of model variables ({}) to override does not match the length of \
                 model variables stored in the optimizer ({}). Please check if the optimizer \
                 was called on your model.",
                vars.len(),
                self.averages.len()
            );
        }
        for (var, avg) in vars.iter_mut().zip(&self.averages) {
            let data = var.data_mut()?;
            if data.len() == avg.len() {
                data.copy_from_slice(avg);
            }
        }
        Ok(())
    }

    fn box_clone(&self) -> Box<dyn Optimizer> {
        Box::new(self.clone())
    }
}

/// Elements per parallel piece of the element-wise update.
const UPDATE_CHUNK: usize = 1 << 15;

/// One variable of the element-wise update: its step, values, gradient, slots, and the
/// refresher of its packed copies (where it has any).
type ElementwiseJob<'a> =
    (&'a StepInfo, &'a mut [f32], &'a [f32], &'a mut Vec<Vec<f32>>, Option<&'a PackedRefresh>);

/// Runs `rule.update` over every variable of `jobs`. When there is enough work, the variables
/// are cut into pieces of about [`UPDATE_CHUNK`] elements and all pieces of all variables are
/// updated in one parallel pass (every rule is element-wise, so pieces are independent and
/// the result does not depend on the split). A variable with packed copies is cut at
/// multiples of its refresher's unit, and each piece is repacked right after its update.
fn update_elementwise<R: UpdateRule>(rule: &R, jobs: Vec<ElementwiseJob<'_>>) {
    use rayon::prelude::*;
    let total: usize = jobs.iter().map(|j| j.1.len()).sum();
    if total < 2 * UPDATE_CHUNK || keras_engine::parallel::num_threads() < 2 {
        for (info, data, g, slots, refresh) in jobs {
            let mut refs: Vec<&mut [f32]> = slots.iter_mut().map(|s| s.as_mut_slice()).collect();
            rule.update(info, data, g, &mut refs);
            if let Some(r) = refresh {
                r.refresh(0, data);
            }
        }
        return;
    }
    let mut pieces = Vec::with_capacity(total.div_ceil(UPDATE_CHUNK) + jobs.len());
    for (info, data, g, slots, refresh) in jobs {
        let size = refresh.map_or(UPDATE_CHUNK, |r| (UPDATE_CHUNK / r.unit_len()).max(1) * r.unit_len());
        let mut slot_chunks: Vec<std::slice::ChunksMut<'_, f32>> =
            slots.iter_mut().map(|s| s.chunks_mut(size)).collect();
        for (p, (dc, gc)) in data.chunks_mut(size).zip(g.chunks(size)).enumerate() {
            let sc: Vec<&mut [f32]> = slot_chunks.iter_mut().filter_map(|it| it.next()).collect();
            pieces.push((info, dc, gc, sc, refresh.map(|r| (r, p * size))));
        }
    }
    pieces.into_par_iter().for_each(|(info, dc, gc, mut sc, refresh)| {
        rule.update(info, dc, gc, &mut sc);
        if let Some((r, offset)) = refresh {
            r.refresh(offset, dc);
        }
    });
}
