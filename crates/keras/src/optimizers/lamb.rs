//! `keras.optimizers.Lamb`.

use super::base::{rule_args, SlotSpec, StepInfo, UpdateRule, VarInfo};

rule_args! {
    /// The LAMB algorithm (You et al., 2019): Adam's update scaled per variable by the trust
    /// ratio `||var|| / ||update||`.
    pub struct LambRule;
    /// `keras.optimizers.Lamb` (learning rate 0.001, beta_1 0.9, beta_2 0.999, epsilon 1e-7).
    ///
    /// ```
    /// use keras::optimizers::{Lamb, Optimizer};
    /// let opt = Lamb::new().beta_1(0.8);
    /// assert_eq!(opt.get_config()["beta_1"], 0.8);
    /// ```
    pub type Lamb {
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

impl UpdateRule for LambRule {
    const CLASS_NAME: &'static str = "Lamb";
    const AUTO_NAME: &'static str = "lamb";
    const DEFAULT_LR: f32 = 0.001;

    fn slot_groups(&self) -> Vec<Vec<SlotSpec>> {
        vec![vec![("momentum", 0.0), ("velocity", 0.0)]]
    }

    fn update(&self, info: &StepInfo, var: &mut [f32], grad: &[f32], slots: &mut [&mut [f32]]) {
        // Only reached for variables split in pieces, which `update_var` never asks for.
        let mut owned: Vec<Vec<f32>> = slots.iter().map(|s| s.to_vec()).collect();
        let v = VarInfo { name: String::new(), path: String::new(), shape: vec![var.len()] };
        self.update_var(info, &v, var, grad, &mut owned);
        for (s, o) in slots.iter_mut().zip(owned) {
            s.copy_from_slice(&o);
        }
    }

    fn update_var(
        &self,
        info: &StepInfo,
        _v: &VarInfo,
        var: &mut [f32],
        grad: &[f32],
        slots: &mut [Vec<f32>],
    ) -> bool {
        let t = (info.iterations + 1) as f32;
        let (b1, b2, eps) = (self.beta_1 as f32, self.beta_2 as f32, self.epsilon as f32);
        let (b1p, b2p) = (b1.powf(t), b2.powf(t));
        var.iter_mut().for_each(|w| *w = info.decay(*w));
        let [m, v] = slots else { return true };
        let mut update = vec![0.0f32; var.len()];
        for i in 0..var.len() {
            let g = grad[i];
            m[i] += (g - m[i]) * (1.0 - b1);
            v[i] += (g * g - v[i]) * (1.0 - b2);
            update[i] = (m[i] / (1.0 - b1p)) / ((v[i] / (1.0 - b2p)).sqrt() + eps);
        }
        let w_norm = var.iter().map(|w| w * w).sum::<f32>().sqrt();
        let g_norm = update.iter().map(|u| u * u).sum::<f32>().sqrt();
        let ratio = if w_norm > 0.0 && g_norm > 0.0 { w_norm / g_norm } else { 1.0 };
        for (w, u) in var.iter_mut().zip(&update) {
            *w -= ratio * info.lr * u;
        }
        true
    }

    rule_args!(config);
}
