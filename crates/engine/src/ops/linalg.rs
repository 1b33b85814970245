//! Matrix products: plain `matmul` and the fused Dense op.

use crate::autodiff::{record, record_owned};
use crate::kernels::amx::prepacked::{Layout, Packed};
use crate::kernels::fresh::{fresh_vec, Out};
use crate::kernels::matmul::{
    amx_for, dense_forward_amx, dense_forward_matmul, dense_forward_streamed, dense_forward_streams,
    dense_forward_streams_whole, dense_input_grad_into, matmul as gemm, matmul_columns, matmul_into_with,
    own_gives_crate_bits, threads_for, Trans,
};
use crate::kernels::simd::multiversion;
use crate::ops::elementwise::Unary;
use crate::tensor::Tensor;
use crate::{bail, Result};

/// `a @ b` for 2-D `a (m, k)` and `b (k, n)` (differentiable).
pub fn matmul(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    if a.rank() != 2 || b.rank() != 2 || a.shape()[1] != b.shape()[0] {
        bail!("matmul needs shapes (m, k) and (k, n), got {:?} and {:?}", a.shape(), b.shape());
    }
    #[cfg(feature = "cuda")]
    if let Some(d) = crate::tensor::cuda_of("matmul", &[a, b])? {
        return crate::cuda::ops::matmul(d, a, b);
    }
    let (m, k, n) = (a.shape()[0], a.shape()[1], b.shape()[1]);
    let mut out = vec![0.0; m * n];
    gemm(m, n, k, a.as_f32()?, Trans::No, b.as_f32()?, Trans::No, &mut out, false);
    let out = Tensor::from_f32_unchecked(out, vec![m, n]);
    record(
        out,
        &[a, b],
        Box::new(move |g, _o, inputs| {
            let (a, b) = (&inputs[0], &inputs[1]);
            let gs = g.as_f32()?;
            let ga = if a.tracks_grad() {
                let mut da = vec![0.0; m * k];
                gemm(m, k, n, gs, Trans::No, b.as_f32()?, Trans::Yes, &mut da, false);
                Some(Tensor::from_f32_unchecked(da, vec![m, k]))
            } else {
                None
            };
            let gb = if b.tracks_grad() {
                let mut db = vec![0.0; k * n];
                gemm(k, n, m, a.as_f32()?, Trans::Yes, gs, Trans::No, &mut db, false);
                Some(Tensor::from_f32_unchecked(db, vec![k, n]))
            } else {
                None
            };
            Ok(vec![ga, gb])
        }),
    )
}

/// Adds `bias[j]` to every row and applies `act` in one pass over `out (rows, n)`.
pub(crate) fn bias_act_epilogue(out: &mut [f32], n: usize, bias: Option<&[f32]>, act: Unary) {
    if let (Some(b), Unary::Relu) = (bias, act) {
        // One pass instead of a bias pass and a relu pass over each row.
        bias_relu_rows(out, n, b);
    } else if let Some(b) = bias {
        for row in out.chunks_mut(n) {
            row.iter_mut().zip(b).for_each(|(v, &bb)| *v += bb);
            act.apply_slice(row);
        }
    } else if out.len() >= crate::parallel::ELEMENTWISE_PARALLEL_MIN {
        use rayon::prelude::*;
        out.par_chunks_mut(4096).for_each(|chunk| act.apply_slice(chunk));
    } else {
        act.apply_slice(out);
    }
}

multiversion! {
    /// `row = max(row + b, 0)` for every row of `out (rows, n)`, with [`Unary::apply`]'s relu
    /// (NaN and -0 give 0): the bits of the bias pass followed by the relu pass.
    fn bias_relu_rows(out: &mut [f32], n: usize, b: &[f32]) {
        for row in out.chunks_mut(n) {
            for (v, &bb) in row.iter_mut().zip(b) {
                let x = *v + bb;
                *v = if x > 0.0 { x } else { 0.0 };
            }
        }
    }
}

/// The gradient before a fused activation, `dy * act'(y)`: `dy` itself for linear, otherwise
/// computed in one pass over `dy`'s buffer. Takes the output `y` so that it is freed here,
/// once read, when the tape handed over the last reference.
pub(crate) fn pre_activation_grad(dy: Tensor, y: Tensor, act: Unary) -> Result<Tensor> {
    if act == Unary::Linear {
        return Ok(dy);
    }
    let ys = y.as_f32()?;
    let mut dy = dy;
    // In place when the tape handed over the only reference (the usual case); a copy
    // otherwise (copy-on-write).
    let v = dy.f32_mut()?;
    if v.len() != ys.len() {
        crate::bail!("internal error: gradient of {} values for an output of {}", v.len(), ys.len());
    }
    match act {
        Unary::Relu => {
            if v.len() >= crate::parallel::ELEMENTWISE_PARALLEL_MIN {
                use rayon::prelude::*;
                v.par_chunks_mut(RELU_GRAD_BLOCK)
                    .zip(ys.par_chunks(RELU_GRAD_BLOCK))
                    .for_each(|(v, y)| relu_grad_in_place(v, y));
            } else {
                relu_grad_in_place(v, ys);
            }
        }
        _ => act_backward_from_output(v, ys, act)?,
    }
    Ok(dy)
}

/// Values per parallel block of the relu gradient.
const RELU_GRAD_BLOCK: usize = 1 << 14;

multiversion! {
    /// `dy = y > 0 ? dy : 0`, in place.
    fn relu_grad_in_place(dy: &mut [f32], y: &[f32]) {
        for (d, &y) in dy.iter_mut().zip(y) {
            *d = if y > 0.0 { *d } else { 0.0 };
        }
    }
}

