//! Inference fusion: at inference, a Conv2D or DepthwiseConv2D whose output feeds only a
//! BatchNormalization, an element-wise activation layer, or a BatchNormalization then an
//! activation, runs as one op whose epilogue normalizes and activates each block of output
//! rows while it is in cache ([`keras_engine::ops::conv2d_inference`]). The chain's result is
//! bit-identical to running the layers one by one: it saves two passes over memory and two
//! allocations per chain (ResNet, MobileNet, EfficientNet and DenseNet are made of such
//! chains).
//!
//! Only whole chains fuse: every intermediate tensor has exactly one reader and is not a
//! model output, no node in it has keyword arguments, a mask or an activity regularizer.
//! Training and calls under a gradient tape never fuse.

use keras_engine::ops::{ConvEpilogue, Unary};

use super::graph::{Graph, GraphNode};
use crate::layers::{BatchNormalization, Conv2D, DepthwiseConv2D, Layer, ReLU};
use crate::{Result, Tensor};

/// A chain headed by a convolution node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Chain {
    /// The BatchNormalization node, if any.
    pub norm: Option<usize>,
    /// The activation node, if any.
    pub act: Option<usize>,
}

impl Chain {
    /// The node whose output the fused op produces.
    pub(crate) fn last(&self, head: usize) -> usize {
        self.act.or(self.norm).unwrap_or(head)
    }

    /// Every node of the chain after its head.
    pub(crate) fn tail(&self) -> impl Iterator<Item = usize> {
        self.norm.into_iter().chain(self.act)
    }
}

/// The chains of a graph: `heads[i]` for a convolution node `i` that heads one, and
/// `inside[j]` for every other node of a chain (skipped by the run).
#[derive(Debug, Default)]
pub(crate) struct FusionPlan {
    pub heads: Vec<Option<Chain>>,
    pub inside: Vec<bool>,
}

/// Whether a node is a plain one-tensor call (no keyword or extra arguments, no list).
fn plain(node: &GraphNode) -> bool {
    node.inputs.len() == 1 && !node.as_list && node.kwargs.is_empty() && node.extra_args.is_empty()
}

/// The element-wise function of an activation layer.
fn elementwise(layer: &dyn Layer) -> Option<Unary> {
    let any = layer.as_any();
    if let Some(a) = any.downcast_ref::<crate::layers::Activation>() {
        return a.elementwise();
    }
    any.downcast_ref::<ReLU>().map(ReLU::elementwise)
}

fn is_conv(layer: &dyn Layer) -> bool {
    let any = layer.as_any();
    any.is::<Conv2D>() || any.is::<DepthwiseConv2D>()
}

impl FusionPlan {
    /// Finds the chains of `graph`.
    pub(crate) fn new(graph: &Graph) -> FusionPlan {
        let n = graph.nodes.len();
        // How many times each value slot is read (model outputs count as readers) and the
        // node that reads it when there is exactly one.
        let mut readers = vec![0usize; graph.n_slots];
        let mut reader = vec![usize::MAX; graph.n_slots];
        for (i, node) in graph.nodes.iter().enumerate() {
            for r in node.parents() {
                let s = graph.slot(r);
                readers[s] += 1;
                reader[s] = i;
            }
        }
        for &r in &graph.outputs {
            readers[graph.slot(r)] += 1;
        }
        let only_reader = |i: usize| -> Option<usize> {
            let node = &graph.nodes[i];
            if node.outputs.len() != 1 || readers[node.first_slot] != 1 {
                return None;
            }
            // A slot read once, but as a model output, has no reader node.
            let j = reader[node.first_slot];
            graph.nodes.get(j).is_some_and(plain).then_some(j)
        };
        let clean = |i: usize| graph.layers[graph.nodes[i].layer].base().activity_regularizer.is_none();
        let mut plan = FusionPlan { heads: vec![None; n], inside: vec![false; n] };
        for i in 0..n {
            let node = &graph.nodes[i];
            if plan.inside[i] || !plain(node) || !is_conv(graph.layers[node.layer].as_ref()) || !clean(i) {
                continue;
            }
            let layer_of = |j: usize| graph.layers[graph.nodes[j].layer].as_ref();
            let mut chain = Chain { norm: None, act: None };
            let mut last = i;
            if let Some(j) = only_reader(i) {
                if layer_of(j).as_any().is::<BatchNormalization>() && clean(j) {
                    chain.norm = Some(j);
                    last = j;
                }
            }
            if let Some(k) = only_reader(last) {
                if elementwise(layer_of(k)).is_some() && clean(k) {
                    chain.act = Some(k);
                }
            }
            if chain.norm.is_some() || chain.act.is_some() {
                for j in chain.tail() {
                    plan.inside[j] = true;
                }
                plan.heads[i] = Some(chain);
            }
        }
        plan
    }
}

