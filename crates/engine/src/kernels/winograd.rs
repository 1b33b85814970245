//! Winograd F(4x4, 3x3) convolution for 3x3, stride-1, undilated convolutions on
//! channels-last data (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks",
//! 2016; oneDNN, NNPACK and cuDNN use the same transform).
//!
//! Each 4x4 block of output pixels (a *tile*) is computed from the 6x6 input window under
//! it: `Y = A^T [(G g G^T) ⊙ (B^T d B)] A`. The element-wise product over the 36 positions is
//! a sum over input channels, so it becomes 36 GEMMs of `(tiles x c_in) @ (c_in x c_out)`:
//! 36 multiply-adds per tile, channel pair and position instead of the direct method's
//! 16 x 9 = 144, a 4x reduction (less the transforms and the partial tiles at the edges).
//!
//! The kernel transform `U = G g G^T` is computed once per kernel ([`transform_kernel`];
//! callers cache it). Tiles are processed in blocks of whole tile rows, so that each block
//! writes a contiguous run of output rows; blocks run in parallel on rayon and their
//! GEMMs run single-threaded.
//!
//! Rounding differs from the direct method (the transforms scale by up to 10 per axis before
//! the products are summed and by up to 19 per axis after): for float32 data the largest
//! difference is about 2e-5 of the largest output (1e-5 typical), as with oneDNN's and
//! cuDNN's Winograd kernels. The input gradient of such a convolution is one too (the
//! flipped kernel over `dy`, [`backward_input_geometry`]), and the kernel gradient is the
//! forward formula's adjoint ([`conv2d_winograd_backward_kernel`]: `dg = G^T [Σ_tiles
//! (B^T d B) ⊙ (A dY A^T)] G`, 36 GEMMs over the tiles). `KERAS_WINOGRAD=0` turns the method
//! off (read once).

use super::conv::Conv2dGeometry;
use super::fresh::{fresh_vec, Out};
use super::matmul::{matmul_strided, matmul_tn_strided_acc};
use super::simd::multiversion;
use rayon::prelude::*;
use std::sync::OnceLock;

/// Output tile side.
const M: usize = 4;
/// Input window side, `M + 3 - 1`.
const ALPHA: usize = 6;
/// Positions per tile (the number of GEMMs).
const POS: usize = ALPHA * ALPHA;
/// Channels transformed together (one AVX-512 register of f32).
const LANES: usize = 16;
/// Floats of transformed input and GEMM output one block of tiles may hold (1 MiB), so
/// that a block's buffers stay in L2 between the transforms and the GEMMs.
const BLOCK_FLOATS: usize = 1 << 18;
/// Fewest tiles per block: fewer rows starve the GEMM micro-kernel.
const MIN_BLOCK_TILES: usize = 64;
/// Fewest channels in and out for which the transforms pay for themselves.
const MIN_CHANNELS: usize = 16;
/// Fewest tiles of a whole convolution (smaller ones run as one im2col GEMM).
const MIN_TILES: usize = 16;

/// Whether Winograd is enabled (`KERAS_WINOGRAD=0` turns it off).
fn enabled() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var("KERAS_WINOGRAD").map_or(true, |v| v != "0"))
}

/// Whether [`conv2d_winograd`] applies to `g` and is expected to beat im2col + GEMM: a 3x3
/// kernel, stride 1, no dilation, at least 16 channels in and out, and enough output
/// tiles to keep the 36 GEMMs fed.
pub fn eligible(g: &Conv2dGeometry) -> bool {
    enabled()
        && g.kh == 3
        && g.kw == 3
        && g.stride_h == 1
        && g.stride_w == 1
        && g.dil_h == 1
        && g.dil_w == 1
        && g.c_in >= MIN_CHANNELS
        && g.c_out >= MIN_CHANNELS
        && tiles(g) >= MIN_TILES
}

/// Number of output tiles of a convolution.
fn tiles(g: &Conv2dGeometry) -> usize {
    g.n * g.out_h.div_ceil(M) * g.out_w.div_ceil(M)
}

/// Length of the transformed kernel of `g`: 36 matrices of `c_in x c_out`.
pub fn transformed_kernel_len(g: &Conv2dGeometry) -> usize {
    POS * g.c_in * g.c_out
}

/// `U = G g G^T` for every (input, output) channel pair of an HWIO 3x3 kernel `w`, laid
/// out as 36 `c_in x c_out` matrices (position-major), each row-major or, with more than
/// `PANEL` output channels (`panelled`), as row-major `c_in x 32` panels of its columns
/// one after the other (the last one narrower if `c_out` is not a multiple of 32). Computed
/// in f64 and rounded once; ranges of channel pairs run in parallel.
///
/// # Panics
/// If `w` does not hold `3 * 3 * c_in * c_out` values (an engine bug).
pub fn transform_kernel(g: &Conv2dGeometry, w: &[f32]) -> Vec<f32> {
    let pair = g.c_in * g.c_out;
    assert_eq!(w.len(), 9 * pair, "transform_kernel: kernel length");
    let mut u = vec![0.0f32; POS * pair];
    let threads = crate::parallel::num_threads();
    let parts = if threads > 1 && pair >= 4096 { 4 * threads } else { 1 };
    let bounds: Vec<usize> = (0..=parts).map(|k| k * pair / parts).collect();
    // For each range of pairs, its run in each of the 36 position matrices.
    let mut outs: Vec<Vec<&mut [f32]>> = (0..parts).map(|_| Vec::with_capacity(POS)).collect();
    for pos in u.chunks_mut(pair) {
        let mut rest = pos;
        for (k, out) in outs.iter_mut().enumerate() {
            let (head, tail) = std::mem::take(&mut rest).split_at_mut(bounds[k + 1] - bounds[k]);
            out.push(head);
            rest = tail;
        }
    }
    let run = |(k, mut out): (usize, Vec<&mut [f32]>)| transform_range(w, pair, bounds[k], &mut out);
    if parts > 1 {
        outs.into_par_iter().enumerate().for_each(run);
    } else {
        outs.into_iter().enumerate().for_each(run);
    }
    if panelled(g) {
        let mut m = vec![0.0f32; pair];
        for pos in u.chunks_exact_mut(pair) {
            m.copy_from_slice(pos);
            let mut at = 0;
            for c0 in (0..g.c_out).step_by(PANEL) {
                let wq = PANEL.min(g.c_out - c0);
                for row in m.chunks_exact(g.c_out) {
                    pos[at..at + wq].copy_from_slice(&row[c0..c0 + wq]);
                    at += wq;
                }
            }
        }
    }
    u
}

/// Output channels per panel of a transformed kernel: the block GEMMs then run as products
/// of 32 columns, whose right operand the engine's own GEMM reads in place (no packing per
/// block), instead of one product over all `c_out` columns.
const PANEL: usize = 32;

/// Whether [`transform_kernel`] lays `g`'s matrices out in panels: more than [`PANEL`]
/// output channels, and at most 256 input channels, so that every output sums its `c_in`
/// products as one chain whichever GEMM runs a panel (the own GEMM's `k` block is 256).
fn panelled(g: &Conv2dGeometry) -> bool {
    g.c_out > PANEL && g.c_in <= 256
}

/// Channel pairs per step of [`transform_range`].
const RUN: usize = 32;

multiversion! {
    /// Transforms channel pairs `p0 .. p0 + out[0].len()` into `out[pos]`, one run per
    /// position.
    fn transform_range(w: &[f32], pair: usize, p0: usize, out: &mut [&mut [f32]]) {
        let total = out[0].len();
        let mut off = 0;
        while off < total {
            let len = RUN.min(total - off);
            let mut taps = [[0.0f64; RUN]; 9];
            for (tap, t) in taps.iter_mut().enumerate() {
                let s = tap * pair + p0 + off;
                for (d, v) in t.iter_mut().zip(&w[s..s + len]) {
                    *d = *v as f64;
                }
            }
            // G g over the kernel rows (6 x 3), then (G g) G^T over its columns (6 x 6).
            let mut gg = [[[0.0f64; RUN]; 3]; ALPHA];
            for j in 0..3 {
                for l in 0..RUN {
                    let col = kernel_1d([taps[j][l], taps[3 + j][l], taps[6 + j][l]]);
                    for i in 0..ALPHA {
                        gg[i][j][l] = col[i];
                    }
                }
            }
            for (i, row) in gg.iter().enumerate() {
                let mut r = [[0.0f32; RUN]; ALPHA];
                for l in 0..RUN {
                    let t = kernel_1d([row[0][l], row[1][l], row[2][l]]);
                    for j in 0..ALPHA {
                        r[j][l] = t[j] as f32;
                    }
                }
                for (j, rv) in r.iter().enumerate() {
                    out[i * ALPHA + j][off..off + len].copy_from_slice(&rv[..len]);
                }
            }
            off += len;
        }
    }
}

/// `G g` for one 3-tap column.
#[inline(always)]
fn kernel_1d([g0, g1, g2]: [f64; 3]) -> [f64; ALPHA] {
    // Products with f64 reciprocals: their rounding is far below f32's.
    const SIXTH: f64 = 1.0 / 6.0;
    let (a, b) = (g0 * (1.0 / 24.0) + g2 * SIXTH, g1 * (1.0 / 12.0));
    [g0 * 0.25, -(g0 + g1 + g2) * SIXTH, -(g0 - g1 + g2) * SIXTH, a + b, a - b, g2]
}

