//! `keras.optimizers.Muon`.

use serde_json::{json, Map, Value};

use super::base::{
    take_bool, take_f64, take_opt_f64, take_opt_i64, BaseOptimizer, BaseState, SlotDef, SlotInit, SlotName,
    SlotSpec, StepInfo, UpdateRule, VarInfo,
};
use crate::{keras_bail, Error, Result, Tensor};

/// The Muon algorithm (Jordan et al.; Liu et al., 2025): momentum orthogonalized by
/// Newton-Schulz iterations for 2-D variables, AdamW for the others (and for embeddings and
/// the layers named in `exclude_layers`).
#[derive(Clone, Debug)]
pub struct MuonRule {
    /// `adam_beta_1` (default 0.9).
    pub adam_beta_1: f64,
    /// `adam_beta_2` (default 0.999).
    pub adam_beta_2: f64,
    /// `adam_weight_decay` (default 0.004): the weight decay of the AdamW-updated variables.
    pub adam_weight_decay: Option<f64>,
    /// `epsilon` (default 1e-7).
    pub epsilon: f64,
    /// `exclude_layers`: variables whose path contains one of these use AdamW.
    pub exclude_layers: Vec<String>,
    /// `exclude_embeddings` (default true): variables whose path contains "embedding" use AdamW.
    pub exclude_embeddings: bool,
    /// `muon_a`, `muon_b`, `muon_c`: the Newton-Schulz coefficients.
    pub muon_abc: (f64, f64, f64),
    /// `adam_lr_ratio` (default 1): the AdamW learning rate relative to the main one.
    pub adam_lr_ratio: f64,
    /// `momentum` (default 0.95).
    pub momentum: f64,
    /// `ns_steps` (default 5).
    pub ns_steps: i64,
    /// `nesterov` (default true).
    pub nesterov: bool,
    /// `rms_rate` (default 0.2; `None` leaves the update unscaled).
    pub rms_rate: Option<f64>,
}

impl Default for MuonRule {
    fn default() -> Self {
        MuonRule {
            adam_beta_1: 0.9,
            adam_beta_2: 0.999,
            adam_weight_decay: Some(0.004),
            epsilon: 1e-7,
            exclude_layers: Vec::new(),
            exclude_embeddings: true,
            muon_abc: (3.4445, -4.7750, 2.0315),
            adam_lr_ratio: 1.0,
            momentum: 0.95,
            ns_steps: 5,
            nesterov: true,
            rms_rate: Some(0.2),
        }
    }
}

/// `keras.optimizers.Muon` (learning rate 0.001, weight decay 0.004).
///
/// `exclude_layers` entries are matched as substrings of the variable paths (Keras uses
/// `re.search`; plain names behave the same).
pub type Muon = BaseOptimizer<MuonRule>;

impl Muon {
    /// Muon with Keras's defaults.
    pub fn new() -> Self {
        Self::new_default()
    }
    /// `exclude_layers=`: path keywords of the variables to update with AdamW.
    pub fn exclude_layers(mut self, names: &[&str]) -> Self {
        self.rule_mut().exclude_layers = names.iter().map(|s| s.to_string()).collect();
        self
    }
    /// `momentum=`.
    pub fn momentum(mut self, v: impl Into<f64>) -> Self {
        self.rule_mut().momentum = v.into();
        self
    }
    /// `ns_steps=`.
    pub fn ns_steps(mut self, n: i64) -> Self {
        self.rule_mut().ns_steps = n;
        self
    }
    /// `nesterov=`.
    pub fn nesterov(mut self, yes: bool) -> Self {
        self.rule_mut().nesterov = yes;
        self
    }
    /// `rms_rate=` (`None` to disable the Moonlight scaling).
    pub fn rms_rate(mut self, v: Option<f64>) -> Self {
        self.rule_mut().rms_rate = v;
        self
    }
    /// `adam_lr_ratio=`.
    pub fn adam_lr_ratio(mut self, v: impl Into<f64>) -> Self {
        self.rule_mut().adam_lr_ratio = v.into();
        self
    }
}

