//! `keras.optimizers.Adafactor`.

use super::base::{rule_args, SlotDef, SlotInit, SlotName, SlotSpec, StepInfo, UpdateRule, VarInfo};

rule_args! {
    /// The Adafactor algorithm (Shazeer & Stern, 2018): second moments factored into row and
    /// column statistics over the last two axes, a relative step size and update clipping.
    pub struct AdafactorRule;
    /// `keras.optimizers.Adafactor` (learning rate 0.001). For variables of rank >= 2 it keeps
    /// the row (`r`) and column (`c`) statistics of the last two axes plus `velocity`; for others,
    /// `velocity` and two int32 placeholders, exactly the variables Keras saves.
    pub type Adafactor {
        /// `beta_2_decay` (default -0.8).
        beta_2_decay: f64 = -0.8;
        /// `beta_2_decay=`.
        builder,
        /// `epsilon_1` (default 1e-30).
        epsilon_1: f64 = 1e-30;
        /// `epsilon_1=`.
        builder,
        /// `epsilon_2` (default 1e-3).
        epsilon_2: f64 = 1e-3;
        /// `epsilon_2=`.
        builder,
        /// `clip_threshold` (default 1.0).
        clip_threshold: f64 = 1.0;
        /// `clip_threshold=`.
        builder,
        /// `relative_step` (default true).
        relative_step: bool = true;
        /// `relative_step=`.
        builder,
    }
}

fn rms(x: &[f32]) -> f32 {
    (x.iter().map(|v| v * v).sum::<f32>() / x.len().max(1) as f32).sqrt()
}

impl UpdateRule for AdafactorRule {
    const CLASS_NAME: &'static str = "Adafactor";
    const AUTO_NAME: &'static str = "adafactor";
    const DEFAULT_LR: f32 = 0.001;

    fn slot_groups(&self) -> Vec<Vec<SlotSpec>> {
        vec![vec![("velocity", 0.0)]]
    }

    fn var_slots(&self, var: &VarInfo) -> Option<Vec<SlotDef>> {
        let s = &var.shape;
        let velocity = SlotDef {
            name: SlotName::Suffix("velocity"),
            shape: s.clone(),
            init: SlotInit::Const(0.0),
            int_placeholder: false,
        };
        if s.len() < 2 {
            // Keras keeps two unused int32 scalars named after the variable (in the
            // optimizer's scope when built by `apply_gradients`, as in training).
            let ph = SlotDef {
                name: SlotName::Scoped(var.name.clone()),
                shape: vec![],
                init: SlotInit::Const(0.0),
                int_placeholder: true,
            };
            return Some(vec![ph.clone(), ph, velocity]);
        }
        let r_shape = s[..s.len() - 1].to_vec();
        let mut c_shape = s[..s.len() - 2].to_vec();
        c_shape.push(s[s.len() - 1]);
        let named = |shape: Vec<usize>| SlotDef {
            name: SlotName::Scoped(var.name.clone()),
            shape,
            init: SlotInit::Const(0.0),
            int_placeholder: false,
        };
        Some(vec![named(r_shape), named(c_shape), velocity])
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
        let t = (info.iterations + 1) as f32;
        let mut lr = info.lr;
        if !info.lr_is_schedule && self.relative_step {
            lr = lr.min(1.0 / t.sqrt());
        }
        var.iter_mut().for_each(|w| *w = info.decay(*w));
        let rho = lr.min(1.0 / t.sqrt());
        let alpha = (self.epsilon_2 as f32).max(rms(var)) * rho;
        let reg: Vec<f32> = grad.iter().map(|g| g * g + self.epsilon_1 as f32).collect();
        let beta = 1.0 - t.powf(self.beta_2_decay as f32);
        let [r, c, vel] = slots else { return true };
        let s = &v.shape;
        if s.len() >= 2 {
            let (rows, cols) = (s[s.len() - 2], s[s.len() - 1]);
            let lead = var.len() / (rows * cols).max(1);
            for l in 0..lead {
                let base = l * rows * cols;
                for i in 0..rows {
                    let m: f32 =
                        reg[base + i * cols..base + (i + 1) * cols].iter().sum::<f32>() / cols as f32;
                    let k = l * rows + i;
                    r[k] = beta * r[k] + (1.0 - beta) * m;
                }
                for j in 0..cols {
                    let m: f32 = (0..rows).map(|i| reg[base + i * cols + j]).sum::<f32>() / rows as f32;
                    let k = l * cols + j;
                    c[k] = beta * c[k] + (1.0 - beta) * m;
                }
                let rmean: f32 = r[l * rows..(l + 1) * rows].iter().sum::<f32>() / rows as f32;
                for i in 0..rows {
                    for j in 0..cols {
                        vel[base + i * cols + j] = (r[l * rows + i] / rmean) * c[l * cols + j];
                    }
                }
            }
        } else {
            for (vv, &g2) in vel.iter_mut().zip(&reg) {
                *vv = beta * *vv + (1.0 - beta) * g2;
            }
        }
        let u: Vec<f32> = grad.iter().zip(vel.iter()).map(|(g, vv)| g / vv.sqrt()).collect();
        let denom = 1.0f32.max(rms(&u) / self.clip_threshold as f32);
        for (w, ui) in var.iter_mut().zip(&u) {
            *w -= alpha * (ui / denom);
        }
        true
    }

    rule_args!(config);
}
