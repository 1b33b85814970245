//! `keras.optimizers.Nadam`.

use super::base::{SlotSpec, StepInfo, UpdateRule};
use super::rule_args::{optimizer_rule, rule_args_config};

optimizer_rule! {
    /// The Nadam algorithm with Keras's momentum-cache schedule `u_t = beta_1*(1-0.5*0.96^t)`
    /// and the running product `u_product` (a Keras optimizer variable named `variable`).
    pub struct NadamRule;
    /// `keras.optimizers.Nadam` (learning rate 0.001, beta_1 0.9, beta_2 0.999, epsilon 1e-7).
    pub type Nadam;
    new = "Nadam with Keras's defaults.";
    args {
        beta_1: f64 = 0.9,
        beta_2: f64 = 0.999,
        epsilon: f64 = 1e-7,
    }
    state {
        /// The product of the momentum-cache values `u_1 * ... * u_t` (starts at 1).
        u_product: f32 = 1.0,
    }
}

impl UpdateRule for NadamRule {
    const CLASS_NAME: &'static str = "Nadam";
    const AUTO_NAME: &'static str = "nadam";
    const DEFAULT_LR: f32 = 0.001;

    fn slot_groups(&self) -> Vec<Vec<SlotSpec>> {
        vec![vec![("momentum", 0.0), ("velocity", 0.0)]]
    }

    fn begin_step(&mut self, iterations: u64) {
        let t = (iterations + 1) as f32;
        self.u_product = self.u_product * self.beta_1 as f32 * (1.0 - 0.5 * 0.96f32.powf(t));
    }

    fn extra_variables(&self) -> Vec<(&'static str, f32)> {
        vec![("variable", self.u_product)]
    }

    fn set_extra_variables(&mut self, values: &[f32]) {
        if let Some(&v) = values.first() {
            self.u_product = v;
        }
    }

    fn update(&self, info: &StepInfo, var: &mut [f32], grad: &[f32], slots: &mut [&mut [f32]]) {
        let lr = info.lr;
        let local_step = (info.iterations + 1) as f32;
        let next_step = (info.iterations + 2) as f32;
        let decay = 0.96f32;
        let b1 = self.beta_1 as f32;
        let b2 = self.beta_2 as f32;
        let u_t = b1 * (1.0 - 0.5 * decay.powf(local_step));
        let u_t_1 = b1 * (1.0 - 0.5 * decay.powf(next_step));
        let u_product_t = self.u_product;
        let u_product_t_1 = u_product_t * u_t_1;
        let b2p = b2.powf(local_step);
        let eps = self.epsilon as f32;
        let (one_m_b1, one_m_b2) = (1.0 - b1, 1.0 - b2);
        let [m, v] = slots else { return };
        for (((w, &g), m), v) in var.iter_mut().zip(grad).zip(m.iter_mut()).zip(v.iter_mut()) {
            let x = info.decay(*w);
            *m += (g - *m) * one_m_b1;
            *v += (g * g - *v) * one_m_b2;
            let m_hat = (u_t_1 * *m) / (1.0 - u_product_t_1) + ((1.0 - u_t) * g) / (1.0 - u_product_t);
            let v_hat = *v / (1.0 - b2p);
            *w = x - (m_hat * lr) / (v_hat.sqrt() + eps);
        }
    }

    rule_args_config!();
}