/// Runs the chain headed by node `head` on its input `x` (no input mask); `None` where a
/// layer declines at run time (a conv with its own activation, a BatchNormalization over
/// another axis): the caller then runs the nodes one by one.
pub(crate) fn run_chain(graph: &Graph, head: usize, chain: &Chain, x: &Tensor) -> Option<Result<Tensor>> {
    let layer_of = |j: usize| graph.layers[graph.nodes[j].layer].as_ref();
    let rank = x.rank();
    let norm = match chain.norm {
        Some(j) => match layer_of(j).as_any().downcast_ref::<BatchNormalization>()?.inference_norm(rank)? {
            Ok(n) => Some(n),
            Err(e) => return Some(Err(e)),
        },
        None => None,
    };
    let act = match chain.act {
        Some(k) => elementwise(layer_of(k))?,
        None => Unary::Linear,
    };
    let epilogue = ConvEpilogue { norm, act };
    let any = layer_of(head).as_any();
    if let Some(c) = any.downcast_ref::<Conv2D>() {
        return c.call_fused_inference(x, &epilogue);
    }
    any.downcast_ref::<DepthwiseConv2D>()?.call_fused_inference(x, &epilogue)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::Add;
    use crate::models::{Model, SymbolicCall};
    use crate::Input;

    /// The chains found, as (head, norm, act) layer names.
    fn chains(model: &Model) -> Vec<(String, Option<String>, Option<String>)> {
        let g = &model.graph;
        let name = |j: usize| g.layers[g.nodes[j].layer].name().to_string();
        let plan = FusionPlan::new(g);
        plan.heads
            .iter()
            .enumerate()
            .filter_map(|(i, c)| c.as_ref().map(|c| (name(i), c.norm.map(name), c.act.map(name))))
            .collect()
    }

    #[test]
    fn the_plan_takes_whole_chains_and_nothing_read_elsewhere() {
        let x = Input::new(&[8, 8, 3]);
        let c1 = Conv2D::new(4, [3, 3]).name("c1").apply(&x).unwrap();
        let b1 = BatchNormalization::new().name("b1").apply(&c1).unwrap();
        let a1 = crate::layers::Activation::new("relu").name("a1").apply(&b1).unwrap();
        let d2 = DepthwiseConv2D::new([3, 3]).name("d2").apply(&a1).unwrap();
        let r2 = ReLU::new().max_value(6.0).name("r2").apply(&d2).unwrap();
        // Read twice: c3 heads no chain.
        let c3 = Conv2D::new(3, [1, 1]).name("c3").apply(&r2).unwrap();
        let b3 = BatchNormalization::new().name("b3").apply(&c3).unwrap();
        let s3 = Add::new().name("s3").apply_list(&[&c3, &b3]).unwrap();
        // b4 is read twice (a model output, and c5): the chain stops at it.
        let c4 = Conv2D::new(3, [1, 1]).name("c4").apply(&s3).unwrap();
        let b4 = BatchNormalization::new().name("b4").apply(&c4).unwrap();
        // Softmax is not element-wise: c5 + b5 only.
        let c5 = Conv2D::new(3, [1, 1]).name("c5").apply(&b4).unwrap();
        let b5 = BatchNormalization::new().name("b5").apply(&c5).unwrap();
        let a5 = crate::layers::Activation::new("softmax").name("a5").apply(&b5).unwrap();
        let model = Model::new(&[x], &[b4, a5]).unwrap();
        let s = |v: &str| v.to_string();
        assert_eq!(
            chains(&model),
            vec![
                (s("c1"), Some(s("b1")), Some(s("a1"))),
                (s("d2"), None, Some(s("r2"))),
                (s("c4"), Some(s("b4")), None),
                (s("c5"), Some(s("b5")), None),
            ]
        );
    }
}
