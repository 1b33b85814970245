//! The AVX-512 microkernel: an `M x 32` tile of `c` (M up to [`MR`]) from one packed `A`
//! micro-panel and one packed `B` micro-panel, kept in 2·M zmm accumulators.

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

/// Rows of a full tile (24 accumulators, two `B` vectors and the broadcast: 27 of the 32 zmm).
pub(crate) const MR: usize = 12;
/// Columns of a tile: two zmm vectors.
pub(crate) const NR: usize = 32;

/// [`tile`]'s `a` is a packed micro-panel.
#[cfg(target_arch = "x86_64")]
pub(crate) const A_PACKED: u8 = 0;
/// [`tile`]'s `a` is read in place, row `i` at `a + i * lda`.
#[cfg(target_arch = "x86_64")]
pub(crate) const A_ROWS: u8 = 1;
/// [`tile`]'s `a` is read in place transposed, step `p` at `a + p * lda`.
#[cfg(target_arch = "x86_64")]
pub(crate) const A_COLS: u8 = 2;

/// What [`tile`] asks the memory system for while it computes (with `PF`): the two 64-byte
/// lines at `ptr + r * stride` for `r < rows`, one line a step from the first step (so
/// `rows` at most `kc / 2`).
#[derive(Clone, Copy)]
pub(crate) struct Prefetch {
    pub ptr: *const u8,
    pub stride: usize,
    pub rows: usize,
}

/// No prefetches.
pub(crate) const NO_PREFETCH: Prefetch = Prefetch { ptr: std::ptr::null(), stride: 0, rows: 0 };

/// What [`tile`] does to each finished sum before storing it (after adding `old`): adds
/// `bias[j]` (one value per column of the tile; none when null), then, with `relu`, takes
/// `max(x, 0)` (0 for NaN and -0, as [`crate::ops::Unary::Relu`] gives). A Dense layer's
/// bias and relu epilogue done on the registers instead of a pass over the output: the same
/// two roundings in the same order as that pass, so the same bits.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
pub(crate) struct Post {
    pub bias: *const f32,
    pub relu: bool,
}

/// Sums stored as they are.
#[cfg(target_arch = "x86_64")]
pub(crate) const NO_POST: Post = Post { bias: std::ptr::null(), relu: false };

/// `c[i][j] (+)= sum_p op_a(i, p) * b[p * NR + j]` for `i < M`, `j < nr`.
///
/// `A` says where `op_a(i, p)` is: [`A_PACKED`], a packed micro-panel, `a[p * MR + i]` (`kc`
/// steps of [`MR`] values, only the first `M` used; `lda` unused); [`A_ROWS`], in place in a
/// row-major `op(a)`, `a[i * lda + p]`; [`A_COLS`], in place in a row-major `a` whose
/// transpose is `op(a)`, `a[p * lda + i]` (each step's `M` values contiguous). `b` is a packed
/// micro-panel (`kc` steps of [`NR`] values), `c` row `i` starts at `c + i * ldc`. With
/// `old = Some((o, ldo))` the values at `o + i * ldo` are added last (the sum of each element
/// runs over `p` in order, then is added to the old value): `c`'s own (`o = c`, `ldo = ldc`)
/// or one bias row for every row (`ldo = 0`); otherwise `c` is only written. Then, with
/// `POST`, `post` (see [`Post`]; without it `post` is ignored, and no code runs for it).
/// With `PF`, it also prefetches `pf`'s lines into L2 (see [`Prefetch`]); prefetches never
/// fault.
///
/// # Safety
/// The CPU has AVX-512F; `a` holds its `M` rows of `kc` values as described, `b` holds
/// `kc * NR` floats; rows `0..M` of `c` hold `nr <= NR` writable floats each, and those of
/// `old` as many readable ones; a non-null `post.bias` holds `nr` readable floats.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[allow(clippy::needless_range_loop, clippy::too_many_arguments)]
pub(crate) unsafe fn tile<const M: usize, const A: u8, const PF: bool, const POST: bool>(
    kc: usize,
    a: *const f32,
    lda: usize,
    b: *const f32,
    c: *mut f32,
    ldc: usize,
    nr: usize,
    old: Option<(*const f32, usize)>,
    pf: Prefetch,
    post: Post,
) {
    if nr <= 16 {
        // One vector a row (a head of at most 16 units, or a panel's last columns): half the
        // multiply-adds of a full tile, each lane's the same.
        tile_v::<M, A, PF, POST, 1>(kc, a, lda, b, c, ldc, nr, old, pf, post)
    } else {
        tile_v::<M, A, PF, POST, 2>(kc, a, lda, b, c, ldc, nr, old, pf, post)
    }
}

