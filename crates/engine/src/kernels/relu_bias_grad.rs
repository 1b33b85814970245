//! A fused ReLU's gradient and the bias gradient in one pass over the output gradient.
//!
//! A convolution with a fused ReLU keeps only its output's sign mask for the backward
//! ([`crate::ops::linalg::relu_sign_mask`]); the backward zeroed the gradient where the mask
//! is clear (one pass over `dy`, read and write) and then summed it over the positions for
//! the bias (a second pass, read). A W2 CNN's conv gradients are 3.7 and 6.4 MB at batch 32,
//! beyond a 2 MiB L2, so each pass comes from L3 or memory. [`relu_masked_bias_grad`] does
//! both in one pass: it loads 16 channels with the mask's bits as the load mask (clear bits
//! load 0.0), stores them back and adds them to the column sums.
//!
//! Same bits as the two passes: the stored values are `dy` or 0.0 as in
//! [`crate::ops::linalg::relu_grad_from_mask`], and each channel's sum runs over the
//! positions in order from 0.0, as in [`super::conv::bias_grad`]. The channels are split
//! over the threads at 64-byte line boundaries of the buffer (its address decides where),
//! so no two threads write one cache line.

#[cfg(target_arch = "x86_64")]
use rayon::prelude::*;

/// Floats per cache line and per AVX-512 vector.
const LINE: usize = 16;
/// Most lines a thread sums in one pass over the positions (accumulators in registers).
#[cfg(target_arch = "x86_64")]
const GROUP: usize = 8;

/// `dy[i] = 0.0` where bit `i % 64` of `mask[i / 64]` is clear, and `db[c]` = the sum over
/// all positions of the (masked) `dy[.., c]`, for the channels-last `dy` with `c_out`
/// channels. Returns `false`, changing nothing, where the fused pass does not apply (no
/// AVX-512F, `c_out` not a multiple of 16, or a small `dy`): the caller then runs the two
/// passes.
///
/// # Panics
/// If `db.len() != c_out`, `dy.len()` is not a multiple of `c_out`, or `mask` is shorter
/// than `dy.len()` bits (an engine bug).
pub(crate) fn relu_masked_bias_grad(dy: &mut [f32], mask: &[u64], c_out: usize, db: &mut [f32]) -> bool {
    assert_eq!(db.len(), c_out, "relu_masked_bias_grad: db length");
    if c_out == 0 || !c_out.is_multiple_of(LINE) || dy.len() < super::conv::BIAS_GRAD_PARALLEL_MIN {
        return false;
    }
    assert_eq!(dy.len() % c_out, 0, "relu_masked_bias_grad: dy length not a multiple of c_out");
    assert!(mask.len() * 64 >= dy.len(), "relu_masked_bias_grad: mask shorter than dy");
    #[cfg(target_arch = "x86_64")]
    if super::simd::isa() == super::simd::Isa::Avx512 {
        // Lines of a row: the row stride (c_out floats) is whole lines, so every row starts
        // at the same phase `p` within a line and line `l` holds columns `16 l - p ..`.
        let phase = (dy.as_ptr() as usize / 4) % LINE;
        let lines = (phase + c_out).div_ceil(LINE);
        // The threads split the row at 128-byte boundaries (pairs of lines): the L2's
        // adjacent-line prefetcher fetches a line's pair, so a split between the two lines
        // of a pair makes both threads read it. With rows of whole pairs (`c_out` a multiple
        // of 32) the pairs fall alike in every row; otherwise one thread does all.
        let odd = (dy.as_ptr() as usize / 4 - phase) / LINE % 2;
        let pairs = (odd + lines).div_ceil(2);
        let threads =
            if c_out.is_multiple_of(2 * LINE) { crate::parallel::num_threads().clamp(1, pairs) } else { 1 };
        let out = Ptr(dy.as_mut_ptr());
        let len = dy.len();
        let sums: Vec<(usize, Vec<f32>)> = (0..threads)
            .into_par_iter()
            .map(|t| {
                let at = |p: usize| (2 * p).saturating_sub(odd).min(lines);
                let (l0, l1) = (at(t * pairs / threads), at((t + 1) * pairs / threads));
                let mut s = vec![0.0f32; (l1 - l0) * LINE];
                for g0 in (l0..l1).step_by(GROUP) {
                    let g1 = (g0 + GROUP).min(l1);
                    // SAFETY: isa() checked AVX-512F; threads write disjoint lines of `dy`,
                    // whose `len` floats and `mask` bits the asserts above bound.
                    unsafe { lines_avx512(out, len, mask, c_out, phase, g0, g1, &mut s[(g0 - l0) * LINE..]) };
                }
                (l0, s)
            })
            .collect();
        for (l0, s) in sums {
            for (j, v) in s.into_iter().enumerate() {
                // Lane j of line l0 + j / 16 is column 16 (l0 + j / 16) + j % 16 - phase.
                let c = (l0 * LINE + j).wrapping_sub(phase);
                if c < c_out {
                    db[c] = v;
                }
            }
        }
        return true;
    }
    let _ = mask;
    false
}

/// `dy`'s buffer, shared by the threads, each writing its own lines (only the AVX-512 path
/// uses it).
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
struct Ptr(*mut f32);
// SAFETY: the threads write disjoint cache lines of the buffer.
#[cfg(target_arch = "x86_64")]
unsafe impl Send for Ptr {}
#[cfg(target_arch = "x86_64")]
unsafe impl Sync for Ptr {}

