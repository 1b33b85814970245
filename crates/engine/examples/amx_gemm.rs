//! Times the AMX split-bf16 GEMM ([`keras_engine::kernels::amx`]) against the engine's own
//! FMA GEMM on W1's six products (MLP 784 -> 512 -> 512 -> 10, batch 128), at 2 and 1
//! threads: the whole call of each (runs alternating, medians), then the AMX call's two
//! phases apart (split + pack of both operands; the kernels on the packed data, the
//! ceiling), with effective GFLOP/s (`2 m n k` over the time).
//!
//! `KERAS_NUM_THREADS=2 chrt -f 1 target/release/examples/amx_gemm [REPS [FILTER]]` (default
//! 201 reps, every product; FILTER: a substring of the products' names).
//! BENCHMARKS.md "amx20".

use keras_engine::kernels::amx::{
    available, bench_gemm, bench_kernel, bench_phases, bench_shared_b, BenchEngine,
};
use std::time::Instant;

/// `n` deterministic values in `(-1, 1)`.
fn values(n: usize, seed: u32) -> Vec<f32> {
    let mut s = seed.wrapping_mul(2654435761).wrapping_add(12345);
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(1664525).wrapping_add(1013904223);
            (s >> 8) as f32 / (1u32 << 23) as f32 - 1.0
        })
        .collect()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let reps: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(201);
    let filter = std::env::args().nth(2).unwrap_or_default();
    let pool = keras_engine::parallel::num_threads();
    if !available() {
        println!("AMX not available here (or KERAS_AMX=0)");
        return;
    }
    for chunks in [1, 2, 4, 16] {
        for varied in [false, true] {
            let ns = bench_kernel(chunks, 20_000 / chunks, varied).unwrap();
            println!(
                "kernel ceiling (32 x 32, L1): {chunks} chunks, {} data: {ns:.2} ns per TDP",
                if varied { "varied" } else { "constant" }
            );
        }
    }
    // (name, m, k, n, op(a) transposed in memory, op(b) transposed in memory)
    let shapes = [
        ("fwd1 x W1", 128, 784, 512, false, false),
        ("fwd2 h W2", 128, 512, 512, false, false),
        ("head h W3", 128, 512, 10, false, false),
        ("dX2 dY W2^T", 128, 512, 512, false, true),
        ("dW1 x^T dY", 784, 128, 512, true, false),
        ("dW2 h^T dY", 512, 128, 512, true, false),
    ];
    println!("pool {pool} threads, {reps} reps; us (GFLOP/s)");
    println!(
        "{:<12} {:>15} {:>3} {:>16} {:>16} {:>6} {:>16} {:>16} {:>10}",
        "product", "m x k x n", "thr", "amx call", "own fma", "ratio", "amx pack", "amx kernels", "max|diff|"
    );
    shared_products(reps, pool);
    let mut totals = [[0.0f64; 4]; 2];
    for threads in [2, 1] {
        if threads > pool {
            continue;
        }
        for &(name, m, k, n, ta, tb) in &shapes {
            if !name.contains(filter.as_str()) {
                continue;
            }
            let a = values(m * k, (m + 3 * k) as u32);
            let b = values(k * n, (n + 5 * k) as u32);
            let (mut c1, mut c2) = (vec![0.0f32; m * n], vec![0.0f32; m * n]);
            let mut amx =
                || assert!(bench_gemm(BenchEngine::Amx, (m, n, k), &a, ta, &b, tb, &mut c1, false, threads));
            let mut fma =
                || assert!(bench_gemm(BenchEngine::Fma, (m, n, k), &a, ta, &b, tb, &mut c2, false, threads));
            amx();
            fma();
            let (mut ta_us, mut tf_us) = (Vec::new(), Vec::new());
            // `AMX_ALONE=1`: each engine's runs back to back instead of alternating.
            let alone = std::env::var("AMX_ALONE").is_ok();
            for _ in 0..reps {
                let t = Instant::now();
                amx();
                ta_us.push(t.elapsed().as_secs_f64() * 1e6);
                if alone {
                    continue;
                }
                let t = Instant::now();
                fma();
                tf_us.push(t.elapsed().as_secs_f64() * 1e6);
            }
            if alone {
                for _ in 0..reps {
                    let t = Instant::now();
                    fma();
                    tf_us.push(t.elapsed().as_secs_f64() * 1e6);
                }
            }
            let (ua, uf) = (median(ta_us), median(tf_us));
            let diff = c1.iter().zip(&c2).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
            let mut c3 = vec![0.0f32; m * n];
            let (up, uk) = bench_phases((m, n, k), &a, ta, &b, tb, &mut c3, threads, reps).expect("phases");
            let gf = |us: f64| 2.0 * (m * n * k) as f64 / us / 1e3;
            let t = &mut totals[threads - 1];
            t[0] += ua;
            t[1] += uf;
            t[2] += up;
            t[3] += uk;
            println!(
                "{name:<12} {:>15} {threads:>3} {ua:>8.1} ({:>5.0}) {uf:>8.1} ({:>5.0}) {:>6.2} {up:>8.1} ({:>5.0}) {uk:>8.1} ({:>5.0}) {diff:>10.2e}",
                format!("{m}x{k}x{n}"),
                gf(ua),
                gf(uf),
                uf / ua,
                gf(up),
                gf(uk),
            );
        }
        let t = totals[threads - 1];
        println!(
            "{:<12} {:>15} {threads:>3} {:>8.1}         {:>8.1}         {:>6.2} {:>8.1}         {:>8.1}",
            "sum",
            "",
            t[0],
            t[1],
            t[1] / t[0],
            t[2],
            t[3]
        );
    }
}

