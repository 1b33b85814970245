//! `ReduceLROnPlateau` (Keras `keras.callbacks.ReduceLROnPlateau`).

use super::monitor::{available, monitor_options, Monitor};
use super::{Callback, CallbackModel};
use crate::setters::setters;
use crate::trainers::Logs;
use crate::{Error, Result};

/// Multiplies the learning rate by `factor` when the monitored quantity has not improved
/// (by more than `min_delta`) for `patience` epochs, then waits `cooldown` epochs; never
/// below `min_lr`. Adds `learning_rate` to the epoch logs, as Keras does.
///
/// ```
/// use keras::callbacks::ReduceLROnPlateau;
/// let r = ReduceLROnPlateau::new().factor(0.2).patience(5).min_lr(0.001);
/// assert_eq!(r.factor, 0.2);
/// ```
pub struct ReduceLROnPlateau {
    monitor: Monitor,
    pending: Option<Error>,
    /// New rate = rate * factor (must be < 1).
    pub factor: f64,
    /// Epochs without improvement before reducing.
    pub patience: usize,
    /// 1 prints a message on each reduction.
    pub verbose: u8,
    /// Epochs to wait after a reduction before counting again.
    pub cooldown: usize,
    /// Lower bound on the learning rate.
    pub min_lr: f64,
    /// Epochs without improvement.
    pub wait: usize,
    /// Cooldown epochs left.
    pub cooldown_counter: usize,
}

impl Default for ReduceLROnPlateau {
    fn default() -> Self {
        Self::new()
    }
}

impl ReduceLROnPlateau {
    /// Keras's defaults: monitor `val_loss`, factor 0.1, patience 10, min_delta 1e-4,
    /// cooldown 0, min_lr 0.
    pub fn new() -> Self {
        ReduceLROnPlateau {
            monitor: Monitor::new("ReduceLROnPlateau", "val_loss", 1e-4),
            pending: None,
            factor: 0.1,
            patience: 10,
            verbose: 0,
            cooldown: 0,
            min_lr: 0.0,
            wait: 0,
            cooldown_counter: 0,
        }
    }
    /// The reduction factor; `>= 1` fails when training starts (Keras raises at once).
    pub fn factor(mut self, f: f64) -> Self {
        self.factor = f;
        if f >= 1.0 {
            self.pending = self.pending.take().or(Some(Error::InvalidArgument(format!(
                "ReduceLROnPlateau does not support a factor >= 1.0. Received factor={f}"
            ))));
        }
        self
    }
    setters! {
        /// Epochs without improvement before reducing.
        patience: usize,
        /// Verbosity.
        verbose: u8,
        /// Epochs of cooldown after a reduction.
        cooldown: usize,
        /// Lower bound on the learning rate.
        min_lr: f64,
    }

    fn in_cooldown(&self) -> bool {
        self.cooldown_counter > 0
    }
}

monitor_options!(ReduceLROnPlateau {
    /// The logged quantity to watch.
    monitor,
    /// `"auto"`, `"min"` or `"max"`.
    mode,
    /// Threshold for an improvement.
    min_delta,
    /// The best monitored value so far.
    best,
});

impl Callback for ReduceLROnPlateau {
    fn on_train_begin(&mut self, _m: &mut CallbackModel, _logs: &mut Logs) -> Result<()> {
        if let Some(e) = self.pending.clone() {
            return Err(e);
        }
        self.monitor.best = None;
        self.cooldown_counter = 0;
        self.wait = 0;
        Ok(())
    }

    fn on_epoch_end(&mut self, epoch: usize, model: &mut CallbackModel, logs: &mut Logs) -> Result<()> {
        self.monitor.set_monitor_op(model)?;
        logs.insert("learning_rate".into(), model.learning_rate()?);
        let Some(current) = logs.get(&self.monitor.monitor).map(|v| *v as f64) else {
            let msg = format!(
                "Learning rate reduction is conditioned on metric `{}` which is not available. Available metrics are: {}.",
                self.monitor.monitor,
                available(logs)
            );
            self.monitor.warn_once(msg);
            return Ok(());
        };
        if self.in_cooldown() {
            self.cooldown_counter -= 1;
            self.wait = 0;
        }
        if self.monitor.is_improvement(current, self.monitor.best) {
            self.monitor.best = Some(current);
            self.wait = 0;
        } else if !self.in_cooldown() {
            self.wait += 1;
            if self.wait >= self.patience {
                let old_lr = model.learning_rate()? as f64;
                if old_lr > self.min_lr as f32 as f64 {
                    let new_lr = (old_lr * self.factor).max(self.min_lr);
                    model.set_learning_rate(new_lr as f32)?;
                    if self.verbose > 0 {
                        println!(
                            "\nEpoch {}: ReduceLROnPlateau reducing learning rate to {}.",
                            epoch + 1,
                            super::python_float_repr(new_lr)
                        );
                    }
                    self.cooldown_counter = self.cooldown;
                    self.wait = 0;
                }
            }
        }
        Ok(())
    }
}
