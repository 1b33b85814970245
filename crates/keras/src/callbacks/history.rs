//! `History` as a callback (Keras `keras.callbacks.History`): `fit` adds one and returns it.

use super::{Callback, CallbackModel};
use crate::trainers::{History, Logs};
use crate::Result;

impl Callback for History {
    /// Keras resets the epoch list (not the recorded values) at the start of each `fit`.
    fn on_train_begin(&mut self, _model: &mut CallbackModel, _logs: &mut Logs) -> Result<()> {
        self.epoch.clear();
        Ok(())
    }

    fn on_epoch_end(&mut self, epoch: usize, _model: &mut CallbackModel, logs: &mut Logs) -> Result<()> {
        self.record(epoch, logs);
        Ok(())
    }
}
