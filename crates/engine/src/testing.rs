//! Test helpers: gradient checks against central finite differences.

use crate::{GradientTape, Result, Tensor};

/// A deterministic float32 tensor of `shape` with smooth values in [-1, 1]
/// (`sin((i + seed) * 0.917)`), for gradient checks on small shapes.
pub fn smooth_tensor(shape: &[usize], seed: f32) -> Tensor {
    let n: usize = shape.iter().product();
    Tensor::new((0..n).map(|i| ((i as f32 + seed) * 0.917).sin()).collect(), shape.to_vec())
        .expect("length matches shape")
}

/// Checks the reverse-mode gradients of `f` at `inputs` against central finite differences
/// of `sum(f(x) * c)` for a fixed pseudo-random cotangent `c`. Panics with a description
/// when an element differs by more than `tol * max(1, |numeric|)`.
///
/// Meant for tests (in this crate and in crates built on it), on small shapes.
pub fn check_grad(inputs: &[&Tensor], f: impl Fn(&[&Tensor]) -> Result<Tensor>, tol: f32) {
    let watched: Vec<Tensor> = inputs.iter().map(|t| t.requiring_grad()).collect();
    let refs: Vec<&Tensor> = watched.iter().collect();
    let tape = GradientTape::new();
    let y = f(&refs).expect("forward failed");
    let cot: Vec<f32> = (0..y.numel()).map(|i| ((i * 7919 % 13) as f32 - 6.0) / 6.0).collect();
    let cot = Tensor::new(cot, y.shape().to_vec()).unwrap();
    let grads = tape.gradient_with(&y, &cot, &refs).expect("backward failed");
    drop(tape);
    let objective = |xs: &[Tensor]| -> f64 {
        let r: Vec<&Tensor> = xs.iter().collect();
        let y = f(&r).expect("forward failed");
        y.as_f32().unwrap().iter().zip(cot.as_f32().unwrap()).map(|(&a, &b)| a as f64 * b as f64).sum()
    };
    let eps = 1e-3f32;
    for (k, input) in inputs.iter().enumerate() {
        let analytic = grads[k]
            .as_ref()
            .map(|g| g.as_f32().unwrap().to_vec())
            .unwrap_or_else(|| vec![0.0; input.numel()]);
        for (i, &a) in analytic.iter().enumerate() {
            let mut plus: Vec<Tensor> = inputs.iter().map(|t| t.detach()).collect();
            let mut minus = plus.clone();
            plus[k].f32_mut().unwrap()[i] += eps;
            minus[k].f32_mut().unwrap()[i] -= eps;
            let numeric = ((objective(&plus) - objective(&minus)) / (2.0 * eps as f64)) as f32;
            assert!(
                (a - numeric).abs() <= tol * numeric.abs().max(1.0),
                "input {k} element {i}: analytic {a} vs numeric {numeric}"
            );
        }
    }
}
