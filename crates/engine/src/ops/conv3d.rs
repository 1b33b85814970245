//! 3-D convolution, transposed convolution and pooling over NDHWC volumes, composed from the
//! 2-D kernels: the depth axis becomes channels (convolution), a sum of shifted slabs
//! (transposed convolution) or a second 2-D pass (pooling, whose windows are products of
//! per-axis windows). Every step is a differentiable op, so the gradients come for free and
//! match the direct 3-D definitions.

use crate::ops::combine::concat;
use crate::ops::conv::{avg_pool2d, max_pool2d};
use crate::ops::conv_ext::{conv2d_ext, conv2d_transpose, conv_transpose_output_len, ConvPadding};
use crate::ops::elementwise::{add, unary, Unary};
use crate::ops::layout::{pad, slice};
use crate::tensor::Tensor;
use crate::{bail, Result};

fn dims5(t: &Tensor, what: &str, layout: &str) -> Result<[usize; 5]> {
    match t.shape() {
        [a, b, c, d, e] => Ok([*a, *b, *c, *d, *e]),
        s => bail!("{what} expects a 5-D {layout}, got shape {s:?}"),
    }
}

/// Output length and padding `(before, after)` of one axis of a convolution with TensorFlow's
/// `valid` / `same` rules, or an error when the window does not fit.
fn axis_geometry(
    input: usize,
    k: usize,
    stride: usize,
    dilation: usize,
    same: bool,
    what: &str,
) -> Result<(usize, [usize; 2])> {
    if k == 0 || stride == 0 || dilation == 0 || input == 0 {
        bail!("{what}: sizes, strides and dilations must be positive (input {input}, kernel {k}, stride {stride}, dilation {dilation})");
    }
    let eff = (k - 1) * dilation + 1;
    if same {
        let out = input.div_ceil(stride);
        let total = ((out - 1) * stride + eff).saturating_sub(input);
        Ok((out, [total / 2, total - total / 2]))
    } else if input < eff {
        bail!("{what}: the window ({eff}) is larger than the input ({input})")
    } else {
        Ok(((input - eff) / stride + 1, [0, 0]))
    }
}

/// `x[:, start + i * stride]` for `i < count` along axis 1 of a 5-D tensor (every index
/// must lie inside the tensor).
fn strided_depth(x: &Tensor, start: usize, count: usize, stride: usize) -> Result<Tensor> {
    let [n, d, h, w, c] = dims5(x, "strided_depth", "tensor")?;
    if count == 0 || start + (count - 1) * stride >= d {
        bail!("strided_depth: {count} slices from {start} every {stride} do not fit a depth of {d}");
    }
    if stride == 1 {
        return slice(x, &[0, start, 0, 0, 0], &[n, count, h, w, c]);
    }
    // One slice per output step: `count <= depth`, and no buffer grows with the stride.
    let parts = (0..count)
        .map(|i| slice(x, &[0, start + i * stride, 0, 0, 0], &[n, 1, h, w, c]))
        .collect::<Result<Vec<_>>>()?;
    let refs: Vec<&Tensor> = parts.iter().collect();
    concat(&refs, 1)
}

/// 3-D convolution: NDHWC input `[n, d, h, w, c]`, kernel `(kd, kh, kw, c / groups, filters)`
/// (Keras `Conv3D`), optional bias `[filters]`, an activation fusable into the 2-D kernel
/// (`Linear` otherwise), TensorFlow's `valid` / `same` padding per axis.
#[allow(clippy::too_many_arguments)]
pub fn conv3d(
    x: &Tensor,
    kernel: &Tensor,
    bias: Option<&Tensor>,
    strides: [usize; 3],
    dilation: [usize; 3],
    same: bool,
    groups: usize,
    act: Unary,
) -> Result<Tensor> {
    let [n, d, h, w, c] = dims5(x, "conv3d", "input (batch, depth, height, width, channels)")?;
    let [kd, kh, kw, cg, f] = dims5(kernel, "conv3d", "kernel (kd, kh, kw, in / groups, filters)")?;
    if groups == 0 || cg * groups != c || !f.is_multiple_of(groups) {
        bail!(
            "conv3d: kernel {:?} with groups={groups} does not fit an input of shape {:?}",
            kernel.shape(),
            x.shape()
        );
    }
    let (od, [front, back]) = axis_geometry(d, kd, strides[0], dilation[0], same, "conv3d")?;
    let xp =
        if front + back > 0 { pad(x, &[[0, 0], [front, back], [0, 0], [0, 0], [0, 0]])? } else { x.clone() };
    // One slab per depth tap, each `(n, od, h, w, groups, 1, cg)`, stacked so the channels
    // read (group, tap, channel): a grouped 2-D convolution over `kd * cg` channels per group.
    let mut slabs = Vec::with_capacity(kd);
    for t in 0..kd {
        let s = strided_depth(&xp, t * dilation[0], od, strides[0])?;
        slabs.push(s.reshape([n, od, h, w, groups, 1, cg])?);
    }
    let refs: Vec<&Tensor> = slabs.iter().collect();
    let stacked = concat(&refs, 5)?.reshape([n * od, h, w, groups * kd * cg])?;
    // (kd, kh, kw, cg, f) -> (kh, kw, kd, cg, f) -> (kh, kw, kd * cg, f).
    let k2 = crate::ops::layout::transpose(kernel, &[1, 2, 0, 3, 4])?.reshape([kh, kw, kd * cg, f])?;
    let padding = if same { ConvPadding::Same } else { ConvPadding::Valid };
    let y = conv2d_ext(
        &stacked,
        &k2,
        bias,
        [strides[1], strides[2]],
        [dilation[1], dilation[2]],
        padding,
        groups,
        act,
    )?;
    let (oh, ow) = (y.shape()[1], y.shape()[2]);
    y.reshape([n, od, oh, ow, f])
}

