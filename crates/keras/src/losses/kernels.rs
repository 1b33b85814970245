//! Building blocks of the loss functions: fused "row" ops (one value per row of the last
//! axis, with a hand-written gradient), axis permutation, shape helpers.

use keras_engine::ops;

use crate::{keras_bail, Result, Tensor};

/// Keras `backend.epsilon()`.
pub(crate) const EPSILON: f32 = 1e-7;

/// `1 - epsilon` as TensorFlow sees it (the Python float rounded to float32).
pub(crate) const ONE_MINUS_EPSILON: f32 = (1.0f64 - 1e-7) as f32;

/// A shape the way Python prints a tuple: `(4, 5)`, `(4,)`, `()`.
pub(crate) fn fmt_shape(shape: &[usize]) -> String {
    match shape.len() {
        0 => "()".to_string(),
        1 => format!("({},)", shape[0]),
        _ => format!("({})", shape.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")),
    }
}

/// True while a gradient tape records and `x` can receive a gradient.
pub(crate) fn needs_grad(x: &Tensor) -> bool {
    keras_engine::autodiff::is_recording() && x.tracks_grad()
}

/// Converts to float32 keeping gradient history for float tensors (integers are cast).
pub(crate) fn as_float(x: &Tensor) -> Tensor {
    if x.dtype() == keras_engine::DType::F32 {
        x.clone()
    } else {
        x.cast(keras_engine::DType::F32)
    }
}

/// Keras `squeeze_or_expand_to_same_rank(x1, x2)` (differentiable reshapes).
pub(crate) fn squeeze_or_expand(x1: &Tensor, x2: &Tensor) -> Result<(Tensor, Tensor)> {
    let (r1, r2) = (x1.rank(), x2.rank());
    let mut a = x1.clone();
    let mut b = x2.clone();
    if r1 == r2 {
        return Ok((a, b));
    }
    if r1 == r2 + 1 && x1.shape().last() == Some(&1) {
        if r2 == 1 {
            let mut s = b.shape().to_vec();
            s.push(1);
            b = b.reshape(s)?;
        } else {
            let s = a.shape()[..r1 - 1].to_vec();
            a = a.reshape(s)?;
        }
    }
    if r2 == r1 + 1 && x2.shape().last() == Some(&1) {
        if r1 == 1 {
            let mut s = a.shape().to_vec();
            s.push(1);
            a = a.reshape(s)?;
        } else {
            let s = b.shape()[..r2 - 1].to_vec();
            b = b.reshape(s)?;
        }
    }
    Ok((a, b))
}

/// The float32 values of `y_true` broadcast to `shape` (the shape of `y_pred`), or a
/// Keras-like shape error.
pub(crate) fn broadcast_values(y_true: &Tensor, shape: &[usize]) -> Result<Vec<f32>> {
    if y_true.shape() == shape {
        return Ok(y_true.to_f32_vec());
    }
    let ok = ops::broadcast_shapes(y_true.shape(), shape).map(|s| s == shape).unwrap_or(false);
    if !ok {
        keras_bail!(
            Shape,
            "Arguments `y_true` and `y_pred` must have compatible shapes. Received: \
             y_true.shape={}, y_pred.shape={}",
            fmt_shape(y_true.shape()),
            fmt_shape(shape)
        );
    }
    let t = ops::add(&Tensor::zeros(shape.to_vec()), &y_true.cast(keras_engine::DType::F32))?;
    Ok(t.to_f32_vec())
}

/// Splits `shape` around `axis` into `(outer, len, inner)`.
pub(crate) fn split_axis(shape: &[usize], axis: usize) -> (usize, usize, usize) {
    let outer = shape[..axis].iter().product();
    let inner = shape[axis + 1..].iter().product();
    (outer, shape[axis], inner)
}

/// Reorders `(outer, len, inner)` data to `(outer, inner, len)` rows (a copy when either
/// `len` or `inner` is 1).
pub(crate) fn to_rows(x: &[f32], outer: usize, len: usize, inner: usize) -> Vec<f32> {
    if inner == 1 || len == 1 {
        return x.to_vec();
    }
    let mut out = vec![0.0; x.len()];
    for o in 0..outer {
        for l in 0..len {
            for i in 0..inner {
                out[(o * inner + i) * len + l] = x[(o * len + l) * inner + i];
            }
        }
    }
    out
}

/// Inverse of [`to_rows`]: `(outer, inner, len)` rows back to `(outer, len, inner)`, the
/// same transposition with the two sizes swapped.
pub(crate) fn from_rows(x: &[f32], outer: usize, len: usize, inner: usize) -> Vec<f32> {
    to_rows(x, outer, inner, len)
}

/// A fused loss over rows: `x` (the differentiable input, float32) is reduced along `axis`;
/// `t` holds per-element targets in `x`'s layout (already broadcast). `f(t_row, x_row,
/// grad_row)` returns the row's value and, when `grad_row` is `Some`, writes
/// `d value / d x_row` into it. The result has `x`'s shape without `axis`.
pub(crate) fn row_op<F>(t: &[f32], x: &Tensor, axis: isize, f: F) -> Result<Tensor>
where
    F: Fn(&[f32], &[f32], Option<&mut [f32]>) -> f32,
{
    if x.rank() == 0 {
        keras_bail!(
            Shape,
            "Expected `y_pred` of rank >= 1 to reduce along axis {axis}. Received: y_pred.shape=()"
        );
    }
    let ax = ops::normalize_axis(axis, x.rank())?;
    let (outer, len, inner) = split_axis(x.shape(), ax);
    let xs = x.as_f32()?;
    let (tr, xr) = (to_rows(t, outer, len, inner), to_rows(xs, outer, len, inner));
    let mut out_shape = x.shape().to_vec();
    out_shape.remove(ax);
    rows_loss(&tr, &xr, x, len, out_shape, f, move |dx| from_rows(&dx, outer, len, inner))
}

/// The loss `f` of each `len`-long row of `tr` / `xr` (the targets and inputs regrouped in
/// rows), shaped `out_shape`; its gradient scales each row's `d value / d x_row` by the
/// incoming gradient and hands them, row after row, to `back` for `x`'s layout.
fn rows_loss<F>(
    tr: &[f32],
    xr: &[f32],
    x: &Tensor,
    len: usize,
    out_shape: Vec<usize>,
    f: F,
    back: impl Fn(Vec<f32>) -> Vec<f32> + Send + Sync + 'static,
) -> Result<Tensor>
where
    F: Fn(&[f32], &[f32], Option<&mut [f32]>) -> f32,
{
    let rows = out_shape.iter().product::<usize>();
    let want_grad = needs_grad(x);
    let mut values = vec![0.0f32; rows];
    let mut grads = if want_grad { vec![0.0f32; xr.len()] } else { Vec::new() };
    for (r, value) in values.iter_mut().enumerate() {
        let span = r * len..(r + 1) * len;
        let g = if want_grad { Some(&mut grads[span.clone()]) } else { None };
        *value = f(&tr[span.clone()], &xr[span], g);
    }
    if !want_grad {
        return Ok(Tensor::new(values, out_shape)?);
    }
    let in_shape = x.shape().to_vec();
    Ok(Tensor::from_op(
        values,
        out_shape,
        &[x],
        Box::new(move |g, _out, _inputs| {
            let gs = g.as_f32()?;
            let mut dx = grads.clone();
            for (r, &gr) in gs.iter().enumerate() {
                dx[r * len..(r + 1) * len].iter_mut().for_each(|v| *v *= gr);
            }
            Ok(vec![Some(Tensor::new(back(dx), in_shape.clone())?)])
        }),
    )?)
}

/// The flat indices of `shape` grouped by the positions of the axes kept: row `r` of the
/// result (the `r`-th position of the kept axes, row-major) holds, contiguously, the indices
/// of the reduced axes in row-major order. Returns `(kept shape, row length, order)`.
pub(crate) fn group_by_axes(shape: &[usize], reduced: &[usize]) -> (Vec<usize>, usize, Vec<usize>) {
    let kept: Vec<usize> = (0..shape.len()).filter(|d| !reduced.contains(d)).collect();
    let mut red: Vec<usize> = reduced.to_vec();
    red.sort_unstable();
    let strides = keras_engine_strides(shape);
    let out_shape: Vec<usize> = kept.iter().map(|&d| shape[d]).collect();
    let len: usize = red.iter().map(|&d| shape[d]).product();
    let rows: usize = out_shape.iter().product();
    let mut order = Vec::with_capacity(rows * len);
    let mut ki = vec![0usize; kept.len()];
    for _ in 0..rows {
        let base: usize = kept.iter().zip(&ki).map(|(&d, &i)| i * strides[d]).sum();
        let mut ri = vec![0usize; red.len()];
        for _ in 0..len {
            order.push(base + red.iter().zip(&ri).map(|(&d, &i)| i * strides[d]).sum::<usize>());
            advance(&mut ri, &red.iter().map(|&d| shape[d]).collect::<Vec<_>>());
        }
        advance(&mut ki, &out_shape);
    }
    (out_shape, len, order)
}

fn keras_engine_strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1usize; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

/// Row-major increment of a multi-index.
fn advance(idx: &mut [usize], dims: &[usize]) {
    for d in (0..idx.len()).rev() {
        idx[d] += 1;
        if idx[d] < dims[d] {
            return;
        }
        idx[d] = 0;
    }
}

/// Keras's `axis` of a reduction: `None` (every axis), or axes (negative from the end),
/// normalized, distinct.
pub(crate) fn reduction_axes(axis: Option<&[isize]>, rank: usize) -> Result<Vec<usize>> {
    let Some(axes) = axis else { return Ok((0..rank).collect()) };
    let mut out = Vec::with_capacity(axes.len());
    for &a in axes {
        let n = ops::normalize_axis(a, rank).map_err(|_| {
            crate::Error::InvalidArgument(format!("axis {a} is out of bounds for array of dimension {rank}"))
        })?;
        if out.contains(&n) {
            keras_bail!(InvalidArgument, "duplicate value in 'axis': {axes:?}");
        }
        out.push(n);
    }
    Ok(out)
}

/// [`row_op`] over any set of axes: `x` (the differentiable input) is reduced over `axes`
/// (`None`: all of them, giving a 0-d result); `t` holds per-element targets in `x`'s layout.
pub(crate) fn axes_op<F>(t: &[f32], x: &Tensor, axes: Option<&[isize]>, f: F) -> Result<Tensor>
where
    F: Fn(&[f32], &[f32], Option<&mut [f32]>) -> f32,
{
    let red = reduction_axes(axes, x.rank())?;
    let (out_shape, len, order) = group_by_axes(x.shape(), &red);
    let xs = x.as_f32()?;
    let tr: Vec<f32> = order.iter().map(|&i| t[i]).collect();
    let xr: Vec<f32> = order.iter().map(|&i| xs[i]).collect();
    rows_loss(&tr, &xr, x, len, out_shape, f, move |rows| {
        let mut dx = vec![0.0f32; rows.len()];
        for (k, v) in rows.into_iter().enumerate() {
            dx[order[k]] = v;
        }
        dx
    })
}

/// An element-wise loss averaged (or summed) over the last axis: `f(t, p) -> (value,
/// d value / d p)`.
pub(crate) fn elementwise_last_axis<F>(t: &[f32], x: &Tensor, mean: bool, f: F) -> Result<Tensor>
where
    F: Fn(f32, f32) -> (f32, f32),
{
    row_op(t, x, -1, |tr, xr, grad| {
        let n = xr.len() as f32;
        let mut sum = 0.0f32;
        match grad {
            Some(g) => {
                for j in 0..xr.len() {
                    let (v, d) = f(tr[j], xr[j]);
                    sum += v;
                    g[j] = if mean { d / n } else { d };
                }
            }
            None => {
                for j in 0..xr.len() {
                    sum += f(tr[j], xr[j]).0;
                }
            }
        }
        if mean {
            sum / n
        } else {
            sum
        }
    })
}

/// TensorFlow's `x > 0 ? 1 : x < 0 ? -1 : 0`.
pub(crate) fn sign(x: f32) -> f32 {
    if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else {
        0.0
    }
}

/// Numerically stable `log(1 + exp(x))` (TensorFlow's softplus).
pub(crate) fn softplus(x: f32) -> f32 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

/// Numerically stable sigmoid.
pub(crate) fn sigmoid(x: f32) -> f32 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_round_trip() {
        let x: Vec<f32> = (0..24).map(|v| v as f32).collect();
        let r = to_rows(&x, 2, 3, 4);
        assert_eq!(from_rows(&r, 2, 3, 4), x);
        assert_eq!(r[0..3], [0.0, 4.0, 8.0]);
    }

    #[test]
    fn groups_follow_the_reduced_axes() {
        // shape (2, 3, 2), reduce axes 0 and 2: rows are the 3 positions of axis 1.
        let (shape, len, order) = group_by_axes(&[2, 3, 2], &[0, 2]);
        assert_eq!((shape, len), (vec![3], 4));
        assert_eq!(&order[..4], &[0, 1, 6, 7]);
        let (shape, len, order) = group_by_axes(&[2, 3], &[0, 1]);
        assert_eq!((shape.len(), len, order), (0, 6, vec![0, 1, 2, 3, 4, 5]));
        assert!(reduction_axes(Some(&[0, -2]), 2).is_err());
        assert!(reduction_axes(Some(&[2]), 2).is_err());
    }

    #[test]
    fn shapes_print_like_python() {
        assert_eq!(fmt_shape(&[4]), "(4,)");
        assert_eq!(fmt_shape(&[4, 5]), "(4, 5)");
        assert_eq!(fmt_shape(&[]), "()");
    }
}
