//! `keras.optimizers.Adadelta`.

use super::base::{rule_args, SlotSpec, StepInfo, UpdateRule};

rule_args! {
    /// The Adadelta algorithm, scaled by the learning rate as Keras does (default 0.001):
    /// `Eg = rho*Eg + (1-rho)*g^2; d = -sqrt(Ed + eps)*g/sqrt(Eg + eps);
    /// Ed = rho*Ed + (1-rho)*d^2; var += lr*d`.
    pub struct AdadeltaRule;
    /// `keras.optimizers.Adadelta` (learning rate 0.001, rho 0.95, epsilon 1e-7).
    pub type Adadelta {
        /// `rho` (default 0.95).
        rho: f64 = 0.95;
        /// `rho=`.
        builder,
        /// `epsilon` (default 1e-7).
        epsilon: f64 = 1e-7;
        /// `epsilon=`.
        builder,
    }
}

impl UpdateRule for AdadeltaRule {
    const CLASS_NAME: &'static str = "Adadelta";
    const AUTO_NAME: &'static str = "adadelta";
    const DEFAULT_LR: f32 = 0.001;

    fn slot_groups(&self) -> Vec<Vec<SlotSpec>> {
        vec![vec![("accumulated_grad", 0.0), ("accumulated_delta_var", 0.0)]]
    }

    fn update(&self, info: &StepInfo, var: &mut [f32], grad: &[f32], slots: &mut [&mut [f32]]) {
        let lr = info.lr;
        let rho = self.rho as f32;
        let one_m_rho = (1.0 - self.rho) as f32;
        let eps = self.epsilon as f32;
        let [ag, ad] = slots else { return };
        for (((w, &g), ag), ad) in var.iter_mut().zip(grad).zip(ag.iter_mut()).zip(ad.iter_mut()) {
            let x = info.decay(*w);
            *ag = rho * *ag + one_m_rho * (g * g);
            let delta = -(((*ad + eps).sqrt() * g) / (*ag + eps).sqrt());
            *ad = rho * *ad + one_m_rho * (delta * delta);
            *w = x + lr * delta;
        }
    }

    rule_args!(config);
}
