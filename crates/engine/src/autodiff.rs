//! Reverse-mode automatic differentiation over coarse ops.
//!
//! Each op result made while a [`GradientTape`] is alive on the thread keeps its inputs and a
//! backward closure. [`GradientTape::gradient`] walks that graph from the target back to the
//! sources in reverse topological order, accumulating vector-Jacobian products. When no tape
//! records (inference, `predict`), ops store nothing.
//!
//! Tapes nest only in the sense that recording goes on while any tape is alive: every live
//! tape sees the one recorded graph (no per-tape watch lists, unlike TensorFlow), and
//! higher-order gradients (differentiating a gradient) are not supported.

use std::cell::Cell;
use std::collections::{HashMap, HashSet};

use crate::tensor::{Tensor, TensorId};
use crate::{bail, ops, Result};

/// The backward function of an op: `(grad_output, output, inputs) -> one gradient per input`
/// (`None` for inputs that get no gradient, such as integer labels).
pub type BackwardFn = Box<dyn Fn(&Tensor, &Tensor, &[Tensor]) -> Result<Vec<Option<Tensor>>> + Send + Sync>;

pub(crate) struct Node {
    pub(crate) inputs: Vec<Tensor>,
    pub(crate) backward: BackwardFn,
}

thread_local! {
    static RECORDING: Cell<usize> = const { Cell::new(0) };
}

/// True while a [`GradientTape`] is alive on this thread.
pub fn is_recording() -> bool {
    RECORDING.with(|r| r.get() > 0)
}

/// Attaches `backward` to `out` when a tape records and any input tracks gradients. The
/// inputs must share a device (one-element host values join any device); `out` is placed on
/// it, so results of host code on device tensors stay on that device.
#[inline]
pub(crate) fn record(out: Tensor, inputs: &[&Tensor], backward: BackwardFn) -> Result<Tensor> {
    #[cfg(feature = "cuda")]
    let out = {
        let d = crate::tensor::op_device("op", inputs)?;
        out.relabel(d)
    };
    record_unchecked(out, inputs, backward)
}

/// [`record`] without the device rule (for ops that place their result themselves).
pub(crate) fn record_unchecked(mut out: Tensor, inputs: &[&Tensor], backward: BackwardFn) -> Result<Tensor> {
    if !is_recording() || !inputs.iter().any(|t| t.tracks_grad()) {
        return Ok(out);
    }
    let node = Node { inputs: inputs.iter().map(|t| (*t).clone()).collect(), backward };
    match std::sync::Arc::get_mut(&mut out.0) {
        Some(inner) => inner.node = Some(node),
        None => {
            // Freshly built outputs are unique; a shared one cannot happen, but stay safe.
            let t = out.detach();
            return record_unchecked(t, inputs, node.backward);
        }
    }
    Ok(out)
}

/// Records differentiable ops while alive (TensorFlow's `tf.GradientTape`).
///
/// Variables are tensors made with [`Tensor::requiring_grad`]; other inputs can be watched
/// with [`GradientTape::watch`].
///
/// ```
/// use keras_engine::{ops, GradientTape, Tensor};
/// let w = Tensor::new(vec![3.0], [1]).unwrap().requiring_grad();
/// let tape = GradientTape::new();
/// let y = ops::mul(&w, &w).unwrap(); // y = w^2
/// let g = tape.gradient(&y, &[&w]).unwrap();
/// assert_eq!(g[0].as_ref().unwrap().as_f32().unwrap(), &[6.0]);
/// ```
pub struct GradientTape {
    _not_send: std::marker::PhantomData<*const ()>,
}

impl Default for GradientTape {
    fn default() -> Self {
        Self::new()
    }
}

impl GradientTape {
    /// Starts recording on the current thread (recording lasts while any tape is alive).
    pub fn new() -> Self {
        RECORDING.with(|r| r.set(r.get() + 1));
        GradientTape { _not_send: std::marker::PhantomData }
    }

    /// A leaf copy of `t` whose gradient [`GradientTape::gradient`] can return.
    pub fn watch(&self, t: &Tensor) -> Tensor {
        t.requiring_grad()
    }

    /// `d sum(target) / d source` for each source (`None` where the target does not depend
    /// on it).
    pub fn gradient(&self, target: &Tensor, sources: &[&Tensor]) -> Result<Vec<Option<Tensor>>> {
        let seed = Tensor::full_on(target.shape().to_vec(), 1.0, target.device())?;
        self.gradient_with(target, &seed, sources)
    }

    /// Vector-Jacobian product: `d sum(target * cotangent) / d source` for each source.
    pub fn gradient_with(
        &self,
        target: &Tensor,
        cotangent: &Tensor,
        sources: &[&Tensor],
    ) -> Result<Vec<Option<Tensor>>> {
        let grads = backward(target, cotangent)?;
        Ok(sources.iter().map(|s| grads.get(&s.id()).cloned()).collect())
    }
}

impl Drop for GradientTape {
    fn drop(&mut self) {
        RECORDING.with(|r| r.set(r.get().saturating_sub(1)));
    }
}

/// Runs the backward pass from `target` seeded with `cotangent`; returns the gradients of
/// every leaf that requires one, keyed by tensor id.
pub fn backward(target: &Tensor, cotangent: &Tensor) -> Result<HashMap<TensorId, Tensor>> {
    if cotangent.shape() != target.shape() {
        bail!("cotangent shape {:?} does not match target shape {:?}", cotangent.shape(), target.shape());
    }
    // Reverse topological order by iterative post-order DFS.
    let mut order: Vec<Tensor> = Vec::new();
    let mut seen: HashSet<TensorId> = HashSet::new();
    let mut stack: Vec<(Tensor, bool)> = vec![(target.clone(), false)];
    while let Some((t, expanded)) = stack.pop() {
        if expanded {
            order.push(t);
            continue;
        }
        if !seen.insert(t.id()) {
            continue;
        }
        let inputs: Vec<Tensor> = match &t.0.node {
            Some(node) => node.inputs.iter().filter(|i| i.tracks_grad()).cloned().collect(),
            None => Vec::new(),
        };
        stack.push((t, true));
        for i in inputs {
            if !seen.contains(&i.id()) {
                stack.push((i, false));
            }
        }
    }
    let mut grads: HashMap<TensorId, Tensor> = HashMap::new();
    let mut leaves: HashMap<TensorId, Tensor> = HashMap::new();
    grads.insert(target.id(), cotangent.detach());
    for t in order.iter().rev() {
        let Some(g) = grads.remove(&t.id()) else {
            continue;
        };
        let Some(node) = &t.0.node else {
            if t.requires_grad() {
                leaves.insert(t.id(), g);
            }
            continue;
        };
        let input_grads = (node.backward)(&g, t, &node.inputs)?;
        for (input, ig) in node.inputs.iter().zip(input_grads) {
            let Some(mut ig) = ig else { continue };
            if !input.tracks_grad() {
                continue;
            }
            if ig.device() != input.device() {
                // Host code (a custom op) computed this gradient: it belongs on the input's
                // device.
                ig = if ig.device().is_cpu() {
                    ig.relabel(input.device())
                } else {
                    ig.to_device(input.device())?
                };
            }
            if ig.shape() != input.shape() {
                bail!(
                    "internal error: gradient of shape {:?} for an input of shape {:?}",
                    ig.shape(),
                    input.shape()
                );
            }
            let acc = match grads.remove(&input.id()) {
                Some(prev) => ops::add_same_shape_consuming(prev, &ig)?,
                None => ig.detach(),
            };
            grads.insert(input.id(), acc);
        }
    }
    Ok(leaves)
}
