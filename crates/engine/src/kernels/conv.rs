//! 2D convolution on channels-last data: NHWC input, HWIO kernel (Keras layout
//! `(kh, kw, c_in, c_out)`), NHWC output.
//!
//! Every pass is im2col + GEMM. The flattened output rows `(n, oh)` are processed in chunks
//! whose im2col buffer stays cache sized; chunks run in parallel on rayon (where
//! [`matmul`] then runs single-threaded). A 1x1, stride-1, unpadded convolution is a plain
//! GEMM on the input and never builds an im2col buffer.
//!
//! The im2col patch of one output pixel is laid out `(ki, kj, ci)`, which is exactly the
//! row order of the HWIO kernel seen as a `(kh * kw * c_in) x c_out` matrix.

use super::conv_direct;
use super::fresh::{fresh_vec, Out};
use crate::kernels::matmul::{matmul, Trans};
use rayon::prelude::*;

/// Floats per im2col chunk buffer (256 KiB): big enough for efficient GEMMs, small enough
/// to stay in L2 between the im2col write and the GEMM read.
const COL_CHUNK_FLOATS: usize = 1 << 16;

/// Below this many output pixels per chunk, a forward convolution runs as one GEMM.
const MIN_CHUNK_PIXELS: usize = 64;

/// ... when its whole im2col matrix holds at most this many floats (16 MiB).
const SINGLE_GEMM_MAX_FLOATS: usize = 1 << 22;

/// Minimum multiply-adds of a whole convolution before chunks are spread over threads.
const PARALLEL_MIN_MACS: usize = 1 << 20;

/// Shape and padding of a 2D convolution (NHWC input, HWIO kernel, NHWC output).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv2dGeometry {
    /// Batch size.
    pub n: usize,
    /// Input height.
    pub h: usize,
    /// Input width.
    pub w: usize,
    /// Input channels.
    pub c_in: usize,
    /// Kernel height.
    pub kh: usize,
    /// Kernel width.
    pub kw: usize,
    /// Output channels (filters).
    pub c_out: usize,
    /// Vertical stride.
    pub stride_h: usize,
    /// Horizontal stride.
    pub stride_w: usize,
    /// Vertical dilation.
    pub dil_h: usize,
    /// Horizontal dilation.
    pub dil_w: usize,
    /// Implicit zero rows above the input.
    pub pad_top: usize,
    /// Implicit zero columns left of the input.
    pub pad_left: usize,
    /// Output height.
    pub out_h: usize,
    /// Output width.
    pub out_w: usize,
}

use super::padding::axis_out_and_pad;

impl Conv2dGeometry {
    /// Geometry for input `[n, h, w, c_in]`, kernel `[kh, kw]`, `c_out` filters, `strides`
    /// and `dilation` as `[h, w]`, and "same" (`true`) or "valid" (`false`) padding.
    ///
    /// TensorFlow rules: "valid" gives `out = floor((in - dil*(k-1) - 1) / stride) + 1` with
    /// no padding; "same" gives `out = ceil(in / stride)` with total padding
    /// `max((out-1)*stride + dil*(k-1) + 1 - in, 0)`, `pad_top = total / 2` (the extra
    /// row/column goes at the bottom/right).
    ///
    /// Errors on zero sizes, strides, dilations or channel counts, and on a dilated kernel
    /// larger than the input under "valid" padding. A batch of zero is allowed.
    pub fn new(
        input: [usize; 4],
        kernel_hw: [usize; 2],
        c_out: usize,
        strides: [usize; 2],
        dilation: [usize; 2],
        same_padding: bool,
    ) -> Result<Self, String> {
        let [n, h, w, c_in] = input;
        if c_in == 0 {
            return Err("Conv2D: input channels must be positive, got 0".to_string());
        }
        if c_out == 0 {
            return Err("Conv2D: number of filters must be positive, got 0".to_string());
        }
        let (out_h, pad_top) = axis_out_and_pad(
            "Conv2D",
            "kernel",
            "height",
            h,
            kernel_hw[0],
            strides[0],
            dilation[0],
            same_padding,
        )?;
        let (out_w, pad_left) = axis_out_and_pad(
            "Conv2D",
            "kernel",
            "width",
            w,
            kernel_hw[1],
            strides[1],
            dilation[1],
            same_padding,
        )?;
        Ok(Self {
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
            pad_top,
            pad_left,
            out_h,
            out_w,
        })
    }

    /// Number of input elements, `n * h * w * c_in`.
    pub fn input_len(&self) -> usize {
        self.n * self.h * self.w * self.c_in
    }

    /// Number of kernel elements, `kh * kw * c_in * c_out`.
    pub fn kernel_len(&self) -> usize {
        self.patch_len() * self.c_out
    }

    /// Number of output elements, `n * out_h * out_w * c_out`.
    pub fn output_len(&self) -> usize {
        self.n * self.out_h * self.out_w * self.c_out
    }

    /// Length of one im2col patch (the GEMM inner dimension), `kh * kw * c_in`.
    fn patch_len(&self) -> usize {
        self.kh * self.kw * self.c_in
    }

    /// A 1x1, stride-1, unpadded convolution: the input already is the im2col matrix.
    fn is_pointwise(&self) -> bool {
        self.kh == 1
            && self.kw == 1
            && self.stride_h == 1
            && self.stride_w == 1
            && self.pad_top == 0
            && self.pad_left == 0
    }

    /// Whether chunks should be spread over rayon threads.
    fn parallel(&self) -> bool {
        crate::parallel::num_threads() > 1
            && self.output_len() / self.c_out * self.kernel_len() >= PARALLEL_MIN_MACS
    }

