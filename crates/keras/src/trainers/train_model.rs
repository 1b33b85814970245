//! What the training loops and callbacks need from a whole model (Keras `Model`): its
//! network and compile state (borrowed only inside a step, so callbacks can reach the whole
//! model between steps), its training and test steps (overridable, as Keras's `train_step`),
//! its weights, and saving.

use std::any::Any;
use std::path::Path;

use serde_json::Value;

use super::arrays::{inputs_in_order, Arrays};
use super::compile::Compiled;
use super::history::Logs;
use super::network::Network;
use super::trainer;
use crate::utils::Batch;
use crate::{Error, Result, Tensor};

/// A model `fit` / `evaluate` / `predict` can drive and callbacks can inspect: Sequential,
/// Functional, or a user's own model.
///
/// The training loops call [`TrainModel::train_step`] and [`TrainModel::test_step`] for each
/// batch. Their defaults are Keras's standard steps (match the batch to the network's inputs
/// and outputs, compiled loss, one optimizer update, compiled metrics); a model overrides
/// them as a Keras subclass overrides `train_step` (a GAN updating two networks with two
/// optimizers, say), and reports whatever logs it wants. Such a model keeps its own metric
/// state: override [`TrainModel::reset_metrics`] and [`TrainModel::metrics_result`] too.
pub trait TrainModel: Any {
    /// The model name.
    fn name(&self) -> &str;
    /// True once the weights exist.
    fn built(&self) -> bool {
        true
    }
    /// The network, for a forward pass (`predict`).
    fn network(&self) -> &dyn Network;
    /// The network and the compile state, borrowed together for one step (an error when the
    /// model was not compiled).
    fn parts_mut(&mut self) -> Result<(&mut dyn Network, &mut Compiled)> {
        Err(Error::State(format!(
            "You must call `compile()` before using the model '{}' for training or evaluation.",
            self.name()
        )))
    }
    /// The compile state, once compiled.
    fn compiled(&self) -> Option<&Compiled> {
        None
    }
    /// The compile state, mutable.
    fn compiled_mut(&mut self) -> Option<&mut Compiled> {
        None
    }
    /// Keras `train_step(data)`: one training step on a raw batch (`x`, `y`,
    /// `sample_weight` as given to `fit`), returning the logs the callbacks and the progress
    /// bar show. The default is the standard step ([`trainer::default_train_step`]).
    fn train_step(&mut self, batch: Batch) -> Result<Logs> {
        let (net, c) = self.parts_mut()?;
        trainer::default_train_step(net, c, batch)
    }
    /// Keras `test_step(data)`: loss and metrics of one batch without an update. The default
    /// is the standard step ([`trainer::default_test_step`]).
    fn test_step(&mut self, batch: Batch) -> Result<Logs> {
        let (net, c) = self.parts_mut()?;
        trainer::default_test_step(net, c, batch)
    }
    /// Keras `reset_metrics()`: called at the start of every epoch and evaluation. The default
    /// resets the compiled loss trackers and metrics.
    fn reset_metrics(&mut self) {
        if let Some(c) = self.compiled_mut() {
            c.reset_metrics();
        }
    }
    /// Keras `get_metrics_result()`: the current value of every metric the model tracks. An
    /// epoch's logs are these when they have the same keys as the last step's logs, else the
    /// last step's logs (Keras `_get_metrics_result_or_logs`).
    fn metrics_result(&self) -> Logs {
        self.compiled().map(Compiled::logs).unwrap_or_default()
    }
    /// Builds the network for inputs like `x` (one array, a list or a map, matched to the
    /// inputs), before the callbacks' `on_train_begin`; errors on inputs that do not fit. The
    /// default does nothing for a model that was not compiled (a model with its own steps).
    fn prepare_inputs(&mut self, x: &Arrays) -> Result<()> {
        let Ok((net, _)) = self.parts_mut() else { return Ok(()) };
        let names = net.input_names();
        let xs = match x {
            Arrays::One(t) if names.len() <= 1 => vec![t.clone()],
            other => inputs_in_order(other.clone(), &names, net.name())?,
        };
        net.prepare(&xs)
    }
    /// Every weight as `(path, value)` in `model.weights` order.
    fn named_weights(&self) -> Vec<(String, Tensor)>;
    /// Sets every weight in order (Keras `set_weights`).
    fn set_weights(&mut self, values: &[Tensor]) -> Result<()>;
    /// Keras `model.get_config()` (the default holds the name only).
    fn get_config(&self) -> Value {
        serde_json::json!({ "name": self.name() })
    }
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

/// The error of a training call on a model that was not compiled.
pub(crate) fn not_compiled() -> Error {
    Error::State("You must call `compile()` before using the model for training or evaluation.".into())
}

/// Implements [`TrainModel`] for a built-in model (Sequential, Functional, subclassed) from
/// one declaration: the model holds its network in field `net` and its compile state in a
/// field `compiled: Option<Compiled>`, and has inherent `name`, `weights`, `set_weights`,
/// `save_weights` and `load_weights` methods, to which the trait forwards. `forward` names
/// the other inherent methods the trait forwards to (`built`, `get_config`, `save`); any
/// further trait methods follow, written out.
///
/// ```ignore
/// train_model_impl! {
///     impl<L: Layer> SubclassedModel<L> {
///         net: net,
///         forward: [built],
///         fn get_config(&self) -> Value { self.net.layer.get_config() }
///     }
/// }
/// ```
macro_rules! train_model_impl {
    (impl<$g:ident: $b:path> $ty:ty { $($body:tt)* }) => {
        $crate::trainers::train_model::train_model_impl!(@impl [$g: $b] $ty { $($body)* });
    };
    (impl $ty:ty { $($body:tt)* }) => {
        $crate::trainers::train_model::train_model_impl!(@impl [] $ty { $($body)* });
    };
    (
        @impl [$($gen:tt)*] $ty:ty {
            net: $net:ident,
            forward: [$($fwd:ident),* $(,)?]
            $(, $($own:tt)*)?
        }
    ) => {
        impl<$($gen)*> $crate::trainers::TrainModel for $ty {
            fn name(&self) -> &str {
                <$ty>::name(self)
            }
            fn network(&self) -> &dyn $crate::trainers::Network {
                &self.$net
            }
            fn parts_mut(
                &mut self,
            ) -> $crate::Result<(&mut dyn $crate::trainers::Network, &mut $crate::trainers::Compiled)> {
                let c = self.compiled.as_mut().ok_or_else($crate::trainers::train_model::not_compiled)?;
                Ok((&mut self.$net, c))
            }
            fn compiled(&self) -> Option<&$crate::trainers::Compiled> {
                self.compiled.as_ref()
            }
            fn compiled_mut(&mut self) -> Option<&mut $crate::trainers::Compiled> {
                self.compiled.as_mut()
            }
            fn named_weights(&self) -> Vec<(String, $crate::Tensor)> {
                self.weights().iter().map(|w| (w.path().to_string(), w.value().detach())).collect()
            }
            fn set_weights(&mut self, values: &[$crate::Tensor]) -> $crate::Result<()> {
                <$ty>::set_weights(self, values)
            }
            fn save_weights(&self, path: &std::path::Path) -> $crate::Result<()> {
                <$ty>::save_weights(self, path)
            }
            fn load_weights(&mut self, path: &std::path::Path) -> $crate::Result<()> {
                <$ty>::load_weights(self, path)
            }
            fn as_any(&self) -> &dyn std::any::Any {
                self
            }
            fn as_any_mut(&mut self) -> &mut dyn std::any::Any {
                self
            }
            $($crate::trainers::train_model::train_model_impl!(@forward $ty, $fwd);)*
            $($($own)*)?
        }
    };
    (@forward $ty:ty, built) => {
        fn built(&self) -> bool {
            <$ty>::built(self)
        }
    };
    (@forward $ty:ty, get_config) => {
        fn get_config(&self) -> serde_json::Value {
            <$ty>::get_config(self)
        }
    };
    (@forward $ty:ty, save) => {
        fn save(&self, path: &std::path::Path) -> $crate::Result<()> {
            <$ty>::save(self, path)
        }
    };
}
pub(crate) use train_model_impl;
