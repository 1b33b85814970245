//! Normalization ops with fused forward/backward passes (batch and layer normalization), and
//! mean/max reductions over several axes (global pooling).

use crate::autodiff::record;
use crate::ops::inference::ChannelNorm;
use crate::ops::layout::{offsets, strides_of, transpose};
use crate::ops::reduce::{normalize_axis, split_axis};
use crate::tensor::Tensor;
use crate::{bail, Result};

/// Channels-last rows are normalized in blocks of about this many values (fewer, larger
/// parallel tasks than one row each).
const ROW_BLOCK: usize = 4096;

/// Checks an optional per-feature parameter (gamma or beta) of `len` elements.
fn param<'a>(p: Option<&'a Tensor>, len: usize, what: &str) -> Result<Option<&'a [f32]>> {
    match p {
        None => Ok(None),
        Some(t) if t.numel() == len => Ok(Some(t.as_f32()?)),
        Some(t) => bail!("{what}: expected {len} values, got shape {:?}", t.shape()),
    }
}

/// The incoming gradient, the input and gamma's values (if any) of a normalization's backward.
type GradInputs<'a> = (&'a [f32], &'a [f32], Option<&'a [f32]>);

/// What a normalization's backward reads: the incoming gradient, the input and gamma's
/// values when the op had a gamma (at input `gi`, see [`op_inputs`]).
fn grad_inputs<'a>(g: &'a Tensor, inputs: &'a [Tensor], gi: Option<usize>) -> Result<GradInputs<'a>> {
    let (dy, xs) = (g.as_f32()?, inputs[0].as_f32()?);
    let gvals = match gi {
        Some(k) => Some(inputs[k].as_f32()?),
        None => None,
    };
    Ok((dy, xs, gvals))
}

/// Collects `x` and the present parameters as op inputs; returns them with the position
/// of gamma and beta among them.
fn op_inputs<'a>(
    x: &'a Tensor,
    gamma: Option<&'a Tensor>,
    beta: Option<&'a Tensor>,
) -> (Vec<&'a Tensor>, Option<usize>, Option<usize>) {
    let mut inputs = vec![x];
    let gi = gamma.map(|g| {
        inputs.push(g);
        inputs.len() - 1
    });
    let bi = beta.map(|b| {
        inputs.push(b);
        inputs.len() - 1
    });
    (inputs, gi, bi)
}

