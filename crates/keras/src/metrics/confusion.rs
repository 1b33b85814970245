//! Confusion-matrix metrics: `Precision`, `Recall` (thresholds / top_k / class_id), `AUC`
//! (ROC and PR, interpolation summation) and `MeanIoU`.

use serde_json::{json, Value};

use super::mean::{broadcast_to, squeeze_or_expand_shapes};
use super::Metric;
use crate::{keras_bail, Result, Tensor};

fn no_nan(a: f32, b: f32) -> f32 {
    if b == 0.0 {
        0.0
    } else {
        a / b
    }
}

/// Counts of true/false positives/negatives per threshold.
#[derive(Clone, Debug)]
struct Confusion {
    thresholds: Vec<f32>,
    top_k: Option<usize>,
    class_id: Option<usize>,
    tp: Vec<f32>,
    fp: Vec<f32>,
    tn: Vec<f32>,
    fn_: Vec<f32>,
}

impl Confusion {
    fn new(thresholds: Vec<f32>, top_k: Option<usize>, class_id: Option<usize>) -> Confusion {
        let n = thresholds.len();
        Confusion {
            thresholds,
            top_k,
            class_id,
            tp: vec![0.0; n],
            fp: vec![0.0; n],
            tn: vec![0.0; n],
            fn_: vec![0.0; n],
        }
    }

    fn reset(&mut self) {
        for v in [&mut self.tp, &mut self.fp, &mut self.tn, &mut self.fn_] {
            v.iter_mut().for_each(|x| *x = 0.0);
        }
    }

    /// Keras `update_confusion_matrix_variables`.
    fn update(&mut self, y_true: &Tensor, y_pred: &Tensor, sw: Option<&Tensor>) -> Result<()> {
        let (ps, ts) = squeeze_or_expand_shapes(y_pred.shape(), y_true.shape());
        let mut p = y_pred.to_f32_vec();
        let mut t = y_true.to_f32_vec();
        if ts != ps && t.len() != p.len() {
            keras_bail!(
                Shape,
                "Incompatible shapes: y_true.shape={:?} and y_pred.shape={:?}",
                y_true.shape(),
                y_pred.shape()
            );
        }
        if p.iter().any(|v| !(0.0..=1.0).contains(v)) {
            keras_bail!(Value, "predictions must be >= 0 and <= 1 (Keras asserts y_pred in [0, 1])");
        }
        let mut w = match sw {
            Some(w) => {
                let (_, ws) = squeeze_or_expand_shapes(&ps, w.shape());
                Some(broadcast_to(&w.to_f32_vec(), &ws, &ps)?)
            }
            None => None,
        };
        let classes = ps.last().copied().unwrap_or(1).max(1);
        if let Some(k) = self.top_k {
            for row in p.chunks_mut(classes) {
                let mut idx: Vec<usize> = (0..row.len()).collect();
                idx.sort_by(|&a, &b| row[b].partial_cmp(&row[a]).unwrap_or(std::cmp::Ordering::Equal));
                for &i in idx.iter().skip(k) {
                    row[i] = f32::NEG_INFINITY;
                }
            }
        }
        if let Some(c) = self.class_id {
            if c >= classes {
                keras_bail!(
                    InvalidArgument,
                    "class_id {c} is out of range for predictions with {classes} classes"
                );
            }
            let pick = |v: &[f32]| v.iter().skip(c).step_by(classes).copied().collect();
            p = pick(&p);
            t = pick(&t);
            w = w.map(|w| pick(&w));
        }
        for (i, &th) in self.thresholds.iter().enumerate() {
            let (mut tp, mut fp, mut tn, mut fn_) = (0.0f32, 0.0f32, 0.0f32, 0.0f32);
            for j in 0..p.len() {
                let wt = w.as_ref().map_or(1.0, |w| w[j]);
                let label = t[j] != 0.0;
                let pred = p[j] > th;
                match (label, pred) {
                    (true, true) => tp += wt,
                    (false, true) => fp += wt,
                    (false, false) => tn += wt,
                    (true, false) => fn_ += wt,
                }
            }
            self.tp[i] += tp;
            self.fp[i] += fp;
            self.tn[i] += tn;
            self.fn_[i] += fn_;
        }
        Ok(())
    }
}

