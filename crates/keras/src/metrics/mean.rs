//! `Mean` and `MeanMetricWrapper`: the weighted running mean every "per-sample value" metric
//! (accuracies, regression errors) accumulates, in float32 as Keras does.

use keras_engine::{ops, DType};
use serde_json::{json, Value};

use super::Metric;
use crate::losses;
use crate::{keras_bail, Result, Tensor};

/// Keras `squeeze_or_expand_to_same_rank` on plain shapes: the new shapes of `(x1, x2)`.
pub(crate) fn squeeze_or_expand_shapes(s1: &[usize], s2: &[usize]) -> (Vec<usize>, Vec<usize>) {
    let (mut a, mut b) = (s1.to_vec(), s2.to_vec());
    let (r1, r2) = (s1.len(), s2.len());
    if r1 == r2 + 1 && s1.last() == Some(&1) {
        if r2 == 1 {
            b.push(1);
        } else {
            a.pop();
        }
    }
    if r2 == r1 + 1 && s2.last() == Some(&1) {
        if r1 == 1 {
            a.push(1);
        } else {
            b.pop();
        }
    }
    (a, b)
}

pub(crate) fn fmt_shape(shape: &[usize]) -> String {
    format!("{shape:?}").replace('[', "(").replace(']', if shape.len() == 1 { ",)" } else { ")" })
}

/// Keras's error for a `y_true` and a `y_pred` whose shapes do not match.
pub(crate) fn incompatible_shapes(y_true: &Tensor, y_pred: &Tensor) -> crate::Error {
    crate::Error::Shape(format!(
        "Incompatible shapes: y_true.shape={} and y_pred.shape={}",
        fmt_shape(y_true.shape()),
        fmt_shape(y_pred.shape())
    ))
}

/// Broadcasts `values` of shape `from` to `to` (numpy rules; `to` must be the result).
pub(crate) fn broadcast_to(values: &[f32], from: &[usize], to: &[usize]) -> Result<Vec<f32>> {
    if from == to {
        return Ok(values.to_vec());
    }
    let ok = ops::broadcast_shapes(from, to).map(|s| s == to).unwrap_or(false);
    if !ok {
        keras_bail!(
            Shape,
            "Incompatible shapes: cannot broadcast a tensor of shape {} to shape {}",
            fmt_shape(from),
            fmt_shape(to)
        );
    }
    let t = Tensor::new(values.to_vec(), from.to_vec())?;
    Ok(ops::add(&Tensor::zeros(to.to_vec()), &t)?.to_f32_vec())
}

/// Mean over every axis from `keep` on: `(values, shape)` -> rows of the first `keep` axes.
pub(crate) fn mean_trailing(values: &[f32], shape: &[usize], keep: usize) -> (Vec<f32>, Vec<usize>) {
    if shape.len() <= keep {
        return (values.to_vec(), shape.to_vec());
    }
    let inner: usize = shape[keep..].iter().product();
    let out_shape = shape[..keep].to_vec();
    if inner == 0 {
        let n: usize = out_shape.iter().product();
        return (vec![f32::NAN; n], out_shape);
    }
    let out = values.chunks(inner).map(|c| c.iter().sum::<f32>() / inner as f32).collect();
    (out, out_shape)
}

/// `keras.metrics.Mean`: the weighted mean `total / count` of all values seen.
#[derive(Clone, Debug)]
pub struct Mean {
    name: String,
    total: f32,
    count: f32,
}

impl Mean {
    /// A mean named `name` (Keras's default name is `mean`).
    pub fn new(name: &str) -> Mean {
        Mean { name: name.to_string(), total: 0.0, count: 0.0 }
    }

    /// Adds one value with a weight (the trainer tracks the loss with `weight = batch size`):
    /// `total += value * weight; count += weight`.
    pub fn update_state_value(&mut self, value: f32, weight: f32) {
        self.total += value * weight;
        self.count += weight;
    }

