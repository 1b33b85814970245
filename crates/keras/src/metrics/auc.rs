//! `keras.metrics.AUC`: the area under the ROC, PR or PR-gain curve, from confusion counts
//! at many thresholds, with every Keras option.

use serde_json::{json, Value};

use super::confusion_matrix::{evenly_distributed, no_nan, Counts, UpdateOptions, Wanted};
use super::Metric;
use crate::{keras_bail, Result, Tensor};

/// The curve of an [`AUC`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AucCurve {
    /// Receiver operating characteristic (true vs false positive rate).
    Roc,
    /// Precision-recall.
    Pr,
    /// Precision-recall gain (Flach & Kull, 2015).
    PrGain,
}

impl AucCurve {
    /// Keras's `AUCCurve.from_str` (`"ROC"`/`"roc"`, `"PR"`/`"pr"`, `"PRGAIN"`/`"prgain"`).
    pub fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "roc" | "ROC" => AucCurve::Roc,
            "pr" | "PR" => AucCurve::Pr,
            "prgain" | "PRGAIN" => AucCurve::PrGain,
            other => keras_bail!(
                InvalidArgument,
                "Invalid AUC curve value: \"{other}\". Expected values are [\"PR\", \"ROC\", \"PRGAIN\"]"
            ),
        })
    }
    fn name(self) -> &'static str {
        match self {
            AucCurve::Roc => "ROC",
            AucCurve::Pr => "PR",
            AucCurve::PrGain => "PRGAIN",
        }
    }
}

/// How an [`AUC`] sums the areas under the curve.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AucSummation {
    /// Mid-point (trapezoids); for PR, interpolation of the counts (Davis & Goadrich 2006).
    Interpolation,
    /// Left/right summation giving a lower bound.
    Minoring,
    /// Left/right summation giving an upper bound.
    Majoring,
}

impl AucSummation {
    /// Keras's `AUCSummationMethod.from_str`.
    pub fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "interpolation" | "Interpolation" => AucSummation::Interpolation,
            "majoring" | "Majoring" => AucSummation::Majoring,
            "minoring" | "Minoring" => AucSummation::Minoring,
            other => keras_bail!(
                InvalidArgument,
                "Invalid AUC summation method value: \"{other}\". Expected values are [\"interpolation\", \"majoring\", \"minoring\"]"
            ),
        })
    }
    fn name(self) -> &'static str {
        match self {
            AucSummation::Interpolation => "interpolation",
            AucSummation::Minoring => "minoring",
            AucSummation::Majoring => "majoring",
        }
    }
}

/// The arguments of `keras.metrics.AUC`, with Keras's defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct AucArgs {
    /// `num_thresholds` (default 200; ignored with explicit `thresholds`).
    pub num_thresholds: usize,
    /// `curve` (default ROC).
    pub curve: AucCurve,
    /// `summation_method` (default interpolation).
    pub summation_method: AucSummation,
    /// Explicit thresholds (Keras sorts them and adds `-epsilon` and `1 + epsilon`).
    pub thresholds: Option<Vec<f64>>,
    /// One curve per label (columns of `(batch, labels)` predictions), averaged.
    pub multi_label: bool,
    /// The number of labels with `multi_label` (otherwise taken from the first batch).
    pub num_labels: Option<usize>,
    /// Weights of the labels: of the averaged per-label AUCs with `multi_label`, of the
    /// counts otherwise.
    pub label_weights: Option<Vec<f64>>,
    /// Predictions are logits (a sigmoid is applied first).
    pub from_logits: bool,
}

impl Default for AucArgs {
    fn default() -> Self {
        AucArgs {
            num_thresholds: 200,
            curve: AucCurve::Roc,
            summation_method: AucSummation::Interpolation,
            thresholds: None,
            multi_label: false,
            num_labels: None,
            label_weights: None,
            from_logits: false,
        }
    }
}

/// `keras.metrics.AUC`.
///
/// ```
/// use keras::metrics::{AucArgs, AucCurve, Metric, AUC};
/// use keras::Tensor;
/// let mut auc = AUC::with_args(AucArgs { curve: AucCurve::Pr, num_thresholds: 50, ..Default::default() }).unwrap();
/// let y = Tensor::new(vec![0.0, 0.0, 1.0, 1.0], [4, 1]).unwrap();
/// let p = Tensor::new(vec![0.1, 0.4, 0.35, 0.8], [4, 1]).unwrap();
/// auc.update_state(&y, &p, None).unwrap();
/// assert!(auc.result() > 0.5);
/// ```
#[derive(Clone, Debug)]
pub struct AUC {
    name: String,
    args: AucArgs,
    /// Thresholds including the end points below 0 and above 1.
    thresholds: Vec<f64>,
    evenly: bool,
    cm: Option<Counts>,
}

