//! `compile`: the optimizer, the losses and the metrics a model trains with, one set per
//! output (Keras `Trainer.compile` with `CompileLoss` and `CompileMetrics`).

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::compile_args::{CompileArgs, LossArg, LossWeights, Losses, Metrics};
use crate::losses::{self, Loss};
use crate::metrics::{self, Metric};
use crate::optimizers::{self, Optimizer};
use crate::utils::python_repr::py_list;
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

/// `impl $Into for Box<dyn $Obj>` (kept as it is) and for every `T: $Obj` (boxed).
macro_rules! into_boxed {
    ($Into:ident, $method:ident, $Obj:ident) => {
        impl $Into for Box<dyn $Obj> {
            fn $method(self) -> Result<Box<dyn $Obj>> {
                Ok(self)
            }
        }

        impl<T: $Obj + 'static> $Into for T {
            fn $method(self) -> Result<Box<dyn $Obj>> {
                Ok(Box::new(self))
            }
        }
    };
}

into_boxed!(IntoOptimizer, into_optimizer, Optimizer);

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

into_boxed!(IntoLoss, into_loss, Loss);

/// A metric given to `compile`: a Keras name (`"accuracy"`, resolved from the loss and the
/// data on the first batch, as Keras does) or an object.
pub enum MetricArg {
    /// A string identifier.
    Name(String),
    /// A metric object.
    Object(Box<dyn Metric>),
}

impl std::fmt::Debug for MetricArg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MetricArg::Name(n) => write!(f, "{n:?}"),
            MetricArg::Object(m) => write!(f, "<{} {:?}>", m.class_name(), m.name()),
        }
    }
}

impl MetricArg {
    /// The name the logs use before the metric is resolved.
    fn name(&self) -> String {
        match self {
            MetricArg::Name(n) => n.clone(),
            MetricArg::Object(m) => m.name().to_string(),
        }
    }

    /// As Keras's compile config stores it.
    pub(crate) fn config(&self) -> Value {
        match self {
            MetricArg::Name(n) => Value::String(n.clone()),
            MetricArg::Object(m) => json!({
                "module": "keras.metrics",
                "class_name": m.class_name(),
                "config": m.get_config(),
                "registered_name": null,
            }),
        }
    }