/// `y > 0` as one bit per element (bit `i % 64` of word `i / 64`): what a fused relu's
/// backward needs of its output, 1/32 of the output's size (see [`crate::autodiff::Reads`]).
pub(crate) fn relu_sign_mask(y: &[f32]) -> Vec<u64> {
    let mut mask = vec![0u64; y.len().div_ceil(64)];
    if y.len() >= crate::parallel::ELEMENTWISE_PARALLEL_MIN {
        use rayon::prelude::*;
        mask.par_chunks_mut(RELU_GRAD_BLOCK / 64)
            .zip(y.par_chunks(RELU_GRAD_BLOCK))
            .for_each(|(m, y)| sign_mask_into(m, y));
    } else {
        sign_mask_into(&mut mask, y);
    }
    mask
}

/// [`pre_activation_grad`] of a relu from its [`relu_sign_mask`]: the same values, in place
/// when the tape hands over the only reference.
pub(crate) fn relu_grad_from_mask(dy: Tensor, mask: &[u64]) -> Result<Tensor> {
    let mut dy = dy;
    let v = dy.f32_mut()?;
    if v.len().div_ceil(64) != mask.len() {
        crate::bail!("internal error: gradient of {} values for a mask of {} words", v.len(), mask.len());
    }
    if v.len() >= crate::parallel::ELEMENTWISE_PARALLEL_MIN {
        use rayon::prelude::*;
        v.par_chunks_mut(RELU_GRAD_BLOCK)
            .zip(mask.par_chunks(RELU_GRAD_BLOCK / 64))
            .for_each(|(v, m)| relu_mask_in_place(v, m));
    } else {
        relu_mask_in_place(v, mask);
    }
    Ok(dy)
}

/// `mask = y > 0`, 64 elements a word (`y.len()` at most `64 * mask.len()`). With AVX-512F,
/// whole words come from four compares into mask registers: the compiler's vectorization of
/// the portable loop builds each word with shifts and ORs of 64-bit lanes, about 1.6x the
/// time per pass over a tensor beyond L2 (0.97 against 0.61 ms per 6.4 MB, one thread,
/// Intel Xeon Emerald Rapids; BENCHMARKS.md "Intel Xeon against Zen 4 (eleventh session)").
/// Same bits: `>` is false for NaN either way.
fn sign_mask_into(mask: &mut [u64], y: &[f32]) {
    #[cfg(target_arch = "x86_64")]
    if crate::kernels::simd::isa() == crate::kernels::simd::Isa::Avx512 {
        let full = (y.len() / 64).min(mask.len());
        // SAFETY: isa() checked AVX-512F at run time; the slices hold `full` words and
        // `64 * full` values.
        unsafe { sign_mask_words_avx512(&mut mask[..full], &y[..64 * full]) };
        sign_mask_portable(&mut mask[full..], &y[64 * full..]);
        return;
    }
    sign_mask_portable(mask, y)
}

/// [`sign_mask_into`] for whole words: `y.len() == 64 * mask.len()`.
///
/// # Safety
/// The CPU has AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn sign_mask_words_avx512(mask: &mut [u64], y: &[f32]) {
    use std::arch::x86_64::*;
    debug_assert_eq!(y.len(), 64 * mask.len());
    let zero = _mm512_setzero_ps();
    for (m, y) in mask.iter_mut().zip(y.chunks_exact(64)) {
        let mut bits = 0u64;
        for (i, v) in y.chunks_exact(16).enumerate() {
            let gt = _mm512_cmp_ps_mask::<_CMP_GT_OQ>(_mm512_loadu_ps(v.as_ptr()), zero);
            bits |= (gt as u64) << (16 * i);
        }
        *m = bits;
    }
}

multiversion! {
    /// [`sign_mask_into`] in portable code.
    fn sign_mask_portable(mask: &mut [u64], y: &[f32]) {
        for (m, y) in mask.iter_mut().zip(y.chunks(64)) {
            let mut bits = 0u64;
            for (j, &v) in y.iter().enumerate() {
                bits |= ((v > 0.0) as u64) << j;
            }
            *m = bits;
        }
    }
}

multiversion! {
    /// `dy = mask bit ? dy : 0`, in place ([`relu_grad_in_place`] from a saved mask).
    fn relu_mask_in_place(dy: &mut [f32], mask: &[u64]) {
        for (d, &m) in dy.chunks_mut(64).zip(mask) {
            for (j, d) in d.iter_mut().enumerate() {
                *d = if (m >> j) & 1 != 0 { *d } else { 0.0 };
            }
        }
    }
}

/// Multiplies `dy` in place by `act'` recovered from the output `y`.
pub(crate) fn act_backward_from_output(dy: &mut [f32], y: &[f32], act: Unary) -> Result<()> {
    if !act.backward_from_output_slice(dy, y) {
        bail!("internal error: activation {act:?} cannot be fused");
    }
    Ok(())
}

/// Sums `(rows, n)` over rows into `n` values (row by row, in order).
pub(crate) fn column_sums(x: &[f32], n: usize) -> Vec<f32> {
    let mut s = vec![0.0f32; n];
    if n > 0 {
        add_rows(x, n, &mut s);
    }
    s
}

multiversion! {
    /// `s += row` for every row of `x (rows, n)`, in row order.
    fn add_rows(x: &[f32], n: usize, s: &mut [f32]) {
        for row in x.chunks_exact(n) {
            for (a, b) in s.iter_mut().zip(row) {
                *a += b;
            }
        }
    }
}

/// The relu pre-activation gradient and the bias gradient of a Dense layer in one pass over
/// `dy` (overwritten with `dpre`) and `y` (`(rows, n)`): `dpre = y > 0 ? dy : 0`, and the
/// returned `db` = column sums of `dpre` (summed row by row, in order, as [`column_sums`]
/// does).
pub(crate) fn relu_grad_and_column_sums(dy: &mut [f32], y: &[f32], n: usize) -> Result<Vec<f32>> {
    let mut db = vec![0.0f32; n];
    if n == 0 {
        return Ok(db);
    }
    if dy.len() != y.len() || !dy.len().is_multiple_of(n) {
        bail!("internal error: gradient of {} values for an output of {} in rows of {n}", dy.len(), y.len());
    }
    for (dr, yr) in dy.chunks_exact_mut(n).zip(y.chunks_exact(n)) {
        relu_mask_and_add(dr, yr, &mut db);
    }
    Ok(db)
}

