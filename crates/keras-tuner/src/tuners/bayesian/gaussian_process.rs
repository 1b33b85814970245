//! The Gaussian process keras-tuner's Bayesian optimization fits (scikit-learn's
//! `GaussianProcessRegressor(kernel=Matern(nu=2.5), n_restarts_optimizer=20,
//! normalize_y=True, alpha=alpha)`): an isotropic Matérn 5/2 kernel with unit amplitude
//! whose length scale (in `[1e-5, 1e5]`) maximises the log marginal likelihood of the
//! standardised targets, from the initial scale 1 and 20 random restarts in log space.
//!
//! Numerics: everything in f64; the kernel matrix is factored by Cholesky, and if that
//! fails (points too close for the noise level) the diagonal gets a growing jitter
//! (`alpha * 10^k`) rather than giving up; predicted variances are clamped at 0; a target
//! with zero spread is not scaled (scikit-learn's `_handle_zeros_in_scale`).

use super::optimize::minimize;
use crate::utils::PyRandom;

const SQRT5: f64 = 2.236_067_977_499_79;
const LOG_BOUNDS: (f64, f64) = (-11.512_925_464_970_229, 11.512_925_464_970_229); // ln 1e-5, ln 1e5

/// `k(d) = (1 + √5 d + 5/3 d²) exp(-√5 d)` for `d = |x - x'| / length_scale`.
fn matern52(d: f64) -> f64 {
    (1.0 + SQRT5 * d + 5.0 / 3.0 * d * d) * (-SQRT5 * d).exp()
}

fn dist(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum::<f64>().sqrt()
}

/// Lower Cholesky factor of a symmetric `n x n` matrix (row-major), or `None` if it is not
/// positive definite.
fn cholesky(a: &[f64], n: usize) -> Option<Vec<f64>> {
    let mut l = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let mut s = a[i * n + j];
            for k in 0..j {
                s -= l[i * n + k] * l[j * n + k];
            }
            if i == j {
                if s.is_nan() || s <= 0.0 || s.is_infinite() {
                    return None;
                }
                l[i * n + i] = s.sqrt();
            } else {
                l[i * n + j] = s / l[j * n + j];
            }
        }
    }
    Some(l)
}

/// Solves `L z = b` (forward substitution).
fn solve_lower(l: &[f64], n: usize, b: &[f64]) -> Vec<f64> {
    let mut z = b.to_vec();
    for i in 0..n {
        let mut s = z[i];
        for k in 0..i {
            s -= l[i * n + k] * z[k];
        }
        z[i] = s / l[i * n + i];
    }
    z
}

/// Solves `L^T z = b` (back substitution).
fn solve_upper_t(l: &[f64], n: usize, b: &[f64]) -> Vec<f64> {
    let mut z = b.to_vec();
    for i in (0..n).rev() {
        let mut s = z[i];
        for k in i + 1..n {
            s -= l[k * n + i] * z[k];
        }
        z[i] = s / l[i * n + i];
    }
    z
}

struct Factor {
    l: Vec<f64>,
    /// `K^-1 y`.
    alpha: Vec<f64>,
}

/// A fitted Gaussian process.
#[derive(Clone, Debug)]
pub struct GaussianProcess {
    x: Vec<Vec<f64>>,
    length_scale: f64,
    y_mean: f64,
    y_std: f64,
    l: Vec<f64>,
    alpha: Vec<f64>,
}

/// Log marginal likelihood and its derivative in `theta = ln(length_scale)`.
fn log_marginal_likelihood(x: &[Vec<f64>], y: &[f64], noise: f64, theta: f64) -> (f64, f64) {
    let n = x.len();
    let ls = theta.exp();
    let mut k = vec![0.0; n * n];
    let mut dk = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..n {
            let d = dist(&x[i], &x[j]) / ls;
            k[i * n + j] = matern52(d);
            // dk/dtheta = 5/3 d^2 (1 + √5 d) exp(-√5 d)
            dk[i * n + j] = 5.0 / 3.0 * d * d * (1.0 + SQRT5 * d) * (-SQRT5 * d).exp();
        }
        k[i * n + i] += noise;
    }
    let Some(l) = cholesky(&k, n) else { return (f64::NEG_INFINITY, 0.0) };
    let alpha = solve_upper_t(&l, n, &solve_lower(&l, n, y));
    let lml = -0.5 * y.iter().zip(&alpha).map(|(a, b)| a * b).sum::<f64>()
        - (0..n).map(|i| l[i * n + i].ln()).sum::<f64>()
        - n as f64 / 2.0 * (2.0 * std::f64::consts::PI).ln();
    // d lml = 0.5 tr((alpha alpha^T - K^-1) dK)
    let mut grad = 0.0;
    for j in 0..n {
        let mut e = vec![0.0; n];
        e[j] = 1.0;
        let kinv_col = solve_upper_t(&l, n, &solve_lower(&l, n, &e));
        for i in 0..n {
            grad += 0.5 * (alpha[i] * alpha[j] - kinv_col[i]) * dk[j * n + i];
        }
    }
    (lml, grad)
}