    /// Output rows (of `out_w` pixels) per chunk, at most `max_rows`, for chunk buffers of
    /// about `target_floats`; with `split`, also small enough to leave a few chunks per thread.
    fn rows_per_chunk(&self, max_rows: usize, target_floats: usize, split: bool) -> usize {
        let row_floats = (self.out_w * self.patch_len().max(self.c_out)).max(1);
        let mut rows = (target_floats / row_floats).max(1);
        let threads = crate::parallel::num_threads();
        if split && threads > 1 {
            // Leave a few chunks per thread for load balance.
            rows = rows.min(max_rows.div_ceil(4 * threads));
        }
        rows.clamp(1, max_rows.max(1))
    }
}

/// Fills `col` (`rows * out_w` patches of `patch_len` floats) with the im2col rows of the
/// flattened output rows `r0 .. r0 + rows` (row `r` is image `r / out_h`, row `r % out_h`).
fn im2col(g: &Conv2dGeometry, x: &[f32], r0: usize, rows: usize, col: &mut [f32]) {
    let k = g.patch_len();
    let c = g.c_in;
    let kwc = g.kw * c;
    let img_len = g.h * g.w * c;
    let xrow_len = g.w * c;
    let contiguous_w = g.dil_w == 1;
    for (p, patch) in col.chunks_exact_mut(k).take(rows * g.out_w).enumerate() {
        let r = r0 + p / g.out_w;
        let ow = p % g.out_w;
        let (b, oh) = (r / g.out_h, r % g.out_h);
        let img = &x[b * img_len..(b + 1) * img_len];
        // Leftmost input column of the window; may be "negative" (inside the padding).
        let iw0 = (ow * g.stride_w) as isize - g.pad_left as isize;
        let w_inside = iw0 >= 0 && iw0 as usize + g.kw <= g.w;
        for (ki, seg) in patch.chunks_exact_mut(kwc).enumerate() {
            let ih = (oh * g.stride_h + ki * g.dil_h) as isize - g.pad_top as isize;
            if ih < 0 || ih as usize >= g.h {
                seg.fill(0.0);
                continue;
            }
            let xrow = &img[ih as usize * xrow_len..(ih as usize + 1) * xrow_len];
            if contiguous_w && w_inside {
                let s = iw0 as usize * c;
                seg.copy_from_slice(&xrow[s..s + kwc]);
            } else {
                for (kj, run) in seg.chunks_exact_mut(c).enumerate() {
                    let iw = iw0 + (kj * g.dil_w) as isize;
                    if iw < 0 || iw as usize >= g.w {
                        run.fill(0.0);
                    } else {
                        let s = iw as usize * c;
                        run.copy_from_slice(&xrow[s..s + c]);
                    }
                }
            }
        }
    }
}

/// Scatter-adds `dcol` (`rows * out_w` patches) of output rows `oh0 .. oh0 + rows` of one
/// image into that image's input gradient `dxi`.
fn col2im(g: &Conv2dGeometry, dcol: &[f32], oh0: usize, rows: usize, dxi: &mut [f32]) {
    let k = g.patch_len();
    let c = g.c_in;
    let kwc = g.kw * c;
    let xrow_len = g.w * c;
    let contiguous_w = g.dil_w == 1;
    for (p, patch) in dcol.chunks_exact(k).take(rows * g.out_w).enumerate() {
        let oh = oh0 + p / g.out_w;
        let ow = p % g.out_w;
        let iw0 = (ow * g.stride_w) as isize - g.pad_left as isize;
        let w_inside = iw0 >= 0 && iw0 as usize + g.kw <= g.w;
        for (ki, seg) in patch.chunks_exact(kwc).enumerate() {
            let ih = (oh * g.stride_h + ki * g.dil_h) as isize - g.pad_top as isize;
            if ih < 0 || ih as usize >= g.h {
                continue;
            }
            let dxrow = &mut dxi[ih as usize * xrow_len..(ih as usize + 1) * xrow_len];
            if contiguous_w && w_inside {
                let s = iw0 as usize * c;
                for (d, v) in dxrow[s..s + kwc].iter_mut().zip(seg) {
                    *d += *v;
                }
            } else {
                for (kj, run) in seg.chunks_exact(c).enumerate() {
                    let iw = iw0 + (kj * g.dil_w) as isize;
                    if iw >= 0 && (iw as usize) < g.w {
                        let s = iw as usize * c;
                        for (d, v) in dxrow[s..s + c].iter_mut().zip(run) {
                            *d += *v;
                        }
                    }
                }
            }
        }
    }
}

/// The GEMM left operand (`rows * out_w` x `patch_len`) for flattened output rows
/// `r0 .. r0 + rows`: the input itself for pointwise convolutions, else im2col into `col`.
fn patches<'a>(g: &Conv2dGeometry, x: &'a [f32], r0: usize, rows: usize, col: &'a mut Vec<f32>) -> &'a [f32] {
    let m = rows * g.out_w;
    let k = g.patch_len();
    if g.is_pointwise() {
        &x[r0 * g.out_w * k..(r0 + rows) * g.out_w * k]
    } else {
        if col.len() < m * k {
            col.resize(m * k, 0.0);
        }
        im2col(g, x, r0, rows, &mut col[..m * k]);
        &col[..m * k]
    }
}

