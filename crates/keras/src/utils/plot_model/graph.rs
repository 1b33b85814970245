//! The model description that `plot_model` draws ([`PlotGraph`]), and its flattening into the
//! boxes, clusters and box-to-box edges that Keras's `model_to_dot` emits.

use std::collections::{HashMap, HashSet};

use crate::{keras_bail, Result};

/// One layer box.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PlotNode {
    /// Unique within its graph.
    pub id: usize,
    /// Layer name, `"dense_1"`.
    pub name: String,
    /// Layer class, `"Dense"`.
    pub class_name: String,
    /// The shapes of the layer's inputs, each formatted as Keras prints it (`"(None, 32)"`, see
    /// [`shape_repr`]). One shape is shown as is, several as a list (`"[(None, 16), (None, 8)]"`),
    /// none as `"?"`. A layer called several times shows its first call's, as Keras's
    /// `layer.input` does. Not shown for an
    /// `InputLayer`.
    pub input_shapes: Vec<String>,
    /// The shapes of the layer's outputs, as [`input_shapes`](Self::input_shapes).
    pub output_shapes: Vec<String>,
    /// The output dtype as Keras prints it: `"float32"`, or `"['float32', 'int32']"` for several
    /// outputs (see [`dtypes_repr`]); empty is shown as `"?"`.
    pub dtype: String,
    /// The activation's name for `show_layer_activations` (`"relu"`, `"linear"`), `None` when
    /// the layer has no `activation`.
    pub activation: Option<String>,
    /// Whether the layer is trainable.
    pub trainable: bool,
    /// Whether the layer has weights: Keras shows `show_trainable`'s cell only for those.
    pub has_weights: bool,
    /// A model used as a layer: `expand_nested` draws it as a cluster of its own layers.
    pub nested: Option<PlotGraph>,
}

/// A model: its layers and the connections between them.
///
/// Edges go from producer id to consumer id. An edge into or out of a nested model names the
/// nested node's id in the outer graph; the nested graph says which of its nodes are its inputs
/// and outputs, and [`edge_ports`](Self::edge_ports) which of them an edge uses.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PlotGraph {
    /// The model name.
    pub name: String,
    /// `"Functional"`, `"Sequential"`.
    pub class_name: String,
    /// The layers, in the model's order (Keras's `model.layers` for a Sequential model,
    /// `model._operations` for a Functional one); boxes are emitted in this order.
    pub nodes: Vec<PlotNode>,
    /// `(producer id, consumer id)`, one per tensor a layer consumes.
    pub edges: Vec<(usize, usize)>,
    /// Ids of the input nodes (for a Sequential model: its first layer, as Keras draws no
    /// `InputLayer` box for it).
    pub inputs: Vec<usize>,
    /// Ids of the output nodes, one per model output.
    pub outputs: Vec<usize>,
    /// For each edge, `(output index, input index)`: which output of the producer (Keras's
    /// `tensor_index`) and which input of the consumer (the tensor's position in the consumer's
    /// call) it is. They matter only where the producer or consumer is a nested model with
    /// several outputs or inputs: `expand_nested` connects the edge to
    /// `nested.outputs[output index]` and `nested.inputs[input index]`. Empty means output 0,
    /// and the k-th edge into a node is its input k.
    pub edge_ports: Vec<(usize, usize)>,
}

/// A model that `plot_model` can draw.
pub trait ToPlotGraph {
    /// The description of the model's layers and connections.
    ///
    /// # Errors
    ///
    /// A model that is not built yet (Keras: "This model has not yet been built. ...").
    fn to_plot_graph(&self) -> Result<PlotGraph>;
}

impl ToPlotGraph for PlotGraph {
    fn to_plot_graph(&self) -> Result<PlotGraph> {
        Ok(self.clone())
    }
}

/// A shape as Python prints a Keras shape tuple: `(None, 28, 28, 1)`, `(None,)`, `()`.
///
/// ```
/// use keras::utils::plot_model::shape_repr;
///
/// assert_eq!(shape_repr(&[None, Some(32)]), "(None, 32)");
/// assert_eq!(shape_repr(&[None]), "(None,)");
/// ```
pub fn shape_repr(shape: &[Option<usize>]) -> String {
    let dims: Vec<String> = shape.iter().map(|d| d.map_or("None".to_string(), |v| v.to_string())).collect();
    match dims.len() {
        1 => format!("({},)", dims[0]),
        _ => format!("({})", dims.join(", ")),
    }
}

