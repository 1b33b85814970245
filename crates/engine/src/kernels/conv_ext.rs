//! Convolution variants over the NHWC kernels of [`crate::kernels::conv`]: explicit
//! (asymmetric) padding, depthwise convolution, and grouped convolution.
//!
//! * **Depthwise** (`c_in` groups of one channel, `dm` outputs each): direct loops, output
//!   channel `c * dm + m` reads input channel `c` with kernel `w[ki, kj, c, m]` (Keras
//!   `DepthwiseConv2D` layout `(kh, kw, c_in, depth_multiplier)`).
//! * **Grouped** (`groups` > 1 with several channels per group): each group's channels are
//!   gathered into contiguous buffers and run through the im2col + GEMM kernels. The kernel
//!   has Keras layout `(kh, kw, c_in / groups, c_out)`; group `gi` owns input channels
//!   `gi * c_in/groups ..` and output channels `gi * c_out/groups ..`.
//!
//! All of them take a [`Conv2dGeometry`] whose `c_in` / `c_out` are the full channel counts.

use crate::kernels::conv::{self, Conv2dGeometry};
use rayon::prelude::*;

use crate::kernels::simd::multiversion;

/// Minimum multiply-adds before the depthwise kernels spread work over threads.
const PARALLEL_MIN_MACS: usize = 1 << 18;

/// Geometry with explicit zero padding `pads = [[top, bottom], [left, right]]` (Keras
/// `causal` Conv1D pads `dilation * (k - 1)` on the left only).
///
/// `out = (in + before + after - dil*(k-1) - 1) / stride + 1`; errors on zero sizes and on a
/// dilated kernel larger than the padded input.
pub fn geometry_explicit(
    input: [usize; 4],
    kernel_hw: [usize; 2],
    c_out: usize,
    strides: [usize; 2],
    dilation: [usize; 2],
    pads: [[usize; 2]; 2],
) -> Result<Conv2dGeometry, String> {
    // Validate sizes with the TensorFlow rules on an input large enough for any kernel
    // (keeps the zero-size messages identical), then compute the explicit output sizes.
    let [n, h, w, c_in] = input;
    let mut out = [0usize; 2];
    for (i, axis) in ["height", "width"].into_iter().enumerate() {
        let (inp, k, s, d) = ([h, w][i], kernel_hw[i], strides[i], dilation[i]);
        if inp == 0 || k == 0 || s == 0 || d == 0 {
            return Err(format!(
                "Conv2D: input {axis}, kernel {axis}, stride and dilation must be positive, got \
                 {inp}, {k}, {s}, {d}"
            ));
        }
        let span = (k - 1)
            .checked_mul(d)
            .and_then(|v| v.checked_add(1))
            .ok_or_else(|| format!("Conv2D: dilated kernel {axis} overflows"))?;
        let padded = inp + pads[i][0] + pads[i][1];
        if span > padded {
            return Err(format!(
                "Conv2D: kernel {axis} {k} (dilated extent {span}) is larger than the padded input \
                 {axis} {padded}"
            ));
        }
        out[i] = (padded - span) / s + 1;
    }
    if c_in == 0 || c_out == 0 {
        return Err(format!("Conv2D: channel counts must be positive, got in={c_in}, out={c_out}"));
    }
    Ok(Conv2dGeometry {
        n,
        h,
        w,
        c_in,
        kh: kernel_hw[0],
        kw: kernel_hw[1],
        c_out,
        stride_h: strides[0],
        stride_w: strides[1],
        dil_h: dilation[0],
        dil_w: dilation[1],
        pad_top: pads[0][0],
        pad_left: pads[1][0],
        out_h: out[0],
        out_w: out[1],
    })
}

/// Input position of tap `k` for output position `o`, or None inside the padding.
#[inline]
fn tap(o: usize, k: usize, stride: usize, dil: usize, pad: usize, len: usize) -> Option<usize> {
    let i = (o * stride + k * dil).checked_sub(pad)?;
    (i < len).then_some(i)
}

