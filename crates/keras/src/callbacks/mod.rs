//! Callbacks (`keras.callbacks`): code that `fit`, `evaluate` and `predict` call at fixed
//! points (the start and end of training, of each epoch and of each batch) with the logs
//! Keras passes, and with the model ([`CallbackModel`]) so a callback can stop training,
//! change the learning rate, read or set the weights, or save the model.
//!
//! Pass callbacks to `fit` by mutable reference, so their state is yours to read afterwards
//! (as Keras users read `early_stopping.stopped_epoch`), or by value with
//! [`FitArgs::callback_boxed`](crate::FitArgs::callback_boxed):
//!
//! ```
//! use keras::callbacks::{EarlyStopping, TerminateOnNaN};
//! use keras::layers::{Dense, Input};
//! use keras::models::Sequential;
//! use keras::{FitArgs, Tensor};
//!
//! keras::utils::set_random_seed(1);
//! let mut model = Sequential::new();
//! model.add(Input::new(&[2])).unwrap();
//! model.add(Dense::new(1)).unwrap();
//! model.compile("sgd", "mse", &[]).unwrap();
//! let x = Tensor::new(vec![0.5; 16], [8, 2]).unwrap();
//! let y = Tensor::new(vec![1.0; 8], [8, 1]).unwrap();
//!
//! let mut stop = EarlyStopping::new().monitor("loss").patience(1);
//! let args = FitArgs::default()
//!     .epochs(50)
//!     .verbose(0)
//!     .callback(&mut stop)
//!     .callback_boxed(Box::new(TerminateOnNaN::new()));
//! let history = model.fit(&x, &y, args).unwrap();
//! // The loss keeps falling here, so training runs to the end.
//! assert_eq!(stop.stopped_epoch, 0);
//! assert_eq!(history.epoch.len(), 50);
//! ```
//!
//! `fit` adds a [`History`](crate::History) and a [`ProgbarLogger`] after your callbacks, as
//! Keras does; hooks run in list order.
//!
//! Submodules:
//! - `backup_and_restore`: `BackupAndRestore` (Keras `keras.callbacks.BackupAndRestore`)
//! - `callback_list`: `CallbackList`
//! - `csv_logger`: `CSVLogger` (Keras `keras.callbacks.CSVLogger`)
//! - `early_stopping`: `EarlyStopping` (Keras `keras.callbacks.EarlyStopping`)
//! - `history`: `History` as a callback (Keras `keras.callbacks.History`)
//! - `lambda_callback`: `LambdaCallback` (Keras `keras.callbacks.LambdaCallback`)
//! - `learning_rate_scheduler`: `LearningRateScheduler` (Keras `keras.callbacks.LearningRateScheduler`)
//! - `model_checkpoint`: `ModelCheckpoint` (Keras `keras.callbacks.ModelCheckpoint`)
//! - `monitor`: What the monitoring callbacks share (Keras `MonitorCallback`)
//! - `progbar_logger`: `ProgbarLogger` (Keras `keras.callbacks.ProgbarLogger`)
//! - `pyformat`: Python's `str.format` for the file-path templates of `ModelCheckpoint` (`weights.{epoch:02d}-{val_loss:.2f}.keras`)
//! - `reduce_lr_on_plateau`: `ReduceLROnPlateau` (Keras `keras.callbacks.ReduceLROnPlateau`)
//! - `remote_monitor`: `RemoteMonitor` (Keras `keras.callbacks.RemoteMonitor`), over a plain HTTP/1.1 POST
//! - `tensorboard`: `TensorBoard` (Keras `keras.callbacks.TensorBoard`) and the event-file format it writes, without TensorFlow
//! - `terminate_on_nan`: `TerminateOnNaN` (Keras `keras.callbacks.TerminateOnNaN`)

use std::any::Any;
use std::path::Path;

use serde_json::Value;

use crate::optimizers::Optimizer;
use crate::trainers::{Compiled, Logs, TrainModel};
use crate::{Error, Result, Tensor};

