//! The Functional API (Keras `keras.Model(inputs, outputs)`, class `Functional`): symbolic
//! tensors from [`Input`], layers called on them record a graph, and a [`Functional`] model
//! runs that graph. Layers may be shared between nodes, models nest as layers, and a node may
//! take a list of tensors (merging layers) or return several.
//!
//! Submodules:
//! - `as_layer`: A Functional model used as a layer of another model (Keras
//! - `config`: Functional configs
//! - `graph`: The graph runtime
//! - `inference_fusion`: Conv + BatchNormalization + activation chains fused into one op at inference
//! - `ops`: Keras operations recorded as graph nodes (`keras.ops.not_equal(x, 0)` or `x + 3.0` on a symbolic tensor becomes a `NotEqual` or `Add` node of module `keras.src.ops.numpy`)
//! - `replica`: Symbolic copies of a built model's graph, for `model.input()`, `model.outputs()` and `model.get_layer(name)?.output()`
//! - `summary`: `model.summary()` for Functional models
//! - `symbolic`: Symbolic tensors (Keras `KerasTensor`) and the nodes that calling a layer on them records

mod as_layer;
pub(crate) mod config;
pub(crate) mod graph;
mod inference_fusion;
pub(crate) mod ops;
pub(crate) mod replica;
pub(crate) mod summary;
pub mod symbolic;

use serde_json::Value;

use crate::layers::{CallContext, Layer, Shape, Variable};
use crate::trainers::train_model::train_model_impl;
use crate::trainers::{self, trainer, Arrays, Compiled, Network, PredictArgs};
use crate::{keras_bail, Error, Result, Tensor};
use graph::Graph;
pub use symbolic::{Input, KerasTensor, SharedLayer, SymbolicCall};

/// Calling a model on symbolic tensors nests it as a layer (Keras `model(x)`); its compile
/// state is dropped, as Keras ignores a nested model's.
impl SymbolicCall for Functional {
    fn into_shared(self) -> SharedLayer {
        SharedLayer::from_boxed(Box::new(self.graph))
    }
}

/// A model made of a graph of layers (Keras `keras.Model(inputs, outputs)`, saved with class
/// name `Functional`).
///
/// ```
/// use keras::layers::{Dense, Dropout};
/// use keras::models::{Model, SymbolicCall};
/// use keras::{Input, Tensor};
///
/// let inputs = Input::named(&[16], "features");
/// let h = Dense::new(8).activation("relu").apply(&inputs)?;
/// let h = Dropout::new(0.1).apply(&h)?;
/// let outputs = Dense::new(1).activation("sigmoid").name("score").apply(&h)?;
/// let model = Model::new(&[inputs], &[outputs])?;
/// assert_eq!(model.layers().len(), 4); // the input layer counts, as in Keras
///
/// // A feature extractor over the same weights' values: one line.
/// let features = Model::new(&[model.input()?], &[model.get_layer("dense")?.output()?])?;
/// let x = Tensor::ones(vec![2, 16]);
/// assert_eq!(features.predict_on_batch(&[x])?[0].shape(), &[2, 8]);
/// # Ok::<(), keras::Error>(())
/// ```
pub struct Functional {
    pub(crate) graph: Graph,
    compiled: Option<Compiled>,
}

/// `keras.Model`: building a model from inputs and outputs gives a [`Functional`] model.
pub type Model = Functional;

impl std::fmt::Debug for Functional {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let layers: Vec<String> =
            self.graph.layers.iter().map(|l| format!("{} ({})", l.name(), l.class_name())).collect();
        f.debug_struct("Functional")
            .field("name", &self.graph.base.name)
            .field("inputs", &self.graph.input_shapes())
            .field("outputs", &self.graph.output_shapes())
            .field("layers", &layers)
            .field("compiled", &self.compiled.is_some())
            .finish()
    }
}

/// A layer of a Functional model, with its place in the graph (Keras's layer object seen
/// from a model: `layer.input`, `layer.output`).
pub struct ModelLayer<'a> {
    model: &'a Functional,
    index: usize,
}