/// W3's two weight gradients (`X^T dZ`, `H^T dZ`, 128 x 2560 x 512 each, batch 32 over 80
/// steps) and `dZ`'s column sums in one shared-operand call of each engine, alternating,
/// with a `dZ` element at `2^-104` as a saturated gate leaves them (the AMX call scales).
fn shared_products(reps: usize, pool: usize) {
    let (k, d, u, gu) = (2560, 128, 128, 512);
    let (x, h) = (values(k * d, 7), values(k * u, 8));
    let mut dz = values(k * gu, 9);
    dz[5] = 2f32.powi(-104);
    let lefts = [(&x[..], d), (&h[..], u)];
    for threads in [2, 1] {
        if threads > pool {
            continue;
        }
        let mut outs = [
            vec![vec![0.0f32; d * gu], vec![0.0f32; u * gu]],
            vec![vec![0.0f32; d * gu], vec![0.0f32; u * gu]],
        ];
        let mut us = [Vec::new(), Vec::new()];
        for rep in 0..reps + 1 {
            for (e, engine) in [BenchEngine::Amx, BenchEngine::Fma].into_iter().enumerate() {
                let mut sums = vec![0.0f32; gu];
                let t = Instant::now();
                assert!(
                    bench_shared_b(engine, &lefts, (gu, k), &dz, &mut outs[e], &mut sums, threads),
                    "{engine:?}"
                );
                if rep > 0 {
                    us[e].push(t.elapsed().as_secs_f64() * 1e6);
                }
            }
        }
        let diff = outs[0]
            .iter()
            .flatten()
            .zip(outs[1].iter().flatten())
            .map(|(p, q)| (p - q).abs())
            .fold(0.0f32, f32::max);
        let (ua, uf) = (median(us[0].clone()), median(us[1].clone()));
        println!(
            "W3 weight gradients, shared dZ (2 x {d}x{k}x{gu} + column sums), {threads} threads: amx {ua:.1} us, own fma {uf:.1} us, ratio {:.2}, max|diff| {diff:.2e}",
            uf / ua
        );
    }
}