/// Batch normalization over every axis but `axis`, in training mode: normalizes with the
/// batch mean and the biased batch variance, then scales by `gamma` and shifts by `beta`
/// (each of `x.shape[axis]` values, optional). Returns `(output, mean, variance)`; the
/// output is differentiable w.r.t. `x`, `gamma` and `beta` (full gradient through the
/// statistics, as `tf.nn.moments` + `tf.nn.batch_normalization`).
pub fn batch_norm_train(
    x: &Tensor,
    axis: isize,
    gamma: Option<&Tensor>,
    beta: Option<&Tensor>,
    epsilon: f32,
) -> Result<(Tensor, Vec<f32>, Vec<f32>)> {
    let ax = normalize_axis(axis, x.rank())?;
    let (outer, c, inner) = split_axis(x.shape(), ax);
    let count = outer * inner;
    if count == 0 {
        bail!("batch_norm: cannot compute statistics of an empty batch (shape {:?})", x.shape());
    }
    let xs = x.as_f32()?;
    let gs = param(gamma, c, "batch_norm gamma")?;
    let bs = param(beta, c, "batch_norm beta")?;
    let at = move |o: usize, ch: usize, i: usize| (o * c + ch) * inner + i;
    let mut mean = vec![0.0f32; c];
    let mut var = vec![0.0f32; c];
    for ch in 0..c {
        let mut s = 0.0f64;
        for o in 0..outer {
            for i in 0..inner {
                s += xs[at(o, ch, i)] as f64;
            }
        }
        let m = s / count as f64;
        let mut v = 0.0f64;
        for o in 0..outer {
            for i in 0..inner {
                let d = xs[at(o, ch, i)] as f64 - m;
                v += d * d;
            }
        }
        mean[ch] = m as f32;
        var[ch] = (v / count as f64) as f32;
    }
    let inv: Vec<f32> = var.iter().map(|v| 1.0 / (v + epsilon).sqrt()).collect();
    let mut out = vec![0.0f32; xs.len()];
    for o in 0..outer {
        for ch in 0..c {
            let (scale, shift) = (gs.map_or(1.0, |g| g[ch]), bs.map_or(0.0, |b| b[ch]));
            let k = inv[ch] * scale;
            for i in 0..inner {
                let j = at(o, ch, i);
                out[j] = (xs[j] - mean[ch]) * k + shift;
            }
        }
    }
    let out = Tensor::from_f32_unchecked(out, x.shape().to_vec());
    let (inputs, gi, bi) = op_inputs(x, gamma, beta);
    let saved_mean = mean.clone();
    let out = record(
        out,
        &inputs,
        Box::new(move |g, _out, inputs| {
            let (dy, xs, gvals) = grad_inputs(g, inputs, gi)?;
            let mut dgamma = vec![0.0f32; c];
            let mut dbeta = vec![0.0f32; c];
            let mut dx = vec![0.0f32; xs.len()];
            for ch in 0..c {
                let scale = gvals.map_or(1.0, |g| g[ch]);
                let (m, iv) = (saved_mean[ch], inv[ch]);
                let (mut sum_dy, mut sum_dy_xhat) = (0.0f64, 0.0f64);
                for o in 0..outer {
                    for i in 0..inner {
                        let j = at(o, ch, i);
                        sum_dy += dy[j] as f64;
                        sum_dy_xhat += (dy[j] * (xs[j] - m) * iv) as f64;
                    }
                }
                dgamma[ch] = sum_dy_xhat as f32;
                dbeta[ch] = sum_dy as f32;
                let n = count as f32;
                let (mean_dy, mean_dy_xhat) = (sum_dy as f32 / n, sum_dy_xhat as f32 / n);
                for o in 0..outer {
                    for i in 0..inner {
                        let j = at(o, ch, i);
                        let xhat = (xs[j] - m) * iv;
                        dx[j] = scale * iv * (dy[j] - mean_dy - xhat * mean_dy_xhat);
                    }
                }
            }
            let mut grads = vec![Some(Tensor::from_f32_unchecked(dx, inputs[0].shape().to_vec()))];
            if let Some(k) = gi {
                grads.push(Some(Tensor::from_f32_unchecked(dgamma, inputs[k].shape().to_vec())));
            }
            if let Some(k) = bi {
                grads.push(Some(Tensor::from_f32_unchecked(dbeta, inputs[k].shape().to_vec())));
            }
            Ok(grads)
        }),
    )?;
    Ok((out, mean, var))
}

