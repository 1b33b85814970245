//! `Circle` loss (`keras.losses.circle`, Sun et al. 2020): a pair-similarity loss over the
//! embeddings of a batch, weighting each positive and negative pair by how far it is from its
//! optimum.

use super::classes::{common_builders, wrap_inputs, LossArgs};
use super::kernels::{fmt_shape, needs_grad, sigmoid, softplus};
use super::{Loss, Reduction};
use crate::utils::config_args::config_args;
use crate::{keras_bail, Result, Tensor};

config_args! {
    /// Hyper-parameters of [`circle`].
    #[derive(Clone, Copy, Debug, PartialEq)]
    pub struct CircleArgs, family LossArgs, impl Default {
        /// Scale of the pair terms (default 80).
        pub gamma: f64 = 80.0,
        /// Relaxation margin (default 0.4).
        pub margin: f64 = 0.4,
        /// Leave each sample out of its own positive pairs (default true).
        pub remove_diagonal: bool = true,
    }
}

/// `logsumexp` over the entries selected by `mask` (`-inf` when none) and its softmax weights.
fn masked_lse(v: &[f32], mask: &[bool]) -> (f32, Vec<f32>) {
    let m = v.iter().zip(mask).filter(|(_, k)| **k).map(|(x, _)| *x).fold(f32::NEG_INFINITY, f32::max);
    if m == f32::NEG_INFINITY {
        return (f32::NEG_INFINITY, vec![0.0; v.len()]);
    }
    let e: Vec<f32> = v.iter().zip(mask).map(|(x, k)| if *k { (x - m).exp() } else { 0.0 }).collect();
    let s: f32 = e.iter().sum();
    (m + s.ln(), e.iter().map(|x| x / s).collect())
}

