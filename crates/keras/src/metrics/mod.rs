//! Metrics (`keras.metrics`): stateful `update_state` / `result` / `reset_state`, exactly as
//! Keras accumulates them.
//!
//! ```
//! use keras::metrics::{self, Metric};
//! use keras::Tensor;
//! let y_true = Tensor::from_i32(vec![1, 0], [2]).unwrap();
//! let y_pred = Tensor::new(vec![0.2, 0.8, 0.4, 0.6], [2, 2]).unwrap();
//! let mut acc = metrics::resolve_compile_metric("accuracy", "sparse_categorical_crossentropy",
//!                                               &y_true, &y_pred).unwrap();
//! acc.update_state(&y_true, &y_pred, None).unwrap();
//! assert_eq!(acc.name(), "accuracy");
//! assert_eq!(acc.result(), 0.5);
//! ```
//!
//! Submodules:
//! - `auc`: `keras.metrics.AUC`
//! - `confusion`: Threshold metrics over confusion counts
//! - `confusion_matrix`: The counting every threshold metric shares
//! - `correlation`: `keras.metrics.pearson_correlation` and `concordance_correlation`
//! - `f_score`: `FBetaScore` and `F1Score` (keras/src/metrics/f_score_metrics.py)
//! - `iou`: `IoU`, `BinaryIoU`, `OneHotIoU` and `OneHotMeanIoU` (Keras's `_IoUBase` family)
//! - `mean`: `Mean` and `MeanMetricWrapper`
//! - `reduction`: `RootMeanSquaredError` and `Sum`, accumulated as Keras's reduction metrics
//! - `regression`: `keras.metrics.R2Score`
//! - `sensitivity`: `SensitivityAtSpecificity`, `SpecificityAtSensitivity`, `PrecisionAtRecall` and `RecallAtPrecision` (Keras's `SensitivitySpecificityBase`)

mod auc;
mod confusion;
mod confusion_matrix;
mod correlation;
mod f_score;
mod iou;
mod mean;
mod reduction;
mod regression;
mod sensitivity;

use serde_json::Value;

pub use auc::{AucArgs, AucCurve, AucSummation, AUC};
pub use confusion::{ConfusionCount, ConfusionKind, Precision, Recall};
pub use correlation::{concordance_correlation, pearson_correlation};
pub use f_score::{F1Score, FBetaScore, FScoreAverage};
pub use iou::{IoU, MeanIoU};
pub use mean::{
    accuracy, binary_accuracy, categorical_accuracy, sparse_categorical_accuracy,
    sparse_top_k_categorical_accuracy, sparse_top_k_categorical_accuracy_ext, top_k_categorical_accuracy,
    Mean, MeanMetricWrapper, MetricFn,
};
pub use reduction::{RootMeanSquaredError, Sum};
pub use regression::{R2Aggregation, R2Score};
pub use sensitivity::{RateAtRate, RateAtRateKind};

use crate::{keras_bail, Result, Tensor};

/// A Keras metric.
pub trait Metric: Send {
    /// The metric's name (the key in logs and History: `accuracy`).
    fn name(&self) -> &str;
    /// Accumulates a batch.
    fn update_state(
        &mut self,
        y_true: &Tensor,
        y_pred: &Tensor,
        sample_weight: Option<&Tensor>,
    ) -> Result<()>;
    /// The current value.
    fn result(&self) -> f32;
    /// Clears the state.
    fn reset_state(&mut self);
    /// The Keras config.
    fn get_config(&self) -> Value;
    /// The Keras class name (`SparseCategoricalAccuracy`).
    fn class_name(&self) -> &str {
        "Metric"
    }
    /// Renames the metric (as `compile` does with the user's string).
    fn set_name(&mut self, _name: &str) {}
    /// Every value of the result: one per threshold for `Precision`/`Recall` with several
    /// thresholds; `[result()]` otherwise.
    fn results(&self) -> Vec<f32> {
        vec![self.result()]
    }
    /// The metric's state variables with their Keras names (`metric.variables`:
    /// `true_positives`, `false_negatives`, ...), for the metrics that expose them.
    fn variables(&self) -> Vec<(String, Tensor)> {
        Vec::new()
    }
}

