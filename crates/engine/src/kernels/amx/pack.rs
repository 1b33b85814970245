//! Splitting `f32` operands into three `bf16` pieces and packing them into AMX tiles.
//!
//! Each element `x` (times the operand's power-of-two scale) becomes `hi + mid + lo` exactly,
//! each piece a `bf16` value (Veltkamp's splitting twice: [`split3`]). `op(a)` goes to "A" tiles (16 rows of 32 steps), `op(b)` to "B" tiles in
//! the VNNI layout (16 rows of step pairs, each row 16 columns of two `bf16`). Per row block
//! (A) or column block (B) and 32-step chunk, the three pieces' tiles follow each other
//! (1 KiB each: a chunk is 3 KiB); blocks and chunks past the matrix are zero.
//!
//! While packing, the largest and smallest non-zero magnitudes are recorded ([`Range`]): the
//! driver decides from them whether the split products are exact (see the module above).

use super::View;

/// The largest and the smallest non-zero magnitude of an operand, as `f32` bit patterns of
/// `|x|` (`min_nz` is `u32::MAX` when every element is zero; `max` is at least `0x7f80_0000`
/// when one is infinite or NaN).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Range {
    pub max: u32,
    pub min_nz: u32,
}

impl Range {
    /// No element seen.
    pub const EMPTY: Range = Range { max: 0, min_nz: u32::MAX };

    /// Both operands' ranges together.
    pub fn merge(self, o: Range) -> Range {
        Range { max: self.max.max(o.max), min_nz: self.min_nz.min(o.min_nz) }
    }
}

/// Veltkamp's splitting constant for 8 leading bits of 24: `x * C - (x * C - x)` is `x`
/// rounded to 8 significant bits (a `bf16` value), exactly, while `|x| * C` does not overflow.
const SPLIT: f32 = 65537.0;

/// The three pieces of `x`: `hi` (8 significant bits), `mid` (8 bits of `x - hi`), `lo = x -
/// hi - mid` (at most 8 bits left), so `hi + mid + lo == x` exactly and each is a `bf16`
/// value, for normal `x` with `|x| < 2^111` whose pieces are normal (the driver's ranges);
/// as `f32` bit patterns (low halves zero). The vector splitters compute the same.
#[cfg_attr(not(test), allow(dead_code))]
#[inline(always)]
pub(super) fn split3(x: f32) -> (u32, u32, u32) {
    let t = x * SPLIT;
    let h = t - (t - x);
    let r = x - h;
    let t = r * SPLIT;
    let m = t - (t - r);
    (h.to_bits(), m.to_bits(), (r - m).to_bits())
}

#[cfg(target_arch = "x86_64")]
mod simd {
    use std::arch::x86_64::*;

    /// The running `(max |x|, min |x| - 1)` of magnitude bits (zero wraps to `u32::MAX`).
    pub(super) struct Stats {
        pub max: __m512i,
        pub min1: __m512i,
    }

    #[inline(always)]
    pub(super) unsafe fn stats() -> Stats {
        Stats { max: _mm512_setzero_si512(), min1: _mm512_set1_epi32(-1) }
    }

    /// The lanes' reductions: `(max, min_nz - 1)`.
    #[inline(always)]
    pub(super) unsafe fn reduce(s: &Stats) -> (u32, u32) {
        (_mm512_reduce_max_epu32(s.max), _mm512_reduce_min_epu32(s.min1))
    }

    /// Records `x`, returns the three pieces of `x * scale` ([`super::split3`]'s arithmetic;
    /// without `SCALED` the scale is one and not multiplied).
    #[inline(always)]
    pub(super) unsafe fn split<const SCALED: bool>(x: __m512, scale: __m512, st: &mut Stats) -> [__m512i; 3] {
        let ab = _mm512_and_si512(_mm512_castps_si512(x), _mm512_set1_epi32(0x7fff_ffff));
        st.max = _mm512_max_epu32(st.max, ab);
        st.min1 = _mm512_min_epu32(st.min1, _mm512_sub_epi32(ab, _mm512_set1_epi32(1)));
        let x = if SCALED { _mm512_mul_ps(x, scale) } else { x };
        let c = _mm512_set1_ps(super::SPLIT);
        let t = _mm512_mul_ps(x, c);
        let h = _mm512_sub_ps(t, _mm512_sub_ps(t, x));
        let r = _mm512_sub_ps(x, h);
        let t = _mm512_mul_ps(r, c);
        let m = _mm512_sub_ps(t, _mm512_sub_ps(t, r));
        let l = _mm512_sub_ps(r, m);
        [_mm512_castps_si512(h), _mm512_castps_si512(m), _mm512_castps_si512(l)]
    }

