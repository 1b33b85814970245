//! Losses (`keras.losses`): as functions, as objects with a reduction and sample weights,
//! and by the string names `compile` accepts.
//!
//! A loss's [`Loss::call`] returns one value per sample (the last axis reduced by the loss
//! itself), differentiable with respect to `y_pred`; [`Loss::compute`] applies sample weights
//! and the reduction exactly as Keras's `Loss.__call__`.
//!
//! ```
//! use keras::losses::{self, Loss};
//! use keras::Tensor;
//! let loss = losses::get("categorical_crossentropy").unwrap();
//! let y_true = Tensor::new(vec![0.0, 1.0, 1.0, 0.0], [2, 2]).unwrap();
//! let y_pred = Tensor::new(vec![0.5, 0.5, 0.9, 0.1], [2, 2]).unwrap();
//! let v = loss.compute(&y_true, &y_pred, None).unwrap();
//! assert!((v.item().unwrap() - (-(0.5f32.ln()) - 0.9f32.ln()) / 2.0).abs() < 1e-6);
//! ```
//!
//! Submodules:
//! - `circle`: `Circle` loss (`keras.losses.circle`, Sun et al
//! - `classes`: The loss classes (`keras.losses.CategoricalCrossentropy`, ...)
//! - `crossentropy`: Crossentropy losses as fused differentiable ops, computed exactly as Keras 3 on the TensorFlow backend (clipping to `[1e-7, 1 - 1e-7]`, renormalisation, and the logits shortcut for outputs of `softmax`/`sigmoid`
//! - `ctc`: Connectionist temporal classification
//! - `kernels`: Building blocks of the loss functions
//! - `regression`: Regression, hinge and probabilistic losses (every one a fused op with a hand-written gradient w.r.t
//! - `segmentation`: Image-segmentation losses

mod circle;
mod classes;
mod crossentropy;
mod ctc;
mod kernels;

/// Shape helpers shared with the metrics.
pub(crate) mod kernels_pub {
    pub(crate) use super::kernels::{group_by_axes, reduction_axes};
}
mod regression;
mod segmentation;

use keras_engine::ops;
use serde_json::Value;

pub use circle::{circle, Circle, CircleArgs};
pub use classes::{
    BinaryCrossentropy, BinaryFocalCrossentropy, CategoricalCrossentropy, CategoricalFocalCrossentropy,
    CategoricalGeneralizedCrossEntropy, CategoricalHinge, CosineSimilarity, Hinge, Huber, KLDivergence,
    LogCosh, MeanAbsoluteError, MeanAbsolutePercentageError, MeanSquaredError, MeanSquaredLogarithmicError,
    Poisson, SparseCategoricalCrossentropy, SquaredHinge,
};
pub use crossentropy::{
    binary_crossentropy, binary_crossentropy_axis, binary_focal_crossentropy, categorical_crossentropy,
    categorical_crossentropy_axis, categorical_focal_crossentropy, categorical_generalized_cross_entropy,
    sparse_categorical_crossentropy, sparse_categorical_crossentropy_ignore, CategoricalFocalArgs, FocalArgs,
};
pub use ctc::{ctc, ctc_decode, ctc_loss, CtcDecodeArgs, CtcStrategy, CTC};
pub use regression::{
    categorical_hinge, cosine_similarity, hinge, huber, kl_divergence, log_cosh, mean_absolute_error,
    mean_absolute_percentage_error, mean_squared_error, mean_squared_logarithmic_error, poisson,
    squared_hinge,
};
pub use segmentation::{dice, tversky, Dice, Tversky};

use crate::{keras_bail, Result, Tensor};
use kernels::{fmt_shape, squeeze_or_expand};

/// How per-sample losses are combined (Keras `reduction`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reduction {
    /// No reduction: per-sample values.
    None,
    /// Sum of the weighted values.
    Sum,
    /// Sum of the weighted values divided by the number of values (the default).
    SumOverBatchSize,
    /// Mean of the weighted values.
    Mean,
    /// Sum of the weighted values divided by the sum of the weights.
    MeanWithSampleWeight,
}

impl Reduction {
    /// Parses Keras's `reduction` argument (`None`/`"none"`, `"sum"`, `"sum_over_batch_size"`,
    /// `"mean"`, `"mean_with_sample_weight"`).
    pub fn from_name(name: Option<&str>) -> Result<Reduction> {
        Ok(match name {
            None | Some("none") => Reduction::None,
            Some("sum") => Reduction::Sum,
            Some("sum_over_batch_size") => Reduction::SumOverBatchSize,
            Some("mean") => Reduction::Mean,
            Some("mean_with_sample_weight") => Reduction::MeanWithSampleWeight,
            Some(other) => keras_bail!(
                InvalidArgument,
                "Invalid value for argument `reduction`. Expected one of {{'sum_over_batch_size', \
                 'sum', None, 'none', 'mean', 'mean_with_sample_weight'}}. Received: \
                 reduction={other}"
            ),
        })
    }

