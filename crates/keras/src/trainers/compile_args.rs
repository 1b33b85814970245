//! The arguments of `compile` for models with any number of outputs: `loss`, `loss_weights`,
//! `metrics` and `weighted_metrics` given once, as a list (one entry per output) or as a map
//! keyed by output name, as Keras takes them.

use std::collections::BTreeMap;

use serde_json::Value;

use super::compile::{IntoOptimizer, MetricArg};
use crate::losses::Loss;
use crate::optimizers::Optimizer;
use crate::Result;

/// A loss given to `compile`: a Keras name (`"mse"`) or an object.
pub enum LossArg {
    /// A string identifier (kept as given in the compile config).
    Name(String),
    /// A loss object.
    Object(Box<dyn Loss>),
}

impl LossArg {
    fn config(&self) -> Value {
        match self {
            LossArg::Name(n) => Value::String(n.clone()),
            LossArg::Object(l) => l.serialize(),
        }
    }
}

impl std::fmt::Debug for LossArg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LossArg::Name(n) => write!(f, "{n:?}"),
            LossArg::Object(l) => write!(f, "<{}>", l.class_name()),
        }
    }
}

impl From<&str> for LossArg {
    fn from(s: &str) -> Self {
        LossArg::Name(s.to_string())
    }
}

impl From<String> for LossArg {
    fn from(s: String) -> Self {
        LossArg::Name(s)
    }
}

impl From<Box<dyn Loss>> for LossArg {
    fn from(l: Box<dyn Loss>) -> Self {
        LossArg::Object(l)
    }
}

impl<T: Loss + 'static> From<T> for LossArg {
    fn from(l: T) -> Self {
        LossArg::Object(Box::new(l))
    }
}

/// `compile(loss=...)`: one loss for every output, one per output (in output order, `None`
/// for an output trained without a loss), or a map with every output name as key.
///
/// ```
/// use keras::trainers::Losses;
/// let all = Losses::from("mse");
/// let list = Losses::from(["mse", "categorical_crossentropy"]);
/// let map = Losses::from([("price", "mse"), ("class", "categorical_crossentropy")]);
/// assert!(matches!((all, list, map), (Losses::All(_), Losses::List(_), Losses::Map(_))));
/// ```
#[derive(Debug)]
pub enum Losses {
    /// The same loss on every output.
    All(LossArg),
    /// One entry per output, in output order.
    List(Vec<Option<LossArg>>),
    /// By output name (every output must appear; `None` leaves it without a loss).
    Map(BTreeMap<String, Option<LossArg>>),
}

impl Losses {
    /// As Keras's compile config stores `loss`.
    pub(crate) fn config(&self) -> Value {
        let opt = |l: &Option<LossArg>| l.as_ref().map_or(Value::Null, LossArg::config);
        match self {
            Losses::All(l) => l.config(),
            Losses::List(v) => Value::Array(v.iter().map(opt).collect()),
            Losses::Map(m) => Value::Object(m.iter().map(|(k, l)| (k.clone(), opt(l))).collect()),
        }
    }
}

impl<T: Into<LossArg>> From<T> for Losses {
    fn from(l: T) -> Self {
        Losses::All(l.into())
    }
}

impl<T: Into<LossArg>> From<Vec<T>> for Losses {
    fn from(v: Vec<T>) -> Self {
        Losses::List(v.into_iter().map(|l| Some(l.into())).collect())
    }
}

impl<T: Into<LossArg>, const N: usize> From<[T; N]> for Losses {
    fn from(v: [T; N]) -> Self {
        Losses::List(v.into_iter().map(|l| Some(l.into())).collect())
    }
}

impl<T: Into<LossArg>> From<Vec<Option<T>>> for Losses {
    fn from(v: Vec<Option<T>>) -> Self {
        Losses::List(v.into_iter().map(|l| l.map(Into::into)).collect())
    }
}

impl<T: Into<LossArg>, const N: usize> From<[Option<T>; N]> for Losses {
    fn from(v: [Option<T>; N]) -> Self {
        Losses::List(v.into_iter().map(|l| l.map(Into::into)).collect())
    }
}

impl<K: Into<String>, T: Into<LossArg>, const N: usize> From<[(K, T); N]> for Losses {
    fn from(v: [(K, T); N]) -> Self {
        Losses::Map(v.into_iter().map(|(k, l)| (k.into(), Some(l.into()))).collect())
    }
}