/// The name of a metric kept in its field `name: String`, written once:
/// `metric_name!(builder)` in the metric's inherent `impl` gives the builder `with_name`,
/// `metric_name!()` in its `impl Metric` gives [`Metric::name`] and [`Metric::set_name`].
macro_rules! metric_name {
    (builder) => {
        /// Renames the metric.
        pub fn with_name(mut self, name: &str) -> Self {
            self.name = name.to_string();
            self
        }
    };
    () => {
        fn name(&self) -> &str {
            &self.name
        }
        fn set_name(&mut self, name: &str) {
            self.name = name.to_string();
        }
    };
}
pub(crate) use metric_name;

/// [`Metric::update_state`] of a metric of one tensor of values (Mean, Sum): Keras's
/// `update_state(values, sample_weight)`, the values given as `y_true` and passed with the
/// weights to the metric's own `update_state_values`; `y_pred` is ignored.
macro_rules! values_update_state {
    () => {
        /// `y_true` holds the values (Keras's `update_state(values, sample_weight)`); `y_pred`
        /// is ignored.
        fn update_state(
            &mut self,
            y_true: &$crate::Tensor,
            _y_pred: &$crate::Tensor,
            sample_weight: Option<&$crate::Tensor>,
        ) -> $crate::Result<()> {
            self.update_state_values(y_true, sample_weight)
        }
    };
}
pub(crate) use values_update_state;

/// `keras.metrics.get(name)`: a metric for a Keras string name (function names such as
/// `"categorical_accuracy"`, `"mse"`, and class names such as `"CategoricalAccuracy"`).
/// `"accuracy"` here is `keras.metrics.Accuracy` (exact equality); `compile` resolves it
/// differently, see [`resolve_compile_metric`].
pub fn get(name: &str) -> Result<Box<dyn Metric>> {
    use MetricFn as F;
    let func = match name {
        "accuracy" | "Accuracy" => F::Accuracy,
        "binary_accuracy" | "BinaryAccuracy" => F::BinaryAccuracy(0.5),
        "categorical_accuracy" | "CategoricalAccuracy" => F::CategoricalAccuracy,
        "sparse_categorical_accuracy" | "SparseCategoricalAccuracy" => F::SparseCategoricalAccuracy,
        "top_k_categorical_accuracy" | "TopKCategoricalAccuracy" => F::TopKCategoricalAccuracy(5),
        "sparse_top_k_categorical_accuracy" | "SparseTopKCategoricalAccuracy" => {
            F::SparseTopKCategoricalAccuracy { k: 5, from_sorted_ids: false }
        }
        "mean_squared_error" | "MeanSquaredError" | "mse" | "MSE" => F::MeanSquaredError,
        "mean_absolute_error" | "MeanAbsoluteError" | "mae" | "MAE" => F::MeanAbsoluteError,
        "mean_absolute_percentage_error" | "MeanAbsolutePercentageError" | "mape" | "MAPE" => {
            F::MeanAbsolutePercentageError
        }
        "mean_squared_logarithmic_error" | "MeanSquaredLogarithmicError" | "msle" | "MSLE" => {
            F::MeanSquaredLogarithmicError
        }
        "cosine_similarity" | "CosineSimilarity" => F::CosineSimilarity(-1),
        "log_cosh_error" | "LogCoshError" => F::LogCoshError,
        "hinge" | "Hinge" => F::Hinge,
        "squared_hinge" | "SquaredHinge" => F::SquaredHinge,
        "categorical_hinge" | "CategoricalHinge" => F::CategoricalHinge,
        "kl_divergence" | "KLDivergence" => F::KLDivergence,
        "poisson" | "Poisson" => F::Poisson,
        "binary_crossentropy" | "BinaryCrossentropy" | "bce" | "BCE" => F::BINARY_CROSSENTROPY,
        "categorical_crossentropy" | "CategoricalCrossentropy" => F::CATEGORICAL_CROSSENTROPY,
        "sparse_categorical_crossentropy" | "SparseCategoricalCrossentropy" => {
            F::SPARSE_CATEGORICAL_CROSSENTROPY
        }
        "pearson_correlation" | "PearsonCorrelation" => F::PearsonCorrelation(-1),
        "concordance_correlation" | "ConcordanceCorrelation" => F::ConcordanceCorrelation(-1),
        "r2_score" | "R2Score" => return Ok(Box::new(R2Score::new())),
        "true_positives" | "TruePositives" => return Ok(Box::new(ConfusionCount::true_positives(None)?)),
        "false_positives" | "FalsePositives" => return Ok(Box::new(ConfusionCount::false_positives(None)?)),
        "true_negatives" | "TrueNegatives" => return Ok(Box::new(ConfusionCount::true_negatives(None)?)),
        "false_negatives" | "FalseNegatives" => return Ok(Box::new(ConfusionCount::false_negatives(None)?)),
        "f1_score" | "F1Score" => return Ok(Box::new(F1Score::new(FScoreAverage::None, None)?)),
        "fbeta_score" | "FBetaScore" => {
            return Ok(Box::new(FBetaScore::new(FScoreAverage::None, 1.0, None)?))
        }
        "mean" | "Mean" => return Ok(Box::new(Mean::new("mean"))),
        "binary_io_u" | "BinaryIoU" => return Ok(Box::new(IoU::binary(vec![0, 1], 0.5)?)),
        "io_u" | "IoU" | "one_hot_io_u" | "OneHotIoU" | "one_hot_mean_io_u" | "OneHotMeanIoU" => {
            keras_bail!(
                InvalidArgument,
                "Could not interpret metric identifier: {name} (it needs `num_classes`)"
            )
        }
        "sum" | "Sum" => return Ok(Box::new(Sum::new())),
        "root_mean_squared_error" | "RootMeanSquaredError" => {
            return Ok(Box::new(RootMeanSquaredError::new()))
        }
        "precision" | "Precision" => return Ok(Box::new(Precision::new(None, None, None)?)),
        "recall" | "Recall" => return Ok(Box::new(Recall::new(None, None, None)?)),
        "auc" | "AUC" => return Ok(Box::new(AUC::new(200, false)?)),
        other => keras_bail!(InvalidArgument, "Could not interpret metric identifier: {other}"),
    };
    Ok(Box::new(MeanMetricWrapper::new(func)))
}

