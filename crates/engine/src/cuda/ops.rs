//! Device implementations of the engine's ops. Each mirrors the CPU op of the same name in
//! `crate::ops` (same shapes, same numerics up to float rounding) and records a backward that
//! runs on the device too.

use std::sync::Arc;

use super::dnn::{self, Pass};
use super::{blas, dev_buf, gpu, ptr, DevBuf, DevPtr, Gpu};
use crate::autodiff::record_unchecked;
use crate::kargs;
use crate::kernels::conv::Conv2dGeometry;
use crate::kernels::matmul::Trans;
use crate::kernels::pool::Pool2dGeometry;
use crate::ops::elementwise::Unary;
use crate::tensor::{LogitsKind, Tensor};
use crate::{bail, DType, Device, Result};

const BLOCK: u32 = 256;

fn numel(shape: &[usize]) -> usize {
    shape.iter().product()
}

/// A fresh float32 device tensor of `shape` (contents undefined) and its address.
fn empty(dev: usize, shape: Vec<usize>) -> Result<(Tensor, DevPtr)> {
    let g = gpu(dev)?;
    let buf = g.alloc(numel(&shape) * 4)?;
    let p = buf.ptr();
    Ok((Tensor::from_dev(buf, DType::F32, shape), p))
}

fn empty_buf(g: &Gpu, bytes: usize) -> Result<DevBuf> {
    g.alloc(bytes)
}

/// `Unary` as the kernels' (code, p0, p1, p2).
pub(crate) fn unary_code(f: Unary) -> (i32, f32, f32, f32) {
    match f {
        Unary::Linear => (0, 0.0, 0.0, 0.0),
        Unary::Relu => (1, 0.0, 0.0, 0.0),
        Unary::ReluParams { negative_slope, max_value, threshold } => {
            (2, negative_slope, max_value, threshold)
        }
        Unary::Sigmoid => (3, 0.0, 0.0, 0.0),
        Unary::Tanh => (4, 0.0, 0.0, 0.0),
        Unary::Elu(a) => (5, a, 0.0, 0.0),
        Unary::Selu => (6, 0.0, 0.0, 0.0),
        Unary::Softplus => (7, 0.0, 0.0, 0.0),
        Unary::Silu => (8, 0.0, 0.0, 0.0),
        Unary::Exp => (9, 0.0, 0.0, 0.0),
        Unary::Log => (10, 0.0, 0.0, 0.0),
        Unary::Neg => (11, 0.0, 0.0, 0.0),
        Unary::Square => (12, 0.0, 0.0, 0.0),
        Unary::Sqrt => (13, 0.0, 0.0, 0.0),
        Unary::Abs => (14, 0.0, 0.0, 0.0),
        Unary::Celu(a) => (15, a, 0.0, 0.0),
        Unary::Gelu => (16, 0.0, 0.0, 0.0),
        Unary::GeluTanh => (17, 0.0, 0.0, 0.0),
        Unary::HardSigmoid => (18, 0.0, 0.0, 0.0),
        Unary::HardSilu => (19, 0.0, 0.0, 0.0),
        Unary::HardTanh => (20, 0.0, 0.0, 0.0),
        Unary::HardShrink(t) => (21, t, 0.0, 0.0),
        Unary::SoftShrink(t) => (22, t, 0.0, 0.0),
        Unary::LogSigmoid => (23, 0.0, 0.0, 0.0),
        Unary::Mish => (24, 0.0, 0.0, 0.0),
        Unary::Softsign => (25, 0.0, 0.0, 0.0),
        Unary::Squareplus(b) => (26, b, 0.0, 0.0),
        Unary::TanhShrink => (27, 0.0, 0.0, 0.0),
        Unary::SparsePlus => (28, 0.0, 0.0, 0.0),
        Unary::SparseSigmoid => (29, 0.0, 0.0, 0.0),
        Unary::Threshold { threshold, default_value } => (30, threshold, default_value, 0.0),
    }
}

fn f32_input(t: &Tensor, op: &str) -> Result<DevPtr> {
    if t.dtype() != DType::F32 {
        bail!("{op}: expected a float32 tensor, got {}", t.dtype());
    }
    ptr(t)
}

/// A float32 tensor filled with `v` on `gpu:dev`.
pub(crate) fn full(dev: usize, shape: Vec<usize>, v: f32) -> Result<Tensor> {
    let g = gpu(dev)?;
    let (t, p) = empty(dev, shape)?;
    let n = t.numel() as u64;
    let mut a = kargs!(p, n, v);
    g.launch("fill_f32", g.grid_for(n as usize, BLOCK), BLOCK, &mut a)?;
    Ok(t)
}