/// Convolution forward by Winograd F(4x4, 3x3): the same contract as
/// [`super::conv::conv2d_forward`] (NHWC `x`, `out` overwritten, `bias` added, `epilogue`
/// run on blocks of whole output rows), with the kernel given already transformed by
/// [`transform_kernel`].
///
/// # Panics
/// If `g` is not [`eligible`]'s shape (3x3, stride 1, no dilation) or a buffer length does
/// not match it (engine bugs, never user input).
pub fn conv2d_winograd(
    g: &Conv2dGeometry,
    x: &[f32],
    u: &[f32],
    bias: Option<&[f32]>,
    out: &mut [f32],
    epilogue: &(dyn Fn(&mut [f32]) + Sync),
) {
    assert_eq!(out.len(), g.output_len(), "conv2d_winograd: output length");
    run(g, Source::Values(x), u, bias, out.into(), epilogue, false, None);
}

/// [`conv2d_winograd`] into a new vector: each block of output rows is zero-filled by the
/// thread that computes it, while in cache, instead of all at once beforehand
/// ([`super::fresh`]).
///
/// # Panics
/// As [`conv2d_winograd`].
pub fn conv2d_winograd_vec(
    g: &Conv2dGeometry,
    x: &[f32],
    u: &[f32],
    bias: Option<&[f32]>,
    epilogue: &(dyn Fn(&mut [f32]) + Sync),
) -> Vec<f32> {
    fresh_vec(g.output_len(), |out| run(g, Source::Values(x), u, bias, out, epilogue, false, None))
}

/// [`conv2d_winograd_vec`] with no bias or epilogue, `x` read from a [`Source`] (a fused
/// pool's input gradient: [`Source::PooledGrad`] over [`backward_input_geometry`]).
///
/// # Panics
/// As [`conv2d_winograd`].
pub(crate) fn conv2d_winograd_from_vec(g: &Conv2dGeometry, x: Source<'_>, u: &[f32]) -> Vec<f32> {
    fresh_vec(g.output_len(), |out| run(g, x, u, None, out, &|_| {}, false, None))
}

/// [`conv2d_winograd`] with `epilogue`, then 2x2 max pooling with stride 2 and `valid`
/// padding (Keras `MaxPooling2D()`), for inference: each 4x4 output tile holds exactly
/// four 2x2 windows, so the tile is pooled while it is in registers and cache and only the
/// pooled output (`[n, out_h / 2, out_w / 2, c_out]`) is written. The values are
/// bit-identical to [`conv2d_winograd`] followed by
/// [`super::pool::max_pool2d_values`]: the same per-pixel arithmetic, the epilogue on whole
/// pixels, and the pool's comparisons in its window order.
///
/// # Panics
/// As [`conv2d_winograd`] (`out`'s length is the pooled output's).
pub fn conv2d_winograd_maxpool2(
    g: &Conv2dGeometry,
    x: &[f32],
    u: &[f32],
    bias: Option<&[f32]>,
    out: &mut [f32],
    epilogue: &(dyn Fn(&mut [f32]) + Sync),
) {
    assert_eq!(
        out.len(),
        g.n * (g.out_h / 2) * (g.out_w / 2) * g.c_out,
        "conv2d_winograd_maxpool2: output length"
    );
    run(g, Source::Values(x), u, bias, out.into(), epilogue, true, None);
}

/// [`conv2d_winograd_maxpool2`] into a new vector: each block's pooled rows are
/// zero-filled by the thread that computes them, in cache ([`super::fresh`]), instead of
/// the whole output beforehand by the calling thread.
///
/// # Panics
/// As [`conv2d_winograd`].
pub(crate) fn conv2d_winograd_maxpool2_vec(
    g: &Conv2dGeometry,
    x: &[f32],
    u: &[f32],
    bias: Option<&[f32]>,
    epilogue: &(dyn Fn(&mut [f32]) + Sync),
) -> Vec<f32> {
    let len = g.n * (g.out_h / 2) * (g.out_w / 2) * g.c_out;
    fresh_vec(len, |out| run(g, Source::Values(x), u, bias, out, epilogue, true, None))
}

/// [`conv2d_winograd_maxpool2_vec`] for training: also the winner of every pooled value, as
/// [`super::pool::max_pool2d_forward`] records it (the first maximum's row-major offset in
/// its 2x2 window, `0..4`), plus [`NOT_POSITIVE`] where the pooled value is not above zero
/// (a NaN included): a ReLU before the pool passes no gradient there. The pooled values
/// are those of [`conv2d_winograd_maxpool2`].
///
/// # Panics
/// As [`conv2d_winograd`].
pub(crate) fn conv2d_winograd_maxpool2_argmax_vec(
    g: &Conv2dGeometry,
    x: &[f32],
    u: &[f32],
    bias: Option<&[f32]>,
    epilogue: &(dyn Fn(&mut [f32]) + Sync),
) -> (Vec<f32>, Vec<u8>) {
    let len = g.n * (g.out_h / 2) * (g.out_w / 2) * g.c_out;
    let mut argmax = vec![0u8; len];
    let out =
        fresh_vec(len, |out| run(g, Source::Values(x), u, bias, out, epilogue, true, Some(&mut argmax)));
    (out, argmax)
}

/// Added by [`conv2d_winograd_maxpool2_argmax_vec`] to a winner's offset where the pooled
/// value is not above zero: the offset then matches no position of the window.
pub(crate) const NOT_POSITIVE: u8 = 4;

/// What a Winograd pass reads as its channels-last `[n, h, w, c]` input (the forward
/// pass's and the kernel gradient's `x`, the input gradient's `dy`) or as the kernel
/// gradient's `dy`.
#[derive(Clone, Copy)]
pub(crate) enum Source<'a> {
    /// The values themselves.
    Values(&'a [f32]),
    /// The gradient of a fused ReLU + 2x2 max pool's input
    /// ([`conv2d_winograd_maxpool2_argmax_vec`]), built where it is read from the pooled
    /// gradient `dy` and the winners `argmax` (both `[n, h / 2, w / 2, c]`): `0.0 + dy` where
    /// the winner's offset is the pixel's place in its window, `0.0` elsewhere and past the
    /// last whole window. These are the values [`super::pool::max_pool2d_backward_vec`]
    /// writes, so the passes give the same bits without the full gradient (four times
    /// `dy`'s size, three quarters zeros) ever being written and read back.
    PooledGrad { dy: &'a [f32], argmax: &'a [u8] },
}

impl<'a> Source<'a> {
    /// Checks the length of an `[n, h, w, c]` source (an engine bug otherwise).
    fn check(self, n: usize, h: usize, w: usize, c: usize, what: &str) {
        match self {
            Source::Values(x) => assert_eq!(x.len(), n * h * w * c, "{what}: input length"),
            Source::PooledGrad { dy, argmax } => {
                assert_eq!(dy.len(), n * (h / 2) * (w / 2) * c, "{what}: pooled gradient length");
                assert_eq!(argmax.len(), dy.len(), "{what}: winners length");
            }
        }
    }

    /// The `[n, h, w, c]` values (a pooled gradient's written out, for the passes that
    /// read only values).
    pub(crate) fn values(self, n: usize, h: usize, w: usize, c: usize) -> std::borrow::Cow<'a, [f32]> {
        match self {
            Source::Values(x) => std::borrow::Cow::Borrowed(x),
            Source::PooledGrad { dy, argmax } => {
                let pg = super::pool::Pool2dGeometry::new([n, h, w, c], [2, 2], [2, 2], false)
                    .expect("a pooled gradient's 2x2 pooling geometry");
                std::borrow::Cow::Owned(super::pool::max_pool2d_backward_vec(&pg, dy, argmax))
            }
        }
    }

    /// Image `b` of an `[n, h, w, c]` source.
    #[inline(always)]
    fn image(self, b: usize, h: usize, w: usize, c: usize) -> Self {
        match self {
            Source::Values(x) => {
                let len = h * w * c;
                Source::Values(&x[b * len..(b + 1) * len])
            }
            Source::PooledGrad { dy, argmax } => {
                let len = (h / 2) * (w / 2) * c;
                Source::PooledGrad {
                    dy: &dy[b * len..(b + 1) * len],
                    argmax: &argmax[b * len..(b + 1) * len],
                }
            }
        }
    }
}

/// Channels `c0 .. c0 + cb` of pixel `(iy, ix)` of one image of a [`Source`] (`h x w`
/// pixels of `c` channels) into `dv` (lanes past `cb` are left as they were).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn load_pixel<const FULL: bool>(
    dv: &mut [f32; LANES],
    img: Source<'_>,
    h: usize,
    w: usize,
    c: usize,
    iy: usize,
    ix: usize,
    c0: usize,
    cb: usize,
) {
    match img {
        Source::Values(x) => load::<FULL>(dv, &x[(iy * w + ix) * c + c0..], cb),
        Source::PooledGrad { dy, argmax } => {
            let (ph, pw) = (h / 2, w / 2);
            let (py, px) = (iy / 2, ix / 2);
            if py >= ph || px >= pw {
                *dv = [0.0; LANES];
                return;
            }
            let at = (py * pw + px) * c + c0;
            let place = ((iy % 2) * 2 + ix % 2) as u8;
            // `0.0 + d` where the winner is here, else `0.0`, as bit masks: branch-free,
            // so that it vectorizes (a select written with `if` became per-lane branches).
            let pick =
                |d: f32, a: u8| f32::from_bits((0.0 + d).to_bits() & u32::from(a == place).wrapping_neg());
            if FULL {
                let d: &[f32; LANES] = dy[at..at + LANES].try_into().expect("a whole channel block");
                let a: &[u8; LANES] = argmax[at..at + LANES].try_into().expect("a whole channel block");
                for l in 0..LANES {
                    dv[l] = pick(d[l], a[l]);
                }
            } else {
                for ((o, &d), &a) in dv[..cb].iter_mut().zip(&dy[at..at + cb]).zip(&argmax[at..at + cb]) {
                    *o = pick(d, a);
                }
            }
        }
    }
}