    /// Reads the `reduction` entry of a config (a string or null).
    pub fn from_config(v: &Value) -> Result<Reduction> {
        match v {
            Value::Null => Ok(Reduction::None),
            Value::String(s) => Reduction::from_name(Some(s)),
            other => keras_bail!(Config, "cannot read loss reduction {other}"),
        }
    }

    /// The config value (`"sum_over_batch_size"`, or null for no reduction).
    pub fn to_config(self) -> Value {
        match self {
            Reduction::None => Value::Null,
            Reduction::Sum => Value::from("sum"),
            Reduction::SumOverBatchSize => Value::from("sum_over_batch_size"),
            Reduction::Mean => Value::from("mean"),
            Reduction::MeanWithSampleWeight => Value::from("mean_with_sample_weight"),
        }
    }
}

/// A Keras loss.
pub trait Loss: Send + Sync {
    /// The Keras name (`categorical_crossentropy`).
    fn name(&self) -> &str;
    /// Per-sample values (differentiable w.r.t. `y_pred`).
    fn call(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor>;
    /// The reduction.
    fn reduction(&self) -> Reduction;
    /// The Keras config (`loss.get_config()`).
    fn get_config(&self) -> Value;
    /// The Keras class name (`CategoricalCrossentropy`).
    fn class_name(&self) -> &str {
        "Loss"
    }
    /// The dtype of the loss's computations (Keras `loss.dtype`): always float32 in keras-rs.
    fn dtype(&self) -> keras_engine::DType {
        keras_engine::DType::F32
    }
    /// Per-sample values plus an optional mask (1 = counts, 0 = ignored) that the reduction
    /// honours, as Keras's `_keras_mask` (set by `ignore_class`).
    fn call_masked(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<(Tensor, Option<Tensor>)> {
        Ok((self.call(y_true, y_pred)?, None))
    }
    /// Keras `loss(y_true, y_pred, sample_weight)`: per-sample values, weighted, reduced.
    fn compute(&self, y_true: &Tensor, y_pred: &Tensor, sample_weight: Option<&Tensor>) -> Result<Tensor> {
        let (values, mask) = self.call_masked(y_true, y_pred)?;
        reduce_weighted_values(&values, sample_weight, mask.as_ref(), self.reduction())
    }
    /// `keras.saving.serialize_keras_object(loss)`: module, class name and config.
    fn serialize(&self) -> Value {
        serde_json::json!({
            "module": "keras.losses",
            "class_name": self.class_name(),
            "config": self.get_config(),
            "registered_name": null,
        })
    }
}

fn mul_weights(values: &Tensor, weights: &Tensor) -> Result<Tensor> {
    let (v, w) = squeeze_or_expand(values, weights)?;
    ops::mul(&v, &w).map_err(|_| {
        crate::Error::Shape(format!(
            "Incompatible shapes for `sample_weight`: the per-sample losses have shape {} but \
             sample_weight has shape {}",
            fmt_shape(values.shape()),
            fmt_shape(weights.shape())
        ))
    })
}

/// Keras `reduce_weighted_values`: merges the mask into the sample weights, weights the
/// values (after `squeeze_or_expand_to_same_rank`) and applies the reduction. The result is
/// differentiable w.r.t. `values`.
pub fn reduce_weighted_values(
    values: &Tensor,
    sample_weight: Option<&Tensor>,
    mask: Option<&Tensor>,
    reduction: Reduction,
) -> Result<Tensor> {
    let mut weights = sample_weight.map(|w| w.cast(keras_engine::DType::F32));
    if let Some(m) = mask {
        let mut m = m.cast(keras_engine::DType::F32);
        if matches!(reduction, Reduction::Mean | Reduction::SumOverBatchSize) {
            let total = m.numel() as f32;
            let valid: f32 = m.as_f32()?.iter().sum();
            let s = if valid == 0.0 { 0.0 } else { total / valid };
            m = ops::scale(&m, s)?;
        }
        weights = Some(match weights {
            Some(w) => mul_weights(&w, &m)?,
            None => m,
        });
    }
    let values = match &weights {
        Some(w) => mul_weights(values, w)?,
        None => values.clone(),
    };
    if reduction == Reduction::None || values.rank() == 0 || values.shape() == [0] {
        return Ok(values);
    }
    let loss = ops::sum_all(&values)?;
    let divisor = match reduction {
        Reduction::Sum | Reduction::None => return Ok(loss),
        Reduction::MeanWithSampleWeight if weights.is_some() => {
            weights.as_ref().map(|w| w.to_f32_vec().iter().sum::<f32>()).unwrap_or(1.0)
        }
        _ => values.numel() as f32,
    };
    if divisor == 0.0 {
        return Ok(ops::scale(&loss, 0.0)?);
    }
    Ok(ops::div(&loss, &Tensor::scalar(divisor))?)
}

/// Checks Keras's `dtype` argument of a loss: `None`, `"float32"`, or a `DTypePolicy` config
/// naming float32. keras-rs computes losses in float32 only, so other dtypes are errors.
pub(crate) fn check_dtype(v: &Value) -> Result<()> {
    let name = match v {
        Value::Null => return Ok(()),
        Value::String(s) => s.as_str(),
        Value::Object(o) => o.get("config").and_then(|c| c.get("name")).and_then(Value::as_str).unwrap_or(""),
        _ => "",
    };
    match name {
        "float32" => Ok(()),
        "float16" | "bfloat16" | "float64" | "mixed_float16" | "mixed_bfloat16" => keras_bail!(
            InvalidArgument,
            "Loss dtype '{name}' is not supported: keras-rs computes losses in float32"
        ),
        _ => keras_bail!(
            InvalidArgument,
            "Invalid dtype for a loss: {v}. Expected a float dtype such as 'float32'"
        ),
    }
}

fn is_function_alias(name: &str) -> bool {
    name.chars().all(|c| c.is_ascii_lowercase() || c == '_')
        || matches!(name, "BCE" | "KLD" | "MAE" | "MSE" | "MAPE" | "MSLE")
}

/// `keras.losses.get(name)`: a loss object for any Keras string name: function names
/// (`"categorical_crossentropy"`, `"mse"`, `"huber"`; the loss is named after the string,
/// as `compile` names it) and class names (`"CategoricalCrossentropy"`, default settings).
pub fn get(name: &str) -> Result<Box<dyn Loss>> {
    let mut loss: Box<dyn Loss> = match name {
        "categorical_crossentropy" | "CategoricalCrossentropy" => Box::new(CategoricalCrossentropy::new()),
        "sparse_categorical_crossentropy" | "SparseCategoricalCrossentropy" => {
            Box::new(SparseCategoricalCrossentropy::new())
        }
        "binary_crossentropy" | "BinaryCrossentropy" | "bce" | "BCE" => Box::new(BinaryCrossentropy::new()),
        "binary_focal_crossentropy" | "BinaryFocalCrossentropy" => Box::new(BinaryFocalCrossentropy::new()),
        "mean_squared_error" | "MeanSquaredError" | "mse" | "MSE" => Box::new(MeanSquaredError::new()),
        "mean_absolute_error" | "MeanAbsoluteError" | "mae" | "MAE" => Box::new(MeanAbsoluteError::new()),
        "mean_absolute_percentage_error" | "MeanAbsolutePercentageError" | "mape" | "MAPE" => {
            Box::new(MeanAbsolutePercentageError::new())
        }
        "mean_squared_logarithmic_error" | "MeanSquaredLogarithmicError" | "msle" | "MSLE" => {
            Box::new(MeanSquaredLogarithmicError::new())
        }
        "huber" | "Huber" => Box::new(Huber::new()),
        "log_cosh" | "LogCosh" => Box::new(LogCosh::new()),
        "kl_divergence" | "KLDivergence" | "kld" | "KLD" => Box::new(KLDivergence::new()),
        "poisson" | "Poisson" => Box::new(Poisson::new()),
        "hinge" | "Hinge" => Box::new(Hinge::new()),
        "squared_hinge" | "SquaredHinge" => Box::new(SquaredHinge::new()),
        "categorical_hinge" | "CategoricalHinge" => Box::new(CategoricalHinge::new()),
        "cosine_similarity" | "CosineSimilarity" => Box::new(CosineSimilarity::new()),
        "categorical_focal_crossentropy" | "CategoricalFocalCrossentropy" => {
            Box::new(CategoricalFocalCrossentropy::new())
        }
        "dice" | "Dice" => Box::new(Dice::new()),
        "tversky" | "Tversky" => Box::new(Tversky::new()),
        "circle" | "Circle" => Box::new(Circle::new()),
        "ctc" | "CTC" => Box::new(CTC::new()),
        other => keras_bail!(InvalidArgument, "Could not interpret loss identifier: {other}"),
    };
    if is_function_alias(name) && loss.name() != name {
        loss = classes::renamed(loss, name)?;
    }
    Ok(loss)
}

/// `keras.losses.deserialize(config)`: a string name, a serialized function
/// (`{"class_name": "function", "config": "mse"}`) or a serialized loss object
/// (`{"class_name": "CategoricalCrossentropy", "config": {...}}`).
pub fn deserialize(config: &Value) -> Result<Box<dyn Loss>> {
    match config {
        Value::String(s) => get(s),
        Value::Object(o) => {
            let class = o.get("class_name").and_then(Value::as_str).unwrap_or("");
            let cfg = o.get("config").cloned().unwrap_or(Value::Null);
            if class == "function" || class.is_empty() {
                return match cfg.as_str() {
                    Some(s) => get(s),
                    None => keras_bail!(Config, "cannot read serialized loss {config}"),
                };
            }
            classes::from_config(class, &cfg)
        }
        other => keras_bail!(InvalidArgument, "Could not interpret loss identifier: {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reductions_follow_keras() {
        let v = Tensor::new(vec![1.0, 2.0, 3.0, 4.0], [4]).unwrap();
        let w = Tensor::new(vec![1.0, 0.0, 2.0, 1.0], [4]).unwrap();
        let r = |red, w: Option<&Tensor>| reduce_weighted_values(&v, w, None, red).unwrap().to_f32_vec();
        assert_eq!(r(Reduction::SumOverBatchSize, Some(&w)), vec![11.0 / 4.0]);
        assert_eq!(r(Reduction::Mean, Some(&w)), vec![11.0 / 4.0]);
        assert_eq!(r(Reduction::Sum, Some(&w)), vec![11.0]);
        assert_eq!(r(Reduction::MeanWithSampleWeight, Some(&w)), vec![11.0 / 4.0]);
        assert_eq!(r(Reduction::MeanWithSampleWeight, None), vec![2.5]);
        assert_eq!(r(Reduction::None, Some(&w)), vec![1.0, 0.0, 6.0, 4.0]);
        // [batch, 1] weights are squeezed to the per-sample shape.
        let w2 = Tensor::new(vec![1.0, 0.0, 2.0, 1.0], [4, 1]).unwrap();
        assert_eq!(r(Reduction::Sum, Some(&w2)), vec![11.0]);
        let bad = Tensor::new(vec![1.0, 2.0, 3.0], [3]).unwrap();
        let e = reduce_weighted_values(&v, Some(&bad), None, Reduction::Sum).unwrap_err();
        assert!(matches!(e, crate::Error::Shape(_)));
        assert!(Reduction::from_name(Some("avg")).is_err());
    }

    #[test]
    fn names_resolve() {
        for (n, want) in [
            ("categorical_crossentropy", "categorical_crossentropy"),
            ("CategoricalCrossentropy", "categorical_crossentropy"),
            ("mse", "mse"),
            ("MeanSquaredError", "mean_squared_error"),
            ("Huber", "huber_loss"),
            ("huber", "huber"),
            ("sparse_categorical_crossentropy", "sparse_categorical_crossentropy"),
        ] {
            assert_eq!(get(n).unwrap().name(), want, "{n}");
        }
        assert!(matches!(get("nope").err(), Some(crate::Error::InvalidArgument(_))));
        let l = deserialize(&serde_json::json!({
            "class_name": "CategoricalCrossentropy",
            "config": {"name": "cce", "reduction": "sum", "from_logits": true,
                       "label_smoothing": 0.1, "axis": -1}
        }))
        .unwrap();
        assert_eq!(l.name(), "cce");
        assert_eq!(l.reduction(), Reduction::Sum);
        assert_eq!(l.get_config()["from_logits"], true);
        let f = deserialize(&serde_json::json!({"class_name": "function", "config": "mae"}));
        assert_eq!(f.unwrap().name(), "mae");
    }

    #[test]
    fn ignore_class_masks_the_reduction() {
        let l = SparseCategoricalCrossentropy::new().ignore_class(Some(0));
        let yt = Tensor::from_i32(vec![0, 1], [2]).unwrap();
        let yp = Tensor::new(vec![0.5, 0.5, 0.5, 0.5], [2, 2]).unwrap();
        let v = l.compute(&yt, &yp, None).unwrap().item().unwrap();
        assert!((v + 0.5f32.ln()).abs() < 1e-6);
    }
}
