//! The engine's own f32 GEMM: a BLIS-style driver around an AVX-512 `12 x 32` microkernel.
//!
//! `c (+)= op(a) @ op(b)` for strided operands ([`View`]). The `k` range is cut into blocks
//! of at most [`KC_MAX`] steps; per block, each thread packs its own columns of `op(b)` once
//! into `kc x 32` micro-panels (a transposed `b` is transposed by the packing itself) and
//! runs the microkernel over every (row tile, column panel) pair. A row-major `op(a)` and a
//! transposed one (`A^T` of a row-major `A`) are read in place, the tile's `a` values staying
//! in L1 while the `b` panels stream from L2; any other layout is packed by row blocks of at
//! most [`MC_MAX`] rows into `kc x 12` micro-panels, the `b` micro-panel (`kc * 32` floats,
//! 32 KiB) staying in L1 while the `a` panels stream from L2. Edges are
//! zero-padded in the panels; the microkernel stores with masks (columns) and has a version
//! per row count (rows), so no element is computed twice.
//!
//! Every element's sum runs over `p` in order within a `k` block and the blocks are added in
//! order, whatever the thread split: the result does not depend on the thread count.
//!
//! Used by [`crate::kernels::matmul`] on CPUs with AVX-512F for the shapes where it beats the
//! `gemm` crate (see there); `KERAS_SGEMM=0` turns it off, `KERAS_SGEMM=all` uses it for
//! every layout (to measure; read once).

mod avx512;
mod pack;
mod packed;

#[cfg(target_arch = "x86_64")]
use avx512::{tile, Prefetch, A_COLS, A_PACKED, A_ROWS, NO_PREFETCH};
#[cfg(target_arch = "x86_64")]
pub(crate) use avx512::{Post, NO_POST};
use avx512::{MR, NR};
pub(crate) use pack::View;
pub(crate) use packed::PackedB;
use rayon::prelude::*;
use std::cell::RefCell;
use std::sync::OnceLock;

/// Most `k` steps per packed block: a `b` micro-panel of `256 * 32` floats is 32 KiB, in L1.
const KC_MAX: usize = 256;
/// Most `k` steps per block when `op(a)` is read in place: then the `a` rows of a tile
/// (`12 * 512` floats, 24 KiB) are what stays in L1.
const KC_MAX_DIRECT: usize = 512;
/// Most floats of `op(b)` packed at once (1 MiB, within the 2 MiB L2 of the CPUs measured).
const NC_FLOATS: usize = 1 << 18;
/// Most rows of `op(a)` packed at once (`192 * 256` floats: 192 KiB, in L2).
const MC_MAX: usize = 16 * MR;

/// Where [`crate::kernels::matmul::matmul`] uses the own GEMM.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Never: no AVX-512F, or `KERAS_SGEMM=0`.
    Off,
    /// For a transposed right operand with no more rows than columns, where it wins (the
    /// default).
    TransposedB,
    /// For every layout (`KERAS_SGEMM=all`): to measure the others against the `gemm` crate.
    All,
}

/// The [`Mode`]: off without AVX-512F, else from `KERAS_SGEMM` (`0`, `all`; read once).
pub(crate) fn mode() -> Mode {
    static MODE: OnceLock<Mode> = OnceLock::new();
    *MODE.get_or_init(|| {
        if super::simd::isa() != super::simd::Isa::Avx512 {
            return Mode::Off;
        }
        match std::env::var("KERAS_SGEMM").ok().as_deref() {
            Some("0") => Mode::Off,
            Some("all") => Mode::All,
            _ => Mode::TransposedB,
        }
    })
}

/// Most `k` steps that [`sgemm`] sums in one block (one chain per element, from zero): with
/// `op(a)` read in place (`a_row_major`) or packed.
pub(crate) fn single_block_steps(a_row_major: bool) -> usize {
    if a_row_major {
        KC_MAX_DIRECT
    } else {
        KC_MAX
    }
}

/// Whether this CPU runs the microkernel (AVX-512F) and `KERAS_SGEMM` is not `0`.
#[cfg(test)]
pub(crate) fn enabled() -> bool {
    mode() != Mode::Off
}