fn depthwise_parallel(g: &Conv2dGeometry) -> bool {
    crate::parallel::num_threads() > 1 && g.output_len() * g.kh * g.kw >= PARALLEL_MIN_MACS
}

/// Depthwise forward: `out[b, oh, ow, c*dm + m] = sum x[b, ih, iw, c] * w[ki, kj, c, m]
/// (+ bias[c*dm + m])`, then `epilogue` on each block of whole output rows.
///
/// `g.c_out` must be `g.c_in * dm`; `w` has `kh * kw * c_in * dm` elements.
///
/// # Panics
/// If a buffer length does not match the geometry (an engine bug, never user input).
pub fn depthwise_forward(
    g: &Conv2dGeometry,
    dm: usize,
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    out: &mut [f32],
    epilogue: &(dyn Fn(&mut [f32]) + Sync),
) {
    assert_eq!(g.c_out, g.c_in * dm, "depthwise_forward: c_out");
    assert_eq!(x.len(), g.input_len(), "depthwise_forward: input length");
    assert_eq!(w.len(), g.kh * g.kw * g.c_out, "depthwise_forward: kernel length");
    assert_eq!(out.len(), g.output_len(), "depthwise_forward: output length");
    let cout = g.c_out;
    let row_out = g.out_w * cout;
    if row_out == 0 || g.n * g.out_h == 0 {
        return;
    }
    let row = |r: usize, orow: &mut [f32]| {
        depthwise_row(g, dm, x, w, bias, r, orow);
        epilogue(orow);
    };
    if depthwise_parallel(g) {
        out.par_chunks_mut(row_out).enumerate().for_each(|(r, o)| row(r, o));
    } else {
        for (r, o) in out.chunks_mut(row_out).enumerate() {
            row(r, o);
        }
    }
}

/// Channels per block of the depthwise row kernel: its accumulators stay in registers
/// (four AVX-512 vectors).
const DW_BLOCK: usize = 64;

multiversion! {
    /// One output row `r` (image `r / out_h`, row `r % out_h`) of [`depthwise_forward`]:
    /// for each output pixel, the bias (or zero) plus each tap's `x * w`, in tap order.
    fn depthwise_row(
        g: &Conv2dGeometry,
        dm: usize,
        x: &[f32],
        w: &[f32],
        bias: Option<&[f32]>,
        r: usize,
        orow: &mut [f32],
    ) {
        let cout = g.c_out;
        let (b, oh) = (r / g.out_h, r % g.out_h);
        for (ow, acc) in orow.chunks_exact_mut(cout).enumerate() {
            if dm == 1 {
                // Blocks of channels accumulated over every tap in registers.
                let mut c0 = 0;
                while c0 < cout {
                    let cb = DW_BLOCK.min(cout - c0);
                    let mut regs = [0.0f32; DW_BLOCK];
                    if let Some(bv) = bias {
                        for (r, b) in regs.iter_mut().zip(&bv[c0..c0 + cb]) {
                            *r = *b;
                        }
                    }
                    for ki in 0..g.kh {
                        let Some(ih) = tap(oh, ki, g.stride_h, g.dil_h, g.pad_top, g.h) else { continue };
                        for kj in 0..g.kw {
                            let Some(iw) = tap(ow, kj, g.stride_w, g.dil_w, g.pad_left, g.w) else { continue };
                            let xs = ((b * g.h + ih) * g.w + iw) * g.c_in + c0;
                            let ws = (ki * g.kw + kj) * cout + c0;
                            if cb == DW_BLOCK {
                                let xp: &[f32; DW_BLOCK] = x[xs..xs + DW_BLOCK].try_into().unwrap();
                                let wp: &[f32; DW_BLOCK] = w[ws..ws + DW_BLOCK].try_into().unwrap();
                                for i in 0..DW_BLOCK {
                                    regs[i] += xp[i] * wp[i];
                                }
                            } else {
                                let (xp, wp) = (&x[xs..xs + cb], &w[ws..ws + cb]);
                                for ((r, xv), wv) in regs.iter_mut().zip(xp).zip(wp) {
                                    *r += xv * wv;
                                }
                            }
                        }
                    }
                    for (a, r) in acc[c0..c0 + cb].iter_mut().zip(&regs) {
                        *a = *r;
                    }
                    c0 += DW_BLOCK;
                }
                continue;
            }
            match bias {
                Some(bv) => acc.copy_from_slice(bv),
                None => acc.fill(0.0),
            }
            for ki in 0..g.kh {
                let Some(ih) = tap(oh, ki, g.stride_h, g.dil_h, g.pad_top, g.h) else { continue };
                for kj in 0..g.kw {
                    let Some(iw) = tap(ow, kj, g.stride_w, g.dil_w, g.pad_left, g.w) else { continue };
                    let xs = ((b * g.h + ih) * g.w + iw) * g.c_in;
                    let xp = &x[xs..xs + g.c_in];
                    let wt = &w[(ki * g.kw + kj) * cout..(ki * g.kw + kj + 1) * cout];
                    for (ac, (xv, wc)) in acc.chunks_exact_mut(dm).zip(xp.iter().zip(wt.chunks_exact(dm))) {
                        for (a, wv) in ac.iter_mut().zip(wc) {
                            *a += xv * wv;
                        }
                    }
                }
            }
        }
    }
}