/// `key` of `cfg` read with `get`: missing or `null` is `default`; a value `get` refuses is an
/// error saying that `what` was expected.
fn cfg_read<T>(
    cfg: &Value,
    key: &str,
    default: T,
    what: &str,
    get: impl Fn(&Value) -> Option<T>,
) -> Result<T> {
    match cfg.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(v) => {
            get(v).ok_or_else(|| crate::Error::Config(format!("expected {what} for `{key}`, got {v}")))
        }
    }
}

fn cfg_f64(cfg: &Value, key: &str, default: f64) -> Result<f64> {
    cfg_read(cfg, key, default, "a number", Value::as_f64)
}

fn cfg_req_f64(cfg: &Value, key: &str, class: &str) -> Result<f64> {
    match cfg.get(key) {
        Some(v) if v.is_number() => Ok(v.as_f64().unwrap_or(f64::NAN)),
        Some(v) => keras_bail!(Config, "{class}: expected a number for `{key}`, got {v}"),
        None => keras_bail!(Config, "{class} needs the argument `{key}`"),
    }
}

fn cfg_bool(cfg: &Value, key: &str, default: bool) -> Result<bool> {
    cfg_read(cfg, key, default, "a boolean", Value::as_bool)
}

fn cfg_opt_usize(cfg: &Value, key: &str) -> Result<Option<usize>> {
    cfg_read(cfg, key, None, "a non-negative integer", |v| v.as_u64().map(|n| Some(n as usize)))
}

fn cfg_opt_i64(cfg: &Value, key: &str) -> Result<Option<i64>> {
    cfg_read(cfg, key, None, "an integer", |v| v.as_i64().map(Some))
}

fn cfg_axis(cfg: &Value) -> Result<isize> {
    Ok(cfg_opt_i64(cfg, "axis")?.unwrap_or(-1) as isize)
}

