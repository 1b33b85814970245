//! Row-major f32 matrix multiplication on the `gemm` crate and the engine's own GEMM.
//!
//! Every GEMM in the engine goes through [`matmul`], so the choice of kernel and threading
//! lives in one place. On CPUs with AVX-512F, products with a transposed right operand (and
//! no more rows than columns) run on the engine's own GEMM (`kernels::sgemm`, which transposes while packing), as do the Winograd
//! kernel gradient's products and the Winograd products with at most 32 columns
//! ([`matmul_strided`], [`matmul_tn_strided_acc`]); everything else runs on the `gemm` crate, which takes arbitrary strides (`A^T` is `A` read with swapped
//! strides). `KERAS_SGEMM=0` (read once) keeps every product on the crate, `KERAS_SGEMM=all`
//! runs every product on the own GEMM (to measure it against the crate).
//!
//! Before either, on CPUs with AMX ([`amx_enabled`]), products of the shapes in `amx_for`
//! run on the AMX unit (`kernels::amx`: split-bf16, as accurate as the FMA kernels, not their
//! bits); where its driver declines (NaN, infinities, ranges no power-of-two scaling fits) the
//! rules above apply.

use super::amx::prepacked::{Layout, Packed};
use gemm::{gemm, Parallelism};

/// Which operand layout a matrix is stored in (both are row-major buffers).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trans {
    /// Use the matrix as stored: `rows x cols`.
    No,
    /// Use the transpose of the stored matrix.
    Yes,
}

/// Minimum multiply-adds before a GEMM is split over threads. Small GEMMs lose more to
/// thread wake-ups than they gain (see DESIGN.md "Performance habits").
const PARALLEL_MIN_FLOPS: usize = 1 << 18;

/// Size (`k * n`) from which a transposed right operand is transposed explicitly first.
pub(crate) const TRANSPOSE_B_MIN: usize = 1 << 12;

/// Parallelism for a GEMM of `m x k x n` multiply-adds.
pub(crate) fn parallelism_for(m: usize, n: usize, k: usize) -> Parallelism {
    let threads = crate::parallel::num_threads();
    if threads <= 1 || m * n * k < PARALLEL_MIN_FLOPS || crate::parallel::in_worker() {
        Parallelism::None
    } else {
        Parallelism::Rayon(threads)
    }
}

/// Threads for the own GEMM and AMX: those of [`parallelism_for`].
pub(crate) fn threads_for(m: usize, n: usize, k: usize) -> usize {
    match parallelism_for(m, n, k) {
        Parallelism::Rayon(t) => t,
        _ => 1,
    }
}

/// The strided view of a row-major `rows x cols` operand used as stored or transposed.
fn view(x: &[f32], t: Trans, rows: usize, cols: usize) -> super::sgemm::View {
    match t {
        Trans::No => super::sgemm::View { ptr: x.as_ptr(), rs: cols, cs: 1 },
        Trans::Yes => super::sgemm::View { ptr: x.as_ptr(), rs: 1, cs: rows },
    }
}

#[cfg(test)]
thread_local! {
    /// Test-only override of [`use_sgemm`]'s choice on this thread (`None`: the rule).
    static FORCE_SGEMM: std::cell::Cell<Option<bool>> = const { std::cell::Cell::new(None) };
}

/// Whether [`matmul`] runs the engine's own GEMM ([`super::sgemm`]) for this shape.
fn use_sgemm(m: usize, n: usize, tb: Trans) -> bool {
    use super::sgemm::{mode, Mode};
    if mode() == Mode::Off {
        return false;
    }
    #[cfg(test)]
    if let Some(force) = FORCE_SGEMM.get() {
        return force;
    }
    if mode() == Mode::All {
        return true;
    }
    // Only a transposed right operand (`dY @ W^T`, the input gradient of a dense layer or a
    // recurrent layer's inputs) with no more rows than columns: the own GEMM transposes `B^T`
    // while packing, where the `gemm` crate reads it with a stride or after a transpose copy.
    // Measured on an Intel Xeon (Emerald Rapids, 2 cores, loaded machine; gemm_shapes with
    // KERAS_SGEMM=all, both paths interleaved), microseconds own / crate at 2 threads and 1:
    // 128x512x512 464/769, 987/1246; 32x128x512 31/74, 59/126; 32x12544x128 970/2281,
    // 1997/2265; but 2560x128x512 2036/1911, 4129/3808 (more rows than columns: each thread
    // reads its own rows of `A` in place, where the crate packs them). On the other layouts
    // the two are within noise or the crate is faster (up to 18% at 25088x64x288), so they
    // keep the crate. BENCHMARKS.md "Own AVX-512 GEMM (tenth session)".
    tb == Trans::Yes && m <= n
}

/// Whether a Winograd GEMM ([`matmul_strided`] with `n` columns, or the kernel gradient's
/// [`matmul_tn_strided_acc`] when `n` is `None`) runs on the engine's own GEMM (where it is
/// enabled: AVX-512F, `KERAS_SGEMM` not `0`). These are small single-threaded products, 36
/// per block of tiles. Measured on an Intel Xeon (Emerald Rapids; `gemm_shapes 301 wino`,
/// one thread, both paths interleaved, microseconds per block own / crate): the kernel
/// gradient 155-170 / 163-180 (W2 conv2, 70 tiles, 32 x 64) and 916 / 979 (ResNet50 stage
/// 3, 128 x 128); `matmul_strided` with 32 columns 128-132 / 155-169 (W2 conv2's input
/// gradient: the crate's 64-row micro-tile runs half empty), but with 64 and 128 columns
/// the crate is 3-10% faster (W2 conv2 forward 135-160 / 132-153), so those keep the crate.
/// Both kernels sum each element over `k` in
/// order from zero and then add the old value, so for `k` within one packed block (256
/// steps packed, 512 read in place; every Winograd GEMM of W2 and ResNet50) the results
/// are the crate's bits (tested below); past that (a kernel gradient's block of more than
/// 256 tiles, only for images over 1,000 pixels wide) the own GEMM adds the partial sums
/// of its `k` blocks, within rounding of the crate's. BENCHMARKS.md "Intel Xeon against Zen 4 (eleventh
/// session)".
fn use_sgemm_strided(n: Option<usize>) -> bool {
    use super::sgemm::{mode, Mode};
    if mode() == Mode::Off {
        return false;
    }
    #[cfg(test)]
    if let Some(force) = FORCE_SGEMM.get() {
        return force;
    }
    mode() == Mode::All || n.is_none_or(|n| n <= STRIDED_SGEMM_MAX_N)
}

/// Most columns of a [`matmul_strided`] product on the own GEMM (one 32-column panel).
const STRIDED_SGEMM_MAX_N: usize = 32;

/// Whether f32 products may run on the AMX unit ([`super::amx`]), where the CPU has one: on
/// by default, off with `KERAS_AMX=0` (read once, in [`super::amx::available`]) or
/// [`set_amx_enabled`]. Off by default in the engine's own unit tests, which test the FMA
/// paths' bits; the AMX paths are tested by passing the choice explicitly, and through the
/// public API by the `keras` crate's tests, which run with the default.
static AMX_SWITCH: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(!cfg!(test));

/// Turns the AMX path of f32 products on or off for the whole process (from the next
/// product on). With it off, every product runs on AVX-512 / AVX2 fused multiply-adds.
/// The AMX path's results are as accurate as those (see [`amx_enabled`]) but not the same
/// bits, so this is the switch for bit-for-bit reproducibility between CPUs with and
/// without AMX.
///
/// ```
/// keras_engine::kernels::matmul::set_amx_enabled(false);
/// assert!(!keras_engine::kernels::matmul::amx_enabled());
/// keras_engine::kernels::matmul::set_amx_enabled(true);
/// ```
pub fn set_amx_enabled(on: bool) {
    AMX_SWITCH.store(on, std::sync::atomic::Ordering::Relaxed)
}

/// Whether f32 products of the shapes that gain run on the AMX unit: this CPU has AMX-BF16
/// and AVX512-BF16, the operating system grants the tile state, `KERAS_AMX` is not `0` and
/// [`set_amx_enabled`] did not turn it off.
///
/// Numerics: each f32 operand is split exactly into three bfloat16 pieces
/// (`x = hi + mid + lo`); the products of the pieces are exact in f32 and the AMX unit
/// accumulates them in f32, dropping only the terms below about 2^-24 of each product (the
/// "bf16x6" scheme; `Precision.HIGHEST` on TPUs in JAX). The error against an exact sum was
/// measured at most 1.27x the fused multiply-add GEMM's at 16-30 terms and below it from 31
/// on (BENCHMARKS.md "amx20"); NaN and infinities make the product run on fused
/// multiply-adds instead, and magnitudes the pieces cannot hold (tiny, subnormal, near
/// `f32::MAX`) are scaled by powers of two first.
pub fn amx_enabled() -> bool {
    AMX_SWITCH.load(std::sync::atomic::Ordering::Relaxed) && super::amx::available()
}

/// Fewest multiply-adds of a product that runs on AMX; smaller ones stay on fused
/// multiply-adds, where the split and packing of the operands would cost more than the
/// tiles save.
const AMX_MIN_MACS: usize = 1 << 18;

/// Fewest terms of a product on AMX (a tile takes 32; the driver declines fewer than 16).
const AMX_MIN_K: usize = 16;

