//! Optimizer state for variables that live on a GPU: the slots stay resident there and each
//! variable is updated by one fused kernel (`keras_engine::ops::fused::fused_update`).
//!
//! The kernels read the learning rate and the iteration count from a small device tensor
//! (`hyper`), which is uploaded only when the host values differ from what the device holds;
//! the device count is advanced by a kernel after each step. So a steady training loop with a
//! constant learning rate copies nothing to the device, and a captured CUDA graph of the step
//! replays with the right bias corrections.

use keras_engine::ops::fused::{self, FusedRule};
use keras_engine::Tensor;

use crate::layers::Variable;
use crate::Result;

/// Device copies of an optimizer's slots (empty while its variables live on the CPU).
#[derive(Clone, Debug, Default)]
pub(crate) struct DeviceSlots {
    /// `slots[var][k]`, as the host `BaseOptimizer::slots`.
    slots: Vec<Vec<Tensor>>,
    /// `[learning_rate, iterations]` on the device, and the host values it holds.
    hyper: Option<(Tensor, f32, u64)>,
}

impl DeviceSlots {
    /// The device copy of slot `k` of variable `i`, when the slots are resident.
    pub(crate) fn slot(&self, i: usize, k: usize) -> Option<&Tensor> {
        self.slots.get(i).and_then(|s| s.get(k))
    }

    /// Readies the device state for one replay of a captured step at (`lr`, `iterations`):
    /// rewrites `hyper` in place when the learning rate changed. False when the device state is
    /// not the one the step left (nothing resident, or out of step).
    pub(crate) fn prepare_replay(&mut self, lr: f32, iterations: u64) -> Result<bool> {
        let Some((hyper, l, it)) = self.hyper.as_mut() else { return Ok(false) };
        if *it != iterations {
            return Ok(false);
        }
        if *l != lr {
            hyper.copy_from(
                &Tensor::new(vec![lr, iterations as f32], [2])?.to_device(keras_engine::Device::Cpu)?,
            )?;
            *l = lr;
        }
        *it += 1;
        Ok(true)
    }

    /// Updates every variable on its GPU when all of them (and their gradients) live on one;
    /// returns false (and does nothing) otherwise, leaving the step to the host code.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn try_update(
        &mut self,
        rule: FusedRule,
        grads: &[Tensor],
        vars: &mut [&mut Variable],
        host_slots: &[Vec<Vec<f32>>],
        decay: &[f32],
        lr: f32,
        iterations: u64,
    ) -> Result<bool> {
        let Some(first) = vars.first() else { return Ok(false) };
        let dev = first.value().device();
        if !dev.is_cuda()
            || vars.iter().any(|v| v.value().device() != dev)
            || grads.iter().any(|g| g.device() != dev || g.dtype() != keras_engine::DType::F32)
        {
            return Ok(false);
        }
        if self.slots.len() != vars.len() {
            self.slots = host_slots
                .iter()
                .zip(vars.iter())
                .map(|(slots, v)| {
                    slots
                        .iter()
                        .map(|s| Ok(Tensor::new(s.clone(), v.shape().to_vec())?.to_device(dev)?))
                        .collect::<Result<Vec<_>>>()
                })
                .collect::<Result<Vec<_>>>()?;
        }
        let stale = !matches!(&self.hyper, Some((_, l, it)) if *l == lr && *it == iterations);
        if stale {
            let t = Tensor::new(vec![lr, iterations as f32], [2])?.to_device(dev)?;
            self.hyper = Some((t, lr, iterations));
        }
        let (hyper, _, it) = self.hyper.as_mut().expect("set above");
        for (i, var) in vars.iter_mut().enumerate() {
            let mut refs: Vec<&mut Tensor> = self.slots[i].iter_mut().collect();
            fused::fused_update(var.value_mut(), &grads[i], &mut refs, hyper, rule, decay[i])?;
        }
        fused::add_at(hyper, 1, 1.0)?;
        *it += 1;
        Ok(true)
    }
}