/// A list of numbers, also in the `{"class_name": "__tensor__", "config": {"value": ...}}` form
/// Keras writes for tensors in configs.
fn cfg_numbers(v: &Value) -> Result<Vec<f64>> {
    let list = match v {
        Value::Object(o) => o.get("config").and_then(|c| c.get("value")).unwrap_or(&Value::Null),
        other => other,
    };
    match list {
        Value::Array(a) => a
            .iter()
            .map(|x| x.as_f64().ok_or_else(|| crate::Error::Config(format!("expected numbers, got {x}"))))
            .collect(),
        other => keras_bail!(Config, "expected a list of numbers, got {other}"),
    }
}

/// `keras.metrics.deserialize(config)`: a metric from a string name or from its serialized
/// form (`{"class_name": "AUC", "config": {...}}`), with every hyper-parameter of its
/// config.
///
/// ```
/// use keras::metrics::{self, Metric};
/// let m = metrics::deserialize(&serde_json::json!({
///     "class_name": "PrecisionAtRecall", "config": {"recall": 0.8, "num_thresholds": 50}
/// })).unwrap();
/// assert_eq!(m.get_config()["recall"], 0.8);
/// ```
pub fn deserialize(config: &Value) -> Result<Box<dyn Metric>> {
    let (class, cfg) = match config {
        Value::String(s) => return get(s),
        Value::Object(o) => (
            o.get("class_name").and_then(Value::as_str).unwrap_or(""),
            o.get("config").cloned().unwrap_or(Value::Null),
        ),
        other => keras_bail!(InvalidArgument, "Could not interpret metric identifier: {other}"),
    };
    if class == "function" {
        return match cfg.as_str() {
            Some(s) => get(s),
            None => keras_bail!(Config, "Could not interpret metric identifier: {config}"),
        };
    }
    if !cfg.is_object() && !cfg.is_null() {
        keras_bail!(Config, "expected a config object for metric {class}, got {cfg}");
    }
    let c = &cfg;
    let dtype = match c.get("dtype") {
        None | Some(Value::Null) => "float32".to_string(),
        Some(Value::String(d)) => d.clone(),
        // A `DTypePolicy` config.
        Some(Value::Object(o)) => {
            o.get("config").and_then(|x| x.get("name")).and_then(Value::as_str).unwrap_or("").to_string()
        }
        Some(v) => keras_bail!(Config, "cannot read metric dtype {v}"),
    };
    let iou_class = matches!(class, "MeanIoU" | "IoU" | "BinaryIoU" | "OneHotIoU" | "OneHotMeanIoU");
    if !iou_class && dtype != "float32" {
        keras_bail!(
            InvalidArgument,
            "Metric dtype '{dtype}' is not supported: keras-rs computes {class} in float32"
        );
    }
    use MetricFn as F;
    let mut m: Box<dyn Metric> = match class {
        "Precision" | "Recall" => {
            let (th, _) = confusion::thresholds_from_config(c.get("thresholds"))?;
            let (top_k, class_id) = (cfg_opt_usize(c, "top_k")?, cfg_opt_usize(c, "class_id")?);
            if class == "Precision" {
                Box::new(Precision::new(th, top_k, class_id)?)
            } else {
                Box::new(Recall::new(th, top_k, class_id)?)
            }
        }
        "TruePositives" | "FalsePositives" | "TrueNegatives" | "FalseNegatives" => {
            let kind = match class {
                "TruePositives" => ConfusionKind::TruePositives,
                "FalsePositives" => ConfusionKind::FalsePositives,
                "TrueNegatives" => ConfusionKind::TrueNegatives,
                _ => ConfusionKind::FalseNegatives,
            };
            let (th, _) = confusion::thresholds_from_config(c.get("thresholds"))?;
            Box::new(ConfusionCount::new(kind, th)?)
        }
        "SensitivityAtSpecificity"
        | "SpecificityAtSensitivity"
        | "PrecisionAtRecall"
        | "RecallAtPrecision" => {
            let (kind, arg) = match class {
                "SensitivityAtSpecificity" => (RateAtRateKind::SensitivityAtSpecificity, "specificity"),
                "SpecificityAtSensitivity" => (RateAtRateKind::SpecificityAtSensitivity, "sensitivity"),
                "PrecisionAtRecall" => (RateAtRateKind::PrecisionAtRecall, "recall"),
                _ => (RateAtRateKind::RecallAtPrecision, "precision"),
            };
            let n = cfg_opt_usize(c, "num_thresholds")?.unwrap_or(200);
            Box::new(RateAtRate::new(kind, cfg_req_f64(c, arg, class)?, n, cfg_opt_usize(c, "class_id")?)?)
        }
        "AUC" => {
            let thresholds = match c.get("thresholds") {
                None | Some(Value::Null) => None,
                Some(v) => Some(cfg_numbers(v)?),
            };
            let label_weights = match c.get("label_weights") {
                None | Some(Value::Null) => None,
                Some(v) => Some(cfg_numbers(v)?),
            };
            let curve = c.get("curve").and_then(Value::as_str).unwrap_or("ROC");
            let sum = c.get("summation_method").and_then(Value::as_str).unwrap_or("interpolation");
            Box::new(AUC::with_args(AucArgs {
                num_thresholds: cfg_opt_usize(c, "num_thresholds")?.unwrap_or(200),
                curve: AucCurve::parse(curve)?,
                summation_method: AucSummation::parse(sum)?,
                thresholds,
                multi_label: cfg_bool(c, "multi_label", false)?,
                num_labels: cfg_opt_usize(c, "num_labels")?,
                label_weights,
                from_logits: cfg_bool(c, "from_logits", false)?,
            })?)
        }
        "R2Score" => {
            let agg = match c.get("class_aggregation") {
                None => R2Aggregation::UniformAverage,
                Some(Value::Null) => R2Aggregation::None,
                Some(Value::String(s)) => R2Aggregation::parse(Some(s))?,
                Some(v) => keras_bail!(Config, "`class_aggregation` must be a string or null, got {v}"),
            };
            let n = match c.get("num_regressors") {
                None | Some(Value::Null) => 0,
                Some(v) => match v.as_i64() {
                    Some(n) if n >= 0 => n as usize,
                    _ => keras_bail!(
                        InvalidArgument,
                        "Invalid value for argument `num_regressors`. Expected a value >= 0. Received: num_regressors={v}"
                    ),
                },
            };
            Box::new(R2Score::new().class_aggregation(agg).num_regressors(n))
        }
        "MeanIoU" => {
            let nc = cfg_opt_usize(c, "num_classes")?
                .ok_or_else(|| crate::Error::Config("MeanIoU needs `num_classes`".into()))?;
            Box::new(
                MeanIoU::new(nc, cfg_opt_i64(c, "ignore_class")?)?
                    .with_sparse_y_true(cfg_bool(c, "sparse_y_true", true)?)
                    .with_sparse_y_pred(cfg_bool(c, "sparse_y_pred", true)?)
                    .with_axis(cfg_axis(c)?)
                    .with_dtype(&dtype)?,
            )
        }
        "IoU" | "BinaryIoU" | "OneHotIoU" | "OneHotMeanIoU" => {
            Box::new(iou_from_config(class, c)?.with_dtype(&dtype)?)
        }
        "F1Score" | "FBetaScore" => {
            let avg = FScoreAverage::parse(c.get("average").and_then(Value::as_str))?;
            let threshold = c.get("threshold").and_then(Value::as_f64).map(|t| t as f32);
            if class == "F1Score" {
                Box::new(F1Score::new(avg, threshold)?)
            } else {
                Box::new(FBetaScore::new(avg, cfg_f64(c, "beta", 1.0)? as f32, threshold)?)
            }
        }
        "BinaryAccuracy" => {
            Box::new(MeanMetricWrapper::new(F::BinaryAccuracy(cfg_f64(c, "threshold", 0.5)?)))
        }
        "TopKCategoricalAccuracy" => {
            Box::new(MeanMetricWrapper::new(F::TopKCategoricalAccuracy(cfg_opt_usize(c, "k")?.unwrap_or(5))))
        }
        "SparseTopKCategoricalAccuracy" => {
            Box::new(MeanMetricWrapper::new(F::SparseTopKCategoricalAccuracy {
                k: cfg_opt_usize(c, "k")?.unwrap_or(5),
                from_sorted_ids: cfg_bool(c, "from_sorted_ids", false)?,
            }))
        }
        "BinaryCrossentropy" => Box::new(MeanMetricWrapper::new(F::BinaryCrossentropy {
            from_logits: cfg_bool(c, "from_logits", false)?,
            label_smoothing: cfg_f64(c, "label_smoothing", 0.0)?,
        })),
        "CategoricalCrossentropy" => Box::new(MeanMetricWrapper::new(F::CategoricalCrossentropy {
            from_logits: cfg_bool(c, "from_logits", false)?,
            label_smoothing: cfg_f64(c, "label_smoothing", 0.0)?,
            axis: cfg_axis(c)?,
        })),
        "SparseCategoricalCrossentropy" => {
            Box::new(MeanMetricWrapper::new(F::SparseCategoricalCrossentropy {
                from_logits: cfg_bool(c, "from_logits", false)?,
                ignore_class: cfg_opt_i64(c, "ignore_class")?,
                axis: cfg_axis(c)?,
            }))
        }
        "PearsonCorrelation" => Box::new(MeanMetricWrapper::new(F::PearsonCorrelation(cfg_axis(c)?))),
        "ConcordanceCorrelation" => Box::new(MeanMetricWrapper::new(F::ConcordanceCorrelation(cfg_axis(c)?))),
        "CosineSimilarity" => Box::new(MeanMetricWrapper::new(F::CosineSimilarity(cfg_axis(c)?))),
        // tf.keras 2.x: `MeanMetricWrapper` with the function name in `fn`.
        "MeanMetricWrapper" => match c.get("fn").and_then(Value::as_str) {
            Some(f) => get(f)?,
            None => keras_bail!(Config, "Could not interpret metric identifier: {config}"),
        },
        other => get(other)
            .map_err(|_| crate::Error::Config(format!("Could not interpret metric identifier: {config}")))?,
    };
    if let Some(n) = c.get("name").and_then(Value::as_str) {
        m.set_name(n);
    }
    Ok(m)
}

