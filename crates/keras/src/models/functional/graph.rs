//! The graph runtime: a model's layers and nodes in execution order, built once from the
//! symbolic graph (Keras `map_graph`), and the forward pass over it.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use super::inference_fusion::{run_fused, FusionPlan};
use super::ops::OpLayer;
use serde_json::Value;

use super::symbolic::{arg_tensors, KerasTensor, SymNode};
use crate::layers::{CallContext, CallKwargs, InputLayer, Layer, LayerBase, Shape, TensorArg, Variable};
use crate::{keras_bail, DType, Error, Result, Tensor};

/// Where a tensor of the graph comes from: (node position in execution order, output index).
pub(crate) type TensorRef = (usize, usize);

/// One call of a layer inside a model.
#[derive(Clone, Debug)]
pub(crate) struct GraphNode {
    /// Index into [`Graph::layers`].
    pub layer: usize,
    /// Index of this call among the layer's calls in this model (Keras's node index).
    pub node_index: usize,
    pub inputs: Vec<TensorRef>,
    pub as_list: bool,
    /// Keyword arguments (`mask=`, `training=`, attention's `key=`).
    pub kwargs: CallKwargs<TensorRef>,
    /// Positional arguments after the tensors, as JSON.
    pub extra_args: Vec<Value>,
    pub outputs: Vec<(Shape, DType)>,
    /// First slot of this node's outputs in the value table.
    pub first_slot: usize,
    /// Slots whose last reader is this node (freed after it runs).
    pub frees: Vec<usize>,
    /// Symbolic id of the node (kept by replicas).
    pub sym_id: u64,
}

impl GraphNode {
    /// Every tensor the node reads: inputs, then keyword tensors by name.
    pub(crate) fn parents(&self) -> Vec<TensorRef> {
        let mut out = self.inputs.clone();
        for arg in self.kwargs.tensor_args().values() {
            out.extend(arg_tensors(arg).into_iter().copied());
        }
        out
    }
}

/// A Functional model's graph: the layers in `model.layers` order (input layers and
/// operations included) and the nodes in execution order.
pub(crate) struct Graph {
    pub base: LayerBase,
    pub layers: Vec<Box<dyn Layer>>,
    pub nodes: Vec<GraphNode>,
    /// The input node of each model input (its layer is an `InputLayer`).
    pub inputs: Vec<usize>,
    pub outputs: Vec<TensorRef>,
    pub n_slots: usize,
}

/// Keras `_build_map`: nodes in decreasing depth (inputs first) by a depth-first walk from
/// each output, and the order in which each layer was first met.
/// Nodes from inputs to outputs, and each layer's first-traversal index (by slot id).
type NodeMap = (Vec<Arc<SymNode>>, HashMap<u64, usize>);

fn build_map(outputs: &[KerasTensor]) -> Result<NodeMap> {
    let mut finished: HashSet<u64> = HashSet::new();
    let mut in_progress: HashSet<u64> = HashSet::new();
    let mut order: Vec<Arc<SymNode>> = Vec::new();
    let mut layer_index: HashMap<u64, usize> = HashMap::new();
    // An explicit stack (deep graphs must not overflow the thread's stack).
    enum Step {
        Enter(Arc<SymNode>),
        Leave(Arc<SymNode>),
    }
    for out in outputs {
        let mut stack = vec![Step::Enter(out.node.clone())];
        while let Some(step) = stack.pop() {
            match step {
                Step::Enter(node) => {
                    if finished.contains(&node.id) {
                        continue;
                    }
                    if in_progress.contains(&node.id) {
                        keras_bail!(
                            InvalidArgument,
                            "Tensor from operation '{}' is part of a cycle.",
                            node.slot.name
                        );
                    }
                    let n = layer_index.len();
                    layer_index.entry(node.slot.id).or_insert(n);
                    in_progress.insert(node.id);
                    stack.push(Step::Leave(node.clone()));
                    let parents: Vec<Arc<SymNode>> =
                        node.parents().into_iter().map(|t| t.node.clone()).collect();
                    for p in parents.into_iter().rev() {
                        stack.push(Step::Enter(p));
                    }
                }
                Step::Leave(node) => {
                    if finished.insert(node.id) {
                        in_progress.remove(&node.id);
                        order.push(node);
                    }
                }
            }
        }
    }
    Ok((order, layer_index))
}

