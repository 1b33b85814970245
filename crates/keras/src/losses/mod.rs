//! Losses (`keras.losses`): as functions, as objects with a reduction and sample weights,
//! and by the string names `compile` accepts.
//!
//! A loss's [`Loss::call`] returns one value per sample (the last axis reduced by the loss
//! itself), differentiable with respect to `y_pred`; [`Loss::compute`] applies sample weights
//! and the reduction exactly as Keras's `Loss.__call__`.

use serde_json::Value;

use crate::{Result, Tensor};

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
    /// Keras `loss(y_true, y_pred, sample_weight)`: per-sample values, weighted, reduced.
    fn compute(
        &self,
        y_true: &Tensor,
        y_pred: &Tensor,
        sample_weight: Option<&Tensor>,
    ) -> Result<Tensor>;
}