multiversion! {
    /// `d = y > 0 ? d : 0` for one row, then `s += d`.
    fn relu_mask_and_add(d: &mut [f32], y: &[f32], s: &mut [f32]) {
        for ((d, &y), s) in d.iter_mut().zip(y).zip(s.iter_mut()) {
            let v = if y > 0.0 { *d } else { 0.0 };
            *d = v;
            *s += v;
        }
    }
}

/// `dx = dpre @ W^T` and `dW = x^T @ dpre` of a Dense layer (`x (m, k)`, `W (k, n)`, `dpre
/// (m, n)`), each only when wanted.
///
/// On a two-thread pool, when both are wanted and of similar size, the two GEMMs run side by
/// side, one per worker, in one hand-off to the pool, instead of one after the other, each
/// split over both workers in several parallel regions (every region wakes the pool and waits
/// for it). Each GEMM's own arithmetic, and so every bit of the result, is the same either way:
/// threads split a GEMM's output tiles, never its sums.
fn dense_input_and_kernel_grads(
    dpre: &[f32],
    x: &[f32],
    w: (&[f32], Option<&Packed>),
    (m, k, n): (usize, usize, usize),
    want_dx: bool,
    want_dw: bool,
) -> (Option<Vec<f32>>, Option<Vec<f32>>) {
    dense_input_and_kernel_grads_with(
        dpre,
        x,
        w,
        (m, k, n),
        (want_dx, want_dw),
        (amx_for(m, k, n), amx_for(k, n, m)),
    )
}

/// [`dense_input_and_kernel_grads`] with the AMX choice of each product (`dx`, `dW`) made by
/// the caller ([`amx_for`] on the calling thread; tests pass it explicitly). `W`'s copy packed
/// as `W^T` for AMX, where given, serves `dx`.
fn dense_input_and_kernel_grads_with(
    dpre: &[f32],
    x: &[f32],
    (w, w_packed): (&[f32], Option<&Packed>),
    (m, k, n): (usize, usize, usize),
    (want_dx, want_dw): (bool, bool),
    (amx_dx, amx_dw): (bool, bool),
) -> (Option<Vec<f32>>, Option<Vec<f32>>) {
    // Outputs on the own GEMM or AMX are written without a zero fill first (`matmul_into`).
    let input_grad = |dx: Out<'_>| dense_input_grad_into((m, k, n), dpre, (w, w_packed), dx, amx_dx);
    let kernel_grad =
        |dw: Out<'_>| matmul_into_with((k, n, m), (x, Trans::Yes), (dpre, Trans::No), dw, amx_dw);
    let side_by_side = want_dx
        && want_dw
        && crate::parallel::num_threads() == 2
        && !crate::parallel::in_worker()
        && m * k * n >= SIDE_BY_SIDE_MIN_FLOPS;
    if side_by_side {
        // Inside the pool each GEMM runs on one worker. The own GEMM transposes `W` while
        // packing it; on the `gemm` crate the transposed kernel of dx is transposed
        // explicitly there, by blocks (the crate would gather it with a stride).
        // The buffers are allocated here, on the calling thread: a buffer a worker allocates
        // comes from that worker's malloc arena and goes back to it, where the caller's later
        // allocations of the same size cannot reuse it (measured: ~30 MB of idle worker
        // arenas at W2 b128's peak).
        // Each worker initialises its own output ([`crate::kernels::fresh`]): the two run
        // side by side instead of one zero fill after the other on the calling thread (8 MB
        // per step at W2 b32, 5% of the step), and the own GEMM's outputs get no fill at all.
        let mut dw = Vec::new();
        let dx = fresh_vec(m * k, |dx| {
            dw = fresh_vec(k * n, |dw| {
                rayon::join(
                    || {
                        if amx_dx || own_gives_crate_bits(n, Trans::No) {
                            input_grad(dx)
                        } else {
                            input_grad_by_column_blocks(dpre, w, (m, k, n), dx.zeroed())
                        }
                    },
                    || kernel_grad(dw),
                );
            });
        });
        return (Some(dx), Some(dw));
    }
    (want_dx.then(|| fresh_vec(m * k, input_grad)), want_dw.then(|| fresh_vec(k * n, kernel_grad)))
}

/// `dx = dpre @ W^T` on one thread, `DX_COLUMN_BLOCK` columns of `dx` at a time: each block
/// of `W`'s rows is transposed into a small buffer and multiplied into its columns of `dx`.
/// A whole transposed kernel would be one more kernel-sized buffer live at the backward
/// pass's peak (6 MiB for W2's 12544x128 Dense); the blocks give the same products, each
/// `dx` element summed over `n` in the same order.
fn input_grad_by_column_blocks(dpre: &[f32], w: &[f32], (m, k, n): (usize, usize, usize), dx: &mut [f32]) {
    let mut wt = vec![0.0; DX_COLUMN_BLOCK.min(k) * n];
    let mut k0 = 0;
    while k0 < k {
        let kc = DX_COLUMN_BLOCK.min(k - k0);
        crate::kernels::transpose::transpose(&w[k0 * n..(k0 + kc) * n], kc, n, &mut wt[..kc * n]);
        crate::kernels::matmul::matmul_strided(m, kc, n, dpre, n, &wt[..kc * n], &mut dx[k0..], k);
        k0 += kc;
    }
}

/// Columns of `dx` per block in [`input_grad_by_column_blocks`] (a 512 x 128 block of the
/// transposed kernel is 256 KiB).
const DX_COLUMN_BLOCK: usize = 512;