/// Output dtypes as Keras prints them: one as is (`float32`), several as a Python list
/// (`['float32', 'int32']`).
///
/// ```
/// use keras::utils::plot_model::dtypes_repr;
///
/// assert_eq!(dtypes_repr(&["float32"]), "float32");
/// assert_eq!(dtypes_repr(&["float32", "int32"]), "['float32', 'int32']");
/// ```
pub fn dtypes_repr<S: AsRef<str>>(dtypes: &[S]) -> String {
    match dtypes {
        [one] => one.as_ref().to_string(),
        _ => {
            let items: Vec<String> = dtypes.iter().map(|d| format!("'{}'", d.as_ref())).collect();
            format!("[{}]", items.join(", "))
        }
    }
}

impl PlotNode {
    /// A layer box with its id, name and class; the other fields empty (set them as needed).
    ///
    /// ```
    /// use keras::utils::plot_model::PlotNode;
    ///
    /// let node = PlotNode::new(0, "dense", "Dense");
    /// assert_eq!(node.class_name, "Dense");
    /// ```
    pub fn new(id: usize, name: impl Into<String>, class_name: impl Into<String>) -> Self {
        PlotNode {
            id,
            name: name.into(),
            class_name: class_name.into(),
            trainable: true,
            ..PlotNode::default()
        }
    }
}

impl PlotGraph {
    /// An empty graph with a name and class.
    pub fn new(name: impl Into<String>, class_name: impl Into<String>) -> Self {
        PlotGraph { name: name.into(), class_name: class_name.into(), ..PlotGraph::default() }
    }

    /// Checks ids, edges, inputs, outputs and ports, here and in nested graphs.
    pub(crate) fn validate(&self) -> Result<()> {
        let mut ids = HashSet::new();
        for node in &self.nodes {
            if !ids.insert(node.id) {
                keras_bail!(InvalidArgument, "Model '{}': two layers have the id {}.", self.name, node.id);
            }
        }
        let known = |id: usize, what: &str| -> Result<()> {
            if !ids.contains(&id) {
                keras_bail!(
                    InvalidArgument,
                    "Model '{}': {what} names the id {id}, which no layer has.",
                    self.name
                );
            }
            Ok(())
        };
        for &(a, b) in &self.edges {
            known(a, "an edge")?;
            known(b, "an edge")?;
        }
        for &i in &self.inputs {
            known(i, "`inputs`")?;
        }
        for &o in &self.outputs {
            known(o, "`outputs`")?;
        }
        if !self.edge_ports.is_empty() && self.edge_ports.len() != self.edges.len() {
            keras_bail!(
                InvalidArgument,
                "Model '{}': `edge_ports` has {} entries for {} edges.",
                self.name,
                self.edge_ports.len(),
                self.edges.len()
            );
        }
        for node in &self.nodes {
            if let Some(nested) = &node.nested {
                nested.validate()?;
            }
        }
        Ok(())
    }

    fn node(&self, id: usize) -> &PlotNode {
        self.nodes.iter().find(|n| n.id == id).expect("validated id")
    }

    /// `(output index, input index)` of every edge (defaults filled in).
    fn ports(&self) -> Vec<(usize, usize)> {
        if !self.edge_ports.is_empty() {
            return self.edge_ports.clone();
        }
        let mut seen: HashMap<usize, usize> = HashMap::new();
        self.edges
            .iter()
            .map(|&(_, b)| {
                let k = seen.entry(b).or_insert(0);
                *k += 1;
                (0, *k - 1)
            })
            .collect()
    }
}

/// One drawn box.
#[derive(Debug, Clone)]
pub(crate) struct Leaf<'a> {
    pub node: &'a PlotNode,
    /// The cluster holding it (0 = the whole model).
    pub cluster: usize,
}

/// An item of a cluster, in DOT order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Item {
    Leaf(usize),
    Cluster(usize),
}

/// The whole model (cluster 0) or an expanded nested model.
#[derive(Debug, Clone)]
pub(crate) struct Cluster {
    pub name: String,
    pub parent: Option<usize>,
    pub items: Vec<Item>,
}

/// A box-to-box edge, owned by the cluster whose DOT (sub)graph Keras adds it to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Edge {
    pub from: usize,
    pub to: usize,
    pub owner: usize,
}

