//! `SearchArgs`: what `tuner.search(x, y, ...)` passes to every trial's `fit`, with
//! keras's `FitArgs` defaults. Callbacks are given as factories because each execution of
//! each trial needs fresh ones (keras-tuner deep-copies the callbacks it is given).

use std::sync::Arc;

use keras::callbacks::Callback;
use keras::trainers::Arrays;
use keras::FitArgs;

type Factory = Arc<dyn Fn() -> Box<dyn Callback> + Send + Sync>;

/// Fit arguments for every trial (Keras `search(x, y, **fit_kwargs)`).
///
/// ```
/// use keras::callbacks::EarlyStopping;
/// use keras_tuner::SearchArgs;
///
/// let args = SearchArgs::default()
///     .epochs(20)
///     .batch_size(64)
///     .callback(|| EarlyStopping::new().monitor("val_loss").patience(3));
/// assert_eq!(args.epochs, 20);
/// ```
#[derive(Clone)]
pub struct SearchArgs {
    /// Samples per gradient update.
    pub batch_size: usize,
    /// Epochs (Hyperband sets its own).
    pub epochs: usize,
    /// Verbosity of `fit` and of the search's progress (0 silent).
    pub verbose: u8,
    /// Validation data.
    pub validation_data: Option<(Arrays, Arrays)>,
    /// Fraction of the training data held out for validation.
    pub validation_split: f32,
    /// Shuffle before each epoch.
    pub shuffle: bool,
    /// First epoch (Hyperband sets its own).
    pub initial_epoch: usize,
    /// Per-sample weights.
    pub sample_weight: Option<Arrays>,
    /// Validation batch size.
    pub validation_batch_size: Option<usize>,
    /// Validate every this many epochs.
    pub validation_freq: usize,
    callbacks: Vec<Factory>,
}

impl Default for SearchArgs {
    fn default() -> Self {
        let f = FitArgs::default();
        SearchArgs {
            batch_size: f.batch_size,
            epochs: f.epochs,
            verbose: f.verbose,
            validation_data: None,
            validation_split: f.validation_split,
            shuffle: f.shuffle,
            initial_epoch: f.initial_epoch,
            sample_weight: None,
            validation_batch_size: None,
            validation_freq: f.validation_freq,
            callbacks: Vec::new(),
        }
    }
}

impl std::fmt::Debug for SearchArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchArgs")
            .field("batch_size", &self.batch_size)
            .field("epochs", &self.epochs)
            .field("verbose", &self.verbose)
            .field("validation_data", &self.validation_data.is_some())
            .field("validation_split", &self.validation_split)
            .field("callbacks", &self.callbacks.len())
            .finish_non_exhaustive()
    }
}

impl SearchArgs {
    crate::setters::setters! {
        /// Samples per update.
        batch_size: usize,
        /// Epochs per trial.
        epochs: usize,
        /// Verbosity (0, 1 or 2).
        verbose: u8,
        /// Fraction held out for validation.
        validation_split: f32,
        /// Shuffle before each epoch.
        shuffle: bool,
        /// Starting epoch.
        initial_epoch: usize,
        /// Validation batch size.
        validation_batch_size: usize => Some,
        /// Validate every this many epochs.
        validation_freq: usize,
    }
    /// Validation data `(x_val, y_val)`: arrays, lists or maps, as `fit` takes them.
    pub fn validation_data(mut self, x: impl Into<Arrays>, y: impl Into<Arrays>) -> Self {
        self.validation_data = Some((x.into(), y.into()));
        self
    }
    /// Per-sample weights.
    pub fn sample_weight(mut self, w: impl Into<Arrays>) -> Self {
        self.sample_weight = Some(w.into());
        self
    }
    /// A callback for every execution, made fresh each time by `make` (an `EarlyStopping`,
    /// a `TensorBoard` whose `log_dir` the tuner moves to `<log_dir>/<trial>/execution<n>`).
    pub fn callback<C: Callback + 'static, F: Fn() -> C + Send + Sync + 'static>(mut self, make: F) -> Self {
        self.callbacks.push(Arc::new(move || Box::new(make()) as Box<dyn Callback>));
        self
    }

    /// The `FitArgs` of one execution, with fresh callbacks.
    pub(crate) fn fit_args<'a>(&self) -> (FitArgs<'a>, Vec<Box<dyn Callback>>) {
        let mut f = FitArgs::default()
            .batch_size(self.batch_size)
            .epochs(self.epochs)
            .verbose(self.verbose)
            .validation_split(self.validation_split)
            .shuffle(self.shuffle)
            .initial_epoch(self.initial_epoch)
            .validation_freq(self.validation_freq);
        f.validation_data = self.validation_data.clone().map(|(x, y)| (x, y, None));
        f.sample_weight = self.sample_weight.clone();
        f.validation_batch_size = self.validation_batch_size;
        (f, self.callbacks.iter().map(|m| m()).collect())
    }
}