/// `out = act(x @ W + bias)` for `x (m, k)`, `W (k, n)`, `out (m, n)`.
///
/// On a two-thread pool a large product is cut in two, one half per worker, each with its
/// own bias and activation epilogue: one hand-off to the pool instead of a GEMM split over
/// both workers in several parallel regions and a serial epilogue after it. Wide outputs are
/// cut into halves of columns, so that each worker packs only its half of `W` (halves of
/// rows each packed all of `W` for half the rows: measured 20-24% slower for W1's 784x512
/// and 512x512 layers, BENCHMARKS.md "Intel Xeon, fourteenth session"); narrow ones into
/// halves of rows. Every element's sum is the one the whole product gives on one thread, so
/// the bits do not depend on the split.
///
/// Products of 64 to 128 rows with at most 1,024 inputs and units (W1's layers at batch
/// 128, each half of rows of its head), whole on one thread (`KERAS_NUM_THREADS=1`, or
/// inside a pool worker) or a half of columns per thread, run on the own GEMM's streamed
/// path ([`dense_forward_streamed`]: `x` read in place, `W`'s columns packed a panel at a time
/// while the next is prefetched), with a bias and relu applied to the finished sums in
/// registers (the bits of [`bias_act_epilogue`]'s pass) and the output written without a
/// zero fill first. Those sums run in blocks of at most 256 steps: within rounding of the
/// `gemm` crate's, which every other shape keeps (one and two threads give the same bits
/// either way). The halves of columns on the streamed path, against the crate's: W1 b128 at
/// two threads fwd1 333 -> 301 us, fwd2 234 -> 218 us, whole steps +2.5 to +4.8% (4 of 4
/// pairs; Intel Xeon model 207, BENCHMARKS.md "fwd19").
fn dense_forward(
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    act: Unary,
    mkn: (usize, usize, usize),
    out: &mut [f32],
) {
    dense_forward_with(x, w, bias, act, mkn, out.into(), Path::rule(mkn))
}

/// Which kernels [`dense_forward_with`] runs.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Path {
    /// Fused multiply-adds by the rules of [`dense_forward`].
    Fma,
    /// AMX where its driver does not decline ([`dense_forward_amx`]), else [`Path::Fma`].
    Amx,
    /// The halves of columns on the `gemm` crate whatever the rules say (the path the
    /// streamed halves replaced, for timing: `examples/w1_half_step.rs`).
    CrateColumns,
}

impl Path {
    /// The engine's choice for an `m x k` by `k x n` forward: AMX where [`amx_for`] says so.
    fn rule((m, k, n): (usize, usize, usize)) -> Path {
        if amx_for(m, n, k) {
            Path::Amx
        } else {
            Path::Fma
        }
    }
}

/// [`dense_forward`] into an [`Out`] (a fresh vector's storage is written without a zero fill
/// first where the streamed path or AMX computes all of it), on the kernels `path` says.
///
/// On AMX the split is the same (halves of columns or rows on two threads), each part one
/// AMX product on its thread followed by the bias and activation pass
/// ([`bias_act_epilogue`]; the AMX tiles leave their sums in memory, not registers).
fn dense_forward_with(
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    act: Unary,
    mkn: (usize, usize, usize),
    out: Out<'_>,
    path: Path,
) {
    dense_forward_packed(x, (w, None), bias, act, mkn, out, path)
}

/// [`dense_forward_with`] with `W`'s copy packed for AMX (the same values), where given:
/// the AMX products read it instead of packing `W` (the same bits).
#[allow(clippy::too_many_arguments)]
fn dense_forward_packed(
    x: &[f32],
    (w, w_packed): (&[f32], Option<&Packed>),
    bias: Option<&[f32]>,
    act: Unary,
    (m, k, n): (usize, usize, usize),
    out: Out<'_>,
    path: Path,
) {
    let amx = path == Path::Amx;
    let halves = crate::parallel::num_threads() == 2
        && !crate::parallel::in_worker()
        && m >= 2
        && m * k * n >= 2 * SIDE_BY_SIDE_MIN_FLOPS;
    // The streamed path applies a bias and relu to the sums in registers (the bits of
    // `bias_act_epilogue`); other activations get the epilogue pass.
    let fused = matches!(act, Unary::Linear | Unary::Relu);
    let post = (bias.filter(|_| fused), act == Unary::Relu);
    // `r` rows of `x` on the calling thread, all columns.
    let rows = |x: &[f32], out: Out<'_>, r: usize| {
        let streams = dense_forward_streams_whole(r, n, k);
        if amx || streams {
            // SAFETY: AMX writes every element of its `r x n` output or, declining, none;
            // the streamed path (where the rule holds) writes every element before reading
            // any (it panics only on its shape checks, before writing); otherwise the
            // output is zeroed first. `o` holds `r * n` floats.
            let mut on_amx = false;
            let out = unsafe {
                out.init_with(|o| {
                    let c: *mut f32 = o.as_mut_ptr().cast();
                    on_amx = amx
                        && dense_forward_amx((r, n, k), x, (w, w_packed), c, (0, n), threads_for(r, n, k));
                    if on_amx {
                        return;
                    }
                    if streams {
                        dense_forward_streamed((r, n, k), x, w, c, (0, n), post)
                    } else {
                        std::ptr::write_bytes(c, 0, r * n);
                        dense_forward_matmul(r, n, k, x, w, std::slice::from_raw_parts_mut(c, r * n));
                    }
                })
            };
            if on_amx || !(streams && fused) {
                bias_act_epilogue(out, n, bias, act);
            }
        } else {
            let out = out.zeroed();
            dense_forward_matmul(r, n, k, x, w, out);
            bias_act_epilogue(out, n, bias, act);
        }
    };
    if halves && n >= FORWARD_COLUMN_HALVES_MIN_N {
        let mid = (n / 2).div_ceil(32) * 32;
        let streamed = path != Path::CrateColumns && dense_forward_streams(m, n, k);
        let columns = |c: SharedOut, j0: usize, j1: usize| {
            // SAFETY: `c` holds `m * n` floats (initialised unless `streamed` or `amx`, whose
            // kernels write before they read; AMX writes all of its block or, declining,
            // none); the two calls below write the disjoint column ranges `0..mid` and
            // `mid..n`.
            unsafe {
                let on_amx = amx && dense_forward_amx((m, n, k), x, (w, w_packed), c.ptr(), (j0, j1), 1);
                if !on_amx && streamed {
                    dense_forward_streamed((m, n, k), x, w, c.ptr(), (j0, j1), post);
                } else if !on_amx {
                    if amx {
                        // Declined on an uninitialised block: the crate reads its edges.
                        for i in 0..m {
                            std::slice::from_raw_parts_mut(c.ptr().add(i * n + j0), j1 - j0).fill(0.0);
                        }
                    }
                    matmul_columns((m, n, k), x, w, c.ptr(), (j0, j1));
                }
                if on_amx || !(streamed && fused) {
                    for i in 0..m {
                        let row = std::slice::from_raw_parts_mut(c.ptr().add(i * n + j0), j1 - j0);
                        bias_act_epilogue(row, j1 - j0, bias.map(|b| &b[j0..j1]), act);
                    }
                }
            }
        };
        if streamed || amx {
            // SAFETY: the two halves write every element of their columns before reading
            // any, and together all the columns.
            unsafe {
                out.init_with(|o| {
                    let c = SharedOut(o.as_mut_ptr().cast());
                    rayon::join(|| columns(c, 0, mid), || columns(c, mid, n));
                })
            };
        } else {
            let c = SharedOut(out.zeroed().as_mut_ptr());
            rayon::join(|| columns(c, 0, mid), || columns(c, mid, n));
        }
    } else if halves {
        let top = m.div_ceil(2);
        let (x1, x2) = x.split_at(top * k);
        let (o1, o2) = out.split_at(top * n);
        rayon::join(|| rows(x1, o1, top), || rows(x2, o2, m - top));
    } else {
        rows(x, out, m);
    }
}