/// Bits `s .. s + 16` of the mask (0 for bits before 0 or past the end).
#[inline(always)]
#[cfg(any(target_arch = "x86_64", test))]
fn bits16(mask: &[u64], s: isize) -> u16 {
    if s < 0 {
        return if s > -(LINE as isize) { bits16(mask, 0) << (-s) as u32 } else { 0 };
    }
    let (w, o) = (s as usize / 64, s as usize % 64);
    let lo = mask.get(w).map_or(0, |&m| m >> o);
    let hi = if o > 64 - LINE { mask.get(w + 1).map_or(0, |&m| m << (64 - o)) } else { 0 };
    (lo | hi) as u16
}

/// Lines `g0..g1` (at most [`GROUP`]) of every row: masked in place, summed into `sums`
/// (16 floats a line, lanes outside the row left 0.0).
///
/// # Safety
/// AVX-512F; `dy` holds `len` floats, `mask` at least `len` bits, and no other thread
/// touches these lines.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)]
unsafe fn lines_avx512(
    dy: Ptr,
    len: usize,
    mask: &[u64],
    c_out: usize,
    phase: usize,
    g0: usize,
    g1: usize,
    sums: &mut [f32],
) {
    use std::arch::x86_64::*;
    let n = g1 - g0;
    let mut acc = [_mm512_setzero_ps(); GROUP];
    // Lanes of each line inside the row (all but the first and last line are whole).
    let valid: [u16; GROUP] = std::array::from_fn(|i| {
        let first = ((g0 + i) * LINE) as isize - phase as isize;
        (0..LINE).fold(0u16, |m, j| {
            let c = first + j as isize;
            if c >= 0 && (c as usize) < c_out {
                m | (1u16 << j)
            } else {
                m
            }
        })
    });
    for row in 0..len / c_out {
        let base = (row * c_out) as isize - phase as isize;
        for i in 0..n {
            let first = base + ((g0 + i) * LINE) as isize;
            let keep = valid[i] & bits16(mask, first);
            // Lanes outside the row are neither read nor written (masked off).
            let p = dy.0.wrapping_offset(first);
            let v = _mm512_maskz_loadu_ps(keep, p);
            _mm512_mask_storeu_ps(p, valid[i], v);
            acc[i] = _mm512_add_ps(acc[i], v);
        }
    }
    for (i, a) in acc.iter().enumerate().take(n) {
        _mm512_storeu_ps(sums.as_mut_ptr().add(i * LINE), *a);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_pass_gives_the_bits_of_the_mask_pass_then_the_bias_sums() {
        for c_out in [16usize, 32, 64, 48] {
            let rows = (1 << 16) / c_out + 37;
            let n = rows * c_out;
            let y: Vec<f32> = (0..n).map(|i| ((i as f32 * 0.37).sin() * 3.1).fract()).collect();
            let dy0: Vec<f32> = (0..n).map(|i| ((i as f32 * 0.11 + 1.0).cos() * 2.3).fract()).collect();
            let mask = crate::ops::linalg::relu_sign_mask(&y);
            // Every phase of the buffer within a cache line (the split depends on it).
            for shift in 0..LINE {
                let mut buf = vec![0.0f32; n + LINE];
                buf[shift..shift + n].copy_from_slice(&dy0);
                let mut db = vec![f32::NAN; c_out];
                if !relu_masked_bias_grad(&mut buf[shift..shift + n], &mask, c_out, &mut db) {
                    return; // no AVX-512F: the two passes run
                }
                let want: Vec<f32> =
                    dy0.iter().enumerate().map(|(i, &d)| if y[i] > 0.0 { d } else { 0.0 }).collect();
                let mut want_db = vec![0.0f32; c_out];
                crate::kernels::conv::bias_grad(&want, c_out, &mut want_db);
                let bits = |x: &[f32]| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&buf[shift..shift + n]), bits(&want), "c_out {c_out} shift {shift}");
                assert_eq!(bits(&db), bits(&want_db), "c_out {c_out} shift {shift}");
                assert!(buf[..shift].iter().chain(&buf[shift + n..]).all(|&v| v == 0.0));
            }
        }
    }

    #[test]
    fn shapes_it_does_not_fuse_are_left_alone() {
        let mut dy = vec![1.0f32; 1 << 16];
        let mask = vec![0u64; 1 << 10];
        let mut db = vec![0.0f32; 24];
        assert!(!relu_masked_bias_grad(&mut dy, &mask, 24, &mut db));
        let mut small = vec![1.0f32; 64];
        let mut db16 = vec![0.0f32; 16];
        assert!(!relu_masked_bias_grad(&mut small, &mask, 16, &mut db16));
        assert!(dy.iter().chain(&small).all(|&v| v == 1.0));
    }

    #[test]
    fn mask_bits_across_words_and_before_the_start() {
        let mask = [0xF000_0000_0000_0001u64, 0x0000_0000_0000_00FF];
        assert_eq!(bits16(&mask, 0), 1);
        assert_eq!(bits16(&mask, 56), 0xFFF0);
        assert_eq!(bits16(&mask, -4), 0x10);
        assert_eq!(bits16(&mask, 120), 0);
    }
}
