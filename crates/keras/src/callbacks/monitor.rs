//! What the monitoring callbacks share (Keras `MonitorCallback`): a logged quantity, whether
//! lower or higher is better, and the `min_delta` an improvement must beat.

use std::collections::HashSet;

use super::{warn, CallbackModel};
use crate::{keras_bail, Error, Result};

/// Whether the monitored quantity should go down (`Min`), up (`Max`), or is decided from its
/// name (`Auto`: losses go down, accuracy-like metrics up), as Keras's `mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Mode {
    /// Decide from the metric.
    #[default]
    Auto,
    /// Lower is better.
    Min,
    /// Higher is better.
    Max,
}

impl Mode {
    /// `"auto"`, `"min"` or `"max"`; anything else is an error (Keras warns and falls back
    /// to auto, which hides typos).
    pub fn parse(s: &str, owner: &str) -> Result<Mode> {
        match s {
            "auto" => Ok(Mode::Auto),
            "min" => Ok(Mode::Min),
            "max" => Ok(Mode::Max),
            _ => Err(Error::InvalidArgument(format!(
                "{owner} mode '{s}' is unknown: expected 'auto', 'min' or 'max'"
            ))),
        }
    }
}

/// How often a checkpointing callback saves: at the end of every epoch, or every `n` batches
/// (Keras `save_freq="epoch"` or an integer).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SaveFreq {
    /// At the end of each epoch.
    #[default]
    Epoch,
    /// After every this many training batches (counted across epochs).
    Batches(usize),
}

/// Keras metrics whose `_direction` is "up" (by class name).
const UP: &[&str] = &[
    "Accuracy",
    "BinaryAccuracy",
    "CategoricalAccuracy",
    "SparseCategoricalAccuracy",
    "TopKCategoricalAccuracy",
    "SparseTopKCategoricalAccuracy",
    "AUC",
    "BinaryIoU",
    "IoU",
    "MeanIoU",
    "OneHotIoU",
    "OneHotMeanIoU",
    "ConcordanceCorrelation",
    "PearsonCorrelation",
    "CosineSimilarity",
    "F1Score",
    "FBetaScore",
    "Precision",
    "Recall",
    "PrecisionAtRecall",
    "RecallAtPrecision",
    "SensitivityAtSpecificity",
    "SpecificityAtSensitivity",
    "R2Score",
];

/// Keras metrics whose `_direction` is "down".
const DOWN: &[&str] = &[
    "BinaryCrossentropy",
    "CategoricalCrossentropy",
    "SparseCategoricalCrossentropy",
    "CategoricalHinge",
    "Hinge",
    "SquaredHinge",
    "KLDivergence",
    "LogCoshError",
    "MeanAbsoluteError",
    "MeanAbsolutePercentageError",
    "MeanSquaredError",
    "MeanSquaredLogarithmicError",
    "Poisson",
    "RootMeanSquaredError",
];

/// The monitor state of one callback.
#[derive(Clone, Debug)]
pub(crate) struct Monitor {
    pub monitor: String,
    pub mode: Mode,
    /// Best value so far (Keras `self.best`).
    pub best: Option<f64>,
    /// `abs(min_delta)`, made negative once the direction is "lower is better".
    pub min_delta: f64,
    /// `Some(true)` when lower is better, once decided.
    pub less: Option<bool>,
    owner: &'static str,
    warned: HashSet<String>,
}

impl Monitor {
    pub fn new(owner: &'static str, monitor: &str, min_delta: f64) -> Self {
        Monitor {
            monitor: monitor.to_string(),
            mode: Mode::Auto,
            best: None,
            min_delta: min_delta.abs(),
            less: None,
            owner,
            warned: HashSet::new(),
        }
    }

    /// Sets `mode` from `"auto"`, `"min"` or `"max"` (the error names the owning callback).
    pub fn set_mode(&mut self, mode: &str) -> Result<()> {
        self.mode = Mode::parse(mode, self.owner)?;
        Ok(())
    }