impl<K: Into<String>, T: Into<LossArg>> From<Vec<(K, T)>> for Losses {
    fn from(v: Vec<(K, T)>) -> Self {
        Losses::Map(v.into_iter().map(|(k, l)| (k.into(), Some(l.into()))).collect())
    }
}

impl<T: Into<LossArg>> From<BTreeMap<String, T>> for Losses {
    fn from(m: BTreeMap<String, T>) -> Self {
        Losses::Map(m.into_iter().map(|(k, l)| (k, Some(l.into()))).collect())
    }
}

/// `compile(loss_weights=...)`: the factor each output's loss is multiplied by before the
/// losses are summed.
#[derive(Clone, Debug, PartialEq)]
pub enum LossWeights {
    /// One weight (a model with one output).
    One(f32),
    /// One weight per output (or per output that has a loss), in output order.
    List(Vec<f32>),
    /// By output name (outputs left out keep weight 1).
    Map(BTreeMap<String, f32>),
}

impl LossWeights {
    pub(crate) fn config(&self) -> Value {
        match self {
            LossWeights::One(w) => Value::from(*w as f64),
            LossWeights::List(v) => Value::Array(v.iter().map(|w| Value::from(*w as f64)).collect()),
            LossWeights::Map(m) => {
                Value::Object(m.iter().map(|(k, w)| (k.clone(), Value::from(*w as f64))).collect())
            }
        }
    }
}

impl From<f32> for LossWeights {
    fn from(w: f32) -> Self {
        LossWeights::One(w)
    }
}

impl From<Vec<f32>> for LossWeights {
    fn from(v: Vec<f32>) -> Self {
        LossWeights::List(v)
    }
}

impl<const N: usize> From<[f32; N]> for LossWeights {
    fn from(v: [f32; N]) -> Self {
        LossWeights::List(v.into())
    }
}

impl<K: Into<String>, const N: usize> From<[(K, f32); N]> for LossWeights {
    fn from(v: [(K, f32); N]) -> Self {
        LossWeights::Map(v.into_iter().map(|(k, w)| (k.into(), w)).collect())
    }
}

impl From<BTreeMap<String, f32>> for LossWeights {
    fn from(m: BTreeMap<String, f32>) -> Self {
        LossWeights::Map(m)
    }
}

/// `compile(metrics=...)` (or `weighted_metrics`): for a one-output model every metric
/// applies to its output; for several outputs Keras 3 wants a list with one entry per output
/// (a metric or a list of metrics) or a map keyed by output names (outputs left out get no
/// metric).
///
/// ```
/// use keras::trainers::Metrics;
/// let flat = Metrics::from(["mae", "mse"]);
/// let per_output = Metrics::from(vec![vec!["mae"], vec!["accuracy", "mse"]]);
/// let map = Metrics::from([("class", "accuracy")]);
/// assert!(matches!(flat, Metrics::Flat(_)));
/// assert!(matches!(per_output, Metrics::PerOutput(_)));
/// assert!(matches!(map, Metrics::Map(_)));
/// ```
#[derive(Debug)]
pub enum Metrics {
    /// A flat list: all for the only output, or one per output when it has one entry per
    /// output.
    Flat(Vec<MetricArg>),
    /// A list of metrics per output, in output order.
    PerOutput(Vec<Vec<MetricArg>>),
    /// Metrics by output name.
    Map(BTreeMap<String, Vec<MetricArg>>),
}

impl Metrics {
    pub(crate) fn config(&self) -> Value {
        let list = |v: &[MetricArg]| Value::Array(v.iter().map(MetricArg::config).collect());
        match self {
            Metrics::Flat(v) => list(v),
            Metrics::PerOutput(v) => Value::Array(v.iter().map(|m| list(m)).collect()),
            Metrics::Map(m) => Value::Object(
                m.iter()
                    .map(|(k, v)| {
                        let cfg = if v.len() == 1 { v[0].config() } else { list(v) };
                        (k.clone(), cfg)
                    })
                    .collect(),
            ),
        }
    }
}

impl From<Vec<MetricArg>> for Metrics {
    fn from(v: Vec<MetricArg>) -> Self {
        Metrics::Flat(v)
    }
}

impl<const N: usize> From<[&str; N]> for Metrics {
    fn from(v: [&str; N]) -> Self {
        Metrics::Flat(v.into_iter().map(Into::into).collect())
    }
}

