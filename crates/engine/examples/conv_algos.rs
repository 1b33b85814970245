//! Times a 3x3, stride-1 convolution by im2col + GEMM against Winograd F(4x4, 3x3) for the
//! layer shapes of ResNet50 and the W2 benchmark CNN, and prints one line per shape.
//!
//! `cargo run --release -p keras-engine --example conv_algos [-- REPS [FILTER]]` (FILTER: a
//! substring of the shape names to time only those).

use keras_engine::kernels::conv::{conv2d_forward, Conv2dGeometry};
use keras_engine::kernels::winograd::{conv2d_winograd, transform_kernel};
use std::time::Instant;

fn values(n: usize, seed: f32) -> Vec<f32> {
    (0..n).map(|i| ((i as f32 * 0.731 + seed).sin() * 1.7).fract()).collect()
}

/// Median seconds of `reps` runs of `f` (after one warm-up run).
fn time(reps: usize, mut f: impl FnMut()) -> f64 {
    f();
    let mut ts: Vec<f64> = (0..reps)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .collect();
    ts.sort_by(f64::total_cmp);
    ts[reps / 2]
}

fn main() {
    let reps: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(7);
    let filter = std::env::args().nth(2).unwrap_or_default();
    println!("threads {}", keras_engine::parallel::num_threads());
    println!(
        "{:<34} {:>10} {:>10} {:>8} {:>10} {:>9}",
        "shape (n,h,w,cin,cout)", "im2col ms", "wino ms", "speedup", "kernel ms", "max err"
    );
    let shapes = [
        (1, 56, 56, 64, 64, true, "resnet50 stage2 b1"),
        (1, 28, 28, 128, 128, true, "resnet50 stage3 b1"),
        (1, 14, 14, 256, 256, true, "resnet50 stage4 b1"),
        (1, 7, 7, 512, 512, true, "resnet50 stage5 b1"),
        (32, 56, 56, 64, 64, true, "resnet50 stage2 b32"),
        (32, 28, 28, 128, 128, true, "resnet50 stage3 b32"),
        (32, 14, 14, 256, 256, true, "resnet50 stage4 b32"),
        (32, 7, 7, 512, 512, true, "resnet50 stage5 b32"),
        (32, 30, 30, 32, 64, false, "w2 conv2 b32"),
        (128, 30, 30, 32, 64, false, "w2 conv2 b128"),
        (256, 30, 30, 32, 64, false, "w2/w4 conv2 b256"),
    ];
    let none = |_: &mut [f32]| {};
    for (n, h, w, ci, co, same, name) in shapes {
        if !name.contains(filter.as_str()) {
            continue;
        }
        let g = Conv2dGeometry::new([n, h, w, ci], [3, 3], co, [1, 1], [1, 1], same).unwrap();
        let x = values(g.input_len(), 0.3);
        let k = values(g.kernel_len(), 1.1);
        let b = values(co, 2.0);
        let mut y0 = vec![0.0; g.output_len()];
        let mut y1 = vec![0.0; g.output_len()];
        let t0 = time(reps, || conv2d_forward(&g, &x, &k, Some(&b), &mut y0, &none));
        let mut u = Vec::new();
        let tk = time(reps, || u = transform_kernel(&g, &k));
        let t1 = time(reps, || conv2d_winograd(&g, &x, &u, Some(&b), &mut y1, &none));
        let err = y0.iter().zip(&y1).fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
        let scale = y0.iter().fold(0.0f32, |m, a| m.max(a.abs()));
        println!(
            "{:<22} {:<11} {:>10.3} {:>10.3} {:>7.2}x {:>10.3} {:>9.1e}",
            name,
            format!("{n},{h},{w},{ci},{co}"),
            t0 * 1e3,
            t1 * 1e3,
            t0 / t1,
            tk * 1e3,
            err / scale
        );
    }
}
