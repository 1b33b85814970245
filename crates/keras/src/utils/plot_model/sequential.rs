//! [`ToPlotGraph`] for [`Sequential`]: a chain of its layers, as Keras draws it (no box for
//! the input layer).

use serde_json::Value;

use super::graph::{shape_repr, PlotGraph, PlotNode, ToPlotGraph};
use crate::layers::{Layer, Shape};
use crate::models::Sequential;
use crate::{keras_bail, Result};

/// The activation Keras's `show_layer_activations` shows: the layer's `activation` (the
/// config's `"activation"` entry; layers without one have none).
pub(crate) fn activation_name(layer: &dyn Layer) -> Option<String> {
    match layer.get_config().get("activation")? {
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => o
            .get("config")
            .and_then(|c| c.get("name"))
            .or_else(|| o.get("class_name"))
            .and_then(Value::as_str)
            .map(str::to_string),
        _ => None,
    }
}

impl ToPlotGraph for Sequential {
    fn to_plot_graph(&self) -> Result<PlotGraph> {
        let layers: Vec<&dyn Layer> = self.layers().iter().map(|l| l.as_ref()).collect();
        stack_plot(self.name(), self.input_shape().filter(|_| self.built()), &layers)
    }
}

/// The chain of a Sequential model's layers from its input shape (`None`: not built).
pub(crate) fn stack_plot(name: &str, input_shape: Option<Shape>, layers: &[&dyn Layer]) -> Result<PlotGraph> {
    let Some(mut shape) = input_shape else {
        keras_bail!(
            State,
            "This model has not yet been built. Build the model first by calling `build()` or by calling \
             the model on a batch of data."
        );
    };
    let mut nodes = Vec::with_capacity(layers.len());
    for (i, &layer) in layers.iter().enumerate() {
        let output = layer.compute_output_shape(&shape)?;
        nodes.push(PlotNode {
            id: i,
            name: layer.name().to_string(),
            class_name: layer.class_name().to_string(),
            input_shapes: vec![shape_repr(&shape)],
            output_shapes: vec![shape_repr(&output)],
            dtype: "float32".to_string(),
            activation: activation_name(layer),
            trainable: layer.trainable(),
            has_weights: !layer.weights().is_empty(),
            nested: super::functional::nested_plot(layer)?,
        });
        shape = output;
    }
    let n = nodes.len();
    Ok(PlotGraph {
        name: name.to_string(),
        class_name: "Sequential".to_string(),
        nodes,
        edges: (1..n).map(|i| (i - 1, i)).collect(),
        inputs: if n > 0 { vec![0] } else { Vec::new() },
        outputs: if n > 0 { vec![n - 1] } else { Vec::new() },
        edge_ports: vec![(0, 0); n.saturating_sub(1)],
    })
}