impl Graph {
    /// Builds the graph between `inputs` and `outputs` (Keras `map_graph`), taking the layers
    /// out of their slots. Nothing is taken unless the whole graph is valid.
    pub(crate) fn from_symbolic(
        name: &str,
        inputs: &[KerasTensor],
        outputs: &[KerasTensor],
    ) -> Result<Graph> {
        if inputs.is_empty() || outputs.is_empty() {
            keras_bail!(InvalidArgument, "A Functional model needs at least one input and one output");
        }
        for (i, t) in inputs.iter().enumerate() {
            if !t.node.is_input() {
                keras_bail!(
                    InvalidArgument,
                    "Input {i} of the model ({t:?}) is not the output of `keras.Input`: every model input must \
                     come from `Input`"
                );
            }
        }
        let input_keys: Vec<(u64, usize)> = inputs.iter().map(KerasTensor::key).collect();
        for (i, k) in input_keys.iter().enumerate() {
            if input_keys[..i].contains(k) {
                keras_bail!(
                    InvalidArgument,
                    "The same input tensor is given twice to the model: {:?}",
                    inputs[i]
                );
            }
        }
        let (order, layer_index) = build_map(outputs)?;
        // Depths (Keras: a node is one deeper than the deepest of its consumers).
        let mut node_depth: HashMap<u64, usize> = HashMap::new();
        let mut layer_depth: HashMap<u64, usize> = HashMap::new();
        let in_graph: HashSet<u64> = order.iter().map(|n| n.id).collect();
        for node in order.iter().rev() {
            let mut depth = *node_depth.entry(node.id).or_insert(0);
            depth = depth.max(*layer_depth.get(&node.slot.id).unwrap_or(&0));
            layer_depth.insert(node.slot.id, depth);
            node_depth.insert(node.id, depth);
            for p in node.parents() {
                if in_graph.contains(&p.node.id) {
                    let d = node_depth.entry(p.node.id).or_insert(0);
                    *d = (*d).max(depth + 1);
                }
            }
        }
        let input_nodes: HashSet<u64> = inputs.iter().map(|t| t.node.id).collect();
        let mut by_depth: Vec<&Arc<SymNode>> = order.iter().collect();
        // Stable: execution order is decreasing depth, ties in walk order.
        by_depth.sort_by_key(|n| std::cmp::Reverse(node_depth[&n.id]));
        let mut computable: HashSet<(u64, usize)> = input_keys.iter().copied().collect();
        let mut accessed: Vec<String> = Vec::new();
        for node in &by_depth {
            if node.is_input() && !input_nodes.contains(&node.id) {
                // An input the model was not given: its consumers cannot be computed.
                continue;
            }
            for p in node.parents() {
                if !computable.contains(&p.key()) {
                    keras_bail!(
                        InvalidArgument,
                        "Graph disconnected: cannot find parent for tensor {p:?} at operation '{}'. The following \
                         previous operations were accessed without issue: {:?}",
                        node.slot.name,
                        accessed
                    );
                }
            }
            if !node.is_input() {
                accessed.push(node.slot.name.clone());
            }
            for i in 0..node.outputs.len() {
                computable.insert((node.id, i));
            }
        }
        // Every input must feed an output.
        for t in inputs {
            if !in_graph.contains(&t.node.id) {
                keras_bail!(
                    InvalidArgument,
                    "Input \"{}\" of the model is not connected to any output: the outputs {:?} do not depend on it. \
                     Remove it from the inputs or use it in the graph.",
                    t.layer_name(),
                    outputs.iter().map(|o| o.name()).collect::<Vec<_>>()
                );
            }
        }
        // Layers: decreasing depth, ties by first traversal.
        let mut slots: Vec<&Arc<super::symbolic::LayerSlot>> = Vec::new();
        let mut seen = HashSet::new();
        for n in &order {
            if seen.insert(n.slot.id) {
                slots.push(&n.slot);
            }
        }
        slots.sort_by_key(|s| (std::cmp::Reverse(layer_depth[&s.id]), layer_index[&s.id]));
        let names: Vec<&str> = slots.iter().map(|s| s.name.as_str()).collect();
        for n in &names {
            let count = names.iter().filter(|m| *m == n).count();
            if count != 1 {
                keras_bail!(
                    InvalidArgument,
                    "The name \"{n}\" is used {count} times in the model. All operation names should be unique."
                );
            }
        }
        // Every layer must still be in its slot before any is taken.
        for s in &slots {
            s.with(|_| Ok(()))?;
        }
        let slot_pos: HashMap<u64, usize> = slots.iter().enumerate().map(|(i, s)| (s.id, i)).collect();
        // Node index of each call among the layer's calls in this model (creation order).
        let mut calls: HashMap<u64, Vec<u64>> = HashMap::new();
        for n in &by_depth {
            calls.entry(n.slot.id).or_default().push(n.id);
        }
        for v in calls.values_mut() {
            v.sort_unstable();
        }
        let mut pos_of: HashMap<u64, usize> = HashMap::new();
        let mut nodes = Vec::with_capacity(by_depth.len());
        let mut slot = 0;
        for (p, n) in by_depth.iter().enumerate() {
            pos_of.insert(n.id, p);
            let r = |t: &KerasTensor| (pos_of[&t.node.id], t.index);
            nodes.push(GraphNode {
                layer: slot_pos[&n.slot.id],
                node_index: calls[&n.slot.id].iter().position(|&i| i == n.id).unwrap_or(0),
                inputs: n.inputs.iter().map(r).collect(),
                as_list: n.as_list,
                kwargs: n.kwargs.map_tensors(r),
                extra_args: n.extra_args.clone(),
                outputs: n.outputs.clone(),
                first_slot: slot,
                frees: Vec::new(),
                sym_id: n.id,
            });
            slot += n.outputs.len();
        }
        let graph_inputs: Vec<usize> = inputs.iter().map(|t| pos_of[&t.node.id]).collect();
        let graph_outputs: Vec<TensorRef> = outputs.iter().map(|t| (pos_of[&t.node.id], t.index)).collect();
        // All checks passed: take the layers.
        let mut layers = Vec::with_capacity(slots.len());
        for s in &slots {
            let taken = s.layer.lock().map_err(|_| Error::State("a layer lock was poisoned".into()))?.take();
            layers.push(taken.expect("checked above"));
        }
        // The caller chose the name (Model::new takes the automatic one): no counter here.
        let mut base = LayerBase::named(name);
        base.built = true;
        let mut g =
            Graph { base, layers, nodes, inputs: graph_inputs, outputs: graph_outputs, n_slots: slot };
        g.plan_frees();
        Ok(g)
    }

