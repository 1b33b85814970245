//! Times one training step's worth of W2's second convolution and the pooling after it
//! (`Conv2D(64, 3, relu)` on 30x30x32, then `MaxPooling2D(2)`): the forward pass and the
//! backward pass to the input, kernel and bias, as the fused op
//! ([`ops::conv2d_relu_maxpool2`]) and as the two ops ([`ops::conv2d`] then
//! [`ops::max_pool2d`]), in one process, runs alternating, and checks that the two give the
//! same bits.
//!
//! `cargo run --release -p keras-engine --example conv_pool_train [-- REPS]`; the thread
//! count comes from `KERAS_NUM_THREADS`.

use keras_engine::ops::{self, Unary};
use keras_engine::{GradientTape, Tensor};
use std::time::Instant;

mod common;
use common::{median_ms, values};

/// The bits of the output and of the three gradients of one step (`fused` or the two ops).
fn step(x: &Tensor, w: &Tensor, b: &Tensor, cot: &Tensor, fused: bool) -> Vec<Vec<u32>> {
    let tape = GradientTape::new();
    let y = if fused {
        ops::conv2d_relu_maxpool2(x, w, Some(b), [1, 1], [1, 1], false).unwrap()
    } else {
        let c = ops::conv2d(x, w, Some(b), [1, 1], [1, 1], false, Unary::Relu).unwrap();
        ops::max_pool2d(&c, [2, 2], [2, 2], false).unwrap()
    };
    let grads = tape.gradient_with(&y, cot, &[x, w, b]).unwrap();
    let bits = |t: &Tensor| t.as_f32().unwrap().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    let mut out = vec![bits(&y)];
    out.extend(grads.iter().map(|g| bits(g.as_ref().unwrap())));
    out
}

fn main() {
    let reps: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(21);
    // As the bench: big buffers reused, not mapped and faulted in afresh on every step.
    keras_engine::parallel::enable_malloc_tuning();
    println!("threads {}", keras_engine::parallel::num_threads());
    for batch in [32, 128] {
        // The input tracks gradients: conv1's output in W2.
        let x = values(&[batch, 30, 30, 32], 0.3, 1.0).requiring_grad();
        let w = values(&[3, 3, 32, 64], 1.1, 0.1).requiring_grad();
        let b = values(&[64], 2.0, 0.1).requiring_grad();
        let cot = values(&[batch, 14, 14, 64], 0.7, 1.0);
        let (mut t_fused, mut t_two) = (Vec::new(), Vec::new());
        let mut same = true;
        for i in 0..reps + 1 {
            // Each goes first in every other round (the first of a pair tends to win).
            let mut time = |fused: bool| {
                let t = Instant::now();
                let r = step(&x, &w, &b, &cot, fused);
                (if fused { &mut t_fused } else { &mut t_two }).push(t.elapsed().as_secs_f64());
                r
            };
            let (a, c) = if i % 2 == 0 { (time(true), time(false)) } else { (time(false), time(true)) };
            same &= a == c;
        }
        let (f, o) = (median_ms(t_fused[1..].to_vec()), median_ms(t_two[1..].to_vec()));
        println!(
            "W2 conv2 + pool, forward and backward, b{batch:<4} two ops {o:8.3} ms  fused {f:8.3} ms  ({:.2}x)  same bits: {same}",
            o / f
        );
    }
}
