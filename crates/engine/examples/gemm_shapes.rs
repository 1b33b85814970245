//! Times the engine's GEMM ([`keras_engine::kernels::matmul::matmul`]) on the shapes of the
//! benchmark workloads and prints GFLOP/s per shape (median of REPS runs after a warm-up), beside the `gemm`-crate path's.
//!
//! `cargo run --release -p keras-engine --example gemm_shapes [-- REPS [FILTER]]`; the thread
//! count comes from `KERAS_NUM_THREADS` (default: every core). The last columns time the
//! `gemm`-crate path ([`matmul_gemm_crate`]) on the same shape, for comparison; with
//! `KERAS_SGEMM=all` the first columns time the engine's own GEMM on every layout (by default
//! it runs only the products with a transposed right operand and no more rows than columns).
//! The `wino` lines time one block of a Winograd convolution's 36 single-threaded GEMMs
//! (rows 36 positions apart; `matmul_strided` and `matmul_tn_strided_acc`, on the own GEMM
//! wherever it is enabled) against the crate.

mod common;

use common::{fma_peak, raw_values as values};
use keras_engine::kernels::matmul::{
    matmul, matmul_gemm_crate, matmul_packed_b_repeated, matmul_strided, matmul_strided_gemm_crate,
    matmul_tn_strided_acc, matmul_tn_strided_acc_gemm_crate, Trans,
};
use std::time::Instant;

/// Median seconds of `reps` runs of `f` and of `g` (after one warm-up run each), the runs
/// alternating so that both see the same load on a shared machine.
fn time_pair(reps: usize, mut f: impl FnMut(), mut g: impl FnMut()) -> (f64, f64) {
    // `GS_COLD=1`: evict the caches before every timed run (as in a training step, where the
    // optimizer's pass over every variable comes between one step's GEMMs and the next's).
    let cold = std::env::var("GS_COLD").is_ok();
    let mut junk = if cold { vec![0u8; 16 << 20] } else { Vec::new() };
    let mut run = |h: &mut dyn FnMut()| {
        for (i, x) in junk.iter_mut().enumerate().step_by(64) {
            *x = x.wrapping_add(i as u8);
        }
        std::hint::black_box(&junk);
        let t = Instant::now();
        h();
        t.elapsed().as_secs_f64()
    };
    f();
    g();
    let (mut tf, mut tg): (Vec<f64>, Vec<f64>) = (0..reps).map(|_| (run(&mut f), run(&mut g))).unzip();
    tf.sort_by(f64::total_cmp);
    tg.sort_by(f64::total_cmp);
    (tf[reps / 2], tg[reps / 2])
}

