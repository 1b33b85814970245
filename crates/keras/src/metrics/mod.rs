//! Metrics (`keras.metrics`): stateful `update_state` / `result` / `reset_state`, exactly as
//! Keras accumulates them.

use serde_json::Value;

use crate::{Result, Tensor};

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
}
