//! `SensitivityAtSpecificity`, `SpecificityAtSensitivity`, `PrecisionAtRecall` and
//! `RecallAtPrecision` (Keras's `SensitivitySpecificityBase`): the best value of one rate
//! among the thresholds where the other reaches a target.

use serde_json::{json, Value};

use super::confusion_matrix::{no_nan, Counts, UpdateOptions, Wanted};
use super::Metric;
use crate::{keras_bail, Result, Tensor};

/// Which pair of rates a [`RateAtRate`] metric looks at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RateAtRateKind {
    /// `keras.metrics.SensitivityAtSpecificity(specificity)`.
    SensitivityAtSpecificity,
    /// `keras.metrics.SpecificityAtSensitivity(sensitivity)`.
    SpecificityAtSensitivity,
    /// `keras.metrics.PrecisionAtRecall(recall)`.
    PrecisionAtRecall,
    /// `keras.metrics.RecallAtPrecision(precision)`.
    RecallAtPrecision,
}

impl RateAtRateKind {
    /// `(class name, default name, name of the target argument)`.
    fn names(self) -> (&'static str, &'static str, &'static str) {
        match self {
            RateAtRateKind::SensitivityAtSpecificity => {
                ("SensitivityAtSpecificity", "sensitivity_at_specificity", "specificity")
            }
            RateAtRateKind::SpecificityAtSensitivity => {
                ("SpecificityAtSensitivity", "specificity_at_sensitivity", "sensitivity")
            }
            RateAtRateKind::PrecisionAtRecall => ("PrecisionAtRecall", "precision_at_recall", "recall"),
            RateAtRateKind::RecallAtPrecision => ("RecallAtPrecision", "recall_at_precision", "precision"),
        }
    }
}

/// The four "rate at rate" metrics of Keras: with `num_thresholds` evenly spaced thresholds
/// in `[0, 1]` (`[0.5]` for one), `result()` is the largest value of the dependent rate over
/// the thresholds whose constrained rate is `>= value` (0 when none is).
///
/// ```
/// use keras::metrics::{Metric, RateAtRate, RateAtRateKind};
/// use keras::Tensor;
/// let mut m = RateAtRate::new(RateAtRateKind::PrecisionAtRecall, 0.5, 200, None).unwrap();
/// let y = Tensor::new(vec![0.0, 0.0, 1.0, 1.0], [4]).unwrap();
/// let p = Tensor::new(vec![0.0, 0.3, 0.8, 0.9], [4]).unwrap();
/// m.update_state(&y, &p, None).unwrap();
/// assert_eq!(m.result(), 1.0);
/// ```
#[derive(Clone, Debug)]
pub struct RateAtRate {
    kind: RateAtRateKind,
    name: String,
    value: f64,
    num_thresholds: usize,
    class_id: Option<usize>,
    cm: Counts,
}

impl RateAtRate {
    /// A metric of `kind` with target `value` in `[0, 1]`, `num_thresholds > 0` and an
    /// optional `class_id`.
    pub fn new(
        kind: RateAtRateKind,
        value: f64,
        num_thresholds: usize,
        class_id: Option<usize>,
    ) -> Result<Self> {
        let (_, default, arg) = kind.names();
        if !(0.0..=1.0).contains(&value) {
            keras_bail!(
                InvalidArgument,
                "Argument `{arg}` must be in the range [0, 1]. Received: {arg}={value}"
            );
        }
        if num_thresholds == 0 {
            keras_bail!(
                InvalidArgument,
                "Argument `num_thresholds` must be an integer > 0. Received: num_thresholds={num_thresholds}"
            );
        }
        let (thresholds, evenly) = if num_thresholds == 1 {
            (vec![0.5], false)
        } else {
            let n = num_thresholds;
            let mut t = vec![0.0];
            t.extend((0..n - 2).map(|i| (i + 1) as f64 / (n - 1) as f64));
            t.push(1.0);
            (t, true)
        };
        Ok(RateAtRate {
            kind,
            name: default.to_string(),
            value,
            num_thresholds,
            class_id,
            cm: Counts::new(&thresholds, evenly, 1),
        })
    }
    crate::metrics::metric_name!(builder);
    /// Which metric this is.
    pub fn kind(&self) -> RateAtRateKind {
        self.kind
    }
}

impl Metric for RateAtRate {
    crate::metrics::metric_name!();
    fn update_state(
        &mut self,
        y_true: &Tensor,
        y_pred: &Tensor,
        sample_weight: Option<&Tensor>,
    ) -> Result<()> {
        let opts = UpdateOptions { class_id: self.class_id, ..Default::default() };
        self.cm.update(y_true, y_pred, sample_weight, opts, Wanted::ALL)
    }
    fn result(&self) -> f32 {
        let c = &self.cm;
        let v = self.value as f32;
        let mut best = 0.0f32;
        for i in 0..c.thresholds.len() {
            let sens = no_nan(c.tp[i], c.tp[i] + c.fn_[i]);
            let spec = no_nan(c.tn[i], c.tn[i] + c.fp[i]);
            let prec = no_nan(c.tp[i], c.tp[i] + c.fp[i]);
            let (constrained, dependent) = match self.kind {
                RateAtRateKind::SensitivityAtSpecificity => (spec, sens),
                RateAtRateKind::SpecificityAtSensitivity => (sens, spec),
                RateAtRateKind::PrecisionAtRecall => (sens, prec),
                RateAtRateKind::RecallAtPrecision => (prec, sens),
            };
            if constrained >= v {
                best = best.max(dependent);
            }
        }
        best
    }
    fn reset_state(&mut self) {
        self.cm.reset();
    }
    fn get_config(&self) -> Value {
        let (_, _, arg) = self.kind.names();
        let mut c = json!({
            "name": self.name,
            "dtype": "float32",
            "class_id": self.class_id,
            "num_thresholds": self.num_thresholds,
        });
        c[arg] = json!(self.value);
        c
    }
    fn class_name(&self) -> &str {
        self.kind.names().0
    }
    fn variables(&self) -> Vec<(String, Tensor)> {
        let n = self.cm.thresholds.len();
        let t = |v: &[f32]| Tensor::new(v.to_vec(), vec![n]).unwrap_or_else(|_| Tensor::scalar(0.0));
        vec![
            ("true_positives".into(), t(&self.cm.tp)),
            ("false_positives".into(), t(&self.cm.fp)),
            ("true_negatives".into(), t(&self.cm.tn)),
            ("false_negatives".into(), t(&self.cm.fn_)),
        ]
    }
}