impl<'a> ModelLayer<'a> {
    /// The layer.
    pub fn layer(&self) -> &'a dyn Layer {
        self.model.graph.layers[self.index].as_ref()
    }

    /// The output of the layer's first call (Keras `layer.output`), as a symbolic tensor to
    /// build a new model from (over copies of this model's layers and weights).
    pub fn output(&self) -> Result<KerasTensor> {
        self.single("output", false)
    }

    /// The input of the layer's first call (Keras `layer.input`).
    pub fn input(&self) -> Result<KerasTensor> {
        self.single("input", true)
    }

    /// The names of the layers whose outputs the layer's first call reads, in argument order
    /// (Keras `layer._inbound_nodes[0].parent_nodes`, as "Connected to" shows them). Empty for
    /// an input layer.
    pub fn inbound_layers(&self) -> Vec<String> {
        let g = &self.model.graph;
        let Some(node) = g.nodes.iter().filter(|n| n.layer == self.index).min_by_key(|n| n.node_index) else {
            return Vec::new();
        };
        node.parents().iter().map(|&(p, _)| g.layers[g.nodes[p].layer].name().to_string()).collect()
    }

    /// The output shapes of the layer's first call, batch dimension included.
    pub fn output_shapes(&self) -> Vec<Shape> {
        let g = &self.model.graph;
        g.nodes
            .iter()
            .filter(|n| n.layer == self.index)
            .min_by_key(|n| n.node_index)
            .map(|n| n.outputs.iter().map(|(s, _)| s.clone()).collect())
            .unwrap_or_default()
    }

    /// Every output of the layer's call number `node_index` (Keras `get_output_at`).
    pub fn outputs_at(&self, node_index: usize) -> Result<Vec<KerasTensor>> {
        let r = replica::Replica::of(self.model)?;
        let pos = self.node_pos(node_index)?;
        Ok(r.tensors[pos].clone())
    }

    fn node_pos(&self, node_index: usize) -> Result<usize> {
        self.model
            .graph
            .nodes
            .iter()
            .position(|n| n.layer == self.index && n.node_index == node_index)
            .ok_or_else(|| {
                Error::InvalidArgument(format!(
                    "Layer \"{}\" has no call number {node_index} in model \"{}\"",
                    self.layer().name(),
                    self.model.name()
                ))
            })
    }

    fn single(&self, what: &str, input: bool) -> Result<KerasTensor> {
        let g = &self.model.graph;
        let calls = g.nodes.iter().filter(|n| n.layer == self.index).count();
        if calls > 1 {
            keras_bail!(
                InvalidArgument,
                "The layer \"{}\" has multiple inbound nodes, with different {what} shapes. Hence the notion of \
                 \"layer {what}\" is ill-defined. Use `outputs_at(node_index)` instead.",
                self.layer().name()
            );
        }
        let pos = self.node_pos(0)?;
        let node = &g.nodes[pos];
        let r = replica::Replica::of(self.model)?;
        let list = if input && !node.inputs.is_empty() {
            node.inputs.iter().map(|&(p, i)| r.tensors[p][i].clone()).collect::<Vec<_>>()
        } else {
            r.tensors[pos].clone()
        };
        if list.len() != 1 {
            keras_bail!(
                InvalidArgument,
                "Layer \"{}\" has {} {what}s; use `outputs_at` to get them all",
                self.layer().name(),
                list.len()
            );
        }
        Ok(list.into_iter().next().expect("one"))
    }
}

impl std::ops::Deref for ModelLayer<'_> {
    type Target = dyn Layer;
    fn deref(&self) -> &Self::Target {
        self.model.graph.layers[self.index].as_ref()
    }
}