impl<const N: usize> From<&[&str; N]> for Metrics {
    fn from(v: &[&str; N]) -> Self {
        Metrics::Flat(v.iter().map(Into::into).collect())
    }
}

impl From<&[&str]> for Metrics {
    fn from(v: &[&str]) -> Self {
        Metrics::Flat(v.iter().map(Into::into).collect())
    }
}

impl From<Vec<&str>> for Metrics {
    fn from(v: Vec<&str>) -> Self {
        Metrics::Flat(v.into_iter().map(Into::into).collect())
    }
}

impl From<Vec<Vec<MetricArg>>> for Metrics {
    fn from(v: Vec<Vec<MetricArg>>) -> Self {
        Metrics::PerOutput(v)
    }
}

impl From<Vec<Vec<&str>>> for Metrics {
    fn from(v: Vec<Vec<&str>>) -> Self {
        Metrics::PerOutput(v.into_iter().map(|m| m.into_iter().map(Into::into).collect()).collect())
    }
}

impl<K: Into<String>, const N: usize> From<[(K, &str); N]> for Metrics {
    fn from(v: [(K, &str); N]) -> Self {
        Metrics::Map(v.into_iter().map(|(k, m)| (k.into(), vec![m.into()])).collect())
    }
}

impl<K: Into<String>, const N: usize> From<[(K, Vec<&str>); N]> for Metrics {
    fn from(v: [(K, Vec<&str>); N]) -> Self {
        Metrics::Map(
            v.into_iter().map(|(k, m)| (k.into(), m.into_iter().map(Into::into).collect())).collect(),
        )
    }
}

impl<K: Into<String>> From<Vec<(K, Vec<MetricArg>)>> for Metrics {
    fn from(v: Vec<(K, Vec<MetricArg>)>) -> Self {
        Metrics::Map(v.into_iter().map(|(k, m)| (k.into(), m)).collect())
    }
}

impl From<BTreeMap<String, Vec<MetricArg>>> for Metrics {
    fn from(m: BTreeMap<String, Vec<MetricArg>>) -> Self {
        Metrics::Map(m)
    }
}

/// Keras `model.compile(...)` arguments for a model with any number of outputs.
///
/// ```
/// use keras::trainers::CompileArgs;
/// let args = CompileArgs::new("adam")
///     .loss(["mse", "categorical_crossentropy"])
///     .loss_weights([1.0, 0.5])
///     .metrics(vec![vec!["mae"], vec!["accuracy"]]);
/// # let _ = args;
/// ```
pub struct CompileArgs {
    pub(crate) optimizer: Result<Box<dyn Optimizer>>,
    pub(crate) loss: Option<Losses>,
    pub(crate) loss_weights: Option<LossWeights>,
    pub(crate) metrics: Option<Metrics>,
    pub(crate) weighted_metrics: Option<Metrics>,
}

impl std::fmt::Debug for CompileArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompileArgs")
            .field("optimizer", &self.optimizer.as_ref().map(|o| o.class_name().to_string()))
            .field("loss", &self.loss)
            .field("loss_weights", &self.loss_weights)
            .field("metrics", &self.metrics)
            .field("weighted_metrics", &self.weighted_metrics)
            .finish()
    }
}

impl CompileArgs {
    /// Arguments with this optimizer (a name such as `"adam"`, or an object) and no loss yet.
    pub fn new(optimizer: impl IntoOptimizer) -> Self {
        CompileArgs {
            optimizer: optimizer.into_optimizer(),
            loss: None,
            loss_weights: None,
            metrics: None,
            weighted_metrics: None,
        }
    }
    /// The loss: one for every output, a list, or a map by output name.
    pub fn loss(mut self, loss: impl Into<Losses>) -> Self {
        self.loss = Some(loss.into());
        self
    }
    /// The factor of each output's loss in the total.
    pub fn loss_weights(mut self, w: impl Into<LossWeights>) -> Self {
        self.loss_weights = Some(w.into());
        self
    }
    /// Metrics computed without sample weights.
    pub fn metrics(mut self, m: impl Into<Metrics>) -> Self {
        self.metrics = Some(m.into());
        self
    }
    /// Metrics computed with the sample weights.
    pub fn weighted_metrics(mut self, m: impl Into<Metrics>) -> Self {
        self.weighted_metrics = Some(m.into());
        self
    }
}
