//! `compile`: the optimizer, loss and metrics a model trains with.

use crate::losses::{self, Loss};
use crate::metrics::{self, Metric};
use crate::optimizers::{self, Optimizer};
use serde_json::{json, Value};

use crate::{keras_bail, Result, Tensor};

/// Anything `compile` accepts as an optimizer: a Keras name (`"adam"`) or an object.
pub trait IntoOptimizer {
    /// Resolves to an optimizer.
    fn into_optimizer(self) -> Result<Box<dyn Optimizer>>;
}

impl IntoOptimizer for &str {
    fn into_optimizer(self) -> Result<Box<dyn Optimizer>> {
        optimizers::get(self)
    }
}

impl IntoOptimizer for String {
    fn into_optimizer(self) -> Result<Box<dyn Optimizer>> {
        optimizers::get(&self)
    }
}

impl IntoOptimizer for Box<dyn Optimizer> {
    fn into_optimizer(self) -> Result<Box<dyn Optimizer>> {
        Ok(self)
    }
}

impl<T: Optimizer + 'static> IntoOptimizer for T {
    fn into_optimizer(self) -> Result<Box<dyn Optimizer>> {
        Ok(Box::new(self))
    }
}

/// Anything `compile` accepts as a loss: a Keras name or an object.
pub trait IntoLoss {
    /// Resolves to a loss.
    fn into_loss(self) -> Result<Box<dyn Loss>>;
    /// The string identifier, when the loss was given by name (kept in the compile config
    /// as Keras keeps it: `"mse"` stays `"mse"`).
    fn identifier(&self) -> Option<String> {
        None
    }
}

impl IntoLoss for &str {
    fn into_loss(self) -> Result<Box<dyn Loss>> {
        losses::get(self)
    }
    fn identifier(&self) -> Option<String> {
        Some(self.to_string())
    }
}

impl IntoLoss for String {
    fn into_loss(self) -> Result<Box<dyn Loss>> {
        losses::get(&self)
    }
    fn identifier(&self) -> Option<String> {
        Some(self.clone())
    }
}

impl IntoLoss for Box<dyn Loss> {
    fn into_loss(self) -> Result<Box<dyn Loss>> {
        Ok(self)
    }
}

impl<T: Loss + 'static> IntoLoss for T {
    fn into_loss(self) -> Result<Box<dyn Loss>> {
        Ok(Box::new(self))
    }
}

/// A metric given to `compile`: a Keras name (`"accuracy"`, resolved from the loss and the
/// data on the first batch, as Keras does) or an object.
pub enum MetricArg {
    /// A string identifier.
    Name(String),
    /// A metric object.
    Object(Box<dyn Metric>),
}

impl From<&str> for MetricArg {
    fn from(s: &str) -> Self {
        MetricArg::Name(s.to_string())
    }
}

impl From<&&str> for MetricArg {
    fn from(s: &&str) -> Self {
        MetricArg::Name(s.to_string())
    }
}

impl From<String> for MetricArg {
    fn from(s: String) -> Self {
        MetricArg::Name(s)
    }
}

impl From<Box<dyn Metric>> for MetricArg {
    fn from(m: Box<dyn Metric>) -> Self {
        MetricArg::Object(m)
    }
}

/// What `compile` set up, plus the metric state the steps accumulate.
pub struct Compiled {
    /// The optimizer.
    pub optimizer: Box<dyn Optimizer>,
    /// The loss.
    pub loss: Box<dyn Loss>,
    /// Metric specs in the order given.
    specs: Vec<MetricArg>,
    /// Resolved metrics (after the first batch).
    metrics: Option<Vec<Box<dyn Metric>>>,
    /// Tracks the mean loss (weighted by batch size).
    pub loss_tracker: metrics::Mean,
    /// The loss as the compile config records it (a string name or a serialized object).
    loss_config: Value,
    /// The metrics as the compile config records them.
    metrics_config: Vec<Value>,
    /// The captured CUDA graph of the training step (see `step_graph.rs`).
    #[cfg(feature = "cuda")]
    pub(crate) graphs: super::step_graph::Graphs,
}

