//! Crossentropy losses as fused differentiable ops, computed exactly as Keras 3 on the
//! TensorFlow backend (clipping to `[1e-7, 1 - 1e-7]`, renormalisation, and the logits
//! shortcut for outputs of `softmax`/`sigmoid`: oracle README note 11).

use keras_engine::ops;
use keras_engine::ops::fused::RowLoss;

use super::classes::LossArgs;
use super::kernels::{as_float, fmt_shape, row_op, sigmoid, EPSILON, ONE_MINUS_EPSILON};
use crate::utils::config_args::config_args;
use crate::{keras_bail, Result, Tensor};

/// The tensor the loss should really use: TensorFlow's `_get_logits`. When `y_pred` came
/// straight out of `softmax`/`sigmoid`, its logits are used (and `from_logits` becomes true)
/// whatever `from_logits` said.
fn resolve_logits(y_pred: &Tensor, from_logits: bool) -> (Tensor, bool) {
    match y_pred.keras_logits() {
        Some((_, logits)) => (logits.clone(), true),
        None => (y_pred.clone(), from_logits),
    }
}

fn check_same_shape(y_true: &Tensor, y_pred: &Tensor) -> Result<()> {
    if y_true.rank() != y_pred.rank() {
        keras_bail!(
            Shape,
            "Arguments `target` and `output` must have the same rank (ndim). Received: \
             target.shape={}, output.shape={}",
            fmt_shape(y_true.shape()),
            fmt_shape(y_pred.shape())
        );
    }
    if y_true.shape() != y_pred.shape() {
        keras_bail!(
            Shape,
            "Arguments `target` and `output` must have the same shape. Received: \
             target.shape={}, output.shape={}",
            fmt_shape(y_true.shape()),
            fmt_shape(y_pred.shape())
        );
    }
    Ok(())
}

/// The checks every crossentropy makes first, in Keras's order: `label_smoothing` in
/// [0, 1], then `y_pred` (as a float tensor, which it returns) the shape of `y_true`.
fn checked_pred(y_true: &Tensor, y_pred: &Tensor, label_smoothing: f64) -> Result<Tensor> {
    if !(0.0..=1.0).contains(&label_smoothing) {
        keras_bail!(
            InvalidArgument,
            "Argument `label_smoothing` must be in the range [0, 1]. Received: \
             label_smoothing={label_smoothing}"
        );
    }
    let y_pred = as_float(y_pred);
    check_same_shape(y_true, &y_pred)?;
    Ok(y_pred)
}

/// `-sum(t * log_softmax(x))` with TensorFlow's gradient `softmax(x) - t`.
fn softmax_xent_row(t: &[f32], x: &[f32], grad: Option<&mut [f32]>) -> f32 {
    let m = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let sum: f32 = x.iter().map(|&v| (v - m).exp()).sum();
    let lse = sum.ln();
    let mut loss = 0.0f32;
    for j in 0..x.len() {
        loss -= t[j] * (x[j] - m - lse);
    }
    if let Some(g) = grad {
        for j in 0..x.len() {
            g[j] = (x[j] - m).exp() / sum - t[j];
        }
    }
    loss
}

/// Probabilities: renormalise, clip to `[eps, 1 - eps]`, `-sum(t * log(p))`.
fn prob_xent_row(t: &[f32], p: &[f32], grad: Option<&mut [f32]>) -> f32 {
    let s: f32 = p.iter().sum();
    let mut loss = 0.0f32;
    for j in 0..p.len() {
        let q = p[j] / s;
        loss -= t[j] * q.clamp(EPSILON, ONE_MINUS_EPSILON).ln();
    }
    if let Some(g) = grad {
        // d/dq_j of -t_j log(clip(q_j)), zero where clipped.
        let mut dot = 0.0f32;
        for j in 0..p.len() {
            let q = p[j] / s;
            let gq = if !(EPSILON..=ONE_MINUS_EPSILON).contains(&q) { 0.0 } else { -t[j] / q };
            g[j] = gq;
            dot += gq * q;
        }
        for gj in g.iter_mut() {
            *gj = (*gj - dot) / s;
        }
    }
    loss
}

