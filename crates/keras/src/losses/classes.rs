//! The loss classes (`keras.losses.CategoricalCrossentropy`, ...): a name, a reduction and the
//! function's hyper-parameters, with Keras's exact `get_config()`.

use serde_json::{json, Value};

use super::crossentropy::{
    binary_crossentropy_axis, binary_focal_crossentropy, categorical_crossentropy_axis,
    categorical_focal_crossentropy, categorical_generalized_cross_entropy,
    sparse_categorical_crossentropy_ignore, CategoricalFocalParams, FocalParams,
};
use super::kernels::{as_float, squeeze_or_expand};
use super::regression;
use super::{Loss, Reduction};
use crate::{keras_bail, Result, Tensor};

/// `LossFunctionWrapper.call`: float `y_true` (no gradient) and `y_pred`, squeezed or
/// expanded to the same rank.
pub(crate) fn wrap_inputs(y_true: &Tensor, y_pred: &Tensor) -> Result<(Tensor, Tensor)> {
    let t = as_float(y_true).detach();
    let p = as_float(y_pred);
    squeeze_or_expand(&t, &p)
}

macro_rules! common_builders {
    ($Name:ident, $default:expr) => {
        impl Default for $Name {
            fn default() -> Self {
                Self::new()
            }
        }
        impl $Name {
            /// Sets the loss name.
            pub fn with_name(mut self, name: &str) -> Self {
                self.name = name.to_string();
                self
            }
            /// Sets the reduction.
            pub fn with_reduction(mut self, reduction: Reduction) -> Self {
                self.reduction = reduction;
                self
            }
            /// Keras's `dtype` argument: the dtype of the loss's computations. keras-rs
            /// computes losses in float32, Keras's default (`keras.config.floatx()`), so
            /// `"float32"` is accepted and any other dtype is an error.
            pub fn with_dtype(self, dtype: &str) -> $crate::Result<Self> {
                $crate::losses::check_dtype(&serde_json::Value::from(dtype))?;
                Ok(self)
            }
        }
    };
}
pub(crate) use common_builders;

