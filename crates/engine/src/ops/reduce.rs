//! Reductions over axes.

use crate::autodiff::record;
use crate::tensor::Tensor;
use crate::{bail, Result};

/// Splits `shape` around `axis` into (outer, len, inner) element counts.
pub(crate) fn split_axis(shape: &[usize], axis: usize) -> (usize, usize, usize) {
    let outer = shape[..axis].iter().product();
    let inner = shape[axis + 1..].iter().product();
    (outer, shape[axis], inner)
}

/// Resolves a possibly negative axis (Keras style, `-1` is the last).
pub fn normalize_axis(axis: isize, rank: usize) -> Result<usize> {
    let a = if axis < 0 { axis + rank as isize } else { axis };
    if a < 0 || a as usize >= rank.max(1) {
        bail!("axis {axis} is out of range for a tensor of rank {rank}");
    }
    Ok(a as usize)
}

fn reduced_shape(shape: &[usize], axis: usize, keepdims: bool) -> Vec<usize> {
    let mut s = shape.to_vec();
    if keepdims {
        s[axis] = 1;
    } else {
        s.remove(axis);
    }
    s
}

/// Sum along one axis (differentiable).
pub fn sum_axis(x: &Tensor, axis: isize, keepdims: bool) -> Result<Tensor> {
    reduce_axis(x, axis, keepdims, false)
}

/// Mean along one axis (differentiable).
pub fn mean_axis(x: &Tensor, axis: isize, keepdims: bool) -> Result<Tensor> {
    reduce_axis(x, axis, keepdims, true)
}

fn reduce_axis(x: &Tensor, axis: isize, keepdims: bool, mean: bool) -> Result<Tensor> {
    let axis = normalize_axis(axis, x.rank())?;
    #[cfg(feature = "cuda")]
    if let Some(d) = crate::tensor::cuda_of("reduce", &[x])? {
        return crate::cuda::ops::reduce_axis(d, x, axis, reduced_shape(x.shape(), axis, keepdims), mean);
    }
    let xs = x.as_f32()?;
    let (outer, len, inner) = split_axis(x.shape(), axis);
    let mut out = vec![0.0f32; outer * inner];
    for o in 0..outer {
        let dst = &mut out[o * inner..(o + 1) * inner];
        for l in 0..len {
            let src = &xs[(o * len + l) * inner..(o * len + l + 1) * inner];
            dst.iter_mut().zip(src).for_each(|(d, s)| *d += s);
        }
    }
    let scale = if mean && len > 0 { 1.0 / len as f32 } else { 1.0 };
    if mean {
        out.iter_mut().for_each(|v| *v *= scale);
    }
    let in_shape = x.shape().to_vec();
    let out = Tensor::from_f32_unchecked(out, reduced_shape(x.shape(), axis, keepdims));
    record(
        out,
        &[x],
        Box::new(move |g, _o, _i| {
            let gs = g.as_f32()?;
            let mut dx = vec![0.0f32; outer * len * inner];
            for o in 0..outer {
                for l in 0..len {
                    let dst = &mut dx[(o * len + l) * inner..(o * len + l + 1) * inner];
                    dst.iter_mut().zip(&gs[o * inner..(o + 1) * inner]).for_each(|(d, s)| *d = s * scale);
                }
            }
            Ok(vec![Some(Tensor::from_f32_unchecked(dx, in_shape.clone()))])
        }),
    )
}

/// Sum of all elements, as a 0-d tensor (differentiable).
pub fn sum_all(x: &Tensor) -> Result<Tensor> {
    let flat = x.reshape([x.numel()])?;
    sum_axis(&flat, 0, false)
}

/// Mean of all elements, as a 0-d tensor (differentiable).
pub fn mean_all(x: &Tensor) -> Result<Tensor> {
    let flat = x.reshape([x.numel()])?;
    mean_axis(&flat, 0, false)
}

/// Index of the maximum along `axis` (first on ties), as int64 (not differentiable).
pub fn argmax(x: &Tensor, axis: isize) -> Result<Tensor> {
    let axis = normalize_axis(axis, x.rank())?;
    let (outer, len, inner) = split_axis(x.shape(), axis);
    if len == 0 {
        bail!("argmax over an empty axis of shape {:?}", x.shape());
    }
    #[cfg(feature = "cuda")]
    if let Some(d) = crate::tensor::cuda_of("argmax", &[x])? {
        return crate::cuda::ops::argmax(d, x, axis, reduced_shape(x.shape(), axis, false));
    }
    let xs = x.as_f32()?;
    let mut out = vec![0i64; outer * inner];
    for o in 0..outer {
        for i in 0..inner {
            let mut best = 0;
            let mut bv = xs[o * len * inner + i];
            for l in 1..len {
                let v = xs[(o * len + l) * inner + i];
                if v > bv {
                    bv = v;
                    best = l;
                }
            }
            out[o * inner + i] = best as i64;
        }
    }
    Tensor::from_i64(out, reduced_shape(x.shape(), axis, false))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::check_grad;

    #[test]
    fn sums_and_means() {
        let x = Tensor::new((0..6).map(|v| v as f32).collect(), [2, 3]).unwrap();
        assert_eq!(sum_axis(&x, 0, false).unwrap().as_f32().unwrap(), &[3.0, 5.0, 7.0]);
        assert_eq!(mean_axis(&x, -1, true).unwrap().shape(), &[2, 1]);
        assert_eq!(mean_axis(&x, -1, true).unwrap().as_f32().unwrap(), &[1.0, 4.0]);
        assert_eq!(sum_all(&x).unwrap().item().unwrap(), 15.0);
        assert!(sum_axis(&x, 2, false).is_err());
        assert_eq!(argmax(&x, 1).unwrap().as_i64().unwrap(), &[2, 2]);
        check_grad(&[&x], |t| mean_axis(t[0], 1, false), 1e-2);
        check_grad(&[&x], |t| sum_axis(t[0], 0, true), 1e-2);
    }
}