/// Sparse crossentropy over one row whose one-hot target is `t` (all zeros = ignored row).
/// With `from_logits` false, `x` holds probabilities: TensorFlow takes `log(clip(p))` as
/// logits.
fn sparse_row(t: &[f32], x: &[f32], from_logits: bool, grad: Option<&mut [f32]>) -> f32 {
    let Some(label) = t.iter().position(|&v| v == 1.0) else {
        if let Some(g) = grad {
            g.iter_mut().for_each(|v| *v = 0.0);
        }
        return 0.0;
    };
    let logits: Vec<f32> = if from_logits {
        x.to_vec()
    } else {
        x.iter().map(|&p| p.clamp(EPSILON, ONE_MINUS_EPSILON).ln()).collect()
    };
    let m = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let sum: f32 = logits.iter().map(|&v| (v - m).exp()).sum();
    let loss = sum.ln() - (logits[label] - m);
    if let Some(g) = grad {
        for j in 0..x.len() {
            let d = (logits[j] - m).exp() / sum - if j == label { 1.0 } else { 0.0 };
            g[j] = if from_logits {
                d
            } else if !(EPSILON..=ONE_MINUS_EPSILON).contains(&x[j]) {
                0.0
            } else {
                d / x[j]
            };
        }
    }
    loss
}

/// Element-wise binary crossentropy and its derivative.
#[inline]
fn bce_elem(t: f32, x: f32, from_logits: bool) -> (f32, f32) {
    if from_logits {
        // tf.nn.sigmoid_cross_entropy_with_logits
        let v = x.max(0.0) - x * t + (-x.abs()).exp().ln_1p();
        (v, sigmoid(x) - t)
    } else {
        let o = x.clamp(EPSILON, ONE_MINUS_EPSILON);
        let v = -(t * o.ln() + (1.0 - t) * (1.0 - o).ln());
        let d =
            if !(EPSILON..=ONE_MINUS_EPSILON).contains(&x) { 0.0 } else { -(t / o - (1.0 - t) / (1.0 - o)) };
        (v, d)
    }
}

/// `keras.losses.categorical_crossentropy(y_true, y_pred, from_logits, label_smoothing)`
/// over the last axis: one value per sample, differentiable w.r.t. `y_pred` (or its logits
/// when `y_pred` came out of a softmax).
pub fn categorical_crossentropy(
    y_true: &Tensor,
    y_pred: &Tensor,
    from_logits: bool,
    label_smoothing: f64,
) -> Result<Tensor> {
    categorical_crossentropy_axis(y_true, y_pred, from_logits, label_smoothing, -1)
}

/// [`categorical_crossentropy`] along `axis`.
pub fn categorical_crossentropy_axis(
    y_true: &Tensor,
    y_pred: &Tensor,
    from_logits: bool,
    label_smoothing: f64,
    axis: isize,
) -> Result<Tensor> {
    let y_pred = checked_pred(y_true, y_pred, label_smoothing)?;
    let ax = ops::normalize_axis(axis, y_pred.rank())?;
    if y_pred.device().is_cuda() && label_smoothing == 0.0 && ax + 1 == y_pred.rank() {
        let (x, logits) = resolve_logits(&y_pred, from_logits);
        let kind = if logits { RowLoss::SoftmaxXent } else { RowLoss::ProbXent };
        return Ok(ops::fused::row_loss(kind, &x, y_true)?);
    }
    let mut t = y_true.to_f32_vec();
    if label_smoothing != 0.0 {
        let c = y_pred.shape()[ax] as f32;
        let keep = (1.0 - label_smoothing) as f32;
        let add = label_smoothing as f32 / c;
        t.iter_mut().for_each(|v| *v = *v * keep + add);
    }
    let (x, logits) = resolve_logits(&y_pred, from_logits);
    if logits {
        row_op(&t, &x, axis, softmax_xent_row)
    } else {
        row_op(&t, &x, axis, prob_xent_row)
    }
}