    /// Fails early on unknown names (accuracy-like names resolve on the first batch).
    fn check(&self) -> Result<()> {
        if let MetricArg::Name(n) = self {
            if n.is_empty() {
                keras_bail!(InvalidArgument, "Empty metric name given to compile()");
            }
            if !matches!(n.to_lowercase().as_str(), "accuracy" | "acc") {
                metrics::get(n)?;
            }
        }
        Ok(())
    }
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

/// The metrics `compile` takes (Keras's `metrics=` list): names such as `&["accuracy"]`, a
/// borrowed slice or `Vec` of names, or a `Vec` of [`MetricArg`]s (metric objects). Without
/// metrics, pass `&[]`: the element type needs no annotation. An empty list is stored in the compile
/// config as `[]`, as Keras stores `metrics=[]`.
///
/// ```
/// use keras::layers::{Dense, Input};
/// use keras::models::Sequential;
/// use keras::trainers::MetricArg;
///
/// let mut m = Sequential::new();
/// m.add(Input::new(&[3]))?;
/// m.add(Dense::new(1))?;
/// m.compile("sgd", "mse", &[])?; // model.compile("sgd", "mse", metrics=[])
/// m.compile("adam", "mse", &["mae", "mse"])?; // model.compile("adam", "mse", metrics=["mae", "mse"])
/// m.compile("adam", "mse", vec![MetricArg::from(keras::metrics::get("mae")?)])?; // an object
/// # Ok::<(), keras::Error>(())
/// ```
pub trait IntoMetrics {
    /// The metrics, in order.
    fn into_metrics(self) -> Vec<MetricArg>;
}

impl<const N: usize> IntoMetrics for &[&str; N] {
    fn into_metrics(self) -> Vec<MetricArg> {
        self.iter().map(MetricArg::from).collect()
    }
}

impl<M: Into<MetricArg> + Clone> IntoMetrics for &[M] {
    fn into_metrics(self) -> Vec<MetricArg> {
        self.iter().cloned().map(Into::into).collect()
    }
}

impl<M: Into<MetricArg> + Clone> IntoMetrics for &Vec<M> {
    fn into_metrics(self) -> Vec<MetricArg> {
        self.as_slice().into_metrics()
    }
}

impl IntoMetrics for Vec<MetricArg> {
    fn into_metrics(self) -> Vec<MetricArg> {
        self
    }
}

/// The loss, weight and metrics of one output.
struct Output {
    /// The output name (`None` for the only output of a one-output model: no prefix in logs).
    name: Option<String>,
    /// Index into `Compiled::losses` (one loss object may serve every output).
    loss: Option<usize>,
    weight: Option<f32>,
    /// Mean of the unweighted loss, `<name>_loss` (only when the model has several losses).
    tracker: Option<metrics::Mean>,
    /// Metric specs in the order given, until resolved on the first batch.
    specs: Vec<MetricArg>,
    weighted_specs: Vec<MetricArg>,
    /// Resolved metrics (`metrics=`, unweighted) and weighted metrics (`weighted_metrics=`).
    metrics: Vec<Box<dyn Metric>>,
    weighted: Vec<Box<dyn Metric>>,
}

/// The value of each output's loss for one batch, before weighting (what the per-output loss
/// trackers record), and the total the optimizer minimises.
pub struct LossValues {
    /// `sum(loss_weight * loss)` over the outputs that have a loss.
    pub total: Tensor,
    /// `(output index, unweighted loss)` for each output with a loss.
    pub per_output: Vec<(usize, Tensor)>,
}

/// What `compile` set up, plus the metric state the steps accumulate.
pub struct Compiled {
    /// The optimizer.
    pub optimizer: Box<dyn Optimizer>,
    losses: Vec<Box<dyn Loss>>,
    outputs: Vec<Output>,
    /// Whether the metrics were resolved against a first batch.
    built: bool,
    /// Tracks the mean total loss (weighted by batch size), `loss` in the logs.
    pub loss_tracker: metrics::Mean,
    /// The loss as the compile config records it (a name, a serialized object, a list or a
    /// dict).
    loss_config: Value,
    loss_weights_config: Value,
    metrics_config: Value,
    weighted_metrics_config: Value,
    /// The input and output names of the model, read from it on the first step.
    names: Option<(Vec<String>, Vec<String>)>,
    /// Per output: whether it has a loss (and so needs a target).
    wanted: Vec<bool>,
    /// The captured CUDA graph of the training step (see `step_graph.rs`).
    #[cfg(feature = "cuda")]
    pub(crate) graphs: super::step_graph::Graphs,
}

impl Compiled {
    /// Compile state for a model with one output from resolved parts.
    pub fn new(optimizer: Box<dyn Optimizer>, loss: Box<dyn Loss>, metrics: Vec<MetricArg>) -> Result<Self> {
        let args = CompileArgs::new(optimizer)
            .loss(Losses::All(LossArg::Object(loss)))
            .metrics(Metrics::Flat(metrics));
        Compiled::from_args(args, &[])
    }