/// `f(x)` element-wise.
pub(crate) fn unary(dev: usize, x: &Tensor, f: Unary) -> Result<Tensor> {
    let g = gpu(dev)?;
    let xp = f32_input(x, "unary")?;
    let (y, yp) = empty(dev, x.shape().to_vec())?;
    let n = x.numel() as u64;
    let (op, p0, p1, p2) = unary_code(f);
    let mut a = kargs!(xp, yp, n, op, p0, p1, p2);
    g.launch("unary_fwd", g.grid_for(n as usize, BLOCK), BLOCK, &mut a)?;
    let y = if f == Unary::Sigmoid { y.with_logits(LogitsKind::Sigmoid, x) } else { y };
    record_unchecked(
        y,
        &[x],
        Box::new(move |gy, y, inputs| {
            let g = gpu(dev)?;
            let (dx, dxp) = empty(dev, inputs[0].shape().to_vec())?;
            let (xp, yp, gp) = (ptr(&inputs[0])?, ptr(y)?, ptr(gy)?);
            let mut a = kargs!(xp, yp, gp, dxp, n, op, p0, p1, p2);
            g.launch("unary_bwd", g.grid_for(n as usize, BLOCK), BLOCK, &mut a)?;
            Ok(vec![Some(dx)])
        }),
    )
}

#[repr(C)]
#[derive(Clone, Copy)]
struct Bcast {
    rank: i32,
    dims: [u64; 6],
    sa: [u64; 6],
    sb: [u64; 6],
}

fn strides_in(shape: &[usize], out: &[usize]) -> [u64; 6] {
    let n = out.len();
    let mut s = [0u64; 6];
    let mut acc = 1u64;
    for i in (0..shape.len()).rev() {
        let oi = i + n - shape.len();
        s[oi] = if shape[i] == 1 { 0 } else { acc };
        acc *= shape[i] as u64;
    }
    s
}

fn bcast(out: &[usize], a: &[usize], b: &[usize]) -> Result<Bcast> {
    if out.len() > 6 {
        bail!("broadcasting on the GPU supports up to 6 dimensions, got shape {out:?}");
    }
    let mut dims = [1u64; 6];
    for (i, &d) in out.iter().enumerate() {
        dims[i] = d as u64;
    }
    Ok(Bcast { rank: out.len() as i32, dims, sa: strides_in(a, out), sb: strides_in(b, out) })
}

/// Binary op codes of the kernels.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Bin {
    Add = 0,
    Sub = 1,
    Mul = 2,
    Div = 3,
}

/// The forward of `a op b` with broadcasting, no recording.
pub(crate) fn binary_raw(dev: usize, a: &Tensor, b: &Tensor, op: Bin, out_shape: &[usize]) -> Result<Tensor> {
    let g = gpu(dev)?;
    let n = numel(out_shape) as u64;
    let code = op as i32;
    let grid = g.grid_for(n as usize, BLOCK);
    // Host scalars travel as kernel arguments.
    if b.is_host_scalar() && a.shape() == out_shape {
        let (y, yp) = empty(dev, out_shape.to_vec())?;
        let (ap, s, right) = (f32_input(a, "binary")?, b.item()?, 1i32);
        let mut k = kargs!(ap, s, yp, n, code, right);
        g.launch("binary_scalar", grid, BLOCK, &mut k)?;
        return Ok(y);
    }
    if a.is_host_scalar() && b.shape() == out_shape {
        let (y, yp) = empty(dev, out_shape.to_vec())?;
        let (bp, s, right) = (f32_input(b, "binary")?, a.item()?, 0i32);
        let mut k = kargs!(bp, s, yp, n, code, right);
        g.launch("binary_scalar", grid, BLOCK, &mut k)?;
        return Ok(y);
    }
    let (ap, bp) = (f32_input(a, "binary")?, f32_input(b, "binary")?);
    let (y, yp) = empty(dev, out_shape.to_vec())?;
    if a.shape() == b.shape() {
        let mut k = kargs!(ap, bp, yp, n, code);
        g.launch("binary_same", grid, BLOCK, &mut k)?;
    } else {
        let bc = bcast(out_shape, a.shape(), b.shape())?;
        let mut k = kargs!(ap, bp, yp, n, code, bc);
        g.launch("binary_bcast", grid, BLOCK, &mut k)?;
    }
    Ok(y)
}

/// `a op b` with broadcasting (differentiable).
pub(crate) fn binary(dev: usize, a: &Tensor, b: &Tensor, op: Bin) -> Result<Tensor> {
    let out_shape = crate::ops::broadcast_shapes(a.shape(), b.shape())?;
    let y = binary_raw(dev, a, b, op, &out_shape)?;
    record_unchecked(
        y,
        &[a, b],
        Box::new(move |gy, _y, inputs| {
            let (a, b) = (&inputs[0], &inputs[1]);
            let ga = if a.tracks_grad() {
                let full = match op {
                    Bin::Add | Bin::Sub => gy.clone(),
                    Bin::Mul => binary_raw(dev, gy, b, Bin::Mul, gy.shape())?,
                    Bin::Div => binary_raw(dev, gy, b, Bin::Div, gy.shape())?,
                };
                Some(sum_to_shape(dev, &full, a.shape())?)
            } else {
                None
            };
            let gb = if b.tracks_grad() {
                let full = match op {
                    Bin::Add => gy.clone(),
                    Bin::Sub => scale(dev, gy, -1.0)?,
                    Bin::Mul => binary_raw(dev, gy, a, Bin::Mul, gy.shape())?,
                    Bin::Div => {
                        let g = gpu(dev)?;
                        let n = gy.numel() as u64;
                        let ad = a.to_device(Device::Cuda(dev))?;
                        let bd = b.to_device(Device::Cuda(dev))?;
                        let (out, op_) = empty(dev, gy.shape().to_vec())?;
                        let (gp, ap, bp) = (ptr(gy)?, ptr(&ad)?, ptr(&bd)?);
                        let bc = bcast(gy.shape(), a.shape(), b.shape())?;
                        let mut k = kargs!(gp, ap, bp, op_, n, bc);
                        g.launch("div_grad_b", g.grid_for(n as usize, BLOCK), BLOCK, &mut k)?;
                        out
                    }
                };
                Some(sum_to_shape(dev, &full, b.shape())?)
            } else {
                None
            };
            Ok(vec![ga, gb])
        }),
    )
}