/// 2D convolution forward: `out[n, oh, ow, co] = sum x * w (+ bias[co])`.
///
/// `x` is NHWC `[n, h, w, c_in]`, `w` is HWIO `[kh, kw, c_in, c_out]`, `bias` has `c_out`
/// elements and `out` is NHWC `[n, out_h, out_w, c_out]` (overwritten). After each block
/// of whole output rows is computed, `epilogue` is applied to it in place while it is still
/// in cache (the slice length is a multiple of `c_out`); pass `&|_| {}` for none.
///
/// # Panics
/// If a buffer length does not match the geometry (an engine bug, never user input).
pub fn conv2d_forward(
    g: &Conv2dGeometry,
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    out: &mut [f32],
    epilogue: &(dyn Fn(&mut [f32]) + Sync),
) {
    conv2d_forward_into(g, x, w, bias, out.into(), epilogue, true);
}

/// [`conv2d_forward`] always by im2col + GEMM, never by the direct kernel for few input
/// channels: for comparisons (the `conv_direct` example).
#[doc(hidden)]
pub fn conv2d_forward_im2col(
    g: &Conv2dGeometry,
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    out: &mut [f32],
    epilogue: &(dyn Fn(&mut [f32]) + Sync),
) {
    conv2d_forward_into(g, x, w, bias, out.into(), epilogue, false);
}

/// [`conv2d_forward`] into a new vector: each chunk of output rows is zero-filled by the
/// thread that computes it, while in cache, instead of all at once beforehand
/// ([`super::fresh`]).
///
/// # Panics
/// As [`conv2d_forward`].
pub fn conv2d_forward_vec(
    g: &Conv2dGeometry,
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    epilogue: &(dyn Fn(&mut [f32]) + Sync),
) -> Vec<f32> {
    fresh_vec(g.output_len(), |out| conv2d_forward_into(g, x, w, bias, out, epilogue, true))
}

/// [`conv2d_forward`] on an [`Out`]; `direct`: by [`conv_direct`] where it applies.
fn conv2d_forward_into(
    g: &Conv2dGeometry,
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    out: Out<'_>,
    epilogue: &(dyn Fn(&mut [f32]) + Sync),
    direct: bool,
) {
    assert_eq!(x.len(), g.input_len(), "conv2d_forward: input length");
    assert_eq!(w.len(), g.kernel_len(), "conv2d_forward: kernel length");
    assert_eq!(out.len(), g.output_len(), "conv2d_forward: output length");
    if let Some(b) = bias {
        assert_eq!(b.len(), g.c_out, "conv2d_forward: bias length");
    }
    let total_rows = g.n * g.out_h;
    let k = g.patch_len();
    let row_out = g.out_w * g.c_out;
    if total_rows == 0 || row_out == 0 {
        // Nothing to compute (a fresh output must still be accounted for).
        out.writable();
        return;
    }
    let mut rows_per = g.rows_per_chunk(total_rows, COL_CHUNK_FLOATS, true);
    if direct && conv_direct::eligible(g) {
        // No im2col matrix: chunks of output rows straight from the input.
        let chunks = out.chunks(rows_per * row_out);
        let run = |(ci, oc): (usize, Out<'_>)| {
            let rows = oc.len() / row_out;
            conv_direct::forward_rows(g, x, w, bias, ci * rows_per, rows, oc, epilogue);
        };
        if g.parallel() && total_rows > rows_per {
            chunks.into_par_iter().enumerate().for_each(run);
        } else {
            chunks.into_iter().enumerate().for_each(run);
        }
        return;
    }
    if rows_per * g.out_w < MIN_CHUNK_PIXELS && total_rows * g.out_w * k <= SINGLE_GEMM_MAX_FLOATS {
        // Chunks of a few pixels would starve the GEMM micro-kernel (late layers at batch
        // 1: 7x7 pixels); one GEMM over every pixel, split across threads by the GEMM itself,
        // keeps it fed.
        rows_per = total_rows;
    }
    let chunk = |ci: usize, oc: Out<'_>, col: &mut Vec<f32>| {
        let r0 = ci * rows_per;
        let rows = oc.len() / row_out;
        let (oc, accumulate) = match bias {
            // Every pixel starts as the bias (a fresh chunk is never zero-filled) and the
            // GEMM accumulates onto it.
            Some(b) => {
                // SAFETY: the chunk is whole pixels (`rows * out_w * c_out` elements), each
                // written below through `MaybeUninit::write`, and `b` has `c_out` elements.
                let oc = unsafe {
                    oc.init_with(|oc| {
                        for px in oc.chunks_exact_mut(g.c_out) {
                            for (o, &v) in px.iter_mut().zip(b) {
                                o.write(v);
                            }
                        }
                    })
                };
                (oc, true)
            }
            // The GEMM writes every element (a fresh chunk is zero-filled here, in cache: a
            // `&mut [f32]` is never made over uninitialised memory).
            None => (oc.writable(), false),
        };
        let a = patches(g, x, r0, rows, col);
        matmul(rows * g.out_w, g.c_out, k, a, Trans::No, w, Trans::No, oc, accumulate);
        epilogue(oc);
    };
    let chunks = out.chunks(rows_per * row_out);
    if g.parallel() && total_rows > rows_per {
        chunks.into_par_iter().enumerate().for_each(|(ci, oc)| with_col(|col| chunk(ci, oc, col)));
    } else {
        with_col(|col| {
            for (ci, oc) in chunks.into_iter().enumerate() {
                chunk(ci, oc, col);
            }
        });
    }
}

