//! `LambdaCallback` (Keras `keras.callbacks.LambdaCallback`).

use super::{Callback, CallbackModel};
use crate::trainers::Logs;
use crate::Result;

type IndexFn = Box<dyn FnMut(usize, &Logs) -> Result<()>>;
type LogsFn = Box<dyn FnMut(&Logs) -> Result<()>>;

/// Each `/// doc` + `name(field): (Args)` entry writes the builder `name(f)`, which keeps the
/// closure `f: FnMut(Args) -> Result<()>` as the hook `field`.
macro_rules! hook_setters {
    ($( $(#[doc = $doc:literal])* $name:ident($field:ident): ($($arg:ty),*) ),* $(,)?) => {
        $(
            $(#[doc = $doc])*
            pub fn $name(mut self, f: impl FnMut($($arg),*) -> Result<()> + 'static) -> Self {
                self.$field = Some(Box::new(f));
                self
            }
        )*
    };
}

/// A callback made of closures, one per hook you need (Keras `LambdaCallback`):
/// `on_epoch_begin(epoch, logs)`, `on_epoch_end(epoch, logs)`, `on_train_begin(logs)`,
/// `on_train_end(logs)`, `on_train_batch_begin(batch, logs)`, `on_train_batch_end(batch, logs)`.
///
/// ```
/// use keras::callbacks::LambdaCallback;
/// let cb = LambdaCallback::new().on_epoch_end(|epoch, logs| {
///     println!("epoch {epoch}: loss {:?}", logs.get("loss"));
///     Ok(())
/// });
/// # let _ = cb;
/// ```
#[derive(Default)]
pub struct LambdaCallback {
    epoch_begin: Option<IndexFn>,
    epoch_end: Option<IndexFn>,
    train_begin: Option<LogsFn>,
    train_end: Option<LogsFn>,
    batch_begin: Option<IndexFn>,
    batch_end: Option<IndexFn>,
}

impl LambdaCallback {
    /// A callback that does nothing yet.
    pub fn new() -> Self {
        Self::default()
    }
    hook_setters! {
        /// Called at the start of every epoch.
        on_epoch_begin(epoch_begin): (usize, &Logs),
        /// Called at the end of every epoch.
        on_epoch_end(epoch_end): (usize, &Logs),
        /// Called when training starts.
        on_train_begin(train_begin): (&Logs),
        /// Called when training ends.
        on_train_end(train_end): (&Logs),
        /// Called before every training batch.
        on_train_batch_begin(batch_begin): (usize, &Logs),
        /// Called after every training batch.
        on_train_batch_end(batch_end): (usize, &Logs),
    }
}

impl Callback for LambdaCallback {
    fn on_epoch_begin(&mut self, epoch: usize, _m: &mut CallbackModel, logs: &mut Logs) -> Result<()> {
        self.epoch_begin.as_mut().map_or(Ok(()), |f| f(epoch, logs))
    }
    fn on_epoch_end(&mut self, epoch: usize, _m: &mut CallbackModel, logs: &mut Logs) -> Result<()> {
        self.epoch_end.as_mut().map_or(Ok(()), |f| f(epoch, logs))
    }
    fn on_train_begin(&mut self, _m: &mut CallbackModel, logs: &mut Logs) -> Result<()> {
        self.train_begin.as_mut().map_or(Ok(()), |f| f(logs))
    }
    fn on_train_end(&mut self, _m: &mut CallbackModel, logs: &mut Logs) -> Result<()> {
        self.train_end.as_mut().map_or(Ok(()), |f| f(logs))
    }
    fn on_train_batch_begin(&mut self, batch: usize, _m: &mut CallbackModel, logs: &mut Logs) -> Result<()> {
        self.batch_begin.as_mut().map_or(Ok(()), |f| f(batch, logs))
    }
    fn on_train_batch_end(&mut self, batch: usize, _m: &mut CallbackModel, logs: &mut Logs) -> Result<()> {
        self.batch_end.as_mut().map_or(Ok(()), |f| f(batch, logs))
    }
}
