//! What the trainer needs from a model: a forward pass and its variables.

use crate::layers::{CallContext, Variable};
use crate::{Result, Tensor};

/// A model the trainer can drive (Sequential today, Functional later).
pub trait Network {
    /// The model name (`sequential`).
    fn name(&self) -> &str;
    /// Builds the model for inputs shaped like `x` if needed, and checks that `x` fits.
    fn prepare(&mut self, x: &Tensor) -> Result<()>;
    /// The forward pass.
    fn forward(&self, x: &Tensor, ctx: &mut CallContext) -> Result<Tensor>;
    /// Every variable in `model.weights` order, with whether the optimizer trains it
    /// (a variable is trained when it is trainable and its layer is).
    fn variables_mut(&mut self) -> Vec<(&mut Variable, bool)>;
    /// Sum of the layers' extra losses (regularizers), added to the training loss.
    fn regularization_loss(&self) -> Result<Option<Tensor>> {
        Ok(None)
    }
}