thread_local! {
    /// Each thread's im2col buffer for forward convolutions, kept between calls so that it
    /// is zero-filled only when it grows (im2col writes every element it hands out).
    static COL: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Runs `f` with this thread's im2col buffer (a fresh one if `f` re-enters).
fn with_col<R>(f: impl FnOnce(&mut Vec<f32>) -> R) -> R {
    COL.with(|c| match c.try_borrow_mut() {
        Ok(mut col) => {
            let r = f(&mut col);
            // Keep at most one chunk's worth between calls.
            if col.capacity() > SINGLE_GEMM_MAX_FLOATS {
                *col = Vec::new();
            }
            r
        }
        Err(_) => f(&mut Vec::new()),
    })
}

/// Input gradient of [`conv2d_forward`]: `dx = d/dx sum(out * dy)` (bias and epilogue
/// excluded; apply the activation's derivative to `dy` first).
///
/// `dy` is `[n, out_h, out_w, c_out]`, `w` is `[kh, kw, c_in, c_out]`, `dx` is
/// `[n, h, w, c_in]` and is overwritten.
///
/// # Panics
/// If a buffer length does not match the geometry (an engine bug, never user input).
pub fn conv2d_backward_input(g: &Conv2dGeometry, dy: &[f32], w: &[f32], dx: &mut [f32]) {
    conv2d_backward_input_into(g, dy, w, dx.into());
}

/// [`conv2d_backward_input`] into a new vector: each image's gradient is zero-filled once,
/// by the thread that scatters into it ([`super::fresh`]).
///
/// # Panics
/// As [`conv2d_backward_input`].
pub fn conv2d_backward_input_vec(g: &Conv2dGeometry, dy: &[f32], w: &[f32]) -> Vec<f32> {
    fresh_vec(g.input_len(), |dx| conv2d_backward_input_into(g, dy, w, dx))
}

/// [`conv2d_backward_input`] on an [`Out`].
fn conv2d_backward_input_into(g: &Conv2dGeometry, dy: &[f32], w: &[f32], dx: Out<'_>) {
    assert_eq!(dy.len(), g.output_len(), "conv2d_backward_input: dy length");
    assert_eq!(w.len(), g.kernel_len(), "conv2d_backward_input: kernel length");
    assert_eq!(dx.len(), g.input_len(), "conv2d_backward_input: dx length");
    let img_in = g.h * g.w * g.c_in;
    if g.n == 0 || img_in == 0 {
        dx.zeroed();
        return;
    }
    let k = g.patch_len();
    if g.is_pointwise() {
        // dx[P, c_in] = dy[P, c_out] @ W^T, W stored as [c_in, c_out] (the GEMM writes
        // every element).
        let p = g.n * g.h * g.w;
        matmul(p, g.c_in, g.c_out, dy, Trans::No, w, Trans::Yes, dx.writable(), false);
        return;
    }
    let row_out = g.out_w * g.c_out;
    let img_out = g.out_h * row_out;
    let rows_per = g.rows_per_chunk(g.out_h, COL_CHUNK_FLOATS, false);
    // Images have disjoint dx, so they run in parallel; within one image the output-row
    // chunks scatter into overlapping dx rows and run in order.
    let image = |b: usize, dxi: Out<'_>, dcol: &mut Vec<f32>| {
        let dxi = dxi.zeroed();
        let dyi = &dy[b * img_out..(b + 1) * img_out];
        let mut oh0 = 0;
        while oh0 < g.out_h {
            let rows = rows_per.min(g.out_h - oh0);
            let m = rows * g.out_w;
            if dcol.len() < m * k {
                dcol.resize(m * k, 0.0);
            }
            let dyc = &dyi[oh0 * row_out..(oh0 + rows) * row_out];
            matmul(m, k, g.c_out, dyc, Trans::No, w, Trans::Yes, &mut dcol[..m * k], false);
            col2im(g, &dcol[..m * k], oh0, rows, dxi);
            oh0 += rows;
        }
    };
    let dxs = dx.chunks(img_in);
    if g.parallel() && g.n > 1 {
        dxs.into_par_iter().enumerate().for_each_init(Vec::new, |dcol, (b, dxi)| image(b, dxi, dcol));
    } else {
        let mut dcol = Vec::new();
        for (b, dxi) in dxs.into_iter().enumerate() {
            image(b, dxi, &mut dcol);
        }
    }
}

/// Kernel gradient of [`conv2d_forward`]: `dw = d/dw sum(out * dy)`.
///
/// `x` is `[n, h, w, c_in]`, `dy` is `[n, out_h, out_w, c_out]`, `dw` is
/// `[kh, kw, c_in, c_out]` and is overwritten. Parallel chunks accumulate into private
/// buffers summed in a fixed order, so the result is deterministic for a given thread count.
///
/// # Panics
/// If a buffer length does not match the geometry (an engine bug, never user input).
pub fn conv2d_backward_kernel(g: &Conv2dGeometry, x: &[f32], dy: &[f32], dw: &mut [f32]) {
    assert_eq!(x.len(), g.input_len(), "conv2d_backward_kernel: input length");
    assert_eq!(dy.len(), g.output_len(), "conv2d_backward_kernel: dy length");
    assert_eq!(dw.len(), g.kernel_len(), "conv2d_backward_kernel: dw length");
    dw.fill(0.0);
    let total_rows = g.n * g.out_h;
    if total_rows == 0 {
        return;
    }
    let k = g.patch_len();
    let row_out = g.out_w * g.c_out;
    // Longer chunks here: the GEMM's inner dimension is the chunk's pixel count, and each
    // chunk re-reads and re-writes the whole dw accumulator.
    let rows_per = g.rows_per_chunk(total_rows, 2 * COL_CHUNK_FLOATS, true);
    let n_chunks = total_rows.div_ceil(rows_per);
    // dw += col^T @ dy for chunks lo..hi, in order.
    let run = |lo: usize, hi: usize, acc: &mut [f32]| {
        let mut col = Vec::new();
        for ci in lo..hi {
            let r0 = ci * rows_per;
            let rows = rows_per.min(total_rows - r0);
            let a = patches(g, x, r0, rows, &mut col);
            let dyc = &dy[r0 * row_out..(r0 + rows) * row_out];
            matmul(k, g.c_out, rows * g.out_w, a, Trans::Yes, dyc, Trans::No, acc, true);
        }
    };
    let groups = if g.parallel() { crate::parallel::num_threads().min(n_chunks) } else { 1 };
    if groups <= 1 {
        run(0, n_chunks, dw);
        return;
    }
    let dw_len = dw.len();
    let partials: Vec<Vec<f32>> = (0..groups)
        .into_par_iter()
        .map(|gi| {
            let mut acc = vec![0.0; dw_len];
            run(gi * n_chunks / groups, (gi + 1) * n_chunks / groups, &mut acc);
            acc
        })
        .collect();
    for part in &partials {
        for (d, v) in dw.iter_mut().zip(part) {
            *d += *v;
        }
    }
}

