//! `keras.optimizers.Adagrad`.

use super::base::{rule_args, SlotSpec, StepInfo, UpdateRule};

rule_args! {
    /// The Adagrad algorithm: `acc += g^2; var -= lr*g/sqrt(acc + epsilon)`, the accumulator
    /// starting at `initial_accumulator_value`.
    pub struct AdagradRule;
    /// `keras.optimizers.Adagrad` (learning rate 0.001, initial accumulator 0.1, epsilon 1e-7).
    pub type Adagrad {
        /// `initial_accumulator_value` (default 0.1).
        initial_accumulator_value: f64 = 0.1;
        /// `initial_accumulator_value=`.
        builder,
        /// `epsilon` (default 1e-7).
        epsilon: f64 = 1e-7;
        /// `epsilon=`.
        builder,
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

    rule_args!(config);
}