/// `x * s` (not recorded).
pub(crate) fn scale(dev: usize, x: &Tensor, s: f32) -> Result<Tensor> {
    let g = gpu(dev)?;
    let xp = ptr(x)?;
    let (y, yp) = empty(dev, x.shape().to_vec())?;
    let n = x.numel() as u64;
    let mut k = kargs!(xp, yp, n, s);
    g.launch("scale_f32", g.grid_for(n as usize, BLOCK), BLOCK, &mut k)?;
    Ok(y)
}

/// Sums `x` over rows `(rows, n) -> (n)`.
pub(crate) fn column_sums(dev: usize, x: DevPtr, rows: usize, n: usize) -> Result<Tensor> {
    let g = gpu(dev)?;
    let (out, op) = empty(dev, vec![n])?;
    // Enough chunks of rows to keep the GPU busy for tall, narrow matrices.
    let chunk = if n >= 4096 { rows.max(1) } else { rows.div_ceil((8192 / n.max(1)).max(1)).max(64) };
    let chunks = rows.div_ceil(chunk.max(1)).max(1);
    if chunks > 1 {
        super::zero(g, op, n)?;
    }
    let (r, nn, c) = (rows as u64, n as u64, chunk.max(1) as u64);
    let mut k = kargs!(x, op, r, nn, c);
    g.launch("column_sums", g.grid_for(n * chunks, BLOCK), BLOCK, &mut k)?;
    Ok(out)
}

/// Sums `g` down to `shape` (the inverse of broadcasting; not recorded).
pub(crate) fn sum_to_shape(dev: usize, gt: &Tensor, shape: &[usize]) -> Result<Tensor> {
    if gt.shape() == shape {
        return Ok(gt.clone());
    }
    let g = gpu(dev)?;
    let n = numel(shape);
    let gp = ptr(gt)?;
    if n == 1 {
        let t = reduce(dev, gp, 1, gt.numel(), 1, 1.0)?;
        return t.reshape(shape.to_vec());
    }
    // A suffix of the gradient's shape (a bias): column sums.
    let gs = gt.shape();
    let trimmed: Vec<usize> = shape.iter().copied().skip_while(|&d| d == 1).collect();
    if !trimmed.is_empty() && gs.ends_with(&trimmed) {
        let t = column_sums(dev, gp, gt.numel() / n, n)?;
        return t.reshape(shape.to_vec());
    }
    let (out, op) = empty(dev, shape.to_vec())?;
    super::zero(g, op, n)?;
    let bc = bcast(gs, shape, shape)?;
    let total = gt.numel() as u64;
    let mut k = kargs!(gp, op, total, bc);
    g.launch("sum_to_shape_atomic", g.grid_for(total as usize, BLOCK), BLOCK, &mut k)?;
    Ok(out)
}

/// Sum over the middle axis of `(outer, len, inner)` data at `x`, times `scale`.
fn reduce(dev: usize, x: DevPtr, outer: usize, len: usize, inner: usize, scale: f32) -> Result<Tensor> {
    let g = gpu(dev)?;
    let (out, op) = empty(dev, vec![outer * inner])?;
    let (o, l, i) = (outer as u64, len as u64, inner as u64);
    if inner == 1 {
        let block = if len >= 1024 { 1024 } else { 256 };
        let mut k = kargs!(x, op, o, l, scale);
        g.launch("reduce_rows", (outer.min(65535)) as u32, block, &mut k)?;
    } else {
        let mut k = kargs!(x, op, o, l, i, scale);
        g.launch("reduce_mid", g.grid_for(outer * inner, BLOCK), BLOCK, &mut k)?;
    }
    Ok(out)
}

/// Sum or mean along `axis` (differentiable).
pub(crate) fn reduce_axis(
    dev: usize,
    x: &Tensor,
    axis: usize,
    out_shape: Vec<usize>,
    mean: bool,
) -> Result<Tensor> {
    let (outer, len, inner) = crate::ops::reduce::split_axis(x.shape(), axis);
    let scale = if mean && len > 0 { 1.0 / len as f32 } else { 1.0 };
    let y = reduce(dev, f32_input(x, "reduce")?, outer, len, inner, scale)?.reshape(out_shape)?;
    let in_shape = x.shape().to_vec();
    record_unchecked(
        y.detach(),
        &[x],
        Box::new(move |gy, _y, _i| {
            let g = gpu(dev)?;
            let (dx, dxp) = empty(dev, in_shape.clone())?;
            let gp = ptr(gy)?;
            let (o, l, i) = (outer as u64, len as u64, inner as u64);
            let mut k = kargs!(gp, dxp, o, l, i, scale);
            g.launch("expand_mid", g.grid_for(outer * len * inner, BLOCK), BLOCK, &mut k)?;
            Ok(vec![Some(dx)])
        }),
    )
}