/// Least `m * n / (m + n)` of a product on AMX (rows `m`, columns `n`). Each element of
/// `op(a)` is split and packed for `n` multiply-adds and each of `op(b)` for `m`: packing
/// costs `1/m + 1/n` per multiply-add, so products with few rows or columns spend more on it
/// than the tiles save. Measured (Intel Xeon model 207, whole steps): W1's products
/// (128 x 512 outputs and larger: 1/m + 1/n <= 1/102) gain; W2's 12544 x 128 Dense at batch
/// 128 (1/64) and W4's at batch 256 (1/85), and its 64-channel convolutions, lost 6-15%
/// (BENCHMARKS.md "amx20").
const AMX_MIN_HARMONIC: usize = 96;
/// Whether an `m x k` by `k x n` f32 product runs on AMX under the process's switch.
pub(crate) fn amx_for(m: usize, n: usize, k: usize) -> bool {
    amx_shape(m, n, k) && amx_enabled()
}

/// Most elements of `op(a)` and `op(b)` together of a product on AMX: their packed pieces
/// (6 bytes an element, 6 MiB here) live in a per-thread buffer kept between calls, which a
/// larger product would grow for good (W2's 12544 x 128 Dense gradients at batch 128: +20 MB
/// peak RSS for no measured gain).
const AMX_MAX_PACKED: usize = 1 << 20;

/// Whether an `m x k` by `k x n` product has a shape AMX gains on ([`AMX_MIN_MACS`],
/// [`AMX_MIN_K`], [`AMX_MIN_HARMONIC`], [`AMX_MAX_PACKED`]).
fn amx_shape(m: usize, n: usize, k: usize) -> bool {
    k >= AMX_MIN_K
        && m * n * k >= AMX_MIN_MACS
        && AMX_MIN_HARMONIC * (m + n) <= m * n
        && k * (m + n) <= AMX_MAX_PACKED
}

/// Whether products `m_g x k` by the one `k x n` operand they share have shapes AMX gains on
/// in one call that packs that operand once ([`super::amx::sgemm_amx_shared_b`]; an LSTM's
/// two weight gradients): each product's as [`amx_for`] asks, but for [`AMX_MAX_PACKED`]
/// (the caller checks [`amx_enabled`]). That call's buffer is
/// bounded by the driver's own limit (32 MiB): W3's two 128 x 2560 x 512 products pack
/// 2560 x 640 elements each, 15.7 MB with two threads' copies of `op(a_g)`, kept by the
/// calling thread (W3's peak RSS 72 -> 87 MB), for 18-22% less time than the own FMA GEMM's
/// shared call on them (BENCHMARKS.md "s23").
pub(crate) fn amx_shared_shape(ms: &[usize], n: usize, k: usize) -> bool {
    !ms.is_empty()
        && ms
            .iter()
            .all(|&m| k >= AMX_MIN_K && m * n * k >= AMX_MIN_MACS && AMX_MIN_HARMONIC * (m + n) <= m * n)
}

/// `c = op(a) @ op(b)` (or `c += ...`) on AMX with [`matmul`]'s threads; `false`, with `c`
/// untouched, where the AMX driver declines (no AMX, or inputs it cannot split exactly).
///
/// # Safety
/// `a` and `b` hold their shapes, `c` holds `m * n` writable floats not overlapping them.
unsafe fn amx_dense(
    m: usize,
    n: usize,
    k: usize,
    (a, ta): (&[f32], Trans),
    (b, tb): (&[f32], Trans),
    c: *mut f32,
    accumulate: bool,
) -> bool {
    amx_dense_packed(m, n, k, (a, ta), (b, tb, None), c, accumulate)
}

/// [`amx_dense`] with `op(b)` also packed already (`pre`, the same values: a kernel's
/// [`Packed`] copy), which it uses where the driver takes it (the same bits).
///
/// # Safety
/// As [`amx_dense`]; `pre` holds `op(b)`'s values.
unsafe fn amx_dense_packed(
    m: usize,
    n: usize,
    k: usize,
    (a, ta): (&[f32], Trans),
    (b, tb, pre): (&[f32], Trans, Option<&Packed>),
    c: *mut f32,
    accumulate: bool,
) -> bool {
    let threads = threads_for(m, n, k);
    let av = view(a, ta, m, k);
    if let Some(p) = pre {
        if super::amx::sgemm_amx_prepacked(m, n, k, av, (p, 0), c, n, accumulate, threads) {
            return true;
        }
    }
    super::amx::sgemm_amx(m, n, k, av, view(b, tb, k, n), c, n, accumulate, threads)
}

/// `c = op(a) @ op(b)` (or `c += ...` when `accumulate`), all row-major.
///
/// `op(a)` is `m x k`, `op(b)` is `k x n`, `c` is `m x n`. When `ta == Trans::Yes` the buffer
/// `a` holds a `k x m` matrix; likewise for `b`.
///
/// # Panics
/// If a buffer is shorter than its shape says (an engine bug, never user input).
#[allow(clippy::too_many_arguments)]
pub fn matmul(
    m: usize,
    n: usize,
    k: usize,
    a: &[f32],
    ta: Trans,
    b: &[f32],
    tb: Trans,
    c: &mut [f32],
    accumulate: bool,
) {
    assert!(a.len() >= m * k && b.len() >= k * n && c.len() >= m * n, "matmul buffer too short");
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            c[..m * n].fill(0.0);
        }
        return;
    }
    // SAFETY: the assert above guarantees both operands and `c` hold their shapes.
    if amx_for(m, n, k) && unsafe { amx_dense(m, n, k, (a, ta), (b, tb), c.as_mut_ptr(), accumulate) } {
        return;
    }
    matmul_fma(m, n, k, (a, ta), (b, tb), c, accumulate)
}

/// [`matmul`] on fused multiply-adds (never AMX), for `m, n, k > 0` and operands that hold
/// their shapes.
fn matmul_fma(
    m: usize,
    n: usize,
    k: usize,
    (a, ta): (&[f32], Trans),
    (b, tb): (&[f32], Trans),
    c: &mut [f32],
    accumulate: bool,
) {
    if use_sgemm(m, n, tb) {
        // SAFETY: the caller's operands and `c` hold their shapes; use_sgemm checked the CPU.
        unsafe { own_dense(m, n, k, (a, ta), (b, tb), c.as_mut_ptr(), accumulate) };
        return;
    }
    matmul_gemm_crate(m, n, k, a, ta, b, tb, c, accumulate)
}

/// `op(a) @ op(b)` (`m x n`, layouts as in [`matmul`]) written into a fresh output piece.
///
/// Where the own GEMM computes the `gemm` crate's bits (see [`own_gives_crate_bits`]) it
/// writes every element of the piece directly, so the piece is never zero-filled first (the
/// crate reads edge tiles of its destination, which must therefore hold zeros); otherwise the
/// piece is zeroed and [`matmul`] runs. Threads as [`matmul`]: one inside a pool worker.
///
/// # Panics
/// If a buffer is shorter than its shape says or `out` does not hold `m * n` floats (an
/// engine bug, never user input).
pub(crate) fn matmul_into(
    (m, n, k): (usize, usize, usize),
    (a, ta): (&[f32], Trans),
    (b, tb): (&[f32], Trans),
    out: super::fresh::Out<'_>,
) {
    matmul_into_with((m, n, k), (a, ta), (b, tb), out, amx_for(m, n, k))
}

/// [`matmul_into`] on AMX when `amx` (where the driver does not decline), otherwise on fused
/// multiply-adds: the choice made by the caller (a pool worker's product decided on the
/// thread that handed it out; tests).
pub(crate) fn matmul_into_with(
    mnk: (usize, usize, usize),
    a: (&[f32], Trans),
    b: (&[f32], Trans),
    out: super::fresh::Out<'_>,
    amx: bool,
) {
    matmul_into_packed(mnk, a, (b.0, b.1, None), out, amx)
}

/// [`matmul_into_with`] with `op(b)` also packed for AMX already (`pre`: a kernel's
/// [`Packed`] copy of the same values), used on AMX where the driver takes it.
pub(crate) fn matmul_into_packed(
    (m, n, k): (usize, usize, usize),
    (a, ta): (&[f32], Trans),
    (b, tb, pre): (&[f32], Trans, Option<&Packed>),
    out: super::fresh::Out<'_>,
    amx: bool,
) {
    assert!(a.len() >= m * k && b.len() >= k * n && out.len() == m * n, "matmul_into buffer size");
    if amx && m > 0 && n > 0 && k > 0 {
        // SAFETY: the AMX driver writes every element of the `m x n` output or, where it
        // declines, none, and then the fallback writes every one (after a zero fill for the
        // `gemm` crate, which reads edge tiles of its destination); the assert above
        // guarantees the operands hold their shapes.
        unsafe {
            out.init_with(|c| {
                let c = c.as_mut_ptr().cast::<f32>();
                if !amx_dense_packed(m, n, k, (a, ta), (b, tb, pre), c, false) {
                    std::ptr::write_bytes(c, 0, m * n);
                    matmul_fma(m, n, k, (a, ta), (b, tb), std::slice::from_raw_parts_mut(c, m * n), false);
                }
            })
        };
        return;
    }
    if !own_gives_crate_bits(k, ta) || m == 0 || n == 0 {
        let out = out.zeroed();
        if k > 0 && m > 0 && n > 0 {
            matmul_fma(m, n, k, (a, ta), (b, tb), out, false);
        }
        return;
    }
    // SAFETY: with `accumulate` false the own GEMM stores every element of the `m x n`
    // output (a zero for `k == 0`) before reading any; the assert above guarantees the
    // operands hold their shapes, own_gives_crate_bits checked the CPU.
    unsafe { out.init_with(|c| own_dense(m, n, k, (a, ta), (b, tb), c.as_mut_ptr().cast::<f32>(), false)) };
}