/// Input gradient of [`depthwise_forward`] (bias and epilogue excluded); `dx` is overwritten.
///
/// # Panics
/// If a buffer length does not match the geometry (an engine bug, never user input).
pub fn depthwise_backward_input(g: &Conv2dGeometry, dm: usize, dy: &[f32], w: &[f32], dx: &mut [f32]) {
    assert_eq!(g.c_out, g.c_in * dm, "depthwise_backward_input: c_out");
    assert_eq!(dy.len(), g.output_len(), "depthwise_backward_input: dy length");
    assert_eq!(w.len(), g.kh * g.kw * g.c_out, "depthwise_backward_input: kernel length");
    assert_eq!(dx.len(), g.input_len(), "depthwise_backward_input: dx length");
    let img_in = g.h * g.w * g.c_in;
    let img_out = g.out_h * g.out_w * g.c_out;
    if g.n == 0 || img_in == 0 {
        return;
    }
    let image = |b: usize, dxi: &mut [f32]| {
        dxi.fill(0.0);
        let dyi = &dy[b * img_out..(b + 1) * img_out];
        for oh in 0..g.out_h {
            for ow in 0..g.out_w {
                let dys = (oh * g.out_w + ow) * g.c_out;
                let dyp = &dyi[dys..dys + g.c_out];
                for ki in 0..g.kh {
                    let Some(ih) = tap(oh, ki, g.stride_h, g.dil_h, g.pad_top, g.h) else { continue };
                    for kj in 0..g.kw {
                        let Some(iw) = tap(ow, kj, g.stride_w, g.dil_w, g.pad_left, g.w) else { continue };
                        let xs = (ih * g.w + iw) * g.c_in;
                        let dxp = &mut dxi[xs..xs + g.c_in];
                        let wt = &w[(ki * g.kw + kj) * g.c_out..(ki * g.kw + kj + 1) * g.c_out];
                        for ((d, dc), wc) in dxp.iter_mut().zip(dyp.chunks_exact(dm)).zip(wt.chunks_exact(dm))
                        {
                            *d += dc.iter().zip(wc).map(|(a, b)| a * b).sum::<f32>();
                        }
                    }
                }
            }
        }
    };
    if depthwise_parallel(g) && g.n > 1 {
        dx.par_chunks_mut(img_in).enumerate().for_each(|(b, d)| image(b, d));
    } else {
        for (b, d) in dx.chunks_mut(img_in).enumerate() {
            image(b, d);
        }
    }
}