/// Batch normalization with given statistics (inference mode):
/// `(x - mean) / sqrt(variance + epsilon) * gamma + beta` along `axis`. Differentiable
/// w.r.t. `x`, `gamma` and `beta`; the statistics are constants.
pub fn batch_norm_inference(
    x: &Tensor,
    axis: isize,
    mean: &[f32],
    variance: &[f32],
    gamma: Option<&Tensor>,
    beta: Option<&Tensor>,
    epsilon: f32,
) -> Result<Tensor> {
    let ax = normalize_axis(axis, x.rank())?;
    let (outer, c, inner) = split_axis(x.shape(), ax);
    if mean.len() != c || variance.len() != c {
        bail!(
            "batch_norm: statistics of {} and {} values for {c} features (shape {:?}, axis {axis})",
            mean.len(),
            variance.len(),
            x.shape()
        );
    }
    let xs = x.as_f32()?;
    let gs = param(gamma, c, "batch_norm gamma")?;
    let bs = param(beta, c, "batch_norm beta")?;
    // Per channel: y = (x - mean) * k + shift, the same map the fused inference convolutions
    // apply (crate::ops::inference), so both give the same bits.
    let norm = ChannelNorm::new(mean, variance, gs, bs, epsilon)?;
    // For the backward pass.
    let inv: Vec<f32> = variance.iter().map(|v| 1.0 / (v + epsilon).sqrt()).collect();
    let mean = mean.to_vec();
    let at = move |o: usize, ch: usize, i: usize| (o * c + ch) * inner + i;
    let mut out = vec![0.0f32; xs.len()];
    if c > 0 && !xs.is_empty() {
        // Whole rows of `c` channels (channels last) or one channel plane of `inner` values
        // per chunk: tight loops, chunks in parallel for large tensors.
        let len = if inner == 1 { c * (ROW_BLOCK / c).max(1) } else { inner };
        let chunk = |(o, (dst, src)): (usize, (&mut [f32], &[f32]))| {
            if inner == 1 {
                norm.map_rows(dst, src);
            } else {
                norm.map_plane(o % c, dst, src);
            }
        };
        if xs.len() >= crate::parallel::ELEMENTWISE_PARALLEL_MIN {
            use rayon::prelude::*;
            out.par_chunks_mut(len).zip(xs.par_chunks(len)).enumerate().for_each(chunk);
        } else {
            out.chunks_mut(len).zip(xs.chunks(len)).enumerate().for_each(chunk);
        }
    }
    let out = Tensor::from_f32_unchecked(out, x.shape().to_vec());
    let (inputs, gi, bi) = op_inputs(x, gamma, beta);
    record(
        out,
        &inputs,
        Box::new(move |g, _out, inputs| {
            let (dy, xs, gvals) = grad_inputs(g, inputs, gi)?;
            let mut dx = vec![0.0f32; xs.len()];
            let mut dgamma = vec![0.0f32; c];
            let mut dbeta = vec![0.0f32; c];
            let k: Vec<f32> = (0..c).map(|ch| inv[ch] * gvals.map_or(1.0, |g| g[ch])).collect();
            if inner == 1 {
                // Channels last: whole rows at once, in the same order of accumulation.
                for o in 0..outer {
                    let r = o * c..(o + 1) * c;
                    let (dyr, xr, dxr) = (&dy[r.clone()], &xs[r.clone()], &mut dx[r]);
                    for ch in 0..c {
                        dxr[ch] = dyr[ch] * k[ch];
                        dgamma[ch] += dyr[ch] * (xr[ch] - mean[ch]) * inv[ch];
                        dbeta[ch] += dyr[ch];
                    }
                }
            } else {
                for o in 0..outer {
                    for ch in 0..c {
                        for i in 0..inner {
                            let j = at(o, ch, i);
                            dx[j] = dy[j] * k[ch];
                            dgamma[ch] += dy[j] * (xs[j] - mean[ch]) * inv[ch];
                            dbeta[ch] += dy[j];
                        }
                    }
                }
            }
            let mut grads = vec![Some(Tensor::from_f32_unchecked(dx, inputs[0].shape().to_vec()))];
            if let Some(k) = gi {
                grads.push(Some(Tensor::from_f32_unchecked(dgamma, inputs[k].shape().to_vec())));
            }
            if let Some(k) = bi {
                grads.push(Some(Tensor::from_f32_unchecked(dbeta, inputs[k].shape().to_vec())));
            }
            Ok(grads)
        }),
    )
}

/// Sorted, de-duplicated, non-negative axes; errors on out-of-range or repeated axes.
pub fn normalize_axes(axes: &[isize], rank: usize) -> Result<Vec<usize>> {
    let mut out = Vec::with_capacity(axes.len());
    for &a in axes {
        let n = normalize_axis(a, rank)?;
        if out.contains(&n) {
            bail!("duplicate axis {a} in {axes:?} for a tensor of rank {rank}");
        }
        out.push(n);
    }
    out.sort_unstable();
    Ok(out)
}