    /// Compile state from Keras's `compile` arguments for a model whose outputs are named
    /// `output_names` (empty: one unnamed output). Lists and maps are checked against the
    /// outputs here, with Keras's messages.
    pub fn from_args(args: CompileArgs, output_names: &[String]) -> Result<Self> {
        // A KERAS_DEVICE that names a missing device is reported here, before any training.
        crate::backend::device()?;
        let CompileArgs { optimizer, loss, loss_weights, metrics, weighted_metrics } = args;
        let optimizer = optimizer?;
        let n = output_names.len().max(1);
        let names: Vec<Option<String>> = if output_names.len() > 1 {
            output_names.iter().cloned().map(Some).collect()
        } else {
            vec![None]
        };
        let loss_config = loss.as_ref().map_or(Value::Null, Losses::config);
        let loss_weights_config = loss_weights.as_ref().map_or(Value::Null, LossWeights::config);
        let metrics_config = metrics.as_ref().map_or(Value::Null, Metrics::config);
        let weighted_metrics_config = weighted_metrics.as_ref().map_or(Value::Null, Metrics::config);
        let (losses, loss_index) = match loss {
            Some(l) => per_output_losses(l, output_names, n)?,
            None => (Vec::new(), vec![None; n]),
        };
        let weights = per_output_weights(loss_weights, output_names, n, &loss_index)?;
        let specs = per_output_metrics(metrics, output_names, n, "metrics")?;
        let weighted_specs = per_output_metrics(weighted_metrics, output_names, n, "weighted_metrics")?;
        let n_losses = loss_index.iter().filter(|l| l.is_some()).count();
        let wanted: Vec<bool> = loss_index.iter().map(Option::is_some).collect();
        let outputs = names
            .into_iter()
            .zip(loss_index)
            .zip(weights)
            .zip(specs.into_iter().zip(weighted_specs))
            .enumerate()
            .map(|(i, (((name, loss), weight), (specs, weighted_specs)))| {
                let tracker = (n_losses > 1 && loss.is_some()).then(|| {
                    let label = output_names.get(i).cloned().unwrap_or_else(|| i.to_string());
                    metrics::Mean::new(&format!("{label}_loss"))
                });
                Output {
                    name,
                    loss,
                    weight,
                    tracker,
                    specs,
                    weighted_specs,
                    metrics: Vec::new(),
                    weighted: Vec::new(),
                }
            })
            .collect();
        Ok(Compiled {
            optimizer,
            losses,
            outputs,
            built: false,
            loss_tracker: metrics::Mean::new("loss"),
            loss_config,
            loss_weights_config,
            metrics_config,
            weighted_metrics_config,
            names: None,
            wanted,
            #[cfg(feature = "cuda")]
            graphs: Default::default(),
        })
    }

    /// Records the string the loss was given by (see [`IntoLoss::identifier`]).
    pub(crate) fn set_loss_identifier(&mut self, name: String) {
        self.loss_config = Value::String(name);
    }

    /// The loss as Keras's compile config stores it (`null` when compiled without a loss).
    pub fn loss_config(&self) -> &Value {
        &self.loss_config
    }

    /// `loss_weights` as Keras's compile config stores it (`null` when not given).
    pub fn loss_weights_config(&self) -> &Value {
        &self.loss_weights_config
    }

    /// The metrics as a flat list of names or serialized objects (what a one-output model's
    /// compile config holds; empty for metrics given per output, see
    /// [`Compiled::metrics_config_value`]).
    pub fn metrics_config(&self) -> &[Value] {
        match &self.metrics_config {
            Value::Array(v) if v.iter().all(|m| !m.is_array()) => v,
            _ => &[],
        }
    }

    /// The metrics exactly as Keras's compile config stores them (a list, a list per output,
    /// a dict by output name, or `null`).
    pub fn metrics_config_value(&self) -> &Value {
        &self.metrics_config
    }

    /// `weighted_metrics` as Keras's compile config stores them.
    pub fn weighted_metrics_config(&self) -> &Value {
        &self.weighted_metrics_config
    }

    /// Number of outputs the losses and metrics were set up for.
    pub fn num_outputs(&self) -> usize {
        self.outputs.len()
    }

    /// The loss of output `i` (`None` when the output has none).
    pub fn loss(&self, i: usize) -> Option<&dyn Loss> {
        self.outputs.get(i).and_then(|o| o.loss).map(|l| self.losses[l].as_ref())
    }