/// `c = op(a) @ op(b)` (`m x n`, layouts as in [`matmul`], never accumulating: the bits of
/// [`matmul`]), handing every band of finished rows to `then(i0, band)` (`band` holds rows
/// `i0..i0 + band.len() / n` of `c`) on the thread that computed it, while those rows are
/// still in its cache: a fused epilogue, such as an optimizer update of a kernel gradient
/// done with the GEMM instead of in a pass over every variable afterwards.
///
/// Bands are disjoint and cover every row once, in no set order. On the own GEMM
/// (`sgemm::sgemm_then`) they are row tiles of 12 rows for the W1-like products
/// (`x^T dY` with `n * k` up to 2^18 floats); on the `gemm` crate (no AVX-512F,
/// `KERAS_SGEMM=0`, sums over more than one block) and on AMX (large products where
/// [`amx_enabled`]) the product is computed whole, then the rows are cut into one band per
/// engine thread. `then` must not call a GEMM itself.
///
/// `tile(i0, rows, j0, cols)`, when given, is called on the own GEMM right before each tile
/// of the output (its rows `i0..i0 + rows`, columns `j0..j0 + cols`) gets its final values,
/// on the thread that computes it, where the row tiles are the bands (not on the crate):
/// the place to ask for what `then` will read for those elements (prefetches spread over the
/// GEMM instead of a burst per band). It must not touch `c`.
///
/// # Panics
/// If a buffer is shorter than its shape says (an engine bug, never user input).
pub fn matmul_then(
    (m, n, k): (usize, usize, usize),
    (a, ta): (&[f32], Trans),
    (b, tb): (&[f32], Trans),
    c: &mut [f32],
    then: &(dyn Fn(usize, &mut [f32]) + Sync),
    tile: Option<&(dyn Fn(usize, usize, usize, usize) + Sync)>,
) {
    use rayon::prelude::*;
    assert!(a.len() >= m * k && b.len() >= k * n && c.len() >= m * n, "matmul_then buffer too short");
    if m == 0 || n == 0 {
        return;
    }
    let c = &mut c[..m * n];
    let threads = threads_for(m, n, k);
    // The own GEMM where `matmul` takes it, or where it gives the crate's bits anyway; on
    // AMX the product is computed whole (by `matmul` below), then cut into bands.
    if k > 0 && !amx_for(m, n, k) && (use_sgemm(m, n, tb) || own_gives_crate_bits(k, ta)) {
        let out = BandOut(c.as_mut_ptr());
        let band = |i0: usize, i1: usize| {
            // SAFETY: sgemm_then hands out disjoint row ranges of the `m x n` output, each
            // once, after the last write of the GEMM to them.
            then(i0, unsafe { std::slice::from_raw_parts_mut(out.ptr().add(i0 * n), (i1 - i0) * n) })
        };
        // SAFETY: the assert above guarantees both operands and `c` hold their shapes; the
        // own GEMM is enabled (use_sgemm / own_gives_crate_bits checked the CPU).
        unsafe {
            let epilogue = super::sgemm::Epilogue { band: &band, tile };
            super::sgemm::sgemm_then(
                m,
                n,
                k,
                view(a, ta, m, k),
                view(b, tb, k, n),
                out.ptr(),
                n,
                threads,
                epilogue,
            )
        };
        return;
    }
    matmul(m, n, k, a, ta, b, tb, c, false);
    let rows = m.div_ceil(threads);
    if threads > 1 {
        c.par_chunks_mut(rows * n).enumerate().for_each(|(t, band)| then(t * rows, band));
    } else {
        then(0, c);
    }
}

/// [`matmul_then`]'s output, written by the threads in disjoint bands of rows.
#[derive(Clone, Copy)]
struct BandOut(*mut f32);
// SAFETY: only used by `matmul_then`, whose threads touch disjoint rows.
unsafe impl Send for BandOut {}
unsafe impl Sync for BandOut {}

impl BandOut {
    /// The pointer (a method, so that closures capture the whole `Sync` wrapper).
    fn ptr(self) -> *mut f32 {
        self.0
    }
}

/// The own GEMM on dense row-major operands (stored or transposed) into a dense `c` with
/// [`matmul`]'s threads.
///
/// # Safety
/// As [`super::sgemm::sgemm`]: the own GEMM is enabled, `a` and `b` hold their shapes, `c`
/// holds `m * n` writable floats.
unsafe fn own_dense(
    m: usize,
    n: usize,
    k: usize,
    (a, ta): (&[f32], Trans),
    (b, tb): (&[f32], Trans),
    c: *mut f32,
    accumulate: bool,
) {
    let threads = threads_for(m, n, k);
    super::sgemm::sgemm(m, n, k, view(a, ta, m, k), view(b, tb, k, n), c, n, accumulate, threads)
}

/// Whether the own GEMM is enabled and sums every element of an `op(a) @ op(b)` with `k`
/// steps in one packed block (a single chain from zero, in order, as the `gemm` crate does
/// for these sizes), so that both give the same bits (tested below for the Dense gradients
/// of the benchmark workloads).
pub(crate) fn own_gives_crate_bits(k: usize, ta: Trans) -> bool {
    use super::sgemm::{mode, Mode};
    #[cfg(test)]
    if FORCE_SGEMM.get() == Some(false) {
        return false;
    }
    mode() != Mode::Off && k <= super::sgemm::single_block_steps(ta == Trans::No)
}

/// Columns `j0..j1` of `c = a @ b` for row-major `a` (`m x k`), `b` (`k x n`) and `c`
/// (`m x n`, initialised), on the calling thread on the `gemm` crate: each element gets the
/// bits the whole product gives. Two threads can each compute their own columns of one `c`.
///
/// # Safety
/// `a` and `b` hold their shapes, `c` points to `m * n` initialised floats, `j0 <= j1 <= n`,
/// and no other thread reads or writes columns `j0..j1` of `c` during the call.
pub(crate) unsafe fn matmul_columns(
    (m, n, k): (usize, usize, usize),
    a: &[f32],
    b: &[f32],
    c: *mut f32,
    (j0, j1): (usize, usize),
) {
    assert!(a.len() >= m * k && b.len() >= k * n && j0 <= j1 && j1 <= n, "matmul_columns shape");
    if m == 0 || j0 == j1 || k == 0 {
        for i in 0..m {
            std::slice::from_raw_parts_mut(c.add(i * n + j0), j1 - j0).fill(0.0);
        }
        return;
    }
    // SAFETY: the assert above and the caller's guarantee: element (i, p) of `a` is
    // a[i * k + p], (p, j) of the block of `b` is b[p * n + j0 + j], (i, j) of the block of
    // `c` is c[i * n + j0 + j], every one inside its buffer.
    crate_row_major(
        (m, j1 - j0, k),
        (a.as_ptr(), k),
        (b.as_ptr().add(j0), n),
        (c.add(j0), n),
        Parallelism::None,
    );
}

/// `c = a @ b` on the `gemm` crate for row-major operands with rows `a_rs`, `b_rs` and `c_rs`
/// floats apart (`m x k`, `k x n`, `m x n`).
///
/// # Safety
/// Every row of each operand lies inside its allocation; `c` is writable and initialised
/// (the crate reads edge tiles of its destination), not overlapping `a` or `b`.
unsafe fn crate_row_major(
    (m, n, k): (usize, usize, usize),
    (a, a_rs): (*const f32, usize),
    (b, b_rs): (*const f32, usize),
    (c, c_rs): (*mut f32, usize),
    parallelism: Parallelism,
) {
    gemm(
        m,
        n,
        k,
        c,
        1,
        c_rs as isize,
        false,
        a,
        1,
        a_rs as isize,
        b,
        1,
        b_rs as isize,
        1.0,
        1.0,
        false,
        false,
        false,
        parallelism,
    );
}

/// The `gemm`-crate path of [`matmul`] (with its explicit transpose of a large transposed
/// `b`), whatever the CPU: for comparisons with the engine's own GEMM (`gemm_shapes`).
///
/// # Panics
/// If a buffer is shorter than its shape says (an engine bug, never user input).
#[allow(clippy::too_many_arguments)]
pub fn matmul_gemm_crate(
    m: usize,
    n: usize,
    k: usize,
    a: &[f32],
    ta: Trans,
    b: &[f32],
    tb: Trans,
    c: &mut [f32],
    accumulate: bool,
) {
    assert!(a.len() >= m * k && b.len() >= k * n && c.len() >= m * n, "matmul buffer too short");
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            c[..m * n].fill(0.0);
        }
        return;
    }
    if tb == Trans::Yes && k * n >= TRANSPOSE_B_MIN && !matches!(parallelism_for(m, n, k), Parallelism::None)
    {
        // A parallel `gemm` would gather this operand with a stride on the calling thread
        // while the pool waits; a blocked transpose is several times faster and gives the
        // same products (same values, same summation order). Single-threaded GEMMs (inside
        // a parallel loop over images) keep gemm's own packing.
        let mut bt = vec![0.0f32; k * n];
        super::transpose::transpose(&b[..k * n], n, k, &mut bt);
        return gemm_any(m, n, k, a, ta, &bt, Trans::No, c, accumulate);
    }
    gemm_any(m, n, k, a, ta, b, tb, c, accumulate)
}