/// Kernel gradient of [`depthwise_forward`]; `dw` (`kh * kw * c_in * dm`) is overwritten.
/// Per-image partial sums are added in image order, so the result does not depend on the
/// thread count.
///
/// # Panics
/// If a buffer length does not match the geometry (an engine bug, never user input).
pub fn depthwise_backward_kernel(g: &Conv2dGeometry, dm: usize, x: &[f32], dy: &[f32], dw: &mut [f32]) {
    assert_eq!(g.c_out, g.c_in * dm, "depthwise_backward_kernel: c_out");
    assert_eq!(x.len(), g.input_len(), "depthwise_backward_kernel: input length");
    assert_eq!(dy.len(), g.output_len(), "depthwise_backward_kernel: dy length");
    assert_eq!(dw.len(), g.kh * g.kw * g.c_out, "depthwise_backward_kernel: dw length");
    dw.fill(0.0);
    let img_in = g.h * g.w * g.c_in;
    let img_out = g.out_h * g.out_w * g.c_out;
    if g.n == 0 || img_out == 0 {
        return;
    }
    let image = |b: usize, acc: &mut [f32]| {
        let xi = &x[b * img_in..(b + 1) * img_in];
        let dyi = &dy[b * img_out..(b + 1) * img_out];
        for oh in 0..g.out_h {
            for ow in 0..g.out_w {
                let dys = (oh * g.out_w + ow) * g.c_out;
                let dyp = &dyi[dys..dys + g.c_out];
                for ki in 0..g.kh {
                    let Some(ih) = tap(oh, ki, g.stride_h, g.dil_h, g.pad_top, g.h) else { continue };
                    for kj in 0..g.kw {
                        let Some(iw) = tap(ow, kj, g.stride_w, g.dil_w, g.pad_left, g.w) else { continue };
                        let xs = (ih * g.w + iw) * g.c_in;
                        let xp = &xi[xs..xs + g.c_in];
                        let at = &mut acc[(ki * g.kw + kj) * g.c_out..(ki * g.kw + kj + 1) * g.c_out];
                        for ((ac, xv), dc) in at.chunks_exact_mut(dm).zip(xp).zip(dyp.chunks_exact(dm)) {
                            for (a, d) in ac.iter_mut().zip(dc) {
                                *a += xv * d;
                            }
                        }
                    }
                }
            }
        }
    };
    if depthwise_parallel(g) && g.n > 1 {
        let len = dw.len();
        let partials: Vec<Vec<f32>> = (0..g.n)
            .into_par_iter()
            .map(|b| {
                let mut acc = vec![0.0; len];
                image(b, &mut acc);
                acc
            })
            .collect();
        for p in &partials {
            for (d, v) in dw.iter_mut().zip(p) {
                *d += *v;
            }
        }
    } else {
        for b in 0..g.n {
            image(b, dw);
        }
    }
}

/// Copies columns `start .. start + width` of a row-major matrix with rows of `row_len`.
fn gather_cols(src: &[f32], row_len: usize, start: usize, width: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(src.len() / row_len.max(1) * width);
    for row in src.chunks_exact(row_len) {
        out.extend_from_slice(&row[start..start + width]);
    }
    out
}

/// Writes `src` (rows of `width`) into columns `start .. start + width` of `dst`.
fn scatter_cols(dst: &mut [f32], row_len: usize, start: usize, width: usize, src: &[f32]) {
    for (row, s) in dst.chunks_exact_mut(row_len).zip(src.chunks_exact(width)) {
        row[start..start + width].copy_from_slice(s);
    }
}

/// The geometry of one group (its channel counts).
fn group_geometry(g: &Conv2dGeometry, groups: usize) -> Conv2dGeometry {
    Conv2dGeometry { c_in: g.c_in / groups, c_out: g.c_out / groups, ..*g }
}

fn check_groups(g: &Conv2dGeometry, groups: usize, what: &str) {
    assert!(
        groups > 0 && g.c_in.is_multiple_of(groups) && g.c_out.is_multiple_of(groups),
        "{what}: groups {groups} must divide c_in {} and c_out {}",
        g.c_in,
        g.c_out
    );
}

