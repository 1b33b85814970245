//! `EarlyStopping` (Keras `keras.callbacks.EarlyStopping`).

use super::monitor::{available, monitor_options, Monitor};
use super::{Callback, CallbackModel};
use crate::setters::setters;
use crate::trainers::Logs;
use crate::{Error, Result, Tensor};

/// Stops training when a monitored quantity has stopped improving.
///
/// Each epoch end, the monitored value is an improvement when it beats the best so far by
/// more than `min_delta`; after `patience` epochs without one, `model.stop_training` is set.
/// With `baseline`, the wait only resets on values that also beat the baseline. With
/// `restore_best_weights`, the weights of the best epoch are put back when training ends.
///
/// ```
/// use keras::callbacks::EarlyStopping;
/// let es = EarlyStopping::new().monitor("val_loss").patience(3).restore_best_weights(true);
/// assert_eq!(es.patience, 3);
/// ```
pub struct EarlyStopping {
    monitor: Monitor,
    pending: Option<Error>,
    /// Epochs without improvement after which training stops.
    pub patience: usize,
    /// 1 prints a message when stopping and when restoring weights.
    pub verbose: u8,
    /// The value to beat before the wait resets.
    pub baseline: Option<f64>,
    /// Put back the weights of the best epoch at the end of training.
    pub restore_best_weights: bool,
    /// Epochs before monitoring starts (a warm-up).
    pub start_from_epoch: usize,
    /// Epochs since the last improvement.
    pub wait: usize,
    /// The epoch (0-based) at which training was stopped; 0 when it was not.
    pub stopped_epoch: usize,
    /// The epoch (0-based) of the best value.
    pub best_epoch: usize,
    /// The weights at the best epoch, when `restore_best_weights`.
    pub best_weights: Option<Vec<Tensor>>,
}

impl Default for EarlyStopping {
    fn default() -> Self {
        Self::new()
    }
}

impl EarlyStopping {
    /// Keras's defaults: monitor `val_loss`, min_delta 0, patience 0, mode auto.
    pub fn new() -> Self {
        EarlyStopping {
            monitor: Monitor::new("EarlyStopping", "val_loss", 0.0),
            pending: None,
            patience: 0,
            verbose: 0,
            baseline: None,
            restore_best_weights: false,
            start_from_epoch: 0,
            wait: 0,
            stopped_epoch: 0,
            best_epoch: 0,
            best_weights: None,
        }
    }
    setters! {
        /// Epochs without improvement before stopping.
        patience: usize,
        /// Verbosity (0 or 1).
        verbose: u8,
        /// A value the monitored quantity must beat.
        baseline: f64 => Some,
        /// Restore the best epoch's weights at the end.
        restore_best_weights: bool,
        /// Epochs to wait before monitoring.
        start_from_epoch: usize,
    }
}

monitor_options!(EarlyStopping {
    /// The logged quantity to watch (`val_loss`, `accuracy`, ...).
    monitor,
    /// The smallest change that counts as an improvement (its sign is ignored, as in Keras).
    min_delta,
    /// `"auto"`, `"min"` or `"max"` (anything else fails when training starts).
    mode,
    /// The best monitored value so far.
    best,
});

impl Callback for EarlyStopping {
    fn on_train_begin(&mut self, _m: &mut CallbackModel, _logs: &mut Logs) -> Result<()> {
        if let Some(e) = self.pending.clone() {
            return Err(e);
        }
        self.wait = 0;
        self.stopped_epoch = 0;
        self.monitor.best = None;
        self.best_weights = None;
        self.best_epoch = 0;
        Ok(())
    }

    fn on_epoch_end(&mut self, epoch: usize, model: &mut CallbackModel, logs: &mut Logs) -> Result<()> {
        self.monitor.set_monitor_op(model)?;
        let current = match logs.get(&self.monitor.monitor) {
            Some(v) => *v as f64,
            None => {
                let msg = format!(
                    "Early stopping conditioned on metric `{}` which is not available. Available metrics are: {}",
                    self.monitor.monitor,
                    available(logs)
                );
                self.monitor.warn_once(msg);
                return Ok(());
            }
        };
        if epoch < self.start_from_epoch {
            return Ok(());
        }
        if self.restore_best_weights && self.best_weights.is_none() {
            // The first monitored epoch is the best so far.
            self.best_weights = Some(model.get_weights());
            self.best_epoch = epoch;
        }
        self.wait += 1;
        if self.monitor.is_improvement(current, self.monitor.best) {
            self.monitor.best = Some(current);
            self.best_epoch = epoch;
            if self.restore_best_weights {
                self.best_weights = Some(model.get_weights());
            }
            // Only restart the wait when the baseline is beaten too.
            if self.baseline.is_none() || self.monitor.is_improvement(current, self.baseline) {
                self.wait = 0;
            }
            return Ok(());
        }
        if self.wait >= self.patience && epoch > 0 {
            self.stopped_epoch = epoch;
            model.stop_training = true;
        }
        Ok(())
    }

    fn on_train_end(&mut self, model: &mut CallbackModel, _logs: &mut Logs) -> Result<()> {
        if self.stopped_epoch > 0 && self.verbose > 0 {
            println!("Epoch {}: early stopping", self.stopped_epoch + 1);
        }
        if self.restore_best_weights {
            if let Some(w) = &self.best_weights {
                if self.verbose > 0 {
                    println!(
                        "Restoring model weights from the end of the best epoch: {}.",
                        self.best_epoch + 1
                    );
                }
                model.set_weights(w)?;
            }
        }
        Ok(())
    }
}
