//! `ProgbarLogger` (Keras `keras.callbacks.ProgbarLogger`): the progress bar `fit`,
//! `evaluate` and `predict` print, driven by the callback hooks exactly as Keras drives it.

use super::{Callback, CallbackModel, CallbackParams};
use crate::trainers::Logs;
use crate::utils::progbar::Progbar;
use crate::{Result, Tensor};

/// Prints metrics to stdout; `fit` / `evaluate` / `predict` add one when `verbose > 0`.
#[derive(Debug)]
pub struct ProgbarLogger {
    seen: usize,
    progbar: Option<Progbar>,
    target: Option<usize>,
    verbose: u8,
    epochs: usize,
    called_in_fit: bool,
}

impl Default for ProgbarLogger {
    fn default() -> Self {
        Self::new()
    }
}

fn values(logs: &Logs) -> Vec<(String, f64)> {
    logs.iter().map(|(k, v)| (k.clone(), *v as f64)).collect()
}

impl ProgbarLogger {
    /// A logger with Keras's defaults (verbose 1, counting steps).
    pub fn new() -> Self {
        ProgbarLogger { seen: 0, progbar: None, target: None, verbose: 1, epochs: 1, called_in_fit: false }
    }

    fn reset(&mut self) {
        self.seen = 0;
        self.progbar = None;
    }

    fn bar(&mut self) -> &mut Progbar {
        let (target, verbose) = (self.target, self.verbose);
        self.progbar.get_or_insert_with(|| Progbar::new(target, verbose, "step"))
    }

    fn update(&mut self, batch: usize, logs: Option<&Logs>) {
        self.seen = batch + 1;
        let seen = self.seen;
        if self.verbose == 1 {
            let v = logs.map(values).unwrap_or_default();
            self.bar().update(seen, &v, false);
        } else {
            self.bar();
        }
    }

    fn finalize(&mut self, logs: &Logs) {
        if self.target.is_none() {
            self.target = Some(self.seen);
            let t = self.target;
            self.bar().set_target(t);
        }
        let target = self.target.unwrap_or(self.seen);
        let v = values(logs);
        self.bar().update(target, &v, true);
    }
}

impl Callback for ProgbarLogger {
    fn set_params(&mut self, params: &CallbackParams) {
        self.verbose = params.verbose;
        self.epochs = params.epochs;
        self.target = params.steps;
    }

    fn on_train_begin(&mut self, _m: &mut CallbackModel, _logs: &mut Logs) -> Result<()> {
        // Inside `fit`, validation is silent.
        self.called_in_fit = true;
        Ok(())
    }

    fn on_test_begin(&mut self, _m: &mut CallbackModel, _logs: &mut Logs) -> Result<()> {
        if !self.called_in_fit {
            self.reset();
            self.bar();
        }
        Ok(())
    }

    fn on_predict_begin(&mut self, _m: &mut CallbackModel, _logs: &mut Logs) -> Result<()> {
        self.reset();
        self.bar();
        Ok(())
    }

    fn on_epoch_begin(&mut self, epoch: usize, _m: &mut CallbackModel, _logs: &mut Logs) -> Result<()> {
        self.reset();
        self.bar();
        if self.verbose > 0 && self.epochs > 1 {
            println!("Epoch {}/{}", epoch + 1, self.epochs);
        }
        Ok(())
    }

    fn on_train_batch_end(&mut self, batch: usize, _m: &mut CallbackModel, logs: &mut Logs) -> Result<()> {
        self.update(batch, Some(logs));
        Ok(())
    }

    fn on_test_batch_end(&mut self, batch: usize, _m: &mut CallbackModel, logs: &mut Logs) -> Result<()> {
        if !self.called_in_fit {
            self.update(batch, Some(logs));
        }
        Ok(())
    }

    fn on_predict_batch_end(
        &mut self,
        batch: usize,
        _outputs: &Tensor,
        _m: &mut CallbackModel,
        _logs: &mut Logs,
    ) -> Result<()> {
        self.update(batch, None);
        Ok(())
    }

    fn on_epoch_end(&mut self, _epoch: usize, _m: &mut CallbackModel, logs: &mut Logs) -> Result<()> {
        self.finalize(logs);
        Ok(())
    }

    fn on_test_end(&mut self, _m: &mut CallbackModel, logs: &mut Logs) -> Result<()> {
        if !self.called_in_fit {
            self.finalize(logs);
        }
        Ok(())
    }

    fn on_predict_end(&mut self, _m: &mut CallbackModel, logs: &mut Logs) -> Result<()> {
        self.finalize(logs);
        Ok(())
    }
}
