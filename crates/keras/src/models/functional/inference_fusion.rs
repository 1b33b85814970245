//! Inference fusion: at inference, a Conv2D or DepthwiseConv2D whose output feeds only a
//! BatchNormalization, an element-wise activation layer, or a BatchNormalization then an
//! activation, runs as one op whose epilogue normalizes and activates each block of output
//! rows while it is in cache ([`keras_engine::ops::conv2d_inference`]); a ZeroPadding2D
//! that feeds only a `valid` convolution becomes the convolution's own padding. The chain's
//! result is bit-identical to running the layers one by one: it saves up to three passes
//! over memory and as many allocations per chain (ResNet, MobileNet, EfficientNet and
//! DenseNet are made of such chains). An Add of two tensors whose sum feeds only an
//! element-wise activation (a residual connection) fuses the same way
//! ([`keras_engine::ops::add_activation`]).
//!
//! Only whole chains fuse: every intermediate tensor has exactly one reader and is not a
//! model output, no node in it has keyword arguments, a mask or an activity regularizer.
//! Training and calls under a gradient tape never fuse these.
//!
//! In training, a Conv2D whose output feeds only a 2x2, stride-2 MaxPooling2D runs as the
//! fused op Sequential models run ([`crate::models::sequential::conv_maxpool`]: with a ReLU,
//! [`keras_engine::ops::conv2d_relu_maxpool2`], bit-identical to the two calls).

use keras_engine::ops::{add_activation, ConvEpilogue, Unary};

use super::graph::{Graph, GraphNode};
use crate::layers::{
    Add, BatchNormalization, Conv2D, DepthwiseConv2D, Layer, MaxPooling2D, ReLU, ZeroPadding2D,
};
use crate::{Result, Tensor};

/// A chain of nodes around a convolution node, run as one op.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Chain {
    /// The ZeroPadding2D node before the convolution, if any (then the chain's head).
    pub pad: Option<usize>,
    /// The convolution node.
    pub conv: usize,
    /// The BatchNormalization node, if any.
    pub norm: Option<usize>,
    /// The activation node, if any.
    pub act: Option<usize>,
}

impl Chain {
    /// The node whose output the fused op produces.
    pub(crate) fn last(&self) -> usize {
        self.act.or(self.norm).unwrap_or(self.conv)
    }

    /// Every node of the chain, the head first.
    pub(crate) fn nodes(&self) -> impl Iterator<Item = usize> {
        self.pad.into_iter().chain([self.conv]).chain(self.norm).chain(self.act)
    }
}

/// Nodes run as one op.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Fused {
    /// A convolution chain.
    Conv(Chain),
    /// An Add of two tensors (node `add`) and the activation after it (node `act`).
    AddAct { add: usize, act: usize },
    /// In training, a Conv2D (node `conv`) and the MaxPooling2D after it (node `pool`).
    ConvPool { conv: usize, pool: usize },
}

impl Fused {
    /// The node whose output the fused op produces.
    pub(crate) fn last(&self) -> usize {
        match self {
            Fused::Conv(c) => c.last(),
            Fused::AddAct { act, .. } => *act,
            Fused::ConvPool { pool, .. } => *pool,
        }
    }

    /// Every node, the head first.
    pub(crate) fn nodes(&self) -> Vec<usize> {
        match self {
            Fused::Conv(c) => c.nodes().collect(),
            Fused::AddAct { add, act } => vec![*add, *act],
            Fused::ConvPool { conv, pool } => vec![*conv, *pool],
        }
    }
}