    /// Which outputs have a loss (and so need a target).
    pub fn outputs_with_loss(&self) -> &[bool] {
        &self.wanted
    }

    /// Whether output `i`'s loss has its own tracker (`<output>_loss`, when the model has
    /// several losses).
    pub fn tracks_loss(&self, i: usize) -> bool {
        self.outputs.get(i).is_some_and(|o| o.tracker.is_some())
    }

    /// The model's input names, output names and which outputs need targets; the names are
    /// taken from `net` the first time (so a step does not ask the model for them again).
    pub(crate) fn names(&mut self, net: &dyn super::Network) -> Result<(&[String], &[String], &[bool])> {
        if self.names.is_none() {
            let (inputs, outputs) = (net.input_names(), net.output_names());
            if outputs.len().max(1) != self.outputs.len() {
                keras_bail!(
                    Value,
                    "The model \"{}\" has {} outputs {}, but it was compiled for {}; compile it again",
                    net.name(),
                    outputs.len(),
                    py_list(&outputs),
                    self.outputs.len()
                );
            }
            self.names = Some((inputs, outputs));
        }
        let (i, o) = self.names.as_ref().expect("set above");
        Ok((i, o, &self.wanted))
    }

    /// The compiled loss (Keras `CompileLoss.__call__`): each output's loss on its target and
    /// sample weight, weighted by its `loss_weight` and summed. An error when no output has a
    /// loss.
    pub fn compute_loss(
        &self,
        y_true: &[Option<Tensor>],
        y_pred: &[Tensor],
        sample_weight: &[Option<Tensor>],
    ) -> Result<LossValues> {
        let mut total: Option<Tensor> = None;
        let mut per_output = Vec::new();
        for (i, o) in self.outputs.iter().enumerate() {
            let Some(loss) = o.loss.map(|l| &self.losses[l]) else { continue };
            let (Some(Some(yt)), Some(yp)) = (y_true.get(i), y_pred.get(i)) else {
                keras_bail!(
                    Value,
                    "No target given for output {}: every output with a loss needs `y`",
                    o.name.as_deref().map_or_else(|| i.to_string(), |n| format!("\"{n}\""))
                );
            };
            let sw = sample_weight.get(i).and_then(Option::as_ref);
            let value = loss.compute(yt, yp, sw)?;
            let weighted = match o.weight {
                Some(w) => keras_engine::ops::scale(&value, w)?,
                None => value.clone(),
            };
            if o.tracker.is_some() {
                per_output.push((i, value));
            }
            total = Some(match total {
                None => weighted,
                Some(t) => keras_engine::ops::add(&t, &weighted)?,
            });
        }
        match total {
            Some(total) => Ok(LossValues { total, per_output }),
            None => keras_bail!(Value, "No loss to compute. Provide a `loss` argument in `compile()`."),
        }
    }

    /// Records one batch's per-output losses in their trackers (host values). Each batch
    /// counts once, whatever its size: Keras weights these means by
    /// `y_pred.shape[0]`, which is unknown (`None`) inside the compiled step of its TensorFlow
    /// backend, so a short last batch weighs as much as a full one (unlike the total `loss`).
    pub(crate) fn record_output_losses(&mut self, per_output: &[(usize, Tensor)]) -> Result<()> {
        for (i, v) in per_output {
            if let Some(t) = self.outputs.get_mut(*i).and_then(|o| o.tracker.as_mut()) {
                t.update_state_value(v.item()?, 1.0);
            }
        }
        Ok(())
    }