/// Whether [`pack::pack_b`] packs a row-major `op(b)` row by row (every full panel's step
/// `p` from row `p`: sequential reads, which the hardware prefetchers follow) instead of
/// panel by panel (128 bytes of every row per panel: rows 2 KiB apart for a 512-column Dense
/// kernel). The same packed panels either way. Measured on W1's half-step (one
/// thread, 64 rows, Intel Xeon model 207): the forward's 64 x 784 x 512 on the own GEMM 318
/// -> 308 us, 64 x 512 x 512 208 -> 196 us (`w1_half_step`, BENCHMARKS.md "half18").
const PACK_B_ROWS_OUTER: bool = true;

thread_local! {
    /// This thread's override of [`PACK_B_ROWS_OUTER`] ([`set_pack_b_rows_outer`]).
    static PACK_B_OVERRIDE: std::cell::Cell<Option<bool>> = const { std::cell::Cell::new(None) };
}

/// Whether [`pack::pack_b`] packs a row-major `op(b)` row by row on this thread.
fn pack_b_rows_outer() -> bool {
    PACK_B_OVERRIDE.get().unwrap_or(PACK_B_ROWS_OUTER)
}

/// Overrides [`PACK_B_ROWS_OUTER`] on the calling thread (`None`: back to it), to measure the
/// two orders against each other; the pool's threads keep the constant.
pub(crate) fn set_pack_b_rows_outer(on: Option<bool>) {
    PACK_B_OVERRIDE.set(on)
}

