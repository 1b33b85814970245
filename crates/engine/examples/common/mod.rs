//! Helpers shared by the engine's timing examples (not an example itself: Cargo only builds
//! `examples/*.rs` and `examples/*/main.rs`).
#![allow(dead_code)]

use keras_engine::Tensor;

/// `n` deterministic values in `(-1.7, 1.7)`, from `seed`.
pub fn raw_values(n: usize, seed: f32) -> Vec<f32> {
    (0..n).map(|i| ((i as f32 * 0.731 + seed).sin() * 1.7).fract()).collect()
}

/// A tensor of `shape` with values in `(-scale, scale)`.
pub fn values(shape: &[usize], seed: f32, scale: f32) -> Tensor {
    let n: usize = shape.iter().product();
    let v = raw_values(n, seed).into_iter().map(|x| x * scale).collect::<Vec<_>>();
    Tensor::new(v, shape.to_vec()).unwrap()
}

/// Median milliseconds of the runs in `ts`.
pub fn median_ms(mut ts: Vec<f64>) -> f64 {
    ts.sort_by(f64::total_cmp);
    ts[ts.len() / 2] * 1e3
}