impl Functional {
    /// A model from symbolic inputs to outputs (Keras `keras.Model(inputs, outputs)`), named
    /// `functional`, `functional_1`, ... The layers between them move into the model. Fails,
    /// leaving every layer where it was, when an output does not depend on an input, the
    /// graph needs a tensor that is not among the inputs, or two layers share a name.
    ///
    /// ```
    /// use keras::layers::Dense;
    /// use keras::models::{Model, SymbolicCall};
    /// use keras::{Input, Tensor};
    ///
    /// let (a, b) = (Input::named(&[3], "a"), Input::named(&[2], "b"));
    /// let ya = Dense::new(1).name("from_a").apply(&a)?;
    /// let yb = Dense::new(4).name("from_b").apply(&b)?;
    /// let model = Model::new(&[a.clone(), b.clone()], &[ya.clone(), yb])?;
    /// assert_eq!(model.output_names(), ["from_a", "from_b"]);
    /// let ys = model.predict_on_batch(&[Tensor::ones(vec![5, 3]), Tensor::ones(vec![5, 2])])?;
    /// assert_eq!((ys[0].shape(), ys[1].shape()), (&[5, 1][..], &[5, 4][..]));
    /// // An input no output depends on is an error.
    /// let c = Input::new(&[1]);
    /// assert!(Model::new(&[Input::new(&[3]), c], &[Dense::new(1).apply(&Input::new(&[3]))?]).is_err());
    /// # Ok::<(), keras::Error>(())
    /// ```
    pub fn new(inputs: &[KerasTensor], outputs: &[KerasTensor]) -> Result<Functional> {
        Self::named(&crate::backend::unique_name("functional"), inputs, outputs)
    }

    /// [`Functional::new`] with a model name.
    pub fn named(name: &str, inputs: &[KerasTensor], outputs: &[KerasTensor]) -> Result<Functional> {
        Ok(Self::from_graph(Graph::from_symbolic(name, inputs, outputs)?))
    }

    /// The graph equivalent of a built Sequential model (Keras's Sequential is a Functional
    /// model over its layers): same name, layers, weights and compile state.
    pub fn from_sequential(seq: crate::models::Sequential) -> Result<Functional> {
        if !seq.built() {
            keras_bail!(
                State,
                "Sequential model '{}' has no input shape: build it before turning it into a graph",
                seq.name()
            );
        }
        let (name, input, layers, compiled) = seq.into_parts();
        let input = input.ok_or_else(|| Error::State(format!("Sequential model '{name}' has no input")))?;
        let x = Input::from_layer(input);
        let mut h = x.clone();
        for l in layers {
            h = SharedLayer::from_boxed(l).apply(&h)?;
        }
        let mut f = Functional::named(&name, &[x], &[h])?;
        f.compiled = compiled;
        Ok(f)
    }

    /// The model as a layer of another model (its compile state is dropped).
    pub fn into_layer(self) -> Box<dyn Layer> {
        Box::new(self.graph)
    }

    pub(crate) fn from_graph(graph: Graph) -> Functional {
        Functional { graph, compiled: None }
    }

    /// The model name.
    pub fn name(&self) -> &str {
        &self.graph.base.name
    }

    /// The layers in Keras's `model.layers` order (input layers included; operations such as
    /// `NotEqual` left out).
    pub fn layers(&self) -> Vec<&dyn Layer> {
        (0..self.graph.layers.len())
            .filter(|&i| !self.graph.is_op(i))
            .map(|i| self.graph.layers[i].as_ref())
            .collect()
    }