    /// Keras `Mean.update_state(values, sample_weight)`: values are reduced to one per sample
    /// (mean over trailing axes) and weighted; `count` grows by the sum of the weights, or by
    /// the number of samples without weights.
    pub fn update_state_values(&mut self, values: &Tensor, sample_weight: Option<&Tensor>) -> Result<()> {
        let mut v = values.to_f32_vec();
        let mut vshape = values.shape().to_vec();
        let mut weight_sum: Option<f32> = None;
        if let Some(sw) = sample_weight {
            let (vs, ws) = squeeze_or_expand_shapes(&vshape, sw.shape());
            vshape = vs;
            let w = sw.to_f32_vec();
            let wnd = ws.len();
            let (rv, rshape) = mean_trailing(&v, &vshape, wnd);
            v = rv;
            vshape = rshape;
            let wb = broadcast_to(&w, &ws, &vshape)?;
            v.iter_mut().zip(&wb).for_each(|(a, b)| *a *= b);
            let wred = if wnd > 1 { mean_trailing(&wb, &vshape, 1).0 } else { wb };
            weight_sum = Some(wred.iter().sum());
        }
        let (v, vshape) = mean_trailing(&v, &vshape, 1.min(vshape.len()));
        self.total += v.iter().sum::<f32>();
        self.count += match weight_sum {
            Some(s) => s,
            None if !vshape.is_empty() => vshape[0] as f32,
            None => 1.0,
        };
        Ok(())
    }

    /// `(total, count)`.
    pub fn state(&self) -> (f32, f32) {
        (self.total, self.count)
    }
}

impl Metric for Mean {
    crate::metrics::metric_name!();
    crate::metrics::values_update_state!();
    fn result(&self) -> f32 {
        if self.count == 0.0 {
            0.0
        } else {
            self.total / self.count
        }
    }
    fn reset_state(&mut self) {
        self.total = 0.0;
        self.count = 0.0;
    }
    fn get_config(&self) -> Value {
        json!({"name": self.name, "dtype": "float32"})
    }
    fn class_name(&self) -> &str {
        "Mean"
    }
}

/// The per-sample function a [`MeanMetricWrapper`] averages.
#[derive(Clone, Debug, PartialEq)]
pub enum MetricFn {
    /// `keras.metrics.accuracy`: exact equality.
    Accuracy,
    /// `binary_accuracy` with a threshold (strict `y_pred > threshold`).
    BinaryAccuracy(f64),
    /// `categorical_accuracy`: argmax equality.
    CategoricalAccuracy,
    /// `sparse_categorical_accuracy`: integer label vs argmax.
    SparseCategoricalAccuracy,
    /// `top_k_categorical_accuracy(k)`.
    TopKCategoricalAccuracy(usize),
    /// `sparse_top_k_categorical_accuracy(k, from_sorted_ids)`: with `from_sorted_ids`,
    /// `y_pred` holds class ids sorted by score and the label must be among the first `k`.
    SparseTopKCategoricalAccuracy {
        /// How many top classes count.
        k: usize,
        /// `y_pred` holds sorted class ids instead of scores.
        from_sorted_ids: bool,
    },
    /// `mean_squared_error`.
    MeanSquaredError,
    /// `mean_absolute_error`.
    MeanAbsoluteError,
    /// `mean_absolute_percentage_error`.
    MeanAbsolutePercentageError,
    /// `mean_squared_logarithmic_error`.
    MeanSquaredLogarithmicError,
    /// Cosine similarity (positive) along an axis.
    CosineSimilarity(isize),
    /// `log_cosh`.
    LogCoshError,
    /// `hinge`.
    Hinge,
    /// `squared_hinge`.
    SquaredHinge,
    /// `categorical_hinge`.
    CategoricalHinge,
    /// `kl_divergence`.
    KLDivergence,
    /// `poisson`.
    Poisson,
    /// `binary_crossentropy(from_logits, label_smoothing)`.
    BinaryCrossentropy {
        /// `y_pred` holds logits.
        from_logits: bool,
        /// Label smoothing towards 0.5.
        label_smoothing: f64,
    },
    /// `categorical_crossentropy(from_logits, label_smoothing, axis)`.
    CategoricalCrossentropy {
        /// `y_pred` holds logits.
        from_logits: bool,
        /// Label smoothing `y * (1 - ls) + ls / classes`.
        label_smoothing: f64,
        /// The class axis.
        axis: isize,
    },
    /// `sparse_categorical_crossentropy(from_logits, ignore_class, axis)`: samples whose label
    /// is `ignore_class` give 0 (and, with sample weights, do not count).
    SparseCategoricalCrossentropy {
        /// `y_pred` holds logits.
        from_logits: bool,
        /// A label value to leave out.
        ignore_class: Option<i64>,
        /// The class axis.
        axis: isize,
    },
    /// `pearson_correlation(y_true, y_pred, axis)`.
    PearsonCorrelation(isize),
    /// `concordance_correlation(y_true, y_pred, axis)`.
    ConcordanceCorrelation(isize),
}