/// Grouped forward: kernel `(kh, kw, c_in / groups, c_out)`, bias `c_out`, then `epilogue`
/// on blocks of whole output rows. `groups == 1` is the plain convolution.
///
/// # Panics
/// If `groups` does not divide both channel counts or a buffer length does not match (an
/// engine bug, never user input).
pub fn grouped_forward(
    g: &Conv2dGeometry,
    groups: usize,
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    out: &mut [f32],
    epilogue: &(dyn Fn(&mut [f32]) + Sync),
) {
    check_groups(g, groups, "grouped_forward");
    if groups == 1 {
        return conv::conv2d_forward(g, x, w, bias, out, epilogue);
    }
    let gg = group_geometry(g, groups);
    assert_eq!(w.len(), gg.kernel_len() * groups, "grouped_forward: kernel length");
    assert_eq!(out.len(), g.output_len(), "grouped_forward: output length");
    if gg.c_in == 1 {
        return depthwise_forward(g, gg.c_out, x, w, bias, out, epilogue);
    }
    for gi in 0..groups {
        let xg = gather_cols(x, g.c_in, gi * gg.c_in, gg.c_in);
        let wg = gather_cols(w, g.c_out, gi * gg.c_out, gg.c_out);
        let mut og = vec![0.0; gg.output_len()];
        conv::conv2d_forward(&gg, &xg, &wg, None, &mut og, &|_| {});
        scatter_cols(out, g.c_out, gi * gg.c_out, gg.c_out, &og);
    }
    let row_out = (g.out_w * g.c_out).max(1);
    for rows in out.chunks_mut(row_out) {
        if let Some(b) = bias {
            for px in rows.chunks_exact_mut(g.c_out) {
                for (v, bv) in px.iter_mut().zip(b) {
                    *v += *bv;
                }
            }
        }
        epilogue(rows);
    }
}

/// Input gradient of [`grouped_forward`] (bias and epilogue excluded); `dx` is overwritten.
///
/// # Panics
/// As [`grouped_forward`].
pub fn grouped_backward_input(g: &Conv2dGeometry, groups: usize, dy: &[f32], w: &[f32], dx: &mut [f32]) {
    check_groups(g, groups, "grouped_backward_input");
    if groups == 1 {
        return conv::conv2d_backward_input(g, dy, w, dx);
    }
    let gg = group_geometry(g, groups);
    if gg.c_in == 1 {
        return depthwise_backward_input(g, gg.c_out, dy, w, dx);
    }
    for gi in 0..groups {
        let dyg = gather_cols(dy, g.c_out, gi * gg.c_out, gg.c_out);
        let wg = gather_cols(w, g.c_out, gi * gg.c_out, gg.c_out);
        let mut dxg = vec![0.0; gg.input_len()];
        conv::conv2d_backward_input(&gg, &dyg, &wg, &mut dxg);
        scatter_cols(dx, g.c_in, gi * gg.c_in, gg.c_in, &dxg);
    }
}