/// Layer normalization over the trailing `k` elements of each row.
fn layer_norm_last(
    x: &Tensor,
    k: usize,
    gamma: Option<&Tensor>,
    beta: Option<&Tensor>,
    epsilon: f32,
) -> Result<Tensor> {
    let xs = x.as_f32()?;
    let gs = param(gamma, k, "layer_norm gamma")?;
    let bs = param(beta, k, "layer_norm beta")?;
    let rows = xs.len().checked_div(k).unwrap_or(0);
    let mut out = vec![0.0f32; xs.len()];
    let mut inv = vec![0.0f32; rows];
    let mut means = vec![0.0f32; rows];
    for r in 0..rows {
        let row = &xs[r * k..(r + 1) * k];
        let m = row.iter().map(|&v| v as f64).sum::<f64>() / k as f64;
        let v = row.iter().map(|&v| (v as f64 - m) * (v as f64 - m)).sum::<f64>() / k as f64;
        let iv = 1.0 / (v as f32 + epsilon).sqrt();
        let m = m as f32;
        (means[r], inv[r]) = (m, iv);
        for (j, (&xv, o)) in row.iter().zip(&mut out[r * k..(r + 1) * k]).enumerate() {
            *o = (xv - m) * iv * gs.map_or(1.0, |g| g[j]) + bs.map_or(0.0, |b| b[j]);
        }
    }
    let out = Tensor::from_f32_unchecked(out, x.shape().to_vec());
    let (inputs, gi, bi) = op_inputs(x, gamma, beta);
    record(
        out,
        &inputs,
        Box::new(move |g, _out, inputs| {
            let (dy, xs, gvals) = grad_inputs(g, inputs, gi)?;
            let mut dx = vec![0.0f32; xs.len()];
            let mut dgamma = vec![0.0f32; k];
            let mut dbeta = vec![0.0f32; k];
            let mut dxhat = vec![0.0f32; k];
            for r in 0..rows {
                let (m, iv) = (means[r], inv[r]);
                let (mut s1, mut s2) = (0.0f32, 0.0f32);
                for j in 0..k {
                    let i = r * k + j;
                    let xhat = (xs[i] - m) * iv;
                    dgamma[j] += dy[i] * xhat;
                    dbeta[j] += dy[i];
                    dxhat[j] = dy[i] * gvals.map_or(1.0, |g| g[j]);
                    s1 += dxhat[j];
                    s2 += dxhat[j] * xhat;
                }
                let (s1, s2) = (s1 / k as f32, s2 / k as f32);
                let rows_x = xs[r * k..(r + 1) * k].iter().zip(&mut dx[r * k..(r + 1) * k]);
                for ((&xv, d), &dh) in rows_x.zip(&dxhat) {
                    *d = iv * (dh - s1 - (xv - m) * iv * s2);
                }
            }
            let mut grads = vec![Some(Tensor::from_f32_unchecked(dx, inputs[0].shape().to_vec()))];
            if let Some(i) = gi {
                grads.push(Some(Tensor::from_f32_unchecked(dgamma, inputs[i].shape().to_vec())));
            }
            if let Some(i) = bi {
                grads.push(Some(Tensor::from_f32_unchecked(dbeta, inputs[i].shape().to_vec())));
            }
            Ok(grads)
        }),
    )
}

/// Layer normalization over `axes`: each slice along those axes is normalized with its own
/// mean and (biased) variance, then scaled by `gamma` and shifted by `beta`, whose shape is
/// the normalized axes' sizes in increasing axis order (Keras `ops.layer_normalization`;
/// differentiable w.r.t. `x`, `gamma` and `beta`).
pub fn layer_norm(
    x: &Tensor,
    axes: &[isize],
    gamma: Option<&Tensor>,
    beta: Option<&Tensor>,
    epsilon: f32,
) -> Result<Tensor> {
    let axes = normalize_axes(axes, x.rank())?;
    if axes.is_empty() {
        bail!("layer_norm needs at least one axis");
    }
    let rank = x.rank();
    let k: usize = axes.iter().map(|&a| x.shape()[a]).product();
    let mut perm: Vec<usize> = (0..rank).filter(|a| !axes.contains(a)).collect();
    perm.extend(&axes);
    if perm.iter().enumerate().all(|(i, &p)| i == p) {
        return layer_norm_last(x, k, gamma, beta, epsilon);
    }
    let mut inverse = vec![0; rank];
    for (i, &p) in perm.iter().enumerate() {
        inverse[p] = i;
    }
    let moved = transpose(x, &perm)?;
    let y = layer_norm_last(&moved, k, gamma, beta, epsilon)?;
    transpose(&y, &inverse)
}

/// Which reduction [`reduce_axes`] applies.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Reduction {
    Mean,
    Max,
}