/// Fewest output columns for which [`dense_forward`] cuts the product into halves of
/// columns (each half at least two 32-column panels).
const FORWARD_COLUMN_HALVES_MIN_N: usize = 128;

/// An output buffer two threads write in disjoint column blocks.
#[derive(Clone, Copy)]
struct SharedOut(*mut f32);
// SAFETY: only used by `dense_forward`, whose two threads write disjoint columns.
unsafe impl Send for SharedOut {}
unsafe impl Sync for SharedOut {}

impl SharedOut {
    /// The pointer (a method, so that closures capture the whole `Sync` wrapper).
    fn ptr(self) -> *mut f32 {
        self.0
    }
}

/// Multiply-adds of each backward GEMM of a Dense layer from which the two run side by side.
const SIDE_BY_SIDE_MIN_FLOPS: usize = 1 << 18;

/// The fused Dense op: `act(x @ kernel + bias)` over the last axis of `x` (any rank >= 1).
///
/// `act` must have a derivative computable from the output ([`Unary::invertible_derivative`]:
/// linear, relu, sigmoid, tanh, elu, selu, exp); apply others as a separate op.
pub fn dense(x: &Tensor, kernel: &Tensor, bias: Option<&Tensor>, act: Unary) -> Result<Tensor> {
    if kernel.rank() != 2 {
        bail!("Dense kernel must be 2-D, got shape {:?}", kernel.shape());
    }
    let (k, n) = (kernel.shape()[0], kernel.shape()[1]);
    if x.rank() == 0 || x.shape()[x.rank() - 1] != k {
        bail!("Dense expects inputs with last dimension {k}, got input shape {:?}", x.shape());
    }
    if let Some(b) = bias {
        if b.shape() != [n] {
            bail!("Dense bias must have shape [{n}], got {:?}", b.shape());
        }
    }
    if !act.invertible_derivative() {
        bail!("activation {act:?} cannot be fused into dense; apply it separately");
    }
    #[cfg(feature = "cuda")]
    {
        let mut all = vec![x, kernel];
        all.extend(bias);
        if let Some(d) = crate::tensor::cuda_of("dense", &all)? {
            return crate::cuda::ops::dense(d, x, kernel, bias, act);
        }
    }
    let m = x.numel() / k.max(1);
    let bias_vals = match bias {
        Some(b) => Some(b.as_f32()?),
        None => None,
    };
    let (xs, ws) = (x.as_f32()?, kernel.as_f32()?);
    let path = Path::rule((m, k, n));
    // A kernel that is a trainable leaf (a layer's variable) keeps its AMX pieces between steps.
    let packed = if path == Path::Amx { kernel.amx_packed(Layout::Kernel) } else { None };
    let out =
        fresh_vec(m * n, |out| dense_forward_packed(xs, (ws, packed), bias_vals, act, (m, k, n), out, path));
    let mut out_shape = x.shape().to_vec();
    *out_shape.last_mut().expect("rank >= 1") = n;
    let out = Tensor::from_f32_unchecked(out, out_shape);
    let mut inputs = vec![x, kernel];
    if let Some(b) = bias {
        inputs.push(b);
    }
    record_owned(
        out,
        &inputs,
        Box::new(move |g, y, inputs| {
            let has_bias = inputs.len() == 3;
            // Relu with a bias: the mask (in place on the handed-over gradient) and the bias
            // gradient in one pass.
            let (dpre, db) = if act == Unary::Relu && has_bias {
                let mut d = g;
                let db = relu_grad_and_column_sums(d.f32_mut()?, y.as_f32()?, n)?;
                drop(y);
                (d, Some(db))
            } else {
                let d = pre_activation_grad(g, y, act)?;
                let db = has_bias.then(|| d.as_f32().map(|v| column_sums(v, n))).transpose()?;
                (d, db)
            };
            let dpre: &[f32] = dpre.as_f32()?;
            let (x, w) = (&inputs[0], &inputs[1]);
            let w_packed =
                if x.tracks_grad() && amx_for(m, k, n) { w.amx_packed(Layout::Transposed) } else { None };
            let (dx, dw) = dense_input_and_kernel_grads(
                dpre,
                x.as_f32()?,
                (w.as_f32()?, w_packed),
                (m, k, n),
                x.tracks_grad(),
                w.tracks_grad(),
            );
            let dx = dx.map(|dx| Tensor::from_f32_unchecked(dx, x.shape().to_vec()));
            let dw = dw.map(|dw| Tensor::from_f32_unchecked(dw, vec![k, n]));
            let mut grads = vec![dx, dw];
            if let Some(db) = db {
                grads.push(Some(Tensor::from_f32_unchecked(db, vec![n])));
            }
            Ok(grads)
        }),
    )
}

