//! The loss classes (`keras.losses.CategoricalCrossentropy`, ...): a name, a reduction and the
//! function's hyper-parameters, with Keras's exact `get_config()`.

use serde_json::{json, Map, Value};

use super::crossentropy::{
    binary_crossentropy_axis, binary_focal_crossentropy, categorical_crossentropy_axis,
    categorical_focal_crossentropy, categorical_generalized_cross_entropy,
    sparse_categorical_crossentropy_ignore, CategoricalFocalArgs, FocalArgs,
};
use super::kernels::{as_float, squeeze_or_expand};
use super::regression;
use super::{Loss, Reduction};
use crate::utils::config_args::{config_args, ArgFamily, ConfigArg};
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
            crate::setters::setters! {
                /// Sets the reduction.
                with_reduction(reduction): Reduction,
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

/// The losses' config readers: a missing or `null` key takes the default.
pub(crate) struct LossArgs;

impl ArgFamily for LossArgs {
    type Src<'a> = Value;
}

/// `cfg[key]`, parsed by `parse` (`what` names the expected type in the error), or `default`
/// when the key is missing or `null`.
fn loss_arg<T>(
    cfg: &Value,
    key: &str,
    default: Option<T>,
    what: &str,
    parse: impl Fn(&Value) -> Option<T>,
) -> Result<T> {
    match cfg.get(key) {
        None | Some(Value::Null) => {
            default.ok_or_else(|| crate::Error::Config(format!("missing required argument: '{key}'")))
        }
        Some(v) => {
            parse(v).ok_or_else(|| crate::Error::Config(format!("expected {what} for `{key}`, got {v}")))
        }
    }
}

impl ConfigArg<LossArgs> for bool {
    fn to_config(&self) -> Value {
        Value::from(*self)
    }
    fn from_config(cfg: &mut Value, key: &str, default: Option<Self>) -> Result<Self> {
        loss_arg(cfg, key, default, "a boolean", Value::as_bool)
    }
}

impl ConfigArg<LossArgs> for f64 {
    fn to_config(&self) -> Value {
        json!(self)
    }
    fn from_config(cfg: &mut Value, key: &str, default: Option<Self>) -> Result<Self> {
        loss_arg(cfg, key, default, "a number", Value::as_f64)
    }
}

impl ConfigArg<LossArgs> for isize {
    fn to_config(&self) -> Value {
        json!(self)
    }
    fn from_config(cfg: &mut Value, key: &str, default: Option<Self>) -> Result<Self> {
        loss_arg(cfg, key, default, "an integer", |v| v.as_i64().map(|i| i as isize))
    }
}

impl ConfigArg<LossArgs> for Option<i64> {
    fn to_config(&self) -> Value {
        json!(self)
    }
    fn from_config(cfg: &mut Value, key: &str, default: Option<Self>) -> Result<Self> {
        loss_arg(cfg, key, default, "an integer", |v| v.as_i64().map(Some))
    }
}

/// `{"name", "reduction"}` followed by the loss's arguments.
pub(crate) fn loss_config(
    name: &str,
    reduction: Reduction,
    write_args: impl FnOnce(&mut Map<String, Value>),
) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), Value::from(name));
    m.insert("reduction".into(), reduction.to_config());
    write_args(&mut m);
    Value::Object(m)
}

/// The [`Loss`] methods every loss class with `name` and `reduction` fields writes the
/// same way: `name`, `class_name` (`$class`) and `reduction`; with `config`, `get_config`
/// is `self.config()` (the `loss_with_args!` writer); with `params`, the base config and
/// `self.params`' arguments.
macro_rules! loss_base_methods {
    ($class:expr) => {
        fn name(&self) -> &str {
            &self.name
        }
        fn class_name(&self) -> &str {
            $class
        }
        fn reduction(&self) -> $crate::losses::Reduction {
            self.reduction
        }
    };
    ($class:expr, config) => {
        $crate::losses::classes::loss_base_methods!($class);
        fn get_config(&self) -> serde_json::Value {
            self.config()
        }
    };
    ($class:expr, params) => {
        $crate::losses::classes::loss_base_methods!($class);
        fn get_config(&self) -> serde_json::Value {
            $crate::losses::classes::loss_config(&self.name, self.reduction, |m| self.params.write_args(m))
        }
    };
}
pub(crate) use loss_base_methods;