/// ` (NN%)` for `gflops` against the probe run just before (one thread's peak times the
/// engine's threads), or nothing.
fn of_peak(gflops: f64, peak: Option<f64>) -> String {
    let threads = keras_engine::parallel::num_threads() as f64;
    peak.map(|p| format!(" ({:3.0}%)", 100.0 * gflops / (p * threads))).unwrap_or_default()
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
        // A two-worker step runs these single-threaded, one per worker: the forward by
        // halves of rows or of columns, the backward's dx and dW side by side.
        ("W1 dense1 forward, half the rows", 64, 512, 784, Trans::No, Trans::No),
        ("W1 dense1 forward, half the columns", 128, 256, 784, Trans::No, Trans::No),
        ("W1 dense2 forward, half the rows", 64, 512, 512, Trans::No, Trans::No),
        ("W1 dense2 forward, half the columns", 128, 256, 512, Trans::No, Trans::No),
        ("W1 dense2 input grad, half the columns", 128, 256, 512, Trans::No, Trans::Yes),
        ("W1 dense1 kernel grad, half the columns", 784, 256, 128, Trans::Yes, Trans::No),
        ("W1 dense2 kernel grad, half the columns", 512, 256, 128, Trans::Yes, Trans::No),
        ("W1 head forward (X W)", 128, 10, 512, Trans::No, Trans::No),
        ("W1 head input grad (dY W^T)", 128, 512, 10, Trans::No, Trans::Yes),
        ("W1 head kernel grad (X^T dY)", 512, 10, 128, Trans::Yes, Trans::No),
        ("W3 lstm step (h U)", 32, 512, 128, Trans::No, Trans::No),
        ("W3 lstm step input grad (dZ U^T)", 32, 128, 512, Trans::No, Trans::Yes),
        ("W3 lstm inputs (x W)", 2560, 512, 128, Trans::No, Trans::No),
        ("W3 lstm input grad (dZ W^T)", 2560, 128, 512, Trans::No, Trans::Yes),
        ("W3 lstm kernel grads (X^T dZ, H^T dZ)", 128, 512, 2560, Trans::Yes, Trans::No),
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
        report(name, (m, n, k), s, s_old, 1);
    }
    // W3's per-step products on 16-row chunks: the kernel packed once per sequence and 80
    // products on it (the own GEMM's packed path), against 80 products on the crate.
    let steps =
        [("W3 step h U, 16 rows, packed", 16, 512, 128), ("W3 step dz U^T, 16 rows, packed", 16, 128, 512)];
    for (name, m, n, k) in steps {
        if !name.contains(filter.as_str()) {
            continue;
        }
        const TIMES: usize = 80;
        let (a, b) = (values(m * k, 0.1), values(k * n, 0.7));
        let (mut c, mut c2) = (vec![0.0f32; m * n], vec![0.0f32; m * n]);
        let mut ran = true;
        let (s, s_old) = time_pair(
            reps,
            || ran &= matmul_packed_b_repeated(m, n, k, &a, &b, &mut c, TIMES),
            || {
                for _ in 0..TIMES {
                    matmul_gemm_crate(m, n, k, &a, Trans::No, &b, Trans::No, &mut c2, false);
                }
            },
        );
        if !ran {
            println!("{name}: the packed path does not run on this CPU");
            continue;
        }
        assert!(c == c2, "the packed path gives other bits");
        let (s, s_old) = (s / TIMES as f64, s_old / TIMES as f64);
        report(name, (m, n, k), s, s_old, 2);
    }
    // W3's two weight gradients (`dW = X^T dZ`, `dU = H^T dZ`): one after the other, each on
    // every thread (as before the fifteenth session), against side by side, one thread each
    // (`rayon::join`; run with `KERAS_POOL_MAIN_THREAD=0` so that both halves run inside pool
    // workers, where each GEMM stays on its thread, as in the backward pass).
    if "W3 lstm kernel grads in turn / side by side".contains(filter.as_str()) {
        let (m, n, k) = (128, 512, 2560);
        let (x, h, dz) = (values(k * m, 0.1), values(k * m, 0.4), values(k * n, 0.7));
        let (mut dw, mut du) = (vec![0.0f32; m * n], vec![0.0f32; m * n]);
        let (mut dw2, mut du2) = (dw.clone(), du.clone());
        let (s_turn, s_side) = time_pair(
            reps,
            || {
                matmul_gemm_crate(m, n, k, &x, Trans::Yes, &dz, Trans::No, &mut dw, false);
                matmul_gemm_crate(m, n, k, &h, Trans::Yes, &dz, Trans::No, &mut du, false);
            },
            || {
                rayon::join(
                    || matmul_gemm_crate(m, n, k, &x, Trans::Yes, &dz, Trans::No, &mut dw2, false),
                    || matmul_gemm_crate(m, n, k, &h, Trans::Yes, &dz, Trans::No, &mut du2, false),
                );
            },
        );
        assert!(dw == dw2 && du == du2, "the two ways give other bits");
        println!(
            "W3 lstm kernel grads (dW and dU)  {m} x {n} x {k} twice: in turn {:8.1} us, side by side {:8.1} us",
            s_turn * 1e6,
            s_side * 1e6
        );
    }
    // One Winograd block's 36 GEMMs: (name, tiles, c_in, c_out, kernel gradient).
    let blocks = [
        ("wino W2 conv2 forward block", 70, 32, 64, false),
        ("wino W2 conv2 input grad block", 72, 64, 32, false),
        ("wino W2 conv2 kernel grad block", 70, 32, 64, true),
        ("wino resnet50 stage3 b32 block", 56, 128, 128, false),
        ("wino resnet50 stage3 b32 kernel grad block", 56, 128, 128, true),
        ("wino resnet50 stage2 b32 input grad block", 56, 64, 64, false),
    ];
    const POS: usize = 36;
    for (name, nt, ci, co, kgrad) in blocks {
        if !name.contains(filter.as_str()) {
            continue;
        }
        let v = values(POS * nt * ci, 0.1);
        let u = values(POS * ci * co, 0.7);
        let mut mm = values(POS * nt * co, 0.3);
        let mut mm2 = mm.clone();
        let mut du = vec![0.0f32; POS * ci * co];
        let mut du2 = du.clone();
        let (s, s_old) = if kgrad {
            let (pair, w) = (ci * co, &mm);
            time_pair(
                reps,
                || {
                    for e in 0..POS {
                        let c = &mut du[e * pair..(e + 1) * pair];
                        matmul_tn_strided_acc(ci, co, nt, &v[e * ci..], POS * ci, &w[e * co..], POS * co, c);
                    }
                },
                || {
                    for e in 0..POS {
                        let c = &mut du2[e * pair..(e + 1) * pair];
                        matmul_tn_strided_acc_gemm_crate(
                            ci,
                            co,
                            nt,
                            &v[e * ci..],
                            POS * ci,
                            &w[e * co..],
                            POS * co,
                            c,
                        );
                    }
                },
            )
        } else {
            let pair = ci * co;
            time_pair(
                reps,
                || {
                    for e in 0..POS {
                        let ue = &u[e * pair..(e + 1) * pair];
                        matmul_strided(nt, co, ci, &v[e * ci..], POS * ci, ue, &mut mm[e * co..], POS * co);
                    }
                },
                || {
                    for e in 0..POS {
                        let ue = &u[e * pair..(e + 1) * pair];
                        matmul_strided_gemm_crate(
                            nt,
                            co,
                            ci,
                            &v[e * ci..],
                            POS * ci,
                            ue,
                            &mut mm2[e * co..],
                            POS * co,
                        );
                    }
                },
            )
        };
        let gf = |s: f64| 2.0 * (POS * nt * ci * co) as f64 / s / 1e9;
        println!(
            "{name:34} {POS} x {nt:3} x {co:4} x {ci:4}  {:8.1} us  {:7.1} GFLOP/s   gemm crate {:8.1} us  {:7.1} GFLOP/s",
            s * 1e6,
            gf(s),
            s_old * 1e6,
            gf(s_old)
        );
    }
}

/// Prints one shape's line: both timings (seconds, shown in microseconds with `decimals`
/// places), their GFLOP/s and their share of this thread's FMA peak, probed now.
fn report(name: &str, (m, n, k): (usize, usize, usize), s: f64, s_old: f64, decimals: usize) {
    let peak = fma_peak();
    let gf = |s: f64| 2.0 * (m * n * k) as f64 / s / 1e9;
    println!(
        "{name:34} {m:6} x {n:5} x {k:6}  {:8.decimals$} us  {:7.1} GFLOP/s{}   gemm crate {:8.decimals$} us  {:7.1} GFLOP/s{}   peak {:.0}",
        s * 1e6,
        gf(s),
        of_peak(gf(s), peak),
        s_old * 1e6,
        gf(s_old),
        of_peak(gf(s_old), peak),
        peak.unwrap_or(0.0)
    );
}