mod backup_and_restore;
mod callback_list;
mod csv_logger;
mod early_stopping;
mod history;
mod lambda_callback;
mod learning_rate_scheduler;
mod model_checkpoint;
mod monitor;
mod progbar_logger;
mod pyformat;
mod reduce_lr_on_plateau;
mod remote_monitor;
pub mod tensorboard;
mod terminate_on_nan;

pub use backup_and_restore::BackupAndRestore;
pub use callback_list::{CallbackList, CallbackRef};
pub use csv_logger::CSVLogger;
pub use early_stopping::EarlyStopping;
pub use lambda_callback::LambdaCallback;
pub use learning_rate_scheduler::LearningRateScheduler;
pub use model_checkpoint::ModelCheckpoint;
pub use monitor::{Mode, SaveFreq};
pub use progbar_logger::ProgbarLogger;
pub use reduce_lr_on_plateau::ReduceLROnPlateau;
pub use remote_monitor::RemoteMonitor;
pub use tensorboard::TensorBoard;
pub use terminate_on_nan::TerminateOnNaN;

/// What `fit` / `evaluate` / `predict` tell every callback before starting (Keras
/// `callback.params`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallbackParams {
    /// The `verbose` argument.
    pub verbose: u8,
    /// Number of epochs (1 for evaluate and predict).
    pub epochs: usize,
    /// Batches per epoch, when known.
    pub steps: Option<usize>,
    /// Whether `fit` runs validation (so `val_*` keys appear in epoch logs).
    pub validation: bool,
}