    /// Records after which node each value can be dropped (graph outputs are kept).
    fn plan_frees(&mut self) {
        let mut last: Vec<Option<usize>> = vec![None; self.n_slots];
        for (p, n) in self.nodes.iter().enumerate() {
            for (q, i) in n.parents() {
                last[self.nodes[q].first_slot + i] = Some(p);
            }
        }
        for &(q, i) in &self.outputs {
            last[self.nodes[q].first_slot + i] = None;
        }
        for n in self.nodes.iter_mut() {
            n.frees.clear();
        }
        for (s, l) in last.into_iter().enumerate() {
            if let Some(p) = l {
                self.nodes[p].frees.push(s);
            }
        }
    }

    /// The slot of a tensor.
    pub(crate) fn slot(&self, r: TensorRef) -> usize {
        self.nodes[r.0].first_slot + r.1
    }

    /// True for operation nodes' layers (`NotEqual`), which `model.layers` leaves out.
    pub(crate) fn is_op(&self, layer: usize) -> bool {
        self.layers[layer].as_any().downcast_ref::<OpLayer>().is_some()
    }

    /// The input layer of model input `i`.
    pub(crate) fn input_layer(&self, i: usize) -> &InputLayer {
        let node = &self.nodes[self.inputs[i]];
        self.layers[node.layer].as_any().downcast_ref::<InputLayer>().expect("model inputs are input layers")
    }

    /// The batch shapes of the model inputs.
    pub(crate) fn input_shapes(&self) -> Vec<Shape> {
        self.inputs.iter().map(|&p| self.nodes[p].outputs[0].0.clone()).collect()
    }

    /// The batch shapes of the model outputs.
    pub(crate) fn output_shapes(&self) -> Vec<Shape> {
        self.outputs.iter().map(|&(p, i)| self.nodes[p].outputs[i].0.clone()).collect()
    }

    /// Keras's error when a model gets `n` input tensors for another number of inputs.
    pub(crate) fn check_input_count(&self, n: usize) -> Result<()> {
        if n != self.inputs.len() {
            keras_bail!(
                InvalidArgument,
                "Layer \"{}\" expects {} input(s), but it received {n} input tensors.",
                self.base.name,
                self.inputs.len()
            );
        }
        Ok(())
    }