impl GaussianProcess {
    /// Fits to `(x, y)` (at least one point): standardises `y`, then picks the length scale
    /// that maximises the log marginal likelihood, from 1 and 20 restarts drawn with `seed`.
    pub fn fit(x: &[Vec<f64>], y: &[f64], noise: f64, seed: i64) -> GaussianProcess {
        let n = y.len() as f64;
        let y_mean = y.iter().sum::<f64>() / n;
        let var = y.iter().map(|v| (v - y_mean).powi(2)).sum::<f64>() / n;
        let mut y_std = var.sqrt();
        if y_std < 10.0 * f64::EPSILON {
            y_std = 1.0;
        }
        let yn: Vec<f64> = y.iter().map(|v| (v - y_mean) / y_std).collect();
        let mut rng = PyRandom::new(seed.unsigned_abs());
        let mut starts = vec![0.0];
        starts.extend((0..20).map(|_| LOG_BOUNDS.0 + rng.random() * (LOG_BOUNDS.1 - LOG_BOUNDS.0)));
        let mut best: Option<(f64, f64)> = None;
        for s in starts {
            let mut obj = |t: &[f64]| {
                let (lml, g) = log_marginal_likelihood(x, &yn, noise, t[0]);
                (-lml, vec![-g])
            };
            let m = minimize(&mut obj, &[s], &[LOG_BOUNDS.0], &[LOG_BOUNDS.1]);
            if m.f.is_finite() && best.is_none_or(|(_, f)| m.f < f) {
                best = Some((m.x[0], m.f));
            }
        }
        let length_scale = best.map_or(1.0, |(t, _)| t.exp());
        let f = Self::factor(x, &yn, noise, length_scale);
        GaussianProcess { x: x.to_vec(), length_scale, y_mean, y_std, l: f.l, alpha: f.alpha }
    }

    fn factor(x: &[Vec<f64>], y: &[f64], noise: f64, ls: f64) -> Factor {
        let n = x.len();
        let mut jitter = noise;
        for _ in 0..30 {
            let mut k = vec![0.0; n * n];
            for i in 0..n {
                for j in 0..n {
                    k[i * n + j] = matern52(dist(&x[i], &x[j]) / ls);
                }
                k[i * n + i] += jitter;
            }
            if let Some(l) = cholesky(&k, n) {
                let alpha = solve_upper_t(&l, n, &solve_lower(&l, n, y));
                return Factor { l, alpha };
            }
            jitter = if jitter > 0.0 { jitter * 10.0 } else { 1e-10 };
        }
        // Non-finite inputs: no correlation at all (the prior everywhere but the data).
        let mut l = vec![0.0; n * n];
        (0..n).for_each(|i| l[i * n + i] = (1.0 + noise).sqrt());
        let alpha = solve_upper_t(&l, n, &solve_lower(&l, n, y));
        Factor { l, alpha }
    }

    /// The fitted length scale.
    pub fn length_scale(&self) -> f64 {
        self.length_scale
    }

    /// Predictive mean and standard deviation at `x` (in the units of `y`).
    pub fn predict(&self, x: &[f64]) -> (f64, f64) {
        let (mu, sd, _, _) = self.predict_with_grad(x, false);
        (mu, sd)
    }