impl AUC {
    /// `AUC(num_thresholds, curve="PR" if pr else "ROC")` with the other defaults.
    pub fn new(num_thresholds: usize, pr: bool) -> Result<AUC> {
        AUC::with_args(AucArgs {
            num_thresholds,
            curve: if pr { AucCurve::Pr } else { AucCurve::Roc },
            ..Default::default()
        })
    }

    /// `keras.metrics.AUC(**args)`, with Keras's checks.
    pub fn with_args(args: AucArgs) -> Result<AUC> {
        let eps = 1e-7f64;
        let (inner, evenly, num_thresholds) = match &args.thresholds {
            Some(t) => {
                let mut t = t.clone();
                t.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
                let mut full = vec![0.0];
                full.extend(&t);
                full.push(1.0);
                let n = t.len() + 2;
                (t, evenly_distributed(&full), n)
            }
            None => {
                let n = args.num_thresholds;
                if n <= 1 {
                    keras_bail!(
                        InvalidArgument,
                        "Argument `num_thresholds` must be an integer > 1. Received: num_thresholds={n}"
                    );
                }
                ((0..n - 2).map(|i| (i + 1) as f64 / (n - 1) as f64).collect(), true, n)
            }
        };
        if !args.multi_label && args.num_labels.is_some() {
            keras_bail!(InvalidArgument, "`num_labels` is needed only when `multi_label` is True.");
        }
        if args.num_labels == Some(0) {
            keras_bail!(InvalidArgument, "`num_labels` must be positive. Received: num_labels=0");
        }
        let mut thresholds = vec![0.0 - eps];
        thresholds.extend(inner);
        thresholds.push(1.0 + eps);
        let mut args = args;
        if args.thresholds.is_some() {
            args.num_thresholds = num_thresholds;
            args.thresholds = Some(thresholds[1..thresholds.len() - 1].to_vec());
        }
        let cm = if args.multi_label {
            args.num_labels.map(|n| Counts::new(&thresholds, evenly, n))
        } else {
            Some(Counts::new(&thresholds, evenly, 1))
        };
        Ok(AUC { name: "auc".into(), args, thresholds, evenly, cm })
    }

    crate::metrics::metric_name!(builder);

    /// The thresholds, end points included (Keras `auc.thresholds`).
    pub fn thresholds(&self) -> &[f64] {
        &self.thresholds
    }

    /// The arguments.
    pub fn args(&self) -> &AucArgs {
        &self.args
    }

    fn n(&self) -> usize {
        self.thresholds.len()
    }

    /// Averages per-label areas as Keras: evenly, or by `label_weights` with `multi_label`.
    fn average(&self, by_label: &[f32]) -> f32 {
        if !self.args.multi_label {
            return by_label.iter().sum();
        }
        match &self.args.label_weights {
            None => by_label.iter().sum::<f32>() / by_label.len().max(1) as f32,
            Some(w) => {
                let num: f32 = by_label.iter().zip(w).map(|(a, &b)| a * b as f32).sum();
                no_nan(num, w.iter().map(|&x| x as f32).sum())
            }
        }
    }

    fn interpolate_pr_auc(&self, cm: &Counts) -> f32 {
        let (n, l) = (self.n(), cm.labels);
        let mut by_label = vec![0.0f32; l];
        for lab in 0..l {
            let at = |v: &[f32], i: usize| v[i * l + lab];
            for i in 0..n - 1 {
                let dtp = at(&cm.tp, i) - at(&cm.tp, i + 1);
                let p0 = at(&cm.tp, i) + at(&cm.fp, i);
                let p1 = at(&cm.tp, i + 1) + at(&cm.fp, i + 1);
                let dp = p0 - p1;
                let slope = no_nan(dtp, dp.max(0.0));
                let intercept = at(&cm.tp, i + 1) - slope * p1;
                let ratio = if p0 > 0.0 && p1 > 0.0 { no_nan(p0, p1.max(0.0)) } else { 1.0 };
                by_label[lab] += no_nan(
                    slope * (dtp + intercept * ratio.ln()),
                    (at(&cm.tp, i + 1) + at(&cm.fn_, i + 1)).max(0.0),
                );
            }
        }
        self.average(&by_label)
    }
}

