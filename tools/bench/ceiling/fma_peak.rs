//! The fp32 FMA peak of this machine: independent AVX-512 (or AVX2) FMA chains on every
//! thread, no memory traffic. `rustc -O -C target-cpu=native fma_peak.rs && ./fma_peak [threads]`
use std::time::Instant;

#[inline(never)]
fn chains(iters: u64) -> f32 {
    use std::arch::x86_64::*;
    // SAFETY: the caller checked avx512f; registers only, no memory access.
    unsafe {
        // 12 independent accumulators hide the FMA latency on both pipes.
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

fn main() {
    assert!(is_x86_feature_detected!("avx512f"), "this probe needs AVX-512");
    let threads: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(2);
    let iters = 200_000_000u64 / 12;
    let mut best: f64 = 0.0;
    for _ in 0..5 {
        let t = Instant::now();
        let sums: Vec<f32> = std::thread::scope(|s| {
            let hs: Vec<_> = (0..threads).map(|_| s.spawn(|| chains(iters))).collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let secs = t.elapsed().as_secs_f64();
        let flops = 2.0 * 16.0 * 12.0 * iters as f64 * threads as f64;
        best = best.max(flops / secs / 1e9);
        assert!(sums.iter().all(|s| s.is_finite()));
    }
    println!("fp32 FMA peak, {threads} threads: {best:.0} GFLOP/s");
}