impl MuonRule {
    /// Keras `_should_use_adamw`.
    pub fn uses_adamw(&self, var: &VarInfo) -> bool {
        var.shape.len() != 2
            || (self.exclude_embeddings && var.path.to_lowercase().contains("embedding"))
            || self.exclude_layers.iter().any(|k| var.path.contains(k.as_str()))
    }

    /// `zeropower_via_newtonschulz5` on a `(rows, cols)` matrix.
    fn newton_schulz(&self, x: &[f32], rows: usize, cols: usize) -> Result<Vec<f32>> {
        let (a, b, c) = (self.muon_abc.0 as f32, self.muon_abc.1 as f32, self.muon_abc.2 as f32);
        let mut m = Tensor::new(x.to_vec(), vec![rows, cols])?;
        let tall = rows > cols;
        if tall {
            m = keras_engine::ops::transpose(&m, &[1, 0])?;
        }
        let norm = m.to_f32_vec().iter().map(|v| v * v).sum::<f32>().sqrt();
        m = keras_engine::ops::scale(&m, 1.0 / (norm + 1e-7))?;
        for _ in 0..self.ns_steps.max(0) {
            let mt = keras_engine::ops::transpose(&m, &[1, 0])?;
            let ta = keras_engine::ops::matmul(&m, &mt)?;
            let tb = keras_engine::ops::add(
                &keras_engine::ops::scale(&ta, b)?,
                &keras_engine::ops::scale(&keras_engine::ops::matmul(&ta, &ta)?, c)?,
            )?;
            m = keras_engine::ops::add(
                &keras_engine::ops::scale(&m, a)?,
                &keras_engine::ops::matmul(&tb, &m)?,
            )?;
        }
        if tall {
            m = keras_engine::ops::transpose(&m, &[1, 0])?;
        }
        Ok(m.to_f32_vec())
    }
}

impl UpdateRule for MuonRule {
    const CLASS_NAME: &'static str = "Muon";
    const AUTO_NAME: &'static str = "muon";
    const DEFAULT_LR: f32 = 0.001;

    fn slot_groups(&self) -> Vec<Vec<SlotSpec>> {
        vec![vec![("momentum", 0.0)]]
    }

    fn init_base(base: &mut BaseState) {
        base.weight_decay = Some(0.004);
    }

    fn var_slots(&self, var: &VarInfo) -> Option<Vec<SlotDef>> {
        let def = |name| SlotDef {
            name: SlotName::Suffix(name),
            shape: var.shape.clone(),
            init: SlotInit::Const(0.0),
            int_placeholder: false,
        };
        Some(if self.uses_adamw(var) {
            vec![def("momentum"), def("velocity")]
        } else {
            vec![def("momentum")]
        })
    }

    fn weight_decay_for(&self, var: &VarInfo, base: Option<f32>) -> Option<f32> {
        if self.uses_adamw(var) {
            self.adam_weight_decay.map(|w| w as f32)
        } else {
            base
        }
    }

    fn update(&self, _info: &StepInfo, _var: &mut [f32], _grad: &[f32], _slots: &mut [&mut [f32]]) {}

    fn update_var(
        &self,
        info: &StepInfo,
        v: &VarInfo,
        var: &mut [f32],
        grad: &[f32],
        slots: &mut [Vec<f32>],
    ) -> bool {
        var.iter_mut().for_each(|w| *w = info.decay(*w));
        if let [m, vel] = slots {
            // AdamW step with the learning rate times adam_lr_ratio.
            let lr = info.lr * self.adam_lr_ratio as f32;
            let t = (info.iterations + 1) as f32;
            let (b1, b2) = (self.adam_beta_1 as f32, self.adam_beta_2 as f32);
            let alpha = lr * (1.0 - b2.powf(t)).sqrt() / (1.0 - b1.powf(t));
            for i in 0..var.len() {
                let g = grad[i];
                m[i] += (g - m[i]) * (1.0 - b1);
                vel[i] += (g * g - vel[i]) * (1.0 - b2);
                var[i] -= (m[i] * alpha) / (vel[i].sqrt() + self.epsilon as f32);
            }
            return true;
        }
        let [m] = slots else { return true };
        let mu = self.momentum as f32;
        let mut g = vec![0.0f32; var.len()];
        for i in 0..var.len() {
            m[i] += grad[i] + m[i] * (mu - 1.0);
            g[i] = if self.nesterov { grad[i] + mu * m[i] } else { m[i] };
        }
        let (rows, cols) = (v.shape[0], v.shape[1]);
        let Ok(update) = self.newton_schulz(&g, rows, cols) else { return true };
        let scale = match self.rms_rate {
            Some(r) => (rows.max(cols) as f32).sqrt() * r as f32,
            None => 1.0,
        };
        for (w, u) in var.iter_mut().zip(&update) {
            *w -= info.lr * u * scale;
        }
        true
    }

