//! What the trainer needs from a model: a forward pass over its inputs and its variables.

use crate::layers::{CallContext, Variable};
use crate::{Result, Tensor};

/// A model the trainer can drive (Sequential, Functional, or a user's own graph).
///
/// Every model has a list of inputs and a list of outputs (one each for a Sequential); the
/// trainer passes the inputs in [`Network::input_names`] order and reads the outputs in
/// [`Network::output_names`] order, which is how lists and maps of arrays given to `fit` are
/// matched to the model (Keras matches dict keys against the names of the `Input`s and the
/// names of the layers that make the outputs).
pub trait Network {
    /// The model name (`sequential`, `functional`).
    fn name(&self) -> &str;
    /// The input names in input order (Keras: the names of the model's `Input` tensors).
    fn input_names(&self) -> Vec<String>;
    /// The output names in output order (Keras `model.output_names`: the names of the layers
    /// that produce the outputs).
    fn output_names(&self) -> Vec<String>;
    /// Builds the model for inputs shaped like `xs` if needed, and checks that `xs` fit (one
    /// tensor per input, in input order).
    fn prepare(&mut self, xs: &[Tensor]) -> Result<()>;
    /// The forward pass: one tensor per input in, one per output out.
    fn forward(&self, xs: &[Tensor], ctx: &mut CallContext) -> Result<Vec<Tensor>>;
    /// Every variable in `model.weights` order, with whether the optimizer trains it
    /// (a variable is trained when it is trainable and its layer is).
    fn variables_mut(&mut self) -> Vec<(&mut Variable, bool)>;
    /// Runs [`Layer::before_training_step`](crate::layers::Layer::before_training_step) on
    /// every layer, before a training step's forward pass. Keras-rs's models do; the default
    /// does nothing, so a hand-written network holding such layers forwards it itself.
    fn before_training_step(&mut self) -> Result<()> {
        Ok(())
    }
    /// Sum of the layers' extra losses (regularizers), added to the training loss.
    fn regularization_loss(&self) -> Result<Option<Tensor>> {
        Ok(None)
    }
}