/// [`matmul`] without the explicit transpose: `gemm` reads both operands with their strides
/// (`m`, `n` and `k` non-zero).
#[allow(clippy::too_many_arguments)]
fn gemm_any(
    m: usize,
    n: usize,
    k: usize,
    a: &[f32],
    ta: Trans,
    b: &[f32],
    tb: Trans,
    c: &mut [f32],
    accumulate: bool,
) {
    assert!(a.len() >= m * k && b.len() >= k * n && c.len() >= m * n, "matmul buffer too short");
    // (column stride, row stride) of op(x) for a row-major buffer.
    let (a_cs, a_rs) = match ta {
        Trans::No => (1isize, k as isize),
        Trans::Yes => (m as isize, 1isize),
    };
    let (b_cs, b_rs) = match tb {
        Trans::No => (1isize, n as isize),
        Trans::Yes => (k as isize, 1isize),
    };
    // SAFETY: the assert above guarantees every index gemm touches is in bounds; strides
    // describe exactly the row-major layouts documented on this function.
    unsafe {
        gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            a.as_ptr(),
            a_cs,
            a_rs,
            b.as_ptr(),
            b_cs,
            b_rs,
            1.0,
            1.0,
            false,
            false,
            false,
            parallelism_for(m, n, k),
        );
    }
}

/// `c = a @ b` for row-major `a` (`m x k`, rows `a_rs` floats apart), `b` (`k x n`, dense)
/// and `c` (`m x n`, rows `c_rs` floats apart): GEMMs over interleaved matrices, such as
/// one position of every Winograd tile, without gathering them first.
///
/// # Panics
/// If a stride is shorter than its row or a buffer shorter than its shape says (an engine
/// bug, never user input).
#[allow(clippy::too_many_arguments)]
pub fn matmul_strided(
    m: usize,
    n: usize,
    k: usize,
    a: &[f32],
    a_rs: usize,
    b: &[f32],
    c: &mut [f32],
    c_rs: usize,
) {
    if strided_done((m, n, k), (a.len(), a_rs), b.len(), c, c_rs) {
        return;
    }
    if use_sgemm_strided(Some(n)) {
        let av = super::sgemm::View { ptr: a.as_ptr(), rs: a_rs, cs: 1 };
        let bv = super::sgemm::View { ptr: b.as_ptr(), rs: n, cs: 1 };
        // SAFETY: the asserts above guarantee both operands and `c` hold their shapes with
        // these strides; use_sgemm_strided checked the CPU.
        unsafe { super::sgemm::sgemm(m, n, k, av, bv, c.as_mut_ptr(), c_rs, false, threads_for(m, n, k)) };
        return;
    }
    matmul_strided_gemm_crate(m, n, k, a, a_rs, b, c, c_rs)
}

/// The checks and the trivial cases of a [`matmul_strided`] product (`a` of `a_len` floats,
/// `b` of `b_len`): `true` when nothing is left to compute (an empty `c`, or `k == 0`, which
/// zeroes `c`).
///
/// # Panics
/// As [`matmul_strided`].
#[inline(always)]
fn strided_done(
    (m, n, k): (usize, usize, usize),
    (a_len, a_rs): (usize, usize),
    b_len: usize,
    c: &mut [f32],
    c_rs: usize,
) -> bool {
    if m == 0 || n == 0 {
        return true;
    }
    assert!(a_rs >= k && c_rs >= n, "matmul_strided: a row stride shorter than its row");
    assert!(
        a_len >= (m - 1) * a_rs + k && b_len >= k * n && c.len() >= (m - 1) * c_rs + n,
        "matmul_strided buffer too short"
    );
    if k == 0 {
        for row in c.chunks_mut(c_rs).take(m) {
            row[..n].fill(0.0);
        }
        return true;
    }
    false
}

/// The `gemm`-crate path of [`matmul_strided`], whatever the CPU: for comparisons with the
/// engine's own GEMM (`gemm_shapes`).
///
/// # Panics
/// As [`matmul_strided`].
#[doc(hidden)]
#[allow(clippy::too_many_arguments)]
pub fn matmul_strided_gemm_crate(
    m: usize,
    n: usize,
    k: usize,
    a: &[f32],
    a_rs: usize,
    b: &[f32],
    c: &mut [f32],
    c_rs: usize,
) {
    if strided_done((m, n, k), (a.len(), a_rs), b.len(), c, c_rs) {
        return;
    }
    // SAFETY: the asserts above guarantee every index gemm touches is in bounds: row i of
    // `a` spans a[i * a_rs .. i * a_rs + k], of `c` c[i * c_rs .. i * c_rs + n].
    unsafe {
        crate_row_major(
            (m, n, k),
            (a.as_ptr(), a_rs),
            (b.as_ptr(), n),
            (c.as_mut_ptr(), c_rs),
            parallelism_for(m, n, k),
        )
    };
}

/// `c += a^T @ b` for `a` (`k x m`, rows `a_rs` floats apart), `b` (`k x n`, rows `b_rs`
/// floats apart) and dense row-major `c` (`m x n`), single-threaded: the per-position
/// products of a Winograd kernel gradient, summed over the tiles of one block.
///
/// # Panics
/// If a stride is shorter than its row or a buffer shorter than its shape says (an engine
/// bug, never user input).
#[allow(clippy::too_many_arguments)]
pub fn matmul_tn_strided_acc(
    m: usize,
    n: usize,
    k: usize,
    a: &[f32],
    a_rs: usize,
    b: &[f32],
    b_rs: usize,
    c: &mut [f32],
) {
    if m == 0 || n == 0 || k == 0 {
        return;
    }
    assert!(a_rs >= m && b_rs >= n, "matmul_tn_strided_acc: a row stride shorter than its row");
    assert!(
        a.len() >= (k - 1) * a_rs + m && b.len() >= (k - 1) * b_rs + n && c.len() >= m * n,
        "matmul_tn_strided_acc buffer too short"
    );
    if use_sgemm_strided(None) {
        let av = super::sgemm::View { ptr: a.as_ptr(), rs: 1, cs: a_rs };
        let bv = super::sgemm::View { ptr: b.as_ptr(), rs: b_rs, cs: 1 };
        // SAFETY: the asserts above guarantee both operands and `c` hold their shapes with
        // these strides; use_sgemm_strided checked the CPU.
        unsafe { super::sgemm::sgemm(m, n, k, av, bv, c.as_mut_ptr(), n, true, 1) };
        return;
    }
    matmul_tn_strided_acc_gemm_crate(m, n, k, a, a_rs, b, b_rs, c)
}

/// The `gemm`-crate path of [`matmul_tn_strided_acc`], whatever the CPU: for comparisons
/// with the engine's own GEMM (`gemm_shapes`).
///
/// # Panics
/// As [`matmul_tn_strided_acc`].
#[doc(hidden)]
#[allow(clippy::too_many_arguments)]
pub fn matmul_tn_strided_acc_gemm_crate(
    m: usize,
    n: usize,
    k: usize,
    a: &[f32],
    a_rs: usize,
    b: &[f32],
    b_rs: usize,
    c: &mut [f32],
) {
    if m == 0 || n == 0 || k == 0 {
        return;
    }
    assert!(a_rs >= m && b_rs >= n, "matmul_tn_strided_acc: a row stride shorter than its row");
    assert!(
        a.len() >= (k - 1) * a_rs + m && b.len() >= (k - 1) * b_rs + n && c.len() >= m * n,
        "matmul_tn_strided_acc buffer too short"
    );
    // SAFETY: the asserts above guarantee every index gemm touches is in bounds: element
    // (i, p) of `a^T` is a[p * a_rs + i], (p, j) of `b` is b[p * b_rs + j], (i, j) of `c` is
    // c[i * n + j].
    unsafe {
        gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            n as isize,
            true,
            a.as_ptr(),
            a_rs as isize,
            1,
            b.as_ptr(),
            1,
            b_rs as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            Parallelism::None,
        );
    }
}

/// `c = op(a) @ op(b)` (or `c += ...`) on the engine's own GEMM whatever [`matmul`]'s rule
/// says, with [`matmul`]'s threads: for timing it against the rule's choice (`w1_half_step`).
/// `false` (and `c` untouched) where the own GEMM is off (no AVX-512F, `KERAS_SGEMM=0`).
///
/// # Panics
/// If a buffer is shorter than its shape says.
#[doc(hidden)]
#[allow(clippy::too_many_arguments)]
pub fn matmul_own(
    m: usize,
    n: usize,
    k: usize,
    a: &[f32],
    ta: Trans,
    b: &[f32],
    tb: Trans,
    c: &mut [f32],
    accumulate: bool,
) -> bool {
    use super::sgemm::{mode, Mode};
    assert!(a.len() >= m * k && b.len() >= k * n && c.len() >= m * n, "matmul buffer too short");
    if mode() == Mode::Off {
        return false;
    }
    if m == 0 || n == 0 {
        return true;
    }
    // SAFETY: the assert above guarantees both operands and `c` hold their shapes; mode()
    // checked the CPU.
    unsafe { own_dense(m, n, k, (a, ta), (b, tb), c.as_mut_ptr(), accumulate) };
    true
}