/// A loss class with its arguments declared once (see [`config_args!`]): the struct (name,
/// reduction, arguments), `new()` with Keras's defaults, the argument builders,
/// `common_builders!`, `config()` (the `get_config()` map) and `read_args_from(cfg)`.
macro_rules! loss_with_args {
    (
        $(#[$doc:meta])*
        $Name:ident, $default:expr, $Args:ident;
        new: $(#[$new_doc:meta])*;
        { $($args:tt)* }
    ) => {
        $(#[$doc])*
        #[derive(Clone, Debug)]
        pub struct $Name {
            name: String,
            reduction: Reduction,
            args: $Args,
        }
        config_args! {
            #[doc = concat!("The arguments of [`", stringify!($Name), "`].")]
            #[derive(Clone, Debug)]
            pub(crate) struct $Args in $Name.args, family LossArgs { $($args)* }
        }
        impl $Name {
            $(#[$new_doc])*
            pub fn new() -> Self {
                $Name { name: $default.into(), reduction: Reduction::SumOverBatchSize, args: $Args::defaults() }
            }
            fn config(&self) -> Value {
                loss_config(&self.name, self.reduction, |m| self.args.write_args(m))
            }
            fn read_args_from(cfg: &mut Value) -> Result<Self> {
                Ok($Name { args: $Args::read_args(cfg)?, ..Self::new() })
            }
        }
        common_builders!($Name, $default);
    };
}

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
            loss_base_methods!(stringify!($Name));
            fn call(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
                let (t, p) = wrap_inputs(y_true, y_pred)?;
                $func(&t, &p)
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

loss_with_args!(
    /// `keras.losses.Huber(delta=1.0)`.
    Huber, "huber_loss", HuberArgs;
    new: /// Keras defaults (`delta=1.0`, name `huber_loss`).
    ;
    {
        /// Sets `delta`, where the loss turns from quadratic to linear.
        delta: f64 = 1.0; builder delta(delta: f64); write false,
    }
);

impl Loss for Huber {
    crate::losses::classes::loss_base_methods!("Huber");
    fn call(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
        let (t, p) = wrap_inputs(y_true, y_pred)?;
        regression::huber(&t, &p, self.args.delta)
    }
    fn get_config(&self) -> Value {
        // Keras 3.15 returns only the base config for Huber (`delta` is `write false`).
        self.config()
    }
}

loss_with_args!(
    /// `keras.losses.CosineSimilarity(axis=-1)`: the negative cosine similarity.
    CosineSimilarity, "cosine_similarity", CosineSimilarityArgs;
    new: /// Keras defaults (`axis=-1`).
    ;
    {
        /// Sets the axis the similarity is computed along.
        axis: isize = -1; builder axis(axis: isize); write false,
    }
);

impl Loss for CosineSimilarity {
    // Keras 3.15 returns only the base config for CosineSimilarity (`axis` is `write false`).
    crate::losses::classes::loss_base_methods!("CosineSimilarity", config);
    fn call(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
        let (t, p) = wrap_inputs(y_true, y_pred)?;
        regression::cosine_similarity(&t, &p, self.args.axis)
    }
}

loss_with_args!(
    /// `keras.losses.CategoricalCrossentropy(from_logits=False, label_smoothing=0.0, axis=-1)`.
    CategoricalCrossentropy, "categorical_crossentropy", CategoricalCrossentropyArgs;
    new: /// Keras defaults.
    ;
    {
        /// `y_pred` holds logits.
        from_logits: bool = false; builder from_logits(yes: bool),
        /// Smooths one-hot targets: `y * (1 - ls) + ls / num_classes`.
        label_smoothing: f64 = 0.0; builder label_smoothing(ls: f64),
        /// The class axis.
        axis: isize = -1; builder axis(axis: isize),
    }
);

impl Loss for CategoricalCrossentropy {
    crate::losses::classes::loss_base_methods!("CategoricalCrossentropy", config);
    fn call(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
        let (t, p) = wrap_inputs(y_true, y_pred)?;
        let a = &self.args;
        categorical_crossentropy_axis(&t, &p, a.from_logits, a.label_smoothing, a.axis)
    }
}

loss_with_args!(
    /// `keras.losses.SparseCategoricalCrossentropy(from_logits=False, ignore_class=None)`.
    SparseCategoricalCrossentropy, "sparse_categorical_crossentropy", SparseCategoricalCrossentropyArgs;
    new: /// Keras defaults.
    ;
    {
        /// `y_pred` holds logits.
        from_logits: bool = false; builder from_logits(yes: bool),
        /// A label value whose samples are ignored (loss 0, left out of the mean).
        ignore_class: Option<i64> = None; builder ignore_class(class: Option<i64>),
    }
);

impl Loss for SparseCategoricalCrossentropy {
    crate::losses::classes::loss_base_methods!("SparseCategoricalCrossentropy", config);
    fn call(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
        Ok(self.call_masked(y_true, y_pred)?.0)
    }
    fn call_masked(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<(Tensor, Option<Tensor>)> {
        let (t, p) = squeeze_or_expand(&y_true.detach(), &as_float(y_pred))?;
        sparse_categorical_crossentropy_ignore(&t, &p, self.args.from_logits, self.args.ignore_class)
    }
}

loss_with_args!(
    /// `keras.losses.BinaryCrossentropy(from_logits=False, label_smoothing=0.0, axis=-1)`.
    BinaryCrossentropy, "binary_crossentropy", BinaryCrossentropyArgs;
    new: /// Keras defaults.
    ;
    {
        /// `y_pred` holds logits.
        from_logits: bool = false; builder from_logits(yes: bool),
        /// Smooths labels towards 0.5: `y * (1 - ls) + 0.5 * ls`.
        label_smoothing: f64 = 0.0; builder label_smoothing(ls: f64),
        /// The axis averaged over.
        axis: isize = -1; builder axis(axis: isize),
    }
);

impl Loss for BinaryCrossentropy {
    crate::losses::classes::loss_base_methods!("BinaryCrossentropy", config);
    fn call(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
        let (t, p) = wrap_inputs(y_true, y_pred)?;
        let a = &self.args;
        binary_crossentropy_axis(&t, &p, a.from_logits, a.label_smoothing, a.axis)
    }
}

/// `keras.losses.BinaryFocalCrossentropy(apply_class_balancing=False, alpha=0.25, gamma=2.0,
/// from_logits=False, label_smoothing=0.0, axis=-1)`.
#[derive(Clone, Debug)]
pub struct BinaryFocalCrossentropy {
    name: String,
    reduction: Reduction,
    params: FocalArgs,
}

impl BinaryFocalCrossentropy {
    /// Keras defaults.
    pub fn new() -> Self {
        BinaryFocalCrossentropy {
            name: "binary_focal_crossentropy".into(),
            reduction: Reduction::SumOverBatchSize,
            params: FocalArgs::default(),
        }
    }
    crate::setters::setters! {
        /// Sets every hyper-parameter.
        params: FocalArgs,
    }
}
common_builders!(BinaryFocalCrossentropy, "binary_focal_crossentropy");

impl Loss for BinaryFocalCrossentropy {
    crate::losses::classes::loss_base_methods!("BinaryFocalCrossentropy", params);
    fn call(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
        let (t, p) = wrap_inputs(y_true, y_pred)?;
        binary_focal_crossentropy(&t, &p, self.params)
    }
}

/// `keras.losses.CategoricalFocalCrossentropy(alpha=0.25, gamma=2.0, from_logits=False,
/// label_smoothing=0.0, axis=-1)`.
#[derive(Clone, Debug)]
pub struct CategoricalFocalCrossentropy {
    name: String,
    reduction: Reduction,
    params: CategoricalFocalArgs,
}

impl CategoricalFocalCrossentropy {
    /// Keras defaults.
    pub fn new() -> Self {
        CategoricalFocalCrossentropy {
            name: "categorical_focal_crossentropy".into(),
            reduction: Reduction::SumOverBatchSize,
            params: CategoricalFocalArgs::default(),
        }
    }
    crate::setters::setters! {
        /// Sets every hyper-parameter.
        params: CategoricalFocalArgs,
    }
}
common_builders!(CategoricalFocalCrossentropy, "categorical_focal_crossentropy");

impl Loss for CategoricalFocalCrossentropy {
    crate::losses::classes::loss_base_methods!("CategoricalFocalCrossentropy", params);
    fn call(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
        let (t, p) = wrap_inputs(y_true, y_pred)?;
        categorical_focal_crossentropy(&t, &p, self.params)
    }
}

loss_with_args!(
    /// `keras.losses.CategoricalGeneralizedCrossEntropy(q=0.5)` (Zhang & Sabuncu, 2018): a loss
    /// robust to noisy labels between crossentropy (`q -> 0`) and MAE (`q = 1`). `y_true` holds
    /// integer class ids.
    ///
    /// As in Keras 3.15, this class is not among the names `keras.losses.get` resolves; it is
    /// built directly or deserialized from its class name.
    CategoricalGeneralizedCrossEntropy, "categorical_generalized_cross_entropy", CategoricalGeneralizedCrossEntropyArgs;
    new: /// Keras defaults (`q=0.5`).
    ;
    {
        /// The exponent `q`, strictly between 0 and 1 (set with the checked builder `q`).
        q: f64 = 0.5,
    }
);

/// Keras's check of `q` (`CategoricalGeneralizedCrossEntropy.__init__`).
fn check_q(q: f64) -> Result<()> {
    if !(q > 0.0 && q < 1.0) {
        keras_bail!(InvalidArgument, "q must be in the interval (0, 1)");
    }
    Ok(())
}

impl CategoricalGeneralizedCrossEntropy {
    /// Sets `q`, which must lie strictly between 0 and 1.
    pub fn q(mut self, q: f64) -> Result<Self> {
        check_q(q)?;
        self.args.q = q;
        Ok(self)
    }
}

impl Loss for CategoricalGeneralizedCrossEntropy {
    crate::losses::classes::loss_base_methods!("CategoricalGeneralizedCrossEntropy", config);
    fn call(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
        let (t, p) = wrap_inputs(y_true, y_pred)?;
        categorical_generalized_cross_entropy(&t, &p, self.args.q)
    }
}

fn cfg_i64(cfg: &Value, key: &str) -> Result<Option<i64>> {
    <Option<i64> as ConfigArg<LossArgs>>::from_config(&mut cfg.clone(), key, Some(None))
}

/// `cls.from_config(config)` for a Keras loss class name.
pub(crate) fn from_config(class: &str, cfg: &Value) -> Result<Box<dyn Loss>> {
    if !cfg.is_object() && !cfg.is_null() {
        keras_bail!(Config, "expected a config object for loss {class}, got {cfg}");
    }
    // Dice and Tversky take `None`, an integer or a list (read below); every other class is
    // checked for an integer `axis` first, as before the arguments are read.
    if !matches!(class, "Dice" | "Tversky") {
        cfg_i64(cfg, "axis")?;
    }
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
    // Each class reads its own arguments (declared once, with `config_args!`).
    let mut c = cfg.clone();
    let c = &mut c;
    Ok(match class {
        "CategoricalCrossentropy" => finish!(CategoricalCrossentropy::read_args_from(c)?),
        "SparseCategoricalCrossentropy" => finish!(SparseCategoricalCrossentropy::read_args_from(c)?),
        "BinaryCrossentropy" => finish!(BinaryCrossentropy::read_args_from(c)?),
        "BinaryFocalCrossentropy" => {
            finish!(BinaryFocalCrossentropy::new().params(FocalArgs::read_args(c)?))
        }
        "CategoricalFocalCrossentropy" => {
            finish!(CategoricalFocalCrossentropy::new().params(CategoricalFocalArgs::read_args(c)?))
        }
        "CategoricalGeneralizedCrossEntropy" => finish!({
            let l = CategoricalGeneralizedCrossEntropy::read_args_from(c)?;
            check_q(l.args.q)?;
            l
        }),
        "Dice" => {
            finish!(super::Dice::new().axis_arg(super::segmentation::AxisArg::from_config(cfg.get("axis"))?))
        }
        "Tversky" => finish!(super::Tversky::new()
            .alpha(<f64 as ConfigArg<LossArgs>>::from_config(c, "alpha", Some(0.5))?)
            .beta(<f64 as ConfigArg<LossArgs>>::from_config(c, "beta", Some(0.5))?)
            .axis_arg(super::segmentation::AxisArg::from_config(cfg.get("axis"))?)),
        "Circle" => finish!(super::Circle::new().params(super::CircleArgs::read_args(c)?)),
        "CTC" => finish!(super::CTC::new()),
        "Huber" => finish!(Huber::read_args_from(c)?),
        "CosineSimilarity" => finish!(CosineSimilarity::read_args_from(c)?),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn err(class: &str, cfg: Value) -> String {
        match from_config(class, &cfg) {
            Ok(_) => panic!("{class} accepted {cfg}"),
            Err(e) => e.to_string(),
        }
    }

    fn keys(v: &Value) -> Vec<&str> {
        v.as_object().unwrap().keys().map(String::as_str).collect()
    }

    /// `get_config()` keys come in Keras's order (serde_json preserves insertion order), and
    /// `from_config(get_config())` gives back the same config.
    #[test]
    fn config_keys_in_keras_order_and_round_trip() {
        let cases: Vec<(Box<dyn Loss>, Vec<&str>)> =
            vec![
                (Box::new(Huber::new().delta(2.5)), vec!["name", "reduction"]),
                (Box::new(CosineSimilarity::new().axis(0)), vec!["name", "reduction"]),
                (
                    Box::new(CategoricalCrossentropy::new().from_logits(true).label_smoothing(0.1).axis(0)),
                    vec!["name", "reduction", "from_logits", "label_smoothing", "axis"],
                ),
                (
                    Box::new(SparseCategoricalCrossentropy::new().from_logits(true).ignore_class(Some(3))),
                    vec!["name", "reduction", "from_logits", "ignore_class"],
                ),
                (
                    Box::new(BinaryCrossentropy::new().label_smoothing(0.2).axis(1)),
                    vec!["name", "reduction", "from_logits", "label_smoothing", "axis"],
                ),
                (
                    Box::new(BinaryFocalCrossentropy::new().params(FocalArgs {
                        apply_class_balancing: true,
                        alpha: 0.5,
                        ..FocalArgs::default()
                    })),
                    vec![
                        "name",
                        "reduction",
                        "from_logits",
                        "label_smoothing",
                        "axis",
                        "apply_class_balancing",
                        "alpha",
                        "gamma",
                    ],
                ),
                (
                    Box::new(
                        CategoricalFocalCrossentropy::new()
                            .params(CategoricalFocalArgs { gamma: 3.0, ..CategoricalFocalArgs::default() }),
                    ),
                    vec!["name", "reduction", "from_logits", "label_smoothing", "axis", "alpha", "gamma"],
                ),
                (
                    Box::new(CategoricalGeneralizedCrossEntropy::new().q(0.25).unwrap()),
                    vec!["name", "reduction", "q"],
                ),
                (
                    Box::new(super::super::Circle::new().params(super::super::CircleArgs {
                        margin: 0.3,
                        ..super::super::CircleArgs::default()
                    })),
                    vec!["name", "reduction", "gamma", "margin", "remove_diagonal"],
                ),
            ];
        for (loss, want) in cases {
            let cfg = loss.get_config();
            assert_eq!(keys(&cfg), want, "{}", loss.class_name());
            let back = from_config(loss.class_name(), &cfg).unwrap();
            assert_eq!(back.get_config().to_string(), cfg.to_string(), "{}", loss.class_name());
        }
        let f = BinaryFocalCrossentropy::new().params(FocalArgs { alpha: 0.5, ..FocalArgs::default() });
        assert_eq!(f.get_config()["alpha"], json!(0.5));
        assert_eq!(FocalArgs::CONFIG_KEYS.len(), 6);
    }

    /// The readers keep their null policy and error messages.
    #[test]
    fn config_readers_keep_null_policy_and_messages() {
        let l = from_config("CategoricalCrossentropy", &json!({"from_logits": null, "axis": null})).unwrap();
        assert_eq!(l.get_config()["from_logits"], json!(false));
        assert_eq!(l.get_config()["axis"], json!(-1));
        let e = err("BinaryCrossentropy", json!({"from_logits": 1}));
        assert!(e.to_string().contains("expected a boolean for `from_logits`, got 1"), "{e}");
        let e = err("Huber", json!({"delta": "x"}));
        assert!(e.to_string().contains("expected a number for `delta`, got \"x\""), "{e}");
        let e = err("Huber", json!({"axis": 0.5}));
        assert!(e.to_string().contains("expected an integer for `axis`, got 0.5"), "{e}");
        let e = err("CategoricalGeneralizedCrossEntropy", json!({"q": 1.5}));
        assert!(e.to_string().contains("q must be in the interval (0, 1)"), "{e}");
        let h = from_config("Huber", &json!({"delta": 3.0})).unwrap();
        assert_eq!(keys(&h.get_config()), vec!["name", "reduction"]);
    }
}
