//! `keras.optimizers.SGD`: gradient descent with optional (Nesterov) momentum.

use serde_json::{json, Map, Value};

use super::base::{take_bool, take_f64, BaseOptimizer, SlotSpec, StepInfo, UpdateRule};
use crate::{keras_bail, Result};

/// The SGD algorithm: `m = momentum*m - lr*g; var += m` (Nesterov: `var += momentum*m - lr*g`),
/// plain `var -= lr*g` without momentum.
#[derive(Clone, Debug)]
pub struct SGDRule {
    /// `momentum` (default 0.0, in [0, 1]).
    pub momentum: f64,
    /// `nesterov` (default false).
    pub nesterov: bool,
}

impl Default for SGDRule {
    fn default() -> Self {
        SGDRule { momentum: 0.0, nesterov: false }
    }
}

/// `keras.optimizers.SGD` (learning rate 0.01, momentum 0.0, nesterov false).
#[allow(clippy::upper_case_acronyms)]
pub type SGD = BaseOptimizer<SGDRule>;

impl SGD {
    /// SGD with Keras's defaults.
    pub fn new() -> Self {
        Self::new_default()
    }

    /// `momentum=` (a float in [0, 1]).
    pub fn momentum(mut self, v: impl Into<f64>) -> Self {
        self.rule_mut().momentum = v.into();
        self
    }

    /// `nesterov=`.
    pub fn nesterov(mut self, yes: bool) -> Self {
        self.rule_mut().nesterov = yes;
        self
    }
}

impl UpdateRule for SGDRule {
    const CLASS_NAME: &'static str = "SGD";
    const AUTO_NAME: &'static str = "sgd";
    const DEFAULT_LR: f32 = 0.01;

    fn slot_groups(&self) -> Vec<Vec<SlotSpec>> {
        if self.momentum != 0.0 {
            vec![vec![("momentum", 0.0)]]
        } else {
            Vec::new()
        }
    }

    fn fused(&self) -> Option<keras_engine::ops::fused::FusedRule> {
        Some(keras_engine::ops::fused::FusedRule::Sgd {
            momentum: self.momentum as f32,
            nesterov: self.nesterov,
        })
    }

    fn update(&self, info: &StepInfo, var: &mut [f32], grad: &[f32], slots: &mut [&mut [f32]]) {
        let lr = info.lr;
        match slots {
            [m] => {
                let mom = self.momentum as f32;
                let it = var.iter_mut().zip(grad).zip(m.iter_mut());
                if self.nesterov {
                    for ((w, &g), m) in it {
                        let x = info.decay(*w);
                        *m = *m * mom - g * lr;
                        *w = x + (*m * mom - g * lr);
                    }
                } else {
                    for ((w, &g), m) in it {
                        let x = info.decay(*w);
                        *m = *m * mom - g * lr;
                        *w = x + *m;
                    }
                }
            }
            _ => {
                for (w, &g) in var.iter_mut().zip(grad) {
                    *w = info.decay(*w) - g * lr;
                }
            }
        }
    }

    fn config(&self, m: &mut Map<String, Value>) {
        m.insert("momentum".into(), json!(self.momentum));
        m.insert("nesterov".into(), json!(self.nesterov));
    }

    fn read_config(&mut self, cfg: &mut Map<String, Value>) -> Result<()> {
        self.momentum = take_f64(cfg, "momentum", self.momentum)?;
        self.nesterov = take_bool(cfg, "nesterov", self.nesterov)?;
        Ok(())
    }

    fn validate(&self) -> Result<()> {
        if !(0.0..=1.0).contains(&self.momentum) {
            keras_bail!(InvalidArgument, "`momentum` must be a float between [0, 1].");
        }
        Ok(())
    }
}
