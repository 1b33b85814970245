//! `model.summary()` for Functional models: Keras's rows (every operation of the graph), the
//! "Connected to" column unless the graph is a plain chain, and the parameter totals.

use super::Functional;
use crate::layers::{Layer, Variable};
use crate::trainers::Compiled;
use crate::utils::summary::{
    format_shape, render_summary, SummaryArgs, SummaryBytes, SummaryRow, SummaryTotals,
};
use crate::{DType, Tensor};

/// Keras's `sequential_like`: one node per depth, each with at most one input tensor, and
/// no layer called twice.
fn sequential_like(f: &Functional) -> bool {
    let g = &f.graph;
    let mut seen = vec![false; g.layers.len()];
    for n in &g.nodes {
        if n.parents().len() > 1 || seen[n.layer] {
            return false;
        }
        seen[n.layer] = true;
    }
    // One node per depth: in a chain every node but the first reads the previous one.
    g.inputs.len() == 1
        && g.nodes.iter().enumerate().skip(1).all(|(p, n)| n.inputs.first().is_some_and(|r| r.0 + 1 == p))
}

/// Keras `format_layer_shape`: the output shapes of the layer's last call.
fn layer_shape(f: &Functional, layer: usize) -> String {
    let g = &f.graph;
    let Some(node) = g.nodes.iter().filter(|n| n.layer == layer).max_by_key(|n| n.node_index) else {
        return "?".into();
    };
    let shapes: Vec<String> = node.outputs.iter().map(|(s, _)| format_shape(s)).collect();
    if shapes.len() == 1 {
        shapes.into_iter().next().expect("one")
    } else {
        format!("[{}]", shapes.join(", "))
    }
}

/// Keras `get_connections`: `layer[node][tensor]` of every tensor each call reads.
fn connections(f: &Functional, layer: usize) -> Vec<String> {
    let g = &f.graph;
    let mut calls: Vec<&super::graph::GraphNode> = g.nodes.iter().filter(|n| n.layer == layer).collect();
    calls.sort_by_key(|n| n.node_index);
    let mut out = Vec::new();
    for n in calls {
        for (p, i) in n.parents() {
            let src = &g.nodes[p];
            out.push(format!("{}[{}][{i}]", g.layers[src.layer].name(), src.node_index));
        }
    }
    out
}

/// Keras `weight_memory_size` of one variable: its size from its dtype (an int64 `count`
/// takes 8 bytes).
fn bytes_of(t: &Tensor) -> usize {
    t.numel() * if t.dtype() == DType::I64 { 8 } else { 4 }
}

/// A layer's summary row: its name, class, `output_shape` (formatted), parameters,
/// trainable flag (none for a layer without weights) and the calls it reads.
pub(crate) fn layer_row(l: &dyn Layer, output_shape: String, connected_to: Vec<String>) -> SummaryRow {
    SummaryRow {
        name: l.name().to_string(),
        class_name: l.class_name().to_string(),
        output_shape,
        params: l.count_params(),
        trainable: if l.weights().is_empty() { None } else { Some(l.trainable()) },
        connected_to,
    }
}

/// A model's summary totals from its `weights` and `trainable_weights`: the parameter counts
/// and bytes, and the optimizer's variables once it has any of its own (Keras counts them
/// after the first step or once it holds more than its iteration counter and learning rate).
pub(crate) fn model_totals(
    weights: &[&Variable],
    trainable_weights: &[&Variable],
    compiled: Option<&Compiled>,
) -> SummaryTotals {
    let total: usize = weights.iter().map(|w| w.value().numel()).sum();
    let trainable: usize = trainable_weights.iter().map(|w| w.value().numel()).sum();
    let all_bytes: usize = weights.iter().map(|w| bytes_of(w.value())).sum();
    let trainable_bytes: usize = trainable_weights.iter().map(|w| bytes_of(w.value())).sum();
    let opt_vars = compiled.and_then(|c| {
        let vars = c.optimizer.variables();
        (c.optimizer.iterations() > 0 || vars.len() > 2).then_some(vars)
    });
    let optimizer = opt_vars.as_ref().map(|v| v.iter().map(|(_, t)| t.numel()).sum());
    let bytes = SummaryBytes {
        trainable: trainable_bytes,
        non_trainable: all_bytes - trainable_bytes,
        optimizer: opt_vars.as_ref().map_or(0, |v| v.iter().map(|(_, t)| bytes_of(t)).sum()),
    };
    SummaryTotals { trainable, non_trainable: total - trainable, optimizer, bytes: Some(bytes) }
}

/// The summary text.
pub(crate) fn render(
    f: &Functional,
    line_length: Option<usize>,
    show_trainable: bool,
) -> crate::Result<String> {
    let functional = !sequential_like(f);
    let rows: Vec<SummaryRow> = f
        .graph
        .layers
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let connected_to = if functional { connections(f, i) } else { Vec::new() };
            layer_row(l.as_ref(), layer_shape(f, i), connected_to)
        })
        .collect();
    let totals = model_totals(&f.weights(), &f.trainable_weights(), f.compile_state());
    let opts = SummaryArgs { line_length, show_trainable, functional };
    render_summary(f.name(), &rows, &totals, &opts)
}