/// [`tile`] on the first `V` (1 or 2) vectors of each row of the tile (`nr <= 16 * V`).
///
/// # Safety
/// As [`tile`].
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[allow(clippy::needless_range_loop, clippy::too_many_arguments)]
#[inline]
unsafe fn tile_v<const M: usize, const A: u8, const PF: bool, const POST: bool, const V: usize>(
    kc: usize,
    a: *const f32,
    lda: usize,
    b: *const f32,
    c: *mut f32,
    ldc: usize,
    nr: usize,
    old: Option<(*const f32, usize)>,
    pf: Prefetch,
    post: Post,
) {
    let mut acc = [[_mm512_setzero_ps(); 2]; M];
    let mut b = b;
    for p in 0..kc {
        if PF && p < 2 * pf.rows {
            // Two lines a row, one a step: the next panel's source, while this one computes.
            // `wrapping_add`: the second line of a row may lie past the buffer (a prefetch never
            // faults, but an out-of-bounds `add` would be undefined).
            _mm_prefetch::<_MM_HINT_T1>(pf.ptr.wrapping_add((p >> 1) * pf.stride + (p & 1) * 64) as *const i8);
        }
        let b0 = _mm512_loadu_ps(b);
        let b1 = if V == 2 { _mm512_loadu_ps(b.add(16)) } else { b0 };
        for i in 0..M {
            let x = match A {
                A_ROWS => a.add(i * lda + p),
                A_COLS => a.add(p * lda + i),
                _ => a.add(p * MR + i),
            };
            let av = _mm512_set1_ps(*x);
            acc[i][0] = _mm512_fmadd_ps(av, b0, acc[i][0]);
            if V == 2 {
                acc[i][1] = _mm512_fmadd_ps(av, b1, acc[i][1]);
            }
        }
        b = b.add(NR);
    }
    let m0: __mmask16 = if nr >= 16 { 0xffff } else { (1u32 << nr) as u16 - 1 };
    let m1: __mmask16 = if nr >= 32 {
        0xffff
    } else if nr > 16 {
        (1u32 << (nr - 16)) as u16 - 1
    } else {
        0
    };
    let bias = (POST && !post.bias.is_null())
        .then(|| (_mm512_maskz_loadu_ps(m0, post.bias), _mm512_maskz_loadu_ps(m1, post.bias.add(16))));
    let zero = _mm512_setzero_ps();
    for i in 0..M {
        let row = c.add(i * ldc);
        let (mut x0, mut x1) = (acc[i][0], acc[i][1]);
        if let Some((o, ldo)) = old {
            let orow = o.add(i * ldo);
            x0 = _mm512_add_ps(_mm512_maskz_loadu_ps(m0, orow), x0);
            x1 = _mm512_add_ps(_mm512_maskz_loadu_ps(m1, orow.add(16)), x1);
        }
        if let Some((b0, b1)) = bias {
            x0 = _mm512_add_ps(x0, b0);
            x1 = _mm512_add_ps(x1, b1);
        }
        if POST && post.relu {
            // `max(x, 0)` returns its second operand, 0, for NaN and for either zero.
            x0 = _mm512_max_ps(x0, zero);
            x1 = _mm512_max_ps(x1, zero);
        }
        _mm512_mask_storeu_ps(row, m0, x0);
        if V == 2 {
            _mm512_mask_storeu_ps(row.add(16), m1, x1);
        }
    }
}