    /// A layer by name, with its place in the graph (`get_layer(name)?.output()`).
    pub fn get_layer(&self, name: &str) -> Result<ModelLayer<'_>> {
        match self.graph.layers.iter().position(|l| l.name() == name) {
            Some(index) => Ok(ModelLayer { model: self, index }),
            None => Err(self.no_such_layer(name)),
        }
    }

    /// A layer by name, mutable (to freeze it or set its weights).
    pub fn get_layer_mut(&mut self, name: &str) -> Result<&mut Box<dyn Layer>> {
        match self.graph.layers.iter().position(|l| l.name() == name) {
            Some(i) => Ok(&mut self.graph.layers[i]),
            None => Err(self.no_such_layer(name)),
        }
    }

    fn no_such_layer(&self, name: &str) -> Error {
        let names: Vec<&str> = self.layers().iter().map(|l| l.name()).collect();
        Error::InvalidArgument(format!("No such layer: {name}. Existing layers are: {names:?}."))
    }

    /// The symbolic inputs (Keras `model.inputs`), to build new models over copies of this
    /// model's layers.
    pub fn inputs(&self) -> Result<Vec<KerasTensor>> {
        let r = replica::Replica::of(self)?;
        Ok(self.graph.inputs.iter().map(|&p| r.tensors[p][0].clone()).collect())
    }

    /// The symbolic outputs (Keras `model.outputs`).
    pub fn outputs(&self) -> Result<Vec<KerasTensor>> {
        let r = replica::Replica::of(self)?;
        Ok(self.graph.outputs.iter().map(|&(p, i)| r.tensors[p][i].clone()).collect())
    }

    /// The single input (Keras `model.input`); an error when the model has several.
    pub fn input(&self) -> Result<KerasTensor> {
        let mut v = self.inputs()?;
        if v.len() != 1 {
            keras_bail!(InvalidArgument, "Model \"{}\" has {} inputs; use `inputs()`", self.name(), v.len());
        }
        Ok(v.remove(0))
    }

    /// The single output (Keras `model.output`); an error when the model has several.
    pub fn output(&self) -> Result<KerasTensor> {
        let mut v = self.outputs()?;
        if v.len() != 1 {
            keras_bail!(
                InvalidArgument,
                "Model \"{}\" has {} outputs; use `outputs()`",
                self.name(),
                v.len()
            );
        }
        Ok(v.remove(0))
    }

    /// The input names (the input layers' names), in input order.
    pub fn input_names(&self) -> Vec<String> {
        Network::input_names(&self.graph)
    }

    /// The output names (the names of the layers making them), in output order.
    pub fn output_names(&self) -> Vec<String> {
        Network::output_names(&self.graph)
    }

    /// The batch shapes of the inputs.
    pub fn input_shapes(&self) -> Vec<Shape> {
        self.graph.input_shapes()
    }

    /// The batch shapes of the outputs.
    pub fn output_shapes(&self) -> Vec<Shape> {
        self.graph.output_shapes()
    }

    /// Every weight in `model.weights` order (a shared layer's weights once).
    pub fn weights(&self) -> Vec<&Variable> {
        self.graph.weights()
    }

    /// The weights the optimizer trains (Keras `model.trainable_weights`).
    pub fn trainable_weights(&self) -> Vec<&Variable> {
        let mut flags = Vec::new();
        for l in &self.graph.layers {
            graph::trainable_flags(l.as_ref(), self.graph.base.trainable, &mut flags);
        }
        self.weights().into_iter().zip(flags).filter(|(_, t)| *t).map(|(w, _)| w).collect()
    }

    /// Number of scalars in all weights.
    pub fn count_params(&self) -> usize {
        self.weights().iter().map(|w| w.value().numel()).sum()
    }

    /// Copies of every weight value (Keras `get_weights`).
    pub fn get_weights(&self) -> Vec<Tensor> {
        self.weights().iter().map(|w| w.value().detach()).collect()
    }

    /// Sets every weight in order (Keras `set_weights`), checking count and shapes first.
    pub fn set_weights(&mut self, values: &[Tensor]) -> Result<()> {
        let name = self.name().to_string();
        let mut vars = self.graph.variables_mut();
        if vars.len() != values.len() {
            keras_bail!(
                Value,
                "You called `set_weights(weights)` on model {name} with a weight list of length {}, but the model was expecting {} weights.",
                values.len(),
                vars.len()
            );
        }
        for ((v, _), t) in vars.iter().zip(values) {
            if v.shape() != t.shape() {
                keras_bail!(
                    Shape,
                    "Variable {} has shape {:?}, received a value of shape {:?}",
                    v.path(),
                    v.shape(),
                    t.shape()
                );
            }
        }
        for ((v, _), t) in vars.iter_mut().zip(values) {
            v.assign(t)?;
        }
        Ok(())
    }

    /// Whether the model's weights are trained (Keras `model.trainable`).
    pub fn trainable(&self) -> bool {
        self.graph.base.trainable
    }

    /// Freezes or unfreezes the model and every layer in it (Keras `model.trainable = ...`).
    /// A frozen BatchNormalization normalizes with its moving statistics, even in `fit`.
    pub fn set_trainable(&mut self, trainable: bool) {
        Layer::set_trainable(&mut self.graph, trainable);
    }

    /// The weight-regularization penalties of the trainable layers (Keras `model.losses`).
    pub fn losses(&self) -> Result<Vec<Tensor>> {
        Layer::regularization_losses(&self.graph)
    }

    /// The forward pass over the graph (Keras `model(xs, training=...)` inside a step): one
    /// tensor per input in, one per output out.
    pub fn call_graph(&self, xs: &[Tensor], ctx: &mut CallContext) -> Result<Vec<Tensor>> {
        Ok(self.graph.run(xs, &[], ctx)?.0)
    }

    /// Calls the model on arrays (Keras `model(xs, training=...)`), checking their shapes.
    pub fn call(&self, xs: &[Tensor], training: bool) -> Result<Vec<Tensor>> {
        self.graph.check_inputs(xs)?;
        let mut ctx = CallContext::new(training);
        self.call_graph(xs, &mut ctx)
    }

    /// Outputs for one batch (Keras `predict_on_batch`).
    pub fn predict_on_batch(&self, xs: &[Tensor]) -> Result<Vec<Tensor>> {
        self.graph.check_inputs(xs)?;
        let mut ctx = CallContext::new(false);
        Ok(self.call_graph(xs, &mut ctx)?.into_iter().map(|t| t.detach()).collect())
    }

    /// Outputs for every sample, computed in batches (Keras `model.predict`): `x` is one
    /// array, a list in input order or a map keyed by input name; one array per output
    /// comes back, in output order.
    pub fn predict(&self, x: impl Into<Arrays>, args: PredictArgs) -> Result<Vec<Tensor>> {
        let xs = self.ordered_inputs(x.into())?;
        self.graph.check_inputs(&xs)?;
        trainer::predict(self, Arrays::List(xs), args)
    }

    /// The input arrays in input order (from one array, a list or a map by input name).
    fn ordered_inputs(&self, x: Arrays) -> Result<Vec<Tensor>> {
        let names = Network::input_names(&self.graph);
        trainers::arrays::inputs_in_order(x, &names, self.name())
    }

    crate::models::training_methods! {
        /// Configures training (Keras `model.compile`), as [`crate::models::Sequential::compile`].
        compile,
        /// [`Functional::compile`] with metric objects.
        compile_with,
        /// Configures training with everything Keras's `compile` takes: a loss, loss weight and
        /// metrics per output, as lists or maps by output name ([`CompileArgs`](crate::trainers::CompileArgs)).
        compile_args,
        /// The compile state, once compiled.
        compile_state,
        /// The compile state, mutable.
        compile_state_mut,
        /// Trains the model (Keras `model.fit`): `x` and `y` are one array, a list in input
        /// (output) order, or a map keyed by input (output) name.
        fit,
        /// Loss and metrics on the data (Keras `model.evaluate(..., return_dict=True)`).
        evaluate,
        /// One gradient step on one batch (Keras `train_on_batch(..., return_dict=True)`).
        train_on_batch(Arrays),
        /// Loss and metrics of one batch (Keras `test_on_batch(..., return_dict=True)`).
        test_on_batch(Arrays),
    }

    /// Forgets the compile state (a loader whose compile config failed half-way).
    pub(crate) fn clear_compile_state(&mut self) {
        self.compiled = None;
    }

    /// The Keras config (`model.get_config()`).
    pub fn get_config(&self) -> Value {
        config::get_config(&self.graph)
    }

    /// Rebuilds a model (architecture, fresh weights) from `get_config()` output, Keras 3's or
    /// tf.keras 2.x's. Unknown layer classes are refused.
    pub fn from_config(cfg: &Value) -> Result<Functional> {
        config::from_config_with(cfg, &mut |_, _| Ok(()))
    }

    /// Builds the optimizer's slots for the trainable weights, so saved state can load.
    pub(crate) fn build_optimizer(&mut self) -> Result<()> {
        let vars: Vec<Variable> = self.trainable_weights().into_iter().cloned().collect();
        let refs: Vec<&Variable> = vars.iter().collect();
        if let Some(c) = self.compiled.as_mut() {
            c.optimizer.build(&refs)?;
        }
        Ok(())
    }

    /// Assigns `(index into weights(), value)` pairs (loaders check everything first).
    pub(crate) fn assign_weights(&mut self, values: Vec<(usize, Tensor)>) -> Result<()> {
        crate::models::assign_weights_by_index(self.graph.variables_mut(), values)
    }

    /// The summary table Keras prints (`model.summary()`), as a string; an error when
    /// `line_length` is too narrow for the columns.
    pub fn summary_string(&self, line_length: Option<usize>, show_trainable: bool) -> Result<String> {
        summary::render(self, line_length, show_trainable)
    }

    /// Prints the summary table (Keras `model.summary()`).
    pub fn summary(&self) {
        // The default width always fits the columns.
        match self.summary_string(None, false) {
            Ok(s) => print!("{s}"),
            Err(e) => eprintln!("{e}"),
        }
    }

    /// Saves the model (Keras `model.save`): `.keras` or legacy `.h5` / `.hdf5`. Atomic.
    pub fn save(&self, path: impl AsRef<std::path::Path>) -> Result<()> {
        crate::saving::functional::save_model(self, path.as_ref())
    }

    /// Saves the weights in Keras 3's `.weights.h5` layout (Keras `model.save_weights`).
    pub fn save_weights(&self, path: impl AsRef<std::path::Path>) -> Result<()> {
        crate::saving::functional::save_weights(self, path.as_ref())
    }

    /// Loads weights (Keras `model.load_weights`) from `.weights.h5`, `.keras` or legacy `.h5`.
    /// Nothing is assigned on error.
    pub fn load_weights(&mut self, path: impl AsRef<std::path::Path>) -> Result<()> {
        crate::saving::functional::load_weights(self, path.as_ref())
    }

    /// Loads a Functional model saved by Keras or keras-rs (`.keras` or legacy `.h5`). A file
    /// holding a Sequential model loads too, as the equivalent graph.
    pub fn load(path: impl AsRef<std::path::Path>) -> Result<Functional> {
        crate::saving::functional::load_model(path.as_ref(), true)
    }
}