macro_rules! simple_loss {
    ($(#[$doc:meta])* $Name:ident, $default:expr, $func:path) => {
        $(#[$doc])*
        #[derive(Clone, Debug)]
        pub struct $Name {
            name: String,
            reduction: Reduction,
        }
        impl $Name {
            /// Keras defaults (`reduction="sum_over_batch_size"`).
            pub fn new() -> Self {
                Self {
                    name: $default.to_string(),
                    reduction: Reduction::SumOverBatchSize,
                }
            }
        }
        common_builders!($Name, $default);
        impl Loss for $Name {
            fn name(&self) -> &str {
                &self.name
            }
            fn class_name(&self) -> &str {
                stringify!($Name)
            }
            fn call(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
                let (t, p) = wrap_inputs(y_true, y_pred)?;
                $func(&t, &p)
            }
            fn reduction(&self) -> Reduction {
                self.reduction
            }
            fn get_config(&self) -> Value {
                json!({"name": self.name, "reduction": self.reduction.to_config()})
            }
        }
    };
}

simple_loss!(
    /// `keras.losses.MeanSquaredError`.
    MeanSquaredError,
    "mean_squared_error",
    regression::mean_squared_error
);
simple_loss!(
    /// `keras.losses.MeanAbsoluteError`.
    MeanAbsoluteError,
    "mean_absolute_error",
    regression::mean_absolute_error
);
simple_loss!(
    /// `keras.losses.MeanAbsolutePercentageError`.
    MeanAbsolutePercentageError,
    "mean_absolute_percentage_error",
    regression::mean_absolute_percentage_error
);
simple_loss!(
    /// `keras.losses.MeanSquaredLogarithmicError`.
    MeanSquaredLogarithmicError,
    "mean_squared_logarithmic_error",
    regression::mean_squared_logarithmic_error
);
simple_loss!(
    /// `keras.losses.LogCosh`.
    LogCosh,
    "log_cosh",
    regression::log_cosh
);
simple_loss!(
    /// `keras.losses.KLDivergence`.
    KLDivergence,
    "kl_divergence",
    regression::kl_divergence
);
simple_loss!(
    /// `keras.losses.Poisson`.
    Poisson,
    "poisson",
    regression::poisson
);
simple_loss!(
    /// `keras.losses.Hinge` (labels in `{-1, 1}`; `{0, 1}` labels are converted).
    Hinge,
    "hinge",
    regression::hinge
);
simple_loss!(
    /// `keras.losses.SquaredHinge`.
    SquaredHinge,
    "squared_hinge",
    regression::squared_hinge
);
simple_loss!(
    /// `keras.losses.CategoricalHinge`.
    CategoricalHinge,
    "categorical_hinge",
    regression::categorical_hinge
);

/// `keras.losses.Huber(delta=1.0)`.
#[derive(Clone, Debug)]
pub struct Huber {
    name: String,
    reduction: Reduction,
    delta: f64,
}

impl Huber {
    /// Keras defaults (`delta=1.0`, name `huber_loss`).
    pub fn new() -> Self {
        Huber { name: "huber_loss".into(), reduction: Reduction::SumOverBatchSize, delta: 1.0 }
    }
    /// Sets `delta`, where the loss turns from quadratic to linear.
    pub fn delta(mut self, delta: f64) -> Self {
        self.delta = delta;
        self
    }
}
common_builders!(Huber, "huber_loss");

impl Loss for Huber {
    fn name(&self) -> &str {
        &self.name
    }
    fn class_name(&self) -> &str {
        "Huber"
    }
    fn call(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
        let (t, p) = wrap_inputs(y_true, y_pred)?;
        regression::huber(&t, &p, self.delta)
    }
    fn reduction(&self) -> Reduction {
        self.reduction
    }
    fn get_config(&self) -> Value {
        // Keras 3.15 returns only the base config for Huber.
        json!({"name": self.name, "reduction": self.reduction.to_config()})
    }
}

/// `keras.losses.CosineSimilarity(axis=-1)`: the negative cosine similarity.
#[derive(Clone, Debug)]
pub struct CosineSimilarity {
    name: String,
    reduction: Reduction,
    axis: isize,
}

impl CosineSimilarity {
    /// Keras defaults (`axis=-1`).
    pub fn new() -> Self {
        CosineSimilarity {
            name: "cosine_similarity".into(),
            reduction: Reduction::SumOverBatchSize,
            axis: -1,
        }
    }
    /// Sets the axis the similarity is computed along.
    pub fn axis(mut self, axis: isize) -> Self {
        self.axis = axis;
        self
    }
}
common_builders!(CosineSimilarity, "cosine_similarity");

impl Loss for CosineSimilarity {
    fn name(&self) -> &str {
        &self.name
    }
    fn class_name(&self) -> &str {
        "CosineSimilarity"
    }
    fn call(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
        let (t, p) = wrap_inputs(y_true, y_pred)?;
        regression::cosine_similarity(&t, &p, self.axis)
    }
    fn reduction(&self) -> Reduction {
        self.reduction
    }
    fn get_config(&self) -> Value {
        json!({"name": self.name, "reduction": self.reduction.to_config()})
    }
}

/// `keras.losses.CategoricalCrossentropy(from_logits=False, label_smoothing=0.0, axis=-1)`.
#[derive(Clone, Debug)]
pub struct CategoricalCrossentropy {
    name: String,
    reduction: Reduction,
    from_logits: bool,
    label_smoothing: f64,
    axis: isize,
}

impl CategoricalCrossentropy {
    /// Keras defaults.
    pub fn new() -> Self {
        CategoricalCrossentropy {
            name: "categorical_crossentropy".into(),
            reduction: Reduction::SumOverBatchSize,
            from_logits: false,
            label_smoothing: 0.0,
            axis: -1,
        }
    }
    /// `y_pred` holds logits.
    pub fn from_logits(mut self, yes: bool) -> Self {
        self.from_logits = yes;
        self
    }
    /// Smooths one-hot targets: `y * (1 - ls) + ls / num_classes`.
    pub fn label_smoothing(mut self, ls: f64) -> Self {
        self.label_smoothing = ls;
        self
    }
    /// The class axis.
    pub fn axis(mut self, axis: isize) -> Self {
        self.axis = axis;
        self
    }
}
common_builders!(CategoricalCrossentropy, "categorical_crossentropy");

impl Loss for CategoricalCrossentropy {
    fn name(&self) -> &str {
        &self.name
    }
    fn class_name(&self) -> &str {
        "CategoricalCrossentropy"
    }
    fn call(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
        let (t, p) = wrap_inputs(y_true, y_pred)?;
        categorical_crossentropy_axis(&t, &p, self.from_logits, self.label_smoothing, self.axis)
    }
    fn reduction(&self) -> Reduction {
        self.reduction
    }
    fn get_config(&self) -> Value {
        json!({
            "name": self.name,
            "reduction": self.reduction.to_config(),
            "from_logits": self.from_logits,
            "label_smoothing": self.label_smoothing,
            "axis": self.axis,
        })
    }
}

/// `keras.losses.SparseCategoricalCrossentropy(from_logits=False, ignore_class=None)`.
#[derive(Clone, Debug)]
pub struct SparseCategoricalCrossentropy {
    name: String,
    reduction: Reduction,
    from_logits: bool,
    ignore_class: Option<i64>,
}

impl SparseCategoricalCrossentropy {
    /// Keras defaults.
    pub fn new() -> Self {
        SparseCategoricalCrossentropy {
            name: "sparse_categorical_crossentropy".into(),
            reduction: Reduction::SumOverBatchSize,
            from_logits: false,
            ignore_class: None,
        }
    }
    /// `y_pred` holds logits.
    pub fn from_logits(mut self, yes: bool) -> Self {
        self.from_logits = yes;
        self
    }
    /// A label value whose samples are ignored (loss 0, left out of the mean).
    pub fn ignore_class(mut self, class: Option<i64>) -> Self {
        self.ignore_class = class;
        self
    }
}
common_builders!(SparseCategoricalCrossentropy, "sparse_categorical_crossentropy");

impl Loss for SparseCategoricalCrossentropy {
    fn name(&self) -> &str {
        &self.name
    }
    fn class_name(&self) -> &str {
        "SparseCategoricalCrossentropy"
    }
    fn call(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
        Ok(self.call_masked(y_true, y_pred)?.0)
    }
    fn call_masked(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<(Tensor, Option<Tensor>)> {
        let (t, p) = squeeze_or_expand(&y_true.detach(), &as_float(y_pred))?;
        sparse_categorical_crossentropy_ignore(&t, &p, self.from_logits, self.ignore_class)
    }
    fn reduction(&self) -> Reduction {
        self.reduction
    }
    fn get_config(&self) -> Value {
        json!({
            "name": self.name,
            "reduction": self.reduction.to_config(),
            "from_logits": self.from_logits,
            "ignore_class": self.ignore_class,
        })
    }
}

/// `keras.losses.BinaryCrossentropy(from_logits=False, label_smoothing=0.0, axis=-1)`.
#[derive(Clone, Debug)]
pub struct BinaryCrossentropy {
    name: String,
    reduction: Reduction,
    from_logits: bool,
    label_smoothing: f64,
    axis: isize,
}

impl BinaryCrossentropy {
    /// Keras defaults.
    pub fn new() -> Self {
        BinaryCrossentropy {
            name: "binary_crossentropy".into(),
            reduction: Reduction::SumOverBatchSize,
            from_logits: false,
            label_smoothing: 0.0,
            axis: -1,
        }
    }
    /// `y_pred` holds logits.
    pub fn from_logits(mut self, yes: bool) -> Self {
        self.from_logits = yes;
        self
    }
    /// Smooths labels towards 0.5: `y * (1 - ls) + 0.5 * ls`.
    pub fn label_smoothing(mut self, ls: f64) -> Self {
        self.label_smoothing = ls;
        self
    }
    /// The axis averaged over.
    pub fn axis(mut self, axis: isize) -> Self {
        self.axis = axis;
        self
    }
}
common_builders!(BinaryCrossentropy, "binary_crossentropy");

impl Loss for BinaryCrossentropy {
    fn name(&self) -> &str {
        &self.name
    }
    fn class_name(&self) -> &str {
        "BinaryCrossentropy"
    }
    fn call(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
        let (t, p) = wrap_inputs(y_true, y_pred)?;
        binary_crossentropy_axis(&t, &p, self.from_logits, self.label_smoothing, self.axis)
    }
    fn reduction(&self) -> Reduction {
        self.reduction
    }
    fn get_config(&self) -> Value {
        json!({
            "name": self.name,
            "reduction": self.reduction.to_config(),
            "from_logits": self.from_logits,
            "label_smoothing": self.label_smoothing,
            "axis": self.axis,
        })
    }
}

/// `keras.losses.BinaryFocalCrossentropy(apply_class_balancing=False, alpha=0.25, gamma=2.0,
/// from_logits=False, label_smoothing=0.0, axis=-1)`.
#[derive(Clone, Debug)]
pub struct BinaryFocalCrossentropy {
    name: String,
    reduction: Reduction,
    params: FocalParams,
}

impl BinaryFocalCrossentropy {
    /// Keras defaults.
    pub fn new() -> Self {
        BinaryFocalCrossentropy {
            name: "binary_focal_crossentropy".into(),
            reduction: Reduction::SumOverBatchSize,
            params: FocalParams::default(),
        }
    }
    /// Sets every hyper-parameter.
    pub fn params(mut self, params: FocalParams) -> Self {
        self.params = params;
        self
    }
}
common_builders!(BinaryFocalCrossentropy, "binary_focal_crossentropy");

impl Loss for BinaryFocalCrossentropy {
    fn name(&self) -> &str {
        &self.name
    }
    fn class_name(&self) -> &str {
        "BinaryFocalCrossentropy"
    }
    fn call(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
        let (t, p) = wrap_inputs(y_true, y_pred)?;
        binary_focal_crossentropy(&t, &p, self.params)
    }
    fn reduction(&self) -> Reduction {
        self.reduction
    }
    fn get_config(&self) -> Value {
        let p = &self.params;
        json!({
            "name": self.name,
            "reduction": self.reduction.to_config(),
            "from_logits": p.from_logits,
            "label_smoothing": p.label_smoothing,
            "axis": p.axis,
            "apply_class_balancing": p.apply_class_balancing,
            "alpha": p.alpha,
            "gamma": p.gamma,
        })
    }
}

/// `keras.losses.CategoricalFocalCrossentropy(alpha=0.25, gamma=2.0, from_logits=False,
/// label_smoothing=0.0, axis=-1)`.
#[derive(Clone, Debug)]
pub struct CategoricalFocalCrossentropy {
    name: String,
    reduction: Reduction,
    params: CategoricalFocalParams,
}

impl CategoricalFocalCrossentropy {
    /// Keras defaults.
    pub fn new() -> Self {
        CategoricalFocalCrossentropy {
            name: "categorical_focal_crossentropy".into(),
            reduction: Reduction::SumOverBatchSize,
            params: CategoricalFocalParams::default(),
        }
    }
    /// Sets every hyper-parameter.
    pub fn params(mut self, params: CategoricalFocalParams) -> Self {
        self.params = params;
        self
    }
}
common_builders!(CategoricalFocalCrossentropy, "categorical_focal_crossentropy");

impl Loss for CategoricalFocalCrossentropy {
    fn name(&self) -> &str {
        &self.name
    }
    fn class_name(&self) -> &str {
        "CategoricalFocalCrossentropy"
    }
    fn call(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
        let (t, p) = wrap_inputs(y_true, y_pred)?;
        categorical_focal_crossentropy(&t, &p, self.params)
    }
    fn reduction(&self) -> Reduction {
        self.reduction
    }
    fn get_config(&self) -> Value {
        let p = &self.params;
        json!({
            "name": self.name,
            "reduction": self.reduction.to_config(),
            "from_logits": p.from_logits,
            "label_smoothing": p.label_smoothing,
            "axis": p.axis,
            "alpha": p.alpha,
            "gamma": p.gamma,
        })
    }
}

/// `keras.losses.CategoricalGeneralizedCrossEntropy(q=0.5)` (Zhang & Sabuncu, 2018): a loss
/// robust to noisy labels between crossentropy (`q -> 0`) and MAE (`q = 1`). `y_true` holds
/// integer class ids.
///
/// As in Keras 3.15, this class is not among the names `keras.losses.get` resolves; it is
/// built directly or deserialized from its class name.
#[derive(Clone, Debug)]
pub struct CategoricalGeneralizedCrossEntropy {
    name: String,
    reduction: Reduction,
    q: f64,
}

impl CategoricalGeneralizedCrossEntropy {
    /// Keras defaults (`q=0.5`).
    pub fn new() -> Self {
        CategoricalGeneralizedCrossEntropy {
            name: "categorical_generalized_cross_entropy".into(),
            reduction: Reduction::SumOverBatchSize,
            q: 0.5,
        }
    }
    /// Sets `q`, which must lie strictly between 0 and 1.
    pub fn q(mut self, q: f64) -> Result<Self> {
        if !(q > 0.0 && q < 1.0) {
            keras_bail!(InvalidArgument, "q must be in the interval (0, 1)");
        }
        self.q = q;
        Ok(self)
    }
}
common_builders!(CategoricalGeneralizedCrossEntropy, "categorical_generalized_cross_entropy");

impl Loss for CategoricalGeneralizedCrossEntropy {
    fn name(&self) -> &str {
        &self.name
    }
    fn class_name(&self) -> &str {
        "CategoricalGeneralizedCrossEntropy"
    }
    fn call(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
        let (t, p) = wrap_inputs(y_true, y_pred)?;
        categorical_generalized_cross_entropy(&t, &p, self.q)
    }
    fn reduction(&self) -> Reduction {
        self.reduction
    }
    fn get_config(&self) -> Value {
        json!({"name": self.name, "reduction": self.reduction.to_config(), "q": self.q})
    }
}

fn cfg_bool(cfg: &Value, key: &str, default: bool) -> Result<bool> {
    match cfg.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(other) => keras_bail!(Config, "expected a boolean for `{key}`, got {other}"),
    }
}

fn cfg_f64(cfg: &Value, key: &str, default: f64) -> Result<f64> {
    match cfg.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(v) => {
            v.as_f64().ok_or_else(|| crate::Error::Config(format!("expected a number for `{key}`, got {v}")))
        }
    }
}

fn cfg_i64(cfg: &Value, key: &str) -> Result<Option<i64>> {
    match cfg.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_i64()
            .map(Some)
            .ok_or_else(|| crate::Error::Config(format!("expected an integer for `{key}`, got {v}"))),
    }
}

