//! `keras.optimizers.SGD`: gradient descent with optional (Nesterov) momentum.

use super::base::{rule_args, SlotSpec, StepInfo, UpdateRule};
use crate::{keras_bail, Result};

rule_args! {
    /// The SGD algorithm: `m = momentum*m - lr*g; var += m` (Nesterov: `var += momentum*m - lr*g`),
    /// plain `var -= lr*g` without momentum.
    pub struct SGDRule;
    /// `keras.optimizers.SGD` (learning rate 0.01, momentum 0.0, nesterov false).
    #[allow(clippy::upper_case_acronyms)]
    pub type SGD {
        /// `momentum` (default 0.0, in [0, 1]).
        momentum: f64 = 0.0;
        /// `momentum=` (a float in [0, 1]).
        builder,
        /// `nesterov` (default false).
        nesterov: bool = false;
        /// `nesterov=`.
        builder,
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

    rule_args!(config);

    fn validate(&self) -> Result<()> {
        if !(0.0..=1.0).contains(&self.momentum) {
            keras_bail!(InvalidArgument, "`momentum` must be a float between [0, 1].");
        }
        Ok(())
    }
}