impl Network for Graph {
    fn name(&self) -> &str {
        &self.base.name
    }

    fn before_training_step(&mut self) -> Result<()> {
        self.layers.iter_mut().try_for_each(|l| l.before_training_step())
    }

    fn input_names(&self) -> Vec<String> {
        (0..self.inputs.len()).map(|i| self.input_layer(i).name().to_string()).collect()
    }

    fn output_names(&self) -> Vec<String> {
        self.outputs.iter().map(|&(p, _)| self.layers[self.nodes[p].layer].name().to_string()).collect()
    }

    fn prepare(&mut self, xs: &[Tensor]) -> Result<()> {
        self.check_inputs(xs)
    }

    fn forward(&self, xs: &[Tensor], ctx: &mut CallContext) -> Result<Vec<Tensor>> {
        Ok(self.run(xs, &[], ctx)?.0)
    }

    fn variables_mut(&mut self) -> Vec<(&mut Variable, bool)> {
        Graph::variables_mut(self)
    }

    fn regularization_loss(&self) -> Result<Option<Tensor>> {
        let mut total: Option<Tensor> = None;
        for l in &self.layers {
            if !self.base.trainable {
                break;
            }
            for t in l.regularization_losses()? {
                total = Some(match total {
                    None => t,
                    Some(s) => keras_engine::ops::add(&s, &t)?,
                });
            }
        }
        Ok(total)
    }
}

train_model_impl! {
    impl Functional {
        net: graph,
        forward: [get_config, save],
    }
}

/// Whether a layer is a model (Functional or Sequential), whose own layers carry trainable
/// flags of their own.
pub(crate) fn is_model_layer(layer: &dyn Layer) -> bool {
    layer.as_any().is::<Graph>() || crate::models::sequential::is_stack(layer)
}

/// Whether a serialized model is a Functional one (`Functional`, or tf.keras's `Model`).
pub(crate) fn is_functional_class(class: &str) -> bool {
    matches!(class, "Functional" | "Model")
}