thread_local! {
    /// Each thread's packing buffer, kept between calls (no page faults per GEMM).
    static BUF: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` on this thread's packing buffer ([`BUF`]), grown to at least `need` floats
/// (callers add 16 for the alignment), from its first 64-byte aligned float: full-line loads
/// in the microkernel.
fn with_buffer<R>(need: usize, f: impl FnOnce(*mut f32) -> R) -> R {
    BUF.with(|buf| {
        let mut buf = buf.borrow_mut();
        if buf.len() < need {
            buf.resize(need, 0.0);
        }
        let off = buf.as_ptr().align_offset(64).min(16).min(buf.len());
        f(buf[off..].as_mut_ptr())
    })
}

/// The output matrix shared by the threads, each writing its own disjoint block.
#[derive(Clone, Copy)]
struct Out(*mut f32);
// SAFETY: threads write disjoint (row range x column range) blocks of `c`.
unsafe impl Send for Out {}
unsafe impl Sync for Out {}

/// `c = op(a) @ op(b)` (or `c += ...` with `accumulate`) for `op(a)` `m x k` and `op(b)`
/// `k x n`; row `i` of `c` starts at `c + i * ldc`. Split over `threads` threads of the
/// engine's pool (1: on the calling thread).
///
/// # Safety
/// [`enabled`] is true; `a` and `b` describe readable matrices of those shapes; `c` holds
/// `m` rows of `n` writable floats, `ldc` apart, not overlapping `a` or `b`.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn sgemm(
    m: usize,
    n: usize,
    k: usize,
    a: View,
    b: View,
    c: *mut f32,
    ldc: usize,
    accumulate: bool,
    threads: usize,
) {
    drive(m, n, k, a, b, c, ldc, accumulate, threads, None)
}

/// [`sgemm_then`]'s epilogue: `band(i0, i1)` on every band of finished rows `i0..i1` of `c`;
/// `tile(i0, rows, j0, cols)`, when given, right before each tile of the last `k` block is
/// computed (to ask for what `band` will read: prefetches spread over the GEMM), except where
/// a thread's columns are cut into several passes.
#[derive(Clone, Copy)]
pub(crate) struct Epilogue<'a> {
    pub band: &'a (dyn Fn(usize, usize) + Sync),
    pub tile: Option<&'a (dyn Fn(usize, usize, usize, usize) + Sync)>,
}

/// `c = op(a) @ op(b)` as [`sgemm`] (no accumulation, the same bits), calling `then(i0, i1)`
/// on every band of rows `i0..i1` of `c` as soon as it is final, on the thread that computed
/// it: right after their last `k` block, one row tile ([`MR`] rows; a packed row block of up
/// to [`MC_MAX`] when `op(a)` is packed) at a time where the thread's columns fit one pass
/// ([`NC_FLOATS`]; the W1 kernel gradients), otherwise once for its whole row range. The
/// threads split rows (never columns, which would finish no row before the others), the
/// bands are disjoint and cover every row once. `then` must not run the own GEMM itself (the
/// thread's packing buffer is in use).
///
/// # Safety
/// As [`sgemm`]; `then.band` may read and write the band's rows of `c` only.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn sgemm_then(
    m: usize,
    n: usize,
    k: usize,
    a: View,
    b: View,
    c: *mut f32,
    ldc: usize,
    threads: usize,
    then: Epilogue<'_>,
) {
    drive(m, n, k, a, b, c, ldc, false, threads, Some(then))
}

/// [`sgemm`] and [`sgemm_then`]: the thread split, then [`block`] on each thread's part.
///
/// # Safety
/// As [`sgemm_then`].
#[allow(clippy::too_many_arguments)]
unsafe fn drive(
    m: usize,
    n: usize,
    k: usize,
    a: View,
    b: View,
    c: *mut f32,
    ldc: usize,
    accumulate: bool,
    threads: usize,
    then: Option<Epilogue<'_>>,
) {
    if m == 0 || n == 0 {
        return;
    }
    let out = Out(c);
    let panels = n.div_ceil(NR);
    let row_panels = m.div_ceil(MR);
    // Split the larger dimension, so that the operand every thread packs (or reads) whole
    // is the smaller one: columns when `n >= m` (each thread packs only its own panels of
    // `op(b)`), rows otherwise (each thread reads only its own rows of `op(a)`). An epilogue
    // on finished rows needs whole rows on each thread.
    let by_cols = then.is_none() && panels >= threads && (n >= m || row_panels < threads);
    if threads <= 1 || (!by_cols && row_panels < 2) {
        block(0, m, 0, n, k, a, b, out, ldc, accumulate, then);
    } else if by_cols {
        (0..threads).into_par_iter().for_each(|t| {
            let (q0, q1) = (t * panels / threads, (t + 1) * panels / threads);
            let (j0, j1) = (q0 * NR, (q1 * NR).min(n));
            // SAFETY: column ranges of different `t` are disjoint.
            unsafe { block(0, m, j0, j1, k, a, b, out, ldc, accumulate, None) };
        });
    } else {
        let parts = threads.min(row_panels);
        (0..parts).into_par_iter().for_each(|t| {
            let (r0, r1) = (t * row_panels / parts, (t + 1) * row_panels / parts);
            let (i0, i1) = (r0 * MR, (r1 * MR).min(m));
            // SAFETY: row ranges of different `t` are disjoint.
            unsafe { block(i0, i1, 0, n, k, a, b, out, ldc, accumulate, then) };
        });
    }
}

/// Rows `i0..i1`, columns `j0..j1` of `c`, on the calling thread; with `then`, each band of
/// rows goes to it once final (see [`sgemm_then`]).
///
/// # Safety
/// As [`sgemm_then`], for the block.
#[allow(clippy::too_many_arguments)]
unsafe fn block(
    i0: usize,
    i1: usize,
    j0: usize,
    j1: usize,
    k: usize,
    a: View,
    b: View,
    c: Out,
    ldc: usize,
    accumulate: bool,
    then: Option<Epilogue<'_>>,
) {
    let (mrows, nc) = (i1 - i0, j1 - j0);
    if mrows == 0 || nc == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            for i in i0..i1 {
                std::slice::from_raw_parts_mut(c.0.add(i * ldc + j0), nc).fill(0.0);
            }
        }
        if let Some(e) = then {
            (e.band)(i0, i1);
        }
        return;
    }
    // A row-major `op(a)` is read in place: packing it would cost about as much per element
    // as the microkernel spends on it when each thread has few columns. So is a transposed
    // one (`op(a) = A^T`, the kernel gradients `x^T dY`): a tile's steps are then rows of `A`,
    // its `MR` values contiguous, and the tile's lines stay in L1 across the column panels.
    // It keeps the packed path's `k` blocks (the same sums, the same bits).
    let layout = if a.cs == 1 {
        ALayout::Rows(a.rs)
    } else if a.rs == 1 && in_place_transposed_a() {
        ALayout::Cols(a.cs)
    } else {
        ALayout::Packed
    };
    let direct = layout != ALayout::Packed;
    let kc_max = if a.cs == 1 { KC_MAX_DIRECT } else { KC_MAX };
    let kcb = k.div_ceil(k.div_ceil(kc_max));
    // Column chunks whose packed `op(b)` block stays in L2 while the row panels run over it.
    let ncb = (NC_FLOATS / kcb / NR * NR).max(NR);
    if nc > ncb {
        for cj in (j0..j1).step_by(ncb) {
            block(i0, i1, cj, (cj + ncb).min(j1), k, a, b, c, ldc, accumulate, None);
        }
        if let Some(e) = then {
            (e.band)(i0, i1);
        }
        return;
    }
    let bpanels = nc.div_ceil(NR);
    let mcb = MC_MAX.min(mrows.div_ceil(MR) * MR);
    // A row-major `op(b)` of 32 columns in one `k` block already has the packed layout (the
    // Winograd input gradient's products with 32 channels): read in place, not copied.
    // Reading wider ones in place (row stride > 32) measured no faster than packing them.
    let b_in_place = b.cs == 1 && b.rs == NR && nc == NR && k <= KC_MAX;
    let b_len = if b_in_place { 0 } else { bpanels * kcb * NR };
    let need = b_len + if direct { 0 } else { mcb * kcb } + 16;
    with_buffer(need, |bp| {
        let ap = bp.add(b_len);
        let mut p0 = 0;
        while p0 < k {
            let kc = kcb.min(k - p0);
            // Panel `q` of this `k` block.
            let panel = |q: usize| {
                if b_in_place {
                    b.ptr.add(p0 * NR)
                } else {
                    bp.add(q * kc * NR) as *const f32
                }
            };
            if !b_in_place {
                pack::pack_b(b, p0, kc, j0, nc, bp);
            }
            let load_c = accumulate || p0 > 0;
            // The epilogue runs on the last `k` block, each band right after its last tile.
            let band = then.filter(|_| p0 + kc == k);
            let mut r = i0;
            while r < i1 {
                let mc = mcb.min(i1 - r);
                if !direct {
                    pack::pack_a(a, r, mc, p0, kc, ap);
                }
                if direct {
                    // Row panels outer: the `a` rows of a tile stay in L1 across the column
                    // panels, which stream from L2.
                    for ri in (0..mc).step_by(MR) {
                        let rows = MR.min(mc - ri);
                        let at = a.ptr.add((r + ri) * a.rs + p0 * a.cs);
                        for q in 0..bpanels {
                            let nr = NR.min(nc - q * NR);
                            let ct = c.0.add((r + ri) * ldc + j0 + q * NR);
                            if let Some(t) = band.and_then(|e| e.tile) {
                                t(r + ri, rows, j0 + q * NR, nr);
                            }
                            run_tile(
                                rows,
                                kc,
                                at,
                                layout,
                                panel(q),
                                ct,
                                ldc,
                                nr,
                                load_c.then_some((ct as *const f32, ldc)),
                            );
                        }
                        if let Some(e) = band {
                            (e.band)(r + ri, r + ri + rows);
                        }
                    }
                } else {
                    for q in 0..bpanels {
                        let nr = NR.min(nc - q * NR);
                        let bq = panel(q);
                        for (t, ri) in (0..mc).step_by(MR).enumerate() {
                            let rows = MR.min(mc - ri);
                            let ct = c.0.add((r + ri) * ldc + j0 + q * NR);
                            let at = ap.add(t * kc * MR);
                            if let Some(f) = band.and_then(|e| e.tile) {
                                f(r + ri, rows, j0 + q * NR, nr);
                            }
                            run_tile(
                                rows,
                                kc,
                                at,
                                ALayout::Packed,
                                bq,
                                ct,
                                ldc,
                                nr,
                                load_c.then_some((ct as *const f32, ldc)),
                            );
                        }
                    }
                    if let Some(e) = band {
                        (e.band)(r, r + mc);
                    }
                }
                r += mc;
            }
            p0 += kc;
        }
    });
}

/// Most `k` steps per block of [`sgemm_streamed_b`]: a packed panel (`256 * 32` floats,
/// 32 KiB) and a row tile's `a` rows (`12 * 256` floats, 12 KiB) together in L1.
const KC_STREAM: usize = 256;

/// `c = a @ b` on the calling thread for a row-major `a` (`m x k`, read in place) and a
/// row-major `b` (`k x n`) that is packed one panel at a time right before its row tiles
/// run, while each tile prefetches into L2 a share of the source rows of the next panel: the
/// `b` reads, which a few-row product cannot amortise (64 rows: packing W1's kernels first
/// costs a third of the forward), overlap the arithmetic instead of preceding it. Panels
/// outer, row tiles inner, `k` in blocks of at most [`KC_STREAM`] steps (each element's sum
/// runs over `p` in order within a block, the blocks added in order). Every element of `c`
/// is written before it is read (`c` may be uninitialised), and `post` applies to the
/// finished sums ([`Post`], its bias `n` floats: column `j`'s at `post.bias + j`): a Dense
/// layer's bias and relu epilogue on the registers, with the bits of a pass after the
/// product.
///
/// # Safety
/// [`enabled`] is true; `a` (`cs == 1`) and `b` (`cs == 1`) describe readable matrices of
/// their shapes; `c` holds `m` rows of `n` writable floats, `ldc` apart, not overlapping them;
/// a non-null `post.bias` holds `n` readable floats.
#[cfg(target_arch = "x86_64")]
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn sgemm_streamed_b(
    m: usize,
    n: usize,
    k: usize,
    a: View,
    b: View,
    c: *mut f32,
    ldc: usize,
    post: Post,
) {
    debug_assert!(a.cs == 1 && b.cs == 1);
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        for i in 0..m {
            let row = std::slice::from_raw_parts_mut(c.add(i * ldc), n);
            for (j, v) in row.iter_mut().enumerate() {
                let mut x = 0.0f32;
                if !post.bias.is_null() {
                    x += *post.bias.add(j);
                }
                *v = if !post.relu || x > 0.0 { x } else { 0.0 };
            }
        }
        return;
    }
    let kcb = k.div_ceil(k.div_ceil(KC_STREAM));
    let panels = n.div_ceil(NR);
    let tiles = m.div_ceil(MR);
    with_buffer(kcb * NR + 16, |bp| {
        let mut p0 = 0;
        while p0 < k {
            let kc = kcb.min(k - p0);
            for q in 0..panels {
                let nr = NR.min(n - q * NR);
                pack::pack_b(b, p0, kc, q * NR, nr, bp);
                // The next panel's source rows: this block's next panel, or the next block's
                // first one.
                let (np0, nq) = if q + 1 < panels { (p0, q + 1) } else { (p0 + kc, 0) };
                let next_rows = if np0 < k { kcb.min(k - np0) } else { 0 };
                for t in 0..tiles {
                    let (r0, r1) = (t * MR, ((t + 1) * MR).min(m));
                    let (f0, f1) = (t * next_rows / tiles, (t + 1) * next_rows / tiles);
                    let pf = Prefetch {
                        ptr: b.ptr.add((np0 + f0).min(k.saturating_sub(1)) * b.rs + nq * NR) as *const u8,
                        stride: b.rs * 4,
                        rows: (f1 - f0).min(kc / 2),
                    };
                    let at = a.ptr.add(r0 * a.rs + p0);
                    let ct = c.add(r0 * ldc + q * NR);
                    let old = (p0 > 0).then_some((ct as *const f32, ldc));
                    let post = if p0 + kc < k {
                        NO_POST
                    } else {
                        Post {
                            bias: if post.bias.is_null() { post.bias } else { post.bias.add(q * NR) },
                            ..post
                        }
                    };
                    macro_rules! by_rows {
                        ($($r:literal)*) => {
                            match r1 - r0 {
                                $($r => tile::<$r, A_ROWS, true, true>(kc, at, a.rs, bp, ct, ldc, nr, old, pf, post),)*
                                _ => unreachable!("a tile has 1 to MR rows"),
                            }
                        };
                    }
                    by_rows!(1 2 3 4 5 6 7 8 9 10 11 12);
                }
            }
            p0 += kc;
        }
    });
}

/// One left operand of [`sgemm_shared_b`]: `op(a)` with `m` rows, read in place (row-major,
/// `cs == 1`, or transposed, `rs == 1`), and its output `c` (`m` rows of `n` floats, `ldc`
/// apart, not overlapping any operand or other output).
#[derive(Clone, Copy)]
pub(crate) struct Left {
    /// Rows of `op(a)` and `c`.
    pub m: usize,
    /// `op(a)`, `m x k`.
    pub a: View,
    /// The output's first element.
    pub c: *mut f32,
    /// Floats between the output's rows.
    pub ldc: usize,
}

// SAFETY: the threads of `sgemm_shared_b` write disjoint column ranges of each `c`.
unsafe impl Send for Left {}
unsafe impl Sync for Left {}

/// `c_g = op(a_g) @ op(b)` for every left operand `g` of `lefts`, all with the same right
/// operand `op(b)` (`k x n`): each `k` block of `op(b)` is packed once for all of them
/// instead of once per product (the LSTM's weight gradients `X^T dZ` and `H^T dZ` share
/// `dZ`). Split over `threads` threads by column panels. Every element is summed in the same
/// `k` blocks, tiles and order as [`sgemm`] on its operand alone (the same bits; tested);
/// operands that [`sgemm`] would pack, or with different block depths, run through it one by
/// one.
///
/// With a non-null `sums` (`n` floats), also adds each column of `op(b)` to `sums[j]` row by
/// row in order, from the packed panels while they are in cache (an LSTM's bias gradient,
/// the column sums of `dZ`): the same additions in the same order as a serial loop over the
/// rows (the same bits; tested). Returns whether it did (`false`: the caller sums them).
///
/// # Safety
/// [`enabled`] is true; every `a_g` and `b` describe readable matrices of their shapes; every
/// `c_g` holds `m_g` rows of `n` writable floats, `ldc_g` apart; `sums` is null or holds `n`
/// writable floats, not overlapping anything else.
pub(crate) unsafe fn sgemm_shared_b(
    lefts: &[Left],
    n: usize,
    k: usize,
    b: View,
    threads: usize,
    sums: *mut f32,
) -> bool {
    let in_place = |l: &Left| l.a.cs == 1 || (l.a.rs == 1 && in_place_transposed_a());
    let kc_max = |l: &Left| if l.a.cs == 1 { KC_MAX_DIRECT } else { KC_MAX };
    let same_blocks = lefts.windows(2).all(|w| kc_max(&w[0]) == kc_max(&w[1]));
    if lefts.is_empty() || n == 0 || k == 0 || !same_blocks || !lefts.iter().all(in_place) {
        for l in lefts {
            sgemm(l.m, n, k, l.a, b, l.c, l.ldc, false, threads);
        }
        return false;
    }
    let kcb = k.div_ceil(k.div_ceil(kc_max(&lefts[0])));
    let panels = n.div_ceil(NR);
    let parts = threads.clamp(1, panels);
    let sums = Out(sums);
    if parts == 1 {
        block_shared(lefts, 0, n, k, kcb, b, sums);
    } else {
        (0..parts).into_par_iter().for_each(|t| {
            let (j0, j1) = (t * panels / parts * NR, ((t + 1) * panels / parts * NR).min(n));
            // SAFETY: column ranges of different `t` are disjoint.
            unsafe { block_shared(lefts, j0, j1, k, kcb, b, sums) };
        });
    }
    !sums.0.is_null()
}

/// Columns `j0..j1` of every output of [`sgemm_shared_b`], on the calling thread: per `k`
/// block (`kcb` steps), `op(b)` packed once, then each operand's row tiles as [`block`]'s
/// in-place path runs them.
///
/// # Safety
/// As [`sgemm_shared_b`], for the columns.
unsafe fn block_shared(lefts: &[Left], j0: usize, j1: usize, k: usize, kcb: usize, b: View, sums: Out) {
    let nc = j1 - j0;
    let ncb = (NC_FLOATS / kcb / NR * NR).max(NR);
    if nc > ncb {
        for cj in (j0..j1).step_by(ncb) {
            block_shared(lefts, cj, (cj + ncb).min(j1), k, kcb, b, sums);
        }
        return;
    }
    let bpanels = nc.div_ceil(NR);
    let need = bpanels * kcb * NR + 16;
    with_buffer(need, |bp| {
        let mut p0 = 0;
        while p0 < k {
            let kc = kcb.min(k - p0);
            pack::pack_b(b, p0, kc, j0, nc, bp);
            if !sums.0.is_null() {
                for q in 0..bpanels {
                    let cols = NR.min(nc - q * NR);
                    let dst = std::slice::from_raw_parts_mut(sums.0.add(j0 + q * NR), cols);
                    let panel = std::slice::from_raw_parts(bp.add(q * kc * NR), kc * NR);
                    let mut acc = [0.0f32; NR];
                    acc[..cols].copy_from_slice(dst);
                    for row in panel.chunks_exact(NR) {
                        acc.iter_mut().zip(row).for_each(|(a, &v)| *a += v);
                    }
                    dst.copy_from_slice(&acc[..cols]);
                }
            }
            for l in lefts {
                let layout = if l.a.cs == 1 { ALayout::Rows(l.a.rs) } else { ALayout::Cols(l.a.cs) };
                for ri in (0..l.m).step_by(MR) {
                    let rows = MR.min(l.m - ri);
                    let at = l.a.ptr.add(ri * l.a.rs + p0 * l.a.cs);
                    for q in 0..bpanels {
                        let nr = NR.min(nc - q * NR);
                        let ct = l.c.add(ri * l.ldc + j0 + q * NR);
                        let old = (p0 > 0).then_some((ct as *const f32, l.ldc));
                        run_tile(rows, kc, at, layout, bp.add(q * kc * NR), ct, l.ldc, nr, old);
                    }
                }
            }
            p0 += kc;
        }
    });
}

/// Where a tile's `op(a)` values are ([`avx512::tile`]'s `A`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum ALayout {
    /// A packed micro-panel.
    Packed,
    /// In place, rows this many floats apart.
    Rows(usize),
    /// In place transposed, steps this many floats apart.
    Cols(usize),
}

/// Whether a transposed `op(a)` is read in place (`KERAS_SGEMM_PACK_AT=1` packs it, to
/// measure; read once).
fn in_place_transposed_a() -> bool {
    #[cfg(test)]
    if tests::PACK_AT.get() {
        return false;
    }
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var("KERAS_SGEMM_PACK_AT").as_deref() != Ok("1"))
}

/// The microkernel for `rows` (1 to [`MR`]) rows, `a` as `layout` says; `old` (the first row
/// and the floats between rows: `c` itself, or a bias row with 0) is added to the sums.
///
/// # Safety
/// As [`avx512::tile`].
#[allow(clippy::too_many_arguments)]
#[inline(always)]
unsafe fn run_tile(
    rows: usize,
    kc: usize,
    a: *const f32,
    layout: ALayout,
    b: *const f32,
    c: *mut f32,
    ldc: usize,
    nr: usize,
    old: Option<(*const f32, usize)>,
) {
    #[cfg(target_arch = "x86_64")]
    {
        macro_rules! by_rows {
            ($($r:literal)*) => {
                match (rows, layout) {
                    $(($r, ALayout::Packed) => tile::<$r, A_PACKED, false, false>(kc, a, 0, b, c, ldc, nr, old, NO_PREFETCH, NO_POST),
                      ($r, ALayout::Rows(lda)) => tile::<$r, A_ROWS, false, false>(kc, a, lda, b, c, ldc, nr, old, NO_PREFETCH, NO_POST),
                      ($r, ALayout::Cols(lda)) => tile::<$r, A_COLS, false, false>(kc, a, lda, b, c, ldc, nr, old, NO_PREFETCH, NO_POST),)*
                    _ => unreachable!("a tile has 1 to MR rows"),
                }
            };
        }
        by_rows!(1 2 3 4 5 6 7 8 9 10 11 12)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (rows, kc, a, layout, b, c, ldc, nr, old);
        unreachable!("sgemm runs only where enabled() is true (x86-64 with AVX-512F)");
    }
}

#[cfg(test)]
pub(crate) mod tests;