    fn config(&self, m: &mut Map<String, Value>) {
        // Keras writes the integer default of `adam_lr_ratio` as given.
        let ratio = if self.adam_lr_ratio.fract() == 0.0 {
            json!(self.adam_lr_ratio as i64)
        } else {
            json!(self.adam_lr_ratio)
        };
        m.insert("adam_beta_1".into(), json!(self.adam_beta_1));
        m.insert("adam_beta_2".into(), json!(self.adam_beta_2));
        m.insert("epsilon".into(), json!(self.epsilon));
        m.insert("exclude_layers".into(), json!(self.exclude_layers));
        m.insert("muon_a".into(), json!(self.muon_abc.0));
        m.insert("muon_b".into(), json!(self.muon_abc.1));
        m.insert("muon_c".into(), json!(self.muon_abc.2));
        m.insert("adam_lr_ratio".into(), ratio);
        m.insert("momentum".into(), json!(self.momentum));
        m.insert("ns_steps".into(), json!(self.ns_steps));
        m.insert("nesterov".into(), json!(self.nesterov));
        m.insert("exclude_embeddings".into(), json!(self.exclude_embeddings));
        m.insert("adam_weight_decay".into(), json!(self.adam_weight_decay));
        m.insert("rms_rate".into(), json!(self.rms_rate));
    }

    fn read_config(&mut self, cfg: &mut Map<String, Value>) -> Result<()> {
        self.adam_beta_1 = take_f64(cfg, "adam_beta_1", self.adam_beta_1)?;
        self.adam_beta_2 = take_f64(cfg, "adam_beta_2", self.adam_beta_2)?;
        self.epsilon = take_f64(cfg, "epsilon", self.epsilon)?;
        if let Some(v) = cfg.remove("exclude_layers") {
            self.exclude_layers = match v {
                Value::Null => Vec::new(),
                Value::Array(a) => a
                    .iter()
                    .map(|x| {
                        x.as_str().map(str::to_string).ok_or_else(|| {
                            Error::InvalidArgument(format!("`exclude_layers` must be strings, got {x}"))
                        })
                    })
                    .collect::<Result<_>>()?,
                other => keras_bail!(
                    InvalidArgument,
                    "`exclude_layers` must be a list of strings. Received: {other}"
                ),
            };
        }
        self.muon_abc = (
            take_f64(cfg, "muon_a", self.muon_abc.0)?,
            take_f64(cfg, "muon_b", self.muon_abc.1)?,
            take_f64(cfg, "muon_c", self.muon_abc.2)?,
        );
        self.adam_lr_ratio = take_f64(cfg, "adam_lr_ratio", self.adam_lr_ratio)?;
        self.momentum = take_f64(cfg, "momentum", self.momentum)?;
        self.ns_steps = take_opt_i64(cfg, "ns_steps", Some(self.ns_steps))?.unwrap_or(5);
        self.nesterov = take_bool(cfg, "nesterov", self.nesterov)?;
        self.exclude_embeddings = take_bool(cfg, "exclude_embeddings", self.exclude_embeddings)?;
        self.adam_weight_decay = take_opt_f64(cfg, "adam_weight_decay", self.adam_weight_decay)?;
        self.rms_rate = take_opt_f64(cfg, "rms_rate", self.rms_rate)?;
        Ok(())
    }
}