/// Channels of one column block of [`bias_grad`] (one AVX-512 vector, a cache line).
const BIAS_GRAD_CHANNELS: usize = 16;

/// Elements of `dy` from which [`bias_grad`] spreads its column blocks over the threads.
pub(crate) const BIAS_GRAD_PARALLEL_MIN: usize = 1 << 16;

/// Bias gradient: `db[co] = sum of dy[.., co]` over all leading positions (`dy` is any
/// channels-last buffer whose last axis has `c_out` elements). `db` is overwritten.
///
/// Each sum runs over the positions in order from 0.0. Large gradients (a W2 CNN's conv
/// layers: 3.7 and 6.4 MB at batch 32) are summed in parallel, one contiguous range of
/// 16-channel blocks per thread, each channel over all positions in the same order, so the
/// bits are those of the serial sum (which was 2.6% of a W2 b32 step on the calling thread
/// while the pool waited).
///
/// # Panics
/// If `db.len() != c_out` or `dy.len()` is not a multiple of `c_out` (an engine bug).
pub fn bias_grad(dy: &[f32], c_out: usize, db: &mut [f32]) {
    assert_eq!(db.len(), c_out, "bias_grad: db length");
    db.fill(0.0);
    if c_out == 0 {
        return;
    }
    assert_eq!(dy.len() % c_out, 0, "bias_grad: dy length not a multiple of c_out");
    let blocks = c_out.div_ceil(BIAS_GRAD_CHANNELS);
    let threads = crate::parallel::num_threads().min(blocks);
    if dy.len() < BIAS_GRAD_PARALLEL_MIN || threads < 2 {
        bias_grad_columns(dy, c_out, 0, db);
        return;
    }
    let per_task = blocks.div_ceil(threads) * BIAS_GRAD_CHANNELS;
    db.par_chunks_mut(per_task)
        .enumerate()
        .for_each(|(i, part)| bias_grad_columns(dy, c_out, i * per_task, part));
}

/// `db[k] += sum of dy[.., c0 + k]` over the positions in order, for the channels
/// `c0..c0 + db.len()`: 32 and 16 channels at a time with the sums in registers.
fn bias_grad_columns(dy: &[f32], c_out: usize, c0: usize, db: &mut [f32]) {
    let mut at = 0;
    while db.len() - at >= 32 {
        bias_grad_fixed::<32>(dy, c_out, c0 + at, (&mut db[at..at + 32]).try_into().unwrap());
        at += 32;
    }
    if db.len() - at >= 16 {
        bias_grad_fixed::<16>(dy, c_out, c0 + at, (&mut db[at..at + 16]).try_into().unwrap());
        at += 16;
    }
    if at < db.len() {
        let rest = &mut db[at..];
        for px in dy.chunks_exact(c_out) {
            for (d, v) in rest.iter_mut().zip(&px[c0 + at..]) {
                *d += *v;
            }
        }
    }
}

/// [`bias_grad_columns`] for `W` channels starting at `c0`.
#[inline(always)]
fn bias_grad_fixed<const W: usize>(dy: &[f32], c_out: usize, c0: usize, db: &mut [f32; W]) {
    let mut acc = *db;
    for px in dy.chunks_exact(c_out) {
        let v: &[f32; W] = px[c0..c0 + W].try_into().unwrap();
        for k in 0..W {
            acc[k] += v[k];
        }
    }
    *db = acc;
}

#[cfg(test)]
pub(super) mod tests {
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

    /// Calls `f(b, oh, ow, ih, iw, ki, kj)` for every in-bounds tap (also the f64 reference
    /// of `conv_direct_grad`'s tests).
    pub(in crate::kernels) fn for_each_tap(g: &Conv2dGeometry, mut f: impl FnMut([usize; 7])) {
        for b in 0..g.n {
            for oh in 0..g.out_h {
                for ow in 0..g.out_w {
                    for ki in 0..g.kh {
                        for kj in 0..g.kw {
                            let ih = (oh * g.stride_h + ki * g.dil_h) as isize - g.pad_top as isize;
                            let iw = (ow * g.stride_w + kj * g.dil_w) as isize - g.pad_left as isize;
                            if ih < 0 || iw < 0 || ih as usize >= g.h || iw as usize >= g.w {
                                continue;
                            }
                            f([b, oh, ow, ih as usize, iw as usize, ki, kj]);
                        }
                    }
                }
            }
        }
    }