fn thresholds_config(t: &Option<Vec<f64>>) -> Value {
    match t {
        None => Value::Null,
        Some(v) if v.len() == 1 => json!(v[0]),
        Some(v) => json!(v),
    }
}

macro_rules! precision_recall {
    ($(#[$doc:meta])* $Name:ident, $default:expr, $class:expr, $num:ident, $den:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug)]
        pub struct $Name {
            name: String,
            thresholds: Option<Vec<f64>>,
            cm: Confusion,
        }

        impl $Name {
            /// `thresholds` (default 0.5, or none with `top_k`), `top_k`, `class_id`, as
            /// Keras. Thresholds must lie in `[0, 1]`.
            pub fn new(
                thresholds: Option<Vec<f64>>,
                top_k: Option<usize>,
                class_id: Option<usize>,
            ) -> Result<Self> {
                let th: Vec<f32> = match &thresholds {
                    Some(v) => {
                        let bad: Vec<f64> = v.iter().copied().filter(|x| *x < 0.0 || *x > 1.0).collect();
                        if !bad.is_empty() {
                            keras_bail!(
                                InvalidArgument,
                                "Threshold values must be in [0, 1]. Received: {bad:?}"
                            );
                        }
                        v.iter().map(|&x| x as f32).collect()
                    }
                    None if top_k.is_some() => vec![f32::NEG_INFINITY],
                    None => vec![0.5],
                };
                Ok($Name {
                    name: $default.to_string(),
                    thresholds,
                    cm: Confusion::new(th, top_k, class_id),
                })
            }
            /// Renames the metric.
            pub fn with_name(mut self, name: &str) -> Self {
                self.name = name.to_string();
                self
            }
        }

        impl Metric for $Name {
            fn name(&self) -> &str {
                &self.name
            }
            fn update_state(
                &mut self,
                y_true: &Tensor,
                y_pred: &Tensor,
                sample_weight: Option<&Tensor>,
            ) -> Result<()> {
                self.cm.update(y_true, y_pred, sample_weight)
            }
            /// The value at the first threshold (see [`Metric::results`] for all).
            fn result(&self) -> f32 {
                self.results()[0]
            }
            fn results(&self) -> Vec<f32> {
                (0..self.cm.thresholds.len())
                    .map(|i| no_nan(self.cm.$num[i], self.cm.$num[i] + self.cm.$den[i]))
                    .collect()
            }
            fn reset_state(&mut self) {
                self.cm.reset();
            }
            fn get_config(&self) -> Value {
                json!({
                    "name": self.name,
                    "dtype": "float32",
                    "thresholds": thresholds_config(&self.thresholds),
                    "top_k": self.cm.top_k,
                    "class_id": self.cm.class_id,
                })
            }
            fn class_name(&self) -> &str {
                $class
            }
            fn set_name(&mut self, name: &str) {
                self.name = name.to_string();
            }
        }
    };
}

precision_recall!(
    /// `keras.metrics.Precision`: `tp / (tp + fp)` with strict `y_pred > threshold`.
    Precision,
    "precision",
    "Precision",
    tp,
    fp
);
precision_recall!(
    /// `keras.metrics.Recall`: `tp / (tp + fn)` with strict `y_pred > threshold`.
    Recall,
    "recall",
    "Recall",
    tp,
    fn_
);

/// `keras.metrics.AUC` (single label, interpolation summation) for the ROC or PR curve.
#[derive(Clone, Debug)]
pub struct AUC {
    name: String,
    num_thresholds: usize,
    pr: bool,
    cm: Confusion,
}

impl AUC {
    /// `num_thresholds` (> 1) evenly spaced thresholds `[-eps, 1/(n-1), ..., 1+eps]`;
    /// `pr` selects the precision-recall curve instead of ROC.
    pub fn new(num_thresholds: usize, pr: bool) -> Result<AUC> {
        if num_thresholds <= 1 {
            keras_bail!(
                InvalidArgument,
                "Argument `num_thresholds` must be an integer > 1. Received: \
                 num_thresholds={num_thresholds}"
            );
        }
        let n = num_thresholds;
        let mut th = vec![(0.0f64 - 1e-7) as f32];
        th.extend((0..n - 2).map(|i| ((i + 1) as f64 / (n - 1) as f64) as f32));
        th.push((1.0f64 + 1e-7) as f32);
        Ok(AUC { name: "auc".into(), num_thresholds: n, pr, cm: Confusion::new(th, None, None) })
    }
    /// Renames the metric.
    pub fn with_name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }

    fn pr_auc(&self) -> f32 {
        let c = &self.cm;
        let n = self.num_thresholds;
        let p: Vec<f32> = (0..n).map(|i| c.tp[i] + c.fp[i]).collect();
        let mut sum = 0.0f32;
        for i in 0..n - 1 {
            let dtp = c.tp[i] - c.tp[i + 1];
            let dp = p[i] - p[i + 1];
            let slope = no_nan(dtp, dp.max(0.0));
            let intercept = c.tp[i + 1] - slope * p[i + 1];
            let ratio = if p[i] > 0.0 && p[i + 1] > 0.0 { no_nan(p[i], p[i + 1].max(0.0)) } else { 1.0 };
            sum += no_nan(slope * (dtp + intercept * ratio.ln()), (c.tp[i + 1] + c.fn_[i + 1]).max(0.0));
        }
        sum
    }
}

