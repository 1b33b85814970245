//! `keras.metrics.R2Score`: the coefficient of determination, accumulated over batches.

use serde_json::{json, Value};

use super::confusion_matrix::squeeze_or_expand;
use super::mean::{broadcast_to, fmt_shape};
use super::Metric;
use crate::{keras_bail, Result, Tensor};

/// How [`R2Score`] combines the scores of several outputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum R2Aggregation {
    /// One score per output ([`Metric::results`]); `result()` is their mean.
    None,
    /// The mean of the per-output scores (Keras's default).
    UniformAverage,
    /// The per-output scores weighted by each output's variance.
    VarianceWeightedAverage,
}

impl R2Aggregation {
    /// Parses Keras's `class_aggregation` (`None`, `"uniform_average"`,
    /// `"variance_weighted_average"`).
    pub fn parse(v: Option<&str>) -> Result<Self> {
        Ok(match v {
            None => R2Aggregation::None,
            Some("uniform_average") => R2Aggregation::UniformAverage,
            Some("variance_weighted_average") => R2Aggregation::VarianceWeightedAverage,
            Some(other) => keras_bail!(
                InvalidArgument,
                "Invalid value for argument `class_aggregation`. Expected one of (None, \
                 'uniform_average', 'variance_weighted_average'). Received: class_aggregation={other}"
            ),
        })
    }
    fn to_config(self) -> Value {
        match self {
            R2Aggregation::None => Value::Null,
            R2Aggregation::UniformAverage => json!("uniform_average"),
            R2Aggregation::VarianceWeightedAverage => json!("variance_weighted_average"),
        }
    }
}

/// `keras.metrics.R2Score(class_aggregation="uniform_average", num_regressors=0)`: `y_true`
/// and `y_pred` are `(batch, outputs)`; with `num_regressors > 0`, the adjusted score.
///
/// ```
/// use keras::metrics::{Metric, R2Score};
/// use keras::Tensor;
/// let mut m = R2Score::new();
/// let y = Tensor::new(vec![1.0, 2.0, 3.0, 4.0], [4, 1]).unwrap();
/// m.update_state(&y, &y, None).unwrap();
/// assert_eq!(m.result(), 1.0);
/// ```
#[derive(Clone, Debug)]
pub struct R2Score {
    name: String,
    class_aggregation: R2Aggregation,
    num_regressors: usize,
    num_samples: f32,
    squared_sum: Vec<f32>,
    sum: Vec<f32>,
    residual: Vec<f32>,
    count: Vec<f32>,
}

impl Default for R2Score {
    fn default() -> Self {
        Self::new()
    }
}

impl R2Score {
    /// Keras defaults.
    pub fn new() -> Self {
        R2Score {
            name: "r2_score".into(),
            class_aggregation: R2Aggregation::UniformAverage,
            num_regressors: 0,
            num_samples: 0.0,
            squared_sum: Vec::new(),
            sum: Vec::new(),
            residual: Vec::new(),
            count: Vec::new(),
        }
    }
    crate::setters::setters! {
        /// Sets `class_aggregation`.
        class_aggregation: R2Aggregation,
        /// Sets `num_regressors` (independent variables, for the adjusted score).
        num_regressors: usize,
    }
    crate::metrics::metric_name!(builder);

    fn raw_scores(&self) -> Vec<f32> {
        (0..self.sum.len())
            .map(|i| {
                let mean = self.sum[i] / self.count[i];
                let total = self.squared_sum[i] - self.sum[i] * mean;
                let s = 1.0 - self.residual[i] / total;
                if s.is_infinite() {
                    0.0
                } else {
                    s
                }
            })
            .collect()
    }

    fn adjust(&self, r2: f32) -> f32 {
        let p = self.num_regressors as f32;
        let n = self.num_samples;
        if self.num_regressors == 0 || p >= n - 1.0 {
            // Keras warns and falls back to the plain score.
            return r2;
        }
        1.0 - (1.0 - r2) * (n - 1.0) / (n - p - 1.0)
    }
}

