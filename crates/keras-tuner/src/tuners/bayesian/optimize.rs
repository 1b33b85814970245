//! Box-constrained minimisation with gradients: a projected L-BFGS (the L-BFGS-B idea
//! without its Cauchy-point machinery). The search direction comes from the L-BFGS two-loop
//! recursion over the free variables (those not held at a bound by their gradient); the
//! step is an Armijo backtracking search along the projected path `P(x + t d)`. Falls back
//! to projected steepest descent when the quasi-Newton direction does not descend. Used for
//! the Gaussian process's length scale and for the acquisition function, as keras-tuner
//! uses scipy's L-BFGS-B for both.

/// The result of a minimisation.
#[derive(Clone, Debug)]
pub struct Minimum {
    /// The point.
    pub x: Vec<f64>,
    /// The function value there.
    pub f: f64,
}

const HISTORY: usize = 10;
const MAX_ITER: usize = 200;
const PG_TOL: f64 = 1e-6;
const F_TOL: f64 = 1e-12;

fn project(x: &mut [f64], lo: &[f64], hi: &[f64]) {
    for ((v, l), h) in x.iter_mut().zip(lo).zip(hi) {
        *v = v.clamp(*l, *h);
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// A function returning its value and gradient.
pub type Objective<'a> = dyn FnMut(&[f64]) -> (f64, Vec<f64>) + 'a;

/// Minimises `f` (which returns the value and the gradient) over `lo <= x <= hi` from `x0`.
/// Non-finite values count as worse than any finite one, so the search backs off them.
pub fn minimize(f: &mut Objective<'_>, x0: &[f64], lo: &[f64], hi: &[f64]) -> Minimum {
    let n = x0.len();
    let mut x = x0.to_vec();
    project(&mut x, lo, hi);
    let (mut fx, mut g) = f(&x);
    if !fx.is_finite() {
        return Minimum { x, f: fx };
    }
    let mut s_hist: Vec<Vec<f64>> = Vec::new();
    let mut y_hist: Vec<Vec<f64>> = Vec::new();
    for _ in 0..MAX_ITER {
        // Variables held at a bound by the gradient are fixed this iteration.
        let free: Vec<bool> =
            (0..n).map(|i| !((x[i] <= lo[i] && g[i] > 0.0) || (x[i] >= hi[i] && g[i] < 0.0))).collect();
        let pg: f64 = (0..n).filter(|&i| free[i]).map(|i| g[i].abs()).fold(0.0, f64::max);
        if pg < PG_TOL {
            break;
        }
        let gf: Vec<f64> = (0..n).map(|i| if free[i] { g[i] } else { 0.0 }).collect();
        // Two-loop recursion.
        let mut q = gf.clone();
        let m = s_hist.len();
        let mut alphas = vec![0.0; m];
        for k in (0..m).rev() {
            let rho = 1.0 / dot(&y_hist[k], &s_hist[k]);
            alphas[k] = rho * dot(&s_hist[k], &q);
            for i in 0..n {
                q[i] -= alphas[k] * y_hist[k][i];
            }
        }
        if m > 0 {
            let gamma = dot(&s_hist[m - 1], &y_hist[m - 1]) / dot(&y_hist[m - 1], &y_hist[m - 1]);
            q.iter_mut().for_each(|v| *v *= gamma);
        }
        for k in 0..m {
            let rho = 1.0 / dot(&y_hist[k], &s_hist[k]);
            let beta = rho * dot(&y_hist[k], &q);
            for i in 0..n {
                q[i] += (alphas[k] - beta) * s_hist[k][i];
            }
        }
        let mut d: Vec<f64> = (0..n).map(|i| if free[i] { -q[i] } else { 0.0 }).collect();
        let slope = dot(&d, &gf);
        if slope.is_nan() || slope >= 0.0 || d.iter().any(|v| !v.is_finite()) {
            d = gf.iter().map(|v| -v).collect();
            s_hist.clear();
            y_hist.clear();
        }
        // First step of steepest descent: scale to a unit move.
        let mut t = if s_hist.is_empty() {
            let norm = d.iter().map(|v| v.abs()).fold(0.0, f64::max);
            if norm > 0.0 {
                1.0 / norm
            } else {
                1.0
            }
        } else {
            1.0
        };
        let mut accepted = None;
        for _ in 0..40 {
            let mut xn: Vec<f64> = x.iter().zip(&d).map(|(a, b)| a + t * b).collect();
            project(&mut xn, lo, hi);
            let step: Vec<f64> = xn.iter().zip(&x).map(|(a, b)| a - b).collect();
            let (fn_, gn) = f(&xn);
            if fn_.is_finite() && fn_ <= fx + 1e-4 * dot(&g, &step) {
                accepted = Some((xn, fn_, gn, step));
                break;
            }
            t *= 0.5;
        }
        let Some((xn, fn_, gn, step)) = accepted else { break };
        let yk: Vec<f64> = gn.iter().zip(&g).map(|(a, b)| a - b).collect();
        let sy = dot(&step, &yk);
        if sy > 1e-12 * dot(&yk, &yk).max(1e-300) {
            s_hist.push(step.clone());
            y_hist.push(yk);
            if s_hist.len() > HISTORY {
                s_hist.remove(0);
                y_hist.remove(0);
            }
        }
        let converged = (fx - fn_).abs() <= F_TOL * fx.abs().max(fn_.abs()).max(1.0);
        x = xn;
        fx = fn_;
        g = gn;
        if converged || step.iter().all(|v| *v == 0.0) {
            break;
        }
    }
    Minimum { x, f: fx }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_box_constrained_minima() {
        // Rosenbrock: minimum at (1, 1).
        let mut rosen = |x: &[f64]| {
            let (a, b) = (x[0], x[1]);
            let f = (1.0 - a).powi(2) + 100.0 * (b - a * a).powi(2);
            (f, vec![-2.0 * (1.0 - a) - 400.0 * a * (b - a * a), 200.0 * (b - a * a)])
        };
        let m = minimize(&mut rosen, &[-1.2, 1.0], &[-2.0, -2.0], &[2.0, 2.0]);
        assert!((m.x[0] - 1.0).abs() < 1e-4 && (m.x[1] - 1.0).abs() < 1e-4, "{m:?}");
        // A quadratic whose minimum (3, -3) lies outside the box: the corner.
        let mut quad = |x: &[f64]| {
            ((x[0] - 3.0).powi(2) + (x[1] + 3.0).powi(2), vec![2.0 * (x[0] - 3.0), 2.0 * (x[1] + 3.0)])
        };
        let m = minimize(&mut quad, &[0.5, 0.5], &[0.0, 0.0], &[1.0, 1.0]);
        assert_eq!(m.x, vec![1.0, 0.0]);
    }
}