/// `keras.losses.sparse_categorical_crossentropy(y_true, y_pred, from_logits)`: integer
/// labels (int32/int64, or floats holding integers) of shape `[batch]` or `[batch, 1]`.
pub fn sparse_categorical_crossentropy(
    y_true: &Tensor,
    y_pred: &Tensor,
    from_logits: bool,
) -> Result<Tensor> {
    sparse_categorical_crossentropy_ignore(y_true, y_pred, from_logits, None).map(|(v, _)| v)
}

/// Sparse crossentropy with `ignore_class`: returns the per-sample values (0 where ignored)
/// and, when `ignore_class` is set, the validity mask (1/0 per sample).
pub fn sparse_categorical_crossentropy_ignore(
    y_true: &Tensor,
    y_pred: &Tensor,
    from_logits: bool,
    ignore_class: Option<i64>,
) -> Result<(Tensor, Option<Tensor>)> {
    let y_pred = as_float(y_pred);
    if y_pred.rank() == 0 {
        keras_bail!(Shape, "Argument `output` must be at least rank 1. Received: output.shape=()");
    }
    let mut t_shape = y_true.shape().to_vec();
    if y_true.rank() == y_pred.rank() && t_shape.last() == Some(&1) {
        t_shape.pop();
    }
    let p_shape = y_pred.shape();
    let c = p_shape[p_shape.len() - 1];
    if t_shape.len() + 1 != p_shape.len() {
        keras_bail!(
            Shape,
            "Argument `output` must have rank (ndim) `target.ndim - 1`. Received: \
             target.shape={}, output.shape={}",
            fmt_shape(y_true.shape()),
            fmt_shape(p_shape)
        );
    }
    if t_shape[..] != p_shape[..p_shape.len() - 1] {
        keras_bail!(
            Shape,
            "Arguments `target` and `output` must have the same shape up until the last \
             dimension: target.shape={}, output.shape={}",
            fmt_shape(y_true.shape()),
            fmt_shape(p_shape)
        );
    }
    let labels = y_true.to_i64_vec();
    let mut onehot = vec![0.0f32; labels.len() * c];
    let mut mask = Vec::with_capacity(labels.len());
    for (i, &l) in labels.iter().enumerate() {
        if ignore_class == Some(l) {
            mask.push(0.0);
            continue;
        }
        mask.push(1.0);
        if l < 0 || l as usize >= c {
            keras_bail!(
                Value,
                "Received a label value of {l} which is outside the valid range of [0, {c}). \
                 Label values: {}",
                labels.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(" ")
            );
        }
        onehot[i * c + l as usize] = 1.0;
    }
    let (x, logits) = resolve_logits(&y_pred, from_logits);
    let values = row_op(&onehot, &x, -1, |t, x, g| sparse_row(t, x, logits, g))?;
    let mask = match ignore_class {
        Some(_) => Some(Tensor::new(mask, values.shape().to_vec())?),
        None => None,
    };
    Ok((values, mask))
}

/// `keras.losses.binary_crossentropy(y_true, y_pred, from_logits, label_smoothing)`: the
/// element-wise crossentropy averaged over the last axis.
pub fn binary_crossentropy(
    y_true: &Tensor,
    y_pred: &Tensor,
    from_logits: bool,
    label_smoothing: f64,
) -> Result<Tensor> {
    binary_crossentropy_axis(y_true, y_pred, from_logits, label_smoothing, -1)
}

/// [`binary_crossentropy`] averaged along `axis`.
pub fn binary_crossentropy_axis(
    y_true: &Tensor,
    y_pred: &Tensor,
    from_logits: bool,
    label_smoothing: f64,
    axis: isize,
) -> Result<Tensor> {
    let y_pred = checked_pred(y_true, y_pred, label_smoothing)?;
    if y_pred.device().is_cuda()
        && label_smoothing == 0.0
        && y_pred.rank() > 0
        && ops::normalize_axis(axis, y_pred.rank())? + 1 == y_pred.rank()
    {
        let (x, logits) = resolve_logits(&y_pred, from_logits);
        let kind = if logits { RowLoss::BceLogits } else { RowLoss::BceProbs };
        return Ok(ops::fused::row_loss(kind, &x, y_true)?);
    }
    let mut t = y_true.to_f32_vec();
    if label_smoothing != 0.0 {
        let keep = (1.0 - label_smoothing) as f32;
        let add = (0.5 * label_smoothing) as f32;
        t.iter_mut().for_each(|v| *v = *v * keep + add);
    }
    let (x, logits) = resolve_logits(&y_pred, from_logits);
    row_op(&t, &x, axis, |tr, xr, grad| {
        let n = xr.len() as f32;
        let mut sum = 0.0f32;
        match grad {
            Some(g) => {
                for j in 0..xr.len() {
                    let (v, d) = bce_elem(tr[j], xr[j], logits);
                    sum += v;
                    g[j] = d / n;
                }
            }
            None => {
                for j in 0..xr.len() {
                    sum += bce_elem(tr[j], xr[j], logits).0;
                }
            }
        }
        sum / n
    })
}