/// The Dense op's kernels on slices, exactly as [`dense`] and its backward run them, for
/// timing them part by part (`examples/w1_half_step.rs`); not a stable API.
#[doc(hidden)]
pub mod parts {
    use super::*;

    /// [`dense`]'s forward: `out = act(x @ w + bias)` (`x (m, k)`, `w (k, n)`, `out (m, n)`).
    pub fn forward(
        x: &[f32],
        w: &[f32],
        bias: Option<&[f32]>,
        act: Unary,
        mkn: (usize, usize, usize),
        out: &mut [f32],
    ) {
        dense_forward(x, w, bias, act, mkn, out)
    }

    /// [`forward`] as it ran before the two-thread halves of columns moved to the own GEMM's
    /// streamed path (each half on the `gemm` crate), for timing the two.
    pub fn forward_crate_columns(
        x: &[f32],
        w: &[f32],
        bias: Option<&[f32]>,
        act: Unary,
        mkn: (usize, usize, usize),
        out: &mut [f32],
    ) {
        dense_forward_with(x, w, bias, act, mkn, out.into(), Path::CrateColumns)
    }

    /// The bias and activation epilogue of [`forward`], in place on `out (rows, n)`.
    pub fn bias_act(out: &mut [f32], n: usize, bias: Option<&[f32]>, act: Unary) {
        bias_act_epilogue(out, n, bias, act)
    }

    /// A relu Dense layer's backward first pass: `dy = y > 0 ? dy : 0` in place, and the
    /// bias gradient (the column sums of the result).
    ///
    /// # Errors
    /// If the lengths disagree.
    pub fn relu_grad_and_bias_grad(dy: &mut [f32], y: &[f32], n: usize) -> Result<Vec<f32>> {
        relu_grad_and_column_sums(dy, y, n)
    }

    /// The column sums of `x (rows, n)` (a linear Dense layer's bias gradient).
    pub fn bias_grad(x: &[f32], n: usize) -> Vec<f32> {
        column_sums(x, n)
    }

    /// [`dense`]'s backward GEMMs: `(dx, dW)` from the pre-activation gradient, each only when
    /// wanted.
    pub fn input_and_kernel_grads(
        dpre: &[f32],
        x: &[f32],
        w: &[f32],
        mkn: (usize, usize, usize),
        want_dx: bool,
        want_dw: bool,
    ) -> (Option<Vec<f32>>, Option<Vec<f32>>) {
        dense_input_and_kernel_grads(dpre, x, (w, None), mkn, want_dx, want_dw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::check_grad;

    fn t(n: usize, shape: &[usize], seed: f32) -> Tensor {
        Tensor::new((0..n).map(|i| ((i as f32 + seed) * 0.731).sin()).collect(), shape.to_vec()).unwrap()
    }

    #[test]
    fn matmul_grads() {
        let a = t(6, &[2, 3], 0.0);
        let b = t(12, &[3, 4], 1.0);
        check_grad(&[&a, &b], |x| matmul(x[0], x[1]), 1e-2);
        assert!(matmul(&b, &a).is_err());
    }

    #[test]
    fn the_fused_relu_and_bias_gradient_gives_the_bits_of_the_two_passes() {
        for (rows, n) in [(1, 1), (3, 7), (128, 33), (5, 512)] {
            let dy = t(rows * n, &[rows, n], 0.25);
            let y = t(rows * n, &[rows, n], 1.5);
            let mut dpre = dy.to_f32_vec();
            let db = relu_grad_and_column_sums(&mut dpre, y.as_f32().unwrap(), n).unwrap();
            let two_pass = pre_activation_grad(dy.clone(), y.clone(), Unary::Relu).unwrap();
            let two_pass = two_pass.as_f32().unwrap();
            let bits = |x: &[f32]| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&dpre), bits(two_pass));
            assert_eq!(bits(&db), bits(&column_sums(two_pass, n)));
            let mut scalar = vec![0.0f32; n];
            for row in two_pass.chunks(n) {
                scalar.iter_mut().zip(row).for_each(|(a, b)| *a += b);
            }
            assert_eq!(bits(&db), bits(&scalar));
        }
    }

