//! The fp32 FMA peak of this machine (independent AVX-512 FMA chains on every thread, no
//! memory traffic) and, where the CPU has AVX512-BF16, the bf16 `vdpbf16ps` peak beside it in
//! the same process (each of its 16 lanes adds two bf16 products to an f32 accumulator: the
//! ceiling of a `mixed_bfloat16` GEMM on CPUs without AMX).
//! `rustc -O -C target-cpu=native fma_peak.rs && ./fma_peak [threads]`
use std::time::Instant;

/// A function running 12 independent accumulator chains of one multiply-add instruction
/// (12 chains hide its latency on both pipes); registers only.
macro_rules! chains {
    ($name:ident, $a:expr, $b:expr, $step:ident) => {
        #[inline(never)]
        fn $name(iters: u64) -> f32 {
            use std::arch::x86_64::*;
            // SAFETY: the caller checked the CPU feature; registers only, no memory access.
            unsafe {
                let (a, b) = ($a, $b);
                let mut acc = [_mm512_set1_ps(1.0); 12];
                for _ in 0..iters {
                    for v in acc.iter_mut() {
                        *v = $step(*v, a, b);
                    }
                }
                let mut s = _mm512_setzero_ps();
                for v in acc {
                    s = _mm512_add_ps(s, v);
                }
                _mm512_reduce_add_ps(s)
            }
        }
    };
}

chains!(fma_chains, _mm512_set1_ps(0.999_999), _mm512_set1_ps(1e-7), _mm512_fmadd_ps);
chains!(
    bf16_chains,
    _mm512_cvtne2ps_pbh(_mm512_set1_ps(0.5), _mm512_set1_ps(0.5)),
    _mm512_cvtne2ps_pbh(_mm512_set1_ps(1e-7), _mm512_set1_ps(1e-7)),
    _mm512_dpbf16_ps
);

/// Best of 5 runs of `f` on `threads` threads, in GFLOP/s (a multiply-add counts 2);
/// `macs` = multiply-adds per instruction.
fn peak(threads: usize, macs: f64, f: fn(u64) -> f32) -> f64 {
    let iters = 200_000_000u64 / 12;
    let mut best: f64 = 0.0;
    for _ in 0..5 {
        let t = Instant::now();
        let sums: Vec<f32> = std::thread::scope(|s| {
            let hs: Vec<_> = (0..threads).map(|_| s.spawn(move || f(iters))).collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let secs = t.elapsed().as_secs_f64();
        best = best.max(2.0 * macs * 12.0 * iters as f64 * threads as f64 / secs / 1e9);
        assert!(sums.iter().all(|s| s.is_finite()));
    }
    best
}

fn main() {
    assert!(is_x86_feature_detected!("avx512f"), "this probe needs AVX-512");
    let threads: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(2);
    let fma = peak(threads, 16.0, fma_chains);
    println!("fp32 FMA peak, {threads} threads: {fma:.0} GFLOP/s");
    if is_x86_feature_detected!("avx512bf16") {
        let bf16 = peak(threads, 32.0, bf16_chains);
        println!("bf16 vdpbf16ps peak, {threads} threads: {bf16:.0} GFLOP/s ({:.2}x)", bf16 / fma);
    }
}