/// Kernel gradient of [`grouped_forward`]; `dw` (`(kh, kw, c_in / groups, c_out)`) is
/// overwritten.
///
/// # Panics
/// As [`grouped_forward`].
pub fn grouped_backward_kernel(g: &Conv2dGeometry, groups: usize, x: &[f32], dy: &[f32], dw: &mut [f32]) {
    check_groups(g, groups, "grouped_backward_kernel");
    if groups == 1 {
        return conv::conv2d_backward_kernel(g, x, dy, dw);
    }
    let gg = group_geometry(g, groups);
    if gg.c_in == 1 {
        return depthwise_backward_kernel(g, gg.c_out, x, dy, dw);
    }
    for gi in 0..groups {
        let xg = gather_cols(x, g.c_in, gi * gg.c_in, gg.c_in);
        let dyg = gather_cols(dy, g.c_out, gi * gg.c_out, gg.c_out);
        let mut dwg = vec![0.0; gg.kernel_len()];
        conv::conv2d_backward_kernel(&gg, &xg, &dyg, &mut dwg);
        scatter_cols(dw, g.c_out, gi * gg.c_out, gg.c_out, &dwg);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rand_vec(len: usize, seed: u64) -> Vec<f32> {
        let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (0..len)
            .map(|_| {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
            })
            .collect()
    }

    fn assert_close(got: &[f32], want: &[f32], what: &str) {
        assert_eq!(got.len(), want.len(), "{what}: length");
        for (i, (a, b)) in got.iter().zip(want).enumerate() {
            assert!((a - b).abs() <= 1e-4 * (1.0 + b.abs()), "{what}: element {i}: got {a}, want {b}");
        }
    }

    /// The equivalent dense `(kh, kw, c_in, c_out)` kernel of a grouped one (zeros between
    /// groups).
    fn dense_kernel(g: &Conv2dGeometry, groups: usize, w: &[f32]) -> Vec<f32> {
        let (cig, cog) = (g.c_in / groups, g.c_out / groups);
        let mut full = vec![0.0; g.kernel_len()];
        for t in 0..g.kh * g.kw {
            for ci in 0..g.c_in {
                let gi = ci / cig;
                for co in gi * cog..(gi + 1) * cog {
                    full[(t * g.c_in + ci) * g.c_out + co] = w[(t * cig + ci % cig) * g.c_out + co];
                }
            }
        }
        full
    }

    /// (input, kernel, c_out, strides, dilation, pads, groups)
    type Case = ([usize; 4], [usize; 2], usize, [usize; 2], [usize; 2], [[usize; 2]; 2], usize);

    #[test]
    fn grouped_and_depthwise_match_dense_equivalent() {
        let cases: [Case; 7] = [
            ([2, 5, 6, 4], [3, 3], 6, [1, 1], [1, 1], [[1, 1], [1, 1]], 2),
            ([1, 7, 5, 6], [2, 3], 9, [2, 1], [1, 1], [[0, 1], [2, 0]], 3),
            ([2, 6, 6, 3], [3, 3], 6, [2, 2], [1, 1], [[0, 1], [0, 1]], 3),
            ([2, 6, 6, 3], [3, 3], 3, [1, 1], [2, 1], [[0, 0], [0, 0]], 3),
            ([1, 1, 9, 2], [1, 3], 4, [1, 2], [1, 2], [[0, 0], [4, 0]], 2),
            ([3, 4, 4, 5], [1, 1], 5, [1, 1], [1, 1], [[0, 0], [0, 0]], 1),
            ([8, 20, 20, 8], [3, 3], 16, [1, 1], [1, 1], [[1, 1], [1, 1]], 8),
        ];
        for (i, &(input, kernel, c_out, strides, dil, pads, groups)) in cases.iter().enumerate() {
            let g = geometry_explicit(input, kernel, c_out, strides, dil, pads).unwrap();
            let x = rand_vec(g.input_len(), 1 + i as u64);
            let w = rand_vec(g.kernel_len() / groups, 50 + i as u64);
            let bias = rand_vec(c_out, 70 + i as u64);
            let dy = rand_vec(g.output_len(), 90 + i as u64);
            let full = dense_kernel(&g, groups, &w);

            let mut want = vec![0.0; g.output_len()];
            conv::conv2d_forward(&g, &x, &full, Some(&bias), &mut want, &|_| {});
            let mut got = vec![f32::NAN; g.output_len()];
            grouped_forward(&g, groups, &x, &w, Some(&bias), &mut got, &|_| {});
            assert_close(&got, &want, &format!("forward case {i}"));

            let mut want = vec![0.0; g.input_len()];
            conv::conv2d_backward_input(&g, &dy, &full, &mut want);
            let mut got = vec![f32::NAN; g.input_len()];
            grouped_backward_input(&g, groups, &dy, &w, &mut got);
            assert_close(&got, &want, &format!("backward_input case {i}"));

            let mut dfull = vec![0.0; g.kernel_len()];
            conv::conv2d_backward_kernel(&g, &x, &dy, &mut dfull);
            let (cig, cog) = (g.c_in / groups, g.c_out / groups);
            let mut want = vec![0.0; w.len()];
            for t in 0..g.kh * g.kw {
                for ci in 0..g.c_in {
                    let gi = ci / cig;
                    for co in gi * cog..(gi + 1) * cog {
                        want[(t * cig + ci % cig) * g.c_out + co] = dfull[(t * g.c_in + ci) * g.c_out + co];
                    }
                }
            }
            let mut got = vec![f32::NAN; w.len()];
            grouped_backward_kernel(&g, groups, &x, &dy, &mut got);
            assert_close(&got, &want, &format!("backward_kernel case {i}"));
        }
    }

    /// The register-blocked depthwise kernel against the plain loop in tap order, bit for
    /// bit: channel counts below, at and across its block size, strides, dilation, padding.
    #[test]
    fn depthwise_blocks_give_the_bits_of_the_plain_loop() {
        for (i, &(c, strides, dil, same)) in
            [(5, 1, 1, true), (64, 1, 1, true), (70, 2, 1, true), (128, 1, 2, false), (200, 2, 1, false)]
                .iter()
                .enumerate()
        {
            let g = Conv2dGeometry::new([2, 7, 6, c], [3, 3], c, [strides; 2], [dil; 2], same).unwrap();
            let x = rand_vec(g.input_len(), 5 + i as u64);
            let w = rand_vec(g.kernel_len() / c, 15 + i as u64);
            let bias = rand_vec(c, 25 + i as u64);
            let mut want = vec![0.0f32; g.output_len()];
            for b in 0..g.n {
                for oh in 0..g.out_h {
                    for ow in 0..g.out_w {
                        for ch in 0..c {
                            let mut acc = bias[ch];
                            for ki in 0..g.kh {
                                let Some(ih) = tap(oh, ki, g.stride_h, g.dil_h, g.pad_top, g.h) else {
                                    continue;
                                };
                                for kj in 0..g.kw {
                                    let Some(iw) = tap(ow, kj, g.stride_w, g.dil_w, g.pad_left, g.w) else {
                                        continue;
                                    };
                                    acc += x[((b * g.h + ih) * g.w + iw) * c + ch]
                                        * w[(ki * g.kw + kj) * c + ch];
                                }
                            }
                            want[((b * g.out_h + oh) * g.out_w + ow) * c + ch] = acc;
                        }
                    }
                }
            }
            let mut got = vec![f32::NAN; g.output_len()];
            depthwise_forward(&g, 1, &x, &w, Some(&bias), &mut got, &|_| {});
            for (j, (a, b)) in got.iter().zip(&want).enumerate() {
                assert_eq!(a.to_bits(), b.to_bits(), "case {i} element {j}: {a} vs {b}");
            }
        }
    }

    #[test]
    fn explicit_geometry() {
        let same = Conv2dGeometry::new([1, 5, 6, 1], [3, 3], 1, [2, 2], [1, 1], true).unwrap();
        let ex = geometry_explicit([1, 5, 6, 1], [3, 3], 1, [2, 2], [1, 1], [[1, 1], [0, 1]]).unwrap();
        assert_eq!(same, ex);
        // Causal: left pad dil*(k-1) keeps the length.
        let c = geometry_explicit([2, 1, 10, 3], [1, 3], 4, [1, 1], [1, 2], [[0, 0], [4, 0]]).unwrap();
        assert_eq!((c.out_h, c.out_w, c.pad_left), (1, 10, 4));
        assert!(geometry_explicit([1, 2, 2, 1], [3, 3], 1, [1, 1], [1, 1], [[0, 0], [0, 0]]).is_err());
        assert!(geometry_explicit([1, 2, 2, 1], [1, 1], 1, [0, 1], [1, 1], [[0, 0], [0, 0]]).is_err());
    }
}
