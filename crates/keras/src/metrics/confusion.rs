//! Threshold metrics over confusion counts: `Precision`, `Recall` (thresholds / `top_k` /
//! `class_id`) and `TruePositives`, `FalsePositives`, `TrueNegatives`, `FalseNegatives`.

use serde_json::{json, Value};

use super::confusion_matrix::{evenly_distributed, no_nan, Counts, UpdateOptions, Wanted, NEG_INF};
use super::Metric;
use crate::{keras_bail, Result, Tensor};

/// Keras `assert_thresholds_range`: every threshold in `[0, 1]`.
pub(crate) fn check_thresholds(thresholds: &[f64]) -> Result<()> {
    let bad: Vec<f64> = thresholds.iter().copied().filter(|x| !(0.0..=1.0).contains(x)).collect();
    if !bad.is_empty() {
        keras_bail!(InvalidArgument, "Threshold values must be in [0, 1]. Received: {bad:?}");
    }
    Ok(())
}

/// The config value of `thresholds` as given (`null`, a number or a list).
pub(crate) fn thresholds_config(t: &Option<Vec<f64>>, scalar: bool) -> Value {
    match t {
        None => Value::Null,
        Some(v) if scalar && v.len() == 1 => json!(v[0]),
        Some(v) => json!(v),
    }
}

/// Thresholds from a config value: `null`, a number, or a list of numbers.
pub(crate) fn thresholds_from_config(v: Option<&Value>) -> Result<(Option<Vec<f64>>, bool)> {
    match v {
        None | Some(Value::Null) => Ok((None, false)),
        Some(Value::Number(n)) => Ok((Some(vec![n.as_f64().unwrap_or(f64::NAN)]), true)),
        Some(Value::Array(a)) => {
            let t: Option<Vec<f64>> = a.iter().map(Value::as_f64).collect();
            match t {
                Some(t) => Ok((Some(t), false)),
                None => {
                    keras_bail!(Config, "`thresholds` must be numbers, received {}", Value::Array(a.clone()))
                }
            }
        }
        Some(other) => keras_bail!(Config, "`thresholds` must be a number or a list, received {other}"),
    }
}

macro_rules! precision_recall {
    ($(#[$doc:meta])* $Name:ident, $default:expr, $num:ident, $den:ident, $den_fn:ident, $den_name:expr, $den_doc:expr) => {
        $(#[$doc])*
        #[derive(Clone, Debug)]
        pub struct $Name {
            name: String,
            init_thresholds: Option<Vec<f64>>,
            scalar_threshold: bool,
            top_k: Option<usize>,
            class_id: Option<usize>,
            cm: Counts,
        }

        impl $Name {
            /// `thresholds` (default 0.5, or none with `top_k`), `top_k`, `class_id`, as
            /// Keras. Thresholds must lie in `[0, 1]`.
            pub fn new(
                thresholds: Option<Vec<f64>>,
                top_k: Option<usize>,
                class_id: Option<usize>,
            ) -> Result<Self> {
                if let Some(t) = &thresholds {
                    check_thresholds(t)?;
                }
                let th: Vec<f64> = match &thresholds {
                    Some(v) => v.clone(),
                    None if top_k.is_some() => vec![NEG_INF as f64],
                    None => vec![0.5],
                };
                let evenly = evenly_distributed(&th);
                Ok($Name {
                    name: $default.to_string(),
                    scalar_threshold: thresholds.as_ref().is_some_and(|t| t.len() == 1),
                    init_thresholds: thresholds,
                    top_k,
                    class_id,
                    cm: Counts::new(&th, evenly, 1),
                })
            }
            crate::metrics::metric_name!(builder);
            /// The thresholds the predictions are compared with (`y_pred > threshold`).
            pub fn thresholds(&self) -> &[f32] {
                &self.cm.thresholds
            }
            /// The accumulated true positives, one per threshold (Keras `true_positives`).
            pub fn true_positives(&self) -> &[f32] {
                &self.cm.tp
            }
            #[doc = $den_doc]
            pub fn $den_fn(&self) -> &[f32] {
                &self.cm.$den
            }
        }

        impl Metric for $Name {
            crate::metrics::metric_name!();
            fn update_state(
                &mut self,
                y_true: &Tensor,
                y_pred: &Tensor,
                sample_weight: Option<&Tensor>,
            ) -> Result<()> {
                let opts = UpdateOptions { top_k: self.top_k, class_id: self.class_id, ..Default::default() };
                self.cm.update(y_true, y_pred, sample_weight, opts, Wanted::ALL)
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
                    "thresholds": thresholds_config(&self.init_thresholds, self.scalar_threshold),
                    "top_k": self.top_k,
                    "class_id": self.class_id,
                })
            }
            fn class_name(&self) -> &str {
                stringify!($Name)
            }
            fn variables(&self) -> Vec<(String, Tensor)> {
                let n = self.cm.thresholds.len();
                vec![
                    ("true_positives".into(), Tensor::new(self.cm.tp.clone(), vec![n]).unwrap_or_else(|_| Tensor::scalar(0.0))),
                    ($den_name.into(), Tensor::new(self.cm.$den.clone(), vec![n]).unwrap_or_else(|_| Tensor::scalar(0.0))),
                ]
            }
        }
    };
}