fn reduce_axes(x: &Tensor, axes: &[isize], keepdims: bool, kind: Reduction) -> Result<Tensor> {
    let axes = normalize_axes(axes, x.rank())?;
    let shape = x.shape().to_vec();
    let kept: Vec<usize> =
        shape.iter().enumerate().map(|(d, &n)| if axes.contains(&d) { 1 } else { n }).collect();
    let count: usize = axes.iter().map(|&a| shape[a]).product();
    if count == 0 {
        bail!("cannot reduce over empty axes {axes:?} of shape {shape:?}");
    }
    let mut ostrides = strides_of(&kept);
    for &a in &axes {
        ostrides[a] = 0;
    }
    let map = offsets(&shape, &ostrides);
    let xs = x.as_f32()?;
    let n_out: usize = kept.iter().product();
    let mut out = vec![if kind == Reduction::Max { f32::NEG_INFINITY } else { 0.0 }; n_out];
    for (&o, &v) in map.iter().zip(xs) {
        match kind {
            Reduction::Mean => out[o] += v,
            Reduction::Max => {
                if v > out[o] || v.is_nan() {
                    out[o] = v;
                }
            }
        }
    }
    if kind == Reduction::Mean {
        out.iter_mut().for_each(|v| *v /= count as f32);
    }
    let out_shape: Vec<usize> = if keepdims {
        kept
    } else {
        shape.iter().enumerate().filter(|(d, _)| !axes.contains(d)).map(|(_, &n)| n).collect()
    };
    let out = Tensor::from_f32_unchecked(out, out_shape);
    record(
        out,
        &[x],
        Box::new(move |g, y, inputs| {
            let (gs, ys, xs) = (g.as_f32()?, y.as_f32()?, inputs[0].as_f32()?);
            let dx: Vec<f32> = match kind {
                Reduction::Mean => map.iter().map(|&o| gs[o] / count as f32).collect(),
                Reduction::Max => {
                    // TensorFlow splits the gradient evenly between tied maxima.
                    let mut ties = vec![0u32; ys.len()];
                    for (&o, &v) in map.iter().zip(xs) {
                        ties[o] += (v == ys[o]) as u32;
                    }
                    map.iter()
                        .zip(xs)
                        .map(|(&o, &v)| if v == ys[o] { gs[o] / ties[o] as f32 } else { 0.0 })
                        .collect()
                }
            };
            Ok(vec![Some(Tensor::from_f32_unchecked(dx, inputs[0].shape().to_vec()))])
        }),
    )
}

/// Mean over several axes (differentiable).
pub fn mean_axes(x: &Tensor, axes: &[isize], keepdims: bool) -> Result<Tensor> {
    reduce_axes(x, axes, keepdims, Reduction::Mean)
}