config_args! {
    /// Hyper-parameters of [`binary_focal_crossentropy`] (declared in Keras's `get_config()`
    /// order).
    #[derive(Clone, Copy, Debug, PartialEq)]
    pub struct FocalArgs, family LossArgs, impl Default {
        /// `y_pred` holds logits.
        pub from_logits: bool = false,
        /// Label smoothing towards 0.5.
        pub label_smoothing: f64 = 0.0,
        /// Axis averaged over (default -1).
        pub axis: isize = -1,
        /// Weight positives by `alpha` and negatives by `1 - alpha`.
        pub apply_class_balancing: bool = false,
        /// Class-balancing weight (default 0.25).
        pub alpha: f64 = 0.25,
        /// Focusing exponent (default 2.0).
        pub gamma: f64 = 2.0,
    }
}

/// `keras.losses.binary_focal_crossentropy`: `mean(w * (1 - p_t)^gamma * bce)` over `axis`.
///
/// When `y_pred` came out of a sigmoid the crossentropy term uses its logits, as TensorFlow
/// does (the focal factor is computed from the same probabilities).
pub fn binary_focal_crossentropy(y_true: &Tensor, y_pred: &Tensor, params: FocalArgs) -> Result<Tensor> {
    let y_pred = checked_pred(y_true, y_pred, params.label_smoothing)?;
    let mut t = y_true.to_f32_vec();
    if params.label_smoothing != 0.0 {
        let keep = (1.0 - params.label_smoothing) as f32;
        let add = (0.5 * params.label_smoothing) as f32;
        t.iter_mut().for_each(|v| *v = *v * keep + add);
    }
    let (x, logits) = match (params.from_logits, y_pred.keras_logits()) {
        (true, _) => (y_pred.clone(), true),
        (false, Some((keras_engine::LogitsKind::Sigmoid, l))) => (l.clone(), true),
        _ => (y_pred.clone(), false),
    };
    let gamma = params.gamma as f32;
    let alpha = params.alpha as f32;
    let balance = params.apply_class_balancing;
    let elem = move |t: f32, x: f32| -> (f32, f32) {
        let (p, dp) = if logits {
            let s = sigmoid(x);
            (s, s * (1.0 - s))
        } else {
            (x, 1.0)
        };
        let (bce, dbce) = bce_elem(t, x, logits);
        let pt = t * p + (1.0 - t) * (1.0 - p);
        let base = 1.0 - pt;
        let ff = base.powf(gamma);
        let dff = if gamma == 0.0 { 0.0 } else { -gamma * base.powf(gamma - 1.0) * (2.0 * t - 1.0) * dp };
        let w = if balance { t * alpha + (1.0 - t) * (1.0 - alpha) } else { 1.0 };
        (w * ff * bce, w * (dff * bce + ff * dbce))
    };
    row_op(&t, &x, params.axis, |tr, xr, grad| {
        let n = xr.len() as f32;
        let mut sum = 0.0f32;
        match grad {
            Some(g) => {
                for j in 0..xr.len() {
                    let (v, d) = elem(tr[j], xr[j]);
                    sum += v;
                    g[j] = d / n;
                }
            }
            None => {
                for j in 0..xr.len() {
                    sum += elem(tr[j], xr[j]).0;
                }
            }
        }
        sum / n
    })
}