/// `keras.losses.circle(y_true, y_pred, ref_labels=None, ref_embeddings=None,
/// remove_diagonal=True, gamma=80, margin=0.4)`: one value per sample of `y_pred`
/// (`(batch, dim)` L2-normalized embeddings) against the reference set (the batch itself by
/// default), plus the mask `loss > 0` that Keras attaches to the result (samples without a
/// positive or negative pair do not count in the mean).
pub fn circle(
    y_true: &Tensor,
    y_pred: &Tensor,
    refs: Option<(&Tensor, &Tensor)>,
    params: CircleArgs,
) -> Result<(Tensor, Tensor)> {
    if y_pred.rank() != 2 {
        keras_bail!(
            Shape,
            "`y_pred` must be (batch_size, embedding_dim). Received: y_pred.shape={}",
            fmt_shape(y_pred.shape())
        );
    }
    let (n, d) = (y_pred.shape()[0], y_pred.shape()[1]);
    let labels: Vec<i64> = y_true.to_f32_vec().iter().map(|&v| v as i32 as i64).collect();
    if labels.len() != n {
        keras_bail!(
            Shape,
            "`y_true` must hold one label per embedding: y_true.shape={}, y_pred.shape={}",
            fmt_shape(y_true.shape()),
            fmt_shape(y_pred.shape())
        );
    }
    let (ref_labels, ref_emb) = match refs {
        Some((l, e)) => {
            if e.rank() != 2 || e.shape()[1] != d || l.numel() != e.shape()[0] {
                keras_bail!(Shape, "`ref_embeddings` must be (num_refs, {d}) with one `ref_labels` entry each. Received: ref_labels.shape={}, ref_embeddings.shape={}", fmt_shape(l.shape()), fmt_shape(e.shape()));
            }
            (l.to_f32_vec().iter().map(|&v| v as i32 as i64).collect::<Vec<_>>(), Some(e))
        }
        None => (labels.clone(), None),
    };
    let m = ref_labels.len();
    let p = y_pred.as_f32()?.to_vec();
    let r: Vec<f32> = match ref_emb {
        Some(e) => e.to_f32_vec(),
        None => p.clone(),
    };
    let (gamma, margin) = (params.gamma as f32, params.margin as f32);
    let (optim_pos, optim_neg, delta_pos, delta_neg) = (margin, 1.0 + margin, margin, 1.0 - margin);
    let mut losses = vec![0.0f32; n];
    // d loss_i / d S_ij for the pairwise similarities S = P R^T.
    let mut ds = vec![0.0f32; n * m];
    for i in 0..n {
        let mut a = vec![0.0f32; m];
        let mut b = vec![0.0f32; m];
        let mut da = vec![0.0f32; m];
        let mut db = vec![0.0f32; m];
        let mut pos = vec![false; m];
        let mut neg = vec![false; m];
        let mut live = vec![false; m];
        for j in 0..m {
            let sim: f32 = (0..d).map(|k| p[i * d + k] * r[j * d + k]).sum();
            let raw = 1.0 - sim;
            let dist = raw.max(0.0);
            live[j] = raw >= 0.0;
            pos[j] = labels[i] == ref_labels[j] && !(params.remove_diagonal && i == j);
            neg[j] = labels[i] != ref_labels[j];
            let pm = if pos[j] { 1.0 } else { 0.0 };
            let nm = if neg[j] { 1.0 } else { 0.0 };
            let pw_raw = (optim_pos + dist) * pm;
            let nw_raw = (optim_neg - dist) * nm;
            let (pw, nw) = (pw_raw.max(0.0), nw_raw.max(0.0));
            a[j] = -gamma * pw * (delta_pos - dist);
            b[j] = gamma * nw * (delta_neg - dist);
            // tf.maximum sends the gradient to its first argument on ties.
            let dpw = if pw_raw >= 0.0 { pm } else { 0.0 };
            let dnw = if nw_raw >= 0.0 { -nm } else { 0.0 };
            da[j] = -gamma * (dpw * (delta_pos - dist) - pw);
            db[j] = gamma * (dnw * (delta_neg - dist) - nw);
        }
        let (lp, wp) = masked_lse(&a, &pos);
        let (ln, wn) = masked_lse(&b, &neg);
        let z = lp + ln;
        losses[i] = softplus(z);
        if z.is_finite() {
            let s = sigmoid(z);
            for j in 0..m {
                let dd = s * (wp[j] * da[j] + wn[j] * db[j]);
                ds[i * m + j] = if live[j] { -dd } else { 0.0 };
            }
        }
    }
    let mask: Vec<f32> = losses.iter().map(|&l| if l > 0.0 { 1.0 } else { 0.0 }).collect();
    let mask = Tensor::new(mask, vec![n])?;
    let tracked: Vec<&Tensor> = match ref_emb {
        Some(e) => vec![y_pred, e],
        None => vec![y_pred],
    };
    if !tracked.iter().any(|t| needs_grad(t)) {
        return Ok((Tensor::new(losses, vec![n])?, mask));
    }
    let shared = ref_emb.is_none();
    let out = Tensor::from_op(
        losses,
        vec![n],
        &tracked,
        Box::new(move |g, _out, _inputs| {
            let gs = g.as_f32()?;
            // dP = (g * dS) R; dR = (g * dS)^T P (added to dP when R is P).
            let mut dp = vec![0.0f32; n * d];
            let mut dr = vec![0.0f32; m * d];
            for i in 0..n {
                for j in 0..m {
                    let v = gs[i] * ds[i * m + j];
                    if v == 0.0 {
                        continue;
                    }
                    for k in 0..d {
                        dp[i * d + k] += v * r[j * d + k];
                        dr[j * d + k] += v * p[i * d + k];
                    }
                }
            }
            if shared {
                dp.iter_mut().zip(&dr).for_each(|(a, b)| *a += b);
                Ok(vec![Some(Tensor::new(dp, vec![n, d])?)])
            } else {
                Ok(vec![Some(Tensor::new(dp, vec![n, d])?), Some(Tensor::new(dr, vec![m, d])?)])
            }
        }),
    )?;
    Ok((out, mask))
}

/// `keras.losses.Circle(gamma=80.0, margin=0.4, remove_diagonal=True,
/// reduction="sum_over_batch_size", name="circle")`: `y_true` holds integer labels
/// `(batch,)`, `y_pred` L2-normalized embeddings `(batch, dim)`.
#[derive(Clone, Debug)]
pub struct Circle {
    name: String,
    reduction: Reduction,
    params: CircleArgs,
}

impl Circle {
    /// Keras defaults.
    pub fn new() -> Self {
        Circle {
            name: "circle".into(),
            reduction: Reduction::SumOverBatchSize,
            params: CircleArgs::default(),
        }
    }
    crate::setters::setters! {
        /// Sets every hyper-parameter.
        params: CircleArgs,
    }
}
common_builders!(Circle, "circle");

impl Loss for Circle {
    crate::losses::classes::loss_base_methods!("Circle", params);
    fn call(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
        Ok(self.call_masked(y_true, y_pred)?.0)
    }
    fn call_masked(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<(Tensor, Option<Tensor>)> {
        let (t, p) = wrap_inputs(y_true, y_pred)?;
        let (v, m) = circle(&t, &p, None, self.params)?;
        Ok((v, Some(m)))
    }
}
