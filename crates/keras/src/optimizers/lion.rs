//! `keras.optimizers.Lion`.

use super::base::{SlotSpec, StepInfo, UpdateRule};
use super::rule_args::{optimizer_rule, rule_args_config};
use super::tf_sign;
use crate::utils::python_repr::python_float_repr;
use crate::{keras_bail, Result};

optimizer_rule! {
    /// The Lion algorithm: `var -= lr*sign(beta_1*m + (1-beta_1)*g);
    /// m = beta_2*m + (1-beta_2)*g`.
    pub struct LionRule;
    /// `keras.optimizers.Lion` (learning rate 0.001, beta_1 0.9, beta_2 0.99).
    pub type Lion;
    new = "Lion with Keras's defaults.";
    args {
        /// In (0, 1].
        beta_1: f64 = 0.9 => "`beta_1=` (in (0, 1]).",
        beta_2: f64 = 0.99,
    }
}

impl UpdateRule for LionRule {
    const CLASS_NAME: &'static str = "Lion";
    const AUTO_NAME: &'static str = "lion";
    const DEFAULT_LR: f32 = 0.001;

    fn slot_groups(&self) -> Vec<Vec<SlotSpec>> {
        vec![vec![("momentum", 0.0)]]
    }

    fn update(&self, info: &StepInfo, var: &mut [f32], grad: &[f32], slots: &mut [&mut [f32]]) {
        let lr = info.lr;
        let b1 = self.beta_1 as f32;
        let b2 = self.beta_2 as f32;
        let (one_m_b1, one_m_b2) = (1.0 - b1, 1.0 - b2);
        let [m] = slots else { return };
        for ((w, &g), m) in var.iter_mut().zip(grad).zip(m.iter_mut()) {
            let x = info.decay(*w);
            *w = x - lr * tf_sign(*m * b1 + g * one_m_b1);
            *m = *m * b2 + g * one_m_b2;
        }
    }

    rule_args_config!();

    fn validate(&self) -> Result<()> {
        if self.beta_1 <= 0.0 || self.beta_1 > 1.0 || self.beta_1.is_nan() {
            keras_bail!(
                InvalidArgument,
                "Argument `beta_1` must be in the [0, 1] range. Otherwise, the optimizer \
                 degenerates to SignSGD. Received: beta_1={}.",
                python_float_repr(self.beta_1)
            );
        }
        Ok(())
    }
}
