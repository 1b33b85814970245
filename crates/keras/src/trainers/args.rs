//! Arguments of `fit`, `evaluate` and `predict`, as builders with Keras's defaults.

use super::arrays::Arrays;
use crate::callbacks::{Callback, CallbackRef};
use crate::setters::setters;

macro_rules! callback_builders {
    () => {
        /// Adds a callback you keep: read its state after the call (for example
        /// `EarlyStopping::stopped_epoch`). Callbacks run in the order added.
        pub fn callback<C: Callback>(mut self, cb: &'a mut C) -> Self {
            self.callbacks.push(CallbackRef::Borrowed(cb));
            self
        }
        /// Adds a callback by value.
        pub fn callback_boxed(mut self, cb: Box<dyn Callback>) -> Self {
            self.callbacks.push(CallbackRef::Owned(cb));
            self
        }
        /// Adds several callbacks (borrowed or owned).
        pub fn callbacks(mut self, cbs: impl IntoIterator<Item = CallbackRef<'a>>) -> Self {
            self.callbacks.extend(cbs);
            self
        }
    };
}

/// `model.fit(...)` arguments. Defaults as Keras: batch_size 32, epochs 1, verbose 1
/// ("auto"), shuffle true, no validation.
///
/// ```
/// let args = keras::FitArgs::default().epochs(10).batch_size(64).validation_split(0.1);
/// assert_eq!(args.epochs, 10);
/// ```
#[derive(Debug)]
pub struct FitArgs<'a> {
    /// Samples per gradient update.
    pub batch_size: usize,
    /// Index of the last epoch (training runs `initial_epoch..epochs`).
    pub epochs: usize,
    /// 0 silent, 1 progress bar, 2 one line per epoch.
    pub verbose: u8,
    /// Data to evaluate after each epoch: `(x, y, sample_weight)`.
    pub validation_data: Option<(Arrays, Arrays, Option<Arrays>)>,
    /// Fraction of the data (taken from the end, before shuffling) held out for validation.
    pub validation_split: f32,
    /// Shuffle the training data before each epoch.
    pub shuffle: bool,
    /// Epoch at which to start (for resuming).
    pub initial_epoch: usize,
    /// Per-sample weights, shape `[n]`: one array for every output, or one per output (a
    /// list or a map by output name).
    pub sample_weight: Option<Arrays>,
    /// Batch size for validation (defaults to `batch_size`).
    pub validation_batch_size: Option<usize>,
    /// Run validation every this many epochs.
    pub validation_freq: usize,
    /// Callbacks (Keras `callbacks=[...]`), run before the `History` and progress bar that
    /// `fit` adds.
    pub callbacks: Vec<CallbackRef<'a>>,
}

impl Default for FitArgs<'_> {
    fn default() -> Self {
        FitArgs {
            batch_size: 32,
            epochs: 1,
            verbose: 1,
            validation_data: None,
            validation_split: 0.0,
            shuffle: true,
            initial_epoch: 0,
            sample_weight: None,
            validation_batch_size: None,
            validation_freq: 1,
            callbacks: Vec::new(),
        }
    }
}

impl<'a> FitArgs<'a> {
    callback_builders!();

    setters! {
        /// Samples per update.
        batch_size: usize,
        /// Number of epochs.
        epochs: usize,
        /// Verbosity (0, 1 or 2).
        verbose: u8,
    }
    /// Validation data `(x_val, y_val)` (each one array, a list or a map).
    pub fn validation_data(mut self, x: impl Into<Arrays>, y: impl Into<Arrays>) -> Self {
        self.validation_data = Some((x.into(), y.into(), None));
        self
    }
    /// Validation data with sample weights `(x_val, y_val, sample_weight_val)`.
    pub fn validation_data_weighted(
        mut self,
        x: impl Into<Arrays>,
        y: impl Into<Arrays>,
        sample_weight: impl Into<Arrays>,
    ) -> Self {
        self.validation_data = Some((x.into(), y.into(), Some(sample_weight.into())));
        self
    }
    setters! {
        /// Fraction held out for validation.
        validation_split: f32,
        /// Shuffle before each epoch.
        shuffle: bool,
        /// Starting epoch.
        initial_epoch: usize,
    }
    /// Per-sample weights (one array for every output, or one per output).
    pub fn sample_weight(mut self, w: impl Into<Arrays>) -> Self {
        self.sample_weight = Some(w.into());
        self
    }
    setters! {
        /// Validation batch size.
        validation_batch_size: usize => Some,
        /// Validate every `n` epochs.
        validation_freq: usize,
    }
}

/// `model.evaluate(...)` arguments (batch_size 32, verbose 1).
#[derive(Debug)]
pub struct EvaluateArgs<'a> {
    /// Samples per batch.
    pub batch_size: usize,
    /// 0 silent, 1 progress bar, 2 one line.
    pub verbose: u8,
    /// Per-sample weights (one array for every output, or one per output).
    pub sample_weight: Option<Arrays>,
    /// Callbacks (their `on_test_*` hooks run).
    pub callbacks: Vec<CallbackRef<'a>>,
}

impl Default for EvaluateArgs<'_> {
    fn default() -> Self {
        EvaluateArgs { batch_size: 32, verbose: 1, sample_weight: None, callbacks: Vec::new() }
    }
}

impl<'a> EvaluateArgs<'a> {
    callback_builders!();

    setters! {
        /// Samples per batch.
        batch_size: usize,
        /// Verbosity.
        verbose: u8,
    }
    /// Per-sample weights (one array for every output, or one per output).
    pub fn sample_weight(mut self, w: impl Into<Arrays>) -> Self {
        self.sample_weight = Some(w.into());
        self
    }
}

/// `model.predict(...)` arguments (batch_size 32, verbose 1 as Keras's "auto").
#[derive(Debug)]
pub struct PredictArgs<'a> {
    /// Samples per batch.
    pub batch_size: usize,
    /// Verbosity.
    pub verbose: u8,
    /// Callbacks (their `on_predict_*` hooks run; the model is read-only to them).
    pub callbacks: Vec<CallbackRef<'a>>,
}

impl Default for PredictArgs<'_> {
    fn default() -> Self {
        PredictArgs { batch_size: 32, verbose: 1, callbacks: Vec::new() }
    }
}

impl<'a> PredictArgs<'a> {
    callback_builders!();

    setters! {
        /// Samples per batch.
        batch_size: usize,
        /// Verbosity.
        verbose: u8,
    }
}
