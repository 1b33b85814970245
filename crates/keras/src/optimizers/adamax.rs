//! `keras.optimizers.Adamax`.

use serde_json::{json, Map, Value};

use super::base::{take_f64, BaseOptimizer, SlotSpec, StepInfo, UpdateRule};
use crate::Result;

/// The Adamax algorithm: `m += (g-m)*(1-beta_1); u = max(beta_2*u, |g|);
/// var -= lr*m/((1-beta_1^t)*(u+epsilon))`.
#[derive(Clone, Debug)]
pub struct AdamaxRule {
    /// `beta_1` (default 0.9).
    pub beta_1: f64,
    /// `beta_2` (default 0.999).
    pub beta_2: f64,
    /// `epsilon` (default 1e-7).
    pub epsilon: f64,
}

impl Default for AdamaxRule {
    fn default() -> Self {
        AdamaxRule { beta_1: 0.9, beta_2: 0.999, epsilon: 1e-7 }
    }
}

/// `keras.optimizers.Adamax` (learning rate 0.001, beta_1 0.9, beta_2 0.999, epsilon 1e-7).
pub type Adamax = BaseOptimizer<AdamaxRule>;

impl Adamax {
    /// Adamax with Keras's defaults.
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