    /// Resolves string metrics against the first batch (Keras `CompileMetrics.build`).
    pub(crate) fn build_metrics(&mut self, y_true: &[Option<Tensor>], y_pred: &[Tensor]) -> Result<()> {
        if self.built {
            return Ok(());
        }
        let losses = &self.losses;
        for (i, o) in self.outputs.iter_mut().enumerate() {
            if o.specs.is_empty() && o.weighted_specs.is_empty() {
                continue;
            }
            let (Some(Some(yt)), Some(yp)) = (y_true.get(i), y_pred.get(i)) else {
                keras_bail!(
                    Value,
                    "Metrics were given for output {} but the data has no target for it",
                    o.name.as_deref().map_or_else(|| i.to_string(), |n| format!("\"{n}\""))
                );
            };
            let loss_name = o.loss.map_or("", |l| losses[l].name()).to_string();
            let resolve = |spec: MetricArg| -> Result<Box<dyn Metric>> {
                match spec {
                    MetricArg::Name(n) => metrics::resolve_compile_metric(&n, &loss_name, yt, yp),
                    MetricArg::Object(m) => Ok(m),
                }
            };
            o.metrics = o.specs.drain(..).map(resolve).collect::<Result<_>>()?;
            o.weighted = o.weighted_specs.drain(..).map(resolve).collect::<Result<_>>()?;
        }
        self.built = true;
        Ok(())
    }

    /// Resets the loss trackers and every metric (start of an epoch or evaluation).
    pub fn reset_metrics(&mut self) {
        self.loss_tracker.reset_state();
        for o in &mut self.outputs {
            if let Some(t) = &mut o.tracker {
                t.reset_state();
            }
            o.metrics.iter_mut().chain(o.weighted.iter_mut()).for_each(|m| m.reset_state());
        }
    }

    /// Updates the compiled metrics with a batch (Keras `CompileMetrics.update_state`):
    /// `metrics` without the sample weights, `weighted_metrics` with them.
    pub fn update_metrics(
        &mut self,
        y_true: &[Option<Tensor>],
        y_pred: &[Tensor],
        sample_weight: &[Option<Tensor>],
    ) -> Result<()> {
        self.build_metrics(y_true, y_pred)?;
        for (i, o) in self.outputs.iter_mut().enumerate() {
            let (Some(Some(yt)), Some(yp)) = (y_true.get(i), y_pred.get(i)) else { continue };
            for m in o.metrics.iter_mut() {
                m.update_state(yt, yp, None)?;
            }
            let sw = sample_weight.get(i).and_then(Option::as_ref);
            for m in o.weighted.iter_mut() {
                m.update_state(yt, yp, sw)?;
            }
        }
        Ok(())
    }

    /// The resolved metric objects (empty before the first batch).
    pub fn metric_objects(&self) -> impl Iterator<Item = &dyn Metric> {
        self.outputs.iter().flat_map(|o| o.metrics.iter().chain(o.weighted.iter())).map(|m| m.as_ref())
    }

    /// Each resolved metric with the name the logs give it (`cls_accuracy`).
    pub fn named_metrics(&self) -> Vec<(String, &dyn Metric)> {
        let mut namer = LogNamer::default();
        let mut out = Vec::new();
        for o in &self.outputs {
            for m in &o.metrics {
                out.push((namer.metric(o.name.as_deref(), m.name()), m.as_ref()));
            }
        }
        for o in &self.outputs {
            for m in &o.weighted {
                out.push((namer.weighted(o.name.as_deref(), m.name()), m.as_ref()));
            }
        }
        out
    }

    /// The names `logs()` will hold: `loss`, each metric (prefixed with its output's name when
    /// the model has several outputs), then `<output>_loss` for each output loss when there
    /// are several, as Keras names them. Before the first batch the metrics go by the names
    /// given to `compile`.
    pub fn log_names(&self) -> Vec<String> {
        let mut out = vec!["loss".to_string()];
        let mut namer = LogNamer::default();
        for o in &self.outputs {
            let names: Vec<String> = if self.built {
                o.metrics.iter().map(|m| m.name().to_string()).collect()
            } else {
                o.specs.iter().map(MetricArg::name).collect()
            };
            out.extend(names.iter().map(|n| namer.metric(o.name.as_deref(), n)));
        }
        for o in &self.outputs {
            let names: Vec<String> = if self.built {
                o.weighted.iter().map(|m| m.name().to_string()).collect()
            } else {
                o.weighted_specs.iter().map(MetricArg::name).collect()
            };
            out.extend(names.iter().map(|n| namer.weighted(o.name.as_deref(), n)));
        }
        out.extend(self.outputs.iter().filter_map(|o| o.tracker.as_ref().map(|t| t.name().to_string())));
        out
    }