/// `cls.from_config(config)` for a Keras loss class name.
pub(crate) fn from_config(class: &str, cfg: &Value) -> Result<Box<dyn Loss>> {
    if !cfg.is_object() && !cfg.is_null() {
        keras_bail!(Config, "expected a config object for loss {class}, got {cfg}");
    }
    // Dice and Tversky take `None`, an integer or a list (read below).
    let axis =
        if matches!(class, "Dice" | "Tversky") { -1 } else { cfg_i64(cfg, "axis")?.unwrap_or(-1) as isize };
    let name = cfg.get("name").and_then(Value::as_str).map(str::to_string);
    let reduction = match cfg.get("reduction") {
        Some(r) => Some(Reduction::from_config(r)?),
        None => None,
    };
    if let Some(d) = cfg.get("dtype") {
        super::check_dtype(d)?;
    }
    macro_rules! finish {
        ($e:expr) => {{
            let mut l = $e;
            if let Some(n) = &name {
                l = l.with_name(n);
            }
            if let Some(r) = reduction {
                l = l.with_reduction(r);
            }
            Box::new(l) as Box<dyn Loss>
        }};
    }
    Ok(match class {
        "CategoricalCrossentropy" => finish!(CategoricalCrossentropy::new()
            .from_logits(cfg_bool(cfg, "from_logits", false)?)
            .label_smoothing(cfg_f64(cfg, "label_smoothing", 0.0)?)
            .axis(axis)),
        "SparseCategoricalCrossentropy" => finish!(SparseCategoricalCrossentropy::new()
            .from_logits(cfg_bool(cfg, "from_logits", false)?)
            .ignore_class(cfg_i64(cfg, "ignore_class")?)),
        "BinaryCrossentropy" => finish!(BinaryCrossentropy::new()
            .from_logits(cfg_bool(cfg, "from_logits", false)?)
            .label_smoothing(cfg_f64(cfg, "label_smoothing", 0.0)?)
            .axis(axis)),
        "BinaryFocalCrossentropy" => finish!(BinaryFocalCrossentropy::new().params(FocalParams {
            apply_class_balancing: cfg_bool(cfg, "apply_class_balancing", false)?,
            alpha: cfg_f64(cfg, "alpha", 0.25)?,
            gamma: cfg_f64(cfg, "gamma", 2.0)?,
            from_logits: cfg_bool(cfg, "from_logits", false)?,
            label_smoothing: cfg_f64(cfg, "label_smoothing", 0.0)?,
            axis,
        })),
        "CategoricalFocalCrossentropy" => {
            finish!(CategoricalFocalCrossentropy::new().params(CategoricalFocalParams {
                alpha: cfg_f64(cfg, "alpha", 0.25)?,
                gamma: cfg_f64(cfg, "gamma", 2.0)?,
                from_logits: cfg_bool(cfg, "from_logits", false)?,
                label_smoothing: cfg_f64(cfg, "label_smoothing", 0.0)?,
                axis,
            }))
        }
        "CategoricalGeneralizedCrossEntropy" => {
            finish!(CategoricalGeneralizedCrossEntropy::new().q(cfg_f64(cfg, "q", 0.5)?)?)
        }
        "Dice" => {
            finish!(super::Dice::new().axis_arg(super::segmentation::AxisArg::from_config(cfg.get("axis"))?))
        }
        "Tversky" => finish!(super::Tversky::new()
            .alpha(cfg_f64(cfg, "alpha", 0.5)?)
            .beta(cfg_f64(cfg, "beta", 0.5)?)
            .axis_arg(super::segmentation::AxisArg::from_config(cfg.get("axis"))?)),
        "Circle" => finish!(super::Circle::new().params(super::CircleParams {
            gamma: cfg_f64(cfg, "gamma", 80.0)?,
            margin: cfg_f64(cfg, "margin", 0.4)?,
            remove_diagonal: cfg_bool(cfg, "remove_diagonal", true)?,
        })),
        "CTC" => finish!(super::CTC::new()),
        "Huber" => finish!(Huber::new().delta(cfg_f64(cfg, "delta", 1.0)?)),
        "CosineSimilarity" => finish!(CosineSimilarity::new().axis(axis)),
        "MeanSquaredError" => finish!(MeanSquaredError::new()),
        "MeanAbsoluteError" => finish!(MeanAbsoluteError::new()),
        "MeanAbsolutePercentageError" => finish!(MeanAbsolutePercentageError::new()),
        "MeanSquaredLogarithmicError" => finish!(MeanSquaredLogarithmicError::new()),
        "LogCosh" => finish!(LogCosh::new()),
        "KLDivergence" => finish!(KLDivergence::new()),
        "Poisson" => finish!(Poisson::new()),
        "Hinge" => finish!(Hinge::new()),
        "SquaredHinge" => finish!(SquaredHinge::new()),
        "CategoricalHinge" => finish!(CategoricalHinge::new()),
        other => keras_bail!(InvalidArgument, "Could not interpret loss identifier: {other}"),
    })
}

/// The same loss named `name` (how `compile` names a loss given by a function name).
pub(crate) fn renamed(loss: Box<dyn Loss>, name: &str) -> Result<Box<dyn Loss>> {
    let mut cfg = loss.get_config();
    cfg["name"] = Value::from(name);
    from_config(loss.class_name(), &cfg)
}
