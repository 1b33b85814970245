//! `keras.optimizers.RMSprop`.

use super::base::{rule_args, SlotSpec, StepInfo, UpdateRule};

rule_args! {
    /// The RMSprop algorithm: `v = rho*v + (1-rho)*g^2`, `var -= lr*g/sqrt(v + epsilon)`
    /// (epsilon inside the root); `centered` subtracts the squared mean gradient, `momentum > 0`
    /// routes the increment through a momentum buffer.
    pub struct RMSpropRule;
    /// `keras.optimizers.RMSprop` (learning rate 0.001, rho 0.9, momentum 0.0, epsilon 1e-7).
    pub type RMSprop {
        /// `rho` (default 0.9).
        rho: f64 = 0.9;
        /// `rho=` (decay of the squared-gradient average).
        builder,
        /// `momentum` (default 0.0).
        momentum: f64 = 0.0;
        /// `momentum=`.
        builder,
        /// `epsilon` (default 1e-7).
        epsilon: f64 = 1e-7;
        /// `epsilon=`.
        builder,
        /// `centered` (default false).
        centered: bool = false;
        /// `centered=`.
        builder,
    }
}

impl UpdateRule for RMSpropRule {
    const CLASS_NAME: &'static str = "RMSprop";
    const AUTO_NAME: &'static str = "rm_sprop";
    const DEFAULT_LR: f32 = 0.001;

    fn slot_groups(&self) -> Vec<Vec<SlotSpec>> {
        let mut g = vec![vec![("velocity", 0.0)]];
        if self.momentum > 0.0 {
            g.push(vec![("momentum", 0.0)]);
        }
        if self.centered {
            g.push(vec![("average_gradient", 0.0)]);
        }
        g
    }

    fn update(&self, info: &StepInfo, var: &mut [f32], grad: &[f32], slots: &mut [&mut [f32]]) {
        let lr = info.lr;
        let rho = self.rho as f32;
        let one_m_rho = (1.0 - self.rho) as f32;
        let eps = self.epsilon as f32;
        let mom = self.momentum as f32;
        let has_mom = self.momentum > 0.0;
        let (vel, rest) = match slots.split_first_mut() {
            Some(x) => x,
            None => return,
        };
        let (mom_buf, rest) = if has_mom {
            match rest.split_first_mut() {
                Some((m, r)) => (Some(m), r),
                None => return,
            }
        } else {
            (None, rest)
        };
        let avg = if self.centered { rest.first_mut() } else { None };
        let n = var.len();
        let (mut mom_buf, mut avg) = (mom_buf.map(|m| &mut m[..n]), avg.map(|a| &mut a[..n]));
        for i in 0..n {
            let g = grad[i];
            let x = info.decay(var[i]);
            let v = rho * vel[i] + one_m_rho * (g * g);
            vel[i] = v;
            let denom = match avg.as_deref_mut() {
                Some(a) => {
                    let am = rho * a[i] + one_m_rho * g;
                    a[i] = am;
                    v - am * am + eps
                }
                None => v + eps,
            };
            let inc = (lr * g) / denom.sqrt();
            var[i] = match mom_buf.as_deref_mut() {
                Some(m) => {
                    m[i] = mom * m[i] + inc;
                    x - m[i]
                }
                None => x - inc,
            };
        }
    }

    rule_args!(config);
}
