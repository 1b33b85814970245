//! Times W3's LSTM op (`ops::rnn`: batch 32, 80 steps, 128 features, 128 units, tanh /
//! sigmoid) forward and backward through a `GradientTape`, as a training step runs it, with
//! ~70 MB of other memory traffic between steps (as the optimizer's pass over the Embedding
//! makes it; `LO_WARM=1` leaves it out), with the allocator tuning on as in the bench.
//!
//! `cargo run --release -p keras-engine --example lstm_op [-- REPS]`; threads from
//! `KERAS_NUM_THREADS`, the op's levers from `KERAS_RNN_OFF` (see `ops/rnn.rs`). Prints the
//! median forward, backward and total milliseconds of REPS steps, and a checksum of the
//! gradients (to compare paths).

use keras_engine::ops::{rnn, RnnArgs, RnnCell, RnnInputs, Unary};
use keras_engine::{GradientTape, Tensor};
use std::time::Instant;

fn values(n: usize, seed: f32, scale: f32) -> Vec<f32> {
    (0..n).map(|i| (i as f32 * 0.731 + seed).sin() * scale).collect()
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let reps: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(41);
    // As the bench and the trainer run (no page faults on each step's large buffers).
    keras_engine::parallel::enable_malloc_tuning();
    let (b, t, d, u) = (32, 80, 128, 128);
    let x = Tensor::new(values(b * t * d, 0.1, 0.05), [b, t, d]).unwrap().requiring_grad();
    let k = Tensor::new(values(d * 4 * u, 0.2, 0.1), [d, 4 * u]).unwrap().requiring_grad();
    let r = Tensor::new(values(u * 4 * u, 0.3, 0.1), [u, 4 * u]).unwrap().requiring_grad();
    let bias = Tensor::new(values(4 * u, 0.4, 0.1), [4 * u]).unwrap().requiring_grad();
    let opts = RnnArgs {
        cell: RnnCell::Lstm,
        activation: Unary::Tanh,
        recurrent_activation: Unary::Sigmoid,
        go_backwards: false,
        return_sequences: false,
        zero_output_for_mask: false,
    };
    let warm = std::env::var("LO_WARM").is_ok();
    let mut junk = if warm { Vec::new() } else { vec![0.0f32; 70 << 18] };
    let (mut fw, mut bw, mut all) = (vec![], vec![], vec![]);
    let mut checksum = 0.0f64;
    for rep in 0..reps + 2 {
        junk.iter_mut().for_each(|v| *v += 1.0);
        std::hint::black_box(&junk);
        let t0 = Instant::now();
        let tape = GradientTape::new();
        let inputs = RnnInputs {
            x: &x,
            kernel: &k,
            recurrent_kernel: &r,
            bias: Some(&bias),
            initial_state: &[],
            mask: None,
            recurrent_dropout: None,
        };
        let out = rnn(inputs, &opts).unwrap();
        let t1 = Instant::now();
        let cot = Tensor::new(values(b * u, 0.5, 1e-2), [b, u]).unwrap();
        let grads = tape.gradient_with(&out[0], &cot, &[&x, &k, &r, &bias]).unwrap();
        let t2 = Instant::now();
        if rep >= 2 {
            fw.push((t1 - t0).as_secs_f64() * 1e3);
            bw.push((t2 - t1).as_secs_f64() * 1e3);
            all.push((t2 - t0).as_secs_f64() * 1e3);
        }
        checksum =
            grads.iter().flatten().map(|g| g.to_f32_vec().iter().map(|v| *v as f64).sum::<f64>()).sum();
    }
    println!(
        "lstm_op off={:?} forward {:.3} ms backward {:.3} ms total {:.3} ms checksum {checksum:.9e}",
        std::env::var("KERAS_RNN_OFF").unwrap_or_default(),
        median(&mut fw),
        median(&mut bw),
        median(&mut all)
    );
}