/// [`conv2d_winograd`] (`pooled`: [`conv2d_winograd_maxpool2`]; with `argmax`, one per
/// pooled value: [`conv2d_winograd_maxpool2_argmax_vec`]).
#[allow(clippy::too_many_arguments)]
fn run(
    g: &Conv2dGeometry,
    x: Source<'_>,
    u: &[f32],
    bias: Option<&[f32]>,
    out: Out<'_>,
    epilogue: &(dyn Fn(&mut [f32]) + Sync),
    pooled: bool,
    argmax: Option<&mut [u8]>,
) {
    assert!(pooled || argmax.is_none(), "conv2d_winograd: winners of an unpooled output");
    if let Some(a) = &argmax {
        assert_eq!(a.len(), out.len(), "conv2d_winograd: argmax length");
    }
    assert!(g.kh == 3 && g.kw == 3 && g.stride_h == 1 && g.stride_w == 1 && g.dil_h == 1 && g.dil_w == 1);
    x.check(g.n, g.h, g.w, g.c_in, "conv2d_winograd");
    assert_eq!(u.len(), transformed_kernel_len(g), "conv2d_winograd: kernel length");
    if let Some(b) = bias {
        assert_eq!(b.len(), g.c_out, "conv2d_winograd: bias length");
    }
    let (th, tw) = (g.out_h.div_ceil(M), g.out_w.div_ceil(M));
    let tile_rows = g.n * th;
    if tile_rows == 0 || g.out_w == 0 || out.is_empty() {
        // Nothing to compute (a fresh output must still be accounted for).
        out.writable();
        return;
    }
    // Tile rows per block: buffers within BLOCK_FLOATS but at least MIN_BLOCK_TILES tiles
    // (each GEMM packs its U[e] again per block; `conv_algos` measured 32..128).
    let per_tile = POS * (g.c_in + g.c_out);
    let mut rows_per = (BLOCK_FLOATS / (per_tile * tw)).max(MIN_BLOCK_TILES.div_ceil(tw)).max(1);
    let threads = crate::parallel::num_threads();
    if threads > 1 {
        // At least one block per thread (more blocks re-read the whole transformed kernel).
        rows_per = rows_per.min(tile_rows.div_ceil(threads)).max(1);
    }
    // Split `out` into the contiguous output rows of each block of tile rows (pooled: two
    // pooled rows per tile row, fewer at the bottom edge).
    let (row_len, out_rows_of): (usize, &dyn Fn(usize) -> usize) = if pooled {
        (g.out_w / 2 * g.c_out, &|tr: usize| 2usize.min((g.out_h / 2).saturating_sub((tr % th) * 2)))
    } else {
        (g.out_w * g.c_out, &|tr: usize| M.min(g.out_h - (tr % th) * M))
    };
    type Task<'o> = (usize, usize, Out<'o>, Option<&'o mut [u8]>);
    let mut blocks: Vec<Task<'_>> = Vec::with_capacity(tile_rows.div_ceil(rows_per));
    let mut rest = out;
    let mut rest_arg = argmax;
    let mut tr0 = 0;
    while tr0 < tile_rows {
        let tr1 = (tr0 + rows_per).min(tile_rows);
        let len: usize = (tr0..tr1).map(|tr| out_rows_of(tr) * row_len).sum();
        let (head, tail) = rest.split_at(len);
        let arg = rest_arg.take().map(|a| {
            let (h, t) = a.split_at_mut(len);
            rest_arg = Some(t);
            h
        });
        blocks.push((tr0, tr1 - tr0, head, arg));
        rest = tail;
        tr0 = tr1;
    }
    // The blocks cover the whole output (`rest` is empty).
    rest.writable();
    let run = |(tr0, rows, ob, arg): Task<'_>| {
        // `block` writes every element of its output rows: each tile row's output rows,
        // every column through its tiles' `cols` (pooled: every pooled row and column
        // through `pool_tile`), so a fresh block is zero-filled only here, in cache.
        let ob = ob.writable();
        if pooled {
            let pool = Some((epilogue, arg));
            with_buffers(|bufs| block(g, x, u, bias, tr0, rows, ob, bufs, pool));
        } else {
            with_buffers(|bufs| block(g, x, u, bias, tr0, rows, ob, bufs, None));
            epilogue(ob);
        }
    };
    if threads > 1 && blocks.len() > 1 {
        blocks.into_par_iter().for_each(run);
    } else {
        blocks.into_iter().for_each(run);
    }
}

/// What runs on output pixels (whole pixels of `c_out` channels) before they are stored.
type Epilogue<'a> = &'a (dyn Fn(&mut [f32]) + Sync);

/// A pooled block's epilogue and, for training, the winners of its pooled values.
type Pooling<'a> = (Epilogue<'a>, Option<&'a mut [u8]>);

/// A block's transformed input and GEMM output.
type Buffers = (Vec<f32>, Vec<f32>);

thread_local! {
    /// Each thread's block buffers, kept between calls so that they are allocated and
    /// zero-filled only when they grow (every element handed out is written first).
    static BUFFERS: std::cell::RefCell<Buffers> = const { std::cell::RefCell::new((Vec::new(), Vec::new())) };
}

/// Runs `f` with this thread's block buffers (fresh ones if `f` re-enters).
fn with_buffers<R>(f: impl FnOnce(&mut Buffers) -> R) -> R {
    BUFFERS.with(|b| match b.try_borrow_mut() {
        Ok(mut bufs) => {
            let r = f(&mut bufs);
            // Keep at most 16 MiB between calls.
            if bufs.0.capacity() + bufs.1.capacity() > 1 << 22 {
                *bufs = (Vec::new(), Vec::new());
            }
            r
        }
        Err(_) => f(&mut (Vec::new(), Vec::new())),
    })
}

/// One block: tile rows `tr0 .. tr0 + rows` (flattened over images), whose output rows are
/// `ob`. `bufs` holds the transformed input and the GEMM output between calls.
#[allow(clippy::too_many_arguments)]
fn block(
    g: &Conv2dGeometry,
    x: Source<'_>,
    u: &[f32],
    bias: Option<&[f32]>,
    tr0: usize,
    rows: usize,
    ob: &mut [f32],
    bufs: &mut Buffers,
    pool: Option<Pooling<'_>>,
) {
    let (th, tw) = (g.out_h.div_ceil(M), g.out_w.div_ceil(M));
    let nt = rows * tw;
    let (v, mm) = bufs;
    if v.len() < POS * nt * g.c_in {
        v.resize(POS * nt * g.c_in, 0.0);
    }
    if mm.len() < POS * nt * g.c_out {
        mm.resize(POS * nt * g.c_out, 0.0);
    }
    let v = &mut v[..POS * nt * g.c_in];
    let mm = &mut mm[..POS * nt * g.c_out];
    for r in 0..rows {
        let tr = tr0 + r;
        let (b, ty) = (tr / th, tr % th);
        let img = x.image(b, g.h, g.w, g.c_in);
        for tx in 0..tw {
            let iy0 = (ty * M) as isize - g.pad_top as isize;
            let ix0 = (tx * M) as isize - g.pad_left as isize;
            input_tile(g, img, iy0, ix0, v, r * tw + tx);
            prefetch_next_window(g, x, tr, tx);
        }
    }
    // Position e of every tile: rows of `v` and `mm` POS vectors apart.
    let pair = g.c_in * g.c_out;
    let panel = if panelled(g) { PANEL } else { g.c_out };
    for e in 0..POS {
        let ue = &u[e * pair..(e + 1) * pair];
        for c0 in (0..g.c_out).step_by(panel) {
            let wq = panel.min(g.c_out - c0);
            matmul_strided(
                nt,
                wq,
                g.c_in,
                &v[e * g.c_in..],
                POS * g.c_in,
                &ue[c0 * g.c_in..(c0 + wq) * g.c_in],
                &mut mm[e * g.c_out + c0..],
                POS * g.c_out,
            );
        }
    }
    if let Some((epilogue, argmax)) = pool {
        pooled_rows(g, mm, bias, tr0, rows, ob, argmax, epilogue);
        return;
    }
    // Output rows of the block start at the first tile row's first output row.
    let row_len = g.out_w * g.c_out;
    let mut row_base = 0;
    for r in 0..rows {
        let ty = (tr0 + r) % th;
        let out_rows = M.min(g.out_h - ty * M);
        let orows = &mut ob[row_base..row_base + out_rows * row_len];
        for tx in 0..tw {
            let cols = M.min(g.out_w - tx * M);
            output_tile(g.c_out, mm, r * tw + tx, bias, orows, row_len, tx * M, cols);
        }
        row_base += out_rows * row_len;
    }
}

/// The pooled output of a block's tiles ([`conv2d_winograd_maxpool2`]): each tile's 4x4
/// pixels go to a small buffer, through `epilogue`, and its (up to) four 2x2 windows inside
/// the pooled output are reduced into `ob`, the block's pooled rows (with `argmax`, their
/// winners too: [`conv2d_winograd_maxpool2_argmax_vec`]).
#[allow(clippy::too_many_arguments)]
fn pooled_rows(
    g: &Conv2dGeometry,
    mm: &[f32],
    bias: Option<&[f32]>,
    tr0: usize,
    rows: usize,
    ob: &mut [f32],
    mut argmax: Option<&mut [u8]>,
    epilogue: &(dyn Fn(&mut [f32]) + Sync),
) {
    let (th, tw) = (g.out_h.div_ceil(M), g.out_w.div_ceil(M));
    let (ph, pw, c) = (g.out_h / 2, g.out_w / 2, g.c_out);
    let prow_len = pw * c;
    // One tile's pixels, row-major (4 rows of 4 pixels of `c` channels).
    let tile_row = M * c;
    let mut tile = vec![0.0f32; M * tile_row];
    let mut row_base = 0;
    for r in 0..rows {
        let ty = (tr0 + r) % th;
        let prows = 2usize.min(ph.saturating_sub(ty * 2));
        let orows = &mut ob[row_base..row_base + prows * prow_len];
        let mut arows = argmax.as_deref_mut().map(|a| &mut a[row_base..row_base + prows * prow_len]);
        row_base += prows * prow_len;
        if prows == 0 {
            continue;
        }
        for tx in 0..tw {
            let pcols = 2usize.min(pw.saturating_sub(tx * 2));
            if pcols == 0 {
                continue;
            }
            // Only the pixels the windows read: 2 * prows rows and 2 * pcols columns.
            output_tile(c, mm, r * tw + tx, bias, &mut tile[..2 * prows * tile_row], tile_row, 0, 2 * pcols);
            for row in tile.chunks_exact_mut(tile_row).take(2 * prows) {
                epilogue(&mut row[..2 * pcols * c]);
            }
            match arows.as_deref_mut() {
                Some(arows) => pool_tile_argmax(&tile, c, prows, pcols, orows, arows, prow_len, tx * 2),
                None => pool_tile(&tile, c, prows, pcols, orows, prow_len, tx * 2),
            }
        }
    }
}

