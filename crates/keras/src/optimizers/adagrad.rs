//! `keras.optimizers.Adagrad`.

use serde_json::{json, Map, Value};

use super::base::{take_f64, BaseOptimizer, SlotSpec, StepInfo, UpdateRule};
use crate::Result;

/// The Adagrad algorithm: `acc += g^2; var -= lr*g/sqrt(acc + epsilon)`, the accumulator
/// starting at `initial_accumulator_value`.
#[derive(Clone, Debug)]
pub struct AdagradRule {
    /// `initial_accumulator_value` (default 0.1).
    pub initial_accumulator_value: f64,
    /// `epsilon` (default 1e-7).
    pub epsilon: f64,
}

impl Default for AdagradRule {
    fn default() -> Self {
        AdagradRule { initial_accumulator_value: 0.1, epsilon: 1e-7 }
    }
}

/// `keras.optimizers.Adagrad` (learning rate 0.001, initial accumulator 0.1, epsilon 1e-7).
pub type Adagrad = BaseOptimizer<AdagradRule>;

impl Adagrad {
    /// Adagrad with Keras's defaults.
    pub fn new() -> Self {
        Self::new_default()
    }

    /// `initial_accumulator_value=`.
    pub fn initial_accumulator_value(mut self, v: impl Into<f64>) -> Self {
        self.rule_mut().initial_accumulator_value = v.into();
        self
    }

    /// `epsilon=`.
    pub fn epsilon(mut self, v: impl Into<f64>) -> Self {
        self.rule_mut().epsilon = v.into();
        self
    }
}

impl UpdateRule for AdagradRule {
    const CLASS_NAME: &'static str = "Adagrad";
    const AUTO_NAME: &'static str = "adagrad";
    const DEFAULT_LR: f32 = 0.001;

    fn slot_groups(&self) -> Vec<Vec<SlotSpec>> {
        vec![vec![("accumulator", self.initial_accumulator_value as f32)]]
    }

    fn update(&self, info: &StepInfo, var: &mut [f32], grad: &[f32], slots: &mut [&mut [f32]]) {
        let lr = info.lr;
        let eps = self.epsilon as f32;
        let [acc] = slots else { return };
        for ((w, &g), a) in var.iter_mut().zip(grad).zip(acc.iter_mut()) {
            let x = info.decay(*w);
            *a += g * g;
            *w = x - (lr * g) / (*a + eps).sqrt();
        }
    }

    fn config(&self, m: &mut Map<String, Value>) {
        m.insert("initial_accumulator_value".into(), json!(self.initial_accumulator_value));
        m.insert("epsilon".into(), json!(self.epsilon));
    }

    fn read_config(&mut self, cfg: &mut Map<String, Value>) -> Result<()> {
        self.initial_accumulator_value =
            take_f64(cfg, "initial_accumulator_value", self.initial_accumulator_value)?;
        self.epsilon = take_f64(cfg, "epsilon", self.epsilon)?;
        Ok(())
    }
}