/// What Keras's `model_to_dot` draws: boxes, clusters and edges between boxes.
#[derive(Debug, Clone)]
pub(crate) struct Flat<'a> {
    pub leaves: Vec<Leaf<'a>>,
    pub clusters: Vec<Cluster>,
    pub edges: Vec<Edge>,
}

impl<'a> Flat<'a> {
    /// Flattens a validated graph, expanding nested models into clusters when asked, and
    /// resolving edges into and out of them as Keras does.
    pub(crate) fn new(graph: &'a PlotGraph, expand_nested: bool) -> Result<Flat<'a>> {
        let mut flat = Flat {
            leaves: Vec::new(),
            clusters: vec![Cluster { name: graph.name.clone(), parent: None, items: Vec::new() }],
            edges: Vec::new(),
        };
        flat.add_graph(graph, 0, expand_nested)?;
        Ok(flat)
    }

    /// Adds the boxes of `graph` to cluster `cluster`, then its edges; returns the box or
    /// cluster of each node id.
    fn add_graph(
        &mut self,
        graph: &'a PlotGraph,
        cluster: usize,
        expand: bool,
    ) -> Result<HashMap<usize, Slot<'a>>> {
        let mut slots = HashMap::new();
        for node in &graph.nodes {
            match (&node.nested, expand) {
                (Some(nested), true) => {
                    let c = self.clusters.len();
                    self.clusters.push(Cluster {
                        name: nested.name.clone(),
                        parent: Some(cluster),
                        items: Vec::new(),
                    });
                    self.clusters[cluster].items.push(Item::Cluster(c));
                    let inner = self.add_graph(nested, c, expand)?;
                    slots.insert(node.id, Slot::Nested(nested, inner));
                }
                _ => {
                    let l = self.leaves.len();
                    self.leaves.push(Leaf { node, cluster });
                    self.clusters[cluster].items.push(Item::Leaf(l));
                    slots.insert(node.id, Slot::Leaf(l));
                }
            }
        }
        // Keras walks the layers in order and, for each, the tensors it consumes.
        let ports = graph.ports();
        let mut added = HashSet::new();
        for node in &graph.nodes {
            for (k, &(a, b)) in graph.edges.iter().enumerate() {
                if b != node.id {
                    continue;
                }
                let (out_index, in_index) = ports[k];
                let from = resolve_source(&slots[&a], out_index, graph.node(a))?;
                let to = resolve_destination(&slots[&b], in_index, graph.node(b))?;
                if added.insert((from, to)) {
                    self.edges.push(Edge { from, to, owner: cluster });
                }
            }
        }
        Ok(slots)
    }
}

/// Where a node of some graph ended up.
#[derive(Debug, Clone)]
enum Slot<'a> {
    Leaf(usize),
    Nested(&'a PlotGraph, HashMap<usize, Slot<'a>>),
}

/// The box producing output `out_index` of a node (Keras: follow `model.outputs[i]` into
/// nested models until a real layer).
fn resolve_source(slot: &Slot<'_>, out_index: usize, node: &PlotNode) -> Result<usize> {
    match slot {
        Slot::Leaf(l) => Ok(*l),
        Slot::Nested(graph, inner) => {
            let Some(&id) = graph.outputs.get(out_index) else {
                keras_bail!(
                    InvalidArgument,
                    "Nested model '{}' has {} outputs; an edge uses its output {out_index}.",
                    node.name,
                    graph.outputs.len()
                );
            };
            // The tensor index inside a nested model is not recorded: its output 0.
            resolve_source(&inner[&id], 0, graph.node(id))
        }
    }
}

/// The box consuming input `in_index` of a node (Keras: a nested Functional model's
/// `inputs[i]`, a nested Sequential model's first layer).
fn resolve_destination(slot: &Slot<'_>, in_index: usize, node: &PlotNode) -> Result<usize> {
    match slot {
        Slot::Leaf(l) => Ok(*l),
        Slot::Nested(graph, inner) => {
            let id = match graph.inputs.get(in_index) {
                Some(&id) => id,
                None if graph.inputs.len() == 1 => graph.inputs[0],
                None => keras_bail!(
                    InvalidArgument,
                    "Nested model '{}' has {} inputs; an edge uses its input {in_index}.",
                    node.name,
                    graph.inputs.len()
                ),
            };
            resolve_destination(&inner[&id], in_index, graph.node(id))
        }
    }
}