impl Metric for R2Score {
    crate::metrics::metric_name!();
    fn update_state(
        &mut self,
        y_true: &Tensor,
        y_pred: &Tensor,
        sample_weight: Option<&Tensor>,
    ) -> Result<()> {
        let (ts, ps) = squeeze_or_expand(y_true.shape(), y_pred.shape(), true);
        if ts.len() != 2 || ps.len() != 2 {
            keras_bail!(
                Shape,
                "R2Score expects 2D inputs with shape (batch_size, output_dim). Received input shapes: \
                 y_pred.shape={} and y_true.shape={}.",
                fmt_shape(&ps),
                fmt_shape(&ts)
            );
        }
        if ts != ps {
            keras_bail!(
                Shape,
                "Incompatible shapes: y_true.shape={} and y_pred.shape={}",
                fmt_shape(&ts),
                fmt_shape(&ps)
            );
        }
        let d = ps[1];
        if self.sum.is_empty() {
            self.squared_sum = vec![0.0; d];
            self.sum = vec![0.0; d];
            self.residual = vec![0.0; d];
            self.count = vec![0.0; d];
        } else if self.sum.len() != d {
            keras_bail!(
                Shape,
                "R2Score was built for {} outputs and received y_pred.shape={}",
                self.sum.len(),
                fmt_shape(&ps)
            );
        }
        let t = y_true.to_f32_vec();
        let p = y_pred.to_f32_vec();
        let w = match sample_weight {
            None => vec![1.0; t.len()],
            Some(sw) => {
                let mut s = sw.shape().to_vec();
                if s.len() == 1 {
                    s.push(1);
                }
                broadcast_to(&sw.to_f32_vec(), &s, &ts)?
            }
        };
        for j in 0..d {
            let (mut s, mut sq, mut res, mut c) = (0.0f32, 0.0f32, 0.0f32, 0.0f32);
            for b in 0..ts[0] {
                let k = b * d + j;
                let wt = t[k] * w[k];
                s += wt;
                sq += t[k] * wt;
                res += (t[k] - p[k]) * (t[k] - p[k]) * w[k];
                c += w[k];
            }
            self.sum[j] += s;
            self.squared_sum[j] += sq;
            self.residual[j] += res;
            self.count[j] += c;
        }
        // Keras counts elements, not rows.
        self.num_samples += t.len() as f32;
        Ok(())
    }
    fn result(&self) -> f32 {
        if self.sum.is_empty() {
            return f32::NAN;
        }
        let raw = self.raw_scores();
        let r2 = match self.class_aggregation {
            R2Aggregation::None | R2Aggregation::UniformAverage => raw.iter().sum::<f32>() / raw.len() as f32,
            R2Aggregation::VarianceWeightedAverage => {
                let totals: Vec<f32> = (0..raw.len())
                    .map(|i| self.squared_sum[i] - self.sum[i] * (self.sum[i] / self.count[i]))
                    .collect();
                let num: f32 = totals.iter().zip(&raw).map(|(a, b)| a * b).sum();
                num / totals.iter().sum::<f32>()
            }
        };
        self.adjust(r2)
    }
    fn results(&self) -> Vec<f32> {
        match self.class_aggregation {
            R2Aggregation::None if !self.sum.is_empty() => {
                self.raw_scores().into_iter().map(|r| self.adjust(r)).collect()
            }
            _ => vec![self.result()],
        }
    }
    fn reset_state(&mut self) {
        self.num_samples = 0.0;
        for v in [&mut self.squared_sum, &mut self.sum, &mut self.residual, &mut self.count] {
            v.iter_mut().for_each(|x| *x = 0.0);
        }
    }
    fn get_config(&self) -> Value {
        json!({
            "name": self.name,
            "dtype": "float32",
            "class_aggregation": self.class_aggregation.to_config(),
            "num_regressors": self.num_regressors,
        })
    }
    fn class_name(&self) -> &str {
        "R2Score"
    }
    fn variables(&self) -> Vec<(String, Tensor)> {
        let d = self.sum.len();
        let t = |v: &[f32]| Tensor::new(v.to_vec(), vec![d]).unwrap_or_else(|_| Tensor::scalar(0.0));
        let mut out = vec![("num_samples".to_string(), Tensor::scalar(self.num_samples))];
        if d > 0 {
            out.push(("squared_sum".into(), t(&self.squared_sum)));
            out.push(("sum".into(), t(&self.sum)));
            out.push(("residual".into(), t(&self.residual)));
            out.push(("count".into(), t(&self.count)));
        }
        out
    }
}
