//! Regression, hinge and probabilistic losses (every one a fused op with a hand-written
//! gradient w.r.t. `y_pred`, following TensorFlow's conventions at kinks).

use super::kernels::{
    as_float, broadcast_values, elementwise_last_axis, row_op, sigmoid, sign, softplus, squeeze_or_expand,
    EPSILON,
};
use crate::{Result, Tensor};

/// `(y_true values broadcast to y_pred, y_pred as float)`, after Keras's
/// `squeeze_or_expand_to_same_rank` when `squeeze` is set.
fn prepare(y_true: &Tensor, y_pred: &Tensor, squeeze: bool) -> Result<(Vec<f32>, Tensor)> {
    let y_pred = as_float(y_pred);
    let y_true = as_float(y_true).detach();
    let (t, p) = if squeeze { squeeze_or_expand(&y_true, &y_pred)? } else { (y_true, y_pred) };
    let tv = broadcast_values(&t, p.shape())?;
    Ok((tv, p))
}

/// `keras.losses.mean_squared_error`: `mean((y_true - y_pred)^2, axis=-1)`.
pub fn mean_squared_error(y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
    let (t, p) = prepare(y_true, y_pred, true)?;
    elementwise_last_axis(&t, &p, true, |t, p| {
        let d = t - p;
        (d * d, -2.0 * d)
    })
}

/// `keras.losses.mean_absolute_error`: `mean(|y_true - y_pred|, axis=-1)`.
pub fn mean_absolute_error(y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
    let (t, p) = prepare(y_true, y_pred, true)?;
    elementwise_last_axis(&t, &p, true, |t, p| {
        let d = t - p;
        (d.abs(), -sign(d))
    })
}

/// `keras.losses.mean_absolute_percentage_error`:
/// `100 * mean(|y_true - y_pred| / max(|y_true|, eps), axis=-1)`.
pub fn mean_absolute_percentage_error(y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
    let (t, p) = prepare(y_true, y_pred, true)?;
    row_op(&t, &p, -1, |tr, pr, grad| {
        let n = pr.len() as f32;
        let mut sum = 0.0f32;
        for j in 0..pr.len() {
            let den = tr[j].abs().max(EPSILON);
            sum += ((tr[j] - pr[j]) / den).abs();
        }
        if let Some(g) = grad {
            for j in 0..pr.len() {
                let den = tr[j].abs().max(EPSILON);
                g[j] = 100.0 / n * sign((tr[j] - pr[j]) / den) * (-1.0 / den);
            }
        }
        100.0 * (sum / n)
    })
}

/// `keras.losses.mean_squared_logarithmic_error`:
/// `mean((log(max(y_pred, eps) + 1) - log(max(y_true, eps) + 1))^2, axis=-1)`.
pub fn mean_squared_logarithmic_error(y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
    let (t, p) = prepare(y_true, y_pred, true)?;
    elementwise_last_axis(&t, &p, true, |t, p| {
        let a = p.max(EPSILON) + 1.0;
        let d = a.ln() - (t.max(EPSILON) + 1.0).ln();
        let dp = if p >= EPSILON { 2.0 * d / a } else { 0.0 };
        (d * d, dp)
    })
}

/// `keras.losses.huber(y_true, y_pred, delta)`, averaged over the last axis.
pub fn huber(y_true: &Tensor, y_pred: &Tensor, delta: f64) -> Result<Tensor> {
    let (t, p) = prepare(y_true, y_pred, true)?;
    let delta = delta as f32;
    elementwise_last_axis(&t, &p, true, move |t, p| {
        let e = p - t;
        if e.abs() <= delta {
            (0.5 * e * e, e)
        } else {
            (delta * e.abs() - 0.5 * delta * delta, delta * sign(e))
        }
    })
}

/// `keras.losses.log_cosh`: `mean(x + softplus(-2x) - log 2, axis=-1)` with `x = y_pred - y_true`.
pub fn log_cosh(y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
    let (t, p) = prepare(y_true, y_pred, true)?;
    let log2 = 2.0f32.ln();
    elementwise_last_axis(&t, &p, true, move |t, p| {
        let x = p - t;
        (x + softplus(-2.0 * x) - log2, 1.0 - 2.0 * sigmoid(-2.0 * x))
    })
}