    /// Checks the arrays given to the model against its inputs (count, rank, known sizes).
    pub(crate) fn check_inputs(&self, xs: &[Tensor]) -> Result<()> {
        self.check_input_count(xs.len())?;
        for (i, (x, shape)) in xs.iter().zip(self.input_shapes()).enumerate() {
            crate::models::check_input_shape(&self.base.name, i, x, &shape)?;
        }
        Ok(())
    }

    /// The forward pass over the graph with the masks of the inputs (none by default): every
    /// output with its mask. Values are dropped as soon as their last reader has run.
    pub(crate) fn run(
        &self,
        xs: &[Tensor],
        input_masks: &[Option<Tensor>],
        ctx: &mut CallContext,
    ) -> Result<(Vec<Tensor>, Vec<Option<Tensor>>)> {
        self.check_input_count(xs.len())?;
        let mut values: Vec<Option<Tensor>> = vec![None; self.n_slots];
        let mut masks: Vec<Option<Tensor>> = vec![None; self.n_slots];
        for (i, x) in xs.iter().enumerate() {
            let p = self.inputs[i];
            let want = self.input_layer(i).input_dtype();
            let v = if x.dtype() != want && want == DType::F32 { x.cast(DType::F32) } else { x.clone() };
            let s = self.nodes[p].first_slot;
            values[s] = Some(v);
            masks[s] = input_masks.get(i).cloned().flatten();
        }
        // Conv + BatchNormalization + activation chains run fused at inference, Conv2D +
        // MaxPooling2D pairs in training.
        let plan = if ctx.training {
            Some(FusionPlan::new(self, true))
        } else {
            (!keras_engine::autodiff::is_recording()).then(|| FusionPlan::new(self, false))
        };
        let mut fused_away = vec![false; self.nodes.len()];
        for (ni, node) in self.nodes.iter().enumerate() {
            if node.inputs.is_empty() || fused_away[ni] {
                continue;
            }
            if let Some(fused) = plan.as_ref().and_then(|p| p.heads[ni].as_ref()) {
                let slots: Vec<usize> = node.inputs.iter().map(|&r| self.slot(r)).collect();
                let xs: Option<Vec<&Tensor>> =
                    slots.iter().map(|&s| values[s].as_ref().filter(|_| masks[s].is_none())).collect();
                if let Some(y) = xs.and_then(|xs| run_fused(self, fused, &xs)) {
                    let y = y?;
                    for j in fused.nodes() {
                        fused_away[j] = true;
                        for s in &self.nodes[j].frees {
                            values[*s] = None;
                            masks[*s] = None;
                        }
                    }
                    let out = self.nodes[fused.last()].first_slot;
                    values[out] = Some(y);
                    masks[out] = None;
                    continue;
                }
            }
            let layer = &self.layers[node.layer];
            let ins: Vec<Tensor> = node
                .inputs
                .iter()
                .map(|&r| {
                    values[self.slot(r)].clone().ok_or_else(|| Error::State("graph value missing".into()))
                })
                .collect::<Result<_>>()?;
            let ms: Vec<Option<Tensor>> = node.inputs.iter().map(|&r| masks[self.slot(r)].clone()).collect();
            let (outs, out_masks) = if node.kwargs.is_empty() {
                let outs = if !node.as_list && ins.len() == 1 {
                    layer.call_outputs(&ins[0], ms[0].as_ref(), ctx)?
                } else {
                    layer.call_multi(&ins, &ms, ctx)?
                };
                let out_masks = if ms.iter().all(Option::is_none) && !produces_mask(layer.as_ref()) {
                    vec![None; outs.len()]
                } else if !node.as_list && ins.len() == 1 {
                    vec![layer.compute_mask(&ins[0], ms[0].as_ref())?]
                } else {
                    layer.compute_masks(&ins, &ms)?
                };
                (outs, out_masks)
            } else {
                let kw = self.node_kwargs(node, &values, &masks)?;
                let outs = layer.call_with_kwargs(&ins, &ms, &kw, ctx)?;
                let out_masks = layer.compute_masks_with_kwargs(&ins, &ms, &kw)?;
                (outs, out_masks)
            };
            if outs.len() != node.outputs.len() {
                keras_bail!(
                    State,
                    "Layer \"{}\" returned {} outputs where its output shapes promised {}",
                    layer.name(),
                    outs.len(),
                    node.outputs.len()
                );
            }
            if let Some(first) = outs.first() {
                layer.base().record_activity(first, ctx)?;
            }
            for s in &node.frees {
                values[*s] = None;
                masks[*s] = None;
            }
            for (i, o) in outs.into_iter().enumerate() {
                values[node.first_slot + i] = Some(o);
            }
            for (i, m) in out_masks.into_iter().enumerate().take(node.outputs.len()) {
                masks[node.first_slot + i] = m;
            }
        }
        let mut ys = Vec::with_capacity(self.outputs.len());
        let mut yms = Vec::with_capacity(self.outputs.len());
        for &r in &self.outputs {
            let s = self.slot(r);
            ys.push(values[s].clone().ok_or_else(|| Error::State("graph output missing".into()))?);
            yms.push(masks[s].clone());
        }
        Ok((ys, yms))
    }