    fn idx_x(g: &Conv2dGeometry, b: usize, ih: usize, iw: usize, ci: usize) -> usize {
        ((b * g.h + ih) * g.w + iw) * g.c_in + ci
    }
    fn idx_w(g: &Conv2dGeometry, ki: usize, kj: usize, ci: usize, co: usize) -> usize {
        ((ki * g.kw + kj) * g.c_in + ci) * g.c_out + co
    }
    fn idx_y(g: &Conv2dGeometry, b: usize, oh: usize, ow: usize, co: usize) -> usize {
        ((b * g.out_h + oh) * g.out_w + ow) * g.c_out + co
    }

    fn naive_forward(g: &Conv2dGeometry, x: &[f32], w: &[f32], bias: Option<&[f32]>) -> Vec<f32> {
        let mut out = vec![0.0f64; g.output_len()];
        for_each_tap(g, |[b, oh, ow, ih, iw, ki, kj]| {
            for ci in 0..g.c_in {
                for co in 0..g.c_out {
                    out[idx_y(g, b, oh, ow, co)] +=
                        x[idx_x(g, b, ih, iw, ci)] as f64 * w[idx_w(g, ki, kj, ci, co)] as f64;
                }
            }
        });
        if let Some(bias) = bias {
            for (i, o) in out.iter_mut().enumerate() {
                *o += bias[i % g.c_out] as f64;
            }
        }
        out.into_iter().map(|v| v as f32).collect()
    }

    fn naive_backward_input(g: &Conv2dGeometry, dy: &[f32], w: &[f32]) -> Vec<f32> {
        let mut dx = vec![0.0f64; g.input_len()];
        for_each_tap(g, |[b, oh, ow, ih, iw, ki, kj]| {
            for ci in 0..g.c_in {
                for co in 0..g.c_out {
                    dx[idx_x(g, b, ih, iw, ci)] +=
                        dy[idx_y(g, b, oh, ow, co)] as f64 * w[idx_w(g, ki, kj, ci, co)] as f64;
                }
            }
        });
        dx.into_iter().map(|v| v as f32).collect()
    }

    fn naive_backward_kernel(g: &Conv2dGeometry, x: &[f32], dy: &[f32]) -> Vec<f32> {
        let mut dw = vec![0.0f64; g.kernel_len()];
        for_each_tap(g, |[b, oh, ow, ih, iw, ki, kj]| {
            for ci in 0..g.c_in {
                for co in 0..g.c_out {
                    dw[idx_w(g, ki, kj, ci, co)] +=
                        dy[idx_y(g, b, oh, ow, co)] as f64 * x[idx_x(g, b, ih, iw, ci)] as f64;
                }
            }
        });
        dw.into_iter().map(|v| v as f32).collect()
    }

    fn assert_close(got: &[f32], want: &[f32], tol: f32, what: &str) {
        assert_eq!(got.len(), want.len(), "{what}: length");
        for (i, (a, b)) in got.iter().zip(want).enumerate() {
            assert!((a - b).abs() <= tol * (1.0 + b.abs()), "{what}: element {i}: got {a}, want {b}");
        }
    }

    /// (input, kernel, c_out, strides, dilation, same)
    type Case = ([usize; 4], [usize; 2], usize, [usize; 2], [usize; 2], bool);

    fn cases() -> Vec<Case> {
        vec![
            ([2, 7, 6, 3], [3, 3], 4, [1, 1], [1, 1], false),
            ([2, 7, 6, 3], [3, 3], 4, [1, 1], [1, 1], true),
            ([1, 8, 9, 2], [3, 2], 5, [2, 3], [1, 1], true),
            ([1, 8, 9, 2], [3, 2], 5, [2, 3], [1, 1], false),
            ([2, 9, 8, 3], [3, 3], 2, [1, 2], [2, 2], true),
            ([2, 9, 8, 3], [2, 3], 2, [2, 1], [2, 3], false),
            ([3, 5, 4, 6], [1, 1], 7, [1, 1], [1, 1], false),
            ([3, 5, 4, 6], [1, 1], 7, [1, 1], [1, 1], true),
            ([2, 6, 7, 3], [1, 1], 4, [2, 2], [1, 1], true),
            ([1, 4, 4, 1], [4, 4], 3, [1, 1], [1, 1], false),
            ([2, 4, 5, 2], [5, 5], 3, [1, 1], [1, 1], true),
            ([2, 5, 5, 2], [2, 2], 3, [3, 3], [1, 1], true),
            ([1, 1, 9, 3], [1, 3], 2, [1, 2], [1, 1], true),
            // Large enough to take the parallel, multi-chunk paths.
            ([6, 20, 18, 8], [3, 3], 16, [1, 1], [1, 1], true),
            ([5, 16, 16, 16], [1, 1], 24, [1, 1], [1, 1], false),
            ([4, 34, 34, 3], [3, 3], 32, [1, 1], [1, 1], false),
        ]
    }

