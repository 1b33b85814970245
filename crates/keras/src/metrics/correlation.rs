//! `keras.metrics.pearson_correlation` and `concordance_correlation`: the per-sample values
//! `PearsonCorrelation` and `ConcordanceCorrelation` average.

use super::mean::{incompatible_shapes, squeeze_or_expand_shapes};
use crate::losses::kernels_pub::{group_by_axes, reduction_axes};
use crate::{keras_bail, Result, Tensor};

/// `(y_true, y_pred)` values after `squeeze_or_expand_to_same_rank`, with their shape.
fn prepare(y_true: &Tensor, y_pred: &Tensor) -> Result<(Vec<f32>, Vec<f32>, Vec<usize>)> {
    let (ts, ps) = squeeze_or_expand_shapes(y_true.shape(), y_pred.shape());
    if ts != ps {
        return Err(incompatible_shapes(y_true, y_pred));
    }
    Ok((y_true.to_f32_vec(), y_pred.to_f32_vec(), ps))
}

/// Applies `f` to the rows along `axis`, giving one value per row.
fn per_row(
    y_true: &Tensor,
    y_pred: &Tensor,
    axis: isize,
    f: impl Fn(&[f32], &[f32]) -> f32,
) -> Result<Tensor> {
    let (t, p, shape) = prepare(y_true, y_pred)?;
    if shape.is_empty() {
        keras_bail!(Shape, "Expected inputs of rank >= 1. Received: y_pred.shape=()");
    }
    let red = reduction_axes(Some(&[axis]), shape.len())?;
    let (out_shape, len, order) = group_by_axes(&shape, &red);
    let tr: Vec<f32> = order.iter().map(|&i| t[i]).collect();
    let pr: Vec<f32> = order.iter().map(|&i| p[i]).collect();
    let values: Vec<f32> = tr.chunks(len.max(1)).zip(pr.chunks(len.max(1))).map(|(a, b)| f(a, b)).collect();
    Ok(Tensor::new(values, out_shape)?)
}

fn mean(x: &[f32]) -> f32 {
    x.iter().sum::<f32>() / x.len() as f32
}

/// Population variance (`ops.var`).
fn var(x: &[f32]) -> f32 {
    let m = mean(x);
    x.iter().map(|v| (v - m) * (v - m)).sum::<f32>() / x.len() as f32
}

/// `keras.metrics.pearson_correlation(y_true, y_pred, axis=-1)`: the correlation of each row
/// along `axis` (population standard deviations; NaN for a constant row, as Keras).
pub fn pearson_correlation(y_true: &Tensor, y_pred: &Tensor, axis: isize) -> Result<Tensor> {
    per_row(y_true, y_pred, axis, |t, p| {
        let (mt, mp) = (mean(t), mean(p));
        let tn: Vec<f32> = t.iter().map(|v| v - mt).collect();
        let pn: Vec<f32> = p.iter().map(|v| v - mp).collect();
        let (st, sp) = (var(&tn).sqrt(), var(&pn).sqrt());
        let prod: Vec<f32> = tn.iter().zip(&pn).map(|(a, b)| (a / st) * (b / sp)).collect();
        mean(&prod)
    })
}

/// `keras.metrics.concordance_correlation(y_true, y_pred, axis=-1)`, exactly as Keras 3.15
/// computes it: `mean(2 * (y_true - mean(y_pred)) * (y_pred - mean(y_pred)) / (var(y_true) +
/// var(y_pred) + (mean(y_true) - mean(y_pred))^2 + eps))` (Keras centres `y_true` on the mean
/// of `y_pred` in the covariance term).
pub fn concordance_correlation(y_true: &Tensor, y_pred: &Tensor, axis: isize) -> Result<Tensor> {
    per_row(y_true, y_pred, axis, |t, p| {
        let (mt, mp) = (mean(t), mean(p));
        let tv = var(&t.iter().map(|v| v - mt).collect::<Vec<_>>());
        let pv = var(&p.iter().map(|v| v - mp).collect::<Vec<_>>());
        let norm = tv + pv + (mt - mp) * (mt - mp);
        let terms: Vec<f32> =
            t.iter().zip(p).map(|(a, b)| 2.0 * ((a - mp) * (b - mp)) / (norm + 1e-7)).collect();
        mean(&terms)
    })
}