fn iou_from_config(class: &str, c: &Value) -> Result<IoU> {
    let ids = |key: &str| -> Result<Option<Vec<usize>>> {
        match c.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => Ok(Some(cfg_numbers(v)?.iter().map(|&x| x as usize).collect())),
        }
    };
    let nc = cfg_opt_usize(c, "num_classes")?;
    let need_nc = || nc.ok_or_else(|| crate::Error::Config(format!("{class} needs `num_classes`")));
    let ignore = cfg_opt_i64(c, "ignore_class")?;
    let axis = cfg_axis(c)?;
    let sparse_pred = cfg_bool(c, "sparse_y_pred", !class.starts_with("OneHot"))?;
    Ok(match class {
        "IoU" => IoU::new(need_nc()?, ids("target_class_ids")?.unwrap_or_default())?
            .with_ignore_class(ignore)
            .with_sparse_y_true(cfg_bool(c, "sparse_y_true", true)?)
            .with_sparse_y_pred(sparse_pred)
            .with_axis(axis),
        "BinaryIoU" => {
            IoU::binary(ids("target_class_ids")?.unwrap_or(vec![0, 1]), cfg_f64(c, "threshold", 0.5)?)?
        }
        "OneHotIoU" => IoU::one_hot(need_nc()?, ids("target_class_ids")?.unwrap_or_default())?
            .with_ignore_class(ignore)
            .with_sparse_y_pred(sparse_pred)
            .with_axis(axis),
        _ => IoU::one_hot_mean(need_nc()?)?
            .with_ignore_class(ignore)
            .with_sparse_y_pred(sparse_pred)
            .with_axis(axis),
    })
}