impl Metric for AUC {
    fn name(&self) -> &str {
        &self.name
    }
    fn update_state(
        &mut self,
        y_true: &Tensor,
        y_pred: &Tensor,
        sample_weight: Option<&Tensor>,
    ) -> Result<()> {
        self.cm.update(y_true, y_pred, sample_weight)
    }
    fn result(&self) -> f32 {
        if self.pr {
            return self.pr_auc();
        }
        let c = &self.cm;
        let n = self.num_thresholds;
        let tpr: Vec<f32> = (0..n).map(|i| no_nan(c.tp[i], c.tp[i] + c.fn_[i])).collect();
        let fpr: Vec<f32> = (0..n).map(|i| no_nan(c.fp[i], c.fp[i] + c.tn[i])).collect();
        (0..n - 1).map(|i| (fpr[i] - fpr[i + 1]) * ((tpr[i] + tpr[i + 1]) / 2.0)).sum()
    }
    fn reset_state(&mut self) {
        self.cm.reset();
    }
    fn get_config(&self) -> Value {
        json!({
            "name": self.name,
            "dtype": "float32",
            "num_thresholds": self.num_thresholds,
            "curve": if self.pr { "PR" } else { "ROC" },
            "summation_method": "interpolation",
            "multi_label": false,
            "num_labels": null,
            "label_weights": null,
            "from_logits": false,
        })
    }
    fn class_name(&self) -> &str {
        "AUC"
    }
    fn set_name(&mut self, name: &str) {
        self.name = name.to_string();
    }
}

/// `keras.metrics.MeanIoU(num_classes)`: a confusion matrix of class ids (or of the argmax of
/// scores, with `sparse_y_true` / `sparse_y_pred` false) accumulated over batches; the mean IoU
/// over the classes that appear. Ids outside `[0, num_classes)` and `ignore_class` samples do
/// not count, as in Keras.
#[derive(Clone, Debug)]
pub struct MeanIoU {
    name: String,
    num_classes: usize,
    ignore_class: Option<i64>,
    sparse_y_true: bool,
    sparse_y_pred: bool,
    axis: isize,
    cm: Vec<f64>,
}