    /// One A tile row: 32 steps (`x0`, `x1`: steps 0-15, 16-31) to the three pieces' rows
    /// (`dst`, `dst + 512`, `dst + 1024` u16s).
    #[inline(always)]
    pub(super) unsafe fn a_row<const SCALED: bool>(
        x0: __m512,
        x1: __m512,
        scale: __m512,
        dst: *mut u16,
        st: &mut Stats,
    ) {
        let p0 = split::<SCALED>(x0, scale, st);
        let p1 = split::<SCALED>(x1, scale, st);
        // The high halves of the 32 lanes, in order.
        let idx = _mm512_set_epi16(
            63, 61, 59, 57, 55, 53, 51, 49, 47, 45, 43, 41, 39, 37, 35, 33, 31, 29, 27, 25, 23, 21, 19, 17,
            15, 13, 11, 9, 7, 5, 3, 1,
        );
        for pc in 0..3 {
            let v = _mm512_permutex2var_epi16(p0[pc], idx, p1[pc]);
            _mm512_store_si512(dst.add(pc * 512) as *mut __m512i, v);
        }
    }

    /// One B tile row: steps `2r` (`x0`) and `2r + 1` (`x1`) of 16 columns to the pieces'
    /// VNNI words (`dst`, `dst + 256`, `dst + 512` u32s).
    #[inline(always)]
    pub(super) unsafe fn b_row<const SCALED: bool>(
        x0: __m512,
        x1: __m512,
        scale: __m512,
        dst: *mut u32,
        st: &mut Stats,
    ) {
        let p0 = split::<SCALED>(x0, scale, st);
        let p1 = split::<SCALED>(x1, scale, st);
        for pc in 0..3 {
            let v = _mm512_or_si512(p1[pc], _mm512_srli_epi32(p0[pc], 16));
            _mm512_store_si512(dst.add(pc * 256) as *mut __m512i, v);
        }
    }

    /// The transpose of the 16 x 16 floats in `r` (row `i` in `r[i]`).
    #[inline(always)]
    pub(super) unsafe fn transpose16(r: &[__m512; 16]) -> [__m512; 16] {
        let mut a = [_mm512_setzero_ps(); 16];
        for i in 0..8 {
            a[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
            a[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
        }
        let mut b = [_mm512_setzero_ps(); 16];
        for i in 0..4 {
            let (a0, a1) = (_mm512_castps_pd(a[4 * i]), _mm512_castps_pd(a[4 * i + 1]));
            let (a2, a3) = (_mm512_castps_pd(a[4 * i + 2]), _mm512_castps_pd(a[4 * i + 3]));
            b[4 * i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a0, a2));
            b[4 * i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a0, a2));
            b[4 * i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(a1, a3));
            b[4 * i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(a1, a3));
        }
        let mut out = [_mm512_setzero_ps(); 16];
        for j in 0..4 {
            let c0 = _mm512_shuffle_f32x4(b[j], b[4 + j], 0x88);
            let c1 = _mm512_shuffle_f32x4(b[j], b[4 + j], 0xDD);
            let d0 = _mm512_shuffle_f32x4(b[8 + j], b[12 + j], 0x88);
            let d1 = _mm512_shuffle_f32x4(b[8 + j], b[12 + j], 0xDD);
            out[j] = _mm512_shuffle_f32x4(c0, d0, 0x88);
            out[8 + j] = _mm512_shuffle_f32x4(c0, d0, 0xDD);
            out[4 + j] = _mm512_shuffle_f32x4(c1, d1, 0x88);
            out[12 + j] = _mm512_shuffle_f32x4(c1, d1, 0xDD);
        }
        out
    }