impl MetricFn {
    /// `binary_crossentropy` with Keras's metric defaults (probabilities, no smoothing).
    pub const BINARY_CROSSENTROPY: MetricFn =
        MetricFn::BinaryCrossentropy { from_logits: false, label_smoothing: 0.0 };
    /// `categorical_crossentropy` with Keras's metric defaults.
    pub const CATEGORICAL_CROSSENTROPY: MetricFn =
        MetricFn::CategoricalCrossentropy { from_logits: false, label_smoothing: 0.0, axis: -1 };
    /// `sparse_categorical_crossentropy` with Keras's metric defaults.
    pub const SPARSE_CATEGORICAL_CROSSENTROPY: MetricFn =
        MetricFn::SparseCategoricalCrossentropy { from_logits: false, ignore_class: None, axis: -1 };
}

impl MetricFn {
    /// Keras class name and default metric name.
    pub fn names(&self) -> (&'static str, &'static str) {
        match self {
            MetricFn::Accuracy => ("Accuracy", "accuracy"),
            MetricFn::BinaryAccuracy(_) => ("BinaryAccuracy", "binary_accuracy"),
            MetricFn::CategoricalAccuracy => ("CategoricalAccuracy", "categorical_accuracy"),
            MetricFn::SparseCategoricalAccuracy => {
                ("SparseCategoricalAccuracy", "sparse_categorical_accuracy")
            }
            MetricFn::TopKCategoricalAccuracy(_) => ("TopKCategoricalAccuracy", "top_k_categorical_accuracy"),
            MetricFn::SparseTopKCategoricalAccuracy { .. } => {
                ("SparseTopKCategoricalAccuracy", "sparse_top_k_categorical_accuracy")
            }
            MetricFn::MeanSquaredError => ("MeanSquaredError", "mean_squared_error"),
            MetricFn::MeanAbsoluteError => ("MeanAbsoluteError", "mean_absolute_error"),
            MetricFn::MeanAbsolutePercentageError => {
                ("MeanAbsolutePercentageError", "mean_absolute_percentage_error")
            }
            MetricFn::MeanSquaredLogarithmicError => {
                ("MeanSquaredLogarithmicError", "mean_squared_logarithmic_error")
            }
            MetricFn::CosineSimilarity(_) => ("CosineSimilarity", "cosine_similarity"),
            MetricFn::LogCoshError => ("LogCoshError", "logcosh"),
            MetricFn::Hinge => ("Hinge", "hinge"),
            MetricFn::SquaredHinge => ("SquaredHinge", "squared_hinge"),
            MetricFn::CategoricalHinge => ("CategoricalHinge", "categorical_hinge"),
            MetricFn::KLDivergence => ("KLDivergence", "kl_divergence"),
            MetricFn::Poisson => ("Poisson", "poisson"),
            MetricFn::BinaryCrossentropy { .. } => ("BinaryCrossentropy", "binary_crossentropy"),
            MetricFn::CategoricalCrossentropy { .. } => {
                ("CategoricalCrossentropy", "categorical_crossentropy")
            }
            MetricFn::SparseCategoricalCrossentropy { .. } => {
                ("SparseCategoricalCrossentropy", "sparse_categorical_crossentropy")
            }
            MetricFn::PearsonCorrelation(_) => ("PearsonCorrelation", "pearson_correlation"),
            MetricFn::ConcordanceCorrelation(_) => ("ConcordanceCorrelation", "concordance_correlation"),
        }
    }