multiversion! {
    /// Max-pools the `prows x pcols` 2x2 windows of one tile's pixels `tile` (rows of
    /// [`M`] pixels of `c` channels) into pooled `orows` (rows of `prow_len`) from pooled
    /// column `px0`, comparing as [`super::pool::max_pool2d_values`] does, in its order.
    fn pool_tile(tile: &[f32], c: usize, prows: usize, pcols: usize, orows: &mut [f32], prow_len: usize, px0: usize) {
        let tile_row = M * c;
        for pi in 0..prows {
            let (r0, r1) = (&tile[2 * pi * tile_row..][..tile_row], &tile[(2 * pi + 1) * tile_row..][..tile_row]);
            for pj in 0..pcols {
                let o = &mut orows[pi * prow_len + (px0 + pj) * c..][..c];
                let (a, b) = (&r0[2 * pj * c..][..c], &r0[(2 * pj + 1) * c..][..c]);
                let (d, e) = (&r1[2 * pj * c..][..c], &r1[(2 * pj + 1) * c..][..c]);
                for ((((ov, &av), &bv), &dv), &ev) in o.iter_mut().zip(a).zip(b).zip(d).zip(e) {
                    let mut m = av;
                    m = if bv > m { bv } else { m };
                    m = if dv > m { dv } else { m };
                    *ov = if ev > m { ev } else { m };
                }
            }
        }
    }
}

multiversion! {
    /// [`pool_tile`] that also writes each pooled value's winner into `arows` (laid out as
    /// `orows`): the offset `0..4` of the first maximum in its window, in the comparison
    /// order of [`super::pool::max_pool2d_forward`], plus [`NOT_POSITIVE`] where the
    /// maximum is not above zero.
    #[allow(clippy::too_many_arguments)]
    fn pool_tile_argmax(
        tile: &[f32],
        c: usize,
        prows: usize,
        pcols: usize,
        orows: &mut [f32],
        arows: &mut [u8],
        prow_len: usize,
        px0: usize,
    ) {
        let tile_row = M * c;
        for pi in 0..prows {
            let (r0, r1) = (&tile[2 * pi * tile_row..][..tile_row], &tile[(2 * pi + 1) * tile_row..][..tile_row]);
            for pj in 0..pcols {
                let at = pi * prow_len + (px0 + pj) * c;
                let (o, ao) = (&mut orows[at..][..c], &mut arows[at..][..c]);
                let (a, b) = (&r0[2 * pj * c..][..c], &r0[(2 * pj + 1) * c..][..c]);
                let (d, e) = (&r1[2 * pj * c..][..c], &r1[(2 * pj + 1) * c..][..c]);
                for (((((ov, av), &a), &b), &d), &e) in o.iter_mut().zip(ao.iter_mut()).zip(a).zip(b).zip(d).zip(e) {
                    let (mut m, mut k) = (a, 0u8);
                    (m, k) = if b > m { (b, 1) } else { (m, k) };
                    (m, k) = if d > m { (d, 2) } else { (m, k) };
                    (m, k) = if e > m { (e, 3) } else { (m, k) };
                    *ov = m;
                    *av = if m > 0.0 { k } else { k + NOT_POSITIVE };
                }
            }
        }
    }
}

/// The kernel gradient of a convolution [`eligible`] for Winograd, by the adjoint of the
/// forward formula: `Y_t = A^T [U ⊙ V_t] A` with `U = G g G^T`, so `dL/dU = Σ_t V_t ⊙ (A dY_t
/// A^T)` (36 GEMMs `c_in x tiles @ tiles x c_out`, one per position) and `dL/dg = G^T (dL/dU)
/// G`. `dy`'s pixels past the output's edge count as zero, as the forward pass drops them.
/// Overwrites the HWIO `dw`. Blocks of tile rows are shared out among the threads, each
/// summing into its own accumulator; the sums are added in thread order (deterministic for
/// a given thread count, as im2col's kernel gradient is).
///
/// # Panics
/// If `g` is not [`eligible`]'s shape or a buffer length does not match it (engine bugs).
pub fn conv2d_winograd_backward_kernel(g: &Conv2dGeometry, x: &[f32], dy: &[f32], dw: &mut [f32]) {
    conv2d_winograd_backward_kernel_from(g, x, Source::Values(dy), dw);
}

/// [`conv2d_winograd_backward_kernel`] with `dy` read from a [`Source`].
///
/// # Panics
/// As [`conv2d_winograd_backward_kernel`].
pub(crate) fn conv2d_winograd_backward_kernel_from(
    g: &Conv2dGeometry,
    x: &[f32],
    dy: Source<'_>,
    dw: &mut [f32],
) {
    assert!(g.kh == 3 && g.kw == 3 && g.stride_h == 1 && g.stride_w == 1 && g.dil_h == 1 && g.dil_w == 1);
    assert_eq!(x.len(), g.input_len(), "conv2d_winograd_backward_kernel: input length");
    dy.check(g.n, g.out_h, g.out_w, g.c_out, "conv2d_winograd_backward_kernel");
    assert_eq!(dw.len(), g.kernel_len(), "conv2d_winograd_backward_kernel: dw length");
    dw.fill(0.0);
    let (th, tw) = (g.out_h.div_ceil(M), g.out_w.div_ceil(M));
    let tile_rows = g.n * th;
    if tile_rows == 0 || g.out_w == 0 {
        return;
    }
    let per_tile = POS * (g.c_in + g.c_out);
    let rows_per = (BLOCK_FLOATS / (per_tile * tw)).max(MIN_BLOCK_TILES.div_ceil(tw)).max(1);
    let n_blocks = tile_rows.div_ceil(rows_per);
    let du_len = transformed_kernel_len(g);
    // dL/dU summed over blocks lo..hi, in order.
    let run = |lo: usize, hi: usize| -> Vec<f32> {
        let mut du = vec![0.0f32; du_len];
        with_buffers(|bufs| {
            for bi in lo..hi {
                let tr0 = bi * rows_per;
                gradient_block(g, x, dy, tr0, rows_per.min(tile_rows - tr0), &mut du, bufs);
            }
        });
        du
    };
    let threads = crate::parallel::num_threads();
    let groups = threads.min(n_blocks).max(1);
    let du = if groups > 1 {
        let parts: Vec<Vec<f32>> = (0..groups)
            .into_par_iter()
            .map(|gi| run(gi * n_blocks / groups, (gi + 1) * n_blocks / groups))
            .collect();
        let mut it = parts.into_iter();
        let mut du = it.next().expect("at least one group");
        for part in it {
            du.iter_mut().zip(&part).for_each(|(a, b)| *a += b);
        }
        du
    } else {
        run(0, n_blocks)
    };
    untransform_kernel_grad(g, &du, dw);
}

/// One block of [`conv2d_winograd_backward_kernel`]: tile rows `tr0 .. tr0 + rows`; adds
/// their `Σ_t V_t[e]^T W_t[e]` to `du`.
fn gradient_block(
    g: &Conv2dGeometry,
    x: &[f32],
    dy: Source<'_>,
    tr0: usize,
    rows: usize,
    du: &mut [f32],
    bufs: &mut Buffers,
) {
    let (th, tw) = (g.out_h.div_ceil(M), g.out_w.div_ceil(M));
    let nt = rows * tw;
    let (v, w) = bufs;
    if v.len() < POS * nt * g.c_in {
        v.resize(POS * nt * g.c_in, 0.0);
    }
    if w.len() < POS * nt * g.c_out {
        w.resize(POS * nt * g.c_out, 0.0);
    }
    let v = &mut v[..POS * nt * g.c_in];
    let w = &mut w[..POS * nt * g.c_out];
    let x = Source::Values(x);
    for r in 0..rows {
        let tr = tr0 + r;
        let (b, ty) = (tr / th, tr % th);
        let img = x.image(b, g.h, g.w, g.c_in);
        let dimg = dy.image(b, g.out_h, g.out_w, g.c_out);
        for tx in 0..tw {
            let iy0 = (ty * M) as isize - g.pad_top as isize;
            let ix0 = (tx * M) as isize - g.pad_left as isize;
            input_tile(g, img, iy0, ix0, v, r * tw + tx);
            gradient_tile(g, dimg, ty * M, tx * M, w, r * tw + tx);
            prefetch_next_window(g, x, tr, tx);
            prefetch_next_gradient(g, dy, tr, tx);
        }
    }
    let pair = g.c_in * g.c_out;
    for e in 0..POS {
        matmul_tn_strided_acc(
            g.c_in,
            g.c_out,
            nt,
            &v[e * g.c_in..],
            POS * g.c_in,
            &w[e * g.c_out..],
            POS * g.c_out,
            &mut du[e * pair..(e + 1) * pair],
        );
    }
}

