//! `keras.optimizers.Nadam`.

use serde_json::{json, Map, Value};

use super::base::{take_f64, BaseOptimizer, SlotSpec, StepInfo, UpdateRule};
use crate::Result;

/// The Nadam algorithm with Keras's momentum-cache schedule `u_t = beta_1*(1-0.5*0.96^t)`
/// and the running product `u_product` (a Keras optimizer variable named `variable`).
#[derive(Clone, Debug)]
pub struct NadamRule {
    /// `beta_1` (default 0.9).
    pub beta_1: f64,
    /// `beta_2` (default 0.999).
    pub beta_2: f64,
    /// `epsilon` (default 1e-7).
    pub epsilon: f64,
    /// The product of the momentum-cache values `u_1 * ... * u_t` (starts at 1).
    pub u_product: f32,
}

impl Default for NadamRule {
    fn default() -> Self {
        NadamRule { beta_1: 0.9, beta_2: 0.999, epsilon: 1e-7, u_product: 1.0 }
    }
}

/// `keras.optimizers.Nadam` (learning rate 0.001, beta_1 0.9, beta_2 0.999, epsilon 1e-7).
pub type Nadam = BaseOptimizer<NadamRule>;

impl Nadam {
    /// Nadam with Keras's defaults.
    pub fn new() -> Self {
        Self::new_default()
    }

    /// `beta_1=`.
    pub fn beta_1(mut self, v: impl Into<f64>) -> Self {
        self.rule_mut().beta_1 = v.into();
        self
    }

    /// `beta_2=`.
    pub fn beta_2(mut self, v: impl Into<f64>) -> Self {
        self.rule_mut().beta_2 = v.into();
        self
    }

    /// `epsilon=`.
    pub fn epsilon(mut self, v: impl Into<f64>) -> Self {
        self.rule_mut().epsilon = v.into();
        self
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

    fn config(&self, m: &mut Map<String, Value>) {
        m.insert("beta_1".into(), json!(self.beta_1));
        m.insert("beta_2".into(), json!(self.beta_2));
        m.insert("epsilon".into(), json!(self.epsilon));
    }

    fn read_config(&mut self, cfg: &mut Map<String, Value>) -> Result<()> {
        self.beta_1 = take_f64(cfg, "beta_1", self.beta_1)?;
        self.beta_2 = take_f64(cfg, "beta_2", self.beta_2)?;
        self.epsilon = take_f64(cfg, "epsilon", self.epsilon)?;
        Ok(())
    }
}