    #[test]
    fn geometry_follows_tensorflow_rules() {
        let g = Conv2dGeometry::new([1, 5, 6, 1], [3, 3], 1, [2, 2], [1, 1], true).unwrap();
        assert_eq!((g.out_h, g.out_w, g.pad_top, g.pad_left), (3, 3, 1, 0));
        let g = Conv2dGeometry::new([1, 5, 6, 1], [3, 3], 1, [2, 2], [1, 1], false).unwrap();
        assert_eq!((g.out_h, g.out_w, g.pad_top, g.pad_left), (2, 2, 0, 0));
        let g = Conv2dGeometry::new([1, 32, 32, 3], [3, 3], 32, [1, 1], [1, 1], false).unwrap();
        assert_eq!((g.out_h, g.out_w), (30, 30));
        let g = Conv2dGeometry::new([1, 10, 10, 1], [3, 3], 1, [1, 1], [2, 2], true).unwrap();
        assert_eq!((g.out_h, g.out_w, g.pad_top, g.pad_left), (10, 10, 2, 2));
        let g = Conv2dGeometry::new([1, 10, 10, 1], [3, 3], 1, [1, 1], [2, 3], false).unwrap();
        assert_eq!((g.out_h, g.out_w), (6, 4));
        let g = Conv2dGeometry::new([1, 4, 4, 1], [4, 4], 1, [1, 1], [1, 1], true).unwrap();
        assert_eq!((g.out_h, g.pad_top), (4, 1));
        let g = Conv2dGeometry::new([0, 4, 4, 1], [3, 3], 1, [1, 1], [1, 1], false).unwrap();
        assert_eq!(g.output_len(), 0);
    }

    #[test]
    fn geometry_rejects_invalid_input() {
        let bad = [
            Conv2dGeometry::new([1, 3, 3, 1], [4, 3], 1, [1, 1], [1, 1], false),
            Conv2dGeometry::new([1, 5, 5, 1], [3, 3], 1, [1, 1], [3, 1], false),
            Conv2dGeometry::new([1, 5, 5, 1], [3, 3], 1, [0, 1], [1, 1], true),
            Conv2dGeometry::new([1, 5, 5, 1], [3, 3], 1, [1, 1], [1, 0], true),
            Conv2dGeometry::new([1, 5, 5, 1], [0, 3], 1, [1, 1], [1, 1], true),
            Conv2dGeometry::new([1, 0, 5, 1], [1, 1], 1, [1, 1], [1, 1], true),
            Conv2dGeometry::new([1, 5, 5, 0], [1, 1], 1, [1, 1], [1, 1], true),
            Conv2dGeometry::new([1, 5, 5, 1], [1, 1], 0, [1, 1], [1, 1], true),
        ];
        for r in bad {
            let e = r.unwrap_err();
            assert!(e.starts_with("Conv2D:"), "{e}");
        }
        let e = Conv2dGeometry::new([1, 3, 3, 1], [4, 3], 1, [1, 1], [1, 1], false).unwrap_err();
        assert!(e.contains("larger than the input height"), "{e}");
    }

    fn bits(v: &[f32]) -> Vec<u32> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    #[test]
    fn forward_matches_naive() {
        for (i, &(input, kernel, c_out, strides, dil, same)) in cases().iter().enumerate() {
            let g = Conv2dGeometry::new(input, kernel, c_out, strides, dil, same).unwrap();
            let x = rand_vec(g.input_len(), 1 + i as u64);
            let w = rand_vec(g.kernel_len(), 100 + i as u64);
            let bias = rand_vec(c_out, 200 + i as u64);
            for with_bias in [false, true] {
                let b = with_bias.then_some(bias.as_slice());
                let want = naive_forward(&g, &x, &w, b);
                let mut out = vec![f32::NAN; g.output_len()];
                conv2d_forward(&g, &x, &w, b, &mut out, &|_| {});
                assert_close(&out, &want, 1e-4, &format!("forward case {i} bias {with_bias}"));
                let fresh = conv2d_forward_vec(&g, &x, &w, b, &|_| {});
                assert_eq!(bits(&fresh), bits(&out), "fresh forward case {i} bias {with_bias}");
            }
        }
    }

    #[test]
    fn forward_epilogue_sees_whole_rows_once() {
        for &(input, kernel, c_out, strides, dil, same) in &cases() {
            let g = Conv2dGeometry::new(input, kernel, c_out, strides, dil, same).unwrap();
            let x = rand_vec(g.input_len(), 7);
            let w = rand_vec(g.kernel_len(), 8);
            let seen = std::sync::atomic::AtomicUsize::new(0);
            let relu = |blk: &mut [f32]| {
                assert_eq!(blk.len() % (g.out_w * g.c_out), 0);
                seen.fetch_add(blk.len(), std::sync::atomic::Ordering::Relaxed);
                for v in blk.iter_mut() {
                    *v = v.max(0.0);
                }
            };
            let mut out = vec![0.0; g.output_len()];
            conv2d_forward(&g, &x, &w, None, &mut out, &relu);
            assert_eq!(seen.into_inner(), g.output_len());
            let want: Vec<f32> = naive_forward(&g, &x, &w, None).iter().map(|v| v.max(0.0)).collect();
            assert_close(&out, &want, 1e-4, "forward + relu epilogue");
        }
    }

    #[test]
    fn backward_input_matches_naive() {
        for (i, &(input, kernel, c_out, strides, dil, same)) in cases().iter().enumerate() {
            let g = Conv2dGeometry::new(input, kernel, c_out, strides, dil, same).unwrap();
            let dy = rand_vec(g.output_len(), 300 + i as u64);
            let w = rand_vec(g.kernel_len(), 400 + i as u64);
            let want = naive_backward_input(&g, &dy, &w);
            let mut dx = vec![f32::NAN; g.input_len()];
            conv2d_backward_input(&g, &dy, &w, &mut dx);
            assert_close(&dx, &want, 1e-4, &format!("backward_input case {i}"));
            let fresh = conv2d_backward_input_vec(&g, &dy, &w);
            assert_eq!(bits(&fresh), bits(&dx), "fresh backward_input case {i}");
        }
    }

