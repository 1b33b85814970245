//! `CallbackList`: runs a list of callbacks in order, with the `History` and `ProgbarLogger`
//! that `fit` adds after the user's, as Keras does.

use super::{Callback, CallbackModel, CallbackParams, ProgbarLogger};
use crate::trainers::{History, Logs};
use crate::{Result, Tensor};

/// A callback given to `fit` / `evaluate` / `predict`: borrowed (read its state afterwards)
/// or owned.
pub enum CallbackRef<'a> {
    /// A callback the caller keeps.
    Borrowed(&'a mut dyn Callback),
    /// A callback handed over.
    Owned(Box<dyn Callback>),
}

impl CallbackRef<'_> {
    fn get(&mut self) -> &mut dyn Callback {
        match self {
            CallbackRef::Borrowed(c) => &mut **c,
            CallbackRef::Owned(c) => c.as_mut(),
        }
    }

    fn get_ref(&self) -> &dyn Callback {
        match self {
            CallbackRef::Borrowed(c) => &**c,
            CallbackRef::Owned(c) => c.as_ref(),
        }
    }
}

impl std::fmt::Debug for CallbackRef<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CallbackRef::Borrowed(_) => "Borrowed(..)",
            CallbackRef::Owned(_) => "Owned(..)",
        })
    }
}

/// Container that calls every callback's hook in order (Keras `keras.callbacks.CallbackList`).
pub struct CallbackList<'a> {
    callbacks: Vec<CallbackRef<'a>>,
    history: Option<History>,
    progbar: Option<ProgbarLogger>,
}

macro_rules! each {
    ($self:ident, $cb:ident => $call:expr) => {{
        for slot in $self.callbacks.iter_mut() {
            let $cb = slot.get();
            $call?;
        }
        if let Some($cb) = $self.history.as_mut() {
            $call?;
        }
        if let Some($cb) = $self.progbar.as_mut() {
            $call?;
        }
        Ok(())
    }};
}

impl<'a> CallbackList<'a> {
    /// The user's callbacks, then a `History` (if `add_history` and none was given) and a
    /// `ProgbarLogger` (if `add_progbar` and none was given); `params` go to every callback.
    pub fn new(
        callbacks: Vec<CallbackRef<'a>>,
        add_history: bool,
        add_progbar: bool,
        params: &CallbackParams,
    ) -> Self {
        let has = |f: &dyn Fn(&dyn Callback) -> bool| callbacks.iter().any(|c| f(c.get_ref()));
        let history = (add_history && !has(&|c| c.as_any().is::<History>())).then(History::default);
        let progbar = (add_progbar && !has(&|c| c.as_any().is::<ProgbarLogger>())).then(ProgbarLogger::new);
        let mut list = CallbackList { callbacks, history, progbar };
        list.set_params(params);
        list
    }

    fn set_params(&mut self, params: &CallbackParams) {
        for slot in self.callbacks.iter_mut() {
            slot.get().set_params(params);
        }
        if let Some(h) = self.history.as_mut() {
            h.set_params(params);
        }
        if let Some(p) = self.progbar.as_mut() {
            p.set_params(params);
        }
    }

    /// The History of this run: the one `fit` added, or the user's own.
    pub fn history(&self) -> History {
        if let Some(h) = &self.history {
            return h.clone();
        }
        self.callbacks
            .iter()
            .find_map(|c| c.get_ref().as_any().downcast_ref::<History>().cloned())
            .unwrap_or_default()
    }

    /// Runs `on_train_begin` on every callback.
    pub fn on_train_begin(&mut self, m: &mut CallbackModel, logs: &mut Logs) -> Result<()> {
        each!(self, cb => cb.on_train_begin(m, logs))
    }
    /// Runs `on_train_end`.
    pub fn on_train_end(&mut self, m: &mut CallbackModel, logs: &mut Logs) -> Result<()> {
        each!(self, cb => cb.on_train_end(m, logs))
    }
    /// Runs `on_epoch_begin`.
    pub fn on_epoch_begin(&mut self, epoch: usize, m: &mut CallbackModel, logs: &mut Logs) -> Result<()> {
        each!(self, cb => cb.on_epoch_begin(epoch, m, logs))
    }
    /// Runs `on_epoch_end`.
    pub fn on_epoch_end(&mut self, epoch: usize, m: &mut CallbackModel, logs: &mut Logs) -> Result<()> {
        each!(self, cb => cb.on_epoch_end(epoch, m, logs))
    }
    /// Runs `on_train_batch_begin`.
    pub fn on_train_batch_begin(
        &mut self,
        batch: usize,
        m: &mut CallbackModel,
        logs: &mut Logs,
    ) -> Result<()> {
        each!(self, cb => cb.on_train_batch_begin(batch, m, logs))
    }
    /// Runs `on_train_batch_end`.
    pub fn on_train_batch_end(&mut self, batch: usize, m: &mut CallbackModel, logs: &mut Logs) -> Result<()> {
        each!(self, cb => cb.on_train_batch_end(batch, m, logs))
    }
    /// Runs `on_test_begin`.
    pub fn on_test_begin(&mut self, m: &mut CallbackModel, logs: &mut Logs) -> Result<()> {
        each!(self, cb => cb.on_test_begin(m, logs))
    }
    /// Runs `on_test_end`.
    pub fn on_test_end(&mut self, m: &mut CallbackModel, logs: &mut Logs) -> Result<()> {
        each!(self, cb => cb.on_test_end(m, logs))
    }
    /// Runs `on_test_batch_begin`.
    pub fn on_test_batch_begin(
        &mut self,
        batch: usize,
        m: &mut CallbackModel,
        logs: &mut Logs,
    ) -> Result<()> {
        each!(self, cb => cb.on_test_batch_begin(batch, m, logs))
    }
    /// Runs `on_test_batch_end`.
    pub fn on_test_batch_end(&mut self, batch: usize, m: &mut CallbackModel, logs: &mut Logs) -> Result<()> {
        each!(self, cb => cb.on_test_batch_end(batch, m, logs))
    }
    /// Runs `on_predict_begin`.
    pub fn on_predict_begin(&mut self, m: &mut CallbackModel, logs: &mut Logs) -> Result<()> {
        each!(self, cb => cb.on_predict_begin(m, logs))
    }
    /// Runs `on_predict_end`.
    pub fn on_predict_end(&mut self, m: &mut CallbackModel, logs: &mut Logs) -> Result<()> {
        each!(self, cb => cb.on_predict_end(m, logs))
    }
    /// Runs `on_predict_batch_begin`.
    pub fn on_predict_batch_begin(
        &mut self,
        batch: usize,
        m: &mut CallbackModel,
        logs: &mut Logs,
    ) -> Result<()> {
        each!(self, cb => cb.on_predict_batch_begin(batch, m, logs))
    }
    /// Runs `on_predict_batch_end`.
    pub fn on_predict_batch_end(
        &mut self,
        batch: usize,
        outputs: &Tensor,
        m: &mut CallbackModel,
        logs: &mut Logs,
    ) -> Result<()> {
        each!(self, cb => cb.on_predict_batch_end(batch, outputs, m, logs))
    }
}
