//! Device fast paths that the Keras layer, loss and optimizer code calls when its tensors live
//! on a GPU: fused per-row losses, dropout with the device generator, and fused optimizer
//! updates. On the CPU those callers keep their own host code, so these functions refuse CPU
//! tensors.

use crate::tensor::Tensor;
use crate::{bail, Result};

pub use crate::ops::fused_types::{FusedRule, RowLoss};

/// One loss value per row of the last axis of `x` (differentiable w.r.t. `x`), on `x`'s GPU.
/// `t` holds the targets, same shape.
pub fn row_loss(kind: RowLoss, x: &Tensor, t: &Tensor) -> Result<Tensor> {
    if x.shape() != t.shape() || x.rank() == 0 {
        bail!("row_loss: targets of shape {:?} for predictions of shape {:?}", t.shape(), x.shape());
    }
    match crate::tensor::op_device("row_loss", &[x, t])? {
        #[cfg(feature = "cuda")]
        crate::Device::Cuda(d) => {
            let want = crate::autodiff::is_recording() && x.tracks_grad();
            crate::cuda::ops::row_loss(d, kind, x, t, want)
        }
        d => {
            let _ = kind;
            bail!("row_loss runs on a GPU; {d} tensors use the host loss code")
        }
    }
}

/// Inverted dropout of `x` on its GPU with the device's counter-based generator (`seed` picks
/// the stream; the counter advances on the device, so captured graphs draw fresh masks).
pub fn dropout(x: &Tensor, rate: f32, seed: u64) -> Result<Tensor> {
    if !(0.0..1.0).contains(&rate) {
        bail!("dropout rate must be in [0, 1), got {rate}");
    }
    match x.device() {
        #[cfg(feature = "cuda")]
        crate::Device::Cuda(d) => crate::cuda::ops::dropout(d, x, rate, seed),
        d => {
            let _ = seed;
            bail!("ops::fused::dropout runs on a GPU; {d} tensors use the host generator")
        }
    }
}

/// Adds `by` to element `index` of a float32 GPU tensor, in place on the device (the fused
/// optimizers' iteration count).
pub fn add_at(t: &mut Tensor, index: usize, by: f32) -> Result<()> {
    if index >= t.numel() {
        bail!("add_at: index {index} out of range for {} elements", t.numel());
    }
    match t.device() {
        #[cfg(feature = "cuda")]
        crate::Device::Cuda(_) => crate::cuda::ops::add_at(t, index, by),
        d => {
            let _ = by;
            bail!("add_at runs on a GPU, not on {d}")
        }
    }
}

/// One fused optimizer update of `var` (in place, on its GPU): `hyper` is a device tensor
/// `[learning_rate, iterations]` so that a captured step replays with the current values.
pub fn fused_update(
    var: &mut Tensor,
    grad: &Tensor,
    slots: &mut [&mut Tensor],
    hyper: &Tensor,
    rule: FusedRule,
    weight_decay: f32,
) -> Result<()> {
    if grad.shape() != var.shape() {
        bail!("fused_update: gradient of shape {:?} for a variable of shape {:?}", grad.shape(), var.shape());
    }
    match var.device() {
        #[cfg(feature = "cuda")]
        crate::Device::Cuda(_) => crate::cuda::ops::fused_update(var, grad, slots, hyper, rule, weight_decay),
        d => {
            let _ = (slots, hyper, rule, weight_decay);
            bail!("fused_update runs on a GPU; {d} variables use the optimizer's host code")
        }
    }
}
