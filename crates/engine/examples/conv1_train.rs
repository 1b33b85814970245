//! Times one training step's worth of W2's first convolution (`Conv2D(32, 3, relu)` on
//! 32x32x3, the model's input needing no gradient): the forward pass and the backward pass
//! to the kernel and the bias (behind a product with a fixed tensor, timed in both), with the one-pass kernel and bias gradients
//! ([`keras_engine::kernels::conv_direct_grad`]) and with the general path (masked gradient
//! written, im2col + GEMM), in one process, runs alternating; checks that the bias gradients
//! have the same bits and prints the kernel gradients' largest difference.
//!
//! `cargo run --release -p keras-engine --example conv1_train [-- REPS]`; the thread count
//! comes from `KERAS_NUM_THREADS`.

use keras_engine::kernels::conv_direct_grad::set_enabled;
use keras_engine::ops::{self, Unary};
use keras_engine::{GradientTape, Tensor};
use std::time::Instant;

mod common;
use common::{median_ms, values};

/// The kernel and bias gradients of one step. The convolution's output gradient comes from
/// an op after it (`y * cot`), so that the backward owns it as in a model (a cotangent the
/// caller holds would be copied before the ReLU's mask is applied in place).
fn step(x: &Tensor, w: &Tensor, b: &Tensor, cot: &Tensor) -> (Vec<f32>, Vec<f32>) {
    let tape = GradientTape::new();
    let y = ops::conv2d(x, w, Some(b), [1, 1], [1, 1], false, Unary::Relu).unwrap();
    let loss = ops::sum_all(&ops::mul(&y, cot).unwrap()).unwrap();
    let grads = tape.gradient(&loss, &[w, b]).unwrap();
    let v = |i: usize| grads[i].as_ref().unwrap().to_f32_vec();
    (v(0), v(1))
}

fn main() {
    let reps: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(41);
    keras_engine::parallel::enable_malloc_tuning();
    println!("threads {}", keras_engine::parallel::num_threads());
    for batch in [32, 128] {
        let x = values(&[batch, 32, 32, 3], 0.3, 1.0);
        let w = values(&[3, 3, 3, 32], 1.1, 0.3).requiring_grad();
        let b = values(&[32], 2.0, 0.1).requiring_grad();
        let cot = values(&[batch, 30, 30, 32], 0.7, 1.0);
        let (mut t_one, mut t_gen) = (Vec::new(), Vec::new());
        let (mut same_db, mut max_dw) = (true, 0.0f32);
        for i in 0..reps + 1 {
            // Each goes first in every other round (the first of a pair tends to win).
            let mut time = |one: bool| {
                set_enabled(one);
                let t = Instant::now();
                let r = step(&x, &w, &b, &cot);
                (if one { &mut t_one } else { &mut t_gen }).push(t.elapsed().as_secs_f64());
                r
            };
            let (a, c) = if i % 2 == 0 { (time(true), time(false)) } else { (time(false), time(true)) };
            same_db &= a.1.iter().zip(&c.1).all(|(p, q)| p.to_bits() == q.to_bits());
            let scale = c.0.iter().fold(1e-30f32, |m, v| m.max(v.abs()));
            max_dw = a.0.iter().zip(&c.0).fold(max_dw, |m, (p, q)| m.max((p - q).abs() / scale));
        }
        let (o, g) = (median_ms(t_one[1..].to_vec()), median_ms(t_gen[1..].to_vec()));
        println!(
            "W2 conv1, forward and backward, b{batch:<4} general {g:8.3} ms  one pass {o:8.3} ms  ({:.2}x)  \
             bias bits same: {same_db}  kernel gradient max diff / max {max_dw:.2e}",
            g / o
        );
    }
}