    /// The per-sample values for one batch (no gradient).
    pub fn apply(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
        Ok(self.apply_masked(y_true, y_pred)?.0)
    }

    /// The per-sample values and the mask Keras attaches to them (`ignore_class`).
    pub fn apply_masked(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<(Tensor, Option<Tensor>)> {
        let yt = y_true.detach();
        let yp = y_pred.detach();
        if let MetricFn::SparseCategoricalCrossentropy { from_logits, ignore_class, axis } = self {
            let yp = move_axis_last(&yp, *axis)?;
            return losses::sparse_categorical_crossentropy_ignore(&yt, &yp, *from_logits, *ignore_class);
        }
        Ok((self.apply_plain(&yt, &yp)?, None))
    }

    fn apply_plain(&self, yt: &Tensor, yp: &Tensor) -> Result<Tensor> {
        match self {
            MetricFn::Accuracy => accuracy(yt, yp),
            MetricFn::BinaryAccuracy(th) => binary_accuracy(yt, yp, *th),
            MetricFn::CategoricalAccuracy => categorical_accuracy(yt, yp),
            MetricFn::SparseCategoricalAccuracy => sparse_categorical_accuracy(yt, yp),
            MetricFn::TopKCategoricalAccuracy(k) => top_k_categorical_accuracy(yt, yp, *k),
            MetricFn::SparseTopKCategoricalAccuracy { k, from_sorted_ids } => {
                sparse_top_k_categorical_accuracy_ext(yt, yp, *k, *from_sorted_ids)
            }
            MetricFn::MeanSquaredError => losses::mean_squared_error(yt, yp),
            MetricFn::MeanAbsoluteError => losses::mean_absolute_error(yt, yp),
            MetricFn::MeanAbsolutePercentageError => losses::mean_absolute_percentage_error(yt, yp),
            MetricFn::MeanSquaredLogarithmicError => losses::mean_squared_logarithmic_error(yt, yp),
            MetricFn::CosineSimilarity(axis) => {
                let v = losses::cosine_similarity(yt, yp, *axis)?;
                Ok(ops::scale(&v, -1.0)?)
            }
            MetricFn::LogCoshError => losses::log_cosh(yt, yp),
            MetricFn::Hinge => losses::hinge(yt, yp),
            MetricFn::SquaredHinge => losses::squared_hinge(yt, yp),
            MetricFn::CategoricalHinge => losses::categorical_hinge(yt, yp),
            MetricFn::KLDivergence => losses::kl_divergence(yt, yp),
            MetricFn::Poisson => losses::poisson(yt, yp),
            MetricFn::BinaryCrossentropy { from_logits, label_smoothing } => {
                let (t, p) = squeeze_or_expand_pair(yt, yp)?;
                losses::binary_crossentropy(&t, &p, *from_logits, *label_smoothing)
            }
            MetricFn::CategoricalCrossentropy { from_logits, label_smoothing, axis } => {
                let (t, p) = squeeze_or_expand_pair(yt, yp)?;
                losses::categorical_crossentropy_axis(&t, &p, *from_logits, *label_smoothing, *axis)
            }
            MetricFn::SparseCategoricalCrossentropy { .. } => unreachable_sparse(),
            MetricFn::PearsonCorrelation(axis) => super::correlation::pearson_correlation(yt, yp, *axis),
            MetricFn::ConcordanceCorrelation(axis) => {
                super::correlation::concordance_correlation(yt, yp, *axis)
            }
        }
    }
}

/// `keras.metrics.MeanMetricWrapper`: the running weighted mean of a per-sample function.
/// The accuracy metrics (`Accuracy`, `BinaryAccuracy`, `CategoricalAccuracy`, ...) and the
/// regression metrics are instances of it.
#[derive(Clone, Debug)]
pub struct MeanMetricWrapper {
    mean: Mean,
    func: MetricFn,
}

impl MeanMetricWrapper {
    /// A metric averaging `func`, with Keras's default name for it.
    pub fn new(func: MetricFn) -> MeanMetricWrapper {
        let name = func.names().1;
        MeanMetricWrapper { mean: Mean::new(name), func }
    }

