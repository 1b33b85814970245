//! Times the forward convolution of a network's first layer (few input channels) by the
//! direct kernel (`kernels::conv_direct`, what [`conv2d_forward`] runs on AVX-512 CPUs)
//! against im2col + GEMM ([`conv2d_forward_im2col`]) in one process, runs alternating, with
//! the ReLU epilogue of the benchmark CNN, and checks that the two give the same bits.
//!
//! `cargo run --release -p keras-engine --example conv_direct [-- REPS]`; the thread count
//! comes from `KERAS_NUM_THREADS`.

use keras_engine::kernels::conv::{
    conv2d_forward, conv2d_forward_im2col, conv2d_forward_vec, Conv2dGeometry,
};
use std::time::Instant;

mod common;
use common::{median_ms, raw_values as values};

fn main() {
    let reps: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(21);
    println!("threads {}", keras_engine::parallel::num_threads());
    let shapes = [
        ("W4 conv1 b256 (32x32x3 -> 32, valid)", [256, 32, 32, 3], false),
        ("W2 conv1 b32", [32, 32, 32, 3], false),
        ("W4 conv1 b1", [1, 32, 32, 3], false),
        ("same padding b32", [32, 32, 32, 3], true),
    ];
    let relu = |r: &mut [f32]| r.iter_mut().for_each(|v| *v = v.max(0.0));
    for (name, input, same) in shapes {
        let g = Conv2dGeometry::new(input, [3, 3], 32, [1, 1], [1, 1], same).unwrap();
        let x = values(g.input_len(), 0.3);
        let w = values(g.kernel_len(), 1.1);
        let b = values(g.c_out, 2.0);
        let (mut o1, mut o2) = (vec![0.0f32; g.output_len()], vec![0.0f32; g.output_len()]);
        let (mut t_direct, mut t_im2col, mut t_vec) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..reps + 1 {
            let t = Instant::now();
            conv2d_forward_im2col(&g, &x, &w, Some(&b), &mut o1, &relu);
            t_im2col.push(t.elapsed().as_secs_f64());
            let t = Instant::now();
            conv2d_forward(&g, &x, &w, Some(&b), &mut o2, &relu);
            t_direct.push(t.elapsed().as_secs_f64());
            let t = Instant::now();
            let v = conv2d_forward_vec(&g, &x, &w, Some(&b), &relu);
            t_vec.push(t.elapsed().as_secs_f64());
            drop(std::hint::black_box(v));
        }
        let same_bits = o1.iter().zip(&o2).all(|(a, b)| a.to_bits() == b.to_bits());
        let (d, i) = (median_ms(t_direct[1..].to_vec()), median_ms(t_im2col[1..].to_vec()));
        println!(
            "{name:<40} im2col {i:8.3} ms  direct {d:8.3} ms  ({:.2}x)  direct into a new vector {:8.3} ms  same bits: {same_bits}",
            i / d,
            median_ms(t_vec[1..].to_vec())
        );
    }
}