precision_recall!(
    /// `keras.metrics.Precision`: `tp / (tp + fp)` with strict `y_pred > threshold`.
    ///
    /// ```
    /// use keras::metrics::{Metric, Precision};
    /// use keras::Tensor;
    /// let mut m = Precision::new(None, None, None).unwrap();
    /// let y = Tensor::new(vec![0.0, 1.0, 1.0, 1.0], [4]).unwrap();
    /// let p = Tensor::new(vec![1.0, 0.0, 1.0, 1.0], [4]).unwrap();
    /// m.update_state(&y, &p, None).unwrap();
    /// assert_eq!((m.true_positives(), m.false_positives()), (&[2.0][..], &[1.0][..]));
    /// assert!((m.result() - 2.0 / 3.0).abs() < 1e-6);
    /// ```
    Precision,
    "precision",
    tp,
    fp,
    false_positives,
    "false_positives",
    "The accumulated false positives, one per threshold (Keras `false_positives`)."
);
precision_recall!(
    /// `keras.metrics.Recall`: `tp / (tp + fn)` with strict `y_pred > threshold`.
    Recall,
    "recall",
    tp,
    fn_,
    false_negatives,
    "false_negatives",
    "The accumulated false negatives, one per threshold (Keras `false_negatives`)."
);

/// Which count a [`ConfusionCount`] metric accumulates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfusionKind {
    /// `keras.metrics.TruePositives`.
    TruePositives,
    /// `keras.metrics.FalsePositives`.
    FalsePositives,
    /// `keras.metrics.TrueNegatives`.
    TrueNegatives,
    /// `keras.metrics.FalseNegatives`.
    FalseNegatives,
}

impl ConfusionKind {
    fn names(self) -> (&'static str, &'static str) {
        match self {
            ConfusionKind::TruePositives => ("TruePositives", "true_positives"),
            ConfusionKind::FalsePositives => ("FalsePositives", "false_positives"),
            ConfusionKind::TrueNegatives => ("TrueNegatives", "true_negatives"),
            ConfusionKind::FalseNegatives => ("FalseNegatives", "false_negatives"),
        }
    }
}

