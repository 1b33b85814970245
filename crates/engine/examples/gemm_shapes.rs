//! Times the engine's GEMM ([`keras_engine::kernels::matmul::matmul`]) on the shapes of the
//! benchmark workloads and prints GFLOP/s per shape (median of REPS runs after a warm-up), beside the `gemm`-crate path's.
//!
//! `cargo run --release -p keras-engine --example gemm_shapes [-- REPS [FILTER]]`; the thread
//! count comes from `KERAS_NUM_THREADS` (default: every core). The last columns time the
//! `gemm`-crate path ([`matmul_gemm_crate`]) on the same shape, for comparison; with
//! `KERAS_SGEMM=all` the first columns time the engine's own GEMM on every layout (by default
//! it runs only the products with a transposed right operand and no more rows than columns).

use keras_engine::kernels::matmul::{matmul, matmul_gemm_crate, Trans};
use std::time::Instant;

fn values(n: usize, seed: f32) -> Vec<f32> {
    (0..n).map(|i| ((i as f32 * 0.731 + seed).sin() * 1.7).fract()).collect()
}

/// Median seconds of `reps` runs of `f` and of `g` (after one warm-up run each), the runs
/// alternating so that both see the same load on a shared machine.
fn time_pair(reps: usize, mut f: impl FnMut(), mut g: impl FnMut()) -> (f64, f64) {
    f();
    g();
    let run = |h: &mut dyn FnMut()| {
        let t = Instant::now();
        h();
        t.elapsed().as_secs_f64()
    };
    let (mut tf, mut tg): (Vec<f64>, Vec<f64>) = (0..reps).map(|_| (run(&mut f), run(&mut g))).unzip();
    tf.sort_by(f64::total_cmp);
    tg.sort_by(f64::total_cmp);
    (tf[reps / 2], tg[reps / 2])
}

fn main() {
    let reps: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(51);
    let filter = std::env::args().nth(2).unwrap_or_default();
    println!("threads {}", keras_engine::parallel::num_threads());
    // (name, m, n, k, op(a), op(b)): c[m x n] = op(a)[m x k] @ op(b)[k x n].
    let shapes = [
        ("W1 dense1 forward", 128, 512, 784, Trans::No, Trans::No),
        ("W1 dense2 forward", 128, 512, 512, Trans::No, Trans::No),
        ("W1 dense2 input grad (dY W^T)", 128, 512, 512, Trans::No, Trans::Yes),
        ("W1 dense1 kernel grad (X^T dY)", 784, 512, 128, Trans::Yes, Trans::No),
        ("W1 dense2 kernel grad (X^T dY)", 512, 512, 128, Trans::Yes, Trans::No),
        ("W3 lstm step (h U)", 32, 512, 128, Trans::No, Trans::No),
        ("W3 lstm step input grad (dZ U^T)", 32, 128, 512, Trans::No, Trans::Yes),
        ("W3 lstm inputs (x W)", 2560, 512, 128, Trans::No, Trans::No),
        ("W3 lstm input grad (dZ W^T)", 2560, 128, 512, Trans::No, Trans::Yes),
        ("W2 dense forward", 32, 128, 12544, Trans::No, Trans::No),
        ("W2 dense input grad (dY W^T)", 32, 12544, 128, Trans::No, Trans::Yes),
        ("W2 dense kernel grad", 12544, 128, 32, Trans::Yes, Trans::No),
        ("W2 conv2 im2col forward", 25088, 64, 288, Trans::No, Trans::No),
        ("square 1024", 1024, 1024, 1024, Trans::No, Trans::No),
    ];
    for (name, m, n, k, ta, tb) in shapes {
        if !name.contains(filter.as_str()) {
            continue;
        }
        let a = values(m * k, 0.1);
        let b = values(k * n, 0.7);
        let mut c = vec![0.0f32; m * n];
        let mut c2 = c.clone();
        let (s, s_old) = time_pair(
            reps,
            || matmul(m, n, k, &a, ta, &b, tb, &mut c, false),
            || matmul_gemm_crate(m, n, k, &a, ta, &b, tb, &mut c2, false),
        );
        let gf = |s: f64| 2.0 * (m * n * k) as f64 / s / 1e9;
        println!(
            "{name:34} {m:6} x {n:5} x {k:6}  {:8.1} us  {:7.1} GFLOP/s   gemm crate {:8.1} us  {:7.1} GFLOP/s",
            s * 1e6,
            gf(s),
            s_old * 1e6,
            gf(s_old)
        );
    }
}