impl Compiled {
    /// Compile state from resolved parts.
    pub fn new(optimizer: Box<dyn Optimizer>, loss: Box<dyn Loss>, metrics: Vec<MetricArg>) -> Result<Self> {
        // A KERAS_DEVICE that names a missing device is reported here, before any training.
        crate::backend::device()?;
        for m in &metrics {
            if let MetricArg::Name(n) = m {
                if n.is_empty() {
                    keras_bail!(InvalidArgument, "Empty metric name given to compile()");
                }
                // Fail early on unknown names (accuracy-like names resolve later).
                if !matches!(n.as_str(), "accuracy" | "acc") {
                    metrics::get(n)?;
                }
            }
        }
        let metrics_config = metrics
            .iter()
            .map(|m| match m {
                MetricArg::Name(n) => Value::String(n.clone()),
                MetricArg::Object(m) => json!({
                    "module": "keras.metrics",
                    "class_name": m.class_name(),
                    "config": m.get_config(),
                    "registered_name": null,
                }),
            })
            .collect();
        let loss_config = loss.serialize();
        Ok(Compiled {
            optimizer,
            loss,
            loss_config,
            metrics_config,
            specs: metrics,
            metrics: None,
            loss_tracker: metrics::Mean::new("loss"),
            #[cfg(feature = "cuda")]
            graphs: Default::default(),
        })
    }

    /// Records the string the loss was given by (see [`IntoLoss::identifier`]).
    pub(crate) fn set_loss_identifier(&mut self, name: String) {
        self.loss_config = Value::String(name);
    }

    /// The loss as Keras's compile config stores it.
    pub fn loss_config(&self) -> &Value {
        &self.loss_config
    }

    /// The metrics as Keras's compile config stores them (names, or serialized objects).
    pub fn metrics_config(&self) -> &[Value] {
        &self.metrics_config
    }

    /// Resolves string metrics against the first batch (Keras `CompileMetrics.build`).
    pub(crate) fn build_metrics(&mut self, y_true: &Tensor, y_pred: &Tensor) -> Result<()> {
        if self.metrics.is_some() {
            return Ok(());
        }
        let mut out: Vec<Box<dyn Metric>> = Vec::new();
        for spec in self.specs.drain(..) {
            out.push(match spec {
                MetricArg::Name(n) => metrics::resolve_compile_metric(&n, self.loss.name(), y_true, y_pred)?,
                MetricArg::Object(m) => m,
            });
        }
        self.metrics = Some(out);
        Ok(())
    }

    /// Resets the loss tracker and every metric (start of an epoch or evaluation).
    pub(crate) fn reset_metrics(&mut self) {
        self.loss_tracker.reset_state();
        if let Some(ms) = &mut self.metrics {
            ms.iter_mut().for_each(|m| m.reset_state());
        }
    }

    /// Updates the compiled metrics with a batch.
    pub(crate) fn update_metrics(
        &mut self,
        y_true: &Tensor,
        y_pred: &Tensor,
        sample_weight: Option<&Tensor>,
    ) -> Result<()> {
        self.build_metrics(y_true, y_pred)?;
        if let Some(ms) = &mut self.metrics {
            for m in ms.iter_mut() {
                m.update_state(y_true, y_pred, sample_weight)?;
            }
        }
        Ok(())
    }

    /// The resolved metric objects (empty before the first batch).
    pub fn metric_objects(&self) -> impl Iterator<Item = &dyn Metric> {
        self.metrics.iter().flatten().map(|m| m.as_ref())
    }

    /// The names `logs()` will hold: `loss`, then each metric's name (as given to `compile`
    /// before the metrics are resolved on the first batch).
    pub fn log_names(&self) -> Vec<String> {
        let mut out = vec!["loss".to_string()];
        match &self.metrics {
            Some(ms) => out.extend(ms.iter().map(|m| m.name().to_string())),
            None => out.extend(self.specs.iter().map(|s| match s {
                MetricArg::Name(n) => n.clone(),
                MetricArg::Object(m) => m.name().to_string(),
            })),
        }
        out
    }

    /// Current `{loss, metric...}` values.
    pub(crate) fn logs(&self) -> super::Logs {
        let mut logs = super::Logs::new();
        logs.insert("loss".into(), self.loss_tracker.result());
        if let Some(ms) = &self.metrics {
            for m in ms {
                logs.insert(m.name().to_string(), m.result());
            }
        }
        logs
    }
}
