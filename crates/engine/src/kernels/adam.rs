//! The Adam update of one variable (or one piece of it), in place, in one multiversioned pass.
//!
//! Keras's Adam (`keras/src/optimizers/adam.py`), per element, in this order:
//! `x = w - w * wd * lr` (decoupled weight decay, AdamW), `m += (g - m) * (1 - beta_1)`,
//! `v += (g * g - v) * (1 - beta_2)`, with AMSGrad `v_hat = max(v_hat, v)`, then
//! `w = x - (m * alpha) / (sqrt(v or v_hat) + epsilon)` where
//! `alpha = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)`. Every version [`multiversion!`]
//! compiles runs these float32 operations in this order, so the result is bit-identical to a
//! scalar loop on any CPU.
//!
//! ```
//! use keras_engine::kernels::adam::{adam_update, AdamStep};
//! let h = AdamStep::new(0.001, 0.9, 0.999, 1e-7, 0, None);
//! let (mut w, g) = (vec![1.0f32; 3], vec![0.5f32; 3]);
//! let (mut m, mut v) = (vec![0.0f32; 3], vec![0.0f32; 3]);
//! adam_update(&mut w, &g, &mut m, &mut v, None, &h);
//! assert!(w[0] < 1.0 && m[0] > 0.0 && v[0] > 0.0);
//! ```

use crate::kernels::simd::multiversion;

/// The per-step constants of one Adam update, in float32 as Keras computes them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamStep {
    /// `lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)`.
    pub alpha: f32,
    /// `1 - beta_1`.
    pub one_minus_beta_1: f32,
    /// `1 - beta_2`.
    pub one_minus_beta_2: f32,
    /// `epsilon`.
    pub epsilon: f32,
    /// Decoupled weight decay `(weight_decay, lr)`: `w - w * weight_decay * lr` first.
    pub decay: Option<(f32, f32)>,
}

impl AdamStep {
    /// The constants of the step after `iterations` updates (`t = iterations + 1`) with
    /// learning rate `lr`; `beta_1`, `beta_2` and `epsilon` as the optimizer holds them.
    pub fn new(lr: f32, beta_1: f64, beta_2: f64, epsilon: f64, iterations: u64, decay: Option<f32>) -> Self {
        let t = (iterations + 1) as f32;
        let b1p = (beta_1 as f32).powf(t);
        let b2p = (beta_2 as f32).powf(t);
        AdamStep {
            alpha: lr * (1.0 - b2p).sqrt() / (1.0 - b1p),
            one_minus_beta_1: (1.0 - beta_1) as f32,
            one_minus_beta_2: (1.0 - beta_2) as f32,
            epsilon: epsilon as f32,
            decay: decay.map(|wd| (wd, lr)),
        }
    }
}

/// Updates `var`, `m` and `v` (and `v_hat` for AMSGrad) in place with the gradient `grad`.
/// All slices have the length of `var` (extra elements of longer ones are left alone).
///
/// # Panics
/// If a slice is shorter than `var` (a caller bug).
pub fn adam_update(
    var: &mut [f32],
    grad: &[f32],
    m: &mut [f32],
    v: &mut [f32],
    v_hat: Option<&mut [f32]>,
    h: &AdamStep,
) {
    let n = var.len();
    assert!(
        grad.len() >= n && m.len() >= n && v.len() >= n,
        "adam_update: a slice shorter than the variable"
    );
    match (v_hat, h.decay) {
        (None, None) => plain(var, &grad[..n], &mut m[..n], &mut v[..n], h),
        (None, Some((wd, lr))) => decayed(var, &grad[..n], &mut m[..n], &mut v[..n], wd, lr, h),
        (Some(vh), decay) => {
            assert!(vh.len() >= n, "adam_update: a slice shorter than the variable");
            let (wd, lr, on) = match decay {
                Some((wd, lr)) => (wd, lr, true),
                None => (0.0, 0.0, false),
            };
            amsgrad(var, &grad[..n], &mut m[..n], &mut v[..n], &mut vh[..n], on, wd, lr, h)
        }
    }
}

multiversion! {
    /// Adam without weight decay.
    fn plain(w: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], h: &AdamStep) {
        let (b1, b2, alpha, eps) = (h.one_minus_beta_1, h.one_minus_beta_2, h.alpha, h.epsilon);
        for i in 0..w.len() {
            let gi = g[i];
            let mi = m[i] + (gi - m[i]) * b1;
            let vi = v[i] + (gi * gi - v[i]) * b2;
            m[i] = mi;
            v[i] = vi;
            w[i] -= (mi * alpha) / (vi.sqrt() + eps);
        }
    }
}