/// 3-D transposed convolution (the input-gradient of [`conv3d`]): NDHWC input, kernel
/// `(kd, kh, kw, filters, c)` (Keras `Conv3DTranspose`), optional bias, any activation
/// (applied after the bias). Output sizes per axis: [`conv_transpose_output_len`].
#[allow(clippy::too_many_arguments)]
pub fn conv3d_transpose(
    x: &Tensor,
    kernel: &Tensor,
    bias: Option<&Tensor>,
    strides: [usize; 3],
    dilation: [usize; 3],
    same: bool,
    output_padding: Option<[usize; 3]>,
    act: Unary,
) -> Result<Tensor> {
    let [n, d, h, w, c] = dims5(x, "conv3d_transpose", "input (batch, depth, height, width, channels)")?;
    let [kd, kh, kw, f, kc] = dims5(kernel, "conv3d_transpose", "kernel (kd, kh, kw, filters, in)")?;
    if kc != c {
        bail!("conv3d_transpose kernel expects {kc} input channels, the input has shape {:?}", x.shape());
    }
    if [d, h, w, c, kd, f].contains(&0) || strides.contains(&0) || dilation.contains(&0) {
        bail!(
            "conv3d_transpose: sizes must be positive, got input {:?}, kernel {:?}",
            x.shape(),
            kernel.shape()
        );
    }
    let (sd, dd) = (strides[0], dilation[0]);
    let od = conv_transpose_output_len(d, kd, sd, dd, same, output_padding.map(|p| p[0]));
    // Every depth tap: a 2-D transposed convolution of all slices at once.
    let x2 = x.reshape([n * d, h, w, c])?;
    let op2 = output_padding.map(|p| [p[1], p[2]]);
    // Depth positions `i * sd + t * dd` of a full (uncropped) output of length `full`.
    let full = (d - 1) * sd + (kd - 1) * dd + 1;
    let mut total: Option<Tensor> = None;
    let mut plane = [0usize; 3];
    for t in 0..kd {
        let kt = slice(kernel, &[t, 0, 0, 0, 0], &[1, kh, kw, f, c])?.reshape([kh, kw, f, c])?;
        let y = conv2d_transpose(
            &x2,
            &kt,
            None,
            [strides[1], strides[2]],
            [dilation[1], dilation[2]],
            same,
            op2,
            Unary::Linear,
        )?;
        plane = [y.shape()[1], y.shape()[2], f];
        let r = plane.iter().product::<usize>();
        // Zero-stuff the depth by the stride: (n, d, r) -> (n, d, sd, r) -> (n, d * sd, r).
        let y = y.reshape([n, d, 1, r])?;
        let y = if sd > 1 { pad(&y, &[[0, 0], [0, 0], [0, sd - 1], [0, 0]])? } else { y };
        let y = slice(&y.reshape([n, d * sd, r])?, &[0, 0, 0], &[n, (d - 1) * sd + 1, r])?;
        let placed = pad(&y, &[[0, 0], [t * dd, full - (d - 1) * sd - 1 - t * dd], [0, 0]])?;
        total = Some(match total {
            None => placed,
            Some(acc) => add(&acc, &placed)?,
        });
    }
    let Some(total) = total else { bail!("conv3d_transpose: empty kernel") };
    // TensorFlow's implied forward padding: output `o` is full position `o + before`.
    let eff = (kd - 1) * dd + 1;
    let before = if same { ((d - 1) * sd + eff).saturating_sub(od) / 2 } else { 0 };
    let r = plane.iter().product::<usize>();
    let total =
        if before + od > full { pad(&total, &[[0, 0], [0, before + od - full], [0, 0]])? } else { total };
    let mut y = slice(&total, &[0, before, 0], &[n, od, r])?.reshape([n, od, plane[0], plane[1], f])?;
    if let Some(b) = bias {
        if b.shape() != [f] {
            bail!("conv3d_transpose: bias of shape {:?}, expected [{f}]", b.shape());
        }
        y = add(&y, b)?;
    }
    if act == Unary::Linear {
        Ok(y)
    } else {
        unary(&y, act)
    }
}

/// 3-D max or average pooling over NDHWC volumes with TensorFlow's `valid` / `same` rules
/// (`same` averages divide by the number of valid elements of each window).
pub fn pool3d(x: &Tensor, pool: [usize; 3], strides: [usize; 3], same: bool, max: bool) -> Result<Tensor> {
    let [n, d, h, w, c] = dims5(x, "pool3d", "input (batch, depth, height, width, channels)")?;
    axis_geometry(d, pool[0], strides[0], 1, same, "pool3d")?;
    let p2 = |t: &Tensor, p: [usize; 2], s: [usize; 2]| {
        if max {
            max_pool2d(t, p, s, same)
        } else {
            avg_pool2d(t, p, s, same)
        }
    };
    let y = p2(&x.reshape([n * d, h, w, c])?, [pool[1], pool[2]], [strides[1], strides[2]])?;
    let (oh, ow) = (y.shape()[1], y.shape()[2]);
    let y = p2(&y.reshape([n, d, oh * ow, c])?, [pool[0], 1], [strides[0], 1])?;
    let od = y.shape()[1];
    y.reshape([n, od, oh, ow, c])
}