/// The fused groups of a graph: `heads[i]` for the first node `i` of each.
#[derive(Debug, Default)]
pub(crate) struct FusionPlan {
    pub heads: Vec<Option<Fused>>,
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

/// Whether a convolution pads nothing itself (so a ZeroPadding2D before it can become its
/// padding).
fn pads_nothing(layer: &dyn Layer) -> bool {
    let any = layer.as_any();
    any.downcast_ref::<Conv2D>().map(Conv2D::valid_padding).unwrap_or(false)
        || any.downcast_ref::<DepthwiseConv2D>().map(DepthwiseConv2D::valid_padding).unwrap_or(false)
}

impl FusionPlan {
    /// Finds the chains of `graph` (`training`: its Conv2D + MaxPooling2D pairs only).
    pub(crate) fn new(graph: &Graph, training: bool) -> FusionPlan {
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
        let mut plan = FusionPlan { heads: vec![None; n] };
        let layer_of = |j: usize| graph.layers[graph.nodes[j].layer].as_ref();
        for i in 0..n {
            let node = &graph.nodes[i];
            if training {
                if plain(node) && layer_of(i).as_any().is::<Conv2D>() && clean(i) {
                    let pool =
                        only_reader(i).filter(|&j| layer_of(j).as_any().is::<MaxPooling2D>() && clean(j));
                    if let Some(pool) = pool {
                        plan.heads[i] = Some(Fused::ConvPool { conv: i, pool });
                    }
                }
                continue;
            }
            let residual = node.inputs.len() == 2
                && node.kwargs.is_empty()
                && node.extra_args.is_empty()
                && layer_of(i).as_any().is::<Add>();
            if residual && clean(i) {
                if let Some(k) = only_reader(i) {
                    if elementwise(layer_of(k)).is_some() && clean(k) {
                        plan.heads[i] = Some(Fused::AddAct { add: i, act: k });
                    }
                }
                continue;
            }
            if !plain(node) || !is_conv(layer_of(i)) || !clean(i) {
                continue;
            }
            let mut chain = Chain { pad: None, conv: i, norm: None, act: None };
            let p = node.inputs[0].0;
            if pads_nothing(layer_of(i))
                && plain(&graph.nodes[p])
                && only_reader(p) == Some(i)
                && layer_of(p)
                    .as_any()
                    .downcast_ref::<ZeroPadding2D>()
                    .is_some_and(|z| z.channels_last_padding().is_some())
                && clean(p)
            {
                chain.pad = Some(p);
            }
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
            if chain.pad.is_some() || chain.norm.is_some() || chain.act.is_some() {
                let head = chain.pad.unwrap_or(i);
                plan.heads[head] = Some(Fused::Conv(chain));
            }
        }
        plan
    }
}

/// Runs a fused group on the inputs `xs` of its head node (no input masks); `None` where a
/// layer declines at run time (a conv with its own activation or its own padding after a
/// ZeroPadding2D, a BatchNormalization over another axis, an Add that broadcasts): the
/// caller then runs the nodes one by one.
pub(crate) fn run_fused(graph: &Graph, fused: &Fused, xs: &[&Tensor]) -> Option<Result<Tensor>> {
    let layer_of = |j: usize| graph.layers[graph.nodes[j].layer].as_ref();
    match fused {
        Fused::Conv(chain) => run_chain(graph, chain, xs.first()?),
        Fused::AddAct { act, .. } => {
            let [a, b] = xs else { return None };
            if a.shape() != b.shape() {
                return None;
            }
            let act = elementwise(layer_of(*act))?;
            Some(add_activation(a, b, act).map_err(crate::Error::from))
        }
        Fused::ConvPool { conv, pool } => {
            crate::models::sequential::conv_maxpool(layer_of(*conv), Some(layer_of(*pool)), xs.first()?, true)
        }
    }
}

/// Runs a convolution chain on the input `x` of its head node.
fn run_chain(graph: &Graph, chain: &Chain, x: &Tensor) -> Option<Result<Tensor>> {
    let layer_of = |j: usize| graph.layers[graph.nodes[j].layer].as_ref();
    let pad = match chain.pad {
        Some(p) => Some(layer_of(p).as_any().downcast_ref::<ZeroPadding2D>()?.channels_last_padding()?),
        None => None,
    };
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
    let any = layer_of(chain.conv).as_any();
    if let Some(c) = any.downcast_ref::<Conv2D>() {
        return c.call_fused_inference(x, pad, &epilogue);
    }
    any.downcast_ref::<DepthwiseConv2D>()?.call_fused_inference(x, pad, &epilogue)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::Add;
    use crate::models::{Model, SymbolicCall};
    use crate::Input;

    /// The chains found, as the layer names of their nodes.
    fn chains(model: &Model) -> Vec<Vec<String>> {
        plan_names(model, false)
    }

    /// The groups of the inference (or `training`) plan, as the layer names of their nodes.
    fn plan_names(model: &Model, training: bool) -> Vec<Vec<String>> {
        let g = &model.graph;
        let name = |j: usize| g.layers[g.nodes[j].layer].name().to_string();
        let plan = FusionPlan::new(g, training);
        plan.heads
            .iter()
            .enumerate()
            .filter_map(|(i, c)| {
                let nodes = c.as_ref()?.nodes();
                assert_eq!(nodes[0], i, "a group is keyed by its head");
                Some(nodes.into_iter().map(name).collect())
            })
            .collect()
    }

    #[test]
    fn the_training_plan_takes_conv_pool_pairs_read_once() {
        let x = Input::new(&[12, 12, 3]);
        let c1 = Conv2D::new(4, [3, 3]).activation("relu").name("c1").apply(&x).unwrap();
        let m1 = MaxPooling2D::new([2, 2]).name("m1").apply(&c1).unwrap();
        // Read twice (the pool and a model output): no pair.
        let c2 = Conv2D::new(4, [1, 1]).activation("relu").name("c2").apply(&m1).unwrap();
        let m2 = MaxPooling2D::new([2, 2]).name("m2").apply(&c2).unwrap();
        let model = Model::new(&[x], &[m2, c2]).unwrap();
        let names = |v: &[&str]| v.iter().map(|n| n.to_string()).collect::<Vec<_>>();
        assert_eq!(plan_names(&model, true), vec![names(&["c1", "m1"])]);
        assert!(plan_names(&model, false).is_empty());
    }

    #[test]
    fn the_plan_takes_whole_chains_and_nothing_read_elsewhere() {
        let x = Input::new(&[8, 8, 3]);
        let c1 = Conv2D::new(4, [3, 3]).name("c1").apply(&x).unwrap();
        let b1 = BatchNormalization::new().name("b1").apply(&c1).unwrap();
        let a1 = crate::layers::Activation::new("relu").name("a1").apply(&b1).unwrap();
        let p2 = ZeroPadding2D::new([[1, 1], [0, 1]]).name("p2").apply(&a1).unwrap();
        let d2 = DepthwiseConv2D::new([3, 3]).name("d2").apply(&p2).unwrap();
        let r2 = ReLU::new().max_value(6.0).name("r2").apply(&d2).unwrap();
        // Read twice: c3 heads no chain.
        // A same-padded conv keeps its ZeroPadding2D apart.
        let p3 = ZeroPadding2D::new([[1, 1], [1, 1]]).name("p3").apply(&r2).unwrap();
        let c3 = Conv2D::new(3, [1, 1]).padding("same").name("c3").apply(&p3).unwrap();
        let b3 = BatchNormalization::new().name("b3").apply(&c3).unwrap();
        let s3 = Add::new().name("s3").apply_list(&[&c3, &b3]).unwrap();
        // A residual sum and its activation.
        let s3 = crate::layers::Activation::new("relu").name("r3").apply(&s3).unwrap();
        // b4 is read twice (a model output, and c5): the chain stops at it.
        let c4 = Conv2D::new(3, [1, 1]).name("c4").apply(&s3).unwrap();
        let b4 = BatchNormalization::new().name("b4").apply(&c4).unwrap();
        // Softmax is not element-wise: c5 + b5 only.
        let c5 = Conv2D::new(3, [1, 1]).name("c5").apply(&b4).unwrap();
        let b5 = BatchNormalization::new().name("b5").apply(&c5).unwrap();
        let a5 = crate::layers::Activation::new("softmax").name("a5").apply(&b5).unwrap();
        let model = Model::new(&[x], &[b4, a5]).unwrap();
        let names = |v: &[&str]| v.iter().map(|n| n.to_string()).collect::<Vec<_>>();
        assert_eq!(
            chains(&model),
            vec![
                names(&["c1", "b1", "a1"]),
                names(&["p2", "d2", "r2"]),
                names(&["s3", "r3"]),
                names(&["c4", "b4"]),
                names(&["c5", "b5"]),
            ]
        );
    }
}