/// `keras.metrics.TruePositives` / `FalsePositives` / `TrueNegatives` / `FalseNegatives`
/// (`thresholds=None`: 0.5): the weighted count at each threshold; `result()` is the count at
/// the first threshold, [`Metric::results`] every one.
///
/// ```
/// use keras::metrics::{ConfusionCount, Metric};
/// use keras::Tensor;
/// let mut m = ConfusionCount::false_negatives(Some(vec![0.3, 0.6])).unwrap();
/// let y = Tensor::new(vec![1.0, 1.0, 0.0], [3]).unwrap();
/// let p = Tensor::new(vec![0.5, 0.2, 0.9], [3]).unwrap();
/// m.update_state(&y, &p, None).unwrap();
/// assert_eq!(m.results(), vec![1.0, 2.0]);
/// ```
#[derive(Clone, Debug)]
pub struct ConfusionCount {
    kind: ConfusionKind,
    name: String,
    init_thresholds: Option<Vec<f64>>,
    scalar_threshold: bool,
    cm: Counts,
}

impl ConfusionCount {
    /// A count metric of `kind` at `thresholds` (each in `[0, 1]`; default 0.5).
    pub fn new(kind: ConfusionKind, thresholds: Option<Vec<f64>>) -> Result<Self> {
        if let Some(t) = &thresholds {
            check_thresholds(t)?;
        }
        let th = thresholds.clone().unwrap_or_else(|| vec![0.5]);
        let evenly = evenly_distributed(&th);
        Ok(ConfusionCount {
            kind,
            name: kind.names().1.to_string(),
            scalar_threshold: thresholds.as_ref().is_some_and(|t| t.len() == 1),
            init_thresholds: thresholds,
            cm: Counts::new(&th, evenly, 1),
        })
    }
    /// `keras.metrics.TruePositives(thresholds)`.
    pub fn true_positives(thresholds: Option<Vec<f64>>) -> Result<Self> {
        Self::new(ConfusionKind::TruePositives, thresholds)
    }
    /// `keras.metrics.FalsePositives(thresholds)`.
    pub fn false_positives(thresholds: Option<Vec<f64>>) -> Result<Self> {
        Self::new(ConfusionKind::FalsePositives, thresholds)
    }
    /// `keras.metrics.TrueNegatives(thresholds)`.
    pub fn true_negatives(thresholds: Option<Vec<f64>>) -> Result<Self> {
        Self::new(ConfusionKind::TrueNegatives, thresholds)
    }
    /// `keras.metrics.FalseNegatives(thresholds)`.
    pub fn false_negatives(thresholds: Option<Vec<f64>>) -> Result<Self> {
        Self::new(ConfusionKind::FalseNegatives, thresholds)
    }
    crate::metrics::metric_name!(builder);
    /// Which count this is.
    pub fn kind(&self) -> ConfusionKind {
        self.kind
    }
    fn counts(&self) -> &[f32] {
        match self.kind {
            ConfusionKind::TruePositives => &self.cm.tp,
            ConfusionKind::FalsePositives => &self.cm.fp,
            ConfusionKind::TrueNegatives => &self.cm.tn,
            ConfusionKind::FalseNegatives => &self.cm.fn_,
        }
    }
}

impl Metric for ConfusionCount {
    crate::metrics::metric_name!();
    fn update_state(
        &mut self,
        y_true: &Tensor,
        y_pred: &Tensor,
        sample_weight: Option<&Tensor>,
    ) -> Result<()> {
        self.cm.update(y_true, y_pred, sample_weight, UpdateOptions::default(), Wanted::ALL)
    }
    fn result(&self) -> f32 {
        self.counts()[0]
    }
    fn results(&self) -> Vec<f32> {
        self.counts().to_vec()
    }
    fn reset_state(&mut self) {
        self.cm.reset();
    }
    fn get_config(&self) -> Value {
        json!({
            "name": self.name,
            "dtype": "float32",
            "thresholds": thresholds_config(&self.init_thresholds, self.scalar_threshold),
        })
    }
    fn class_name(&self) -> &str {
        self.kind.names().0
    }
    fn variables(&self) -> Vec<(String, Tensor)> {
        let c = self.counts().to_vec();
        let n = c.len();
        vec![("accumulator".into(), Tensor::new(c, vec![n]).unwrap_or_else(|_| Tensor::scalar(0.0)))]
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
        assert!(ConfusionCount::true_negatives(Some(vec![1.2])).is_err());
    }
}
