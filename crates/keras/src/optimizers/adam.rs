//! `keras.optimizers.Adam` and `keras.optimizers.AdamW`.

use keras_engine::kernels::adam::{adam_update, AdamStep};
use serde_json::{Map, Value};

use super::base::{BaseState, SlotSpec, StepInfo, UpdateRule};
use super::rule_args::{optimizer_rule, rule_args_config};
use crate::{keras_bail, Result};

optimizer_rule! {
    /// The Adam algorithm (Keras's "epsilon hat" form):
    /// `alpha = lr*sqrt(1-beta_2^t)/(1-beta_1^t)`, `var -= alpha*m/(sqrt(v)+epsilon)`; AMSGrad
    /// uses the running maximum of the uncorrected `v`.
    pub struct AdamRule;
    /// `keras.optimizers.Adam` (learning rate 0.001, beta_1 0.9, beta_2 0.999, epsilon 1e-7).
    pub type Adam;
    new = "Adam with Keras's defaults.";
    args {
        beta_1: f64 = 0.9 => "`beta_1=` (decay of the first moment).",
        beta_2: f64 = 0.999 => "`beta_2=` (decay of the second moment).",
        epsilon: f64 = 1e-7 => "`epsilon=` (added to `sqrt(v)`).",
        amsgrad: bool = false,
    }
    variant {
        /// `keras.optimizers.AdamW` (Adam with `weight_decay=0.004`).
        pub type AdamW = AdamWRule;
        new = "AdamW with Keras's defaults.";
    }
}

impl AdamRule {
    fn groups(&self) -> Vec<Vec<SlotSpec>> {
        let mut g = vec![vec![("momentum", 0.0), ("velocity", 0.0)]];
        if self.amsgrad {
            g.push(vec![("velocity_hat", 0.0)]);
        }
        g
    }

    /// One update in the engine's multiversioned kernel (same float32 operations, in the
    /// same order, as the scalar formula on the struct).
    fn step(&self, info: &StepInfo, var: &mut [f32], grad: &[f32], slots: &mut [&mut [f32]]) {
        let h = AdamStep::new(
            info.lr,
            self.beta_1,
            self.beta_2,
            self.epsilon,
            info.iterations,
            info.weight_decay,
        );
        match slots {
            [m, v] => adam_update(var, grad, m, v, None, &h),
            [m, v, vh] => adam_update(var, grad, m, v, Some(vh), &h),
            _ => {}
        }
    }

    fn fused_rule(&self) -> keras_engine::ops::fused::FusedRule {
        keras_engine::ops::fused::FusedRule::Adam {
            beta_1: self.beta_1 as f32,
            beta_2: self.beta_2 as f32,
            epsilon: self.epsilon as f32,
        }
    }
}

impl UpdateRule for AdamRule {
    const CLASS_NAME: &'static str = "Adam";
    const AUTO_NAME: &'static str = "adam";
    const DEFAULT_LR: f32 = 0.001;

    fn slot_groups(&self) -> Vec<Vec<SlotSpec>> {
        self.groups()
    }

    fn update(&self, info: &StepInfo, var: &mut [f32], grad: &[f32], slots: &mut [&mut [f32]]) {
        self.step(info, var, grad, slots)
    }

    fn fused(&self) -> Option<keras_engine::ops::fused::FusedRule> {
        Some(self.fused_rule())
    }

    rule_args_config!();
}

/// AdamW: Adam with a default decoupled `weight_decay` of 0.004 (which must be set).
#[derive(Clone, Debug, Default)]
pub struct AdamWRule(pub AdamRule);

impl UpdateRule for AdamWRule {
    const CLASS_NAME: &'static str = "AdamW";
    const AUTO_NAME: &'static str = "adam_w";
    const DEFAULT_LR: f32 = 0.001;

    fn slot_groups(&self) -> Vec<Vec<SlotSpec>> {
        self.0.groups()
    }

    fn update(&self, info: &StepInfo, var: &mut [f32], grad: &[f32], slots: &mut [&mut [f32]]) {
        self.0.step(info, var, grad, slots)
    }

    fn fused(&self) -> Option<keras_engine::ops::fused::FusedRule> {
        Some(self.0.fused_rule())
    }

    fn config(&self, m: &mut Map<String, Value>) {
        self.0.write_args(m)
    }

    fn read_config(&mut self, cfg: &mut Map<String, Value>) -> Result<()> {
        self.0.read_args(cfg)
    }

    fn init_base(base: &mut BaseState) {
        base.weight_decay = Some(0.004);
    }

    fn validate_base(base: &BaseState) -> Result<()> {
        if base.weight_decay.is_none() {
            keras_bail!(
                InvalidArgument,
                "Argument `weight_decay` must be a float. Received: weight_decay=None"
            );
        }
        Ok(())
    }
}

impl std::ops::Deref for AdamWRule {
    type Target = AdamRule;
    fn deref(&self) -> &AdamRule {
        &self.0
    }
}

impl std::ops::DerefMut for AdamWRule {
    fn deref_mut(&mut self) -> &mut AdamRule {
        &mut self.0
    }
}