/// `dL/dg = G^T (dL/dU) G` for every channel pair, into the HWIO kernel gradient `dw`
/// (computed in f64, rounded once).
fn untransform_kernel_grad(g: &Conv2dGeometry, du: &[f32], dw: &mut [f32]) {
    let pair = g.c_in * g.c_out;
    for p in 0..pair {
        let mut t = [[0.0f64; ALPHA]; 3];
        for j in 0..ALPHA {
            let col: [f64; ALPHA] = std::array::from_fn(|i| du[(i * ALPHA + j) * pair + p] as f64);
            let r = kernel_1d_adjoint(col);
            for a in 0..3 {
                t[a][j] = r[a];
            }
        }
        for (a, row) in t.iter().enumerate() {
            let r = kernel_1d_adjoint(*row);
            for (b, v) in r.iter().enumerate() {
                dw[(a * 3 + b) * pair + p] = *v as f32;
            }
        }
    }
}

/// `G^T u` for one column of 6 (the adjoint of [`kernel_1d`]).
#[inline(always)]
fn kernel_1d_adjoint([u0, u1, u2, u3, u4, u5]: [f64; ALPHA]) -> [f64; 3] {
    const SIXTH: f64 = 1.0 / 6.0;
    [
        u0 * 0.25 - (u1 + u2) * SIXTH + (u3 + u4) * (1.0 / 24.0),
        (u2 - u1) * SIXTH + (u3 - u4) * (1.0 / 12.0),
        (u3 + u4 - u1 - u2) * SIXTH + u5,
    ]
}

/// The convolution that computes the input gradient of a 3x3, stride-1 convolution `g`:
/// `dx = conv(dy, w')` with `w'` the kernel turned by 180 degrees and its channel axes
/// swapped ([`flipped_kernel`]), over `dy` padded by `2 - pad`. `None` when `g` is not
/// such a convolution.
pub fn backward_input_geometry(g: &Conv2dGeometry) -> Option<Conv2dGeometry> {
    let unit = g.kh == 3 && g.kw == 3 && g.stride_h == 1 && g.stride_w == 1 && g.dil_h == 1 && g.dil_w == 1;
    if !unit || g.pad_top > 2 || g.pad_left > 2 {
        return None;
    }
    Some(Conv2dGeometry {
        n: g.n,
        h: g.out_h,
        w: g.out_w,
        c_in: g.c_out,
        kh: 3,
        kw: 3,
        c_out: g.c_in,
        stride_h: 1,
        stride_w: 1,
        dil_h: 1,
        dil_w: 1,
        pad_top: 2 - g.pad_top,
        pad_left: 2 - g.pad_left,
        out_h: g.h,
        out_w: g.w,
    })
}

/// The kernel of [`backward_input_geometry`]: `w'[ki][kj][co][ci] = w[2-ki][2-kj][ci][co]`
/// for an HWIO 3x3 kernel `w` of `c_in` inputs and `c_out` outputs.
pub fn flipped_kernel(c_in: usize, c_out: usize, w: &[f32]) -> Vec<f32> {
    let pair = c_in * c_out;
    let mut out = vec![0.0f32; 9 * pair];
    for tap in 0..9 {
        let src = &w[(8 - tap) * pair..(9 - tap) * pair];
        let dst = &mut out[tap * pair..(tap + 1) * pair];
        for ci in 0..c_in {
            for co in 0..c_out {
                dst[co * c_in + ci] = src[ci * c_out + co];
            }
        }
    }
    out
}

/// Asks the CPU to bring into L1 the input pixels that tile `(tr + 1, tx)` (the tile below
/// `(tr, tx)`, flattened over images) will read and tile `(tr, tx)` did not: its window rows
/// below the current window (all six in the next image), columns `tx * M .. tx * M + M` of
/// the window. The transforms stall on these loads otherwise (the input of a large
/// convolution comes from memory; the rows of the next tile row start streams the hardware
/// prefetcher has not yet seen). A hint only: values are unchanged.
#[inline(always)]
fn prefetch_next_window(g: &Conv2dGeometry, x: Source<'_>, tr: usize, tx: usize) {
    // A pooled gradient is a quarter of the size and was just written: left to the caches.
    let Source::Values(x) = x else { return };
    let th = g.out_h.div_ceil(M);
    let next = tr + 1;
    if next >= g.n * th {
        return;
    }
    let (b, ty) = (next / th, next % th);
    let iy0 = (ty * M) as isize - g.pad_top as isize;
    // Rows of the current window are cached already (same image: its last two rows).
    let first = if ty == 0 { iy0 } else { iy0 + (ALPHA - M) as isize };
    let ix0 = ((tx * M) as isize - g.pad_left as isize).max(0) as usize;
    let ix1 = (tx * M + M).saturating_sub(g.pad_left).min(g.w);
    let rows = first.max(0) as usize..((iy0 + ALPHA as isize).max(0) as usize).min(g.h);
    let img = b * g.h * g.w * g.c_in;
    for iy in rows {
        let row = img + iy * g.w * g.c_in;
        prefetch_range(x, row + ix0 * g.c_in, row + ix1.max(ix0) * g.c_in);
    }
}

/// [`prefetch_next_window`] for the output gradient read by [`gradient_tile`]: the 4x4
/// window of tile `(tr + 1, tx)`.
#[inline(always)]
fn prefetch_next_gradient(g: &Conv2dGeometry, dy: Source<'_>, tr: usize, tx: usize) {
    let Source::Values(dy) = dy else { return };
    let th = g.out_h.div_ceil(M);
    let next = tr + 1;
    if next >= g.n * th {
        return;
    }
    let (b, ty) = (next / th, next % th);
    let (ox0, ox1) = (tx * M, (tx * M + M).min(g.out_w));
    let img = b * g.out_h * g.out_w * g.c_out;
    for oy in ty * M..(ty * M + M).min(g.out_h) {
        let row = img + oy * g.out_w * g.c_out;
        prefetch_range(dy, row + ox0 * g.c_out, row + ox1 * g.c_out);
    }
}

/// Prefetches the cache lines of `v[lo..hi]` (a hint; nothing past `v`'s end is touched).
#[inline(always)]
fn prefetch_range(v: &[f32], lo: usize, hi: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let hi = hi.min(v.len());
        let mut i = lo;
        while i < hi {
            // SAFETY: `i < v.len()`, so the address lies inside `v`; a prefetch never faults
            // and changes no values (SSE is part of every x86-64 CPU).
            unsafe { _mm_prefetch::<_MM_HINT_T0>(v.as_ptr().add(i) as *const i8) };
            i += 16;
        }
        if lo < hi {
            // The last line, if the range does not start on a line boundary.
            // SAFETY: as above (`hi - 1 < v.len()`).
            unsafe { _mm_prefetch::<_MM_HINT_T0>(v.as_ptr().add(hi - 1) as *const i8) };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (v, lo, hi);
}

/// `B^T d` for one column of 6 channel vectors.
#[inline(always)]
fn input_1d(d: [[f32; LANES]; ALPHA]) -> [[f32; LANES]; ALPHA] {
    let mut r = [[0.0f32; LANES]; ALPHA];
    for l in 0..LANES {
        let [d0, d1, d2, d3, d4, d5] = [d[0][l], d[1][l], d[2][l], d[3][l], d[4][l], d[5][l]];
        r[0][l] = 4.0 * d0 - 5.0 * d2 + d4;
        r[1][l] = -4.0 * (d1 + d2) + (d3 + d4);
        r[2][l] = 4.0 * (d1 - d2) + (d4 - d3);
        r[3][l] = 2.0 * (d3 - d1) + (d4 - d2);
        r[4][l] = 2.0 * (d1 - d3) + (d4 - d2);
        r[5][l] = 4.0 * d1 - 5.0 * d3 + d5;
    }
    r
}

/// `A^T m` for one column of 6 channel vectors.
#[inline(always)]
fn output_1d(m: [[f32; LANES]; ALPHA]) -> [[f32; LANES]; M] {
    let mut r = [[0.0f32; LANES]; M];
    for l in 0..LANES {
        let [m0, m1, m2, m3, m4, m5] = [m[0][l], m[1][l], m[2][l], m[3][l], m[4][l], m[5][l]];
        let (s12, d12, s34, d34) = (m1 + m2, m1 - m2, m3 + m4, m3 - m4);
        r[0][l] = m0 + s12 + s34;
        r[1][l] = d12 + 2.0 * d34;
        r[2][l] = s12 + 4.0 * s34;
        r[3][l] = d12 + 8.0 * d34 + m5;
    }
    r
}

/// `[a[0][j], a[1][j], ..]`: column `j` of the first `n` (6 or 4) rows of `a`, as an array
/// literal (no closure: a closure would not inherit the multiversioned target features).
macro_rules! column {
    ($a:expr, $j:expr, 4) => {
        [$a[0][$j], $a[1][$j], $a[2][$j], $a[3][$j]]
    };
    ($a:expr, $j:expr, 6) => {
        [$a[0][$j], $a[1][$j], $a[2][$j], $a[3][$j], $a[4][$j], $a[5][$j]]
    };
}

/// Calls `f::<FULL>(args.., c0, cb)` for each block of `LANES` channels of `c` (`FULL`), then
/// for the partial block left (`!FULL`), so that full blocks compile with fixed-size copies.
macro_rules! channel_blocks {
    ($c:expr, $f:ident($($a:expr),*)) => {{
        let c = $c;
        let mut c0 = 0;
        while c0 + LANES <= c {
            $f::<true>($($a,)* c0, LANES);
            c0 += LANES;
        }
        if c0 < c {
            $f::<false>($($a,)* c0, c - c0);
        }
    }};
}

/// Copies `cb` channels of `src` into `dst`: a fixed-size copy when `FULL` (`cb == LANES`,
/// known at compile time, so it stays a vector move and never becomes a `memcpy` call).
#[inline(always)]
fn load<const FULL: bool>(dst: &mut [f32; LANES], src: &[f32], cb: usize) {
    if FULL {
        dst.copy_from_slice(&src[..LANES]);
    } else {
        dst[..cb].copy_from_slice(&src[..cb]);
    }
}

/// Copies the first `cb` channels of `src` into `dst` (fixed-size when `FULL`).
#[inline(always)]
fn store<const FULL: bool>(dst: &mut [f32], src: &[f32; LANES], cb: usize) {
    if FULL {
        dst[..LANES].copy_from_slice(src);
    } else {
        dst[..cb].copy_from_slice(&src[..cb]);
    }
}

multiversion! {
    /// Transforms the 6x6 input window at `(iy0, ix0)` of one image (zero outside it) into
    /// tile `t`: `v[t][e][c]` for its 36 positions `e`.
    fn input_tile(g: &Conv2dGeometry, img: Source<'_>, iy0: isize, ix0: isize, v: &mut [f32], t: usize) {
        channel_blocks!(g.c_in, input_channels(g, img, iy0, ix0, v, t));
    }
}

/// `[$px!(0, j), .., $px!(n - 1, j)]`: window column `j` (6 or 4 rows), each element made by
/// the caller's macro `$px` (no closure, as in [`column!`]).
macro_rules! window_column {
    ($px:ident, $j:expr) => {
        [$px!(0, $j), $px!(1, $j), $px!(2, $j), $px!(3, $j), $px!(4, $j), $px!(5, $j)]
    };
    ($px:ident, $j:expr, 4) => {
        [$px!(0, $j), $px!(1, $j), $px!(2, $j), $px!(3, $j)]
    };
}

/// The channel vector at row `i`, column `j` of the 6x6 input window at `(iy0, ix0)` of one
/// image (zero outside it; lanes past `cb` zero); `inside`: the whole window is.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn window_pixel<const FULL: bool>(
    g: &Conv2dGeometry,
    img: Source<'_>,
    iy0: isize,
    ix0: isize,
    inside: bool,
    i: usize,
    j: usize,
    c0: usize,
    cb: usize,
) -> [f32; LANES] {
    let (iy, ix) = (iy0 + i as isize, ix0 + j as isize);
    let mut dv = [0.0f32; LANES];
    if inside || (iy >= 0 && (iy as usize) < g.h && ix >= 0 && (ix as usize) < g.w) {
        load_pixel::<FULL>(&mut dv, img, g.h, g.w, g.c_in, iy as usize, ix as usize, c0, cb);
    }
    dv
}