/// Keras's `compile_utils.is_binary_or_sparse_categorical(y_true, y_pred)`.
fn is_binary_or_sparse_categorical(y_true: &Tensor, y_pred: &Tensor) -> (bool, bool) {
    let t_rank = y_true.rank();
    let p_rank = y_pred.rank();
    let t_last = y_true.shape().last().copied();
    let p_last = y_pred.shape().last().copied();
    let is_binary = p_last == Some(1);
    let is_sparse = t_rank < p_rank || (t_last == Some(1) && p_last.is_some_and(|d| d > 1));
    (is_binary, is_sparse)
}

/// Resolves a metric string given to `compile`, exactly as Keras 3's
/// `compile_utils.get_metric`: `"accuracy"`/`"acc"` (any case) become `BinaryAccuracy` when
/// `y_pred`'s last dimension is 1, `SparseCategoricalAccuracy` when `y_true` has a lower rank
/// (or a last dimension of 1 against several classes), `CategoricalAccuracy` otherwise; any
/// other string goes through [`get`]. The metric keeps the user's string as its name.
/// (`loss_name` is accepted for the trainer's convenience; Keras decides from the shapes only.)
pub fn resolve_compile_metric(
    identifier: &str,
    loss_name: &str,
    y_true: &Tensor,
    y_pred: &Tensor,
) -> Result<Box<dyn Metric>> {
    let _ = loss_name;
    let mut metric: Box<dyn Metric> = if matches!(identifier.to_lowercase().as_str(), "accuracy" | "acc") {
        let (is_binary, is_sparse) = is_binary_or_sparse_categorical(y_true, y_pred);
        let func = if is_binary {
            MetricFn::BinaryAccuracy(0.5)
        } else if is_sparse {
            MetricFn::SparseCategoricalAccuracy
        } else {
            MetricFn::CategoricalAccuracy
        };
        Box::new(MeanMetricWrapper::new(func))
    } else {
        get(identifier)?
    };
    metric.set_name(identifier);
    Ok(metric)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::t;

    #[test]
    fn accuracy_resolution_follows_shapes() {
        let probs = t(vec![0.1, 0.9, 0.8, 0.2], &[2, 2]);
        let sparse = Tensor::from_i32(vec![1, 1], [2]).unwrap();
        let sparse_col = Tensor::from_i32(vec![1, 1], [2, 1]).unwrap();
        let onehot = t(vec![0.0, 1.0, 0.0, 1.0], &[2, 2]);
        let bin_pred = t(vec![0.7, 0.2], &[2, 1]);
        let bin_true = t(vec![1.0, 1.0], &[2, 1]);
        let cls = |yt: &Tensor, yp: &Tensor| {
            let m = resolve_compile_metric("accuracy", "x", yt, yp).unwrap();
            assert_eq!(m.name(), "accuracy");
            m.class_name().to_string()
        };
        assert_eq!(cls(&sparse, &probs), "SparseCategoricalAccuracy");
        assert_eq!(cls(&sparse_col, &probs), "SparseCategoricalAccuracy");
        assert_eq!(cls(&onehot, &probs), "CategoricalAccuracy");
        assert_eq!(cls(&bin_true, &bin_pred), "BinaryAccuracy");
        let m = resolve_compile_metric("acc", "x", &onehot, &probs).unwrap();
        assert_eq!(m.name(), "acc");
        let m = resolve_compile_metric("mae", "x", &onehot, &probs).unwrap();
        assert_eq!((m.name(), m.class_name()), ("mae", "MeanAbsoluteError"));
        assert!(resolve_compile_metric("nope", "x", &onehot, &probs).is_err());
    }

    #[test]
    fn accuracies_count_like_keras() {
        let mut m = get("categorical_accuracy").unwrap();
        let yt = t(vec![0.0, 1.0, 1.0, 0.0], &[2, 2]);
        let yp = t(vec![0.5, 0.5, 0.9, 0.1], &[2, 2]); // tie -> first index
        m.update_state(&yt, &yp, None).unwrap();
        assert_eq!(m.result(), 0.5);
        let mut b = get("binary_accuracy").unwrap();
        let yt = t(vec![1.0, 0.0, 1.0], &[3, 1]);
        let yp = t(vec![0.5, 0.5, 0.51], &[3, 1]); // strict >
        let w = t(vec![1.0, 2.0, 1.0], &[3]);
        b.update_state(&yt, &yp, Some(&w)).unwrap();
        assert_eq!(b.result(), 0.75);
        b.reset_state();
        assert_eq!(b.result(), 0.0);
        let mut mean = Mean::new("loss");
        mean.update_state_value(2.0, 32.0);
        mean.update_state_value(1.0, 16.0);
        assert!((mean.result() - 5.0 / 3.0).abs() < 1e-6);
        let mut a = get("accuracy").unwrap();
        a.update_state(&t(vec![1.0, 2.0], &[2, 1]), &t(vec![1.0, 3.0], &[2, 1]), None).unwrap();
        assert_eq!(a.result(), 0.5);
    }
}
