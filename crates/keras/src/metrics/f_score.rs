//! `FBetaScore` and `F1Score` (keras/src/metrics/f_score_metrics.py).

use serde_json::{json, Value};

use super::Metric;
use crate::{keras_bail, Error, Result, Tensor};

/// Keras's `backend.epsilon()`.
const EPSILON: f32 = 1e-7;

/// How per-class scores are combined.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FScoreAverage {
    /// One score per class ([`Metric::results`]); `result()` is their mean.
    None,
    /// Counts pooled over classes first.
    Micro,
    /// Unweighted mean of the per-class scores.
    Macro,
    /// Mean of the per-class scores weighted by each class's true count.
    Weighted,
}

impl FScoreAverage {
    fn to_config(self) -> Value {
        match self {
            FScoreAverage::None => Value::Null,
            FScoreAverage::Micro => json!("micro"),
            FScoreAverage::Macro => json!("macro"),
            FScoreAverage::Weighted => json!("weighted"),
        }
    }

    /// Parses Keras's `average` argument (`None`, "micro", "macro", "weighted").
    pub fn parse(v: Option<&str>) -> Result<Self> {
        Ok(match v {
            None => FScoreAverage::None,
            Some("micro") => FScoreAverage::Micro,
            Some("macro") => FScoreAverage::Macro,
            Some("weighted") => FScoreAverage::Weighted,
            Some(other) => keras_bail!(
                InvalidArgument,
                "Invalid `average` argument value. Expected one of: {{None, 'micro', 'macro', 'weighted'}}. Received: average={other}"
            ),
        })
    }
}

/// Keras `keras.metrics.FBetaScore`: `(1 + beta^2) * P * R / (beta^2 * P + R)` from
/// per-class true/false positive and false negative counts. Predictions are binarised with
/// `threshold` (`y_pred > threshold`), or, without one, the largest score of each row wins.
///
/// ```
/// use keras::metrics::{FBetaScore, FScoreAverage, Metric};
/// let mut f = FBetaScore::new(FScoreAverage::Macro, 1.0, Some(0.5)).unwrap();
/// let y = keras::Tensor::new(vec![1.0, 0.0, 0.0, 1.0], [2, 2]).unwrap();
/// f.update_state(&y, &y, None).unwrap();
/// assert!((f.result() - 1.0).abs() < 1e-5);
/// ```
#[derive(Clone, Debug)]
pub struct FBetaScore {
    name: String,
    class: &'static str,
    average: FScoreAverage,
    beta: f32,
    threshold: Option<f32>,
    tp: Vec<f32>,
    fp: Vec<f32>,
    fn_: Vec<f32>,
    weights: Vec<f32>,
}

impl FBetaScore {
    /// An F-beta score; `beta > 0`, `threshold` in `(0, 1]` when given.
    pub fn new(average: FScoreAverage, beta: f32, threshold: Option<f32>) -> Result<Self> {
        if beta.is_nan() || beta <= 0.0 {
            keras_bail!(InvalidArgument, "`beta` should be a positive float. Received: beta={beta}");
        }
        if let Some(t) = threshold {
            if !(t > 0.0 && t <= 1.0) {
                keras_bail!(
                    InvalidArgument,
                    "`threshold` should be a float in the range (0, 1]. Received: threshold={t}"
                );
            }
        }
        Ok(FBetaScore {
            name: "fbeta_score".into(),
            class: "FBetaScore",
            average,
            beta,
            threshold,
            tp: Vec::new(),
            fp: Vec::new(),
            fn_: Vec::new(),
            weights: Vec::new(),
        })
    }

    /// Per-class (or pooled) F-beta values before averaging.
    fn per_class(&self) -> Vec<f32> {
        let b2 = self.beta * self.beta;
        let pooled = |v: &[f32]| v.iter().sum::<f32>();
        let (tp, fp, fn_): (Vec<f32>, Vec<f32>, Vec<f32>) = if self.average == FScoreAverage::Micro {
            (vec![pooled(&self.tp)], vec![pooled(&self.fp)], vec![pooled(&self.fn_)])
        } else {
            (self.tp.clone(), self.fp.clone(), self.fn_.clone())
        };
        tp.iter()
            .zip(&fp)
            .zip(&fn_)
            .map(|((&tp, &fp), &fn_)| {
                let p = tp / (tp + fp + EPSILON);
                let r = tp / (tp + fn_ + EPSILON);
                p * r / (b2 * p + r + EPSILON) * (1.0 + b2)
            })
            .collect()
    }
}