/// Fewest and most rows of a Dense product on one thread that run on the own GEMM by the
/// rules of [`dense_forward_matmul`] and [`dense_input_grad_into`]: half a W1 batch (64 of 128,
/// the part a data-parallel step would give a thread; BENCHMARKS.md "rep18", not merged) and a whole batch of 128 on one thread. Measured on an
/// Intel Xeon (model 207, one thread, `w1_half_step`, medians of 101-201 rounds,
/// microseconds crate or own GEMM before / now): 64 rows: forward 64 x 784 x 512 331 / 287,
/// 64 x 512 x 512 217 / 189, 64 x 512 x 10 18 / 12, input gradient 64 x 512 x 512 227 /
/// 173; 128 rows: 585 / 549, 385 / 357, 28 / 23, 417 / 382; but 32 rows: forward on the
/// packed own GEMM 174 / 198 (the crate packs the 32 rows of `x`, the own GEMM reads them in
/// place), input gradient 153 / 96. BENCHMARKS.md "half18".
const DENSE_OWN_ROWS: (usize, usize) = (64, 128);

/// Least and most terms of an input gradient `dY @ W^T` that [`dense_input_grad_into`] runs
/// transposed: W1's 512; a 10-unit head (10 terms) keeps the direct product (8 / 19 us).
const DENSE_DX_TRANSPOSED_TERMS: (usize, usize) = (64, 512);

/// Most inputs and units of a Dense layer whose one-thread products follow
/// [`DENSE_OWN_ROWS`]: the measured range (W1's 784 and 512). Wider kernels (W2's 12544 x
/// 128) keep their paths, unmeasured with these (the transposed input gradient would also
/// keep a `rows x inputs` buffer per thread).
const DENSE_OWN_MAX_WIDTH: usize = 1024;

/// `out = x @ w` for a Dense layer's forward (`x (m, k)`, `w (k, n)`, row-major, `out`
/// initialised), with [`matmul`]'s threads: where it runs on one thread with
/// [`DENSE_OWN_ROWS`] rows (and at most [`DENSE_OWN_MAX_WIDTH`] inputs and units), on the
/// own GEMM's streamed path (`sgemm_streamed_b`: `x` read
/// in place, `w` packed a panel at a time while the next panel is prefetched), otherwise as
/// [`matmul`]. Within rounding of the crate (the sums run in blocks of at most 256 steps;
/// tested).
pub(crate) fn dense_forward_matmul(m: usize, n: usize, k: usize, x: &[f32], w: &[f32], out: &mut [f32]) {
    assert!(x.len() >= m * k && w.len() >= k * n && out.len() >= m * n, "matmul buffer too short");
    let own = dense_forward_streams(m, n, k) && threads_for(m, n, k) == 1;
    #[cfg(target_arch = "x86_64")]
    if own {
        use super::sgemm::View;
        let (xv, wv) = (View { ptr: x.as_ptr(), rs: k, cs: 1 }, View { ptr: w.as_ptr(), rs: n, cs: 1 });
        // SAFETY: the assert above guarantees the operands and `out` hold their shapes;
        // mode() checked the CPU.
        unsafe {
            super::sgemm::sgemm_streamed_b(m, n, k, xv, wv, out.as_mut_ptr(), n, super::sgemm::NO_POST)
        };
        return;
    }
    let _ = own;
    matmul(m, n, k, x, Trans::No, w, Trans::No, out, false)
}

/// Whether a Dense forward `x @ w` (`x (m, k)`, `w (k, n)`) computed on one thread, whole
/// ([`dense_forward_matmul`]) or a block of columns per thread, runs on the own GEMM's
/// streamed path ([`dense_forward_streamed`]): the own GEMM is on, [`DENSE_OWN_ROWS`] rows,
/// at most [`DENSE_OWN_MAX_WIDTH`] inputs and units.
pub(crate) fn dense_forward_streams(m: usize, n: usize, k: usize) -> bool {
    use super::sgemm::{mode, Mode};
    let own = cfg!(target_arch = "x86_64")
        && mode() != Mode::Off
        && (DENSE_OWN_ROWS.0..=DENSE_OWN_ROWS.1).contains(&m)
        && (1..=DENSE_OWN_MAX_WIDTH).contains(&n)
        && (1..=DENSE_OWN_MAX_WIDTH).contains(&k);
    #[cfg(test)]
    let own = own && FORCE_SGEMM.get() != Some(false);
    own
}

/// Whether [`dense_forward_matmul`] computes the whole product on the calling thread on the
/// streamed path (so that [`dense_forward_streamed`] over all columns gives its bits).
pub(crate) fn dense_forward_streams_whole(m: usize, n: usize, k: usize) -> bool {
    dense_forward_streams(m, n, k) && threads_for(m, n, k) == 1
}

/// Columns `j0..j1` of a Dense forward `c = x @ w + bias`, then `max(c, 0)` with `relu`
/// (row-major `x (m, k)`, `w (k, n)`, `c (m, n)`, `bias` `n` floats), on the calling thread
/// on the own GEMM's streamed path (`sgemm_streamed_b`: `x` read in place, the columns of `w`
/// packed one 32-column panel at a time while the next is prefetched; the bias and relu
/// applied to the finished sums in registers, with the bits of the separate epilogue pass
/// [`crate::ops::linalg`] runs otherwise). Every element of the block is written, none read
/// first: `c` may be uninitialised. Each element gets the bits [`dense_forward_matmul`]'s
/// streamed path gives it (whatever the columns), within rounding of the crate's (sums in
/// blocks of at most 256 steps). Two threads can each compute their own columns of one `c`
/// (the two-thread forward's halves of columns).
///
/// # Safety
/// [`dense_forward_streams`] holds for `(m, n, k)`; `c` points to `m * n` writable floats
/// not overlapping the operands, and no other thread reads or writes columns `j0..j1` of
/// `c` during the call.
///
/// # Panics
/// If an operand is shorter than its shape says, the bias does not hold `n` floats, or
/// `j0 <= j1 <= n` does not hold (engine bugs).
pub(crate) unsafe fn dense_forward_streamed(
    (m, n, k): (usize, usize, usize),
    x: &[f32],
    w: &[f32],
    c: *mut f32,
    (j0, j1): (usize, usize),
    (bias, relu): (Option<&[f32]>, bool),
) {
    assert!(x.len() >= m * k && w.len() >= k * n && j0 <= j1 && j1 <= n, "dense_forward_streamed shape");
    assert!(bias.is_none_or(|b| b.len() == n), "dense_forward_streamed bias");
    #[cfg(target_arch = "x86_64")]
    {
        use super::sgemm::{Post, View};
        let xv = View { ptr: x.as_ptr(), rs: k, cs: 1 };
        let wv = View { ptr: w.as_ptr().add(j0), rs: n, cs: 1 };
        let post = Post { bias: bias.map_or(std::ptr::null(), |b| b.as_ptr().add(j0)), relu };
        // SAFETY: the asserts above and the caller's guarantee: (p, j) of the block of `w`
        // is w[p * n + j0 + j], (i, j) of the block of `c` is c[i * n + j0 + j], the bias of
        // column j at bias[j0 + j], all inside their buffers; the rule checked the CPU.
        super::sgemm::sgemm_streamed_b(m, j1 - j0, k, xv, wv, c.add(j0), n, post);
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (m, n, k, x, w, c, bias, relu);
        unreachable!("dense_forward_streams is false off x86-64");
    }
}

/// Columns `j0..j1` of a Dense forward `c = x @ w` (row-major `x (m, k)`, `w (k, n)`, `c
/// (m, n)`; no bias or activation) on AMX over `threads` threads: every element of the block
/// written, none read first (`c` may be uninitialised). `false`, with `c` untouched, where the
/// AMX driver declines. Two threads can each compute their own columns of one `c`.
///
/// # Safety
/// `c` points to `m * n` writable floats not overlapping the operands, and no other thread
/// reads or writes columns `j0..j1` of `c` during the call.
///
/// # Panics
/// If an operand is shorter than its shape says or `j0 <= j1 <= n` does not hold.
pub(crate) unsafe fn dense_forward_amx(
    (m, n, k): (usize, usize, usize),
    x: &[f32],
    (w, pre): (&[f32], Option<&Packed>),
    c: *mut f32,
    (j0, j1): (usize, usize),
    threads: usize,
) -> bool {
    use super::sgemm::View;
    assert!(x.len() >= m * k && w.len() >= k * n && j0 <= j1 && j1 <= n, "dense_forward_amx shape");
    let xv = View { ptr: x.as_ptr(), rs: k, cs: 1 };
    if let Some(p) = pre.filter(|p| p.layout() == Layout::Kernel && p.shape() == (k, n)) {
        // SAFETY: as below; `p` holds `w`'s values packed.
        if super::amx::sgemm_amx_prepacked(m, j1 - j0, k, xv, (p, j0), c.add(j0), n, false, threads) {
            return true;
        }
    }
    let wv = View { ptr: w.as_ptr().add(j0), rs: n, cs: 1 };
    // SAFETY: the assert above and the caller's guarantee: (p, j) of the block of `w` is
    // w[p * n + j0 + j], (i, j) of the block of `c` is c[i * n + j0 + j].
    super::amx::sgemm_amx(m, j1 - j0, k, xv, wv, c.add(j0), n, false, threads)
}