    #[test]
    fn backward_kernel_matches_naive() {
        for (i, &(input, kernel, c_out, strides, dil, same)) in cases().iter().enumerate() {
            let g = Conv2dGeometry::new(input, kernel, c_out, strides, dil, same).unwrap();
            let x = rand_vec(g.input_len(), 500 + i as u64);
            let dy = rand_vec(g.output_len(), 600 + i as u64);
            let want = naive_backward_kernel(&g, &x, &dy);
            let mut dw = vec![f32::NAN; g.kernel_len()];
            conv2d_backward_kernel(&g, &x, &dy, &mut dw);
            assert_close(&dw, &want, 1e-4, &format!("backward_kernel case {i}"));
            // Deterministic across calls.
            let mut dw2 = vec![0.0; g.kernel_len()];
            conv2d_backward_kernel(&g, &x, &dy, &mut dw2);
            assert_eq!(dw, dw2);
        }
    }

    #[test]
    fn bias_grad_sums_over_positions() {
        let dy = rand_vec(4 * 3 * 5, 9);
        let mut db = vec![f32::NAN; 5];
        bias_grad(&dy, 5, &mut db);
        for (co, d) in db.iter().enumerate() {
            let want: f32 = dy.iter().skip(co).step_by(5).sum();
            assert!((d - want).abs() < 1e-5);
        }
    }

    #[test]
    fn parallel_bias_grad_gives_the_bits_of_the_serial_sum() {
        // W2's conv shapes and a channel count with a partial last block.
        for c_out in [32, 64, 37, 10, 130] {
            let dy = rand_vec((BIAS_GRAD_PARALLEL_MIN / c_out + 100) * c_out, c_out as u64);
            let mut db = vec![f32::NAN; c_out];
            bias_grad(&dy, c_out, &mut db);
            let mut want = vec![0.0f32; c_out];
            for px in dy.chunks_exact(c_out) {
                for (w, v) in want.iter_mut().zip(px) {
                    *w += *v;
                }
            }
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&db), bits(&want), "c_out {c_out}");
        }
    }

    /// Central differences of `loss = sum(conv(x, w) + bias) * dy` against all gradients.
    #[test]
    fn gradients_match_finite_differences() {
        let tiny: [Case; 4] = [
            ([2, 4, 5, 2], [3, 2], 3, [1, 2], [1, 1], true),
            ([1, 5, 5, 2], [2, 2], 2, [2, 1], [2, 1], false),
            ([2, 3, 3, 3], [1, 1], 2, [1, 1], [1, 1], false),
            ([1, 4, 3, 1], [3, 3], 2, [2, 2], [1, 1], true),
        ];
        for (case, &(input, kernel, c_out, strides, dil, same)) in tiny.iter().enumerate() {
            let g = Conv2dGeometry::new(input, kernel, c_out, strides, dil, same).unwrap();
            let x = rand_vec(g.input_len(), 10 + case as u64);
            let w = rand_vec(g.kernel_len(), 20 + case as u64);
            let bias = rand_vec(c_out, 30 + case as u64);
            let dy = rand_vec(g.output_len(), 40 + case as u64);
            let loss = |x: &[f32], w: &[f32], bias: &[f32]| -> f64 {
                let mut out = vec![0.0; g.output_len()];
                conv2d_forward(&g, x, w, Some(bias), &mut out, &|_| {});
                out.iter().zip(&dy).map(|(o, d)| *o as f64 * *d as f64).sum()
            };
            let eps = 1e-2f32;
            let fd = |v: &[f32], i: usize, f: &dyn Fn(&[f32]) -> f64| -> f32 {
                let mut p = v.to_vec();
                p[i] += eps;
                let lp = f(&p);
                p[i] -= 2.0 * eps;
                let lm = f(&p);
                ((lp - lm) / (2.0 * eps as f64)) as f32
            };
            let mut dx = vec![0.0; g.input_len()];
            conv2d_backward_input(&g, &dy, &w, &mut dx);
            for (i, got) in dx.iter().enumerate() {
                let want = fd(&x, i, &|p| loss(p, &w, &bias));
                assert!((got - want).abs() < 2e-3, "case {case} dx[{i}]: {got} vs {want}");
            }
            let mut dw = vec![0.0; g.kernel_len()];
            conv2d_backward_kernel(&g, &x, &dy, &mut dw);
            for (i, got) in dw.iter().enumerate() {
                let want = fd(&w, i, &|p| loss(&x, p, &bias));
                assert!((got - want).abs() < 2e-3, "case {case} dw[{i}]: {got} vs {want}");
            }
            let mut db = vec![0.0; c_out];
            bias_grad(&dy, c_out, &mut db);
            for (i, got) in db.iter().enumerate() {
                let want = fd(&bias, i, &|p| loss(&x, &w, p));
                assert!((got - want).abs() < 2e-3, "case {case} db[{i}]: {got} vs {want}");
            }
        }
    }

    #[test]
    fn empty_batch_is_a_no_op() {
        let g = Conv2dGeometry::new([0, 5, 5, 2], [3, 3], 4, [1, 1], [1, 1], true).unwrap();
        let w = rand_vec(g.kernel_len(), 1);
        let mut out = vec![];
        conv2d_forward(&g, &[], &w, None, &mut out, &|_| {});
        let mut dx = vec![];
        conv2d_backward_input(&g, &[], &w, &mut dx);
        let mut dw = vec![f32::NAN; g.kernel_len()];
        conv2d_backward_kernel(&g, &[], &[], &mut dw);
        assert!(dw.iter().all(|&v| v == 0.0));
    }
}