/// `keras.losses.kl_divergence`: `sum(t * log(t / p), axis=-1)` with both clipped to `[eps, 1]`.
pub fn kl_divergence(y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
    let (t, p) = prepare(y_true, y_pred, false)?;
    elementwise_last_axis(&t, &p, false, |t, p| {
        let tc = t.clamp(EPSILON, 1.0);
        let pc = p.clamp(EPSILON, 1.0);
        let d = if (EPSILON..=1.0).contains(&p) { -tc / pc } else { 0.0 };
        (tc * (tc / pc).ln(), d)
    })
}

/// `keras.losses.poisson`: `mean(y_pred - y_true * log(y_pred + eps), axis=-1)`.
pub fn poisson(y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
    let (t, p) = prepare(y_true, y_pred, false)?;
    elementwise_last_axis(&t, &p, true, |t, p| (p - t * (p + EPSILON).ln(), 1.0 - t / (p + EPSILON)))
}

/// Keras converts `{0, 1}` labels to `{-1, 1}` for the hinge losses (only when every label
/// is 0 or 1).
fn hinge_labels(t: &mut [f32]) {
    if t.iter().all(|&v| v == 0.0 || v == 1.0) {
        t.iter_mut().for_each(|v| *v = 2.0 * *v - 1.0);
    }
}

/// `keras.losses.hinge`: `mean(max(1 - y_true * y_pred, 0), axis=-1)`.
pub fn hinge(y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
    let (mut t, p) = prepare(y_true, y_pred, false)?;
    hinge_labels(&mut t);
    elementwise_last_axis(&t, &p, true, |t, p| {
        let m = 1.0 - t * p;
        if m >= 0.0 {
            (m, -t)
        } else {
            (0.0, 0.0)
        }
    })
}

/// `keras.losses.squared_hinge`: `mean(max(1 - y_true * y_pred, 0)^2, axis=-1)`.
pub fn squared_hinge(y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
    let (mut t, p) = prepare(y_true, y_pred, false)?;
    hinge_labels(&mut t);
    elementwise_last_axis(&t, &p, true, |t, p| {
        let m = (1.0 - t * p).max(0.0);
        (m * m, -2.0 * m * t)
    })
}

/// `keras.losses.categorical_hinge`:
/// `max(max((1 - y_true) * y_pred) - sum(y_true * y_pred) + 1, 0)`.
pub fn categorical_hinge(y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
    let (t, p) = prepare(y_true, y_pred, false)?;
    row_op(&t, &p, -1, |tr, pr, grad| {
        let pos: f32 = tr.iter().zip(pr).map(|(a, b)| a * b).sum();
        let neg = tr.iter().zip(pr).map(|(a, b)| (1.0 - a) * b).fold(f32::NEG_INFINITY, f32::max);
        let v = neg - pos + 1.0;
        if let Some(g) = grad {
            if v >= 0.0 {
                let ties = tr.iter().zip(pr).filter(|(a, b)| (1.0 - *a) * *b == neg).count() as f32;
                for j in 0..pr.len() {
                    let sel = if (1.0 - tr[j]) * pr[j] == neg { 1.0 / ties } else { 0.0 };
                    g[j] = (1.0 - tr[j]) * sel - tr[j];
                }
            } else {
                g.iter_mut().for_each(|x| *x = 0.0);
            }
        }
        v.max(0.0)
    })
}

/// `min(rsqrt(sum(x^2)), 1/eps)` (Keras's L2 `normalize`).
fn inv_norm(x: &[f32]) -> (f32, bool) {
    let s: f32 = x.iter().map(|v| v * v).sum();
    let r = 1.0 / s.sqrt();
    if r <= 1.0 / EPSILON {
        (r, true)
    } else {
        (1.0 / EPSILON, false)
    }
}

/// `keras.losses.cosine_similarity(y_true, y_pred, axis)`: the *negative* cosine similarity.
pub fn cosine_similarity(y_true: &Tensor, y_pred: &Tensor, axis: isize) -> Result<Tensor> {
    let (t, p) = prepare(y_true, y_pred, true)?;
    row_op(&t, &p, axis, |tr, pr, grad| {
        let (rt, _) = inv_norm(tr);
        let (r, live) = inv_norm(pr);
        let tn: Vec<f32> = tr.iter().map(|v| v * rt).collect();
        let dot: f32 = tn.iter().zip(pr).map(|(a, b)| a * (b * r)).sum();
        if let Some(g) = grad {
            let raw: f32 = tn.iter().zip(pr).map(|(a, b)| a * b).sum();
            for j in 0..pr.len() {
                g[j] = if live { -(tn[j] * r - raw * r * r * r * pr[j]) } else { -tn[j] * r };
            }
        }
        -dot
    })
}