    /// Current `{loss, metric..., <output>_loss...}` values (Keras `get_metrics_result`).
    pub fn logs(&self) -> super::Logs {
        let mut logs = super::Logs::new();
        logs.insert("loss".into(), self.loss_tracker.result());
        for (name, m) in self.named_metrics() {
            logs.insert(name, m.result());
        }
        for o in &self.outputs {
            if let Some(t) = &o.tracker {
                logs.insert(t.name().to_string(), t.result());
            }
        }
        logs
    }
}

/// Keras `CompileMetrics.result` naming: `<output>_<metric>`, a repeated name gets `_1`,
/// `_2`, ...; a weighted metric that repeats a name becomes `weighted_<metric>`.
#[derive(Default)]
struct LogNamer {
    seen: BTreeMap<String, usize>,
}

impl LogNamer {
    fn prefixed(output: Option<&str>, name: &str) -> String {
        match output {
            Some(o) => format!("{o}_{name}"),
            None => name.to_string(),
        }
    }

    fn metric(&mut self, output: Option<&str>, name: &str) -> String {
        self.numbered(Self::prefixed(output, name))
    }

    fn weighted(&mut self, output: Option<&str>, name: &str) -> String {
        let plain = Self::prefixed(output, name);
        if !self.seen.contains_key(&plain) {
            self.seen.insert(plain.clone(), 1);
            return plain;
        }
        self.numbered(Self::prefixed(output, &format!("weighted_{name}")))
    }

