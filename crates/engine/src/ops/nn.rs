//! Neural-network ops: softmax and log-softmax.

use crate::autodiff::record;
use crate::ops::reduce::{normalize_axis, split_axis};
use crate::tensor::{LogitsKind, Tensor};
use crate::Result;

/// Softmax over `axis` of `(outer, len, inner)` data, numerically stable.
pub(crate) fn softmax_raw(xs: &[f32], outer: usize, len: usize, inner: usize, log: bool) -> Vec<f32> {
    let mut out = vec![0.0f32; xs.len()];
    for o in 0..outer {
        for i in 0..inner {
            let at = |l: usize| (o * len + l) * inner + i;
            let mut mx = f32::NEG_INFINITY;
            for l in 0..len {
                mx = mx.max(xs[at(l)]);
            }
            let mut sum = 0.0f32;
            for l in 0..len {
                let e = (xs[at(l)] - mx).exp();
                out[at(l)] = e;
                sum += e;
            }
            if log {
                let lse = sum.ln();
                for l in 0..len {
                    out[at(l)] = xs[at(l)] - mx - lse;
                }
            } else {
                let inv = 1.0 / sum;
                for l in 0..len {
                    out[at(l)] *= inv;
                }
            }
        }
    }
    out
}

/// `softmax(x)` along `axis` (differentiable). When `axis` is the last one, the output
/// remembers `x` as its logits (see [`Tensor::keras_logits`]).
pub fn softmax(x: &Tensor, axis: isize) -> Result<Tensor> {
    let ax = normalize_axis(axis, x.rank())?;
    #[cfg(feature = "cuda")]
    if let Some(d) = crate::tensor::cuda_of("softmax", &[x])? {
        return crate::cuda::ops::softmax(d, x, ax, false);
    }
    let (outer, len, inner) = split_axis(x.shape(), ax);
    let out =
        Tensor::from_f32_unchecked(softmax_raw(x.as_f32()?, outer, len, inner, false), x.shape().to_vec());
    let out = if ax + 1 == x.rank() { out.with_logits(LogitsKind::Softmax, x) } else { out };
    record(
        out,
        &[x],
        Box::new(move |g, y, inputs| {
            let (gs, ys) = (g.as_f32()?, y.as_f32()?);
            let mut dx = vec![0.0f32; gs.len()];
            for o in 0..outer {
                for i in 0..inner {
                    let at = |l: usize| (o * len + l) * inner + i;
                    let dot: f32 = (0..len).map(|l| gs[at(l)] * ys[at(l)]).sum();
                    for l in 0..len {
                        dx[at(l)] = ys[at(l)] * (gs[at(l)] - dot);
                    }
                }
            }
            Ok(vec![Some(Tensor::from_f32_unchecked(dx, inputs[0].shape().to_vec()))])
        }),
    )
}

/// `log(softmax(x))` along `axis`, computed stably (differentiable).
pub fn log_softmax(x: &Tensor, axis: isize) -> Result<Tensor> {
    let ax = normalize_axis(axis, x.rank())?;
    #[cfg(feature = "cuda")]
    if let Some(d) = crate::tensor::cuda_of("log_softmax", &[x])? {
        return crate::cuda::ops::softmax(d, x, ax, true);
    }
    let (outer, len, inner) = split_axis(x.shape(), ax);
    let out =
        Tensor::from_f32_unchecked(softmax_raw(x.as_f32()?, outer, len, inner, true), x.shape().to_vec());
    record(
        out,
        &[x],
        Box::new(move |g, y, inputs| {
            let (gs, ys) = (g.as_f32()?, y.as_f32()?);
            let mut dx = vec![0.0f32; gs.len()];
            for o in 0..outer {
                for i in 0..inner {
                    let at = |l: usize| (o * len + l) * inner + i;
                    let sum: f32 = (0..len).map(|l| gs[at(l)]).sum();
                    for l in 0..len {
                        dx[at(l)] = gs[at(l)] - ys[at(l)].exp() * sum;
                    }
                }
            }
            Ok(vec![Some(Tensor::from_f32_unchecked(dx, inputs[0].shape().to_vec()))])
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::check_grad;

    #[test]
    fn softmax_values_and_grads() {
        let x = Tensor::new(vec![1.0, 2.0, 3.0, -1.0, 0.0, 5.0], [2, 3]).unwrap();
        let y = softmax(&x, -1).unwrap();
        let ys = y.as_f32().unwrap();
        assert!((ys[0] + ys[1] + ys[2] - 1.0).abs() < 1e-6);
        assert!(y.keras_logits().is_some());
        assert!(softmax(&x, 0).unwrap().keras_logits().is_none());
        check_grad(&[&x], |t| softmax(t[0], -1), 1e-2);
        check_grad(&[&x], |t| softmax(t[0], 0), 1e-2);
        check_grad(&[&x], |t| log_softmax(t[0], 1), 1e-2);
        let big = Tensor::new(vec![1000.0, 0.0], [1, 2]).unwrap();
        assert_eq!(softmax(&big, -1).unwrap().as_f32().unwrap(), &[1.0, 0.0]);
    }
}