/// Keras `keras.metrics.F1Score`: [`FBetaScore`] with `beta = 1`.
pub struct F1Score;

impl F1Score {
    /// An F1 score (name `f1_score`).
    #[allow(clippy::new_ret_no_self)]
    pub fn new(average: FScoreAverage, threshold: Option<f32>) -> Result<FBetaScore> {
        let mut f = FBetaScore::new(average, 1.0, threshold)?;
        f.name = "f1_score".into();
        f.class = "F1Score";
        Ok(f)
    }
}

impl Metric for FBetaScore {
    crate::metrics::metric_name!();

    fn update_state(
        &mut self,
        y_true: &Tensor,
        y_pred: &Tensor,
        sample_weight: Option<&Tensor>,
    ) -> Result<()> {
        if y_true.shape() != y_pred.shape() || y_pred.rank() != 2 {
            keras_bail!(
                Shape,
                "{}: y_true and y_pred must both have shape (batch, num_classes). Received: y_true.shape={:?}, y_pred.shape={:?}",
                self.class,
                y_true.shape(),
                y_pred.shape()
            );
        }
        let (n, c) = (y_pred.shape()[0], y_pred.shape()[1]);
        if self.tp.is_empty() {
            self.tp = vec![0.0; c];
            self.fp = vec![0.0; c];
            self.fn_ = vec![0.0; c];
            self.weights = vec![0.0; c];
        } else if self.tp.len() != c {
            keras_bail!(Shape, "{}: expected {} classes, received {c}", self.class, self.tp.len());
        }
        let sw = match sample_weight {
            Some(w) => {
                let w = w.to_f32_vec();
                if w.len() != n {
                    return Err(Error::Shape(format!(
                        "{}: sample_weight must have one value per sample ({n}), received shape {:?}",
                        self.class,
                        sample_weight.map(|t| t.shape().to_vec()).unwrap_or_default()
                    )));
                }
                Some(w)
            }
            None => None,
        };
        let (yt, yp) = (y_true.to_f32_vec(), y_pred.to_f32_vec());
        for i in 0..n {
            let row = &yp[i * c..(i + 1) * c];
            let max = row.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
            let w = sw.as_ref().map(|w| w[i]).unwrap_or(1.0);
            for j in 0..c {
                let p = match self.threshold {
                    Some(t) => (row[j] > t) as u8 as f32,
                    None => (row[j] >= max && row[j].abs() > 1e-9) as u8 as f32,
                };
                let t = yt[i * c + j];
                self.tp[j] += w * p * t;
                self.fp[j] += w * p * (1.0 - t);
                self.fn_[j] += w * (1.0 - p) * t;
                self.weights[j] += w * t;
            }
        }
        Ok(())
    }

    fn result(&self) -> f32 {
        if self.tp.is_empty() {
            return 0.0;
        }
        let f = self.per_class();
        match self.average {
            FScoreAverage::Weighted => {
                let total: f32 = self.weights.iter().sum::<f32>() + EPSILON;
                f.iter().zip(&self.weights).map(|(s, w)| s * w / total).sum()
            }
            _ => f.iter().sum::<f32>() / f.len() as f32,
        }
    }

    fn results(&self) -> Vec<f32> {
        if self.average == FScoreAverage::None && !self.tp.is_empty() {
            self.per_class()
        } else {
            vec![self.result()]
        }
    }

    fn reset_state(&mut self) {
        for v in [&mut self.tp, &mut self.fp, &mut self.fn_, &mut self.weights] {
            v.iter_mut().for_each(|x| *x = 0.0);
        }
    }

    fn get_config(&self) -> Value {
        let mut m = serde_json::Map::new();
        m.insert("name".into(), json!(self.name));
        m.insert("dtype".into(), json!("float32"));
        if self.class == "FBetaScore" {
            m.insert("beta".into(), json!(self.beta as f64));
        }
        m.insert("average".into(), self.average.to_config());
        m.insert("threshold".into(), self.threshold.map(|t| json!(t as f64)).unwrap_or(Value::Null));
        Value::Object(m)
    }

