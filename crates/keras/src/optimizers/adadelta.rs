//! `keras.optimizers.Adadelta`.

use serde_json::{json, Map, Value};

use super::base::{take_f64, BaseOptimizer, SlotSpec, StepInfo, UpdateRule};
use crate::Result;

/// The Adadelta algorithm, scaled by the learning rate as Keras does (default 0.001):
/// `Eg = rho*Eg + (1-rho)*g^2; d = -sqrt(Ed + eps)*g/sqrt(Eg + eps);
/// Ed = rho*Ed + (1-rho)*d^2; var += lr*d`.
#[derive(Clone, Debug)]
pub struct AdadeltaRule {
    /// `rho` (default 0.95).
    pub rho: f64,
    /// `epsilon` (default 1e-7).
    pub epsilon: f64,
}

impl Default for AdadeltaRule {
    fn default() -> Self {
        AdadeltaRule { rho: 0.95, epsilon: 1e-7 }
    }
}

/// `keras.optimizers.Adadelta` (learning rate 0.001, rho 0.95, epsilon 1e-7).
pub type Adadelta = BaseOptimizer<AdadeltaRule>;

impl Adadelta {
    /// Adadelta with Keras's defaults.
    pub fn new() -> Self {
        Self::new_default()
    }

    /// `rho=`.
    pub fn rho(mut self, v: impl Into<f64>) -> Self {
        self.rule_mut().rho = v.into();
        self
    }

    /// `epsilon=`.
    pub fn epsilon(mut self, v: impl Into<f64>) -> Self {
        self.rule_mut().epsilon = v.into();
        self
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

    fn config(&self, m: &mut Map<String, Value>) {
        m.insert("rho".into(), json!(self.rho));
        m.insert("epsilon".into(), json!(self.epsilon));
    }

    fn read_config(&mut self, cfg: &mut Map<String, Value>) -> Result<()> {
        self.rho = take_f64(cfg, "rho", self.rho)?;
        self.epsilon = take_f64(cfg, "epsilon", self.epsilon)?;
        Ok(())
    }
}
