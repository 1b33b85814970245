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

mod confusion;
mod f_score;
mod iou;
mod mean;
mod reduction;

use serde_json::Value;

pub use confusion::{MeanIoU, Precision, Recall, AUC};
pub use f_score::{F1Score, FBetaScore, FScoreAverage};
pub use iou::IoU;
pub use mean::{
    accuracy, binary_accuracy, categorical_accuracy, sparse_categorical_accuracy,
    sparse_top_k_categorical_accuracy, top_k_categorical_accuracy, Mean, MeanMetricWrapper, MetricFn,
};
pub use reduction::{RootMeanSquaredError, Sum};

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
}

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
            F::SparseTopKCategoricalAccuracy(5)
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
        "binary_crossentropy" | "BinaryCrossentropy" | "bce" | "BCE" => F::BinaryCrossentropy,
        "categorical_crossentropy" | "CategoricalCrossentropy" => F::CategoricalCrossentropy,
        "sparse_categorical_crossentropy" | "SparseCategoricalCrossentropy" => {
            F::SparseCategoricalCrossentropy
        }
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

    fn t(v: Vec<f32>, s: &[usize]) -> Tensor {
        Tensor::new(v, s.to_vec()).unwrap()
    }

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
