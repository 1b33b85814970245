//! Run-time CPU dispatch for the engine's own loops.
//!
//! The crate is compiled for baseline x86-64 (SSE2) so that one binary runs on every CPU. Hot
//! loops written in plain Rust are compiled again with AVX2 or AVX-512 enabled by
//! `multiversion!`, and the widest version this CPU supports is picked when called. The
//! versions run the same scalar operations in the same order (Rust never contracts `a * b + c`
//! into a fused multiply-add), so every version gives bit-identical results; only the vector
//! width changes.
//!
//! `KERAS_ISA=baseline|avx2|avx512` caps the level (read once), to compare versions.

use std::sync::OnceLock;

/// An instruction-set level the engine's loops are compiled for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Isa {
    /// SSE2 (every x86-64 CPU) or a non-x86 target.
    Baseline,
    /// AVX2 with FMA (Haswell, Zen and later).
    Avx2,
    /// AVX-512 F/VL/BW/DQ (Skylake-SP, Ice Lake, Sapphire Rapids, Zen 4 and later).
    Avx512,
}

/// The widest level this CPU supports, capped by `KERAS_ISA` when set.
pub fn isa() -> Isa {
    static ISA: OnceLock<Isa> = OnceLock::new();
    *ISA.get_or_init(|| {
        let detected = detect();
        let cap = match std::env::var("KERAS_ISA").ok().as_deref() {
            Some("baseline") => Isa::Baseline,
            Some("avx2") => Isa::Avx2,
            _ => Isa::Avx512,
        };
        detected.min(cap)
    })
}

#[cfg(target_arch = "x86_64")]
fn detect() -> Isa {
    if is_x86_feature_detected!("avx512f")
        && is_x86_feature_detected!("avx512vl")
        && is_x86_feature_detected!("avx512bw")
        && is_x86_feature_detected!("avx512dq")
        && is_x86_feature_detected!("avx2")
        && is_x86_feature_detected!("fma")
    {
        Isa::Avx512
    } else if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
        Isa::Avx2
    } else {
        Isa::Baseline
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn detect() -> Isa {
    Isa::Baseline
}

/// Defines a function whose body is compiled three times (baseline, AVX2, AVX-512) and
/// dispatched on [`isa`]. The body must not rely on closures for its hot loop: a closure is
/// a separate function and does not inherit the enabled features.
macro_rules! multiversion {
    ($(#[$m:meta])* $vis:vis fn $name:ident($($a:ident: $t:ty),* $(,)?) $body:block) => {
        $(#[$m])*
        $vis fn $name($($a: $t),*) {
            #[inline(always)]
            #[allow(clippy::too_many_arguments)]
            fn body($($a: $t),*) $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")]
                #[allow(clippy::too_many_arguments)]
                unsafe fn avx512($($a: $t),*) {
                    body($($a),*)
                }
                #[target_feature(enable = "avx2,fma")]
                #[allow(clippy::too_many_arguments)]
                unsafe fn avx2($($a: $t),*) {
                    body($($a),*)
                }
                match $crate::kernels::simd::isa() {
                    // SAFETY: `isa()` checked at run time that this CPU has these features.
                    $crate::kernels::simd::Isa::Avx512 => return unsafe { avx512($($a),*) },
                    // SAFETY: as above.
                    $crate::kernels::simd::Isa::Avx2 => return unsafe { avx2($($a),*) },
                    $crate::kernels::simd::Isa::Baseline => {}
                }
            }
            body($($a),*)
        }
    };
}
pub(crate) use multiversion;

#[cfg(test)]
mod tests {
    use super::*;

    multiversion! {
        fn scaled_sum(xs: &[f32], k: f32, out: &mut [f32]) {
            for (o, x) in out.iter_mut().zip(xs) {
                *o += x * k;
            }
        }
    }

    #[test]
    fn a_multiversioned_loop_computes_what_its_body_says() {
        let xs: Vec<f32> = (0..37).map(|i| i as f32 * 0.5).collect();
        let mut out = vec![1.0f32; 37];
        scaled_sum(&xs, 2.0, &mut out);
        for (i, o) in out.iter().enumerate() {
            assert_eq!(*o, 1.0 + i as f32);
        }
    }

    #[test]
    fn the_detected_level_is_one_this_cpu_runs() {
        #[cfg(target_arch = "x86_64")]
        if isa() == Isa::Avx512 {
            assert!(is_x86_feature_detected!("avx512f"));
        }
        assert!(isa() <= Isa::Avx512);
    }
}
