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

/// A backward function that takes its output's gradient and the output itself by value:
/// the tape hands them over when nothing else holds them, so the function may overwrite the
/// gradient in place (a fused activation's derivative mask) instead of allocating another
/// tensor of the same size, and drop the output as soon as it has read it.
pub(crate) type OwnedBackwardFn =
    Box<dyn Fn(Tensor, Tensor, &[Tensor]) -> Result<Vec<Option<Tensor>>> + Send + Sync>;

/// How an op differentiates: by reference (the public [`BackwardFn`]) or taking the output's
/// gradient ([`OwnedBackwardFn`]).
pub(crate) enum Backward {
    Shared(BackwardFn),
    Owned(OwnedBackwardFn),
}

pub(crate) struct Node {
    pub(crate) inputs: Vec<Tensor>,
    pub(crate) backward: Backward,
    /// Whether the backward function reads its output's values. When it does not (it saved
    /// what it needs, such as a relu's sign mask), consumers that read only their inputs'
    /// shapes keep a [`Tensor::graph_alias`] of the output instead of the output itself, so
    /// its buffer is freed as soon as the forward pass is done with it.
    pub(crate) reads_output: bool,
}

/// What an op's backward function reads besides its output's gradient.
#[derive(Clone, Copy)]
pub(crate) struct Reads {
    /// The output's values (false: it is handed a tensor of the right shape whose values
    /// may be gone, having saved what it needs itself, such as a relu's sign mask).
    pub(crate) output: bool,
    /// The inputs' values (false: only their shapes and identities; inputs made by an op
    /// that does not read its output are then kept as graph aliases without their values).
    pub(crate) input_values: bool,
}

const READS_ALL: Reads = Reads { output: true, input_values: true };

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
    record_node(out, inputs, Backward::Shared(backward), READS_ALL)
}

/// [`record`] for a backward function that takes its output's gradient by value.
#[inline]
pub(crate) fn record_owned(out: Tensor, inputs: &[&Tensor], backward: OwnedBackwardFn) -> Result<Tensor> {
    record_node(out, inputs, Backward::Owned(backward), READS_ALL)
}

/// [`record_owned`] for a backward function that reads less than everything: see [`Reads`].
#[inline]
pub(crate) fn record_owned_reading(
    out: Tensor,
    inputs: &[&Tensor],
    reads: Reads,
    backward: OwnedBackwardFn,
) -> Result<Tensor> {
    record_node(out, inputs, Backward::Owned(backward), reads)
}

#[inline]
fn record_node(out: Tensor, inputs: &[&Tensor], backward: Backward, reads: Reads) -> Result<Tensor> {
    #[cfg(feature = "cuda")]
    let out = {
        let d = crate::tensor::op_device("op", inputs)?;
        out.relabel(d)
    };
    attach(out, inputs, backward, reads)
}

/// [`record`] without the device rule (for ops that place their result themselves).
pub(crate) fn record_unchecked(out: Tensor, inputs: &[&Tensor], backward: BackwardFn) -> Result<Tensor> {
    attach(out, inputs, Backward::Shared(backward), READS_ALL)
}

