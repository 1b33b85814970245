//! Arguments of `fit`, `evaluate` and `predict`, as builders with Keras's defaults.

use crate::Tensor;

/// `model.fit(...)` arguments. Defaults as Keras: batch_size 32, epochs 1, verbose 1
/// ("auto"), shuffle true, no validation.
///
/// ```
/// let args = keras::FitArgs::default().epochs(10).batch_size(64).validation_split(0.1);
/// assert_eq!(args.epochs, 10);
/// ```
#[derive(Clone, Debug)]
pub struct FitArgs {
    /// Samples per gradient update.
    pub batch_size: usize,
    /// Index of the last epoch (training runs `initial_epoch..epochs`).
    pub epochs: usize,
    /// 0 silent, 1 progress bar, 2 one line per epoch.
    pub verbose: u8,
    /// Data to evaluate after each epoch.
    pub validation_data: Option<(Tensor, Tensor)>,
    /// Fraction of the data (taken from the end, before shuffling) held out for validation.
    pub validation_split: f32,
    /// Shuffle the training data before each epoch.
    pub shuffle: bool,
    /// Epoch at which to start (for resuming).
    pub initial_epoch: usize,
    /// Per-sample weights, shape `[n]`.
    pub sample_weight: Option<Tensor>,
    /// Batch size for validation (defaults to `batch_size`).
    pub validation_batch_size: Option<usize>,
    /// Run validation every this many epochs.
    pub validation_freq: usize,
}

impl Default for FitArgs {
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
        }
    }
}

impl FitArgs {
    /// Samples per update.
    pub fn batch_size(mut self, n: usize) -> Self {
        self.batch_size = n;
        self
    }
    /// Number of epochs.
    pub fn epochs(mut self, n: usize) -> Self {
        self.epochs = n;
        self
    }
    /// Verbosity (0, 1 or 2).
    pub fn verbose(mut self, v: u8) -> Self {
        self.verbose = v;
        self
    }
    /// Validation data `(x_val, y_val)`.
    pub fn validation_data(mut self, x: &Tensor, y: &Tensor) -> Self {
        self.validation_data = Some((x.clone(), y.clone()));
        self
    }
    /// Fraction held out for validation.
    pub fn validation_split(mut self, f: f32) -> Self {
        self.validation_split = f;
        self
    }
    /// Shuffle before each epoch.
    pub fn shuffle(mut self, yes: bool) -> Self {
        self.shuffle = yes;
        self
    }
    /// Starting epoch.
    pub fn initial_epoch(mut self, e: usize) -> Self {
        self.initial_epoch = e;
        self
    }
    /// Per-sample weights.
    pub fn sample_weight(mut self, w: &Tensor) -> Self {
        self.sample_weight = Some(w.clone());
        self
    }
    /// Validation batch size.
    pub fn validation_batch_size(mut self, n: usize) -> Self {
        self.validation_batch_size = Some(n);
        self
    }
    /// Validate every `n` epochs.
    pub fn validation_freq(mut self, n: usize) -> Self {
        self.validation_freq = n;
        self
    }
}

/// `model.evaluate(...)` arguments (batch_size 32, verbose 1).
#[derive(Clone, Debug)]
pub struct EvaluateArgs {
    /// Samples per batch.
    pub batch_size: usize,
    /// 0 silent, 1 progress bar, 2 one line.
    pub verbose: u8,
    /// Per-sample weights.
    pub sample_weight: Option<Tensor>,
}

impl Default for EvaluateArgs {
    fn default() -> Self {
        EvaluateArgs { batch_size: 32, verbose: 1, sample_weight: None }
    }
}

impl EvaluateArgs {
    /// Samples per batch.
    pub fn batch_size(mut self, n: usize) -> Self {
        self.batch_size = n;
        self
    }
    /// Verbosity.
    pub fn verbose(mut self, v: u8) -> Self {
        self.verbose = v;
        self
    }
    /// Per-sample weights.
    pub fn sample_weight(mut self, w: &Tensor) -> Self {
        self.sample_weight = Some(w.clone());
        self
    }
}

/// `model.predict(...)` arguments (batch_size 32, verbose 1 as Keras's "auto").
#[derive(Clone, Debug)]
pub struct PredictArgs {
    /// Samples per batch.
    pub batch_size: usize,
    /// Verbosity.
    pub verbose: u8,
}

impl Default for PredictArgs {
    fn default() -> Self {
        PredictArgs { batch_size: 32, verbose: 1 }
    }
}

impl PredictArgs {
    /// Samples per batch.
    pub fn batch_size(mut self, n: usize) -> Self {
        self.batch_size = n;
        self
    }
    /// Verbosity.
    pub fn verbose(mut self, v: u8) -> Self {
        self.verbose = v;
        self
    }
}