/// `dx = dy @ w^T`, a Dense layer's input gradient (`dy (m, n)`, `w (k, n)`, `dx (m, k)`),
/// into a fresh output: where it runs on one thread with [`DENSE_OWN_ROWS`] rows,
/// [`DENSE_DX_TRANSPOSED_TERMS`] terms and at most [`DENSE_OWN_MAX_WIDTH`] inputs, as its
/// transpose `w @ dy^T` on the own GEMM
/// ([`matmul_own_transposed`]: `w` read in place instead of transposed while packing; the
/// same bits), otherwise as [`matmul_into`] on fused multiply-adds. With `amx` (the caller's
/// [`amx_for`]), on AMX ([`matmul_into_with`]).
pub(crate) fn dense_input_grad_into(
    (m, k, n): (usize, usize, usize),
    dy: &[f32],
    (w, pre): (&[f32], Option<&Packed>),
    out: super::fresh::Out<'_>,
    amx: bool,
) {
    use super::sgemm::{mode, Mode};
    if amx {
        let pre = pre.filter(|p| p.layout() == Layout::Transposed && p.shape() == (k, n));
        matmul_into_packed((m, k, n), (dy, Trans::No), (w, Trans::Yes, pre), out, true);
        return;
    }
    let transposed = mode() != Mode::Off
        && (DENSE_OWN_ROWS.0..=DENSE_OWN_ROWS.1).contains(&m)
        && (DENSE_DX_TRANSPOSED_TERMS.0..=DENSE_DX_TRANSPOSED_TERMS.1).contains(&n)
        && (1..=DENSE_OWN_MAX_WIDTH).contains(&k)
        && threads_for(m, k, n) == 1;
    #[cfg(test)]
    let transposed = transposed && FORCE_SGEMM.get() != Some(false);
    if transposed {
        assert!(out.len() == m * k, "dense_input_grad_into: output size");
        let done = matmul_own_transposed(m, k, n, dy, Trans::No, w, Trans::Yes, out.zeroed());
        debug_assert!(done, "the own GEMM is on");
        return;
    }
    matmul_into_with((m, k, n), (dy, Trans::No), (w, Trans::Yes), out, false)
}

/// `c = op(a) @ op(b)` (`m x n`, layouts as in [`matmul`], never accumulating) computed as
/// its transpose `op(b)^T @ op(a)^T` on the own GEMM on the calling thread, then transposed
/// into `c`: for few rows (64, half a W1 batch), the large operand `op(b)` (a Dense kernel)
/// becomes the left one, which the own GEMM reads in place, so it is neither packed nor (for
/// `dY @ W^T`) transposed while packing; the small `op(a)` is packed instead. `false` (and
/// `c` untouched) where the own GEMM is off.
///
/// Every element is the same sum in the same order as [`sgemm`](super::sgemm::sgemm) gives
/// with the operands the other way round when both run one `k` block with the same depth
/// (fused multiply-adds of the same products; tested): for `dY @ W^T` with `W` read in place
/// on both sides (`k` up to 512), the bits of [`matmul`]'s own-GEMM path.
///
/// # Panics
/// If a buffer is shorter than its shape says.
#[doc(hidden)]
#[allow(clippy::too_many_arguments)]
pub fn matmul_own_transposed(
    m: usize,
    n: usize,
    k: usize,
    a: &[f32],
    ta: Trans,
    b: &[f32],
    tb: Trans,
    c: &mut [f32],
) -> bool {
    use super::sgemm::{mode, Mode, View};
    assert!(a.len() >= m * k && b.len() >= k * n && c.len() >= m * n, "matmul buffer too short");
    if mode() == Mode::Off {
        return false;
    }
    if m == 0 || n == 0 {
        return true;
    }
    if k == 0 {
        c[..m * n].fill(0.0);
        return true;
    }
    // op(b)^T, n x k: op(b) = b (k x n) read transposed, or op(b) = b^T (b is n x k) as stored.
    let bt = match tb {
        Trans::No => View { ptr: b.as_ptr(), rs: 1, cs: n },
        Trans::Yes => View { ptr: b.as_ptr(), rs: k, cs: 1 },
    };
    // op(a)^T, k x m.
    let at = match ta {
        Trans::No => View { ptr: a.as_ptr(), rs: 1, cs: k },
        Trans::Yes => View { ptr: a.as_ptr(), rs: m, cs: 1 },
    };
    TRANSPOSED_OUT.with(|buf| {
        let mut buf = buf.borrow_mut();
        if buf.len() < m * n {
            buf.resize(m * n, 0.0);
        }
        // SAFETY: the assert above guarantees both operands hold their shapes, so do the
        // views of their transposes; `buf` holds `n * m` floats; mode() checked the CPU.
        unsafe { super::sgemm::sgemm(n, m, k, bt, at, buf.as_mut_ptr(), m, false, 1) };
        super::transpose::transpose(&buf[..m * n], n, m, &mut c[..m * n]);
    });
    true
}