fn attach(mut out: Tensor, inputs: &[&Tensor], backward: Backward, reads: Reads) -> Result<Tensor> {
    if !is_recording() || !inputs.iter().any(|t| t.tracks_grad()) {
        return Ok(out);
    }
    let keep =
        |t: &Tensor| if reads.input_values { None } else { t.graph_alias() }.unwrap_or_else(|| t.clone());
    let node =
        Node { inputs: inputs.iter().map(|t| keep(t)).collect(), backward, reads_output: reads.output };
    match std::sync::Arc::get_mut(&mut out.0) {
        Some(inner) => inner.node = Some(std::sync::Arc::new(node)),
        None => {
            // Freshly built outputs are unique; a shared one cannot happen, but stay safe.
            let t = out.detach();
            return attach(t, inputs, node.backward, reads);
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

    /// [`GradientTape::gradient`] for a tape used once (TensorFlow's default, non-persistent
    /// tape): it takes the tape and the target, and frees each op's saved values (its inputs
    /// and what its backward keeps) as soon as the backward pass has gone past it, instead of
    /// when the whole pass ends. Activations are then released layer by layer, which lowers
    /// a training step's peak memory.
    ///
    /// Values are freed only where nothing else holds them: keep no other handle on the
    /// target or on intermediate results (take [`Tensor::detach`]ed copies of what you need
    /// afterwards).
    ///
    /// ```
    /// use keras_engine::{ops, GradientTape, Tensor};
    /// let w = Tensor::new(vec![3.0], [1]).unwrap().requiring_grad();
    /// let tape = GradientTape::new();
    /// let y = ops::mul(&w, &w).unwrap();
    /// let g = tape.into_gradient(y, &[&w]).unwrap();
    /// assert_eq!(g[0].as_ref().unwrap().as_f32().unwrap(), &[6.0]);
    /// ```
    pub fn into_gradient(self, target: Tensor, sources: &[&Tensor]) -> Result<Vec<Option<Tensor>>> {
        let seed = Tensor::full_on(target.shape().to_vec(), 1.0, target.device())?;
        let grads = backward_releasing(target, &seed)?;
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
    backward_releasing(target.clone(), cotangent)
}

/// [`backward`] that owns the target: the walk holds each tensor of the graph once and drops
/// it right after its vector-Jacobian product, so a graph nobody else holds is freed as the
/// pass goes (consumers come before producers in the walk, so a tensor is dropped only after
/// every op that read it).
fn backward_releasing(target: Tensor, cotangent: &Tensor) -> Result<HashMap<TensorId, Tensor>> {
    if cotangent.shape() != target.shape() {
        bail!("cotangent shape {:?} does not match target shape {:?}", cotangent.shape(), target.shape());
    }
    // Reverse topological order by iterative post-order DFS.
    let mut order: Vec<Tensor> = Vec::new();
    let mut seen: HashSet<TensorId> = HashSet::new();
    let target_id = target.id();
    let mut stack: Vec<(Tensor, bool)> = vec![(target, false)];
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
    grads.insert(target_id, cotangent.detach());
    // Popping (not iterating) drops each tensor once it is done.
    while let Some(mut t) = order.pop() {
        let Some(g) = grads.remove(&t.id()) else {
            continue;
        };
        // Nobody else holds this tensor: take its node, so that its saved values (and its
        // output, for an owned backward) go as soon as its backward is done.
        let taken = std::sync::Arc::get_mut(&mut t.0).and_then(|inner| inner.node.take());
        if let Some(node) = taken {
            let input_grads = match &node.backward {
                Backward::Shared(f) => f(&g, &t, &node.inputs)?,
                Backward::Owned(f) => f(g, t, &node.inputs)?,
            };
            accumulate(&mut grads, &node.inputs, input_grads)?;
            continue;
        }
        let Some(node) = &t.0.node else {
            if t.requires_grad() {
                leaves.insert(t.id(), g);
            }
            continue;
        };
        let input_grads = match &node.backward {
            Backward::Shared(f) => f(&g, &t, &node.inputs)?,
            Backward::Owned(f) => f(g, t.clone(), &node.inputs)?,
        };
        accumulate(&mut grads, &node.inputs, input_grads)?;
    }
    Ok(leaves)
}

/// Adds each input's share of the gradient to what the walk has gathered for it.
fn accumulate(
    grads: &mut HashMap<TensorId, Tensor>,
    inputs: &[Tensor],
    input_grads: Vec<Option<Tensor>>,
) -> Result<()> {
    for (input, ig) in inputs.iter().zip(input_grads) {
        let Some(mut ig) = ig else { continue };
        if !input.tracks_grad() {
            continue;
        }
        if ig.device() != input.device() {
            // Host code (a custom op) computed this gradient: it belongs on the input's
            // device.
            ig =
                if ig.device().is_cpu() { ig.relabel(input.device()) } else { ig.to_device(input.device())? };
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
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Weak};

    use super::*;
    use crate::ops::Unary;
    use crate::testing::check_grad;

    fn values(n: usize, seed: u32) -> Vec<f32> {
        (0..n)
            .map(|i| {
                (((i as u32).wrapping_mul(2654435761).wrapping_add(seed) >> 8) % 1000) as f32 / 500.0 - 1.0
            })
            .collect()
    }

    /// x -> dense+relu -> probe -> dense+relu -> max pool -> sum. The probe is an identity
    /// op whose backward (run after the second dense's) records whether the second dense's
    /// output buffer is still alive.
    fn run(consume: bool) -> (Vec<Option<Tensor>>, bool) {
        let x = Tensor::new(values(4 * 6, 1), [4, 6]).unwrap().requiring_grad();
        let w1 = Tensor::new(values(6 * 8, 2), [6, 8]).unwrap().requiring_grad();
        let w2 = Tensor::new(values(8 * 8, 3), [8, 8]).unwrap().requiring_grad();
        let tape = GradientTape::new();
        let h1 = ops::dense(&x, &w1, None, Unary::Relu).unwrap();
        let seen: Arc<std::sync::Mutex<Option<Weak<crate::tensor::Data>>>> = Default::default();
        let alive = Arc::new(AtomicBool::new(false));
        let (s, a) = (seen.clone(), alive.clone());
        let probe = Tensor::from_op(
            h1.to_f32_vec(),
            h1.shape().to_vec(),
            &[&h1],
            Box::new(move |g, _, _| {
                let w = s.lock().unwrap().clone().unwrap();
                a.store(w.upgrade().is_some(), Ordering::SeqCst);
                Ok(vec![Some(g.clone())])
            }),
        )
        .unwrap();
        let h2 = ops::dense(&probe, &w2, None, Unary::Relu).unwrap();
        *seen.lock().unwrap() = Some(Arc::downgrade(&h2.0.data));
        let image = h2.reshape([4, 2, 4, 1]).unwrap();
        let pooled = ops::max_pool2d(&image, [2, 2], [2, 2], false).unwrap();
        let loss = ops::sum_all(&pooled).unwrap();
        drop((h1, probe, h2, image, pooled));
        let grads = if consume {
            tape.into_gradient(loss, &[&x, &w1, &w2]).unwrap()
        } else {
            let g = tape.gradient(&loss, &[&x, &w1, &w2]).unwrap();
            drop(loss);
            g
        };
        (grads, alive.load(Ordering::SeqCst))
    }

    #[test]
    fn into_gradient_matches_gradient_and_frees_passed_activations() {
        let (kept, alive_kept) = run(false);
        let (freed, alive_freed) = run(true);
        // Bit-identical gradients: the in-place activation mask computes what the copy did.
        for (a, b) in kept.iter().zip(&freed) {
            let (a, b) = (a.as_ref().unwrap().to_f32_vec(), b.as_ref().unwrap().to_f32_vec());
            assert_eq!(
                a.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                b.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
            );
        }
        assert!(alive_kept, "a borrowed target keeps the graph until the pass ends");
        assert!(!alive_freed, "the consumed graph frees the second dense's output once passed");
    }

    /// conv2d+relu -> max pool -> dropout -> sum: the relu keeps its sign mask and the two
    /// ops after it keep only shapes, so the conv's and the pool's outputs are freed as soon
    /// as the caller drops them, before any backward pass.
    #[test]
    fn outputs_no_backward_reads_are_freed_after_the_forward_pass() {
        let x = Tensor::new(values(2 * 6 * 6 * 3, 4), [2, 6, 6, 3]).unwrap();
        let w = Tensor::new(values(3 * 3 * 3 * 4, 5), [3, 3, 3, 4]).unwrap().requiring_grad();
        let forward = |keep: bool| {
            let tape = GradientTape::new();
            let y = ops::conv2d(&x, &w, None, [1, 1], [1, 1], false, Unary::Relu).unwrap();
            let p = ops::max_pool2d(&y, [2, 2], [2, 2], false).unwrap();
            let d = ops::dropout_with_mask(&p, (0..p.numel()).map(|i| i % 3 != 0).collect(), 1.5).unwrap();
            let loss = ops::sum_all(&d).unwrap();
            let (wy, wp) = (Arc::downgrade(&y.0.data), Arc::downgrade(&p.0.data));
            let held = keep.then(|| (y.clone(), p.clone()));
            drop((y, p, d));
            let freed = (wy.upgrade().is_none(), wp.upgrade().is_none());
            let g = tape.into_gradient(loss, &[&w]).unwrap().remove(0).unwrap().to_f32_vec();
            drop(held);
            (freed, g)
        };
        let (freed, g) = forward(false);
        assert_eq!(freed, (true, true), "conv and pool outputs freed after the forward pass");
        let (kept, g_kept) = forward(true);
        assert_eq!(kept, (false, false));
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&g), bits(&g_kept), "same gradient whether or not the outputs live on");
        check_grad(
            &[&w],
            |v| {
                let y = ops::conv2d(&x, v[0], None, [1, 1], [1, 1], false, Unary::Relu)?;
                let p = ops::max_pool2d(&y, [2, 2], [2, 2], false)?;
                ops::sum_all(&ops::dropout_with_mask(&p, (0..p.numel()).map(|i| i % 3 != 0).collect(), 1.5)?)
            },
            2e-2,
        );
    }

    /// A value-less graph alias and the tensor itself both reach the producing op: the
    /// gradients of both uses add up, and the op runs its backward once.
    #[test]
    fn an_output_used_through_an_alias_and_directly_gets_both_gradients() {
        let x = Tensor::new(values(4 * 4 * 2, 6), [1, 4, 4, 2]).unwrap();
        let w = Tensor::new(values(3 * 3 * 2 * 3, 8), [3, 3, 2, 3]).unwrap();
        check_grad(
            &[&x, &w],
            |v| {
                let y = ops::conv2d(v[0], v[1], None, [1, 1], [1, 1], true, Unary::Relu)?;
                let p = ops::max_pool2d(&y, [2, 2], [2, 2], false)?;
                ops::add(&ops::sum_all(&p)?, &ops::sum_all(&ops::mul(&y, &y)?)?)
            },
            2e-2,
        );
    }

    #[test]
    fn owned_backward_masks_a_shared_gradient_by_copy() {
        // `y = relu(x w)` used twice: each use's gradient reaches the op through the sum, and
        // the gradient of `x` must match finite differences whether or not the buffer the
        // mask writes to is shared.
        let w = Tensor::new(values(5 * 3, 7), [5, 3]).unwrap();
        let x = Tensor::new(values(2 * 5, 9), [2, 5]).unwrap();
        check_grad(
            &[&x],
            |x| {
                let y = ops::dense(x[0], &w, None, Unary::Relu)?;
                let z = ops::mul(&y, &y)?;
                ops::sum_all(&ops::add(&ops::add(&z, &y)?, &y)?)
            },
            1e-2,
        );
    }
}
