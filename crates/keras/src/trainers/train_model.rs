//! What the training loops and callbacks need from a whole model (Keras `Model`): its
//! network and compile state (borrowed only inside a step, so callbacks can reach the whole
//! model between steps), its weights, and saving.

use std::any::Any;
use std::path::Path;

use serde_json::Value;

use super::compile::Compiled;
use super::network::Network;
use crate::{Error, Result, Tensor};

/// A model `fit` / `evaluate` / `predict` can drive and callbacks can inspect (Sequential
/// today, Functional later).
pub trait TrainModel: Any {
    /// The model name.
    fn name(&self) -> &str;
    /// True once the weights exist.
    fn built(&self) -> bool;
    /// The network, for a forward pass.
    fn network(&self) -> &dyn Network;
    /// The network and the compile state, borrowed together for one step (an error when the
    /// model was not compiled).
    fn parts_mut(&mut self) -> Result<(&mut dyn Network, &mut Compiled)>;
    /// The compile state, once compiled.
    fn compiled(&self) -> Option<&Compiled>;
    /// The compile state, mutable.
    fn compiled_mut(&mut self) -> Option<&mut Compiled>;
    /// Every weight as `(path, value)` in `model.weights` order.
    fn named_weights(&self) -> Vec<(String, Tensor)>;
    /// Sets every weight in order (Keras `set_weights`).
    fn set_weights(&mut self, values: &[Tensor]) -> Result<()>;
    /// Keras `model.get_config()`.
    fn get_config(&self) -> Value;
    /// Saves the whole model (Keras `model.save(path)`).
    fn save(&self, path: &Path) -> Result<()> {
        let _ = path;
        Err(Error::State(format!("model '{}' cannot be saved", self.name())))
    }
    /// Saves the weights (Keras `model.save_weights(path)`).
    fn save_weights(&self, path: &Path) -> Result<()> {
        let _ = path;
        Err(Error::State(format!("model '{}' cannot save weights", self.name())))
    }
    /// Loads weights saved by [`TrainModel::save_weights`] (Keras `model.load_weights`).
    fn load_weights(&mut self, path: &Path) -> Result<()> {
        let _ = path;
        Err(Error::State(format!("model '{}' cannot load weights", self.name())))
    }
    /// `self` as `Any`, to downcast to the concrete model.
    fn as_any(&self) -> &dyn Any;
    /// `self` as mutable `Any`.
    fn as_any_mut(&mut self) -> &mut dyn Any;
}