/// Index of the maximum along `axis` (int64; first on ties).
pub(crate) fn argmax(dev: usize, x: &Tensor, axis: usize, out_shape: Vec<usize>) -> Result<Tensor> {
    let g = gpu(dev)?;
    let (outer, len, inner) = crate::ops::reduce::split_axis(x.shape(), axis);
    let xp = f32_input(x, "argmax")?;
    let buf = g.alloc(outer * inner * 8)?;
    let op = buf.ptr();
    let (o, l, i) = (outer as u64, len as u64, inner as u64);
    let mut k = kargs!(xp, op, o, l, i);
    g.launch("argmax_mid", g.grid_for(outer * inner, BLOCK), BLOCK, &mut k)?;
    Ok(Tensor::from_dev(buf, DType::I64, out_shape))
}

/// Softmax or log-softmax along `axis` (differentiable).
pub(crate) fn softmax(dev: usize, x: &Tensor, axis: usize, log: bool) -> Result<Tensor> {
    let g = gpu(dev)?;
    let (outer, len, inner) = crate::ops::reduce::split_axis(x.shape(), axis);
    let xp = f32_input(x, "softmax")?;
    let (y, yp) = empty(dev, x.shape().to_vec())?;
    let lg = log as i32;
    let (o, l, i) = (outer as u64, len as u64, inner as u64);
    if inner == 1 {
        let block = if len >= 1024 {
            1024
        } else if len > 128 {
            256
        } else {
            32
        };
        let mut k = kargs!(xp, yp, o, l, lg);
        g.launch("softmax_rows", outer.min(65535) as u32, block, &mut k)?;
    } else {
        let mut k = kargs!(xp, yp, o, l, i, lg);
        g.launch("softmax_mid", g.grid_for(outer * inner, BLOCK), BLOCK, &mut k)?;
    }
    let y = if !log && axis + 1 == x.rank() { y.with_logits(LogitsKind::Softmax, x) } else { y };
    record_unchecked(
        y,
        &[x],
        Box::new(move |gy, y, inputs| {
            let g = gpu(dev)?;
            let (dx, dxp) = empty(dev, inputs[0].shape().to_vec())?;
            let (gp, yp) = (ptr(gy)?, ptr(y)?);
            let mut k = kargs!(gp, yp, dxp, o, l, i, lg);
            g.launch("softmax_bwd_mid", g.grid_for(outer * inner, BLOCK), BLOCK, &mut k)?;
            Ok(vec![Some(dx)])
        }),
    )
}

/// `a @ b` for 2-D operands (differentiable).
pub(crate) fn matmul(dev: usize, a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let (m, k, n) = (a.shape()[0], a.shape()[1], b.shape()[1]);
    let (ap, bp) = (f32_input(a, "matmul")?, f32_input(b, "matmul")?);
    let (y, yp) = empty(dev, vec![m, n])?;
    blas::gemm(dev, m, n, k, ap, Trans::No, bp, Trans::No, yp, 0.0)?;
    record_unchecked(
        y,
        &[a, b],
        Box::new(move |gy, _y, inputs| {
            let (a, b) = (&inputs[0], &inputs[1]);
            let gp = ptr(gy)?;
            let ga = if a.tracks_grad() {
                let (da, dap) = empty(dev, vec![m, k])?;
                blas::gemm(dev, m, k, n, gp, Trans::No, ptr(b)?, Trans::Yes, dap, 0.0)?;
                Some(da)
            } else {
                None
            };
            let gb = if b.tracks_grad() {
                let (db, dbp) = empty(dev, vec![k, n])?;
                blas::gemm(dev, k, n, m, ptr(a)?, Trans::Yes, gp, Trans::No, dbp, 0.0)?;
                Some(db)
            } else {
                None
            };
            Ok(vec![ga, gb])
        }),
    )
}

/// `act(out + bias)` in place over `(rows, n)`.
fn bias_act(dev: usize, out: DevPtr, bias: Option<DevPtr>, rows: usize, n: usize, act: Unary) -> Result<()> {
    if bias.is_none() && act == Unary::Linear {
        return Ok(());
    }
    let g = gpu(dev)?;
    let (op, p0, p1, p2) = unary_code(act);
    let bp: DevPtr = bias.unwrap_or(0);
    let (r, nn) = (rows as u64, n as u64);
    let mut k = kargs!(out, bp, r, nn, op, p0, p1, p2);
    g.launch("bias_act", g.grid_for(rows * n, BLOCK), BLOCK, &mut k)
}

/// `dy * act'(y)` recovered from the output (a new buffer), or `dy` itself for linear.
fn pre_activation_grad(dev: usize, dy: &Tensor, y: &Tensor, act: Unary) -> Result<Tensor> {
    if act == Unary::Linear {
        return Ok(dy.clone());
    }
    let g = gpu(dev)?;
    let (out, op_) = empty(dev, dy.shape().to_vec())?;
    let (gp, yp) = (ptr(dy)?, ptr(y)?);
    let n = dy.numel() as u64;
    let (op, p0, _, _) = unary_code(act);
    let mut k = kargs!(gp, yp, op_, n, op, p0);
    g.launch("act_bwd_from_output", g.grid_for(n as usize, BLOCK), BLOCK, &mut k)?;
    Ok(out)
}

