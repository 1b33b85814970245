//! Splitting `f32` operands into three `bf16` pieces and packing them into AMX tiles.
//!
//! Each element `x` (times the operand's power-of-two scale) becomes `hi = bf16(x)`,
//! `mid = bf16(x - hi)`, `lo = bf16(x - hi - mid)` (round to nearest even; each difference is
//! exact in `f32`). `op(a)` goes to "A" tiles (16 rows of 32 steps), `op(b)` to "B" tiles in
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

/// `f32` bits rounded to the nearest `bf16` (ties to even), as `f32` bits (low half zero).
/// Meaningless (but no panic) for NaN.
#[inline(always)]
fn rne(b: u32) -> u32 {
    b.wrapping_add(0x7fff + ((b >> 16) & 1)) & 0xffff_0000
}

/// The three pieces of `x` as `f32` bit patterns with zero low halves.
#[inline(always)]
pub(super) fn split3(x: f32) -> (u32, u32, u32) {
    let h = rne(x.to_bits());
    let r1 = x - f32::from_bits(h);
    let m = rne(r1.to_bits());
    let r2 = r1 - f32::from_bits(m);
    (h, m, rne(r2.to_bits()))
}

/// Records `x` in the running `(max, min_nz - 1)` of magnitudes (zero wraps to `u32::MAX`).
#[inline(always)]
fn note(x: f32, max: &mut u32, min1: &mut u32) {
    let ab = x.to_bits() & 0x7fff_ffff;
    *max = (*max).max(ab);
    *min1 = (*min1).min(ab.wrapping_sub(1));
}

/// One A chunk from the `f32` tile `t` (row `i`, step `q`): piece `pc`'s row `i` at
/// `dst + pc * 512 + i * 32`.
#[cfg_attr(target_arch = "x86_64", target_feature(enable = "avx512f,avx512bw,avx512vl"))]
unsafe fn split_a(t: &[[f32; 32]; 16], scale: f32, dst: *mut u16, max: &mut u32, min1: &mut u32) {
    let (mut mx, mut mn) = (*max, *min1);
    for (i, row) in t.iter().enumerate() {
        let d = dst.add(i * 32);
        for (q, &x) in row.iter().enumerate() {
            note(x, &mut mx, &mut mn);
            let (h, m, l) = split3(x * scale);
            *d.add(q) = (h >> 16) as u16;
            *d.add(512 + q) = (m >> 16) as u16;
            *d.add(1024 + q) = (l >> 16) as u16;
        }
    }
    (*max, *min1) = (mx, mn);
}

/// One B chunk from the `f32` tile `t` (step `p`, column `j`): piece `pc`'s word `(p / 2, j)`
/// (steps `p` and `p + 1` of column `j`, the even one low) at `dst + pc * 256 + (p / 2) * 16 + j`.
#[cfg_attr(target_arch = "x86_64", target_feature(enable = "avx512f,avx512bw,avx512vl"))]
unsafe fn split_b(t: &[[f32; 16]; 32], scale: f32, dst: *mut u32, max: &mut u32, min1: &mut u32) {
    let (mut mx, mut mn) = (*max, *min1);
    for r in 0..16 {
        let d = dst.add(r * 16);
        let (e, o) = (&t[2 * r], &t[2 * r + 1]);
        for j in 0..16 {
            note(e[j], &mut mx, &mut mn);
            note(o[j], &mut mx, &mut mn);
            let (h0, m0, l0) = split3(e[j] * scale);
            let (h1, m1, l1) = split3(o[j] * scale);
            *d.add(j) = h1 | (h0 >> 16);
            *d.add(256 + j) = m1 | (m0 >> 16);
            *d.add(512 + j) = l1 | (l0 >> 16);
        }
    }
    (*max, *min1) = (mx, mn);
}

/// Packs row blocks `rb0..rb1` of `op(a)` (`m x k`) into `dst` (every block's `chunks`
/// chunks, block `rb` at `dst + rb * chunks * 1536` u16), each element times `scale`.
///
/// # Safety
/// `a` describes a readable `m x k` matrix; `dst` holds the blocks' `u16`s, 64-byte aligned.
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
    let (mut max, mut min1) = (0u32, u32::MAX);
    let mut t = [[0.0f32; 32]; 16];
    for rb in rb0..rb1 {
        let i0 = rb * 16;
        let rows = 16.min(m - i0);
        for c in 0..chunks {
            let p0 = c * 32;
            let steps = 32.min(k - p0);
            if rows < 16 || steps < 32 {
                t = [[0.0; 32]; 16];
            }
            if a.cs == 1 {
                for (i, row) in t.iter_mut().enumerate().take(rows) {
                    std::ptr::copy_nonoverlapping(a.ptr.add((i0 + i) * a.rs + p0), row.as_mut_ptr(), steps);
                }
            } else if a.rs == 1 {
                for q in 0..steps {
                    let src = a.ptr.add(i0 + (p0 + q) * a.cs);
                    for (i, row) in t.iter_mut().enumerate().take(rows) {
                        row[q] = *src.add(i);
                    }
                }
            } else {
                for (i, row) in t.iter_mut().enumerate().take(rows) {
                    for (q, v) in row.iter_mut().enumerate().take(steps) {
                        *v = *a.ptr.add((i0 + i) * a.rs + (p0 + q) * a.cs);
                    }
                }
            }
            split_a(&t, scale, dst.add((rb * chunks + c) * 1536), &mut max, &mut min1);
        }
    }
    Range { max, min_nz: min1.wrapping_add(1).max(min1) }
}

/// Packs column blocks `cb0..cb1` of `op(b)` (`k x n`) into `dst` (block `cb` at
/// `dst + cb * chunks * 1536` u16), each element times `scale`.
///
/// # Safety
/// `b` describes a readable `k x n` matrix; `dst` holds the blocks' `u16`s, 64-byte aligned.
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn pack_b(
    b: View,
    n: usize,
    k: usize,
    cb0: usize,
    cb1: usize,
    chunks: usize,
    scale: f32,
    dst: *mut u16,
) -> Range {
    let (mut max, mut min1) = (0u32, u32::MAX);
    let mut t = [[0.0f32; 16]; 32];
    for cb in cb0..cb1 {
        let j0 = cb * 16;
        let cols = 16.min(n - j0);
        for c in 0..chunks {
            let p0 = c * 32;
            let steps = 32.min(k - p0);
            if cols < 16 || steps < 32 {
                t = [[0.0; 16]; 32];
            }
            if b.cs == 1 {
                for (q, row) in t.iter_mut().enumerate().take(steps) {
                    std::ptr::copy_nonoverlapping(b.ptr.add((p0 + q) * b.rs + j0), row.as_mut_ptr(), cols);
                }
            } else if b.rs == 1 {
                for j in 0..cols {
                    let src = b.ptr.add(p0 + (j0 + j) * b.cs);
                    for (q, row) in t.iter_mut().enumerate().take(steps) {
                        row[j] = *src.add(q);
                    }
                }
            } else {
                for (q, row) in t.iter_mut().enumerate().take(steps) {
                    for (j, v) in row.iter_mut().enumerate().take(cols) {
                        *v = *b.ptr.add((p0 + q) * b.rs + (j0 + j) * b.cs);
                    }
                }
            }
            split_b(&t, scale, dst.add((cb * chunks + c) * 1536) as *mut u32, &mut max, &mut min1);
        }
    }
    Range { max, min_nz: min1.wrapping_add(1).max(min1) }
}