/// Maximum over several axes (differentiable; ties share the gradient, as TensorFlow).
pub fn max_axes(x: &Tensor, axes: &[isize], keepdims: bool) -> Result<Tensor> {
    reduce_axes(x, axes, keepdims, Reduction::Max)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::check_grad;

    fn t(shape: &[usize], seed: f32) -> Tensor {
        let n: usize = shape.iter().product();
        Tensor::new((0..n).map(|i| ((i as f32 + seed) * 0.917).sin() * 1.5).collect(), shape.to_vec())
            .unwrap()
    }

    #[test]
    fn batch_norm_train_stats_and_grads() {
        let x = t(&[4, 3, 2], 0.0);
        let (y, mean, var) = batch_norm_train(&x, -1, None, None, 1e-3).unwrap();
        assert_eq!(mean.len(), 2);
        // Normalized output: zero mean and variance var/(var+eps) per channel.
        let ys = y.as_f32().unwrap();
        let m0: f32 = ys.iter().step_by(2).sum::<f32>() / 12.0;
        assert!(m0.abs() < 1e-5);
        assert!(var.iter().all(|&v| v > 0.0));
        let gamma = t(&[3], 1.0);
        let beta = t(&[3], 2.0);
        check_grad(
            &[&x, &gamma, &beta],
            |v| Ok(batch_norm_train(v[0], 1, Some(v[1]), Some(v[2]), 1e-3)?.0),
            2e-2,
        );
        check_grad(&[&x], |v| Ok(batch_norm_train(v[0], 0, None, None, 1e-3)?.0), 2e-2);
        assert!(batch_norm_train(&x, 3, None, None, 1e-3).is_err());
        assert!(batch_norm_train(&x, -1, Some(&gamma), None, 1e-3).is_err());
    }

    #[test]
    fn batch_norm_inference_grads() {
        let x = t(&[4, 3], 0.5);
        let (g, b) = (t(&[3], 1.0), t(&[3], 2.0));
        let y = batch_norm_inference(&x, -1, &[0.5, 0.0, -1.0], &[1.0, 2.0, 0.5], Some(&g), Some(&b), 1e-3)
            .unwrap();
        let want = (x.as_f32().unwrap()[0] - 0.5) / (1.001f32).sqrt() * g.as_f32().unwrap()[0]
            + b.as_f32().unwrap()[0];
        assert!((y.as_f32().unwrap()[0] - want).abs() < 1e-6);
        check_grad(
            &[&x, &g, &b],
            |v| {
                batch_norm_inference(
                    v[0],
                    1,
                    &[0.5, 0.0, -1.0],
                    &[1.0, 2.0, 0.5],
                    Some(v[1]),
                    Some(v[2]),
                    1e-3,
                )
            },
            2e-2,
        );
        assert!(batch_norm_inference(&x, -1, &[0.0], &[1.0], None, None, 1e-3).is_err());
    }

    #[test]
    fn batch_norm_inference_matches_the_formula_in_every_layout_and_size() {
        // Channels last and channels first, small (serial) and large (parallel) tensors.
        for (shape, axis) in
            [(vec![2, 3, 5], 1isize), (vec![2, 5, 3], -1), (vec![64, 16, 40], -1), (vec![8, 40, 128], 1)]
        {
            let n: usize = shape.iter().product();
            let c = shape[axis.rem_euclid(3) as usize];
            let xs: Vec<f32> = (0..n).map(|i| ((i * 37 % 101) as f32) / 50.0 - 1.0).collect();
            let x = Tensor::new(xs.clone(), shape.clone()).unwrap();
            let mean: Vec<f32> = (0..c).map(|i| i as f32 * 0.1 - 0.3).collect();
            let var: Vec<f32> = (0..c).map(|i| 0.5 + i as f32 * 0.05).collect();
            let g = Tensor::new((0..c).map(|i| 1.0 + i as f32 * 0.01).collect::<Vec<_>>(), [c]).unwrap();
            let b = Tensor::new((0..c).map(|i| i as f32 * -0.02).collect::<Vec<_>>(), [c]).unwrap();
            let y = batch_norm_inference(&x, axis, &mean, &var, Some(&g), Some(&b), 1e-3).unwrap();
            let inner: usize = if axis == 1 { shape[2] } else { 1 };
            for (i, (&yv, &xv)) in y.as_f32().unwrap().iter().zip(&xs).enumerate() {
                let ch = (i / inner) % c;
                let k = 1.0 / (var[ch] + 1e-3).sqrt() * g.as_f32().unwrap()[ch];
                let want = (xv - mean[ch]) * k + b.as_f32().unwrap()[ch];
                assert_eq!(yv, want, "{shape:?} axis {axis} element {i}");
            }
        }
    }

    #[test]
    fn layer_norm_grads_any_axes() {
        let x = t(&[2, 3, 4], 0.2);
        check_grad(
            &[&x, &t(&[4], 1.0), &t(&[4], 2.0)],
            |v| layer_norm(v[0], &[-1], Some(v[1]), Some(v[2]), 1e-3),
            2e-2,
        );
        check_grad(&[&x, &t(&[3, 4], 1.0)], |v| layer_norm(v[0], &[1, 2], Some(v[1]), None, 1e-3), 2e-2);
        check_grad(&[&x, &t(&[2, 4], 3.0)], |v| layer_norm(v[0], &[2, 0], None, Some(v[1]), 1e-3), 2e-2);
        let y = layer_norm(&x, &[-1], None, None, 0.0).unwrap();
        let row: f32 = y.as_f32().unwrap()[..4].iter().sum();
        assert!(row.abs() < 1e-5);
        assert!(layer_norm(&x, &[1, 1], None, None, 1e-3).is_err());
        assert!(layer_norm(&x, &[3], None, None, 1e-3).is_err());
    }

    #[test]
    fn multi_axis_reductions() {
        let x = t(&[2, 3, 2, 2], 0.0);
        let m = mean_axes(&x, &[1, 2], false).unwrap();
        assert_eq!(m.shape(), &[2, 2]);
        assert_eq!(mean_axes(&x, &[1, 2], true).unwrap().shape(), &[2, 1, 1, 2]);
        check_grad(&[&x], |v| mean_axes(v[0], &[1, 2], true), 1e-2);
        check_grad(&[&x], |v| max_axes(v[0], &[1, 2], false), 1e-2);
        let ties = Tensor::new(vec![1.0, 1.0, 0.0], [1, 3]).unwrap().requiring_grad();
        let tape = crate::GradientTape::new();
        let y = max_axes(&ties, &[1], false).unwrap();
        let g = tape.gradient(&y, &[&ties]).unwrap();
        assert_eq!(g[0].as_ref().unwrap().as_f32().unwrap(), &[0.5, 0.5, 0.0]);
        assert!(max_axes(&x, &[4], false).is_err());
    }
}