    /// The same metric named `name`.
    pub fn with_name(mut self, name: &str) -> MeanMetricWrapper {
        self.mean.name = name.to_string();
        self
    }

    /// The wrapped function.
    pub fn func(&self) -> &MetricFn {
        &self.func
    }

    /// `(total, count)`.
    pub fn state(&self) -> (f32, f32) {
        self.mean.state()
    }
}

impl Metric for MeanMetricWrapper {
    fn name(&self) -> &str {
        &self.mean.name
    }
    fn update_state(
        &mut self,
        y_true: &Tensor,
        y_pred: &Tensor,
        sample_weight: Option<&Tensor>,
    ) -> Result<()> {
        let (values, mask) = self.func.apply_masked(y_true, y_pred)?;
        // As Keras's `reduce_to_samplewise_values`, the values' mask only matters with sample
        // weights (it multiplies them); without, masked values count as 0.
        let masked;
        let sample_weight = match (sample_weight, mask) {
            (Some(w), Some(m)) => {
                let (wv, ws) = (w.to_f32_vec(), w.shape().to_vec());
                let (_, msq) = squeeze_or_expand_shapes(&ws, m.shape());
                let mb = broadcast_to(&m.to_f32_vec(), &msq, &ws).unwrap_or_else(|_| vec![1.0; wv.len()]);
                masked = Tensor::new(wv.iter().zip(&mb).map(|(a, b)| a * b).collect(), ws)?;
                Some(&masked)
            }
            (w, _) => w,
        };
        self.mean.update_state_values(&values, sample_weight)
    }
    fn result(&self) -> f32 {
        self.mean.result()
    }
    fn reset_state(&mut self) {
        self.mean.reset_state();
    }
    fn get_config(&self) -> Value {
        let mut c = json!({"name": self.mean.name, "dtype": "float32"});
        // Keras's metric default for `label_smoothing` is the integer 0.
        let ls = |v: f64| if v == 0.0 { json!(0) } else { json!(v) };
        match &self.func {
            MetricFn::BinaryAccuracy(t) => c["threshold"] = json!(t),
            MetricFn::TopKCategoricalAccuracy(k) => c["k"] = json!(k),
            MetricFn::SparseTopKCategoricalAccuracy { k, from_sorted_ids } => {
                c["k"] = json!(k);
                if *from_sorted_ids {
                    c["from_sorted_ids"] = json!(true);
                }
            }
            MetricFn::BinaryCrossentropy { from_logits, label_smoothing } => {
                c["from_logits"] = json!(from_logits);
                c["label_smoothing"] = ls(*label_smoothing);
            }
            MetricFn::CategoricalCrossentropy { from_logits, label_smoothing, axis } => {
                c["from_logits"] = json!(from_logits);
                c["label_smoothing"] = ls(*label_smoothing);
                c["axis"] = json!(axis);
            }
            MetricFn::SparseCategoricalCrossentropy { from_logits, ignore_class, axis } => {
                c["from_logits"] = json!(from_logits);
                c["ignore_class"] = json!(ignore_class);
                c["axis"] = json!(axis);
            }
            MetricFn::PearsonCorrelation(axis) | MetricFn::ConcordanceCorrelation(axis) => {
                c["axis"] = json!(axis)
            }
            _ => {}
        }
        c
    }
    fn class_name(&self) -> &str {
        self.func.names().0
    }
    fn set_name(&mut self, name: &str) {
        self.mean.name = name.to_string();
    }
}

/// `(a, b)` values broadcast to their common shape, after `squeeze_or_expand`.
pub(crate) fn broadcast_pair(a: &Tensor, b: &Tensor) -> Result<(Vec<f32>, Vec<f32>, Vec<usize>)> {
    let (sa, sb) = squeeze_or_expand_shapes(a.shape(), b.shape());
    let out = ops::broadcast_shapes(&sa, &sb).map_err(|_| incompatible_shapes(a, b))?;
    let av = broadcast_to(&a.to_f32_vec(), &sa, &out)?;
    let bv = broadcast_to(&b.to_f32_vec(), &sb, &out)?;
    Ok((av, bv, out))
}

fn matches(eq: impl Iterator<Item = bool>, shape: Vec<usize>) -> Result<Tensor> {
    Ok(Tensor::new(eq.map(|e| if e { 1.0 } else { 0.0 }).collect(), shape)?)
}

/// `keras.metrics.accuracy`: `1.0` where `y_true == y_pred` (element-wise).
pub fn accuracy(y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
    // y_true is converted to y_pred's dtype first.
    let yt = if y_pred.dtype() == DType::F32 { y_true.cast(DType::F32) } else { y_true.cast(y_pred.dtype()) };
    let (a, b, shape) = broadcast_pair(&yt, y_pred)?;
    matches(a.iter().zip(&b).map(|(x, y)| x == y), shape)
}

/// `keras.metrics.binary_accuracy`: `1.0` where `y_true == (y_pred > threshold)`.
pub fn binary_accuracy(y_true: &Tensor, y_pred: &Tensor, threshold: f64) -> Result<Tensor> {
    let th = threshold as f32;
    let (a, b, shape) = broadcast_pair(y_true, y_pred)?;
    matches(a.iter().zip(&b).map(|(t, p)| *t == if *p > th { 1.0 } else { 0.0 }), shape)
}

fn argmax_last(x: &Tensor) -> Result<(Vec<i64>, Vec<usize>)> {
    if x.rank() == 0 {
        keras_bail!(Shape, "Cannot take the argmax of a 0-d tensor");
    }
    let a = ops::argmax(&x.cast(DType::F32), -1)?;
    Ok((a.to_i64_vec(), a.shape().to_vec()))
}

/// `keras.metrics.categorical_accuracy`: `argmax(y_true) == argmax(y_pred)` (first maximum
/// on ties).
pub fn categorical_accuracy(y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
    let (t, mut tshape) = argmax_last(y_true)?;
    if tshape.len() == y_pred.rank() && tshape.last() == Some(&1) {
        tshape.pop();
    }
    let (p, pshape) = argmax_last(y_pred)?;
    if t.len() != p.len() {
        return Err(incompatible_shapes(y_true, y_pred));
    }
    let _ = pshape;
    matches(t.iter().zip(&p).map(|(a, b)| a == b), tshape)
}

/// `keras.metrics.sparse_categorical_accuracy`: integer label == `argmax(y_pred)`; labels of
/// shape `[batch]` or `[batch, 1]`.
pub fn sparse_categorical_accuracy(y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
    let t = y_true.to_f32_vec();
    let mut tshape = y_true.shape().to_vec();
    if tshape.len() == y_pred.rank() && tshape.last() == Some(&1) {
        tshape.pop();
    }
    let (p, _) = argmax_last(y_pred)?;
    if t.len() != p.len() {
        return Err(incompatible_shapes(y_true, y_pred));
    }
    if tshape.len() > 1 && tshape.last() == Some(&1) {
        tshape.pop();
    }
    matches(t.iter().zip(&p).map(|(a, b)| *a == *b as f32), tshape)
}

/// TensorFlow `in_top_k`: the target's score is finite and fewer than `k` scores are larger.
fn in_top_k(targets: &[i64], pred: &[f32], classes: usize, k: usize) -> Vec<bool> {
    targets
        .iter()
        .enumerate()
        .map(|(i, &t)| {
            if t < 0 || t as usize >= classes {
                return false;
            }
            let row = &pred[i * classes..(i + 1) * classes];
            let v = row[t as usize];
            v.is_finite() && row.iter().filter(|&&x| x > v).count() < k
        })
        .collect()
}

/// `keras.metrics.top_k_categorical_accuracy`: `argmax(y_true)` is among the top `k` scores.
pub fn top_k_categorical_accuracy(y_true: &Tensor, y_pred: &Tensor, k: usize) -> Result<Tensor> {
    let (t, tshape) = argmax_last(y_true)?;
    let classes = y_pred.shape().last().copied().unwrap_or(0);
    if y_pred.numel() != t.len() * classes {
        return Err(incompatible_shapes(y_true, y_pred));
    }
    let m = in_top_k(&t, &y_pred.to_f32_vec(), classes, k);
    matches(m.into_iter(), tshape)
}

fn unreachable_sparse() -> Result<Tensor> {
    keras_bail!(State, "sparse_categorical_crossentropy is computed with its mask")
}

/// Moves `axis` of `x` to the end (the sparse crossentropy's class axis).
fn move_axis_last(x: &Tensor, axis: isize) -> Result<Tensor> {
    if x.rank() == 0 {
        return Ok(x.clone());
    }
    let a = ops::normalize_axis(axis, x.rank())?;
    if a + 1 == x.rank() {
        return Ok(x.clone());
    }
    let perm: Vec<usize> = (0..x.rank()).filter(|&d| d != a).chain(std::iter::once(a)).collect();
    Ok(ops::transpose(&x.cast(DType::F32), &perm)?)
}

/// Keras's `squeeze_or_expand_to_same_rank` on a `(y_true, y_pred)` pair.
fn squeeze_or_expand_pair(t: &Tensor, p: &Tensor) -> Result<(Tensor, Tensor)> {
    let (ts, ps) = squeeze_or_expand_shapes(t.shape(), p.shape());
    Ok((t.reshape(ts)?, p.reshape(ps)?))
}

/// `keras.metrics.sparse_top_k_categorical_accuracy(y_true, y_pred, k, from_sorted_ids)`.
pub fn sparse_top_k_categorical_accuracy_ext(
    y_true: &Tensor,
    y_pred: &Tensor,
    k: usize,
    from_sorted_ids: bool,
) -> Result<Tensor> {
    if !from_sorted_ids {
        return sparse_top_k_categorical_accuracy(y_true, y_pred, k);
    }
    // y_pred holds class ids sorted by score: a match is the label among the first k.
    let t = y_true.to_f32_vec();
    let m = y_pred.shape().last().copied().unwrap_or(0);
    if y_pred.rank() == 0 || y_pred.numel() != t.len() * m {
        return Err(incompatible_shapes(y_true, y_pred));
    }
    let p = y_pred.to_f32_vec();
    let hits = t.iter().enumerate().map(|(i, &l)| p[i * m..i * m + k.min(m)].contains(&l));
    matches(hits, y_true.shape().to_vec())
}

/// `keras.metrics.sparse_top_k_categorical_accuracy`: the integer label is among the top `k`.
pub fn sparse_top_k_categorical_accuracy(y_true: &Tensor, y_pred: &Tensor, k: usize) -> Result<Tensor> {
    let t = y_true.to_i64_vec();
    let classes = y_pred.shape().last().copied().unwrap_or(0);
    if y_pred.numel() != t.len() * classes {
        return Err(incompatible_shapes(y_true, y_pred));
    }
    let m = in_top_k(&t, &y_pred.to_f32_vec(), classes, k);
    matches(m.into_iter(), y_true.shape().to_vec())
}
