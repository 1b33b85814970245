//! Symbolic copies of a built model's graph, for `model.input()`, `model.outputs()` and
//! `model.get_layer(name)?.output()`: each layer is copied (config and current weights, the
//! weight buffers shared until one side trains), and each node keeps the id of the node it
//! copies, so tensors from different copies of one model still match in `Model::new`.

use std::sync::Arc;

use super::graph::Graph;
use super::ops::OpLayer;
use super::symbolic::{input_node, KerasTensor, LayerSlot, SymNode};
use super::Functional;
use crate::layers::{InputLayer, Layer, Shape};
use crate::{Error, Result};

/// The tensors of every node of a model's graph, in execution order.
pub(crate) struct Replica {
    pub tensors: Vec<Vec<KerasTensor>>,
}

/// A copy of `layer` with the same config and weights, built for `shapes`.
pub(crate) fn copy_layer(layer: &dyn Layer, shapes: &[Shape], as_list: bool) -> Result<Box<dyn Layer>> {
    if let Some(il) = layer.as_any().downcast_ref::<InputLayer>() {
        let copy =
            InputLayer::with_batch_shape(il.batch_shape().to_vec()).dtype(il.input_dtype()).name(il.name());
        return Ok(Box::new(copy));
    }
    if let Some(op) = layer.as_any().downcast_ref::<OpLayer>() {
        return Ok(Box::new(op.duplicate()));
    }
    let mut copy = crate::layers::deserialize(&layer.serialize()).map_err(|e| {
        Error::State(format!(
            "Layer \"{}\" ({}) cannot be copied into a new model: {}",
            layer.name(),
            layer.class_name(),
            e.message()
        ))
    })?;
    if !copy.built() {
        if as_list || shapes.len() > 1 {
            copy.build_multi(shapes)?;
        } else if let Some(s) = shapes.first() {
            copy.build(s)?;
        }
    }
    copy.set_trainable(layer.trainable());
    copy.set_weights(&layer.weights().iter().map(|w| w.value().clone()).collect::<Vec<_>>())?;
    Ok(copy)
}

impl Replica {
    /// A fresh symbolic copy of `model`'s graph.
    pub(crate) fn of(model: &Functional) -> Result<Replica> {
        Self::of_graph(&model.graph)
    }

    fn of_graph(g: &Graph) -> Result<Replica> {
        let mut slots: Vec<Option<Arc<LayerSlot>>> = vec![None; g.layers.len()];
        let mut tensors: Vec<Vec<KerasTensor>> = Vec::with_capacity(g.nodes.len());
        for node in &g.nodes {
            let slot = match &slots[node.layer] {
                Some(s) => s.clone(),
                None => {
                    let shapes: Vec<Shape> =
                        node.inputs.iter().map(|&(p, i)| g.nodes[p].outputs[i].0.clone()).collect();
                    let copy = copy_layer(g.layers[node.layer].as_ref(), &shapes, node.as_list)?;
                    let s = LayerSlot::new(copy);
                    slots[node.layer] = Some(s.clone());
                    s
                }
            };
            if node.inputs.is_empty() {
                tensors.push(vec![input_node(slot, Some(node.sym_id))]);
                continue;
            }
            let sym = Arc::new(SymNode {
                id: node.sym_id,
                slot,
                inputs: node.inputs.iter().map(|&(p, i)| tensors[p][i].clone()).collect(),
                as_list: node.as_list,
                kwargs: node.kwargs.map_tensors(|&(p, i)| tensors[p][i].clone()),
                extra_args: node.extra_args.clone(),
                outputs: node.outputs.clone(),
            });
            tensors
                .push((0..sym.outputs.len()).map(|index| KerasTensor { node: sym.clone(), index }).collect());
        }
        Ok(Replica { tensors })
    }
}