    /// `name` the first time it is seen, then `name_1`, `name_2`, ... (Keras's unique
    /// metric names).
    fn numbered(&mut self, name: String) -> String {
        match self.seen.get_mut(&name) {
            None => {
                self.seen.insert(name.clone(), 1);
                name
            }
            Some(count) => {
                let out = format!("{name}_{count}");
                *count += 1;
                out
            }
        }
    }
}

/// The loss objects, and per output the index of its loss.
type LossSlots = (Vec<Box<dyn Loss>>, Vec<Option<usize>>);

fn resolve_loss(arg: LossArg) -> Result<Box<dyn Loss>> {
    match arg {
        LossArg::Name(n) => losses::get(&n),
        LossArg::Object(l) => Ok(l),
    }
}

/// `loss` spread over the outputs (Keras `CompileLoss.build`): one loss for every output, a
/// list with one entry per output, or a dict with exactly the output names. Returns the loss
/// objects and, per output, the index of its loss.
fn per_output_losses(loss: Losses, names: &[String], n: usize) -> Result<LossSlots> {
    let list: Vec<Option<LossArg>> = match loss {
        Losses::All(l) => return Ok((vec![resolve_loss(l)?], vec![Some(0); n])),
        Losses::List(v) => {
            if v.len() != n {
                keras_bail!(
                    Value,
                    "Expected {n} losses (one per output{}), but `loss` is a list of {}",
                    if names.is_empty() { String::new() } else { format!(" {}", py_list(names)) },
                    v.len()
                );
            }
            v
        }
        Losses::Map(mut m) => {
            let keys: Vec<String> = m.keys().cloned().collect();
            let mut sorted_names = names.to_vec();
            sorted_names.sort();
            if names.is_empty() || keys != sorted_names {
                keras_bail!(
                    Value,
                    "Expected keys {} in loss dict, but found loss.keys()={}",
                    py_list(names),
                    py_list(&keys)
                );
            }
            names.iter().map(|k| m.remove(k).flatten()).collect()
        }
    };
    let mut losses = Vec::new();
    let mut index = Vec::with_capacity(n);
    for l in list {
        match l {
            Some(l) => {
                losses.push(resolve_loss(l)?);
                index.push(Some(losses.len() - 1));
            }
            None => index.push(None),
        }
    }
    Ok((losses, index))
}

/// `loss_weights` spread over the outputs: a number (one output), a list matching the losses,
/// or a dict by output name.
fn per_output_weights(
    w: Option<LossWeights>,
    names: &[String],
    n: usize,
    losses: &[Option<usize>],
) -> Result<Vec<Option<f32>>> {
    let n_losses = losses.iter().filter(|l| l.is_some()).count();
    match w {
        None => Ok(vec![None; n]),
        Some(LossWeights::One(w)) if n == 1 => Ok(vec![Some(w)]),
        Some(LossWeights::One(_)) => keras_bail!(
            Value,
            "`loss_weights` must match the number of losses, got {n_losses} losses and 1 weights."
        ),
        Some(LossWeights::List(v)) if v.len() == n => Ok(v.into_iter().map(Some).collect()),
        Some(LossWeights::List(v)) if v.len() == n_losses => {
            let mut it = v.into_iter();
            Ok(losses.iter().map(|l| if l.is_some() { it.next() } else { None }).collect())
        }
        Some(LossWeights::List(v)) => keras_bail!(
            Value,
            "`loss_weights` must match the number of losses, got {n_losses} losses and {} weights.",
            v.len()
        ),
        Some(LossWeights::Map(m)) => {
            if let Some(k) = m.keys().find(|k| !names.contains(k)) {
                keras_bail!(
                    Value,
                    "Unknown output name '{k}' in `loss_weights`. Expected keys among {}",
                    py_list(names)
                );
            }
            if names.is_empty() {
                keras_bail!(Value, "`loss_weights` given as a dict needs a model with named outputs");
            }
            Ok(names.iter().map(|k| Some(m.get(k).copied().unwrap_or(1.0))).collect())
        }
    }
}

/// `metrics` (or `weighted_metrics`) spread over the outputs (Keras
/// `CompileMetrics._build_metrics_set`): for one output every metric applies to it; for
/// several, a list with one entry per output or a dict whose keys are output names.
fn per_output_metrics(
    m: Option<Metrics>,
    names: &[String],
    n: usize,
    argument: &str,
) -> Result<Vec<Vec<MetricArg>>> {
    let Some(m) = m else { return Ok((0..n).map(|_| Vec::new()).collect()) };
    let out: Vec<Vec<MetricArg>> = match m {
        Metrics::Flat(v) if n == 1 => vec![v],
        Metrics::PerOutput(v) if n == 1 => vec![v.into_iter().flatten().collect()],
        Metrics::Map(map) if n == 1 && (names.is_empty() || map.keys().all(|k| names.contains(k))) => {
            vec![map.into_values().flatten().collect()]
        }
        Metrics::Flat(v) if v.len() == n => v.into_iter().map(|m| vec![m]).collect(),
        Metrics::PerOutput(v) if v.len() == n => v,
        Metrics::Map(mut map) if map.keys().all(|k| names.contains(k)) => {
            names.iter().map(|k| map.remove(k).unwrap_or_default()).collect()
        }
        other => keras_bail!(
            Value,
            "Invalid `{argument}`. `{argument}` should contain metrics objects and either be a dict or a list matching the output names of the functional model {} or match the output structure of the model: {}.\nReceived: {argument}={}",
            py_list(names),
            py_list(std::iter::repeat_n("X", n)),
            other.config()
        ),
    };
    for m in out.iter().flatten() {
        m.check()?;
    }
    Ok(out)
}
