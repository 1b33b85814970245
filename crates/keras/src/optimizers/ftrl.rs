//! `keras.optimizers.Ftrl`.

use serde_json::{json, Map, Value};

use super::base::{py_float, take_f64, BaseOptimizer, SlotSpec, StepInfo, UpdateRule};
use crate::{keras_bail, Result};

/// The FTRL-proximal algorithm as Keras implements it (accumulator and linear slots).
#[derive(Clone, Debug)]
pub struct FtrlRule {
    /// `learning_rate_power` (default -0.5, must be <= 0).
    pub learning_rate_power: f64,
    /// `initial_accumulator_value` (default 0.1, must be >= 0).
    pub initial_accumulator_value: f64,
    /// `l1_regularization_strength` (default 0.0).
    pub l1_regularization_strength: f64,
    /// `l2_regularization_strength` (default 0.0).
    pub l2_regularization_strength: f64,
    /// `l2_shrinkage_regularization_strength` (default 0.0).
    pub l2_shrinkage_regularization_strength: f64,
    /// `beta` (default 0.0).
    pub beta: f64,
}

impl Default for FtrlRule {
    fn default() -> Self {
        FtrlRule {
            learning_rate_power: -0.5,
            initial_accumulator_value: 0.1,
            l1_regularization_strength: 0.0,
            l2_regularization_strength: 0.0,
            l2_shrinkage_regularization_strength: 0.0,
            beta: 0.0,
        }
    }
}

/// `keras.optimizers.Ftrl` (learning rate 0.001, learning_rate_power -0.5, initial
/// accumulator 0.1, no regularization).
pub type Ftrl = BaseOptimizer<FtrlRule>;

impl Ftrl {
    /// Ftrl with Keras's defaults.
    pub fn new() -> Self {
        Self::new_default()
    }

    /// `learning_rate_power=` (<= 0).
    pub fn learning_rate_power(mut self, v: impl Into<f64>) -> Self {
        self.rule_mut().learning_rate_power = v.into();
        self
    }

    /// `initial_accumulator_value=` (>= 0).
    pub fn initial_accumulator_value(mut self, v: impl Into<f64>) -> Self {
        self.rule_mut().initial_accumulator_value = v.into();
        self
    }

    /// `l1_regularization_strength=` (>= 0).
    pub fn l1_regularization_strength(mut self, v: impl Into<f64>) -> Self {
        self.rule_mut().l1_regularization_strength = v.into();
        self
    }

    /// `l2_regularization_strength=` (>= 0).
    pub fn l2_regularization_strength(mut self, v: impl Into<f64>) -> Self {
        self.rule_mut().l2_regularization_strength = v.into();
        self
    }

    /// `l2_shrinkage_regularization_strength=` (>= 0).
    pub fn l2_shrinkage_regularization_strength(mut self, v: impl Into<f64>) -> Self {
        self.rule_mut().l2_shrinkage_regularization_strength = v.into();
        self
    }

    /// `beta=`.
    pub fn beta(mut self, v: impl Into<f64>) -> Self {
        self.rule_mut().beta = v.into();
        self
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

    fn config(&self, m: &mut Map<String, Value>) {
        m.insert("learning_rate_power".into(), json!(self.learning_rate_power));
        m.insert("initial_accumulator_value".into(), json!(self.initial_accumulator_value));
        m.insert("l1_regularization_strength".into(), json!(self.l1_regularization_strength));
        m.insert("l2_regularization_strength".into(), json!(self.l2_regularization_strength));
        m.insert(
            "l2_shrinkage_regularization_strength".into(),
            json!(self.l2_shrinkage_regularization_strength),
        );
        m.insert("beta".into(), json!(self.beta));
    }

    fn read_config(&mut self, cfg: &mut Map<String, Value>) -> Result<()> {
        let r = self;
        r.learning_rate_power = take_f64(cfg, "learning_rate_power", r.learning_rate_power)?;
        r.initial_accumulator_value =
            take_f64(cfg, "initial_accumulator_value", r.initial_accumulator_value)?;
        r.l1_regularization_strength =
            take_f64(cfg, "l1_regularization_strength", r.l1_regularization_strength)?;
        r.l2_regularization_strength =
            take_f64(cfg, "l2_regularization_strength", r.l2_regularization_strength)?;
        r.l2_shrinkage_regularization_strength =
            take_f64(cfg, "l2_shrinkage_regularization_strength", r.l2_shrinkage_regularization_strength)?;
        r.beta = take_f64(cfg, "beta", r.beta)?;
        Ok(())
    }

    fn validate(&self) -> Result<()> {
        if self.initial_accumulator_value < 0.0 {
            keras_bail!(
                InvalidArgument,
                "`initial_accumulator_value` needs to be positive or zero. Received: \
                 initial_accumulator_value={}.",
                py_float(self.initial_accumulator_value)
            );
        }
        if self.learning_rate_power > 0.0 {
            keras_bail!(
                InvalidArgument,
                "`learning_rate_power` needs to be negative or zero. Received: \
                 learning_rate_power={}.",
                py_float(self.learning_rate_power)
            );
        }
        if self.l1_regularization_strength < 0.0 {
            keras_bail!(
                InvalidArgument,
                "`l1_regularization_strength` needs to be positive or zero. Received: \
                 l1_regularization_strength={}.",
                py_float(self.l1_regularization_strength)
            );
        }
        if self.l2_regularization_strength < 0.0 {
            keras_bail!(
                InvalidArgument,
                "`l2_regularization_strength` needs to be positive or zero. Received: \
                 l2_regularization_strength={}.",
                py_float(self.l2_regularization_strength)
            );
        }
        if self.l2_shrinkage_regularization_strength < 0.0 {
            keras_bail!(
                InvalidArgument,
                "`l2_shrinkage_regularization_strength` needs to be positive or zero. \
                 Received: l2_shrinkage_regularization_strength={}.",
                py_float(self.l2_shrinkage_regularization_strength)
            );
        }
        Ok(())
    }
}
