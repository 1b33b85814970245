//! `keras.optimizers.Adam` and `keras.optimizers.AdamW`.

use keras_engine::kernels::adam::{adam_update, AdamStep};
use serde_json::{json, Map, Value};

use super::base::{take_bool, take_f64, BaseOptimizer, BaseState, SlotSpec, StepInfo, UpdateRule};
use crate::{keras_bail, Result};

/// The Adam algorithm (Keras's "epsilon hat" form):
/// `alpha = lr*sqrt(1-beta_2^t)/(1-beta_1^t)`, `var -= alpha*m/(sqrt(v)+epsilon)`; AMSGrad
/// uses the running maximum of the uncorrected `v`.
#[derive(Clone, Debug)]
pub struct AdamRule {
    /// `beta_1` (default 0.9).
    pub beta_1: f64,
    /// `beta_2` (default 0.999).
    pub beta_2: f64,
    /// `epsilon` (default 1e-7).
    pub epsilon: f64,
    /// `amsgrad` (default false).
    pub amsgrad: bool,
}

impl Default for AdamRule {
    fn default() -> Self {
        AdamRule { beta_1: 0.9, beta_2: 0.999, epsilon: 1e-7, amsgrad: false }
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

    fn write_adam_config(&self, m: &mut Map<String, Value>) {
        m.insert("beta_1".into(), json!(self.beta_1));
        m.insert("beta_2".into(), json!(self.beta_2));
        m.insert("epsilon".into(), json!(self.epsilon));
        m.insert("amsgrad".into(), json!(self.amsgrad));
    }

    fn read_adam_config(&mut self, cfg: &mut Map<String, Value>) -> Result<()> {
        self.beta_1 = take_f64(cfg, "beta_1", self.beta_1)?;
        self.beta_2 = take_f64(cfg, "beta_2", self.beta_2)?;
        self.epsilon = take_f64(cfg, "epsilon", self.epsilon)?;
        self.amsgrad = take_bool(cfg, "amsgrad", self.amsgrad)?;
        Ok(())
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

    fn config(&self, m: &mut Map<String, Value>) {
        self.write_adam_config(m)
    }

    fn read_config(&mut self, cfg: &mut Map<String, Value>) -> Result<()> {
        self.read_adam_config(cfg)
    }
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
        self.0.write_adam_config(m)
    }

    fn read_config(&mut self, cfg: &mut Map<String, Value>) -> Result<()> {
        self.0.read_adam_config(cfg)
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

/// `keras.optimizers.Adam` (learning rate 0.001, beta_1 0.9, beta_2 0.999, epsilon 1e-7).
pub type Adam = BaseOptimizer<AdamRule>;

/// `keras.optimizers.AdamW` (Adam with `weight_decay=0.004`).
pub type AdamW = BaseOptimizer<AdamWRule>;

macro_rules! adam_builders {
    ($ty:ty, $doc:literal) => {
        impl $ty {
            #[doc = $doc]
            pub fn new() -> Self {
                Self::new_default()
            }

            /// `beta_1=` (decay of the first moment).
            pub fn beta_1(mut self, v: impl Into<f64>) -> Self {
                self.rule_mut().adam().beta_1 = v.into();
                self
            }

            /// `beta_2=` (decay of the second moment).
            pub fn beta_2(mut self, v: impl Into<f64>) -> Self {
                self.rule_mut().adam().beta_2 = v.into();
                self
            }

            /// `epsilon=` (added to `sqrt(v)`).
            pub fn epsilon(mut self, v: impl Into<f64>) -> Self {
                self.rule_mut().adam().epsilon = v.into();
                self
            }

            /// `amsgrad=`.
            pub fn amsgrad(mut self, yes: bool) -> Self {
                self.rule_mut().adam().amsgrad = yes;
                self
            }
        }
    };
}

trait AsAdam {
    fn adam(&mut self) -> &mut AdamRule;
}

impl AsAdam for AdamRule {
    fn adam(&mut self) -> &mut AdamRule {
        self
    }
}

impl AsAdam for AdamWRule {
    fn adam(&mut self) -> &mut AdamRule {
        &mut self.0
    }
}

adam_builders!(Adam, "Adam with Keras's defaults.");
adam_builders!(AdamW, "AdamW with Keras's defaults.");
