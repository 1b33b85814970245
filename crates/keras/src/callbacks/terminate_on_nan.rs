//! `TerminateOnNaN` (Keras `keras.callbacks.TerminateOnNaN`).

use super::{Callback, CallbackModel};
use crate::trainers::Logs;
use crate::{keras_bail, Result};

/// Stops training when a batch's `loss` is NaN or infinite: sets `stop_training` (training
/// ends after that batch), or with `raise_error` makes `fit` fail at once.
#[derive(Clone, Debug, Default)]
pub struct TerminateOnNaN {
    /// Fail instead of stopping quietly.
    pub raise_error: bool,
}

impl TerminateOnNaN {
    /// Stops training quietly (Keras `raise_error=False`).
    pub fn new() -> Self {
        TerminateOnNaN { raise_error: false }
    }
    crate::setters::setters! {
        /// Make `fit` return an error instead.
        raise_error: bool,
    }
}

impl Callback for TerminateOnNaN {
    fn on_batch_end(&mut self, batch: usize, model: &mut CallbackModel, logs: &mut Logs) -> Result<()> {
        if let Some(&loss) = logs.get("loss") {
            if !loss.is_finite() {
                if self.raise_error {
                    keras_bail!(
                        Value,
                        "NaN or Inf loss encountered at batch {batch}. Loss value: {}. Terminating training immediately.",
                        super::python_float_repr(loss as f64)
                    );
                }
                println!("Batch {batch}: Invalid loss, terminating training");
                model.stop_training = true;
            }
        }
        Ok(())
    }
}