    /// Lanes below `n` (at most 16).
    #[inline(always)]
    pub(super) fn mask(n: usize) -> __mmask16 {
        if n >= 16 {
            0xffff
        } else {
            ((1u32 << n) - 1) as __mmask16
        }
    }
}

/// Packs row blocks `rb0..rb1` of `op(a)` (`m x k`) into `dst` (every block's `chunks`
/// chunks, block `rb` at `dst + rb * chunks * 1536` u16), each element times `scale`.
///
/// # Safety
/// `a` describes a readable `m x k` matrix; `dst` holds the blocks' `u16`s, 64-byte aligned;
/// AVX-512F/BW (x86-64 only; [`super::available`]).
#[cfg(target_arch = "x86_64")]
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn pack_a(
    a: View,
    m: usize,
    k: usize,
    rb0: usize,
    rb1: usize,
    chunks: usize,
    scale: f32,
    dst: *mut u16,
) -> Range {
    // A scale of one (every product that needs none, and the kernels' kept copies) skips
    // the multiply: one vector operation of about eighteen per sixteen elements.
    if scale == 1.0 {
        pack_a_with::<false>(a, m, k, rb0, rb1, chunks, scale, dst)
    } else {
        pack_a_with::<true>(a, m, k, rb0, rb1, chunks, scale, dst)
    }
}

/// [`pack_a`] with the scale multiplied (`SCALED`) or one.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
#[allow(clippy::too_many_arguments)]
unsafe fn pack_a_with<const SCALED: bool>(
    a: View,
    m: usize,
    k: usize,
    rb0: usize,
    rb1: usize,
    chunks: usize,
    scale: f32,
    dst: *mut u16,
) -> Range {
    use std::arch::x86_64::*;
    let mut st = simd::stats();
    let sc = _mm512_set1_ps(scale);
    let zero = _mm512_setzero_ps();
    let mut t = [[0.0f32; 32]; 16];
    for rb in rb0..rb1 {
        let i0 = rb * 16;
        let rows = 16.min(m - i0);
        for c in 0..chunks {
            let p0 = c * 32;
            let steps = 32.min(k - p0);
            let d = dst.add((rb * chunks + c) * 1536);
            if a.cs == 1 {
                // Row-major: each tile row straight from its source row.
                let (m0, m1) = (simd::mask(steps), simd::mask(steps.saturating_sub(16)));
                for i in 0..16 {
                    if i < rows {
                        let src = a.ptr.add((i0 + i) * a.rs + p0);
                        let x0 = _mm512_maskz_loadu_ps(m0, src);
                        let x1 = _mm512_maskz_loadu_ps(m1, src.add(16));
                        simd::a_row::<SCALED>(x0, x1, sc, d.add(i * 32), &mut st);
                    } else {
                        simd::a_row::<SCALED>(zero, zero, sc, d.add(i * 32), &mut st);
                    }
                }
                continue;
            }
            if a.rs == 1 {
                // Transposed: each step's 16 rows are contiguous; two 16 x 16 transposes.
                let mk = simd::mask(rows);
                let mut half = [[zero; 16]; 2];
                for (h, out) in half.iter_mut().enumerate() {
                    let mut r = [zero; 16];
                    for (q, v) in r.iter_mut().enumerate() {
                        if 16 * h + q < steps {
                            *v = _mm512_maskz_loadu_ps(mk, a.ptr.add(i0 + (p0 + 16 * h + q) * a.cs));
                        }
                    }
                    *out = simd::transpose16(&r);
                }
                for (i, (&x0, &x1)) in half[0].iter().zip(&half[1]).enumerate() {
                    simd::a_row::<SCALED>(x0, x1, sc, d.add(i * 32), &mut st);
                }
                continue;
            }
            if rows < 16 || steps < 32 {
                t = [[0.0; 32]; 16];
            }
            {
                for (i, row) in t.iter_mut().enumerate().take(rows) {
                    for (q, v) in row.iter_mut().enumerate().take(steps) {
                        *v = *a.ptr.add((i0 + i) * a.rs + (p0 + q) * a.cs);
                    }
                }
            }
            for (i, row) in t.iter().enumerate() {
                let x0 = _mm512_loadu_ps(row.as_ptr());
                let x1 = _mm512_loadu_ps(row.as_ptr().add(16));
                simd::a_row::<SCALED>(x0, x1, sc, d.add(i * 32), &mut st);
            }
        }
    }
    let (max, min1) = simd::reduce(&st);
    Range { max, min_nz: min1.wrapping_add(1).max(min1) }
}

