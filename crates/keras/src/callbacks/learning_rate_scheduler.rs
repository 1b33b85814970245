//! `LearningRateScheduler` (Keras `keras.callbacks.LearningRateScheduler`).

use super::{Callback, CallbackModel};
use crate::trainers::Logs;
use crate::{keras_bail, Result};

type Schedule = Box<dyn FnMut(usize, f64) -> f64>;

/// Sets the learning rate at the start of every epoch to `schedule(epoch, current_lr)`, and
/// adds `learning_rate` to the epoch logs.
///
/// ```
/// use keras::callbacks::LearningRateScheduler;
/// // Keep the rate for 10 epochs, then decay it exponentially.
/// let s = LearningRateScheduler::new(|epoch, lr| if epoch < 10 { lr } else { lr * (-0.1f64).exp() });
/// # let _ = s;
/// ```
pub struct LearningRateScheduler {
    schedule: Schedule,
    /// 1 prints the rate set each epoch.
    pub verbose: u8,
}

impl LearningRateScheduler {
    /// A scheduler from `schedule(epoch, lr) -> new_lr` (epoch 0-based, rates as Python
    /// floats, i.e. f64 of the optimizer's float32 rate).
    pub fn new(schedule: impl FnMut(usize, f64) -> f64 + 'static) -> Self {
        LearningRateScheduler { schedule: Box::new(schedule), verbose: 0 }
    }
    crate::setters::setters! {
        /// Verbosity.
        verbose: u8,
    }
}

impl Callback for LearningRateScheduler {
    fn on_epoch_begin(&mut self, epoch: usize, model: &mut CallbackModel, _logs: &mut Logs) -> Result<()> {
        let lr = model.learning_rate()? as f64;
        let new_lr = (self.schedule)(epoch, lr);
        if !new_lr.is_finite() {
            keras_bail!(
                Value,
                "The output of the `schedule` function should be a finite float. Got: {new_lr}"
            );
        }
        model.set_learning_rate(new_lr as f32)?;
        if self.verbose > 0 {
            println!(
                "\nEpoch {}: LearningRateScheduler setting learning rate to {}.",
                epoch + 1,
                super::python_float_repr(new_lr)
            );
        }
        Ok(())
    }

    fn on_epoch_end(&mut self, _epoch: usize, model: &mut CallbackModel, logs: &mut Logs) -> Result<()> {
        logs.insert("learning_rate".into(), model.learning_rate()?);
        Ok(())
    }
}