/// The fused Dense op `act(x @ kernel + bias)` over the last axis.
pub(crate) fn dense(
    dev: usize,
    x: &Tensor,
    kernel: &Tensor,
    bias: Option<&Tensor>,
    act: Unary,
) -> Result<Tensor> {
    let (k, n) = (kernel.shape()[0], kernel.shape()[1]);
    let m = x.numel() / k.max(1);
    let (xp, wp) = (f32_input(x, "dense")?, f32_input(kernel, "dense")?);
    let mut out_shape = x.shape().to_vec();
    *out_shape.last_mut().expect("rank >= 1") = n;
    let (y, yp) = empty(dev, out_shape)?;
    blas::gemm(dev, m, n, k, xp, Trans::No, wp, Trans::No, yp, 0.0)?;
    let bp = match bias {
        Some(b) => Some(f32_input(b, "dense")?),
        None => None,
    };
    bias_act(dev, yp, bp, m, n, act)?;
    let mut inputs = vec![x, kernel];
    if let Some(b) = bias {
        inputs.push(b);
    }
    record_unchecked(
        y,
        &inputs,
        Box::new(move |gy, y, inputs| {
            let dpre = pre_activation_grad(dev, gy, y, act)?;
            let dp = ptr(&dpre)?;
            let (x, w) = (&inputs[0], &inputs[1]);
            let dx = if x.tracks_grad() {
                let (dx, dxp) = empty(dev, x.shape().to_vec())?;
                blas::gemm(dev, m, k, n, dp, Trans::No, ptr(w)?, Trans::Yes, dxp, 0.0)?;
                Some(dx)
            } else {
                None
            };
            let dw = if w.tracks_grad() {
                let (dw, dwp) = empty(dev, vec![k, n])?;
                blas::gemm(dev, k, n, m, ptr(x)?, Trans::Yes, dp, Trans::No, dwp, 0.0)?;
                Some(dw)
            } else {
                None
            };
            let mut grads = vec![dx, dw];
            if inputs.len() == 3 {
                grads.push(if inputs[2].tracks_grad() { Some(column_sums(dev, dp, m, n)?) } else { None });
            }
            Ok(grads)
        }),
    )
}

/// Transposes `(rows, cols)` at `x` into a new `(cols, rows)` buffer.
fn transpose2(dev: usize, x: DevPtr, rows: usize, cols: usize) -> Result<(DevBuf, DevPtr)> {
    let g = gpu(dev)?;
    let buf = empty_buf(g, rows * cols * 4)?;
    let yp = buf.ptr();
    let (b, r, c) = (1u64, rows as u64, cols as u64);
    let mut k = kargs!(x, yp, b, r, c);
    g.launch("transpose_last2", g.grid_for(rows * cols, BLOCK), BLOCK, &mut k)?;
    Ok((buf, yp))
}

/// True when cuDNN runs this convolution (else the caller uses the host kernels).
pub(crate) fn conv2d_supported(g: &Conv2dGeometry) -> bool {
    dnn::supports(g)
}

/// Conv2D through cuDNN with bias and activation fused after it.
pub(crate) fn conv2d(
    dev: usize,
    x: &Tensor,
    kernel: &Tensor,
    bias: Option<&Tensor>,
    geom: Conv2dGeometry,
    act: Unary,
) -> Result<Tensor> {
    let g = geom;
    let (xp, wp) = (f32_input(x, "conv2d")?, f32_input(kernel, "conv2d")?);
    let kin = g.kh * g.kw * g.c_in;
    let (_wk, wkp) = transpose2(dev, wp, kin, g.c_out)?;
    let (y, yp) = empty(dev, vec![g.n, g.out_h, g.out_w, g.c_out])?;
    dnn::conv(dev, &g, Pass::Forward, xp, wkp, yp)?;
    let bp = match bias {
        Some(b) => Some(f32_input(b, "conv2d")?),
        None => None,
    };
    let rows = g.n * g.out_h * g.out_w;
    bias_act(dev, yp, bp, rows, g.c_out, act)?;
    let mut inputs = vec![x, kernel];
    if let Some(b) = bias {
        inputs.push(b);
    }
    record_unchecked(
        y,
        &inputs,
        Box::new(move |gy, y, inputs| {
            let dpre = pre_activation_grad(dev, gy, y, act)?;
            let dp = ptr(&dpre)?;
            let (x, w) = (&inputs[0], &inputs[1]);
            let dx = if x.tracks_grad() {
                let (_wk, wkp) = transpose2(dev, ptr(w)?, kin, g.c_out)?;
                let (dx, dxp) = empty(dev, x.shape().to_vec())?;
                dnn::conv(dev, &g, Pass::BackwardData, dp, wkp, dxp)?;
                Some(dx)
            } else {
                None
            };
            let dw = if w.tracks_grad() {
                let gpu_ = gpu(dev)?;
                let dwk = empty_buf(gpu_, kin * g.c_out * 4)?;
                dnn::conv(dev, &g, Pass::BackwardFilter, ptr(x)?, dp, dwk.ptr())?;
                let (buf, _) = transpose2(dev, dwk.ptr(), g.c_out, kin)?;
                Some(Tensor::from_dev(buf, DType::F32, w.shape().to_vec()))
            } else {
                None
            };
            let mut grads = vec![dx, dw];
            if inputs.len() == 3 {
                grads.push(if inputs[2].tracks_grad() {
                    Some(column_sums(dev, dp, rows, g.c_out)?)
                } else {
                    None
                });
            }
            Ok(grads)
        }),
    )
}