impl MeanIoU {
    /// A mean IoU over `num_classes` classes, optionally ignoring one label value.
    pub fn new(num_classes: usize, ignore_class: Option<i64>) -> Result<MeanIoU> {
        if num_classes == 0 {
            keras_bail!(InvalidArgument, "`num_classes` must be > 0. Received: 0");
        }
        Ok(MeanIoU {
            name: "mean_io_u".into(),
            num_classes,
            ignore_class,
            sparse_y_true: true,
            sparse_y_pred: true,
            axis: -1,
            cm: vec![0.0; num_classes * num_classes],
        })
    }
    /// Whether `y_true` holds class ids (`true`, the default) or scores to argmax.
    pub fn with_sparse_y_true(mut self, sparse: bool) -> Self {
        self.sparse_y_true = sparse;
        self
    }
    /// Whether `y_pred` holds class ids (`true`, the default) or scores to argmax.
    pub fn with_sparse_y_pred(mut self, sparse: bool) -> Self {
        self.sparse_y_pred = sparse;
        self
    }
    /// The axis holding class scores for dense inputs (default `-1`).
    pub fn with_axis(mut self, axis: isize) -> Self {
        self.axis = axis;
        self
    }
    /// The accumulated `num_classes x num_classes` confusion matrix (rows: true class).
    pub fn total_cm(&self) -> &[f64] {
        &self.cm
    }
    /// Renames the metric.
    pub fn with_name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }
}

impl Metric for MeanIoU {
    fn name(&self) -> &str {
        &self.name
    }
    fn update_state(
        &mut self,
        y_true: &Tensor,
        y_pred: &Tensor,
        sample_weight: Option<&Tensor>,
    ) -> Result<()> {
        let t = super::iou::ids(y_true, self.sparse_y_true, self.axis)?;
        let p = super::iou::ids(y_pred, self.sparse_y_pred, self.axis)?;
        if t.len() != p.len() {
            keras_bail!(
                Shape,
                "Incompatible shapes: y_true.shape={:?} and y_pred.shape={:?}",
                y_true.shape(),
                y_pred.shape()
            );
        }
        let w = match sample_weight {
            Some(w) if w.numel() == t.len() => Some(w.to_f32_vec()),
            Some(w) => Some(broadcast_to(&w.to_f32_vec(), w.shape(), &[t.len()])?),
            None => None,
        };
        super::iou::accumulate_confusion(
            &mut self.cm,
            self.num_classes,
            &t,
            &p,
            w.as_deref(),
            self.ignore_class,
        );
        Ok(())
    }
    fn result(&self) -> f32 {
        let n = self.num_classes;
        let mut sum = 0.0f32;
        let mut valid = 0.0f32;
        for c in 0..n {
            let row: f64 = (0..n).map(|j| self.cm[c * n + j]).sum();
            let col: f64 = (0..n).map(|i| self.cm[i * n + c]).sum();
            let tp = self.cm[c * n + c];
            let den = (row + col - tp) as f32;
            // Keras 3 (`_IoUBase.result`): classes with an empty denominator do not count,
            // and both divisions add `epsilon()`.
            if den > 1e-9 {
                valid += 1.0;
            }
            sum += tp as f32 / (den + 1e-7);
        }
        sum / (valid + 1e-7)
    }
    fn reset_state(&mut self) {
        self.cm.iter_mut().for_each(|v| *v = 0.0);
    }
    fn get_config(&self) -> Value {
        json!({
            "num_classes": self.num_classes,
            "name": self.name,
            "dtype": "float32",
            "ignore_class": self.ignore_class,
            "sparse_y_true": self.sparse_y_true,
            "sparse_y_pred": self.sparse_y_pred,
            "axis": self.axis,
        })
    }
    fn class_name(&self) -> &str {
        "MeanIoU"
    }
    fn set_name(&mut self, name: &str) {
        self.name = name.to_string();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_must_be_in_unit_interval() {
        let e = Precision::new(Some(vec![0.5, 1.5, -0.1]), None, None).unwrap_err();
        assert!(e.to_string().contains("Threshold values must be in [0, 1]. Received: [1.5, -0.1]"), "{e}");
        let e = Recall::new(Some(vec![2.0]), None, None).unwrap_err();
        assert!(e.to_string().contains("Received: [2.0]"), "{e}");
        assert!(Precision::new(Some(vec![0.0, 1.0]), None, None).is_ok());
        assert!(Recall::new(Some(vec![0.0, 0.5, 1.0]), None, None).is_ok());
    }
}