    fn class_name(&self) -> &str {
        self.class
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(v: Vec<f32>, s: [usize; 2]) -> Tensor {
        Tensor::new(v, s).unwrap()
    }

    #[test]
    fn per_class_and_averages_match_hand_computation() {
        // 3 classes; argmax binarisation (no threshold).
        let y_true = t(vec![1., 0., 0., 0., 1., 0., 0., 0., 1., 1., 0., 0.], [4, 3]);
        let y_pred = t(vec![0.8, 0.1, 0.1, 0.2, 0.3, 0.5, 0.1, 0.1, 0.8, 0.3, 0.6, 0.1], [4, 3]);
        // Predicted classes: 0, 2, 2, 1. tp=[1,0,1] fp=[0,1,1] fn=[1,1,0].
        let f1 = |p: f32, r: f32| if p + r == 0.0 { 0.0 } else { 2.0 * p * r / (p + r) };
        let want = [f1(1.0, 0.5), 0.0, f1(0.5, 1.0)];
        let mut m = F1Score::new(FScoreAverage::None, None).unwrap();
        m.update_state(&y_true, &y_pred, None).unwrap();
        for (g, w) in m.results().iter().zip(want) {
            assert!((g - w).abs() < 1e-5, "{g} vs {w}");
        }
        let mut macro_ = F1Score::new(FScoreAverage::Macro, None).unwrap();
        macro_.update_state(&y_true, &y_pred, None).unwrap();
        assert!((macro_.result() - want.iter().sum::<f32>() / 3.0).abs() < 1e-5);
        let mut weighted = F1Score::new(FScoreAverage::Weighted, None).unwrap();
        weighted.update_state(&y_true, &y_pred, None).unwrap();
        let support = [2.0, 1.0, 1.0];
        let w: f32 = want.iter().zip(support).map(|(f, s)| f * s).sum::<f32>() / 4.0;
        assert!((weighted.result() - w).abs() < 1e-5);
        let mut micro = F1Score::new(FScoreAverage::Micro, None).unwrap();
        micro.update_state(&y_true, &y_pred, None).unwrap();
        // Pooled: tp=2, fp=2, fn=2 -> P = R = 0.5.
        assert!((micro.result() - 0.5).abs() < 1e-5);
    }

    #[test]
    fn beta_threshold_weights_and_batches_accumulate() {
        let mut m = FBetaScore::new(FScoreAverage::Micro, 2.0, Some(0.5)).unwrap();
        let y_true = t(vec![1., 0., 1., 1.], [2, 2]);
        m.update_state(&y_true, &t(vec![0.9, 0.6, 0.4, 0.7], [2, 2]), None).unwrap();
        // tp=2 (0,0),(1,1); fp=1 (0,1); fn=1 (1,0): P=2/3, R=2/3.
        let fb = |p: f32, r: f32| 5.0 * p * r / (4.0 * p + r);
        assert!((m.result() - fb(2.0 / 3.0, 2.0 / 3.0)).abs() < 1e-5);
        // A second batch weighted 2: one more true positive.
        let w = Tensor::new(vec![2.0], [1]).unwrap();
        m.update_state(&t(vec![1., 0.], [1, 2]), &t(vec![0.8, 0.1], [1, 2]), Some(&w)).unwrap();
        let (p, r) = (4.0 / 5.0, 4.0 / 5.0);
        assert!((m.result() - fb(p, r)).abs() < 1e-5);
        m.reset_state();
        assert_eq!(m.result(), 0.0);
    }

    #[test]
    fn configs_and_errors() {
        let f1 = F1Score::new(FScoreAverage::Macro, Some(0.5)).unwrap();
        assert_eq!(
            f1.get_config(),
            json!({"name": "f1_score", "dtype": "float32", "average": "macro", "threshold": 0.5})
        );
        assert_eq!(f1.class_name(), "F1Score");
        let fb = FBetaScore::new(FScoreAverage::None, 0.5, None).unwrap();
        assert_eq!(fb.get_config()["beta"], json!(0.5));
        assert!(FBetaScore::new(FScoreAverage::None, 0.0, None).is_err());
        assert!(FBetaScore::new(FScoreAverage::None, 1.0, Some(1.5)).is_err());
        assert!(FScoreAverage::parse(Some("mean")).is_err());
        let mut m = F1Score::new(FScoreAverage::None, None).unwrap();
        assert!(m.update_state(&t(vec![1., 0.], [1, 2]), &t(vec![1., 0., 0.], [1, 3]), None).is_err());
    }
}
