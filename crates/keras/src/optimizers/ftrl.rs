//! `keras.optimizers.Ftrl`.

use super::base::{SlotSpec, StepInfo, UpdateRule};
use super::rule_args::{optimizer_rule, rule_args_config};
use crate::utils::python_repr::python_float_repr;
use crate::{keras_bail, Result};

optimizer_rule! {
    /// The FTRL-proximal algorithm as Keras implements it (accumulator and linear slots).
    pub struct FtrlRule;
    /// `keras.optimizers.Ftrl` (learning rate 0.001, learning_rate_power -0.5, initial
    /// accumulator 0.1, no regularization).
    pub type Ftrl;
    new = "Ftrl with Keras's defaults.";
    args {
        /// Must be <= 0.
        learning_rate_power: f64 = -0.5 => "`learning_rate_power=` (<= 0).",
        /// Must be >= 0.
        initial_accumulator_value: f64 = 0.1 => "`initial_accumulator_value=` (>= 0).",
        l1_regularization_strength: f64 = 0.0 => "`l1_regularization_strength=` (>= 0).",
        l2_regularization_strength: f64 = 0.0 => "`l2_regularization_strength=` (>= 0).",
        l2_shrinkage_regularization_strength: f64 = 0.0 => "`l2_shrinkage_regularization_strength=` (>= 0).",
        beta: f64 = 0.0,
    }
}

impl UpdateRule for FtrlRule {
    const CLASS_NAME: &'static str = "Ftrl";
    const AUTO_NAME: &'static str = "ftrl";
    const DEFAULT_LR: f32 = 0.001;

    fn slot_groups(&self) -> Vec<Vec<SlotSpec>> {
        vec![vec![("accumulator", self.initial_accumulator_value as f32), ("linear", 0.0)]]
    }

    fn update(&self, info: &StepInfo, var: &mut [f32], grad: &[f32], slots: &mut [&mut [f32]]) {
        let lr = info.lr;
        let p = (-self.learning_rate_power) as f32;
        let l2_reg = self.l2_regularization_strength as f32 + self.beta as f32 / (2.0 * lr);
        let shrink = (2.0 * self.l2_shrinkage_regularization_strength) as f32;
        let l1 = self.l1_regularization_strength as f32;
        let [acc, lin] = slots else { return };
        for (((w, &g), acc), lin) in var.iter_mut().zip(grad).zip(acc.iter_mut()).zip(lin.iter_mut()) {
            let x = info.decay(*w);
            let grad_to_use = g + shrink * x;
            let new_acc = *acc + g * g;
            let new_pow = new_acc.powf(p);
            *lin += grad_to_use - ((new_pow - acc.powf(p)) / lr) * x;
            let quadratic = new_pow / lr + 2.0 * l2_reg;
            let clipped = lin.max(-l1).min(l1);
            *w = (clipped - *lin) / quadratic;
            *acc = new_acc;
        }
    }

    rule_args_config!();

    fn validate(&self) -> Result<()> {
        non_negative("initial_accumulator_value", self.initial_accumulator_value)?;
        if self.learning_rate_power > 0.0 {
            keras_bail!(
                InvalidArgument,
                "`learning_rate_power` needs to be negative or zero. Received: \
                 learning_rate_power={}.",
                python_float_repr(self.learning_rate_power)
            );
        }
        non_negative("l1_regularization_strength", self.l1_regularization_strength)?;
        non_negative("l2_regularization_strength", self.l2_regularization_strength)?;
        non_negative("l2_shrinkage_regularization_strength", self.l2_shrinkage_regularization_strength)
    }
}

/// Keras's check of an argument that must be >= 0 (its message).
fn non_negative(name: &str, value: f64) -> Result<()> {
    if value < 0.0 {
        keras_bail!(
            InvalidArgument,
            "`{name}` needs to be positive or zero. Received: {name}={}.",
            python_float_repr(value)
        );
    }
    Ok(())
}
