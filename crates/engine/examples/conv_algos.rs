//! Times a 3x3, stride-1 convolution by im2col + GEMM against Winograd F(4x4, 3x3) for the
//! layer shapes of ResNet50 and the W2 benchmark CNN, and prints one line per shape: the
//! forward pass, the kernel transform, and the kernel gradient (im2col against Winograd's
//! adjoint), each with its largest difference relative to the largest im2col value.
//!
//! `cargo run --release -p keras-engine --example conv_algos [-- REPS [FILTER]]` (FILTER: a
//! substring of the shape names to time only those).

use keras_engine::kernels::conv::{conv2d_backward_kernel, conv2d_forward, Conv2dGeometry};
use keras_engine::kernels::winograd::{conv2d_winograd, conv2d_winograd_backward_kernel, transform_kernel};
use std::time::Instant;

fn values(n: usize, seed: f32) -> Vec<f32> {
    (0..n).map(|i| ((i as f32 * 0.731 + seed).sin() * 1.7).fract()).collect()
}

/// Largest difference between `got` and `want`, relative to the largest `want`.
fn relative_err(want: &[f32], got: &[f32]) -> f32 {
    let err = want.iter().zip(got).fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
    err / want.iter().fold(0.0f32, |m, a| m.max(a.abs()))
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
        "{:<34} {:>10} {:>10} {:>8} {:>10} {:>9} {:>10} {:>10} {:>8} {:>9}",
        "shape (n,h,w,cin,cout)",
        "im2col ms",
        "wino ms",
        "speedup",
        "kernel ms",
        "max err",
        "dW im2col",
        "dW wino",
        "speedup",
        "dW err"
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
        // W2 conv2's input gradient as the forward Winograd pass it runs: dy padded by 2.
        (32, 32, 32, 64, 32, false, "w2 conv2 input grad b32"),
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
        let dy = values(g.output_len(), 1.7);
        let mut dw0 = vec![0.0; g.kernel_len()];
        let mut dw1 = vec![0.0; g.kernel_len()];
        let t2 = time(reps, || conv2d_backward_kernel(&g, &x, &dy, &mut dw0));
        let t3 = time(reps, || conv2d_winograd_backward_kernel(&g, &x, &dy, &mut dw1));
        println!(
            "{:<22} {:<11} {:>10.3} {:>10.3} {:>7.2}x {:>10.3} {:>9.1e} {:>10.3} {:>10.3} {:>7.2}x {:>9.1e}",
            name,
            format!("{n},{h},{w},{ci},{co}"),
            t0 * 1e3,
            t1 * 1e3,
            t0 / t1,
            tk * 1e3,
            relative_err(&y0, &y1),
            t2 * 1e3,
            t3 * 1e3,
            t2 / t3,
            relative_err(&dw0, &dw1)
        );
    }
}