config_args! {
    /// Hyper-parameters of [`categorical_focal_crossentropy`] (declared in Keras's
    /// `get_config()` order).
    #[derive(Clone, Copy, Debug, PartialEq)]
    pub struct CategoricalFocalArgs, family LossArgs, impl Default {
        /// `y_pred` holds logits.
        pub from_logits: bool = false,
        /// Label smoothing: `y * (1 - ls) + ls / num_classes`.
        pub label_smoothing: f64 = 0.0,
        /// The class axis (default -1).
        pub axis: isize = -1,
        /// Weighting factor (default 0.25).
        pub alpha: f64 = 0.25,
        /// Focusing exponent (default 2.0).
        pub gamma: f64 = 2.0,
    }
}

/// `keras.losses.categorical_focal_crossentropy`: `sum(-alpha * (1 - p)^gamma * y * log(p))`
/// along `axis`, with `p = clip(y_pred / sum(y_pred), eps, 1 - eps)` (after a softmax when
/// `from_logits`). Unlike the plain crossentropy, Keras computes it from the probabilities
/// even when they come out of a softmax.
pub fn categorical_focal_crossentropy(
    y_true: &Tensor,
    y_pred: &Tensor,
    params: CategoricalFocalArgs,
) -> Result<Tensor> {
    let y_pred = checked_pred(y_true, y_pred, params.label_smoothing)?;
    ops::normalize_axis(params.axis, y_pred.rank())?;
    let mut t = y_true.to_f32_vec();
    if params.label_smoothing != 0.0 {
        // Keras takes the number of classes from the last axis of y_true.
        let c = y_true.shape().last().copied().unwrap_or(1) as f32;
        let keep = (1.0 - params.label_smoothing) as f32;
        let add = params.label_smoothing as f32 / c;
        t.iter_mut().for_each(|v| *v = *v * keep + add);
    }
    let (alpha, gamma, logits) = (params.alpha as f32, params.gamma as f32, params.from_logits);
    row_op(&t, &y_pred, params.axis, move |tr, xr, grad| {
        let n = xr.len();
        let p: Vec<f32> = if logits {
            let m = xr.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let e: Vec<f32> = xr.iter().map(|&v| (v - m).exp()).collect();
            let s: f32 = e.iter().sum();
            e.iter().map(|&v| v / s).collect()
        } else {
            xr.to_vec()
        };
        let s: f32 = p.iter().sum();
        let mut loss = 0.0f32;
        let mut gq = vec![0.0f32; n];
        for j in 0..n {
            let q = p[j] / s;
            let o = q.clamp(EPSILON, ONE_MINUS_EPSILON);
            let modf = (1.0 - o).powf(gamma);
            loss += modf * alpha * (-tr[j] * o.ln());
            if (EPSILON..=ONE_MINUS_EPSILON).contains(&q) {
                let dmod = if gamma == 0.0 { 0.0 } else { -gamma * (1.0 - o).powf(gamma - 1.0) };
                gq[j] = alpha * (dmod * (-tr[j] * o.ln()) + modf * (-tr[j] / o));
            }
        }
        if let Some(g) = grad {
            // Through q = p / sum(p).
            let dot: f32 = (0..n).map(|j| gq[j] * p[j] / s).sum();
            let gp: Vec<f32> = (0..n).map(|j| (gq[j] - dot) / s).collect();
            if logits {
                // Through the softmax.
                let pd: f32 = (0..n).map(|j| gp[j] * p[j]).sum();
                for j in 0..n {
                    g[j] = p[j] * (gp[j] - pd);
                }
            } else {
                g.copy_from_slice(&gp);
            }
        }
        loss
    })
}