/// Packs chunks `ch0..ch1` (of `chunks`) of column blocks `cb0..cb1` of `op(b)` (`k x n`)
/// into `dst` (block `cb`'s chunk `c` at `dst + (cb * chunks + c) * 1536` u16), each element
/// times `scale`.
///
/// # Safety
/// As [`pack_a`], for `b` (`k x n`).
#[cfg(target_arch = "x86_64")]
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn pack_b(
    b: View,
    n: usize,
    k: usize,
    cb0: usize,
    cb1: usize,
    chunks: (usize, usize, usize),
    scale: f32,
    dst: *mut u16,
) -> Range {
    // As `pack_a`: no multiply by a scale of one.
    if scale == 1.0 {
        pack_b_with::<false, false>(b, n, k, cb0, cb1, chunks, scale, dst, std::ptr::null_mut())
    } else {
        pack_b_with::<true, false>(b, n, k, cb0, cb1, chunks, scale, dst, std::ptr::null_mut())
    }
}

/// [`pack_b`] of every chunk of column blocks `cb0..cb1` of a row-major `op(b)` (`b.cs ==
/// 1`) that also adds each of those columns (unscaled) to `sums[j]` step by step in order
/// (the rows as they are loaded for packing): the additions, and so the bits, of a serial
/// loop over the rows from `sums`' values.
///
/// # Safety
/// As [`pack_b`]; `b.cs == 1`; `sums` holds `n` writable floats.
#[cfg(target_arch = "x86_64")]
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn pack_b_summed(
    b: View,
    n: usize,
    k: usize,
    cb0: usize,
    cb1: usize,
    chunks: usize,
    scale: f32,
    dst: *mut u16,
    sums: *mut f32,
) -> Range {
    assert!(b.cs == 1 && !sums.is_null(), "pack_b_summed takes a row-major op(b) and sums");
    if scale == 1.0 {
        pack_b_with::<false, true>(b, n, k, cb0, cb1, (chunks, 0, chunks), scale, dst, sums)
    } else {
        pack_b_with::<true, true>(b, n, k, cb0, cb1, (chunks, 0, chunks), scale, dst, sums)
    }
}