/// Channels `c0 .. c0 + cb` of [`input_tile`]. `FULL` (`cb == LANES`) is a separate
/// instance so that its copies are fixed-size vector moves: with a run-time `cb`, LLVM merges
/// the two branches of [`load`] and [`store`] into one `memcpy` call per vector.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn input_channels<const FULL: bool>(
    g: &Conv2dGeometry,
    img: Source<'_>,
    iy0: isize,
    ix0: isize,
    v: &mut [f32],
    t: usize,
    c0: usize,
    cb: usize,
) {
    let cb = if FULL { LANES } else { cb };
    let c_in = g.c_in;
    let inside = iy0 >= 0 && ix0 >= 0 && iy0 as usize + ALPHA <= g.h && ix0 as usize + ALPHA <= g.w;
    // d[i][j] = the channel vector at window row i, column j, loaded straight into the
    // column transforms' operands: a copy of the window into a scratch buffer first (not
    // elided: the buffer was the caller's) cost 36 vector stores and loads per tile and
    // channel block.
    macro_rules! d {
        ($i:expr, $j:expr) => {
            window_pixel::<FULL>(g, img, iy0, ix0, inside, $i, $j, c0, cb)
        };
    }
    // Columns, then rows: t = B^T d (`cols[j][i]` = t[i][j]), then (t B) by rows. Built as
    // array literals: a zero-initialised array filled in a loop cost a 2 KiB `memset` call
    // per tile and channel block.
    let cols = [
        input_1d(window_column!(d, 0)),
        input_1d(window_column!(d, 1)),
        input_1d(window_column!(d, 2)),
        input_1d(window_column!(d, 3)),
        input_1d(window_column!(d, 4)),
        input_1d(window_column!(d, 5)),
    ];
    for i in 0..ALPHA {
        let r = input_1d(column!(cols, i, 6));
        for (j, rv) in r.iter().enumerate() {
            store::<FULL>(&mut v[(t * POS + i * ALPHA + j) * c_in + c0..], rv, cb);
        }
    }
}

/// `A r` for one column of 4 channel vectors (the adjoint of [`output_1d`]).
#[inline(always)]
fn gradient_1d(r: [[f32; LANES]; M]) -> [[f32; LANES]; ALPHA] {
    let mut m = [[0.0f32; LANES]; ALPHA];
    for l in 0..LANES {
        let [r0, r1, r2, r3] = [r[0][l], r[1][l], r[2][l], r[3][l]];
        let (e02, o13) = (r0 + r2, r1 + r3);
        let (e4, o8) = (r0 + 4.0 * r2, 2.0 * r1 + 8.0 * r3);
        m[0][l] = r0;
        m[1][l] = e02 + o13;
        m[2][l] = e02 - o13;
        m[3][l] = e4 + o8;
        m[4][l] = e4 - o8;
        m[5][l] = r3;
    }
    m
}

multiversion! {
    /// Transforms the 4x4 output-gradient window at `(oy0, ox0)` of one image's `dy` (zero
    /// past the output's edge) into tile `t`: `w[t][e][c] = (A dY A^T)[e]`.
    fn gradient_tile(g: &Conv2dGeometry, dimg: Source<'_>, oy0: usize, ox0: usize, w: &mut [f32], t: usize) {
        channel_blocks!(g.c_out, gradient_channels(g, dimg, oy0, ox0, w, t));
    }
}

/// Channels `c0 .. c0 + cb` of [`gradient_tile`] (`FULL`: see [`input_channels`]).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn gradient_channels<const FULL: bool>(
    g: &Conv2dGeometry,
    dimg: Source<'_>,
    oy0: usize,
    ox0: usize,
    w: &mut [f32],
    t: usize,
    c0: usize,
    cb: usize,
) {
    let cb = if FULL { LANES } else { cb };
    let c_out = g.c_out;
    let (rows, cols) = (M.min(g.out_h - oy0), M.min(g.out_w - ox0));
    // d[i][j], i, j < 4: the gradient vector at tile row i, column j (zero past the edge),
    // loaded straight into the column transforms' operands (see [`input_channels`]).
    macro_rules! d {
        ($i:expr, $j:expr) => {{
            let mut dv = [0.0f32; LANES];
            if $i < rows && $j < cols {
                load_pixel::<FULL>(&mut dv, dimg, g.out_h, g.out_w, c_out, oy0 + $i, ox0 + $j, c0, cb);
            }
            dv
        }};
    }
    // Columns: s = A d (6 x 4, `cols[j][i]` = s[i][j]), then rows: (s A^T) (6 x 6); array
    // literals, as in [`input_channels`].
    let cols = [
        gradient_1d(window_column!(d, 0, 4)),
        gradient_1d(window_column!(d, 1, 4)),
        gradient_1d(window_column!(d, 2, 4)),
        gradient_1d(window_column!(d, 3, 4)),
    ];
    for i in 0..ALPHA {
        let r = gradient_1d(column!(cols, i, 4));
        for (j, rv) in r.iter().enumerate() {
            store::<FULL>(&mut w[(t * POS + i * ALPHA + j) * c_out + c0..], rv, cb);
        }
    }
}

multiversion! {
    /// Transforms tile `t`'s 36 GEMM outputs back to its 4x4 output pixels (plus `bias`) and
    /// writes the first `cols` columns of its first `orows.len() / row_len` rows into `orows`
    /// (rows of `row_len` values: the output rows of the tile row), from column `ox0`.
    #[allow(clippy::too_many_arguments)]
    fn output_tile(
        c_out: usize,
        mm: &[f32],
        t: usize,
        bias: Option<&[f32]>,
        orows: &mut [f32],
        row_len: usize,
        ox0: usize,
        cols: usize,
    ) {
        channel_blocks!(c_out, output_channels(c_out, mm, t, bias, orows, row_len, ox0, cols));
    }
}