#[repr(C)]
#[derive(Clone, Copy)]
struct PoolArgs {
    n: u64,
    h: u64,
    w: u64,
    c: u64,
    ph: u64,
    pw: u64,
    sh: u64,
    sw: u64,
    pad_top: u64,
    pad_left: u64,
    out_h: u64,
    out_w: u64,
}

fn pool_args(g: &Pool2dGeometry) -> PoolArgs {
    let u = |v: usize| v as u64;
    PoolArgs {
        n: u(g.n),
        h: u(g.h),
        w: u(g.w),
        c: u(g.c),
        ph: u(g.ph),
        pw: u(g.pw),
        sh: u(g.stride_h),
        sw: u(g.stride_w),
        pad_top: u(g.pad_top),
        pad_left: u(g.pad_left),
        out_h: u(g.out_h),
        out_w: u(g.out_w),
    }
}

/// Max pooling (NHWC) keeping the argmax for the backward.
pub(crate) fn max_pool2d(dev: usize, x: &Tensor, geom: Pool2dGeometry) -> Result<Tensor> {
    let gp = gpu(dev)?;
    let xp = f32_input(x, "max_pool2d")?;
    let (y, yp) = empty(dev, vec![geom.n, geom.out_h, geom.out_w, geom.c])?;
    let argmax = Arc::new(gp.alloc(geom.output_len() * 4)?);
    let ap = argmax.ptr();
    let pa = pool_args(&geom);
    let mut k = kargs!(xp, yp, ap, pa);
    gp.launch("max_pool_fwd", gp.grid_for(geom.output_len(), BLOCK), BLOCK, &mut k)?;
    let in_len = geom.input_len();
    let out_len = geom.output_len() as u64;
    record_unchecked(
        y,
        &[x],
        Box::new(move |gy, _y, inputs| {
            let g = gpu(dev)?;
            let (dx, dxp) = empty(dev, inputs[0].shape().to_vec())?;
            super::zero(g, dxp, in_len)?;
            let (gp_, ap) = (ptr(gy)?, argmax.ptr());
            let mut k = kargs!(gp_, ap, dxp, out_len);
            g.launch("max_pool_bwd", g.grid_for(out_len as usize, BLOCK), BLOCK, &mut k)?;
            Ok(vec![Some(dx)])
        }),
    )
}

/// Average pooling (NHWC); windows clipped by padding count only valid elements.
pub(crate) fn avg_pool2d(dev: usize, x: &Tensor, geom: Pool2dGeometry) -> Result<Tensor> {
    let gp = gpu(dev)?;
    let xp = f32_input(x, "avg_pool2d")?;
    let (y, yp) = empty(dev, vec![geom.n, geom.out_h, geom.out_w, geom.c])?;
    let pa = pool_args(&geom);
    let mut k = kargs!(xp, yp, pa);
    gp.launch("avg_pool_fwd", gp.grid_for(geom.output_len(), BLOCK), BLOCK, &mut k)?;
    let in_len = geom.input_len();
    record_unchecked(
        y,
        &[x],
        Box::new(move |gy, _y, inputs| {
            let g = gpu(dev)?;
            let (dx, dxp) = empty(dev, inputs[0].shape().to_vec())?;
            super::zero(g, dxp, in_len)?;
            let gp_ = ptr(gy)?;
            let mut k = kargs!(gp_, dxp, pa);
            g.launch("avg_pool_bwd", g.grid_for(geom.output_len(), BLOCK), BLOCK, &mut k)?;
            Ok(vec![Some(dx)])
        }),
    )
}

fn rng_counter(g: &'static Gpu) -> Result<DevPtr> {
    if let Some(b) = g.rng_counter.get() {
        return Ok(b.ptr());
    }
    let buf = g.alloc(8)?;
    super::zero(g, buf.ptr(), 2)?;
    let _ = g.rng_counter.set(buf);
    Ok(g.rng_counter.get().expect("set").ptr())
}

