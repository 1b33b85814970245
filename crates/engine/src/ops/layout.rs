//! Differentiable data-movement ops: transpose, zero padding, slicing, repeating along an
//! axis, and bilinear 2-D resizing (channels-last). They back Keras's reshaping layers.

use crate::autodiff::record;
use crate::ops::reduce::{normalize_axis, split_axis};
use crate::tensor::Tensor;
use crate::{bail, EngineError, Result};

/// Row-major strides (in elements) of `shape`.
pub(crate) fn strides_of(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

/// For every position of `shape` in row-major order, `sum(index[d] * strides[d])`.
pub(crate) fn offsets(shape: &[usize], strides: &[usize]) -> Vec<usize> {
    let total: usize = shape.iter().product();
    let mut out = Vec::with_capacity(total);
    if total == 0 {
        return out;
    }
    let n = shape.len();
    let mut idx = vec![0usize; n];
    let mut off = 0usize;
    for _ in 0..total {
        out.push(off);
        let mut d = n;
        while d > 0 {
            d -= 1;
            idx[d] += 1;
            off += strides[d];
            if idx[d] < shape[d] {
                break;
            }
            off -= strides[d] * idx[d];
            idx[d] = 0;
        }
    }
    out
}

/// Permutes the axes: `out.shape[i] = x.shape[perm[i]]` (numpy `transpose`; differentiable).
pub fn transpose(x: &Tensor, perm: &[usize]) -> Result<Tensor> {
    let rank = x.rank();
    let mut seen = vec![false; rank];
    if perm.len() != rank || perm.iter().any(|&p| p >= rank || std::mem::replace(&mut seen[p], true)) {
        bail!("transpose: {perm:?} is not a permutation of the {rank} axes of shape {:?}", x.shape());
    }
    if perm.iter().enumerate().all(|(i, &p)| i == p) {
        return Ok(x.clone());
    }
    let xs = x.as_f32()?;
    let in_strides = strides_of(x.shape());
    let out_shape: Vec<usize> = perm.iter().map(|&p| x.shape()[p]).collect();
    let src_strides: Vec<usize> = perm.iter().map(|&p| in_strides[p]).collect();
    let offs = offsets(&out_shape, &src_strides);
    let data: Vec<f32> = offs.iter().map(|&o| xs[o]).collect();
    let out = Tensor::from_f32_unchecked(data, out_shape);
    record(
        out,
        &[x],
        Box::new(move |g, _out, inputs| {
            let gs = g.as_f32()?;
            let mut dx = vec![0.0f32; gs.len()];
            for (&o, &v) in offs.iter().zip(gs) {
                dx[o] = v;
            }
            Ok(vec![Some(Tensor::from_f32_unchecked(dx, inputs[0].shape().to_vec()))])
        }),
    )
}

/// Copies the box `size` at `src_at` of `src` (shape `src_shape`) to `dst_at` of `dst`.
fn copy_box(
    src: &[f32],
    src_shape: &[usize],
    src_at: &[usize],
    dst: &mut [f32],
    dst_shape: &[usize],
    dst_at: &[usize],
    size: &[usize],
) {
    let rank = size.len();
    if rank == 0 {
        if !dst.is_empty() && !src.is_empty() {
            dst[0] = src[0];
        }
        return;
    }
    if size.contains(&0) {
        return;
    }
    let (ss, ds) = (strides_of(src_shape), strides_of(dst_shape));
    let base = |at: &[usize], st: &[usize]| at.iter().zip(st).map(|(a, s)| a * s).sum::<usize>();
    let (sb, db) = (base(src_at, &ss), base(dst_at, &ds));
    let run = size[rank - 1];
    let rows = &size[..rank - 1];
    let src_rows = offsets(rows, &ss[..rank - 1]);
    let dst_rows = offsets(rows, &ds[..rank - 1]);
    for (so, dof) in src_rows.iter().zip(&dst_rows) {
        let s = sb + so;
        let d = db + dof;
        dst[d..d + run].copy_from_slice(&src[s..s + run]);
    }
}

/// Zero padding: `pads[d] = [before, after]` for every axis (differentiable).
pub fn pad(x: &Tensor, pads: &[[usize; 2]]) -> Result<Tensor> {
    if pads.len() != x.rank() {
        bail!(
            "pad: {} (before, after) pairs for a tensor of rank {} (shape {:?})",
            pads.len(),
            x.rank(),
            x.shape()
        );
    }
    let in_shape = x.shape().to_vec();
    // Pads can come from a config (a huge dilation with "same" padding): checked sizes and a
    // fallible allocation turn them into an error instead of an overflow or an abort.
    let out_shape: Vec<usize> = in_shape
        .iter()
        .zip(pads)
        .map(|(d, p)| d.checked_add(p[0])?.checked_add(p[1]))
        .collect::<Option<_>>()
        .ok_or_else(|| EngineError::new(format!("pad: shape {in_shape:?} padded by {pads:?} overflows")))?;
    let at: Vec<usize> = pads.iter().map(|p| p[0]).collect();
    let mut data = crate::alloc::try_filled(crate::alloc::checked_numel(&out_shape, 4)?, 0.0f32)?;
    copy_box(x.as_f32()?, &in_shape, &vec![0; in_shape.len()], &mut data, &out_shape, &at, &in_shape);
    let out = Tensor::from_f32_unchecked(data, out_shape.clone());
    record(
        out,
        &[x],
        Box::new(move |g, _out, _inputs| {
            let mut dx = vec![0.0f32; in_shape.iter().product()];
            copy_box(g.as_f32()?, &out_shape, &at, &mut dx, &in_shape, &vec![0; in_shape.len()], &in_shape);
            Ok(vec![Some(Tensor::from_f32_unchecked(dx, in_shape.clone()))])
        }),
    )
}

/// The box of `size` starting at `begin` (differentiable; cropping).
pub fn slice(x: &Tensor, begin: &[usize], size: &[usize]) -> Result<Tensor> {
    let shape = x.shape().to_vec();
    if begin.len() != shape.len()
        || size.len() != shape.len()
        || begin.iter().zip(size).zip(&shape).any(|((b, s), d)| b + s > *d)
    {
        bail!("slice: begin {begin:?} and size {size:?} do not fit in shape {shape:?}");
    }
    let mut data = vec![0.0f32; size.iter().product()];
    copy_box(x.as_f32()?, &shape, begin, &mut data, size, &vec![0; size.len()], size);
    let out = Tensor::from_f32_unchecked(data, size.to_vec());
    let (begin, size) = (begin.to_vec(), size.to_vec());
    record(
        out,
        &[x],
        Box::new(move |g, _out, _inputs| {
            let mut dx = vec![0.0f32; shape.iter().product()];
            copy_box(g.as_f32()?, &size, &vec![0; size.len()], &mut dx, &shape, &begin, &size);
            Ok(vec![Some(Tensor::from_f32_unchecked(dx, shape.clone()))])
        }),
    )
}

/// Repeats every element `repeats` times along `axis` (numpy `repeat`; differentiable).
/// Nearest-neighbour up-sampling is a repeat along each spatial axis.
pub fn repeat(x: &Tensor, repeats: usize, axis: isize) -> Result<Tensor> {
    let ax = normalize_axis(axis, x.rank())?;
    if repeats == 0 {
        bail!("repeat: repeats must be positive, got 0");
    }
    let (outer, len, inner) = split_axis(x.shape(), ax);
    let xs = x.as_f32()?;
    let mut data = Vec::with_capacity(xs.len() * repeats);
    for o in 0..outer {
        for l in 0..len {
            let row = &xs[(o * len + l) * inner..(o * len + l + 1) * inner];
            for _ in 0..repeats {
                data.extend_from_slice(row);
            }
        }
    }
    let mut out_shape = x.shape().to_vec();
    out_shape[ax] *= repeats;
    let out = Tensor::from_f32_unchecked(data, out_shape);
    record(
        out,
        &[x],
        Box::new(move |g, _out, inputs| {
            let gs = g.as_f32()?;
            let mut dx = vec![0.0f32; outer * len * inner];
            for o in 0..outer {
                for l in 0..len {
                    let dst = &mut dx[(o * len + l) * inner..(o * len + l + 1) * inner];
                    for r in 0..repeats {
                        let at = ((o * len + l) * repeats + r) * inner;
                        dst.iter_mut().zip(&gs[at..at + inner]).for_each(|(d, s)| *d += s);
                    }
                }
            }
            Ok(vec![Some(Tensor::from_f32_unchecked(dx, inputs[0].shape().to_vec()))])
        }),
    )
}

/// Interpolation taps of one axis: `(lower, upper, weight of upper)` per output position,
/// TensorFlow's half-pixel-centre bilinear rule.
fn bilinear_taps(input: usize, output: usize) -> Vec<(usize, usize, f32)> {
    let scale = input as f32 / output as f32;
    (0..output)
        .map(|o| {
            let src = (o as f32 + 0.5) * scale - 0.5;
            let fl = src.floor();
            let lower = (fl.max(0.0) as usize).min(input - 1);
            let upper = (src.ceil().max(0.0) as usize).min(input - 1);
            (lower, upper, src - fl)
        })
        .collect()
}

/// Bilinear resize of NHWC images to `[out_h, out_w]` with half-pixel centres and no
/// antialiasing (TensorFlow `tf.image.resize(..., "bilinear")` when up-sampling;
/// differentiable).
pub fn resize_bilinear(x: &Tensor, out_h: usize, out_w: usize) -> Result<Tensor> {
    let [n, h, w, c] = match x.shape() {
        [n, h, w, c] => [*n, *h, *w, *c],
        s => bail!("resize_bilinear expects a 4-D input (batch, height, width, channels), got shape {s:?}"),
    };
    if h == 0 || w == 0 || out_h == 0 || out_w == 0 {
        bail!("resize_bilinear: empty image size {h}x{w} -> {out_h}x{out_w}");
    }
    let (th, tw) = (bilinear_taps(h, out_h), bilinear_taps(w, out_w));
    let xs = x.as_f32()?;
    let mut data = vec![0.0f32; n * out_h * out_w * c];
    // Visits every (output index, input index, weight) contribution.
    let visit = move |f: &mut dyn FnMut(usize, usize, f32)| {
        for b in 0..n {
            for (oy, &(y0, y1, wy)) in th.iter().enumerate() {
                for (ox, &(x0, x1, wx)) in tw.iter().enumerate() {
                    let o = ((b * out_h + oy) * out_w + ox) * c;
                    for (yy, fy) in [(y0, 1.0 - wy), (y1, wy)] {
                        for (xx, fx) in [(x0, 1.0 - wx), (x1, wx)] {
                            let i = ((b * h + yy) * w + xx) * c;
                            for k in 0..c {
                                f(o + k, i + k, fy * fx);
                            }
                        }
                    }
                }
            }
        }
    };
    visit(&mut |o, i, wt| data[o] += wt * xs[i]);
    let out = Tensor::from_f32_unchecked(data, vec![n, out_h, out_w, c]);
    record(
        out,
        &[x],
        Box::new(move |g, _out, inputs| {
            let gs = g.as_f32()?;
            let mut dx = vec![0.0f32; n * h * w * c];
            visit(&mut |o, i, wt| dx[i] += wt * gs[o]);
            Ok(vec![Some(Tensor::from_f32_unchecked(dx, inputs[0].shape().to_vec()))])
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::check_grad;

    fn t(shape: &[usize]) -> Tensor {
        let n: usize = shape.iter().product();
        Tensor::new((0..n).map(|i| (i as f32 * 0.731).sin()).collect(), shape.to_vec()).unwrap()
    }

    #[test]
    fn transpose_values_and_grads() {
        let x = Tensor::new((0..6).map(|v| v as f32).collect(), [2, 3]).unwrap();
        let y = transpose(&x, &[1, 0]).unwrap();
        assert_eq!(y.shape(), &[3, 2]);
        assert_eq!(y.as_f32().unwrap(), &[0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
        check_grad(&[&t(&[2, 3, 4])], |v| transpose(v[0], &[2, 0, 1]), 1e-2);
        assert!(transpose(&x, &[0, 0]).is_err());
        assert!(transpose(&x, &[0]).is_err());
    }

    #[test]
    fn pad_sizes_from_a_config_are_errors_not_aborts() {
        let x = Tensor::zeros([1, 2, 2, 1]);
        let e = pad(&x, &[[0, 0], [usize::MAX, 1], [0, 0], [0, 0]]).unwrap_err().to_string();
        assert!(e.contains("overflows"), "{e}");
        let e = pad(&x, &[[0, 0], [1 << 40, 1 << 40], [1 << 20, 0], [0, 0]]).unwrap_err().to_string();
        assert!(e.contains("too large to allocate"), "{e}");
        assert_eq!(pad(&x, &[[0, 0], [1, 0], [0, 2], [0, 0]]).unwrap().shape(), &[1, 3, 4, 1]);
    }

    #[test]
    fn pad_and_slice_are_inverse() {
        let x = t(&[2, 3, 4, 2]);
        let p = pad(&x, &[[0, 0], [1, 0], [2, 1], [0, 0]]).unwrap();
        assert_eq!(p.shape(), &[2, 4, 7, 2]);
        let back = slice(&p, &[0, 1, 2, 0], &[2, 3, 4, 2]).unwrap();
        assert_eq!(back.as_f32().unwrap(), x.as_f32().unwrap());
        assert_eq!(p.as_f32().unwrap()[0], 0.0);
        check_grad(&[&x], |v| pad(v[0], &[[0, 0], [1, 2], [0, 1], [0, 0]]), 1e-2);
        check_grad(&[&x], |v| slice(v[0], &[1, 0, 1, 0], &[1, 2, 2, 2]), 1e-2);
        assert!(slice(&x, &[0, 2, 0, 0], &[2, 2, 4, 2]).is_err());
        assert!(pad(&x, &[[0, 0]]).is_err());
    }

    #[test]
    fn repeat_values_and_grads() {
        let x = Tensor::new(vec![1.0, 2.0, 3.0, 4.0], [2, 2]).unwrap();
        assert_eq!(repeat(&x, 2, 1).unwrap().as_f32().unwrap(), &[1.0, 1.0, 2.0, 2.0, 3.0, 3.0, 4.0, 4.0]);
        assert_eq!(repeat(&x, 2, 0).unwrap().as_f32().unwrap(), &[1.0, 2.0, 1.0, 2.0, 3.0, 4.0, 3.0, 4.0]);
        check_grad(&[&t(&[2, 3, 2])], |v| repeat(v[0], 3, 1), 1e-2);
        assert!(repeat(&x, 0, 0).is_err());
        assert!(repeat(&x, 2, 2).is_err());
    }

    #[test]
    fn bilinear_resize_values_and_grads() {
        // 1x2 -> 1x4 with half-pixel centres: [a, .75a+.25b, .25a+.75b, b].
        let x = Tensor::new(vec![0.0, 4.0], [1, 1, 2, 1]).unwrap();
        let y = resize_bilinear(&x, 1, 4).unwrap();
        assert_eq!(y.as_f32().unwrap(), &[0.0, 1.0, 3.0, 4.0]);
        check_grad(&[&t(&[2, 3, 2, 2])], |v| resize_bilinear(v[0], 6, 4), 1e-2);
        assert!(resize_bilinear(&t(&[2, 3]), 2, 2).is_err());
    }
}