/// Channels `c0 .. c0 + cb` of [`output_tile`] (`FULL`: see [`input_channels`]).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn output_channels<const FULL: bool>(
    c_out: usize,
    mm: &[f32],
    t: usize,
    bias: Option<&[f32]>,
    orows: &mut [f32],
    row_len: usize,
    ox0: usize,
    cols: usize,
    c0: usize,
    cb: usize,
) {
    let cb = if FULL { LANES } else { cb };
    let out_rows = orows.len() / row_len;
    // m[i][j]: the GEMM output at position (i, j), loaded straight into the column
    // transforms' operands (see [`input_channels`]).
    macro_rules! m {
        ($i:expr, $j:expr) => {{
            let mut mv = [0.0f32; LANES];
            load::<FULL>(&mut mv, &mm[(t * POS + $i * ALPHA + $j) * c_out + c0..], cb);
            mv
        }};
    }
    // Columns: s = A^T m (4 x 6, `tc[j][i]` = s[i][j]), then rows: y = s A (4 x 4); array
    // literals, as in [`input_channels`].
    let tc = [
        output_1d(window_column!(m, 0)),
        output_1d(window_column!(m, 1)),
        output_1d(window_column!(m, 2)),
        output_1d(window_column!(m, 3)),
        output_1d(window_column!(m, 4)),
        output_1d(window_column!(m, 5)),
    ];
    let mut b = [0.0f32; LANES];
    if let Some(bias) = bias {
        load::<FULL>(&mut b, &bias[c0..], cb);
    }
    for i in 0..M.min(out_rows) {
        let mut y = output_1d(column!(tc, i, 6));
        for (j, yv) in y.iter_mut().enumerate().take(cols) {
            for (v, bv) in yv.iter_mut().zip(&b) {
                *v += bv;
            }
            store::<FULL>(&mut orows[i * row_len + (ox0 + j) * c_out + c0..], yv, cb);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::conv::conv2d_forward;

    fn values(n: usize, seed: f32) -> Vec<f32> {
        (0..n).map(|i| ((i as f32 * 0.731 + seed).sin() * 1.7).fract()).collect()
    }

    /// The kernel gradient against im2col's, for odd sizes (partial tiles at the right and
    /// bottom edges, whose `dy` beyond the output must count as zero), channel counts that
    /// are not multiples of 16, both paddings, one and several blocks.
    #[test]
    fn kernel_gradient_matches_im2col() {
        for &(n, h, w, ci, co, same) in &[
            (1, 9, 7, 16, 16, true),
            (2, 13, 11, 20, 33, false),
            (3, 8, 8, 17, 16, true),
            (4, 30, 29, 32, 48, true),
            (1, 3, 3, 16, 16, false),
        ] {
            let g = Conv2dGeometry::new([n, h, w, ci], [3, 3], co, [1, 1], [1, 1], same).unwrap();
            let x = values(g.input_len(), 0.3);
            let dy = values(g.output_len(), 1.7);
            let mut want = vec![0.0; g.kernel_len()];
            crate::kernels::conv::conv2d_backward_kernel(&g, &x, &dy, &mut want);
            let mut got = vec![f32::NAN; g.kernel_len()];
            conv2d_winograd_backward_kernel(&g, &x, &dy, &mut got);
            let scale = want.iter().fold(0.0f32, |a, v| a.max(v.abs()));
            for (i, (a, b)) in got.iter().zip(&want).enumerate() {
                assert!((a - b).abs() <= 3e-5 * scale, "{:?} at {i}: {a} vs {b}", (n, h, w, ci, co));
            }
        }
    }

    /// The tile transforms against a plain reference in the order the kernel documents
    /// (columns first, then rows, same operations), bit for bit: inside and edge tiles,
    /// channel counts with and without a partial block of 16.
    #[test]
    fn tile_transforms_give_the_reference_bits() {
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        // The reference: `f` over the columns of the `rows x cols` window `d` (one channel
        // at a time), then over the rows of the result.
        fn two_pass(d: &[Vec<f32>], f: &dyn Fn(&[f32]) -> Vec<f32>) -> Vec<Vec<f32>> {
            let cols = d[0].len();
            let by_col: Vec<Vec<f32>> =
                (0..cols).map(|j| f(&d.iter().map(|r| r[j]).collect::<Vec<_>>())).collect();
            let rows = by_col[0].len();
            (0..rows).map(|i| f(&by_col.iter().map(|c| c[i]).collect::<Vec<_>>())).collect()
        }
        let in_1d = |x: &[f32]| {
            let d: [[f32; LANES]; ALPHA] = std::array::from_fn(|i| [x[i]; LANES]);
            input_1d(d).iter().map(|r| r[0]).collect::<Vec<_>>()
        };
        let out_1d = |x: &[f32]| {
            let d: [[f32; LANES]; ALPHA] = std::array::from_fn(|i| [x[i]; LANES]);
            output_1d(d).iter().map(|r| r[0]).collect::<Vec<_>>()
        };
        let grad_1d = |x: &[f32]| {
            let d: [[f32; LANES]; M] = std::array::from_fn(|i| [x[i]; LANES]);
            gradient_1d(d).iter().map(|r| r[0]).collect::<Vec<_>>()
        };
        for &(h, w, c) in &[(9, 7, 16), (10, 11, 20), (6, 6, 33)] {
            let g = Conv2dGeometry::new([1, h, w, c], [3, 3], c, [1, 1], [1, 1], true).unwrap();
            let img = values(g.input_len(), 0.9);
            for (ty, tx) in [(0, 0), (1, 1), (g.out_h.div_ceil(M) - 1, g.out_w.div_ceil(M) - 1)] {
                let (iy0, ix0) =
                    ((ty * M) as isize - g.pad_top as isize, (tx * M) as isize - g.pad_left as isize);
                let mut v = vec![f32::NAN; POS * c];
                input_tile(&g, Source::Values(&img), iy0, ix0, &mut v, 0);
                let mut want = vec![0.0; POS * c];
                for ch in 0..c {
                    let px = |i: usize, j: usize| {
                        let (y, x) = (iy0 + i as isize, ix0 + j as isize);
                        let inside = y >= 0 && x >= 0 && (y as usize) < h && (x as usize) < w;
                        if inside {
                            img[(y as usize * w + x as usize) * c + ch]
                        } else {
                            0.0
                        }
                    };
                    let d: Vec<Vec<f32>> =
                        (0..ALPHA).map(|i| (0..ALPHA).map(|j| px(i, j)).collect()).collect();
                    for (i, row) in two_pass(&d, &in_1d).iter().enumerate() {
                        for (j, x) in row.iter().enumerate() {
                            want[(i * ALPHA + j) * c + ch] = *x;
                        }
                    }
                }
                assert_eq!(bits(&v), bits(&want), "input tile {:?}", (h, w, c, ty, tx));
                // The gradient transform of the same tile position, from a 4x4 window.
                let dimg = values(g.output_len(), 2.3);
                let mut gw = vec![f32::NAN; POS * c];
                gradient_tile(&g, Source::Values(&dimg), ty * M, tx * M, &mut gw, 0);
                for ch in 0..c {
                    let px = |i: usize, j: usize| {
                        let (y, x) = (ty * M + i, tx * M + j);
                        if y < g.out_h && x < g.out_w {
                            dimg[(y * g.out_w + x) * c + ch]
                        } else {
                            0.0
                        }
                    };
                    let d: Vec<Vec<f32>> = (0..M).map(|i| (0..M).map(|j| px(i, j)).collect()).collect();
                    for (i, row) in two_pass(&d, &grad_1d).iter().enumerate() {
                        for (j, x) in row.iter().enumerate() {
                            want[(i * ALPHA + j) * c + ch] = *x;
                        }
                    }
                }
                assert_eq!(bits(&gw), bits(&want), "gradient tile {:?}", (h, w, c, ty, tx));
            }
            // The output transform of one tile's 36 products, with a bias, into a 3-row,
            // 3-column corner of a wider output.
            let mm = values(POS * c, 1.3);
            let bias = values(c, 0.4);
            let (rows, cols, row_len, ox0) = (3, 3, 9 * c, 5);
            let mut orows = vec![f32::NAN; rows * row_len];
            output_tile(c, &mm, 0, Some(&bias), &mut orows, row_len, ox0, cols);
            for ch in 0..c {
                let d: Vec<Vec<f32>> =
                    (0..ALPHA).map(|i| (0..ALPHA).map(|j| mm[(i * ALPHA + j) * c + ch]).collect()).collect();
                for (i, row) in two_pass(&d, &out_1d).iter().enumerate().take(rows) {
                    for (j, x) in row.iter().enumerate().take(cols) {
                        let got = orows[i * row_len + (ox0 + j) * c + ch];
                        assert_eq!(
                            got.to_bits(),
                            (x + bias[ch]).to_bits(),
                            "output tile {:?}",
                            (c, i, j, ch)
                        );
                    }
                }
            }
        }
    }

    /// Winograd against the direct im2col method, for odd sizes (partial tiles), channel
    /// counts that are not multiples of 16, both paddings, with bias and an epilogue.
    #[test]
    fn matches_direct_convolution() {
        for &(n, h, w, ci, co, same) in &[
            (1, 9, 7, 16, 16, true),
            (2, 13, 11, 20, 33, false),
            (3, 8, 8, 17, 16, true),
            (1, 30, 29, 32, 48, true),
            (1, 3, 3, 16, 16, false),
        ] {
            let g = Conv2dGeometry::new([n, h, w, ci], [3, 3], co, [1, 1], [1, 1], same).unwrap();
            let x = values(g.input_len(), 0.3);
            let k = values(g.kernel_len(), 1.1);
            let bias = values(co, 2.0);
            let epi = |rows: &mut [f32]| rows.iter_mut().for_each(|v| *v = v.max(0.0));
            let mut want = vec![0.0; g.output_len()];
            conv2d_forward(&g, &x, &k, Some(&bias), &mut want, &epi);
            let u = transform_kernel(&g, &k);
            let mut got = vec![f32::NAN; g.output_len()];
            conv2d_winograd(&g, &x, &u, Some(&bias), &mut got, &epi);
            let fresh = conv2d_winograd_vec(&g, &x, &u, Some(&bias), &epi);
            assert!(fresh.iter().zip(&got).all(|(a, b)| a.to_bits() == b.to_bits()), "fresh {:?}", (n, h, w));
            // F(4x4, 3x3) rounding: about 2e-5 of the largest output (see the module docs).
            let scale = want.iter().fold(0.0f32, |a, v| a.max(v.abs()));
            for (i, (a, b)) in got.iter().zip(&want).enumerate() {
                assert!((a - b).abs() <= 3e-5 * scale, "{:?} at {i}: {a} vs {b}", (n, h, w, ci, co));
            }
        }
    }

    /// The fused 2x2 max pooling against [`conv2d_winograd`] then
    /// [`crate::kernels::pool::max_pool2d_values`], bit for bit: odd and even output sizes
    /// (a tile row or column with one pooled window, or none), channel counts that are not
    /// multiples of 16, both paddings, one and several blocks, with bias and an epilogue, and
    /// NaNs (the pool's comparison order decides which value survives). Run under
    /// `KERAS_ISA=baseline` and `KERAS_ISA=avx2` too for the other instruction sets.
    #[test]
    fn fused_max_pool_matches_the_two_passes() {
        use crate::kernels::pool::{max_pool2d_values, Pool2dGeometry};
        for &(n, h, w, ci, co, same) in &[
            (1, 9, 7, 16, 16, true),
            (2, 13, 11, 20, 33, false),
            (3, 8, 8, 17, 16, true),
            (2, 30, 29, 32, 64, false),
            (1, 11, 12, 16, 16, false),
            (1, 4, 5, 16, 16, false),
            (5, 32, 32, 16, 24, false),
        ] {
            let g = Conv2dGeometry::new([n, h, w, ci], [3, 3], co, [1, 1], [1, 1], same).unwrap();
            let x = values(g.input_len(), 0.3);
            let k = values(g.kernel_len(), 1.1);
            let bias = values(co, 2.0);
            // Leaky, and NaN for about one value in ten (wherever it falls in a window).
            let epi = |rows: &mut [f32]| {
                for v in rows.iter_mut() {
                    *v = if (*v * 100.0).fract().abs() < 0.1 { f32::NAN } else { v.max(0.1 * *v) };
                }
            };
            let u = transform_kernel(&g, &k);
            let mut full = vec![f32::NAN; g.output_len()];
            conv2d_winograd(&g, &x, &u, Some(&bias), &mut full, &epi);
            let pg = Pool2dGeometry::new([n, g.out_h, g.out_w, co], [2, 2], [2, 2], false).unwrap();
            let mut want = vec![0.0; pg.output_len()];
            max_pool2d_values(&pg, &full, &mut want);
            let mut got = vec![f32::NAN; pg.output_len()];
            conv2d_winograd_maxpool2(&g, &x, &u, Some(&bias), &mut got, &epi);
            assert!(want.iter().any(|v| v.is_nan()) && want.iter().any(|v| !v.is_nan()));
            for (i, (a, b)) in got.iter().zip(&want).enumerate() {
                assert_eq!(a.to_bits(), b.to_bits(), "{:?} at {i}: {a} vs {b}", (n, h, w, ci, co, same));
            }
        }
    }

    /// The training variant of the fused pooling against [`conv2d_winograd`] then
    /// [`crate::kernels::pool::max_pool2d_forward`], bit for bit in the values and equal in
    /// the winners (plus [`NOT_POSITIVE`] where the value is not above zero): a ReLU (ties
    /// at zero, whole windows of zeros), NaNs and infinities, odd sizes, several blocks.
    /// Run under `KERAS_ISA=baseline` and `KERAS_ISA=avx2` too for the other instruction
    /// sets.
    #[test]
    fn fused_max_pool_winners_match_the_pool() {
        use crate::kernels::pool::{max_pool2d_forward, Pool2dGeometry};
        for &(n, h, w, ci, co, same) in &[
            (1, 9, 7, 16, 16, true),
            (2, 13, 11, 20, 33, false),
            (2, 30, 29, 32, 64, false),
            (5, 32, 32, 16, 24, false),
        ] {
            let g = Conv2dGeometry::new([n, h, w, ci], [3, 3], co, [1, 1], [1, 1], same).unwrap();
            let x = values(g.input_len(), 0.3);
            let k = values(g.kernel_len(), 1.1);
            let bias = values(co, 2.0);
            // ReLU, with NaN for about one value in ten and +inf for about one in twenty.
            let epi = |rows: &mut [f32]| {
                for v in rows.iter_mut() {
                    let f = (*v * 100.0).fract().abs();
                    *v = if f < 0.1 {
                        f32::NAN
                    } else if f > 0.95 {
                        f32::INFINITY
                    } else {
                        v.max(0.0)
                    };
                }
            };
            let u = transform_kernel(&g, &k);
            let mut full = vec![f32::NAN; g.output_len()];
            conv2d_winograd(&g, &x, &u, Some(&bias), &mut full, &epi);
            let pg = Pool2dGeometry::new([n, g.out_h, g.out_w, co], [2, 2], [2, 2], false).unwrap();
            let mut want = vec![0.0; pg.output_len()];
            let mut want_arg = vec![0u8; pg.output_len()];
            max_pool2d_forward(&pg, &full, &mut want, &mut want_arg);
            let (got, got_arg) = conv2d_winograd_maxpool2_argmax_vec(&g, &x, &u, Some(&bias), &epi);
            assert!(want.iter().any(|v| v.is_nan()) && want.contains(&0.0));
            assert!(want.iter().any(|v| *v > 0.0) && want.iter().any(|v| v.is_infinite()));
            for (i, (a, b)) in got.iter().zip(&want).enumerate() {
                assert_eq!(a.to_bits(), b.to_bits(), "{:?} at {i}: {a} vs {b}", (n, h, w, ci, co, same));
                let tag = if *b > 0.0 { 0 } else { NOT_POSITIVE };
                assert_eq!(got_arg[i], want_arg[i] + tag, "winner {:?} at {i}", (n, h, w, ci, co, same));
            }
        }
    }

    /// Both Winograd backward passes reading the pooled gradient and the winner bytes
    /// (`Source::PooledGrad`) give the bits of the passes over the pool's full-size gradient.
    #[test]
    fn pooled_gradient_source_gives_the_full_gradients_bits() {
        use crate::kernels::pool::{max_pool2d_backward_vec, Pool2dGeometry};
        // Odd and even outputs (an odd one leaves a row and a column no window covers),
        // partial channel blocks, both paddings.
        for &(n, h, w, ci, co, same) in &[
            (2, 12, 11, 16, 32, false),
            (1, 9, 9, 20, 16, true),
            (3, 13, 10, 17, 20, false),
            (1, 7, 8, 16, 48, true),
        ] {
            let g = Conv2dGeometry::new([n, h, w, ci], [3, 3], co, [1, 1], [1, 1], same).unwrap();
            let pg = Pool2dGeometry::new([n, g.out_h, g.out_w, co], [2, 2], [2, 2], false).unwrap();
            let x = values(g.input_len(), 0.3);
            let k = values(g.kernel_len(), 1.9);
            for special in [false, true] {
                let mut dy = values(pg.output_len(), 0.9);
                // Winners 0..4, and 4..8 where the ReLU passes nothing ([`NOT_POSITIVE`]).
                let argmax: Vec<u8> = (0..dy.len()).map(|i| ((i * 7 + i / 5) % 8) as u8).collect();
                dy[3] = -0.0;
                dy[10] = -0.0;
                if special {
                    dy[5] = f32::INFINITY;
                    dy[17] = f32::NEG_INFINITY;
                    dy[29] = f32::NAN;
                }
                let full = max_pool2d_backward_vec(&pg, &dy, &argmax);
                let src = Source::PooledGrad { dy: &dy, argmax: &argmax };
                let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&src.values(n, g.out_h, g.out_w, co)), bits(&full));
                let gb = backward_input_geometry(&g).unwrap();
                let u = transform_kernel(&gb, &flipped_kernel(ci, co, &k));
                let want = conv2d_winograd_vec(&gb, &full, &u, None, &|_| {});
                let got = conv2d_winograd_from_vec(&gb, src, &u);
                assert_eq!(bits(&got), bits(&want), "input gradient {:?}", (n, h, w, ci, co, same, special));
                let (mut want, mut got) = (vec![0.0; g.kernel_len()], vec![f32::NAN; g.kernel_len()]);
                conv2d_winograd_backward_kernel(&g, &x, &full, &mut want);
                conv2d_winograd_backward_kernel_from(&g, &x, src, &mut got);
                assert_eq!(bits(&got), bits(&want), "kernel gradient {:?}", (n, h, w, ci, co, same, special));
            }
        }
    }

    /// The input gradient through the flipped-kernel convolution against col2im.
    #[test]
    fn backward_input_matches_col2im() {
        use crate::kernels::conv::conv2d_backward_input;
        for &(n, h, w, ci, co, same) in &[(2, 9, 11, 16, 20, true), (1, 12, 10, 17, 16, false)] {
            let g = Conv2dGeometry::new([n, h, w, ci], [3, 3], co, [1, 1], [1, 1], same).unwrap();
            let dy = values(g.output_len(), 0.7);
            let k = values(g.kernel_len(), 1.9);
            let mut want = vec![0.0; g.input_len()];
            conv2d_backward_input(&g, &dy, &k, &mut want);
            let gb = backward_input_geometry(&g).unwrap();
            let u = transform_kernel(&gb, &flipped_kernel(ci, co, &k));
            let mut got = vec![f32::NAN; g.input_len()];
            conv2d_winograd(&gb, &dy, &u, None, &mut got, &|_| {});
            let scale = want.iter().fold(0.0f32, |a, v| a.max(v.abs()));
            let err = got.iter().zip(&want).fold(0.0f32, |a, (x, y)| a.max((x - y).abs()));
            assert!(err <= 3e-5 * scale, "{:?}: error {err} of {scale}", (n, h, w, ci, co, same));
        }
        let strided = Conv2dGeometry::new([1, 9, 9, 16], [3, 3], 16, [2, 2], [1, 1], true).unwrap();
        assert!(backward_input_geometry(&strided).is_none());
    }

    #[test]
    fn eligibility_follows_the_shape() {
        let g = |k: usize, s: usize, c: usize, hw: usize| {
            Conv2dGeometry::new([1, hw, hw, c], [k, k], c, [s, s], [1, 1], true).unwrap()
        };
        if enabled() {
            assert!(eligible(&g(3, 1, 64, 56)));
        }
        assert!(!eligible(&g(3, 2, 64, 56)));
        assert!(!eligible(&g(1, 1, 64, 56)));
        assert!(!eligible(&g(3, 1, 8, 56)));
        assert!(!eligible(&g(3, 1, 64, 8)), "a 2x2 grid of tiles is too few");
    }
}