/// Inverted dropout with the device generator: keeps each element with probability
/// `1 - rate`, scaling kept ones by `1 / (1 - rate)`.
pub(crate) fn dropout(dev: usize, x: &Tensor, rate: f32, seed: u64) -> Result<Tensor> {
    let g = gpu(dev)?;
    let xp = f32_input(x, "dropout")?;
    let (y, yp) = empty(dev, x.shape().to_vec())?;
    let (mask, mp) = empty(dev, x.shape().to_vec())?;
    let counter = rng_counter(g)?;
    let n = x.numel() as u64;
    let keep = 1.0 - rate;
    let scale = 1.0 / keep;
    let mut k = kargs!(xp, yp, mp, n, keep, scale, counter, seed);
    g.launch("dropout_fwd", g.grid_for(x.numel().div_ceil(4), BLOCK), BLOCK, &mut k)?;
    let mut k2 = kargs!(counter);
    g.launch("rng_advance", 1, 32, &mut k2)?;
    record_unchecked(
        y,
        &[x],
        Box::new(move |gy, _y, _i| {
            let shape = gy.shape().to_vec();
            Ok(vec![Some(binary_raw(dev, gy, &mask, Bin::Mul, &shape)?)])
        }),
    )
}

pub use crate::ops::fused_types::RowLoss;

/// One loss value per row of the last axis of `x`, against targets `t` of the same shape
/// (differentiable w.r.t. `x`).
pub(crate) fn row_loss(dev: usize, kind: RowLoss, x: &Tensor, t: &Tensor, want_grad: bool) -> Result<Tensor> {
    let g = gpu(dev)?;
    let len = *x.shape().last().unwrap_or(&1);
    let rows = x.numel() / len.max(1);
    let xp = f32_input(x, "loss")?;
    let td = if t.dtype() == DType::F32 { t.clone() } else { t.cast(DType::F32) };
    let tp = ptr(&td)?;
    let out_shape = x.shape()[..x.rank().saturating_sub(1)].to_vec();
    let (v, vp) = empty(dev, out_shape)?;
    let d = if want_grad { Some(empty(dev, x.shape().to_vec())?) } else { None };
    let dp: DevPtr = d.as_ref().map(|(_, p)| *p).unwrap_or(0);
    let (r, l) = (rows as u64, len as u64);
    let block = if len >= 1024 {
        1024
    } else if len > 128 {
        256
    } else {
        32
    };
    let grid = rows.clamp(1, 65535) as u32;
    let eps = 1e-7f32;
    let one_m_eps = (1.0f64 - 1e-7) as f32;
    match kind {
        RowLoss::SoftmaxXent => {
            let mut k = kargs!(xp, tp, vp, dp, r, l);
            g.launch("softmax_xent_rows", grid, block, &mut k)?;
        }
        RowLoss::ProbXent => {
            let mut k = kargs!(xp, tp, vp, dp, r, l, eps, one_m_eps);
            g.launch("prob_xent_rows", grid, block, &mut k)?;
        }
        RowLoss::BceLogits | RowLoss::BceProbs => {
            let logits = (kind == RowLoss::BceLogits) as i32;
            let mut k = kargs!(xp, tp, vp, dp, r, l, logits, eps, one_m_eps);
            g.launch("bce_rows", grid, block, &mut k)?;
        }
    }
    let Some((d, _)) = d else { return Ok(v) };
    record_unchecked(
        v,
        &[x],
        Box::new(move |gy, _v, _i| {
            let g = gpu(dev)?;
            let (dx, dxp) = empty(dev, d.shape().to_vec())?;
            let (gp, dp) = (ptr(gy)?, ptr(&d)?);
            let mut k = kargs!(dp, gp, dxp, r, l);
            g.launch("scale_rows", g.grid_for(rows * len, BLOCK), BLOCK, &mut k)?;
            Ok(vec![Some(dx)])
        }),
    )
}

/// `prev += g` in place when `prev` is unshared, else a new sum.
pub(crate) fn add_consuming(dev: usize, mut prev: Tensor, gt: &Tensor) -> Result<Tensor> {
    let gp = ptr(gt)?;
    let n = gt.numel() as u64;
    let p = dev_mut(&mut prev)?;
    let g = gpu(dev)?;
    let mut k = kargs!(p, gp, n);
    g.launch("add_inplace", g.grid_for(n as usize, BLOCK), BLOCK, &mut k)?;
    Ok(prev)
}

/// The device address of `t`'s data for writing in place: `t` gets a private copy first if
/// its buffer is shared, its host copy is dropped, and it keeps its identity.
pub(crate) fn dev_mut(t: &mut Tensor) -> Result<DevPtr> {
    let Device::Cuda(dev) = t.device() else { bail!("internal error: dev_mut on a CPU tensor") };
    t.make_unique_inner();
    let inner = Arc::get_mut(&mut t.0).expect("unique");
    inner.node = None;
    inner.logits = None;
    if Arc::get_mut(&mut inner.data).is_none() {
        let g = gpu(dev)?;
        let bytes = inner.data.len * inner.data.dtype.size();
        let src = match inner.data.dev.get() {
            Some(b) => b.ptr(),
            None => {
                let tmp = Tensor::with_data(inner.data.clone(), inner.shape.clone());
                dev_buf(&tmp)?;
                tmp.0.data.dev.get().expect("uploaded").ptr()
            }
        };
        let buf = g.alloc(bytes)?;
        super::copy_d2d(g, buf.ptr(), src, bytes)?;
        let fresh = Tensor::from_dev(buf, inner.data.dtype, inner.shape.clone());
        inner.data = fresh.0.data.clone();
    }
    let data = Arc::get_mut(&mut inner.data).expect("unique data");
    if data.dev.get().is_none() {
        let buf = super::upload(dev, data.host()?)?;
        let _ = data.dev.set(buf);
    }
    data.host.take();
    Ok(data.dev.get().expect("present").ptr())
}