/// Downcasting for callbacks (implemented for every `'static` type).
pub trait AsAny {
    /// `self` as `Any`.
    fn as_any(&self) -> &dyn Any;
    /// `self` as mutable `Any`.
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

impl<T: Any> AsAny for T {
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

/// A Keras callback. Every hook has a default that does nothing; as in Keras,
/// `on_train_batch_begin` / `on_train_batch_end` call [`on_batch_begin`](Callback::on_batch_begin)
/// / [`on_batch_end`](Callback::on_batch_end) by default.
///
/// `logs` is mutable because Keras callbacks add entries that later callbacks see (for
/// example `ReduceLROnPlateau` adds `learning_rate` to the epoch logs, so `History` and
/// `CSVLogger` record it). Hooks without logs in Keras receive an empty map. An error from a
/// hook stops `fit` and is returned from it.
#[allow(unused_variables)]
pub trait Callback: AsAny {
    /// Called once before the hooks of a `fit` / `evaluate` / `predict` call.
    fn set_params(&mut self, params: &CallbackParams) {}
    /// Start of `fit`.
    fn on_train_begin(&mut self, model: &mut CallbackModel, logs: &mut Logs) -> Result<()> {
        Ok(())
    }
    /// End of `fit`, with the last epoch's logs.
    fn on_train_end(&mut self, model: &mut CallbackModel, logs: &mut Logs) -> Result<()> {
        Ok(())
    }
    /// Start of an epoch (0-based).
    fn on_epoch_begin(&mut self, epoch: usize, model: &mut CallbackModel, logs: &mut Logs) -> Result<()> {
        Ok(())
    }
    /// End of an epoch: training metrics, plus `val_*` when validation ran this epoch.
    fn on_epoch_end(&mut self, epoch: usize, model: &mut CallbackModel, logs: &mut Logs) -> Result<()> {
        Ok(())
    }
    /// Start of a training batch.
    fn on_train_batch_begin(
        &mut self,
        batch: usize,
        model: &mut CallbackModel,
        logs: &mut Logs,
    ) -> Result<()> {
        self.on_batch_begin(batch, model, logs)
    }
    /// End of a training batch: the running means of loss and metrics since the epoch began.
    fn on_train_batch_end(&mut self, batch: usize, model: &mut CallbackModel, logs: &mut Logs) -> Result<()> {
        self.on_batch_end(batch, model, logs)
    }
    /// Backwards-compatible alias Keras calls from `on_train_batch_begin`.
    fn on_batch_begin(&mut self, batch: usize, model: &mut CallbackModel, logs: &mut Logs) -> Result<()> {
        Ok(())
    }
    /// Backwards-compatible alias Keras calls from `on_train_batch_end`.
    fn on_batch_end(&mut self, batch: usize, model: &mut CallbackModel, logs: &mut Logs) -> Result<()> {
        Ok(())
    }
    /// Start of `evaluate` (also of the validation inside `fit`).
    fn on_test_begin(&mut self, model: &mut CallbackModel, logs: &mut Logs) -> Result<()> {
        Ok(())
    }
    /// End of `evaluate`, with its results.
    fn on_test_end(&mut self, model: &mut CallbackModel, logs: &mut Logs) -> Result<()> {
        Ok(())
    }
    /// Start of an evaluation batch.
    fn on_test_batch_begin(
        &mut self,
        batch: usize,
        model: &mut CallbackModel,
        logs: &mut Logs,
    ) -> Result<()> {
        Ok(())
    }
    /// End of an evaluation batch (running means).
    fn on_test_batch_end(&mut self, batch: usize, model: &mut CallbackModel, logs: &mut Logs) -> Result<()> {
        Ok(())
    }
    /// Start of `predict`.
    fn on_predict_begin(&mut self, model: &mut CallbackModel, logs: &mut Logs) -> Result<()> {
        Ok(())
    }
    /// End of `predict`.
    fn on_predict_end(&mut self, model: &mut CallbackModel, logs: &mut Logs) -> Result<()> {
        Ok(())
    }
    /// Start of a prediction batch.
    fn on_predict_batch_begin(
        &mut self,
        batch: usize,
        model: &mut CallbackModel,
        logs: &mut Logs,
    ) -> Result<()> {
        Ok(())
    }
    /// End of a prediction batch. Keras passes `{"outputs": ...}`; the batch outputs come as
    /// `outputs` here since logs hold scalars.
    fn on_predict_batch_end(
        &mut self,
        batch: usize,
        outputs: &Tensor,
        model: &mut CallbackModel,
        logs: &mut Logs,
    ) -> Result<()> {
        Ok(())
    }
}

enum ModelRef<'a> {
    Mut(&'a mut dyn TrainModel),
    Shared(&'a dyn TrainModel),
}

/// The model as callbacks see it (Keras `callback.model`), with the flags Keras keeps on the
/// model. Inside `predict` (which borrows the model immutably) the mutating methods fail.
pub struct CallbackModel<'a> {
    model: ModelRef<'a>,
    /// Keras `model.stop_training`: set it to end `fit` after the current batch / epoch.
    pub stop_training: bool,
    /// Keras `model.stop_evaluating`: ends `evaluate` after the current batch.
    pub stop_evaluating: bool,
    /// Keras `model.stop_predicting`: ends `predict` after the current batch.
    pub stop_predicting: bool,
    /// Keras `model._initial_epoch`: the epoch `fit` resumes from, set by `BackupAndRestore`
    /// in `on_train_begin`.
    pub initial_epoch: Option<usize>,
    /// Extra training state restored by `BackupAndRestore` (the random generator state the
    /// run had at the end of the restored epoch), applied by `fit` before the first epoch.
    pub(crate) restored_rng: Option<[u64; 4]>,
}

impl<'a> CallbackModel<'a> {
    /// Wraps a model for callbacks (fit and evaluate do this; handy to drive a callback by
    /// hand in tests).
    pub fn new(model: &'a mut dyn TrainModel) -> Self {
        Self::with(ModelRef::Mut(model))
    }

    /// Wraps a model that callbacks may only read (predict).
    pub fn read_only(model: &'a dyn TrainModel) -> Self {
        Self::with(ModelRef::Shared(model))
    }

    fn with(model: ModelRef<'a>) -> Self {
        CallbackModel {
            model,
            stop_training: false,
            stop_evaluating: false,
            stop_predicting: false,
            initial_epoch: None,
            restored_rng: None,
        }
    }

