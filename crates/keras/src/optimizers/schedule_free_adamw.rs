//! `keras.optimizers.ScheduleFreeAdamW`.

use super::base::{rule_args, SlotDef, SlotInit, SlotName, SlotSpec, StepInfo, UpdateRule, VarInfo};
use crate::{keras_bail, Result};

rule_args! {
    /// Schedule-Free AdamW (Defazio et al., 2024): the weights are an interpolation between the
    /// sequence gradient steps are taken on (`momentum`, starting at the weights) and its running
    /// average, so no learning-rate schedule is needed.
    pub struct ScheduleFreeAdamWRule;
    /// `keras.optimizers.ScheduleFreeAdamW` (learning rate 0.0025).
    pub type ScheduleFreeAdamW {
        /// `beta_1` (default 0.9).
        beta_1: f64 = 0.9;
        /// `beta_1=`.
        builder,
        /// `beta_2` (default 0.999).
        beta_2: f64 = 0.999;
        /// `beta_2=`.
        builder,
        /// `epsilon` (default 1e-8).
        epsilon: f64 = 1e-8;
        /// `epsilon=`.
        builder,
        /// `warmup_steps` (default 0): the learning rate grows linearly over these steps.
        warmup_steps: i64 = 0;
        /// `warmup_steps=` (>= 0).
        builder,
    }
}

impl UpdateRule for ScheduleFreeAdamWRule {
    const CLASS_NAME: &'static str = "ScheduleFreeAdamW";
    const AUTO_NAME: &'static str = "schedule_free_adam_w";
    const DEFAULT_LR: f32 = 0.0025;

    fn slot_groups(&self) -> Vec<Vec<SlotSpec>> {
        vec![vec![("momentum", 0.0), ("velocity", 0.0)]]
    }

    fn var_slots(&self, var: &VarInfo) -> Option<Vec<SlotDef>> {
        let def = |name, init| SlotDef {
            name: SlotName::Suffix(name),
            shape: var.shape.clone(),
            init,
            int_placeholder: false,
        };
        Some(vec![def("momentum", SlotInit::CopyOfVariable), def("velocity", SlotInit::Const(0.0))])
    }

    fn update(&self, info: &StepInfo, var: &mut [f32], grad: &[f32], slots: &mut [&mut [f32]]) {
        let t = (info.iterations + 1) as f32;
        let (b1, b2, eps) = (self.beta_1 as f32, self.beta_2 as f32, self.epsilon as f32);
        let mut lr = info.lr;
        if self.warmup_steps > 0 {
            lr *= (t / self.warmup_steps as f32).min(1.0);
        }
        let bc2 = 1.0 - b2.powf(t);
        let weight = 1.0 / t;
        let [m, v] = slots else { return };
        for i in 0..var.len() {
            let y_old = info.decay(var[i]);
            let g = grad[i];
            v[i] += (g * g - v[i]) * (1.0 - b2);
            let denom = (v[i] / bc2).sqrt() + eps;
            m[i] -= lr * g / denom;
            // Keras's `momentum_old = momentum.value` is the variable itself (TensorFlow
            // backend), read after the update: x_old uses the new momentum.
            let x_old = (y_old - (1.0 - b1) * m[i]) / b1;
            let x_new = (1.0 - weight) * x_old + weight * m[i];
            var[i] = (1.0 - b1) * m[i] + b1 * x_new;
        }
    }

    rule_args!(config);

    fn validate(&self) -> Result<()> {
        if self.warmup_steps < 0 {
            keras_bail!(
                InvalidArgument,
                "`warmup_steps` must be >= 0. Received: warmup_steps={}",
                self.warmup_steps
            );
        }
        Ok(())
    }
}