    #[test]
    fn side_by_side_backward_gemms_give_the_bits_of_the_sequential_ones() {
        let (m, k, n) = (128, 96, 80);
        let dpre: Vec<f32> = (0..m * n).map(|i| (i as f32 * 0.37).sin()).collect();
        let x: Vec<f32> = (0..m * k).map(|i| (i as f32 * 0.11).cos()).collect();
        let w: Vec<f32> = (0..k * n).map(|i| (i as f32 * 0.23).sin()).collect();
        let (dx, dw) = dense_input_and_kernel_grads(&dpre, &x, (&w, None), (m, k, n), true, true);
        let (dx1, _) = dense_input_and_kernel_grads(&dpre, &x, (&w, None), (m, k, n), true, false);
        let (_, dw1) = dense_input_and_kernel_grads(&dpre, &x, (&w, None), (m, k, n), false, true);
        let bits = |x: &[f32]| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&dx.unwrap()), bits(&dx1.unwrap()));
        assert_eq!(bits(&dw.unwrap()), bits(&dw1.unwrap()));
        let (none_x, none_w) = dense_input_and_kernel_grads(&dpre, &x, (&w, None), (m, k, n), false, false);
        assert!(none_x.is_none() && none_w.is_none());
    }

    #[test]
    fn the_relu_sign_mask_gives_the_bits_of_the_output_mask() {
        let big = crate::parallel::ELEMENTWISE_PARALLEL_MIN + 77;
        for n in [1, 63, 64, 100, big] {
            let y: Vec<f32> = (0..n)
                .map(|i| match i % 7 {
                    0 => 0.0,
                    1 => -0.0,
                    2 => f32::NAN,
                    3 => f32::MIN_POSITIVE,
                    _ => (i as f32 * 0.37).sin(),
                })
                .collect();
            let dy: Vec<f32> = (0..n).map(|i| (i as f32 * 0.11).cos()).collect();
            let dy = Tensor::new(dy, [n]).unwrap();
            let want =
                pre_activation_grad(dy.detach(), Tensor::new(y.clone(), [n]).unwrap(), Unary::Relu).unwrap();
            let got = relu_grad_from_mask(dy, &relu_sign_mask(&y)).unwrap();
            let bits = |t: &Tensor| t.as_f32().unwrap().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&got), bits(&want), "n = {n}");
        }
    }

    #[test]
    fn blocked_input_gradient_gives_the_bits_of_one_gemm() {
        // Several blocks and a partial last one; and a kernel narrower than one block.
        for (m, k, n) in [(128, 2 * DX_COLUMN_BLOCK + 77, 128), (33, 100, 10)] {
            let dpre: Vec<f32> = (0..m * n).map(|i| (i as f32 * 0.37).sin()).collect();
            let w: Vec<f32> = (0..k * n).map(|i| (i as f32 * 0.23).sin()).collect();
            let mut blocked = vec![f32::NAN; m * k];
            input_grad_by_column_blocks(&dpre, &w, (m, k, n), &mut blocked);
            let mut one = vec![0.0; m * k];
            gemm(m, k, n, &dpre, Trans::No, &w, Trans::Yes, &mut one, false);
            let bits = |x: &[f32]| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&blocked), bits(&one), "{m}x{k}x{n}");
        }
    }

    #[test]
    fn the_forward_in_two_halves_gives_the_bits_of_one_thread() {
        // Halves of columns (W1's layers at a whole and half batch, an odd width on the
        // crate, 64-128 rows with an odd width on the streamed path), halves of rows (narrow
        // outputs).
        for (m, k, n, act) in [
            (128, 784, 512, Unary::Relu),
            (128, 512, 512, Unary::Sigmoid),
            (64, 784, 512, Unary::Relu),
            (37, 300, 201, Unary::Tanh),
            (100, 300, 201, Unary::Relu),
            (128, 512, 10, Unary::Relu),
            (128, 512, 512, Unary::Linear),
            (37, 300, 70, Unary::Relu),
            (64, 100, 40, Unary::Relu),
            (64, 100, 40, Unary::Tanh),
        ] {
            let x: Vec<f32> = (0..m * k).map(|i| (i as f32 * 0.37).sin()).collect();
            let w: Vec<f32> = (0..k * n).map(|i| (i as f32 * 0.11).cos() * 0.1).collect();
            let b: Vec<f32> = (0..n).map(|i| (i as f32 * 0.5).sin()).collect();
            let mut halves = vec![f32::NAN; m * n];
            dense_forward(&x, &w, Some(&b), act, (m, k, n), &mut halves);
            // The product whole: on the crate where the halves are column halves on the
            // crate, otherwise as one thread computes it (column halves on the streamed
            // path and halves of rows run the one-thread rule on their part, which sums each
            // element as it does whole).
            let column_halves = crate::parallel::num_threads() == 2
                && m * k * n >= 2 * SIDE_BY_SIDE_MIN_FLOPS
                && n >= FORWARD_COLUMN_HALVES_MIN_N;
            let streams = crate::kernels::matmul::dense_forward_streams(m, n, k);
            let mut one = vec![0.0; m * n];
            if column_halves && !streams {
                gemm(m, n, k, &x, Trans::No, &w, Trans::No, &mut one, false);
            } else {
                let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().expect("pool");
                pool.install(|| dense_forward_matmul(m, n, k, &x, &w, &mut one));
            }
            let one_product = one.clone();
            bias_act_epilogue(&mut one, n, Some(&b), act);
            let bits = |x: &[f32]| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&halves), bits(&one), "{m}x{k}x{n}");
            // Into a fresh vector (no zero fill where the streamed path writes it all), and
            // without a bias.
            let fresh =
                fresh_vec(m * n, |out| dense_forward_with(&x, &w, Some(&b), act, (m, k, n), out, Path::Fma));
            assert_eq!(bits(&fresh), bits(&one), "{m}x{k}x{n} fresh");
            let no_bias =
                fresh_vec(m * n, |out| dense_forward_with(&x, &w, None, act, (m, k, n), out, Path::Fma));
            let mut one_no_bias = one_product.clone();
            bias_act_epilogue(&mut one_no_bias, n, None, act);
            assert_eq!(bits(&no_bias), bits(&one_no_bias), "{m}x{k}x{n} without a bias");
            // Within rounding of the crate's product, and its bits where the halves of
            // columns run on the crate (the path the streamed one replaced).
            let mut on_crate = vec![0.0; m * n];
            crate::kernels::matmul::matmul_gemm_crate(
                m,
                n,
                k,
                &x,
                Trans::No,
                &w,
                Trans::No,
                &mut on_crate,
                false,
            );
            bias_act_epilogue(&mut on_crate, n, Some(&b), act);
            for (h, c) in halves.iter().zip(&on_crate) {
                assert!((h - c).abs() <= 1e-6 * k as f32, "{m}x{k}x{n}: {h} {c}");
            }
            if column_halves {
                let mut crate_halves = vec![f32::NAN; m * n];
                dense_forward_with(
                    &x,
                    &w,
                    Some(&b),
                    act,
                    (m, k, n),
                    (&mut crate_halves[..]).into(),
                    Path::CrateColumns,
                );
                assert_eq!(bits(&crate_halves), bits(&on_crate), "{m}x{k}x{n} on the crate");
            }
        }
    }

    /// Max |got - want| over the elements.
    fn max_err(got: &[f32], want: &[f64]) -> f64 {
        got.iter().zip(want).map(|(&g, &w)| (g as f64 - w).abs()).fold(0.0, f64::max)
    }

    /// `op(a) @ op(b)` in f64 (`a` `m x k` or, transposed, `k x m`; likewise `b`).
    fn product_f64(
        m: usize,
        n: usize,
        k: usize,
        (a, ta): (&[f32], bool),
        (b, tb): (&[f32], bool),
    ) -> Vec<f64> {
        crate::kernels::sgemm::tests::naive(m, n, k, a, ta, b, tb)
    }

    #[test]
    fn the_dense_ops_on_amx_are_as_accurate_as_on_fma_and_do_not_depend_on_the_threads() {
        // W1's forward and backward shapes (batch 128 and a half batch), ragged ones, one
        // AMX declines (too small for its rule is not asked here: the choice is forced).
        let pool1 = rayon::ThreadPoolBuilder::new().num_threads(1).build().expect("pool");
        let pool2 = rayon::ThreadPoolBuilder::new().num_threads(2).build().expect("pool");
        for (m, k, n) in [(128, 784, 512), (64, 512, 512), (100, 300, 201), (37, 70, 130)] {
            let x: Vec<f32> = (0..m * k).map(|i| (i as f32 * 0.37).sin()).collect();
            let w: Vec<f32> = (0..k * n).map(|i| (i as f32 * 0.11).cos() * 0.1).collect();
            let b: Vec<f32> = (0..n).map(|i| (i as f32 * 0.5).sin()).collect();
            let dy: Vec<f32> = (0..m * n).map(|i| (i as f32 * 0.23).cos()).collect();
            let forward = |path: Path| {
                fresh_vec(m * n, |out| {
                    dense_forward_with(&x, &w, Some(&b), Unary::Linear, (m, k, n), out, path)
                })
            };
            let mut want = product_f64(m, n, k, (&x, false), (&w, false));
            for (i, v) in want.iter_mut().enumerate() {
                *v += b[i % n] as f64;
            }
            let bits = |x: &[f32]| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            let (amx1, amx2) = (pool1.install(|| forward(Path::Amx)), pool2.install(|| forward(Path::Amx)));
            assert_eq!(bits(&amx1), bits(&amx2), "{m}x{k}x{n}: forward on one and two threads");
            let fma = pool2.install(|| forward(Path::Fma));
            // Where this CPU runs AMX the results are its own (not a silent fallback).
            let ran_amx = crate::kernels::amx::available();
            assert_eq!(bits(&amx2) != bits(&fma), ran_amx, "{m}x{k}x{n}: AMX ran where available");
            let (e_amx, e_fma) = (max_err(&amx2, &want), max_err(&fma, &want));
            assert!(e_amx <= 1.5 * e_fma + 1e-7, "{m}x{k}x{n} forward: AMX {e_amx:e}, FMA {e_fma:e}");

            let grads = |amx: bool| {
                let (dx, dw) = dense_input_and_kernel_grads_with(
                    &dy,
                    &x,
                    (&w, None),
                    (m, k, n),
                    (true, true),
                    (amx, amx),
                );
                (dx.unwrap(), dw.unwrap())
            };
            let ((dx1, dw1), (dx2, dw2)) = (pool1.install(|| grads(true)), pool2.install(|| grads(true)));
            assert_eq!(bits(&dx1), bits(&dx2), "{m}x{k}x{n}: dx on one and two threads");
            assert_eq!(bits(&dw1), bits(&dw2), "{m}x{k}x{n}: dW on one and two threads");
            let (fdx, fdw) = pool2.install(|| grads(false));
            assert_eq!(bits(&dx2) != bits(&fdx), ran_amx, "{m}x{k}x{n}: dx on AMX where available");
            assert_eq!(bits(&dw2) != bits(&fdw), ran_amx, "{m}x{k}x{n}: dW on AMX where available");
            let want_dx = product_f64(m, k, n, (&dy, false), (&w, true));
            let want_dw = product_f64(k, n, m, (&x, true), (&dy, false));
            let (e_amx, e_fma) = (max_err(&dx2, &want_dx), max_err(&fdx, &want_dx));
            assert!(e_amx <= 1.5 * e_fma + 1e-7, "{m}x{k}x{n} dx: AMX {e_amx:e}, FMA {e_fma:e}");
            let (e_amx, e_fma) = (max_err(&dw2, &want_dw), max_err(&fdw, &want_dw));
            assert!(e_amx <= 1.5 * e_fma + 1e-7, "{m}x{k}x{n} dW: AMX {e_amx:e}, FMA {e_fma:e}");
        }
    }

    #[test]
    fn the_fused_bias_relu_gives_the_bits_of_the_two_passes() {
        let n = 37;
        let out: Vec<f32> = (0..5 * n)
            .map(|i| match i % 9 {
                0 => f32::NAN,
                1 => -0.0,
                2 => 0.0,
                3 => f32::INFINITY,
                4 => -1e-40,
                _ => (i as f32 * 0.37).sin(),
            })
            .collect();
        let b: Vec<f32> = (0..n).map(|i| if i % 5 == 0 { -0.0 } else { (i as f32 * 0.7).cos() }).collect();
        let mut fused = out.clone();
        bias_act_epilogue(&mut fused, n, Some(&b), Unary::Relu);
        let mut two = out;
        for row in two.chunks_mut(n) {
            row.iter_mut().zip(&b).for_each(|(v, &bb)| *v += bb);
            Unary::Relu.apply_slice(row);
        }
        let bits = |x: &[f32]| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&fused), bits(&two));
    }

    #[test]
    fn dense_fused_grads_every_activation() {
        let x = t(12, &[2, 2, 3], 0.5);
        let w = t(12, &[3, 4], 2.0);
        let b = t(4, &[4], 3.0);
        for act in [Unary::Linear, Unary::Relu, Unary::Sigmoid, Unary::Tanh, Unary::Elu(1.0), Unary::Selu] {
            check_grad(&[&x, &w, &b], |v| dense(v[0], v[1], Some(v[2]), act), 2e-2);
        }
        check_grad(&[&x, &w], |v| dense(v[0], v[1], None, Unary::Relu), 2e-2);
        assert!(dense(&w, &w, None, Unary::Linear).is_err());
        assert!(dense(&x, &w, None, Unary::Silu).is_err());
    }
}