multiversion! {
    /// Adam with decoupled weight decay (AdamW).
    fn decayed(w: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], wd: f32, lr: f32, h: &AdamStep) {
        let (b1, b2, alpha, eps) = (h.one_minus_beta_1, h.one_minus_beta_2, h.alpha, h.epsilon);
        for i in 0..w.len() {
            let x = w[i] - w[i] * wd * lr;
            let gi = g[i];
            let mi = m[i] + (gi - m[i]) * b1;
            let vi = v[i] + (gi * gi - v[i]) * b2;
            m[i] = mi;
            v[i] = vi;
            w[i] = x - (mi * alpha) / (vi.sqrt() + eps);
        }
    }
}

multiversion! {
    /// AMSGrad, with or without weight decay.
    #[allow(clippy::too_many_arguments)]
    fn amsgrad(
        w: &mut [f32],
        g: &[f32],
        m: &mut [f32],
        v: &mut [f32],
        vh: &mut [f32],
        decay: bool,
        wd: f32,
        lr: f32,
        h: &AdamStep,
    ) {
        let (b1, b2, alpha, eps) = (h.one_minus_beta_1, h.one_minus_beta_2, h.alpha, h.epsilon);
        for i in 0..w.len() {
            let x = if decay { w[i] - w[i] * wd * lr } else { w[i] };
            let gi = g[i];
            let mi = m[i] + (gi - m[i]) * b1;
            let vi = v[i] + (gi * gi - v[i]) * b2;
            let vhi = vh[i].max(vi);
            m[i] = mi;
            v[i] = vi;
            vh[i] = vhi;
            w[i] = x - (mi * alpha) / (vhi.sqrt() + eps);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The scalar reference: Keras's formula, element by element.
    fn reference(
        w: &mut [f32],
        g: &[f32],
        m: &mut [f32],
        v: &mut [f32],
        mut vh: Option<&mut [f32]>,
        h: &AdamStep,
    ) {
        for i in 0..w.len() {
            let x = match h.decay {
                Some((wd, lr)) => w[i] - w[i] * wd * lr,
                None => w[i],
            };
            m[i] += (g[i] - m[i]) * h.one_minus_beta_1;
            v[i] += (g[i] * g[i] - v[i]) * h.one_minus_beta_2;
            let denom = match vh.as_deref_mut() {
                Some(vh) => {
                    vh[i] = vh[i].max(v[i]);
                    vh[i]
                }
                None => v[i],
            };
            w[i] = x - (m[i] * h.alpha) / (denom.sqrt() + h.epsilon);
        }
    }

    fn data(n: usize, seed: f32) -> Vec<f32> {
        (0..n).map(|i| ((i as f32 + seed) * 0.731).sin() * 0.3).collect()
    }

    #[test]
    fn every_variant_is_bit_identical_to_the_scalar_formula_at_odd_sizes() {
        for n in [0usize, 1, 7, 16, 33, 1031] {
            for (ams, decay) in [(false, None), (false, Some(0.004)), (true, None), (true, Some(0.01))] {
                for it in [0u64, 5] {
                    let h = AdamStep::new(0.001, 0.9, 0.999, 1e-7, it, decay);
                    let g = data(n, 1.0);
                    let (mut w1, mut m1, mut v1, mut vh1) =
                        (data(n, 2.0), data(n, 3.0), data(n, 4.0), data(n, 5.0));
                    v1.iter_mut().chain(vh1.iter_mut()).for_each(|x| *x = x.abs());
                    let (mut w2, mut m2, mut v2, mut vh2) = (w1.clone(), m1.clone(), v1.clone(), vh1.clone());
                    reference(&mut w1, &g, &mut m1, &mut v1, ams.then_some(&mut vh1[..]), &h);
                    adam_update(&mut w2, &g, &mut m2, &mut v2, ams.then_some(&mut vh2[..]), &h);
                    let bits = |x: &[f32]| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
                    assert_eq!(bits(&w1), bits(&w2), "var n={n} ams={ams} decay={decay:?}");
                    assert_eq!(bits(&m1), bits(&m2));
                    assert_eq!(bits(&v1), bits(&v2));
                    assert_eq!(bits(&vh1), bits(&vh2));
                }
            }
        }
    }

    #[test]
    fn the_step_constants_follow_keras() {
        let h = AdamStep::new(0.01, 0.9, 0.999, 1e-7, 0, Some(0.5));
        let want = 0.01f32 * (1.0f32 - 0.999f32).sqrt() / (1.0f32 - 0.9f32);
        assert_eq!(h.alpha, want);
        assert_eq!(h.decay, Some((0.5, 0.01)));
        assert_eq!(h.one_minus_beta_1, (1.0f64 - 0.9) as f32);
    }

    #[test]
    #[should_panic(expected = "shorter than the variable")]
    fn a_short_slot_is_a_caller_bug() {
        let h = AdamStep::new(0.001, 0.9, 0.999, 1e-7, 0, None);
        adam_update(&mut [0.0; 4], &[0.0; 4], &mut [0.0; 3], &mut [0.0; 4], None, &h);
    }
}