    /// The keyword arguments of a node with their current values (a keyword tensor carries
    /// its mask, `key=k` gives the layer `key_mask`; masks are float 0/1).
    fn node_kwargs(
        &self,
        node: &GraphNode,
        values: &[Option<Tensor>],
        masks: &[Option<Tensor>],
    ) -> Result<CallKwargs> {
        let get = |r: TensorRef| -> Result<Tensor> {
            values[self.slot(r)].clone().ok_or_else(|| Error::State("graph value missing".into()))
        };
        let mut kw = CallKwargs::new();
        for (k, v) in node.kwargs.values() {
            kw.set_value(k, v.clone());
        }
        for (k, arg) in node.kwargs.tensor_args() {
            let fix = |t: Tensor| if k == "mask" { as_mask(t) } else { t };
            match arg {
                TensorArg::One(r) => {
                    kw.set_tensor(k, TensorArg::One(fix(get(*r)?)), masks[self.slot(*r)].clone())
                }
                TensorArg::List(l) => {
                    let items = l
                        .iter()
                        .map(|r| r.map(|r| get(r).map(fix)).transpose())
                        .collect::<Result<Vec<_>>>()?;
                    kw.set_tensor(k, TensorArg::List(items), None);
                }
            }
        }
        Ok(kw)
    }

    /// Every weight in `model.weights` order (each layer once, shared layers included once).
    pub(crate) fn weights(&self) -> Vec<&Variable> {
        self.layers.iter().flat_map(|l| l.weights()).collect()
    }

    /// Every variable with whether the optimizer trains it (its layer, every enclosing model
    /// and the variable itself trainable).
    pub(crate) fn variables_mut(&mut self) -> Vec<(&mut Variable, bool)> {
        let mut flags = Vec::new();
        for layer in &self.layers {
            trainable_flags(layer.as_ref(), self.base.trainable, &mut flags);
        }
        let vars: Vec<&mut Variable> = self.layers.iter_mut().flat_map(|l| l.weights_mut()).collect();
        vars.into_iter().zip(flags).collect()
    }
}

/// Masks are float 0/1 tensors in keras-rs; an integer mask (from `NotEqual`) is cast.
fn as_mask(t: Tensor) -> Tensor {
    if t.dtype() == DType::F32 {
        t
    } else {
        t.cast(DType::F32)
    }
}

/// Layers that create a mask from an unmasked input (`Embedding(mask_zero=True)`, `Masking`,
/// models that contain them): the only ones asked for a mask when no input has one.
fn produces_mask(layer: &dyn Layer) -> bool {
    matches!(layer.class_name(), "Embedding" | "Masking" | "Functional" | "Sequential")
}

/// Whether each weight of `layer` (in `weights()` order) is trained: the weight, its layer
/// and every enclosing model must be trainable (nested models are walked so that the flags
/// of their own layers count).
pub(crate) fn trainable_flags(layer: &dyn Layer, parent_trainable: bool, out: &mut Vec<bool>) {
    let trainable = parent_trainable && layer.trainable();
    if let Some(inner) = nested_layers(layer) {
        for l in inner {
            trainable_flags(l, trainable, out);
        }
        return;
    }
    out.extend(layer.weights().iter().map(|w| trainable && w.trainable()));
}

/// The layers of a nested model (a Functional graph's, operations included, or a Sequential
/// stack's), `None` for other layers.
pub(crate) fn nested_layers(layer: &dyn Layer) -> Option<Vec<&dyn Layer>> {
    if let Some(g) = layer.as_any().downcast_ref::<Graph>() {
        return Some(g.layers.iter().map(|l| l.as_ref()).collect());
    }
    crate::models::sequential::stack_layers(layer)
}