thread_local! {
    /// [`matmul_own_transposed`]'s transposed output, kept between calls.
    static TRANSPOSED_OUT: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// `c = a @ b` (row-major `m x k` by `k x n`) on the own GEMM's streamed path
/// (`sgemm_streamed_b`: `b` packed a panel at a time, the next panel prefetched) on the
/// calling thread: for timing it (`w1_half_step`). `false` where the own GEMM is off.
///
/// # Panics
/// If a buffer is shorter than its shape says.
#[doc(hidden)]
pub fn matmul_streamed(m: usize, n: usize, k: usize, a: &[f32], b: &[f32], c: &mut [f32]) -> bool {
    use super::sgemm::{mode, Mode, View};
    assert!(a.len() >= m * k && b.len() >= k * n && c.len() >= m * n, "matmul buffer too short");
    if mode() == Mode::Off {
        return false;
    }
    #[cfg(target_arch = "x86_64")]
    // SAFETY: the assert above guarantees the operands and `c` hold their shapes; mode()
    // checked the CPU.
    unsafe {
        super::sgemm::sgemm_streamed_b(
            m,
            n,
            k,
            View { ptr: a.as_ptr(), rs: k, cs: 1 },
            View { ptr: b.as_ptr(), rs: n, cs: 1 },
            c.as_mut_ptr(),
            n,
            super::sgemm::NO_POST,
        )
    };
    true
}

/// Columns `j0..j1` of `c = a @ b` (row-major `m x k` by `k x n`, `c` `m x n`) on the
/// calling thread on the Dense forward's streamed path ([`dense_forward_streamed`], no bias
/// or activation), whatever the rule says: for timing one thread's half of the two-thread
/// forward (`w1_fwd_split`). `false` (and `c` untouched) where the own GEMM is off.
///
/// # Panics
/// If a buffer is shorter than its shape says or `j0 <= j1 <= n` does not hold.
#[doc(hidden)]
pub fn matmul_streamed_columns(
    (m, n, k): (usize, usize, usize),
    a: &[f32],
    b: &[f32],
    c: &mut [f32],
    (j0, j1): (usize, usize),
) -> bool {
    use super::sgemm::{mode, Mode};
    assert!(c.len() >= m * n, "matmul buffer too short");
    if mode() == Mode::Off || !cfg!(target_arch = "x86_64") {
        return false;
    }
    // SAFETY: `c` holds `m * n` floats (asserted), the own GEMM is on; the function checks
    // the operands and the column range.
    unsafe { dense_forward_streamed((m, n, k), a, b, c.as_mut_ptr(), (j0, j1), (None, false)) };
    true
}

/// Overrides the order in which the own GEMM packs a row-major right operand on the calling
/// thread (`Some(true)`: row by row, `Some(false)`: panel by panel, `None`: the engine's
/// choice), for timing the two (`w1_half_step`). The packed panels, and so the results, are
/// the same (tested).
#[doc(hidden)]
pub fn set_sgemm_pack_b_rows_outer(on: Option<bool>) {
    super::sgemm::set_pack_b_rows_outer(on)
}

/// `op(a) @ op(b)` into a fresh vector as the Dense op's gradients get theirs
/// ([`matmul_into`]: the own GEMM without a zero fill where it gives the crate's bits): for
/// timing (`w1_half_step`).
///
/// # Panics
/// If a buffer is shorter than its shape says.
#[doc(hidden)]
pub fn matmul_fresh(
    (m, n, k): (usize, usize, usize),
    (a, ta): (&[f32], Trans),
    (b, tb): (&[f32], Trans),
) -> Vec<f32> {
    super::fresh::fresh_vec(m * n, |out| matmul_into((m, n, k), (a, ta), (b, tb), out))
}

/// `c = a @ b` `times` times with `b` packed once, as a recurrent layer's per-step products
/// run (row-major `a` `m x k`, `b` `k x n`, `c` `m x n`): for timing the packed path
/// (`gemm_shapes`). `false` (and `c` untouched) where that path does not run (no AVX-512F,
/// `KERAS_SGEMM=0`, `k` above one block).
///
/// # Panics
/// If a buffer is shorter than its shape says.
#[doc(hidden)]
#[allow(clippy::too_many_arguments)]
pub fn matmul_packed_b_repeated(
    m: usize,
    n: usize,
    k: usize,
    a: &[f32],
    b: &[f32],
    c: &mut [f32],
    times: usize,
) -> bool {
    assert!(a.len() >= m * k && b.len() >= k * n && c.len() >= m * n, "matmul buffer too short");
    let Some(pb) = super::sgemm::PackedB::new(b, n, k, n) else {
        return false;
    };
    for _ in 0..times {
        pb.gemm(m, a, k, c, n, false);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The test operands of an `m x k` by `k x n` product (either read transposed as its
    /// layout says): smooth values with no two rows alike.
    fn operands(m: usize, n: usize, k: usize) -> (Vec<f32>, Vec<f32>) {
        let a = (0..m * k).map(|i| (i as f32 * 0.37).sin()).collect();
        let b = (0..k * n).map(|i| (i as f32 * 0.11).cos()).collect();
        (a, b)
    }

    /// The bit patterns of `v`, to compare results exactly.
    fn bits(v: &[f32]) -> Vec<u32> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    fn naive(m: usize, n: usize, k: usize, a: &[f32], ta: Trans, b: &[f32], tb: Trans) -> Vec<f32> {
        let mut c = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                let mut s = 0.0;
                for p in 0..k {
                    let av = if ta == Trans::No { a[i * k + p] } else { a[p * m + i] };
                    let bv = if tb == Trans::No { b[p * n + j] } else { b[j * k + p] };
                    s += av * bv;
                }
                c[i * n + j] = s;
            }
        }
        c
    }

    #[test]
    fn strided_rows_match_naive() {
        let (m, n, k, a_rs, c_rs) = (4, 3, 5, 9, 7);
        let a: Vec<f32> = (0..(m - 1) * a_rs + k).map(|i| (i as f32 * 0.37).sin()).collect();
        let b: Vec<f32> = (0..k * n).map(|i| (i as f32 * 0.11).cos()).collect();
        let dense: Vec<f32> = (0..m).flat_map(|i| a[i * a_rs..i * a_rs + k].to_vec()).collect();
        let want = naive(m, n, k, &dense, Trans::No, &b, Trans::No);
        let mut c = vec![-1.0; (m - 1) * c_rs + n];
        matmul_strided(m, n, k, &a, a_rs, &b, &mut c, c_rs);
        for i in 0..m {
            for j in 0..n {
                assert!((c[i * c_rs + j] - want[i * n + j]).abs() < 1e-5);
            }
            if i + 1 < m {
                assert!(c[i * c_rs + n..(i + 1) * c_rs].iter().all(|v| *v == -1.0), "gaps untouched");
            }
        }
    }

    #[test]
    fn a_transposed_right_operand_gives_the_bits_of_the_strided_path() {
        // Large enough for a parallel GEMM and the explicit transpose; compares with gemm
        // reading the strided
        // operand directly.
        for (m, n, k) in [(128, 96, 64), (67, 70, 65), (9, 512, 65)] {
            let (a, b) = operands(m, n, k);
            let mut fast = vec![0.0; m * n];
            matmul_gemm_crate(m, n, k, &a, Trans::No, &b, Trans::Yes, &mut fast, false);
            let mut strided = vec![0.0; m * n];
            gemm_any(m, n, k, &a, Trans::No, &b, Trans::Yes, &mut strided, false);
            let want = naive(m, n, k, &a, Trans::No, &b, Trans::Yes);
            for ((x, y), w) in fast.iter().zip(&strided).zip(&want) {
                assert!((x - w).abs() < 1e-4);
                assert_eq!(x.to_bits(), y.to_bits(), "{m}x{n}x{k}");
            }
        }
    }

    /// Runs `f` with [`use_sgemm`] forced to `on` on this thread.
    fn forced<R>(on: bool, f: impl FnOnce() -> R) -> R {
        FORCE_SGEMM.set(Some(on));
        let r = f();
        FORCE_SGEMM.set(None);
        r
    }

    #[test]
    fn the_own_gemm_and_the_gemm_crate_agree_through_matmul() {
        if !crate::kernels::sgemm::enabled() {
            eprintln!(
                "SKIP the_own_gemm_and_the_gemm_crate_agree_through_matmul: no AVX-512F (or KERAS_SGEMM=0)"
            );
            return;
        }
        // Shapes of every split: columns (n >= m), rows, serial, ragged edges.
        for (m, n, k) in [(128, 512, 784), (300, 40, 70), (7, 9, 5), (67, 70, 65), (1, 33, 300)] {
            let (a, b) = operands(m, n, k);
            for ta in [Trans::No, Trans::Yes] {
                for tb in [Trans::No, Trans::Yes] {
                    let want = naive(m, n, k, &a, ta, &b, tb);
                    for acc in [false, true] {
                        let mut own = vec![0.5; m * n];
                        forced(true, || matmul(m, n, k, &a, ta, &b, tb, &mut own, acc));
                        let mut crate_ = vec![0.5; m * n];
                        forced(false, || matmul(m, n, k, &a, ta, &b, tb, &mut crate_, acc));
                        let tol = 2e-6 * k as f32;
                        for ((x, y), w) in own.iter().zip(&crate_).zip(&want) {
                            let w = w + if acc { 0.5 } else { 0.0 };
                            assert!((x - w).abs() <= tol && (y - w).abs() <= tol, "{m}x{n}x{k}: {x} {y} {w}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn matmul_into_gives_the_crates_bits_for_the_dense_gradients() {
        use crate::kernels::fresh::fresh_vec;
        let (no, yes) = (Trans::No, Trans::Yes);
        // W1's, W2's and W3's Dense kernel gradients (x^T dY) and input gradients (dY W^T),
        // the longest sums of one block each way, ragged edges, and sums past one block.
        for (m, n, k, ta, tb) in [
            (784, 512, 128, yes, no),
            (512, 512, 128, yes, no),
            (512, 10, 128, yes, no),
            (12544, 128, 32, yes, no),
            (128, 512, 512, no, yes),
            (128, 512, 10, no, yes),
            (32, 12544, 128, no, yes),
            (37, 70, 256, yes, no),
            (37, 70, 512, no, yes),
            (37, 70, 300, yes, no),
            (37, 70, 600, no, yes),
            (3, 5, 0, yes, no),
        ] {
            let (a, b) = operands(m, n, k);
            let got = fresh_vec(m * n, |out| matmul_into((m, n, k), (&a, ta), (&b, tb), out));
            let mut want = vec![0.0; m * n];
            matmul_gemm_crate(m, n, k, &a, ta, &b, tb, &mut want, false);
            if own_gives_crate_bits(k, ta) || !crate::kernels::sgemm::enabled() {
                assert_eq!(bits(&got), bits(&want), "{m}x{n}x{k} {ta:?} {tb:?}");
            } else {
                for (x, y) in got.iter().zip(&want) {
                    assert!((x - y).abs() <= 1e-5 * k as f32, "{m}x{n}x{k}: {x} {y}");
                }
            }
        }
    }

    #[test]
    fn matmul_into_on_amx_is_as_accurate_as_fma_and_falls_back_where_the_driver_declines() {
        use crate::kernels::fresh::fresh_vec;
        let (no, yes) = (Trans::No, Trans::Yes);
        let f64_product =
            |m: usize, n: usize, k: usize, (a, ta): (&[f32], Trans), (b, tb): (&[f32], Trans)| {
                crate::kernels::sgemm::tests::naive(m, n, k, a, ta == yes, b, tb == yes)
            };
        let err = |got: &[f32], want: &[f64]| {
            got.iter().zip(want).map(|(&g, &w)| (g as f64 - w).abs()).fold(0.0, f64::max)
        };
        let on_amx = crate::kernels::amx::available();
        for (m, n, k, ta, tb) in [
            (784, 512, 128, yes, no),
            (128, 512, 512, no, yes),
            (100, 130, 70, no, no),
            (37, 70, 600, yes, yes),
            (3, 5, 0, yes, no),
        ] {
            let (a, b) = operands(m, n, k);
            let amx = fresh_vec(m * n, |out| matmul_into_with((m, n, k), (&a, ta), (&b, tb), out, true));
            let fma = fresh_vec(m * n, |out| matmul_into_with((m, n, k), (&a, ta), (&b, tb), out, false));
            let want = f64_product(m, n, k, (&a, ta), (&b, tb));
            let (e_amx, e_fma) = (err(&amx, &want), err(&fma, &want));
            assert!(e_amx <= 1.5 * e_fma + 1e-7, "{m}x{n}x{k}: AMX {e_amx:e}, FMA {e_fma:e}");
            assert_eq!(bits(&amx) != bits(&fma), on_amx && k > 0, "{m}x{n}x{k}: AMX ran where available");
            // An infinity or a NaN in either operand: the driver declines, the FMA path runs
            // into the same fresh output (never left uninitialised), with its bits.
            if k > 0 {
                for (special, in_a) in [(f32::INFINITY, true), (f32::NAN, false)] {
                    let (mut a2, mut b2) = (a.clone(), b.clone());
                    if in_a {
                        let mid = a2.len() / 2;
                        a2[mid] = special;
                    } else {
                        b2[3] = special;
                    }
                    let amx =
                        fresh_vec(m * n, |out| matmul_into_with((m, n, k), (&a2, ta), (&b2, tb), out, true));
                    let fma =
                        fresh_vec(m * n, |out| matmul_into_with((m, n, k), (&a2, ta), (&b2, tb), out, false));
                    assert_eq!(bits(&amx), bits(&fma), "{m}x{n}x{k} with {special}");
                }
            }
        }
    }

    #[test]
    fn the_winograd_gemms_give_the_crates_bits_on_the_own_gemm() {
        if !crate::kernels::sgemm::enabled() {
            eprintln!("SKIP the_winograd_gemms_give_the_crates_bits_on_the_own_gemm: no AVX-512F (or KERAS_SGEMM=0)");
            return;
        }
        // W2's conv2 forward and input gradient blocks (70 and 72 tiles), ResNet50-like
        // channel counts, ragged edges; rows 36 positions apart as in a Winograd block; W2's
        // conv2 kernel gradient (32 x 64, 70 tiles).
        for (m, n, k) in [
            (70, 64, 32),
            (72, 32, 64),
            (56, 128, 128),
            (13, 17, 19),
            (1, 33, 300),
            (32, 64, 70),
            (40, 32, 50),
        ] {
            let (a_rs, c_rs) = (36 * k, 36 * n);
            let a: Vec<f32> = (0..(m - 1) * a_rs + k).map(|i| (i as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..k * n).map(|i| (i as f32 * 0.11).cos()).collect();
            let mut own = vec![-1.0; (m - 1) * c_rs + n];
            forced(true, || matmul_strided(m, n, k, &a, a_rs, &b, &mut own, c_rs));
            let mut crate_ = own.clone();
            forced(false, || matmul_strided(m, n, k, &a, a_rs, &b, &mut crate_, c_rs));
            assert_eq!(bits(&own), bits(&crate_), "strided {m}x{n}x{k}");
            // The kernel gradient: c += a^T b with `k` tiles, a (k x m) and b (k x n) strided.
            let (a_rs, b_rs) = (36 * m, 36 * n);
            let a: Vec<f32> = (0..(k - 1) * a_rs + m).map(|i| (i as f32 * 0.29).sin()).collect();
            let b: Vec<f32> = (0..(k - 1) * b_rs + n).map(|i| (i as f32 * 0.13).cos()).collect();
            let mut own: Vec<f32> = (0..m * n).map(|i| (i as f32 * 0.7).sin()).collect();
            let mut crate_ = own.clone();
            forced(true, || matmul_tn_strided_acc(m, n, k, &a, a_rs, &b, b_rs, &mut own));
            forced(false, || matmul_tn_strided_acc(m, n, k, &a, a_rs, &b, b_rs, &mut crate_));
            if k <= 256 {
                assert_eq!(bits(&own), bits(&crate_), "tn_acc {m}x{n}x{k}");
            } else {
                // More steps than one packed block: the own GEMM adds two partial sums.
                for (x, y) in own.iter().zip(&crate_) {
                    assert!((x - y).abs() <= 1e-5 * k as f32, "tn_acc {m}x{n}x{k}: {x} {y}");
                }
            }
        }
    }

    /// `matmul_then` gives `matmul`'s bits and hands every row to the epilogue once, after
    /// its last write, on the own GEMM and on the crate, split or not.
    #[test]
    fn matmul_then_gives_matmuls_bits_and_every_row_once() {
        let (no, yes) = (Trans::No, Trans::Yes);
        for (m, n, k, ta, tb) in [
            (784, 512, 128, yes, no),
            (512, 512, 128, yes, no),
            (512, 10, 128, yes, no),
            (37, 70, 300, yes, no),
            (250, 17, 513, yes, no),
            (40, 2100, 130, yes, no),
            (128, 512, 512, no, yes),
            (13, 9, 5, no, no),
            (5, 7, 0, yes, no),
        ] {
            let (a, b) = operands(m, n, k);
            // The rule, the own GEMM wherever it is enabled, the crate.
            for force in [None, Some(true), Some(false)] {
                let mut want = vec![0.5; m * n];
                let mut got = vec![0.5; m * n];
                let seen: Vec<std::sync::atomic::AtomicU32> = (0..m).map(|_| Default::default()).collect();
                FORCE_SGEMM.set(force);
                matmul(m, n, k, &a, ta, &b, tb, &mut want, false);
                let tiles = std::sync::atomic::AtomicUsize::new(0);
                let tile = |i0: usize, rows: usize, j0: usize, cols: usize| {
                    assert!(i0 + rows <= m && j0 + cols <= n && rows > 0 && cols > 0);
                    tiles.fetch_add(rows * cols, std::sync::atomic::Ordering::Relaxed);
                };
                let then = |i0: usize, band: &mut [f32]| {
                    // The epilogue reads the finished values (negates them, exactly).
                    for (r, row) in band.chunks_mut(n).enumerate() {
                        seen[i0 + r].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        row.iter_mut().for_each(|x| *x = -*x);
                    }
                };
                matmul_then((m, n, k), (&a, ta), (&b, tb), &mut got, &then, Some(&tile));
                FORCE_SGEMM.set(None);
                let negated: Vec<f32> = want.iter().map(|x| -x).collect();
                assert_eq!(bits(&got), bits(&negated), "{m}x{n}x{k} {ta:?} {tb:?} {force:?}");
                assert!(
                    seen.iter().all(|s| s.load(std::sync::atomic::Ordering::Relaxed) == 1),
                    "{m}x{n}x{k}"
                );
                // On the own GEMM every element's tile is announced once (on the last `k`
                // block), on the crate none.
                let announced = tiles.load(std::sync::atomic::Ordering::Relaxed);
                assert!(announced == 0 || announced == m * n, "{m}x{n}x{k}: {announced} announced");
            }
        }
    }

    #[test]
    fn the_transposed_product_gives_the_own_gemms_bits_for_the_input_gradient() {
        if !crate::kernels::sgemm::enabled() {
            eprintln!(
                "SKIP the_transposed_product_gives_the_own_gemms_bits_for_the_input_gradient: no AVX-512F"
            );
            return;
        }
        let (no, yes) = (Trans::No, Trans::Yes);
        // W1's half-batch products at 64 rows (dY W^T: the bits of the own GEMM; the forward
        // X W and a kernel gradient: within rounding), ragged shapes, `k` over one block, `k` 0.
        for (m, n, k, ta, tb) in [
            (64, 512, 512, no, yes),
            (64, 512, 10, no, yes),
            (13, 70, 300, no, yes),
            (64, 512, 784, no, no),
            (64, 10, 512, no, no),
            (7, 33, 600, no, yes),
            (30, 20, 9, yes, no),
            (5, 3, 0, no, yes),
        ] {
            let (a, b) = operands(m, n, k);
            let mut got = vec![f32::NAN; m * n];
            assert!(matmul_own_transposed(m, n, k, &a, ta, &b, tb, &mut got));
            let mut own = vec![0.0; m * n];
            assert!(matmul_own(m, n, k, &a, ta, &b, tb, &mut own, false));
            if ta == no && tb == yes && k <= super::super::sgemm::single_block_steps(true) {
                assert_eq!(bits(&got), bits(&own), "{m}x{n}x{k}");
            }
            let want = naive(m, n, k, &a, ta, &b, tb);
            for (x, w) in got.iter().zip(&want) {
                assert!((x - w).abs() <= 2e-6 * k as f32, "{m}x{n}x{k}: {x} {w}");
            }
        }
    }

    /// The Dense rules for one thread (run inside a one-thread pool, as kernels in a
    /// pool worker run): the forward is within rounding of the crate (its bits for sums
    /// of one block of 256 steps); the input gradient gives [`matmul_into`]'s bits.
    #[test]
    fn the_dense_rules_on_one_thread_give_the_bits_of_the_paths_they_replace() {
        use crate::kernels::fresh::fresh_vec;
        let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().expect("pool");
        // W1's half-batch and whole-batch shapes, the head, ragged ones, rows outside the rule.
        for (m, n, k) in [
            (64, 512, 784),
            (64, 512, 512),
            (64, 10, 512),
            (128, 512, 512),
            (100, 70, 300),
            (65, 33, 7),
            (32, 64, 64),
        ] {
            let (x, w) = operands(m, n, k);
            let dy: Vec<f32> = (0..m * n).map(|i| (i as f32 * 0.23).sin()).collect();
            let (fwd, dx) = pool.install(|| {
                assert!(crate::parallel::in_worker());
                let mut fwd = vec![f32::NAN; m * n];
                dense_forward_matmul(m, n, k, &x, &w, &mut fwd);
                (fwd, fresh_vec(m * k, |out| dense_input_grad_into((m, k, n), &dy, (&w, None), out, false)))
            });
            let mut want = vec![0.0; m * n];
            matmul_gemm_crate(m, n, k, &x, Trans::No, &w, Trans::No, &mut want, false);
            if !(DENSE_OWN_ROWS.0..=DENSE_OWN_ROWS.1).contains(&m) || k <= 256 {
                // The crate's path, or one block of sums each way.
                assert_eq!(bits(&fwd), bits(&want), "forward {m}x{n}x{k}");
            }
            let exact = naive(m, n, k, &x, Trans::No, &w, Trans::No);
            for ((a, b), e) in fwd.iter().zip(&want).zip(&exact) {
                assert!((a - b).abs() <= 1e-6 * k as f32, "forward {m}x{n}x{k}: {a} {b}");
                assert!((a - e).abs() <= 1e-6 * k as f32, "forward {m}x{n}x{k}: {a} {e}");
            }
            let want_dx =
                fresh_vec(m * k, |out| matmul_into((m, k, n), (&dy, Trans::No), (&w, Trans::Yes), out));
            assert_eq!(bits(&dx), bits(&want_dx), "input gradient {m}x{k}x{n}");
        }
    }

    #[test]
    fn all_transpose_combinations_match_naive() {
        let (m, n, k) = (5, 7, 3);
        let (a, b) = operands(m, n, k);
        for ta in [Trans::No, Trans::Yes] {
            for tb in [Trans::No, Trans::Yes] {
                let want = naive(m, n, k, &a, ta, &b, tb);
                let mut c = vec![1.0; m * n];
                matmul(m, n, k, &a, ta, &b, tb, &mut c, false);
                for (x, y) in c.iter().zip(&want) {
                    assert!((x - y).abs() < 1e-5);
                }
                let mut c2 = vec![1.0; m * n];
                matmul(m, n, k, &a, ta, &b, tb, &mut c2, true);
                for (x, y) in c2.iter().zip(&want) {
                    assert!((x - (y + 1.0)).abs() < 1e-5);
                }
            }
        }
    }
}
