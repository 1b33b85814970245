//! `RootMeanSquaredError` and `Sum`, accumulated as Keras's reduction metrics.

use serde_json::{json, Value};

use super::mean::{broadcast_pair, broadcast_to, squeeze_or_expand_shapes, Mean};
use super::Metric;
use crate::{Result, Tensor};

/// `keras.metrics.RootMeanSquaredError`: a `Mean` of the element-wise squared errors;
/// the result is `sqrt(total / count)`.
#[derive(Clone, Debug)]
pub struct RootMeanSquaredError {
    mean: Mean,
}

impl Default for RootMeanSquaredError {
    fn default() -> Self {
        Self::new()
    }
}

impl RootMeanSquaredError {
    /// The metric with Keras's default name `root_mean_squared_error`.
    pub fn new() -> RootMeanSquaredError {
        RootMeanSquaredError { mean: Mean::new("root_mean_squared_error") }
    }
    /// Renames the metric.
    pub fn with_name(mut self, name: &str) -> Self {
        self.mean = Mean::new(name);
        self
    }
    /// `(total, count)` of the squared errors.
    pub fn state(&self) -> (f32, f32) {
        self.mean.state()
    }
}

impl Metric for RootMeanSquaredError {
    fn name(&self) -> &str {
        self.mean.name()
    }
    fn update_state(
        &mut self,
        y_true: &Tensor,
        y_pred: &Tensor,
        sample_weight: Option<&Tensor>,
    ) -> Result<()> {
        let (t, p, shape) = broadcast_pair(&y_true.detach(), &y_pred.detach())?;
        let sq: Vec<f32> = t.iter().zip(&p).map(|(a, b)| (b - a) * (b - a)).collect();
        self.mean.update_state_values(&Tensor::new(sq, shape)?, sample_weight)
    }
    fn result(&self) -> f32 {
        self.mean.result().sqrt()
    }
    fn reset_state(&mut self) {
        self.mean.reset_state();
    }
    fn get_config(&self) -> Value {
        json!({"name": self.mean.name(), "dtype": "float32"})
    }
    fn class_name(&self) -> &str {
        "RootMeanSquaredError"
    }
    fn set_name(&mut self, name: &str) {
        self.mean.set_name(name);
    }
}

/// `keras.metrics.Sum`: the weighted sum of all values seen. As with [`Mean`], `y_true`
/// holds the values and `y_pred` is ignored.
#[derive(Clone, Debug)]
pub struct Sum {
    name: String,
    total: f32,
}

impl Default for Sum {
    fn default() -> Self {
        Self::new()
    }
}

impl Sum {
    /// The metric with Keras's default name `sum`.
    pub fn new() -> Sum {
        Sum { name: "sum".into(), total: 0.0 }
    }
    crate::metrics::metric_name!(builder);
    /// Keras `Sum.update_state(values, sample_weight)`: values are summed down to the
    /// weights' rank, multiplied by the (broadcast) weights and added to the total.
    pub fn update_state_values(&mut self, values: &Tensor, sample_weight: Option<&Tensor>) -> Result<()> {
        let v = values.to_f32_vec();
        let add: f32 = match sample_weight {
            None => v.iter().sum(),
            Some(sw) => {
                let (vs, ws) = squeeze_or_expand_shapes(values.shape(), sw.shape());
                let keep = ws.len().min(vs.len());
                let inner: usize = vs[keep..].iter().product();
                let rshape = vs[..keep].to_vec();
                let reduced: Vec<f32> = if inner == 0 {
                    vec![0.0; rshape.iter().product()]
                } else {
                    v.chunks(inner).map(|c| c.iter().sum()).collect()
                };
                let wb = broadcast_to(&sw.to_f32_vec(), &ws, &rshape)?;
                reduced.iter().zip(&wb).map(|(a, b)| a * b).sum()
            }
        };
        self.total += add;
        Ok(())
    }
}

impl Metric for Sum {
    crate::metrics::metric_name!();
    crate::metrics::values_update_state!();
    fn result(&self) -> f32 {
        self.total
    }
    fn reset_state(&mut self) {
        self.total = 0.0;
    }
    fn get_config(&self) -> Value {
        json!({"name": self.name, "dtype": "float32"})
    }
    fn class_name(&self) -> &str {
        "Sum"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics;
    use crate::test_util::t;

    #[test]
    fn rmse_accumulates_total_over_count() {
        let mut m = metrics::get("root_mean_squared_error").unwrap();
        assert_eq!((m.name(), m.class_name()), ("root_mean_squared_error", "RootMeanSquaredError"));
        // squared errors [[0, 1], [4, 0]]: per-sample means 0.5, 2 -> total 2.5, count 2
        m.update_state(&t(vec![0.0, 1.0, 2.0, 3.0], &[2, 2]), &t(vec![0.0, 2.0, 0.0, 3.0], &[2, 2]), None)
            .unwrap();
        assert!((m.result() - 1.25f32.sqrt()).abs() < 1e-6);
        // weighted: squared errors [9, 1] (y_true (2,1) vs y_pred (2,)), weights [2, 0]
        m.update_state(&t(vec![3.0, 1.0], &[2, 1]), &t(vec![0.0, 0.0], &[2]), Some(&t(vec![2.0, 0.0], &[2])))
            .unwrap();
        // total 2.5 + 18 = 20.5, count 2 + 2 = 4
        assert!((m.result() - (20.5f32 / 4.0).sqrt()).abs() < 1e-6);
        m.update_state(&t(vec![1.0], &[1]), &t(vec![2.0], &[1]), None).unwrap();
        assert!((m.result() - (21.5f32 / 5.0).sqrt()).abs() < 1e-6);
        assert_eq!(m.get_config(), json!({"name": "root_mean_squared_error", "dtype": "float32"}));
        m.reset_state();
        assert_eq!(m.result(), 0.0);
        assert!(get_err(&mut *m));
    }

    fn get_err(m: &mut dyn Metric) -> bool {
        m.update_state(&t(vec![1.0, 2.0], &[2]), &t(vec![1.0, 2.0, 3.0], &[3]), None).is_err()
    }

    #[test]
    fn sum_is_weighted_sum() {
        let mut m = metrics::get("Sum").unwrap();
        assert_eq!((m.name(), m.class_name()), ("sum", "Sum"));
        let dummy = t(vec![0.0], &[1]);
        m.update_state(&t(vec![1.0, 3.0, 5.0, 7.0], &[4]), &dummy, None).unwrap();
        assert_eq!(m.result(), 16.0);
        m.update_state(&t(vec![1.0, 2.0, 3.0, 4.0], &[2, 2]), &dummy, Some(&t(vec![0.5, 2.0], &[2])))
            .unwrap();
        // 3 * 0.5 + 7 * 2 = 15.5
        assert_eq!(m.result(), 31.5);
        m.update_state(&t(vec![2.0], &[]), &dummy, Some(&t(vec![3.0], &[]))).unwrap();
        assert_eq!(m.result(), 37.5);
        assert!(m
            .update_state(&t(vec![1.0, 2.0], &[2]), &dummy, Some(&t(vec![1.0, 2.0, 3.0], &[3])))
            .is_err());
        assert_eq!(m.get_config(), json!({"name": "sum", "dtype": "float32"}));
        m.reset_state();
        assert_eq!(m.result(), 0.0);
    }
}