/// `keras.losses.categorical_generalized_cross_entropy(y_true, y_pred, q)`: `(1 - p^q) / q`
/// with `p` the predicted probability of the true class. `y_true` holds integer class ids
/// (shape `y_pred.shape[:-1]`; floats are truncated); an id outside the classes gives `p = 0`,
/// as Keras's `one_hot` does.
pub fn categorical_generalized_cross_entropy(y_true: &Tensor, y_pred: &Tensor, q: f64) -> Result<Tensor> {
    let y_pred = as_float(y_pred);
    if y_pred.rank() == 0 {
        keras_bail!(Shape, "Argument `y_pred` must be at least rank 1. Received: y_pred.shape=()");
    }
    let c = y_pred.shape()[y_pred.rank() - 1];
    let mut t_shape = y_true.shape().to_vec();
    if t_shape.len() == y_pred.rank() && t_shape.last() == Some(&1) {
        t_shape.pop();
    }
    if t_shape[..] != y_pred.shape()[..y_pred.rank() - 1] {
        keras_bail!(
            Shape,
            "Arguments `y_true` (class ids) and `y_pred` must have the same shape up until the last \
             dimension: y_true.shape={}, y_pred.shape={}",
            fmt_shape(y_true.shape()),
            fmt_shape(y_pred.shape())
        );
    }
    let mut onehot = vec![0.0f32; y_pred.numel()];
    for (i, &l) in y_true.to_f32_vec().iter().enumerate() {
        let l = l as i64;
        if l >= 0 && (l as usize) < c {
            onehot[i * c + l as usize] = 1.0;
        }
    }
    let q = q as f32;
    row_op(&onehot, &y_pred, -1, move |tr, xr, grad| {
        let p: f32 = tr.iter().zip(xr).map(|(a, b)| a * b).sum();
        if let Some(g) = grad {
            let dp = -p.powf(q - 1.0);
            for j in 0..xr.len() {
                g[j] = tr[j] * dp;
            }
        }
        (1.0 - p.powf(q)) / q
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::t;
    use crate::GradientTape;

    #[test]
    fn categorical_matches_hand_computation() {
        let yt = t(vec![0.0, 1.0, 0.0], &[1, 3]);
        let yp = t(vec![0.2, 0.5, 0.3], &[1, 3]);
        let v = categorical_crossentropy(&yt, &yp, false, 0.0).unwrap();
        assert!((v.item().unwrap() + 0.5f32.ln()).abs() < 1e-6);
    }

    #[test]
    fn label_smoothing_changes_targets() {
        let yt = t(vec![0.0, 1.0], &[1, 2]);
        let yp = t(vec![0.25, 0.75], &[1, 2]);
        let v = categorical_crossentropy(&yt, &yp, false, 0.2).unwrap();
        let want = -(0.1 * 0.25f32.ln() + 0.9 * 0.75f32.ln());
        assert!((v.item().unwrap() - want).abs() < 1e-6);
        let b = binary_crossentropy(&yt, &yp, false, 0.2).unwrap();
        let e = |t: f32, p: f32| -(t * p.ln() + (1.0 - t) * (1.0 - p).ln());
        let want = 0.5 * (e(0.1, 0.25) + e(0.9, 0.75));
        assert!((b.item().unwrap() - want).abs() < 1e-6);
    }

    #[test]
    fn softmax_output_uses_logits_without_clipping() {
        let logits = t(vec![0.0, 200.0], &[1, 2]).requiring_grad();
        let tape = GradientTape::new();
        let probs = ops::softmax(&logits, -1).unwrap();
        let yt = t(vec![1.0, 0.0], &[1, 2]);
        let v = categorical_crossentropy(&yt, &probs, false, 0.0).unwrap();
        assert!((v.item().unwrap() - 200.0).abs() < 1e-3);
        // Plain probabilities are clipped: -log(1e-7) = 16.118.
        let clipped = categorical_crossentropy(&yt, &probs.detach(), false, 0.0).unwrap();
        assert!((clipped.item().unwrap() - 16.118_095).abs() < 1e-3);
        let g = tape.gradient(&v, &[&logits]).unwrap();
        assert_eq!(g[0].as_ref().unwrap().as_f32().unwrap(), &[-1.0, 1.0]);
        // Sigmoid outputs take the sigmoid path for binary crossentropy.
        let x = t(vec![-100.0], &[1, 1]);
        let s = ops::unary(&x, ops::Unary::Sigmoid).unwrap();
        let b = binary_crossentropy(&t(vec![1.0], &[1, 1]), &s, false, 0.0).unwrap();
        assert!((b.item().unwrap() - 100.0).abs() < 1e-3);
    }

    #[test]
    fn sparse_errors_and_shapes() {
        let yp = t(vec![0.25; 8], &[2, 4]);
        let bad = Tensor::from_i32(vec![1, 4], [2]).unwrap();
        let e = sparse_categorical_crossentropy(&bad, &yp, false).unwrap_err();
        assert!(matches!(e, crate::Error::Value(_)));
        assert!(e.to_string().contains("label value of 4"), "{e}");
        let neg = Tensor::from_i64(vec![-1, 0], [2, 1]).unwrap();
        assert!(sparse_categorical_crossentropy(&neg, &yp, false).is_err());
        let wrong_batch = Tensor::from_i32(vec![1, 2, 3], [3]).unwrap();
        let e = sparse_categorical_crossentropy(&wrong_batch, &yp, false).unwrap_err();
        assert!(matches!(e, crate::Error::Shape(_)));
        let ok = t(vec![1.0, 3.0], &[2, 1]);
        let v = sparse_categorical_crossentropy(&ok, &yp, false).unwrap();
        assert_eq!(v.shape(), &[2]);
        assert!((v.as_f32().unwrap()[0] + 0.25f32.ln()).abs() < 1e-5);
        let (v, m) = sparse_categorical_crossentropy_ignore(&ok, &yp, false, Some(3)).unwrap();
        assert_eq!(v.as_f32().unwrap()[1], 0.0);
        assert_eq!(m.unwrap().as_f32().unwrap(), &[1.0, 0.0]);
    }

    #[test]
    fn one_hot_width_mismatch_is_a_shape_error() {
        let yt = t(vec![0.0; 6], &[2, 3]);
        let yp = t(vec![0.2; 10], &[2, 5]);
        let e = categorical_crossentropy(&yt, &yp, false, 0.0).unwrap_err();
        assert!(matches!(e, crate::Error::Shape(_)));
        assert!(e.to_string().contains("(2, 3)") && e.to_string().contains("(2, 5)"));
        assert!(categorical_crossentropy(&yt, &yt, false, 1.5).is_err());
    }

    #[test]
    fn gradients_match_finite_differences() {
        let yt = t(vec![0.0, 1.0, 0.0, 0.3, 0.3, 0.4], &[2, 3]);
        let yp = t(vec![0.2, 0.5, 0.4, 0.1, 0.6, 0.2], &[2, 3]);
        let labels = Tensor::from_i32(vec![1, 2], [2]).unwrap();
        type F<'a> = Box<dyn Fn(&Tensor) -> Tensor + 'a>;
        let fs: Vec<F<'_>> = vec![
            Box::new(|p| categorical_crossentropy(&yt, p, false, 0.1).unwrap()),
            Box::new(|p| categorical_crossentropy(&yt, p, true, 0.0).unwrap()),
            Box::new(|p| binary_crossentropy(&yt, p, false, 0.0).unwrap()),
            Box::new(|p| binary_crossentropy(&yt, p, true, 0.1).unwrap()),
            Box::new(|p| sparse_categorical_crossentropy(&labels, p, false).unwrap()),
            Box::new(|p| sparse_categorical_crossentropy(&labels, p, true).unwrap()),
            Box::new(|p| binary_focal_crossentropy(&yt, p, FocalArgs::default()).unwrap()),
        ];
        for (k, f) in fs.iter().enumerate() {
            let x = yp.requiring_grad();
            let tape = GradientTape::new();
            let y = ops::sum_all(&f(&x)).unwrap();
            let g = tape.gradient(&y, &[&x]).unwrap()[0].clone().unwrap();
            drop(tape);
            let base = yp.to_f32_vec();
            for i in 0..base.len() {
                let h = 1e-3;
                let mut a = base.clone();
                a[i] += h;
                let mut b = base.clone();
                b[i] -= h;
                let fa = ops::sum_all(&f(&t(a, &[2, 3]))).unwrap().item().unwrap();
                let fb = ops::sum_all(&f(&t(b, &[2, 3]))).unwrap().item().unwrap();
                let num = (fa - fb) / (2.0 * h);
                let got = g.as_f32().unwrap()[i];
                assert!((num - got).abs() < 1e-2 * (1.0 + num.abs()), "{k} {i}: {num} {got}");
            }
        }
    }
}