    /// The model.
    pub fn model(&self) -> &dyn TrainModel {
        match &self.model {
            ModelRef::Mut(m) => &**m,
            ModelRef::Shared(m) => *m,
        }
    }

    /// The model, mutable (an error inside `predict`).
    pub fn model_mut(&mut self) -> Result<&mut dyn TrainModel> {
        match &mut self.model {
            ModelRef::Mut(m) => Ok(&mut **m),
            ModelRef::Shared(m) => Err(Error::State(format!(
                "model '{}' is borrowed read-only during predict(); callbacks cannot change it there",
                m.name()
            ))),
        }
    }

    /// The model name.
    pub fn name(&self) -> &str {
        self.model().name()
    }

    fn compiled(&self) -> Result<&Compiled> {
        self.model().compiled().ok_or_else(|| {
            Error::State(format!("model '{}' has no optimizer: call `compile()` first", self.name()))
        })
    }

    /// The optimizer, once compiled.
    pub fn optimizer(&self) -> Option<&dyn Optimizer> {
        self.model().compiled().map(|c| c.optimizer.as_ref())
    }

    /// The optimizer, mutable.
    pub fn optimizer_mut(&mut self) -> Result<&mut dyn Optimizer> {
        let name = self.name().to_string();
        match self.model_mut()?.compiled_mut() {
            Some(c) => Ok(c.optimizer.as_mut()),
            None => Err(Error::State(format!("model '{name}' has no optimizer: call `compile()` first"))),
        }
    }

    /// `float(model.optimizer.learning_rate)`: the rate the next step uses.
    pub fn learning_rate(&self) -> Result<f32> {
        Ok(self.compiled()?.optimizer.learning_rate())
    }

    /// `model.optimizer.learning_rate = lr` (an error when the optimizer uses a schedule, as
    /// in Keras).
    pub fn set_learning_rate(&mut self, lr: f32) -> Result<()> {
        self.optimizer_mut()?.try_set_learning_rate(lr)
    }

    /// Copies of every weight (Keras `model.get_weights()`).
    pub fn get_weights(&self) -> Vec<Tensor> {
        self.model().named_weights().into_iter().map(|(_, t)| t).collect()
    }

    /// Every weight with its path (`dense/kernel`).
    pub fn named_weights(&self) -> Vec<(String, Tensor)> {
        self.model().named_weights()
    }

    /// Sets every weight (Keras `model.set_weights`).
    pub fn set_weights(&mut self, values: &[Tensor]) -> Result<()> {
        self.model_mut()?.set_weights(values)
    }

    /// Saves the whole model (Keras `model.save(path)`).
    pub fn save(&self, path: &Path) -> Result<()> {
        self.model().save(path)
    }

    /// Saves the weights (Keras `model.save_weights(path)`).
    pub fn save_weights(&self, path: &Path) -> Result<()> {
        self.model().save_weights(path)
    }

    /// Loads weights (Keras `model.load_weights(path)`).
    pub fn load_weights(&mut self, path: &Path) -> Result<()> {
        self.model_mut()?.load_weights(path)
    }

    /// The model config (Keras `model.get_config()`).
    pub fn get_config(&self) -> Value {
        self.model().get_config()
    }

    /// Class names of the compiled metrics by metric name (for `mode="auto"`).
    pub(crate) fn metric_class(&self, name: &str) -> Option<String> {
        let c = self.model().compiled()?;
        c.metric_objects().find(|m| m.name() == name).map(|m| m.class_name().to_string())
    }
}

pub use crate::utils::warnings::take_warnings;
pub(crate) use crate::utils::warnings::warn;

/// Appends `s` as Python's `json.dumps` writes a string (default `ensure_ascii`): double
/// quotes, the short escapes, and `\uXXXX` (UTF-16 units) for everything outside `' '..='~'`.
pub fn write_python_json_str(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

pub use crate::utils::python_repr::python_float_repr;