    /// Mean, standard deviation, and (if asked) their gradients in `x`.
    pub fn predict_with_grad(&self, x: &[f64], grad: bool) -> (f64, f64, Vec<f64>, Vec<f64>) {
        let n = self.x.len();
        let dim = x.len();
        let ls = self.length_scale;
        let ks: Vec<f64> = self.x.iter().map(|xi| matern52(dist(x, xi) / ls)).collect();
        let mu_n: f64 = ks.iter().zip(&self.alpha).map(|(a, b)| a * b).sum();
        let v = solve_lower(&self.l, n, &ks);
        let var_n = (1.0 - v.iter().map(|a| a * a).sum::<f64>()).max(0.0);
        let sd_n = var_n.sqrt();
        let (mut dmu, mut dsd) = (vec![0.0; dim], vec![0.0; dim]);
        if grad {
            // dk/dx = -5/(3 l^2) (1 + √5 d) exp(-√5 d) (x - x_i)
            let kinv_k = solve_upper_t(&self.l, n, &v);
            for (i, xi) in self.x.iter().enumerate() {
                let d = dist(x, xi) / ls;
                let c = -5.0 / (3.0 * ls * ls) * (1.0 + SQRT5 * d) * (-SQRT5 * d).exp();
                for j in 0..dim {
                    let dk = c * (x[j] - xi[j]);
                    dmu[j] += self.alpha[i] * dk;
                    if sd_n > 1e-12 {
                        // d var = -2 (K^-1 k)^T dk;  d sd = d var / (2 sd)
                        dsd[j] += -kinv_k[i] * dk / sd_n;
                    }
                }
            }
            dmu.iter_mut().for_each(|g| *g *= self.y_std);
            dsd.iter_mut().for_each(|g| *g *= self.y_std);
        }
        (mu_n * self.y_std + self.y_mean, sd_n * self.y_std, dmu, dsd)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolates_and_is_uncertain_away_from_data() {
        let x: Vec<Vec<f64>> = (0..8).map(|i| vec![i as f64 / 7.0]).collect();
        let y: Vec<f64> = x.iter().map(|v| (6.0 * v[0]).sin()).collect();
        let gp = GaussianProcess::fit(&x, &y, 1e-4, 1);
        for (xi, yi) in x.iter().zip(&y) {
            let (m, s) = gp.predict(xi);
            assert!((m - yi).abs() < 1e-2 && s < 0.05, "{m} {yi} {s}");
        }
        let (m, _) = gp.predict(&[0.5 / 7.0]);
        assert!((m - (6.0f64 * 0.5 / 7.0).sin()).abs() < 0.05);
        let (_, far) = gp.predict(&[3.0]);
        assert!(far > 0.5);
    }

    #[test]
    fn gradients_match_finite_differences() {
        let x: Vec<Vec<f64>> = vec![vec![0.1, 0.2], vec![0.7, 0.3], vec![0.4, 0.9], vec![0.9, 0.8]];
        let y = vec![1.0, -0.5, 0.3, 2.0];
        let gp = GaussianProcess::fit(&x, &y, 1e-4, 3);
        let p = [0.45, 0.55];
        let (_, _, dmu, dsd) = gp.predict_with_grad(&p, true);
        let h = 1e-6;
        for j in 0..2 {
            let (mut a, mut b) = (p, p);
            a[j] += h;
            b[j] -= h;
            let (ma, sa) = gp.predict(&a);
            let (mb, sb) = gp.predict(&b);
            assert!(((ma - mb) / (2.0 * h) - dmu[j]).abs() < 1e-5, "dmu");
            assert!(((sa - sb) / (2.0 * h) - dsd[j]).abs() < 1e-5, "dsd");
        }
        // The length-scale gradient of the likelihood.
        let yn: Vec<f64> = y.clone();
        let (_, g) = log_marginal_likelihood(&x, &yn, 1e-4, 0.3);
        let (fa, _) = log_marginal_likelihood(&x, &yn, 1e-4, 0.3 + h);
        let (fb, _) = log_marginal_likelihood(&x, &yn, 1e-4, 0.3 - h);
        assert!(((fa - fb) / (2.0 * h) - g).abs() < 1e-5);
    }

    #[test]
    fn duplicate_points_and_constant_targets_do_not_break_it() {
        let x = vec![vec![0.5], vec![0.5], vec![0.5]];
        let gp = GaussianProcess::fit(&x, &[1.0, 1.0, 1.0], 0.0, 1);
        let (m, s) = gp.predict(&[0.5]);
        assert!(m.is_finite() && s.is_finite());
    }
}
