//! Non-element-wise activations of `keras.activations`: `glu` and `sparsemax`.

use crate::bail;
use crate::ops::reduce::{normalize_axis, split_axis};
use crate::tensor::Tensor;
use crate::Result;

fn sigmoid(v: f32) -> f32 {
    1.0 / (1.0 + (-v).exp())
}

/// `glu(x, axis)`: splits `x` into halves `a`, `b` along `axis` and returns `a * sigmoid(b)`
/// (differentiable). The axis length must be even.
pub fn glu(x: &Tensor, axis: isize) -> Result<Tensor> {
    let ax = normalize_axis(axis, x.rank())?;
    let (outer, len, inner) = split_axis(x.shape(), ax);
    if len % 2 != 0 {
        bail!("glu: axis {axis} of a tensor of shape {:?} has odd length {len}; it must be even", x.shape());
    }
    let half = len / 2;
    let xs = x.as_f32()?;
    let mut out = vec![0.0f32; outer * half * inner];
    for o in 0..outer {
        for l in 0..half {
            for i in 0..inner {
                let a = xs[(o * len + l) * inner + i];
                let b = xs[(o * len + l + half) * inner + i];
                out[(o * half + l) * inner + i] = a * sigmoid(b);
            }
        }
    }
    let mut shape = x.shape().to_vec();
    shape[ax] = half;
    Tensor::from_op(
        out,
        shape,
        &[x],
        Box::new(move |g, _y, inputs| {
            let gs = g.as_f32()?;
            let xs = inputs[0].as_f32()?;
            let mut dx = vec![0.0f32; xs.len()];
            for o in 0..outer {
                for l in 0..half {
                    for i in 0..inner {
                        let (ia, ib) = ((o * len + l) * inner + i, (o * len + l + half) * inner + i);
                        let gv = gs[(o * half + l) * inner + i];
                        let s = sigmoid(xs[ib]);
                        dx[ia] = gv * s;
                        dx[ib] = gv * xs[ia] * s * (1.0 - s);
                    }
                }
            }
            Ok(vec![Some(Tensor::from_f32_unchecked(dx, inputs[0].shape().to_vec()))])
        }),
    )
}

/// `sparsemax(x, axis)`: the Euclidean projection of `x` onto the probability simplex along
/// `axis` (Martins & Astudillo, 2016), differentiable.
pub fn sparsemax(x: &Tensor, axis: isize) -> Result<Tensor> {
    let ax = normalize_axis(axis, x.rank())?;
    let (outer, len, inner) = split_axis(x.shape(), ax);
    let xs = x.as_f32()?;
    let mut out = vec![0.0f32; xs.len()];
    let mut z = Vec::with_capacity(len);
    for o in 0..outer {
        for i in 0..inner {
            let at = |l: usize| (o * len + l) * inner + i;
            z.clear();
            z.extend((0..len).map(|l| xs[at(l)]));
            z.sort_by(|a, b| b.total_cmp(a));
            let (mut cum, mut k_max, mut cum_at_k) = (0.0f32, 0usize, 0.0f32);
            for (k, &v) in z.iter().enumerate() {
                cum += v;
                if 1.0 + (k + 1) as f32 * v > cum {
                    k_max = k + 1;
                    cum_at_k = cum;
                }
            }
            let tau = (cum_at_k - 1.0) / k_max.max(1) as f32;
            for l in 0..len {
                out[at(l)] = (xs[at(l)] - tau).max(0.0);
            }
        }
    }
    Tensor::from_op(
        out,
        x.shape().to_vec(),
        &[x],
        Box::new(move |g, y, inputs| {
            let (gs, ys) = (g.as_f32()?, y.as_f32()?);
            let mut dx = vec![0.0f32; gs.len()];
            for o in 0..outer {
                for i in 0..inner {
                    let at = |l: usize| (o * len + l) * inner + i;
                    let (mut sum, mut n) = (0.0f32, 0usize);
                    for l in 0..len {
                        if ys[at(l)] > 0.0 {
                            sum += gs[at(l)];
                            n += 1;
                        }
                    }
                    let mean = if n > 0 { sum / n as f32 } else { 0.0 };
                    for l in 0..len {
                        if ys[at(l)] > 0.0 {
                            dx[at(l)] = gs[at(l)] - mean;
                        }
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

    fn close(a: &[f32], b: &[f32]) {
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() < 1e-5, "{a:?} vs {b:?}");
        }
    }

    #[test]
    fn activation_glu_values_grads_and_odd_axis() {
        let x = Tensor::new(vec![1.0, -2.0, 0.0, 3.0, 0.5, 2.0, -1.0, 0.3], [2, 4]).unwrap();
        let y = glu(&x, -1).unwrap();
        assert_eq!(y.shape(), &[2, 2]);
        close(
            y.as_f32().unwrap(),
            &[1.0 * sigmoid(0.0), -2.0 * sigmoid(3.0), 0.5 * sigmoid(-1.0), 2.0 * sigmoid(0.3)],
        );
        let y0 = glu(&x, 0).unwrap();
        assert_eq!(y0.shape(), &[1, 4]);
        close(y0.as_f32().unwrap(), &[1.0 * sigmoid(0.5), -2.0 * sigmoid(2.0), 0.0, 3.0 * sigmoid(0.3)]);
        check_grad(&[&x], |t| glu(t[0], -1), 1e-2);
        check_grad(&[&x], |t| glu(t[0], 0), 1e-2);
        let odd = Tensor::new(vec![1.0, 2.0, 3.0], [1, 3]).unwrap();
        assert!(glu(&odd, -1).unwrap_err().to_string().contains("odd"));
    }

    #[test]
    fn activation_sparsemax_values_and_grads() {
        // [1, 2, 3]: sorted 3,2,1 -> support {3,2}? 1+2*2=5>5 is false, so only {3}: tau = 2.
        let x = Tensor::new(vec![1.0, 2.0, 3.0, 0.1, 0.2, 0.4, 0.0, 0.0, 0.0], [3, 3]).unwrap();
        let y = sparsemax(&x, -1).unwrap();
        // Row 2: all in support, tau = (0.7 - 1) / 3 = -0.1 -> [0.2, 0.3, 0.5]. Row 3: uniform.
        close(y.as_f32().unwrap(), &[0.0, 0.0, 1.0, 0.2, 0.3, 0.5, 1.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0]);
        let x2 = Tensor::new(vec![0.5, 1.0, 0.1, -1.0, 0.3, 0.9, 0.2, 1.5], [2, 4]).unwrap();
        // Row 1 [0.5,1,0.1,-1]: tau = (1.5-1)/2 = 0.25 -> [0.25, 0.75, 0, 0].
        let y2 = sparsemax(&x2, -1).unwrap();
        close(&y2.as_f32().unwrap()[..4], &[0.25, 0.75, 0.0, 0.0]);
        // Along axis 0 of [[0.5, 1.0], [0.1, -1.0]]-like columns: [0.5, 0.3] -> [0.6, 0.4].
        let y0 = sparsemax(&x2, 0).unwrap();
        close(&y0.as_f32().unwrap()[..1], &[0.6]);
        close(&y0.as_f32().unwrap()[4..5], &[0.4]);
        check_grad(&[&x2], |t| sparsemax(t[0], -1), 1e-2);
        check_grad(&[&x2], |t| sparsemax(t[0], 0), 1e-2);
        let x3 = Tensor::new(vec![0.1, 0.2, 0.4, 0.05, 0.3, -0.2], [2, 3]).unwrap();
        check_grad(&[&x3], |t| sparsemax(t[0], -1), 1e-2);
    }
}
