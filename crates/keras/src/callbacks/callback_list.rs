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

/// `pub fn <hook>(&mut self, <args>, m, logs)` for each hook listed: runs the hook of every
/// callback in order (`each!`), stopping at the first error.
macro_rules! hooks {
    ($($hook:ident($($arg:ident: $ty:ty),*);)*) => {$(
        #[doc = concat!("Runs `", stringify!($hook), "` on every callback, in order.")]
        pub fn $hook(&mut self, $($arg: $ty,)* m: &mut CallbackModel, logs: &mut Logs) -> Result<()> {
            each!(self, cb => cb.$hook($($arg,)* m, logs))
        }
    )*};
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

    hooks! {
        on_train_begin();
        on_train_end();
        on_epoch_begin(epoch: usize);
        on_epoch_end(epoch: usize);
        on_train_batch_begin(batch: usize);
        on_train_batch_end(batch: usize);
        on_test_begin();
        on_test_end();
        on_test_batch_begin(batch: usize);
        on_test_batch_end(batch: usize);
        on_predict_begin();
        on_predict_end();
        on_predict_batch_begin(batch: usize);
        on_predict_batch_end(batch: usize, outputs: &Tensor);
    }
}