impl Metric for AUC {
    crate::metrics::metric_name!();
    fn update_state(
        &mut self,
        y_true: &Tensor,
        y_pred: &Tensor,
        sample_weight: Option<&Tensor>,
    ) -> Result<()> {
        if self.cm.is_none() {
            // multi_label without num_labels: built from the first batch.
            if y_pred.rank() != 2 {
                keras_bail!(
                    InvalidArgument,
                    "`y_pred` must have rank 2 when `multi_label=True`. Found rank {}. Full shape received for `y_pred`: {:?}",
                    y_pred.rank(),
                    y_pred.shape()
                );
            }
            self.cm = Some(Counts::new(&self.thresholds, self.evenly, y_pred.shape()[1]));
        }
        let p;
        let y_pred = if self.args.from_logits {
            p = keras_engine::ops::unary(
                &y_pred.detach().cast(keras_engine::DType::F32),
                keras_engine::ops::Unary::Sigmoid,
            )?;
            &p
        } else {
            y_pred
        };
        let lw: Option<Vec<f32>> = match (&self.args.label_weights, self.args.multi_label) {
            (Some(w), false) => Some(w.iter().map(|&x| x as f32).collect()),
            _ => None,
        };
        let opts = UpdateOptions {
            multi_label: self.args.multi_label,
            label_weights: lw.as_deref(),
            ..Default::default()
        };
        match self.cm.as_mut() {
            Some(cm) => cm.update(y_true, y_pred, sample_weight, opts, Wanted::ALL),
            None => Ok(()),
        }
    }
    fn result(&self) -> f32 {
        let Some(cm) = &self.cm else { return 0.0 };
        if self.args.curve == AucCurve::Pr && self.args.summation_method == AucSummation::Interpolation {
            return self.interpolate_pr_auc(cm);
        }
        let (n, l) = (self.n(), cm.labels);
        let mut by_label = vec![0.0f32; l];
        for lab in 0..l {
            let g = |v: &[f32], i: usize| v[i * l + lab];
            let point = |i: usize| -> (f32, f32) {
                let (tp, fp, tn, fnv) = (g(&cm.tp, i), g(&cm.fp, i), g(&cm.tn, i), g(&cm.fn_, i));
                let recall = no_nan(tp, tp + fnv);
                match self.args.curve {
                    AucCurve::Roc => (no_nan(fp, fp + tn), recall),
                    AucCurve::Pr => (recall, no_nan(tp, tp + fp)),
                    AucCurve::PrGain => {
                        let scale = no_nan(tp + fnv, tn + fp);
                        let mut rg = 1.0 - scale * no_nan(fnv, tp);
                        let mut pg = 1.0 - scale * no_nan(fp, tp);
                        if tp == 0.0 {
                            rg = 0.0;
                            pg = 1.0;
                        }
                        (rg.max(0.0), pg)
                    }
                }
            };
            for i in 0..n - 1 {
                let ((x0, y0), (x1, y1)) = (point(i), point(i + 1));
                let h = match self.args.summation_method {
                    AucSummation::Interpolation => (y0 + y1) / 2.0,
                    AucSummation::Minoring => y0.min(y1),
                    AucSummation::Majoring => y0.max(y1),
                };
                by_label[lab] += (x0 - x1) * h;
            }
        }
        self.average(&by_label)
    }
    fn reset_state(&mut self) {
        if let Some(cm) = &mut self.cm {
            cm.reset();
        }
    }
    fn get_config(&self) -> Value {
        let a = &self.args;
        let mut c = json!({
            "name": self.name,
            "dtype": "float32",
            "num_thresholds": a.num_thresholds,
            "curve": a.curve.name(),
            "summation_method": a.summation_method.name(),
            "multi_label": a.multi_label,
            "num_labels": a.num_labels,
            "label_weights": a.label_weights.as_ref().map(|w| w.iter().map(|&x| x as f32 as f64).collect::<Vec<_>>()),
            "from_logits": a.from_logits,
        });
        if let Some(t) = &a.thresholds {
            c["thresholds"] = json!(t);
        }
        c
    }
    fn class_name(&self) -> &str {
        "AUC"
    }
    fn variables(&self) -> Vec<(String, Tensor)> {
        let Some(cm) = &self.cm else { return Vec::new() };
        let shape = if self.args.multi_label { vec![self.n(), cm.labels] } else { vec![self.n()] };
        let t = |v: &[f32]| Tensor::new(v.to_vec(), shape.clone()).unwrap_or_else(|_| Tensor::scalar(0.0));
        vec![
            ("true_positives".into(), t(&cm.tp)),
            ("false_positives".into(), t(&cm.fp)),
            ("true_negatives".into(), t(&cm.tn)),
            ("false_negatives".into(), t(&cm.fn_)),
        ]
    }
}