/// `t[index] += by` on the device.
pub(crate) fn add_at(t: &mut Tensor, index: usize, by: f32) -> Result<()> {
    let Device::Cuda(dev) = t.device() else { bail!("internal error") };
    let p = dev_mut(t)? + (index * 4) as u64;
    let g = gpu(dev)?;
    let mut k = kargs!(p, by);
    g.launch("add_f32_scalar_at", 1, 32, &mut k)
}

/// A copy of a GPU tensor in a new device buffer.
pub(crate) fn duplicate(x: &Tensor) -> Result<Tensor> {
    let Device::Cuda(dev) = x.device() else { bail!("internal error") };
    let g = gpu(dev)?;
    let bytes = x.numel() * x.dtype().size();
    let src = ptr(x)?;
    let buf = g.alloc(bytes)?;
    super::copy_d2d(g, buf.ptr(), src, bytes)?;
    Ok(Tensor::from_dev(buf, x.dtype(), x.shape().to_vec()))
}

/// Copies `src` into `dst`'s own device buffer (a device copy, or an upload for host data).
pub(crate) fn copy_into(dst: &mut Tensor, src: &Tensor) -> Result<()> {
    let Device::Cuda(dev) = dst.device() else { bail!("internal error") };
    let bytes = dst.numel() * dst.dtype().size();
    let d = dev_mut(dst)?;
    let g = gpu(dev)?;
    match src.0.data.dev.get() {
        Some(b) if b.device() == dev => super::copy_d2d(g, d, b.ptr(), bytes),
        _ => super::upload_into(dev, src.0.data.host()?, d),
    }
}

/// int32 / int64 to float32 on the device.
pub(crate) fn cast_to_f32(x: &Tensor) -> Result<Tensor> {
    let Device::Cuda(dev) = x.device() else { bail!("internal error") };
    let g = gpu(dev)?;
    let xp = ptr(x)?;
    let (y, yp) = empty(dev, x.shape().to_vec())?;
    let n = x.numel() as u64;
    let name = match x.dtype() {
        DType::I32 => "cast_i32_f32",
        DType::I64 => "cast_i64_f32",
        DType::F32 => return Ok(x.detach()),
    };
    let mut k = kargs!(xp, yp, n);
    g.launch(name, g.grid_for(n as usize, BLOCK), BLOCK, &mut k)?;
    Ok(y)
}

/// Elements `start..end` of a device tensor as a new tensor of `shape` (a device copy).
pub(crate) fn slice_flat(x: &Tensor, start: usize, end: usize, shape: Vec<usize>) -> Result<Tensor> {
    let Device::Cuda(dev) = x.device() else { bail!("internal error") };
    let g = gpu(dev)?;
    let size = x.dtype().size();
    let src = ptr(x)? + (start * size) as u64;
    let buf = g.alloc((end - start) * size)?;
    super::copy_d2d(g, buf.ptr(), src, (end - start) * size)?;
    Ok(Tensor::from_dev(buf, x.dtype(), shape))
}

pub use crate::ops::fused_types::FusedRule;

/// One fused update of `var` on its GPU. `hyper` is a 2-element device tensor
/// `[learning_rate, iterations]`; `slots` are the rule's state tensors, updated in place.
pub(crate) fn fused_update(
    var: &mut Tensor,
    grad: &Tensor,
    slots: &mut [&mut Tensor],
    hyper: &Tensor,
    rule: FusedRule,
    weight_decay: f32,
) -> Result<()> {
    let Device::Cuda(dev) = var.device() else { bail!("fused_update: the variable is not on a GPU") };
    let g = gpu(dev)?;
    let n = var.numel() as u64;
    let gp = f32_input(grad, "fused_update")?;
    let hp = ptr(hyper)?;
    let mut sp = Vec::with_capacity(slots.len());
    for s in slots.iter_mut() {
        if s.numel() != var.numel() {
            bail!("fused_update: slot of {} elements for a variable of {}", s.numel(), var.numel());
        }
        sp.push(dev_mut(s)?);
    }
    let wp = dev_mut(var)?;
    let grid = g.grid_for(n as usize, BLOCK);
    match rule {
        FusedRule::Adam { beta_1, beta_2, epsilon } => {
            if sp.len() < 2 {
                bail!("fused_update: Adam needs 2 or 3 slots, got {}", sp.len());
            }
            let vh: DevPtr = sp.get(2).copied().unwrap_or(0);
            let (m, v) = (sp[0], sp[1]);
            let mut k = kargs!(wp, gp, m, v, vh, n, hp, beta_1, beta_2, epsilon, weight_decay);
            g.launch("adam_update", grid, BLOCK, &mut k)
        }
        FusedRule::Sgd { momentum, nesterov } => {
            let mp: DevPtr = sp.first().copied().unwrap_or(0);
            let nv = nesterov as i32;
            let mut k = kargs!(wp, gp, mp, n, hp, momentum, nv, weight_decay);
            g.launch("sgd_update", grid, BLOCK, &mut k)
        }
    }
}