    /// Keras `_set_monitor_op`, run once at the first epoch end.
    pub fn set_monitor_op(&mut self, model: &CallbackModel) -> Result<()> {
        if self.less.is_some() {
            return Ok(());
        }
        let less = match self.mode {
            Mode::Min => true,
            Mode::Max => false,
            Mode::Auto => {
                let name = self.monitor.strip_prefix("val_").unwrap_or(&self.monitor);
                let by_metric = model.metric_class(name).and_then(|class| {
                    if UP.contains(&class.as_str()) {
                        Some(false)
                    } else if DOWN.contains(&class.as_str()) {
                        Some(true)
                    } else {
                        None
                    }
                });
                match (by_metric, name == "loss") {
                    (Some(l), _) => l,
                    (None, true) => true,
                    (None, false) => keras_bail!(
                        Value,
                        "{} callback received monitor={}, but Keras isn't able to automatically determine whether that metric should be maximized or minimized. Pass `mode='max'` in order to monitor based on the highest metric value, or pass `mode='min'` in order to use the lowest value.",
                        self.owner,
                        self.monitor
                    ),
                }
            }
        };
        if less {
            self.min_delta = -self.min_delta;
        }
        self.less = Some(less);
        Ok(())
    }

    /// Keras `_is_improvement`: `op(value - min_delta, reference)`, compared in float32 as
    /// Keras's `ops.less` / `ops.greater` convert their Python floats.
    pub fn is_improvement(&self, value: f64, reference: Option<f64>) -> bool {
        let Some(reference) = reference else { return true };
        let a = (value - self.min_delta) as f32;
        let b = reference as f32;
        if self.less.unwrap_or(true) {
            a < b
        } else {
            a > b
        }
    }

    /// Prints `message` once per callback.
    pub fn warn_once(&mut self, message: String) {
        if self.warned.insert(message.clone()) {
            warn(message);
        }
    }
}

/// Keys of `logs` joined by commas (Keras's "Available metrics are: ...").
pub(crate) fn available(logs: &crate::Logs) -> String {
    logs.keys().cloned().collect::<Vec<_>>().join(",")
}

/// The monitor options of a monitoring callback (a struct with fields `monitor: Monitor` and
/// `pending: Option<Error>`), each written once here: the callback lists the options it has,
/// each with its own rustdoc.
///
/// - `monitor(key)`: the logged quantity;
/// - `min_delta(d)`: the improvement threshold, sign ignored (as Keras's `abs(min_delta)`);
/// - `mode(mode)`: `"auto"`, `"min"` or `"max"`; a bad mode is kept as the callback's pending
///   error (the first one wins), returned when training starts;
/// - `initial_value_threshold(v)`: the value the first improvement must beat;
/// - `best()`: the best monitored value so far.
macro_rules! monitor_options {
    ($Name:ident { $( $(#[doc = $doc:expr])* $opt:ident ),* $(,)? }) => {
        impl $Name {
            $( $crate::callbacks::monitor::monitor_options! { @opt [$(#[doc = $doc])*] $opt } )*
        }
    };
    (@opt [$($attr:tt)*] monitor) => {
        $($attr)*
        pub fn monitor(mut self, key: &str) -> Self {
            self.monitor.monitor = key.to_string();
            self
        }
    };
    (@opt [$($attr:tt)*] min_delta) => {
        $($attr)*
        pub fn min_delta(mut self, d: f64) -> Self {
            self.monitor.min_delta = d.abs();
            self
        }
    };
    (@opt [$($attr:tt)*] mode) => {
        $($attr)*
        pub fn mode(mut self, mode: &str) -> Self {
            if let Err(e) = self.monitor.set_mode(mode) {
                self.pending = self.pending.take().or(Some(e));
            }
            self
        }
    };
    (@opt [$($attr:tt)*] initial_value_threshold) => {
        $($attr)*
        pub fn initial_value_threshold(mut self, v: f64) -> Self {
            self.monitor.best = Some(v);
            self
        }
    };
    (@opt [$($attr:tt)*] best) => {
        $($attr)*
        pub fn best(&self) -> Option<f64> {
            self.monitor.best
        }
    };
}
pub(crate) use monitor_options;
