//! `keras.optimizers.Adamax`.

use super::base::{rule_args, SlotSpec, StepInfo, UpdateRule};

rule_args! {
    /// The Adamax algorithm: `m += (g-m)*(1-beta_1); u = max(beta_2*u, |g|);
    /// var -= lr*m/((1-beta_1^t)*(u+epsilon))`.
    pub struct AdamaxRule;
    /// `keras.optimizers.Adamax` (learning rate 0.001, beta_1 0.9, beta_2 0.999, epsilon 1e-7).
    pub type Adamax {
        /// `beta_1` (default 0.9).
        beta_1: f64 = 0.9;
        /// `beta_1=`.
        builder,
        /// `beta_2` (default 0.999).
        beta_2: f64 = 0.999;
        /// `beta_2=`.
        builder,
        /// `epsilon` (default 1e-7).
        epsilon: f64 = 1e-7;
        /// `epsilon=`.
        builder,
    }
}

impl UpdateRule for AdamaxRule {
    const CLASS_NAME: &'static str = "Adamax";
    const AUTO_NAME: &'static str = "adamax";
    const DEFAULT_LR: f32 = 0.001;

    fn slot_groups(&self) -> Vec<Vec<SlotSpec>> {
        vec![vec![("momentum", 0.0), ("norm", 0.0)]]
    }

    fn update(&self, info: &StepInfo, var: &mut [f32], grad: &[f32], slots: &mut [&mut [f32]]) {
        let lr = info.lr;
        let t = (info.iterations + 1) as f32;
        let b1p = (self.beta_1 as f32).powf(t);
        let one_m_b1 = (1.0 - self.beta_1) as f32;
        let b2 = self.beta_2 as f32;
        let eps = self.epsilon as f32;
        let [m, u] = slots else { return };
        for (((w, &g), m), u) in var.iter_mut().zip(grad).zip(m.iter_mut()).zip(u.iter_mut()) {
            let x = info.decay(*w);
            *m += (g - *m) * one_m_b1;
            *u = (b2 * *u).max(g.abs());
            *w = x - (lr * *m) / ((1.0 - b1p) * (*u + eps));
        }
    }

    rule_args!(config);
}
