//! Correctly rounded float32 square roots on the FMA units (AVX-512F), for loops bound by the
//! divider: `vsqrtps` and `vdivps` share the core's one divide/square-root unit (about 12 and
//! 8-10 cycles per 16 floats), while fused multiply-adds issue on two ports every cycle.
//!
//! [`sqrt16`] starts from `vrsqrt14ps` (`y ~ 1/sqrt(v)`, relative error below `2^-14`),
//! takes one coupled Newton step on `s ~ sqrt(v)` and `h ~ 1/(2 sqrt(v))` (about 28 bits, then
//! rounded to a float `s` within a little over half an ulp), and ends with the residual
//! correction `RN(s + (v - s*s) * h)`, whose residual `v - s*s` is exact in one fused
//! multiply-add (Markstein; Muller et al., *Handbook of Floating-Point Arithmetic*, the
//! FMA-based square root). That last step's error bound (about `2^-49` relative, against
//! midpoints that `sqrt` can approach to `2^-51`) does not prove correct rounding for every
//! input, so the function is **verified exhaustively**: the test
//! `fma_sqrt_gives_vsqrtps_bits_for_every_float_in_its_domain` compares it with `vsqrtps`,
//! bit for bit, for every float32 in `[2^-100, f32::MAX]` ([`LO_BITS`], [`HI_BITS`]).
//! Outside that domain (zeros, subnormals, tiny values whose residual would underflow,
//! infinities, NaNs, negatives) callers use `vsqrtps`. The estimate instruction's exact
//! output depends on the CPU's implementation (Intel documents its tables; the proof is
//! the test on the CPU it runs on). Cheaper sequences fail that test on an Intel Xeon
//! (family 6 model 207): the correction with the unrefined `h` after a Newton step on `s`
//! only, 13,110 inputs of the domain; two residual corrections with the unrefined `h`,
//! 12,198.

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

/// The bits of `2^-100`, the smallest input [`sqrt16`] serves: below it the residual
/// `v - s*s` (about `2^-24 v`) may be subnormal and inexact.
pub(crate) const LO_BITS: u32 = 27 << 23;
/// The bits of `f32::MAX`, the largest input [`sqrt16`] serves. Read as unsigned integers the
/// bits of `-0.0`, negatives, infinities and NaNs all lie above it.
pub(crate) const HI_BITS: u32 = 0x7f7f_ffff;

/// The correctly rounded square roots of 16 floats whose bits lie in `[LO_BITS, HI_BITS]`
/// (other lanes: unspecified values), without the divider. Same bits as `_mm512_sqrt_ps` on
/// that domain (exhaustive test below).
#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "avx512f")]
pub(crate) fn sqrt16(v: __m512) -> __m512 {
    let half = _mm512_set1_ps(0.5);
    let y = _mm512_rsqrt14_ps(v);
    let s = _mm512_mul_ps(v, y);
    let h = _mm512_mul_ps(y, half);
    // One Newton step on both: r = 1/2 - s*h, s += s*r, h += h*r.
    let r = _mm512_fnmadd_ps(s, h, half);
    let s = _mm512_fmadd_ps(s, r, s);
    let h = _mm512_fmadd_ps(h, r, h);
    // The correction: d = v - s*s exactly, then RN(s + d*h).
    let d = _mm512_fnmadd_ps(s, s, v);
    _mm512_fmadd_ps(d, h, s)
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use super::*;
    use crate::kernels::simd::{isa, Isa};

    /// Runs [`sqrt16`] over every float of `[from, to]` (bits, 16 at a time; in debug builds
    /// every 61st vector only), comparing with `vsqrtps`; returns the number of differing
    /// lanes and the first few differing inputs.
    #[target_feature(enable = "avx512f")]
    fn mismatches(from: u32, to: u32) -> (u64, Vec<u32>) {
        let step: u32 = if cfg!(debug_assertions) { 61 * 16 } else { 16 };
        let lanes = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
        let (mut count, mut first) = (0u64, Vec::new());
        let mut b = from;
        loop {
            // The lanes past `to` repeat `to`.
            let bits = _mm512_min_epu32(
                _mm512_add_epi32(_mm512_set1_epi32(b as i32), lanes),
                _mm512_set1_epi32(to as i32),
            );
            let v = _mm512_castsi512_ps(bits);
            let diff = _mm512_cmpneq_epi32_mask(
                _mm512_castps_si512(sqrt16(v)),
                _mm512_castps_si512(_mm512_sqrt_ps(v)),
            );
            if diff != 0 {
                count += u64::from(diff.count_ones());
                let mut lane = [0u32; 16];
                // SAFETY: 16 u32 lanes.
                unsafe { _mm512_storeu_si512(lane.as_mut_ptr().cast(), bits) };
                first.extend((0..16).filter(|&k| diff >> k & 1 == 1).map(|k| lane[k]).take(4));
                first.truncate(8);
            }
            match b.checked_add(step) {
                Some(next) if next <= to => b = next,
                _ => break,
            }
        }
        (count, first)
    }

    #[test]
    fn fma_sqrt_gives_vsqrtps_bits_for_every_float_in_its_domain() {
        if isa() < Isa::Avx512 {
            return;
        }
        // SAFETY: AVX-512F checked above.
        let (count, first) = unsafe { mismatches(LO_BITS, HI_BITS) };
        let first: Vec<f32> = first.into_iter().map(f32::from_bits).collect();
        assert_eq!(count, 0, "first differing inputs: {first:?}");
    }

    /// The domain's bounds are where they are said to be, and the values outside it are the
    /// ones callers send to `vsqrtps`.
    #[test]
    fn the_domain_is_2_to_the_minus_100_through_the_largest_float() {
        assert_eq!(f32::from_bits(LO_BITS), 2f32.powi(-100));
        assert_eq!(f32::from_bits(HI_BITS), f32::MAX);
        let inside = |x: f32| (LO_BITS..=HI_BITS).contains(&x.to_bits());
        for x in [
            0.0f32,
            -0.0,
            f32::MIN_POSITIVE,
            1e-40,
            -1.0,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
            -f32::NAN,
        ] {
            assert!(!inside(x), "{x}");
        }
        for x in [2f32.powi(-100), 1e-8, 1.0, 3.0e38, f32::MAX] {
            assert!(inside(x), "{x}");
        }
    }
}
