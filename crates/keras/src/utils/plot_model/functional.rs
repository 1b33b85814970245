//! [`ToPlotGraph`] for [`Functional`]: every layer of `model._operations` (input layers
//! included) and one edge per tensor a layer's call consumes, as Keras's `model_to_dot`
//! walks them. Nested models carry their own graph, drawn as a cluster by `expand_nested`.

use super::graph::{dtypes_repr, shape_repr, PlotGraph, PlotNode, ToPlotGraph};
use super::sequential::{activation_name, stack_plot};
use crate::layers::Layer;
use crate::models::functional::graph::Graph;
use crate::models::Functional;
use crate::Result;

impl ToPlotGraph for Functional {
    fn to_plot_graph(&self) -> Result<PlotGraph> {
        graph_plot(&self.graph)
    }
}

/// The plot graph of a model nested as a layer (a Functional graph or a Sequential stack),
/// `None` for other layers.
pub(crate) fn nested_plot(layer: &dyn Layer) -> Result<Option<PlotGraph>> {
    if let Some(g) = layer.as_any().downcast_ref::<Graph>() {
        return graph_plot(g).map(Some);
    }
    if let Some((name, shape, layers)) = crate::models::sequential::stack_parts(layer) {
        return stack_plot(name, shape, &layers).map(Some);
    }
    Ok(None)
}

fn graph_plot(g: &Graph) -> Result<PlotGraph> {
    let mut nodes = Vec::with_capacity(g.layers.len());
    for (i, layer) in g.layers.iter().enumerate() {
        // Keras's `layer.input` / `layer.output` are those of the layer's first call (node 0),
        // also for a shared layer.
        let first = g.nodes.iter().filter(|n| n.layer == i).min_by_key(|n| n.node_index);
        let (input_shapes, output_shapes, dtype) = match first {
            Some(node) => {
                let ins = node.parents().iter().map(|&(p, k)| shape_repr(&g.nodes[p].outputs[k].0)).collect();
                let outs = node.outputs.iter().map(|(s, _)| shape_repr(s)).collect();
                let dtypes: Vec<&str> = node.outputs.iter().map(|(_, d)| d.name()).collect();
                (ins, outs, dtypes_repr(&dtypes))
            }
            None => (Vec::new(), Vec::new(), String::new()),
        };
        nodes.push(PlotNode {
            id: i,
            name: layer.name().to_string(),
            class_name: layer.class_name().to_string(),
            input_shapes,
            output_shapes,
            dtype,
            activation: activation_name(layer.as_ref()),
            trainable: layer.trainable(),
            has_weights: !layer.weights().is_empty(),
            nested: nested_plot(layer.as_ref())?,
        });
    }
    // Keras: for each layer, each of its calls in this model, each tensor the call reads
    // (positional, then keyword), an edge from the layer that made it.
    let mut edges = Vec::new();
    let mut edge_ports = Vec::new();
    for i in 0..g.layers.len() {
        for node in g.nodes.iter().filter(|n| n.layer == i) {
            for (input_index, (p, out_index)) in node.parents().into_iter().enumerate() {
                edges.push((g.nodes[p].layer, i));
                edge_ports.push((out_index, input_index));
            }
        }
    }
    Ok(PlotGraph {
        name: g.base.name.clone(),
        class_name: "Functional".to_string(),
        nodes,
        edges,
        inputs: g.inputs.iter().map(|&n| g.nodes[n].layer).collect(),
        outputs: g.outputs.iter().map(|&(n, _)| g.nodes[n].layer).collect(),
        edge_ports,
    })
}
