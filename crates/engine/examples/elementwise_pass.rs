//! Times the element-wise ops on large same-shape tensors (`ops::add`, `ops::mul`,
//! `ops::unary` relu, a scalar `ops::scale`) against a plain copy of the same bytes: how close
//! the parallel element-wise path runs to the bandwidth the machine gives. Sizes: 1 MB, 10 MB
//! (W3's 20000 x 128 Embedding table) and 50 MB (a ResNet50 residual add at batch 32).
//!
//! `cargo run --release -p keras-engine --example elementwise_pass [-- REPS]`; the thread
//! count comes from `KERAS_NUM_THREADS`. Prints the median microseconds of REPS runs of each.

use keras_engine::ops::{add, mul, scale, unary, Unary};
use keras_engine::Tensor;
use std::time::Instant;

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn time(reps: usize, mut f: impl FnMut()) -> f64 {
    f();
    let mut t: Vec<f64> = (0..reps)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    median(&mut t)
}

fn main() {
    let reps: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(51);
    println!("threads {}", keras_engine::parallel::num_threads());
    for n in [1 << 18, 2_560_000, 12_845_056] {
        let a = Tensor::new((0..n).map(|i| (i as f32 * 0.37).sin()).collect::<Vec<_>>(), [n]).unwrap();
        let b = Tensor::new((0..n).map(|i| (i as f32 * 0.11).cos()).collect::<Vec<_>>(), [n]).unwrap();
        let av = a.as_f32().unwrap().to_vec();
        let copy = time(reps, || {
            std::hint::black_box(av.clone());
        });
        let t_add = time(reps, || {
            std::hint::black_box(add(&a, &b).unwrap());
        });
        let t_mul = time(reps, || {
            std::hint::black_box(mul(&a, &b).unwrap());
        });
        let t_relu = time(reps, || {
            std::hint::black_box(unary(&a, Unary::Relu).unwrap());
        });
        let t_scale = time(reps, || {
            std::hint::black_box(scale(&a, 0.5).unwrap());
        });
        println!(
            "{:>6.1} MB  copy {copy:>8.0} us  add {t_add:>8.0}  mul {t_mul:>8.0}  relu {t_relu:>8.0}  scale {t_scale:>8.0}",
            n as f64 * 4e-6
        );
    }
}
