//! The bf16 dot-product peak of this machine (AVX512-BF16 `vdpbf16ps`: 16 lanes, each adding
//! two bf16 products to an f32 accumulator), beside the fp32 FMA peak, on every thread, no
//! memory traffic. `rustc -O -C target-cpu=native bf16_peak.rs && ./bf16_peak [threads]`
//! The ceiling a `mixed_bfloat16` GEMM would have on CPUs with AVX512-BF16 and no AMX.
use std::time::Instant;

#[inline(never)]
fn bf16_chains(iters: u64) -> f32 {
    use std::arch::x86_64::*;
    // SAFETY: the caller checked avx512bf16; registers only, no memory access.
    unsafe {
        let a = _mm512_cvtne2ps_pbh(_mm512_set1_ps(0.5), _mm512_set1_ps(0.5));
        let b = _mm512_cvtne2ps_pbh(_mm512_set1_ps(1e-7), _mm512_set1_ps(1e-7));
        let mut acc = [_mm512_set1_ps(1.0); 12];
        for _ in 0..iters {
            for v in acc.iter_mut() {
                *v = _mm512_dpbf16_ps(*v, a, b);
            }
        }
        let mut s = _mm512_setzero_ps();
        for v in acc {
            s = _mm512_add_ps(s, v);
        }
        _mm512_reduce_add_ps(s)
    }
}

#[inline(never)]
fn fma_chains(iters: u64) -> f32 {
    use std::arch::x86_64::*;
    // SAFETY: the caller checked avx512f; registers only, no memory access.
    unsafe {
        let (a, b) = (_mm512_set1_ps(0.999_999), _mm512_set1_ps(1e-7));
        let mut acc = [_mm512_set1_ps(1.0); 12];
        for _ in 0..iters {
            for v in acc.iter_mut() {
                *v = _mm512_fmadd_ps(*v, a, b);
            }
        }
        let mut s = _mm512_setzero_ps();
        for v in acc {
            s = _mm512_add_ps(s, v);
        }
        _mm512_reduce_add_ps(s)
    }
}

/// Best of 5 runs of `f` on `threads` threads, in multiply-adds x 2 per second (GFLOP/s).
fn peak(threads: usize, iters: u64, macs_per_op: f64, f: fn(u64) -> f32) -> f64 {
    let mut best: f64 = 0.0;
    for _ in 0..5 {
        let t = Instant::now();
        let sums: Vec<f32> = std::thread::scope(|s| {
            let hs: Vec<_> = (0..threads).map(|_| s.spawn(move || f(iters))).collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let secs = t.elapsed().as_secs_f64();
        let flops = 2.0 * macs_per_op * 12.0 * iters as f64 * threads as f64;
        best = best.max(flops / secs / 1e9);
        assert!(sums.iter().all(|s| s.is_finite()));
    }
    best
}

fn main() {
    assert!(is_x86_feature_detected!("avx512bf16"), "this probe needs AVX512-BF16");
    let threads: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(2);
    let iters = 200_000_000u64 / 12;
    let fma = peak(threads, iters, 16.0, fma_chains);
    let bf16 = peak(threads, iters, 32.0, bf16_chains);
    println!("fp32 FMA peak, {threads} threads: {fma:.0} GFLOP/s");
    println!("bf16 vdpbf16ps peak, {threads} threads: {bf16:.0} GFLOP/s ({:.2}x)", bf16 / fma);
}
