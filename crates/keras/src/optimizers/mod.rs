//! Optimizers (`keras.optimizers`), by object or by the strings `compile` accepts.

use serde_json::Value;

use crate::layers::Variable;
use crate::{Result, Tensor};

/// A Keras optimizer.
pub trait Optimizer: Send {
    /// The Keras name (`adam`).
    fn name(&self) -> &str;
    /// Applies one step: `grads[i]` is the gradient of `vars[i]` (Keras `apply_gradients`).
    fn apply_gradients(&mut self, grads: &[Tensor], vars: &mut [&mut Variable]) -> Result<()>;
    /// The learning rate the next step will use.
    fn learning_rate(&self) -> f32;
    /// Sets a constant learning rate.
    fn set_learning_rate(&mut self, lr: f32);
    /// Number of steps applied.
    fn iterations(&self) -> u64;
    /// The Keras config (`optimizer.get_config()`).
    fn get_config(&self) -> Value;
    /// The optimizer's variables in Keras's order: iteration, learning_rate, then slots.
    fn variables(&self) -> Vec<(String, Tensor)>;
}