/// [`pack_b`] with the scale multiplied (`SCALED`) or one; with `SUMMED` (row-major `op(b)`
/// only, `sums` non-null) as [`pack_b_summed`]. A const parameter, not a test of `sums`: the
/// plain packing (every product's and the kept copies' refresh) keeps its own loop, which a
/// run-time branch in it slowed (W1 -1.9% median, 7 of 8 pairs lower, BENCHMARKS.md "s23").
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
#[allow(clippy::too_many_arguments)]
unsafe fn pack_b_with<const SCALED: bool, const SUMMED: bool>(
    b: View,
    n: usize,
    k: usize,
    cb0: usize,
    cb1: usize,
    (chunks, ch0, ch1): (usize, usize, usize),
    scale: f32,
    dst: *mut u16,
    sums: *mut f32,
) -> Range {
    use std::arch::x86_64::*;
    let mut st = simd::stats();
    let sc = _mm512_set1_ps(scale);
    let zero = _mm512_setzero_ps();
    let mut t = [[0.0f32; 16]; 32];
    // A row-major `op(b)` chunks outer: read along its rows (sequential lines, which the
    // hardware prefetchers follow), not down 64-byte column strips (W1's forward: pack 83 ->
    // 68 us on two threads); any other, column blocks outer (a transposed one: along the
    // columns' steps, contiguous).
    let (blocks, span) = (cb1 - cb0, ch1 - ch0);
    for idx in 0..span * blocks {
        let (c, cb) = if b.cs == 1 {
            (ch0 + idx / blocks, cb0 + idx % blocks)
        } else {
            (ch0 + idx % span, cb0 + idx / span)
        };
        {
            let p0 = c * 32;
            let steps = 32.min(k - p0);
            let j0 = cb * 16;
            let cols = 16.min(n - j0);
            let d = dst.add((cb * chunks + c) * 1536) as *mut u32;
            if b.cs == 1 {
                // Row-major: each pair of source rows straight to a VNNI row.
                let mk = simd::mask(cols);
                let row = |q: usize| {
                    if q < steps {
                        _mm512_maskz_loadu_ps(mk, b.ptr.add((p0 + q) * b.rs + j0))
                    } else {
                        zero
                    }
                };
                if !SUMMED {
                    for r in 0..16 {
                        simd::b_row::<SCALED>(row(2 * r), row(2 * r + 1), sc, d.add(r * 16), &mut st);
                    }
                    continue;
                }
                // Chunks run in order for each column block: each column's steps are added
                // in order (the steps past `k` not at all).
                let mut acc = _mm512_maskz_loadu_ps(mk, sums.add(j0));
                for r in 0..16 {
                    let (x0, x1) = (row(2 * r), row(2 * r + 1));
                    if 2 * r < steps {
                        acc = _mm512_add_ps(acc, x0);
                    }
                    if 2 * r + 1 < steps {
                        acc = _mm512_add_ps(acc, x1);
                    }
                    simd::b_row::<SCALED>(x0, x1, sc, d.add(r * 16), &mut st);
                }
                _mm512_mask_storeu_ps(sums.add(j0), mk, acc);
                continue;
            }
            if b.rs == 1 {
                // Transposed: each column's steps are contiguous; two 16 x 16 transposes.
                for h in 0..2 {
                    let mk = simd::mask(steps.saturating_sub(16 * h));
                    let mut r = [zero; 16];
                    for (j, v) in r.iter_mut().enumerate().take(cols) {
                        *v = _mm512_maskz_loadu_ps(mk, b.ptr.add(p0 + 16 * h + (j0 + j) * b.cs));
                    }
                    let q = simd::transpose16(&r);
                    for r in 0..8 {
                        simd::b_row::<SCALED>(q[2 * r], q[2 * r + 1], sc, d.add((8 * h + r) * 16), &mut st);
                    }
                }
                continue;
            }
            if cols < 16 || steps < 32 {
                t = [[0.0; 16]; 32];
            }
            {
                for (q, row) in t.iter_mut().enumerate().take(steps) {
                    for (j, v) in row.iter_mut().enumerate().take(cols) {
                        *v = *b.ptr.add((p0 + q) * b.rs + (j0 + j) * b.cs);
                    }
                }
            }
            for r in 0..16 {
                let x0 = _mm512_loadu_ps(t[2 * r].as_ptr());
                let x1 = _mm512_loadu_ps(t[2 * r + 1].as_ptr());
                simd::b_row::<SCALED>(x0, x1, sc, d.add(r * 16), &mut st);
            }
        }
    }
    let (max, min1) = simd::reduce(&st);
    Range { max, min_nz: min1.wrapping_add(1).max(min1) }
}

/// No packing off x86-64 (never called: [`super::available`] is false there).
#[cfg(not(target_arch = "x86_64"))]
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn pack_a(
    _: View,
    _: usize,
    _: usize,
    _: usize,
    _: usize,
    _: usize,
    _: f32,
    _: *mut u16,
) -> Range {
    unreachable!("AMX is available on x86-64 only")
}

/// No packing off x86-64 (never called: [`super::available`] is false there).
#[cfg(not(target_arch = "x86_64"))]
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn pack_b(
    _: View,
    _: usize,
    _: usize,
    _: usize,
    _: usize,
    _: (usize, usize, usize),
    _: f32,
    _: *mut u16,
) -> Range {
    unreachable!("AMX is available on x86-64 only")
}
