//! Helpers shared by the engine's timing examples (not an example itself: Cargo only builds
//! `examples/*.rs` and `examples/*/main.rs`).
#![allow(dead_code)]

use keras_engine::Tensor;
use std::time::Instant;

/// `n` deterministic values in `(-1.7, 1.7)`, from `seed`.
pub fn raw_values(n: usize, seed: f32) -> Vec<f32> {
    (0..n).map(|i| ((i as f32 * 0.731 + seed).sin() * 1.7).fract()).collect()
}

/// A tensor of `shape` with values in `(-scale, scale)`.
pub fn values(shape: &[usize], seed: f32, scale: f32) -> Tensor {
    let n: usize = shape.iter().product();
    let v = raw_values(n, seed).into_iter().map(|x| x * scale).collect::<Vec<_>>();
    Tensor::new(v, shape.to_vec()).unwrap()
}

/// Median milliseconds of the runs in `ts`.
pub fn median_ms(mut ts: Vec<f64>) -> f64 {
    ts.sort_by(f64::total_cmp);
    ts[ts.len() / 2] * 1e3
}

/// This thread's fp32 FMA peak in GFLOP/s: 12 independent AVX-512 FMA chains in registers
/// for ~2 ms (the `tools/bench/ceiling/fma_peak.rs` probe), best of three; `None` without
/// AVX-512F. Measured beside every shape, so that "% of peak" shares the shape's minute.
pub fn fma_peak() -> Option<f64> {
    #[cfg(target_arch = "x86_64")]
    if is_x86_feature_detected!("avx512f") {
        #[target_feature(enable = "avx512f")]
        unsafe fn chains(iters: u64) -> f32 {
            use std::arch::x86_64::*;
            let (a, b) = (_mm512_set1_ps(0.999_999), _mm512_set1_ps(1e-7));
            let mut acc = [_mm512_set1_ps(1.0); 12];
            for _ in 0..iters {
                for v in acc.iter_mut() {
                    *v = _mm512_fmadd_ps(*v, a, b);
                }
            }
            _mm512_reduce_add_ps(acc.iter().fold(_mm512_setzero_ps(), |s, v| _mm512_add_ps(s, *v)))
        }
        let iters = 200_000u64;
        let best = (0..3)
            .map(|_| {
                let t = Instant::now();
                // SAFETY: AVX-512F checked above; registers only.
                std::hint::black_box(unsafe { chains(std::hint::black_box(iters)) });
                t.elapsed().as_secs_f64()
            })
            .fold(f64::MAX, f64::min);
        return Some((iters * 12 * 16 * 2) as f64 / best / 1e9);
    }
    None
}
