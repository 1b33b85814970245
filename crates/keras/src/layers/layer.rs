//! The [`Layer`] trait, weights as [`Variable`]s, and the state every layer shares.

use std::any::Any;

use serde_json::{json, Map, Value};

pub use super::sublayers::Sublayer;
use super::sublayers::{keras_own_order, weights_with_trainable};
use crate::constraints::Constraint;
use crate::layers::call_kwargs::{with_training, CallKwargs, ShapeKwargs};
use crate::regularizers::Regularizer;
use crate::{keras_bail, Error, Result, Tensor};

/// A shape with an unknown batch dimension: `[None, 28, 28, 1]`.
pub type Shape = Vec<Option<usize>>;

/// A layer weight: a named tensor with its Keras path (`dense/kernel`).
#[derive(Clone, Debug)]
pub struct Variable {
    name: String,
    path: String,
    value: Tensor,
    trainable: bool,
    regularizer: Option<Regularizer>,
    constraint: Option<Constraint>,
}

impl Variable {
    /// A variable. Trainable ones are tape leaves, so gradients flow to them.
    pub fn new(name: &str, layer_name: &str, value: Tensor, trainable: bool) -> Self {
        let value = if trainable { value.requiring_grad() } else { value };
        Variable {
            name: name.to_string(),
            path: format!("{layer_name}/{name}"),
            value,
            trainable,
            regularizer: None,
            constraint: None,
        }
    }

    crate::setters::setters! {
        /// Attaches a regularizer whose penalty joins the training loss (Keras `add_weight(regularizer=...)`).
        with_regularizer(regularizer): Option<Regularizer>,
        /// Attaches a constraint applied after each optimizer update (Keras `add_weight(constraint=...)`).
        with_constraint(constraint): Option<Constraint>,
    }

    /// The regularizer, if any.
    pub fn regularizer(&self) -> Option<&Regularizer> {
        self.regularizer.as_ref()
    }

    /// The constraint, if any.
    pub fn constraint(&self) -> Option<&Constraint> {
        self.constraint.as_ref()
    }

    /// The regularizer's penalty of the current value (differentiable), if there is one.
    pub fn regularization_loss(&self) -> Result<Option<Tensor>> {
        self.regularizer.as_ref().map(|r| r.call(&self.value)).transpose()
    }

    /// Assigns `constraint(value)` when the variable has a constraint (what Keras's optimizer
    /// does after each update).
    pub fn apply_constraint(&mut self) -> Result<()> {
        if let Some(c) = &self.constraint {
            let v = c.apply(&self.value)?;
            self.assign(&v)?;
        }
        Ok(())
    }

    /// The Keras variable name (`kernel`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The Keras path (`dense/kernel`).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The current value.
    pub fn value(&self) -> &Tensor {
        &self.value
    }

    /// The shape.
    pub fn shape(&self) -> &[usize] {
        self.value.shape()
    }

    /// Whether the optimizer updates it.
    pub fn trainable(&self) -> bool {
        self.trainable
    }

    /// Sets the Keras path (`outer/inner/kernel`): a layer built inside another one carries
    /// its parents' names, as Keras's name scopes give them.
    pub(crate) fn set_path(&mut self, path: String) {
        self.path = path;
    }

    /// Replaces the value; the shape must match (Keras `assign`).
    pub fn assign(&mut self, value: &Tensor) -> Result<()> {
        if value.shape() != self.value.shape() {
            keras_bail!(
                Shape,
                "Variable {} has shape {:?}, received a value of shape {:?}",
                self.path,
                self.value.shape(),
                value.shape()
            );
        }
        let v = value.cast(self.value.dtype());
        if self.value.device().is_cuda() && self.value.device_address().is_some() {
            // In place: the variable keeps its device buffer (which a captured CUDA graph of
            // the training step reads and writes).
            self.value.copy_from(&v)?;
            return Ok(());
        }
        self.value = if self.trainable { v.requiring_grad() } else { v };
        Ok(())
    }

    /// Mutable elements for in-place updates by optimizers (copy-on-write when shared).
    pub fn data_mut(&mut self) -> Result<&mut [f32]> {
        Ok(self.value.f32_mut()?)
    }

    /// The value for in-place device updates (the optimizer's fused GPU kernels).
    pub(crate) fn value_mut(&mut self) -> &mut Tensor {
        &mut self.value
    }
}

/// What a layer call needs besides its input: the mode, and where layers that update state
/// during training (BatchNormalization's moving statistics) put the new values.
#[derive(Debug, Default)]
pub struct CallContext {
    /// Training mode (dropout active, batch statistics).
    pub training: bool,
    /// `(variable path, new value)` pairs applied by the model after the step.
    pub updates: Vec<(String, Tensor)>,
    /// Losses added during the call (activity regularizer penalties), summed into the loss.
    pub losses: Vec<Tensor>,
}

impl CallContext {
    /// A context in training or inference mode.
    pub fn new(training: bool) -> Self {
        CallContext { training, updates: Vec::new(), losses: Vec::new() }
    }
}

/// State shared by every layer: name, trainable flag, built flag, the `input_shape` argument,
/// and the first error a builder method met (reported when the layer is added to a model).
#[derive(Clone, Debug)]
pub struct LayerBase {
    /// The layer name (`dense_1`).
    pub name: String,
    /// Whether its weights are trainable.
    pub trainable: bool,
    /// Set once weights exist.
    pub built: bool,
    /// `input_shape` given to the first layer of a Sequential model (without batch).
    pub input_shape: Option<Vec<usize>>,
    /// The build input shape (with batch), recorded for `build_config`.
    pub build_input_shape: Option<Shape>,
    /// First invalid argument seen by a builder method.
    pub pending_error: Option<Error>,
    /// Penalty of the layer's output added to the loss on every call (Keras
    /// `activity_regularizer`, applied by the model around `call`).
    pub activity_regularizer: Option<Regularizer>,
}

impl LayerBase {
    /// Base state with an automatic name derived from `snake_name` (`dense`, `dense_1`, ...).
    pub fn new(snake_name: &str) -> Self {
        Self::named(&crate::backend::unique_name(snake_name))
    }

    /// Renames the layer (the `name` builder methods): the automatic name it had is given back
    /// when no later object took a number after it, so that `Dense::new(3).name("x")` leaves
    /// the next unnamed `Dense` called `dense`, as Keras's `Dense(3, name="x")` does.
    pub fn rename(&mut self, name: &str) {
        if self.name != name {
            crate::backend::release_name(&self.name);
        }
        self.name = name.to_string();
    }

    /// Base state with exactly `name` (no automatic numbering), as Keras gives a layer an
    /// explicit `name` argument (an RNN's `lstm_cell`).
    pub fn named(name: &str) -> Self {
        LayerBase {
            name: name.to_string(),
            trainable: true,
            built: false,
            input_shape: None,
            build_input_shape: None,
            pending_error: None,
            activity_regularizer: None,
        }
    }

    /// Records an invalid argument (the first one wins).
    pub fn fail(&mut self, e: Error) {
        if self.pending_error.is_none() {
            self.pending_error = Some(e);
        }
    }

    /// Stores a builder argument that parsed into `slot`, or records its error as [`Self::fail`]
    /// does (builders return `Self`, so a bad value is reported when the layer is added or built).
    pub(crate) fn accept<T>(&mut self, slot: &mut T, parsed: Result<T>) {
        match parsed {
            Ok(v) => *slot = v,
            Err(e) => self.fail(e),
        }
    }

    /// The first invalid argument a builder recorded (taken, so it is reported once): what a
    /// constructor from a config returns instead of the layer.
    pub(crate) fn take_pending(&mut self) -> Result<()> {
        match self.pending_error.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// The keys every Keras layer config starts with: name, trainable, dtype.
    pub fn base_config(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("name".into(), json!(self.name));
        m.insert("trainable".into(), json!(self.trainable));
        m.insert("dtype".into(), dtype_policy_config());
        if let Some(r) = &self.activity_regularizer {
            m.insert("activity_regularizer".into(), r.to_config());
        }
        m
    }

    /// Records the activity penalty of `output` in `ctx.losses` when the layer has an
    /// activity regularizer (what Keras's `Layer.__call__` does after `call`).
    pub fn record_activity(&self, output: &Tensor, ctx: &mut CallContext) -> Result<()> {
        if let Some(r) = &self.activity_regularizer {
            ctx.losses.push(r.call(output)?);
        }
        Ok(())
    }

    /// Reads `activity_regularizer` from a config (absent or null: none).
    pub fn apply_activity_config(&mut self, cfg: &Value) -> Result<()> {
        if let Some(v) = cfg.get("activity_regularizer") {
            self.activity_regularizer = Regularizer::from_config(v)?;
        }
        Ok(())
    }

    /// The end of the `from_config` of a layer that takes `activity_regularizer`: the
    /// config's `name`, `trainable`, input shape ([`Self::apply_config`]) and activity
    /// regularizer applied, then the first invalid argument a builder recorded.
    pub(crate) fn apply_config_checked(&mut self, cfg: &Value) -> Result<()> {
        self.apply_config(cfg);
        self.apply_activity_config(cfg)?;
        self.take_pending()
    }

    /// Reads name / trainable / batch_input_shape from a config.
    pub fn apply_config(&mut self, cfg: &Value) {
        if let Some(n) = cfg.get("name").and_then(Value::as_str) {
            self.name = n.to_string();
        }
        if let Some(t) = cfg.get("trainable").and_then(Value::as_bool) {
            self.trainable = t;
        }
        let shape = cfg.get("batch_input_shape").or_else(|| cfg.get("batch_shape"));
        if let Some(Value::Array(dims)) = shape {
            let dims: Option<Vec<usize>> =
                dims.iter().skip(1).map(|d| d.as_u64().map(|v| v as usize)).collect();
            self.input_shape = dims;
        }
    }
}

/// The float32 dtype policy object Keras writes into every layer config.
pub fn dtype_policy_config() -> Value {
    json!({
        "module": "keras",
        "class_name": "DTypePolicy",
        "config": { "name": "float32" },
        "registered_name": null
    })
}

/// The one input of a single-input layer (a tensor, a shape, a mask), or Keras's error naming
/// the layer when a call or a build gets another number of them.
pub(crate) fn single_input<'a, T>(layer_name: &str, inputs: &'a [T]) -> Result<&'a T> {
    match inputs {
        [x] => Ok(x),
        _ => keras_bail!(
            InvalidArgument,
            "Layer \"{layer_name}\" expects 1 input, but it received {} input tensors",
            inputs.len()
        ),
    }
}

/// A Keras layer: builds its weights from the input shape, maps inputs to outputs, and
/// serializes itself to Keras's JSON.
pub trait Layer: Send + Sync + Any {
    /// The Keras class name (`Dense`).
    fn class_name(&self) -> &'static str;
    /// Shared state.
    fn base(&self) -> &LayerBase;
    /// Shared state, mutable.
    fn base_mut(&mut self) -> &mut LayerBase;
    /// Creates the weights for inputs of `input_shape` (batch dimension included).
    fn build(&mut self, input_shape: &[Option<usize>]) -> Result<()> {
        if let Some(e) = &self.base().pending_error {
            return Err(e.clone());
        }
        self.base_mut().build_input_shape = Some(input_shape.to_vec());
        self.base_mut().built = true;
        Ok(())
    }
    /// The output shape for an input shape, without computing anything.
    fn compute_output_shape(&self, input_shape: &[Option<usize>]) -> Result<Shape>;
    /// The forward pass (differentiable through the engine's ops).
    fn call(&self, inputs: &Tensor, ctx: &mut CallContext) -> Result<Tensor>;
    /// The forward pass with a Keras mask (`(batch, time)`, non-zero = valid step) from the
    /// previous layer. Layers that use masks (RNNs) override it; the default ignores the mask.
    fn call_masked(&self, inputs: &Tensor, mask: Option<&Tensor>, ctx: &mut CallContext) -> Result<Tensor> {
        let _ = mask;
        self.call(inputs, ctx)
    }
    /// Every output of the call, for layers that return a list (an RNN with `return_state`
    /// returns `[output, h(, c)]`). The default is `[call_masked(...)]`.
    fn call_outputs(
        &self,
        inputs: &Tensor,
        mask: Option<&Tensor>,
        ctx: &mut CallContext,
    ) -> Result<Vec<Tensor>> {
        Ok(vec![self.call_masked(inputs, mask, ctx)?])
    }
    /// The mask this layer passes on (Keras `compute_mask`): `Embedding(mask_zero=True)` and
    /// `Masking` create one, sequence-returning RNNs forward theirs. The default drops it.
    fn compute_mask(&self, inputs: &Tensor, mask: Option<&Tensor>) -> Result<Option<Tensor>> {
        let _ = (inputs, mask);
        Ok(None)
    }
    /// Keras `call(inputs)` with a list: every input tensor with its mask (one per input,
    /// `None` when unmasked), returning every output. Layers that take a list (merging,
    /// attention) override it; the default serves single-input layers through
    /// [`Layer::call_outputs`] and rejects any other number of inputs.
    fn call_multi(
        &self,
        inputs: &[Tensor],
        masks: &[Option<Tensor>],
        ctx: &mut CallContext,
    ) -> Result<Vec<Tensor>> {
        let x = single_input(self.name(), inputs)?;
        self.call_outputs(x, masks.first().and_then(Option::as_ref), ctx)
    }
    /// Creates the weights for several inputs (Keras `build(input_shape)` with a list of
    /// shapes). The default requires exactly one input and calls [`Layer::build`].
    fn build_multi(&mut self, input_shapes: &[Shape]) -> Result<()> {
        let shape = single_input(self.name(), input_shapes)?;
        self.build(shape)
    }
    /// The shape of every output for the shapes of every input. The default requires exactly
    /// one input and returns `[compute_output_shape(..)]`; layers with several outputs (an RNN
    /// with `return_state`) or several inputs override it.
    fn compute_output_shapes(&self, input_shapes: &[Shape]) -> Result<Vec<Shape>> {
        let shape = single_input(self.name(), input_shapes)?;
        Ok(vec![self.compute_output_shape(shape)?])
    }
    /// The mask of every output (Keras `compute_mask` with lists). The default requires one
    /// input and returns `[compute_mask(..)]`; a graph runtime gives any further output no mask.
    fn compute_masks(&self, inputs: &[Tensor], masks: &[Option<Tensor>]) -> Result<Vec<Option<Tensor>>> {
        let x = single_input(self.name(), inputs)?;
        Ok(vec![self.compute_mask(x, masks.first().and_then(Option::as_ref))?])
    }
    /// True for layers whose `call` takes a list of tensors even when given one (merging
    /// layers): their Keras config records the inputs of a node as a list.
    fn takes_list(&self) -> bool {
        false
    }
    /// Whether the layer's `call` takes several tensors as separate positional arguments
    /// (Keras `MultiHeadAttention()(query, value)`) rather than one list
    /// (`Concatenate()([a, b])`). A Functional model records and writes such a call's tensors
    /// as positional arguments, as Keras does.
    fn takes_positional_tensors(&self) -> bool {
        false
    }
    /// Whether a later call of the built layer must match the rank and last axis it was built
    /// for (how keras-rs stands in for Keras's `InputSpec` in Functional graphs). False for
    /// layers Keras gives no input spec whose inputs vary: `Embedding` takes ids of any rank
    /// and length, so one table serves sequences of different lengths.
    fn checks_built_input_shape(&self) -> bool {
        true
    }
    /// The keyword arguments this layer's `call` takes besides `training` and `mask` (which
    /// every layer accepts), as Keras's call signature names them: `["key", "attention_mask",
    /// "return_attention_scores", "use_causal_mask", ...]` for MultiHeadAttention. The
    /// default `*_with_kwargs` methods refuse any other name.
    fn call_kwarg_names(&self) -> &'static [&'static str] {
        &[]
    }
    /// Keras `layer(*inputs, **kwargs)`: the positional input tensors with their masks, plus
    /// the node's keyword arguments ([`CallKwargs`]). This is what a graph runtime calls for
    /// every node. The default checks the names against [`Layer::call_kwarg_names`] (Python's
    /// `Dense.call() got an unexpected keyword argument 'x'`), lets an explicit `mask=` replace
    /// the inputs' masks and an explicit `training=` override the outer mode (as Keras does),
    /// and forwards to [`Layer::call_multi`]. Layers with keyword arguments of their own
    /// (attention layers) override it.
    fn call_with_kwargs(
        &self,
        inputs: &[Tensor],
        masks: &[Option<Tensor>],
        kwargs: &CallKwargs,
        ctx: &mut CallContext,
    ) -> Result<Vec<Tensor>> {
        kwargs.check_known(self.class_name(), self.call_kwarg_names())?;
        let masks = kwargs.effective_masks(masks, self.class_name())?;
        let training = kwargs.training(self.class_name())?;
        with_training(ctx, training, |ctx| self.call_multi(inputs, &masks, ctx))
    }
    /// Creates the weights from the input shapes and the keyword arguments at shape time
    /// (Keras's `build` may read keyword tensors' shapes: MultiHeadAttention's `key_shape`
    /// comes from `key=`). The default checks the names and calls [`Layer::build_multi`].
    fn build_with_kwargs(&mut self, input_shapes: &[Shape], kwargs: &ShapeKwargs) -> Result<()> {
        kwargs.check_known(self.class_name(), self.call_kwarg_names())?;
        self.build_multi(input_shapes)
    }
    /// The shape of every output given the input shapes and the keyword arguments (whose plain
    /// values can change the outputs: `return_attention_scores=True` adds the scores). The
    /// default checks the names and calls [`Layer::compute_output_shapes`].
    fn compute_output_shapes_with_kwargs(
        &self,
        input_shapes: &[Shape],
        kwargs: &ShapeKwargs,
    ) -> Result<Vec<Shape>> {
        kwargs.check_known(self.class_name(), self.call_kwarg_names())?;
        self.compute_output_shapes(input_shapes)
    }
    /// The mask of every output given the keyword arguments. The default checks the names,
    /// applies an explicit `mask=` and calls [`Layer::compute_masks`].
    fn compute_masks_with_kwargs(
        &self,
        inputs: &[Tensor],
        masks: &[Option<Tensor>],
        kwargs: &CallKwargs,
    ) -> Result<Vec<Option<Tensor>>> {
        kwargs.check_known(self.class_name(), self.call_kwarg_names())?;
        let masks = kwargs.effective_masks(masks, self.class_name())?;
        self.compute_masks(inputs, &masks)
    }
    /// The variables this layer made itself (its `add_weight` results), in creation order;
    /// not those of its sub-layers. Saving stores them in the layer's own `vars` group.
    fn own_weights(&self) -> Vec<&Variable> {
        Vec::new()
    }
    /// [`Layer::own_weights`], mutable, same order.
    fn own_weights_mut(&mut self) -> Vec<&mut Variable> {
        Vec::new()
    }
    /// The layers this layer is made of, in the order Keras tracks them (the order of the
    /// assignments in `__init__`), each with the attribute name Keras saves it under. Layers
    /// made of other layers implement this (or use [`crate::sublayers!`]) instead of listing
    /// their sub-layers' weights: `weights()`, trainability, regularization losses, saving
    /// and loading all walk it.
    fn sublayers(&self) -> Vec<Sublayer<'_>> {
        Vec::new()
    }
    /// The own weights and the sub-layers, mutable, borrowed together (same orders as
    /// [`Layer::own_weights`] and [`Layer::sublayers`]). The default has no sub-layers; a
    /// layer that overrides [`Layer::sublayers`] overrides this too.
    fn own_weights_and_sublayers_mut(&mut self) -> (Vec<&mut Variable>, Vec<&mut dyn Layer>) {
        (self.own_weights_mut(), Vec::new())
    }
    /// The sub-layers, mutable, in [`Layer::sublayers`] order.
    fn sublayers_mut(&mut self) -> Vec<&mut dyn Layer> {
        self.own_weights_and_sublayers_mut().1
    }
    /// Runs before every training step's forward pass (`fit`, `train_on_batch`,
    /// [`minimize`](crate::trainers::minimize)), with the layer mutable. Keras layers
    /// that assign their own variables when called with `training=True` do it here, since a
    /// keras-rs call takes `&self`: SpectralNormalization divides its wrapped kernel by its
    /// spectral norm. The default runs it on every sub-layer.
    fn before_training_step(&mut self) -> Result<()> {
        for l in self.sublayers_mut() {
            l.before_training_step()?;
        }
        Ok(())
    }
    /// Every weight in Keras's `layer.weights` order: the layer's own trainable variables,
    /// then its own non-trainable ones (each in creation order), then each sub-layer's
    /// weights in tracking order.
    fn weights(&self) -> Vec<&Variable> {
        let mut out = keras_own_order(self.own_weights());
        for s in self.sublayers() {
            out.extend(s.layer.weights());
        }
        out
    }
    /// Weights, mutable, same order as [`Layer::weights`].
    fn weights_mut(&mut self) -> Vec<&mut Variable> {
        let (own, subs) = self.own_weights_and_sublayers_mut();
        let mut out = keras_own_order(own);
        for s in subs {
            out.extend(s.weights_mut());
        }
        out
    }
    /// The Keras config (`layer.get_config()`).
    fn get_config(&self) -> Value;
    /// The weight-regularization penalties of this layer (Keras `layer.losses` minus
    /// activity losses): one per trainable weight that has a regularizer. Empty when frozen.
    fn regularization_losses(&self) -> Result<Vec<Tensor>> {
        let mut out = Vec::new();
        for w in self.trainable_weights() {
            if let Some(l) = w.regularization_loss()? {
                out.push(l);
            }
        }
        Ok(out)
    }
    /// Downcasting support.
    fn as_any(&self) -> &dyn Any;

    /// The layer name.
    fn name(&self) -> &str {
        &self.base().name
    }
    /// Whether weights exist.
    fn built(&self) -> bool {
        self.base().built
    }
    /// Whether the weights are trained.
    fn trainable(&self) -> bool {
        self.base().trainable
    }
    /// Freezes or unfreezes the layer and all its sub-layers (Keras's `trainable` setter).
    fn set_trainable(&mut self, trainable: bool) {
        self.base_mut().trainable = trainable;
        for s in self.sublayers_mut() {
            s.set_trainable(trainable);
        }
    }
    /// Number of scalars in all weights.
    fn count_params(&self) -> usize {
        self.weights().iter().map(|w| w.value().numel()).sum()
    }
    /// Trainable weights (empty when the layer is frozen; a frozen sub-layer contributes
    /// none), in [`Layer::weights`] order.
    fn trainable_weights(&self) -> Vec<&Variable> {
        weights_with_trainable(self).into_iter().filter(|(_, t)| *t).map(|(w, _)| w).collect()
    }
    /// Weights the optimizer does not train (Keras `non_trainable_weights`), in
    /// [`Layer::weights`] order.
    fn non_trainable_weights(&self) -> Vec<&Variable> {
        weights_with_trainable(self).into_iter().filter(|(_, t)| !*t).map(|(w, _)| w).collect()
    }
    /// Copies of the weight values, in order (Keras `get_weights`).
    fn get_weights(&self) -> Vec<Tensor> {
        self.weights().iter().map(|w| w.value().detach()).collect()
    }
    /// Sets every weight, in order, checking count and shapes (Keras `set_weights`).
    fn set_weights(&mut self, values: &[Tensor]) -> Result<()> {
        let name = self.name().to_string();
        let mut ws = self.weights_mut();
        if ws.len() != values.len() {
            keras_bail!(
                Value,
                "Layer {name} expects {} weights, but the weight list received has {} elements",
                ws.len(),
                values.len()
            );
        }
        for (w, v) in ws.iter_mut().zip(values) {
            w.assign(v)?;
        }
        Ok(())
    }
    /// Files Keras keeps for this layer in a `.keras` archive, under
    /// `assets/layers/<name>/` (Keras `save_assets`: the lookup layers' `vocabulary.txt`).
    /// Default: none.
    fn save_assets(&self) -> Vec<(String, Vec<u8>)> {
        Vec::new()
    }
    /// Reads the files of [`Layer::save_assets`] back (Keras `load_assets`); `file(name)` is
    /// the content of a file of this layer's assets, if the archive has it.
    fn load_assets(&mut self, file: &dyn Fn(&str) -> Option<Vec<u8>>) -> Result<()> {
        let _ = file;
        Ok(())
    }
    /// Whether Keras writes a `build_config` for this layer (layers that override `build`,
    /// and Flatten; not pooling, Dropout, Activation or InputLayer).
    fn records_build_config(&self) -> bool {
        true
    }
    /// The serialized form: `{"module", "class_name", "config", "registered_name"[, "build_config"]}`.
    /// A registered user layer writes its module and `"package>name"` (Keras
    /// `register_keras_serializable`); an unregistered one its module and class name.
    fn serialize(&self) -> Value {
        use crate::saving::object_registration as reg;
        let type_name = std::any::type_name::<Self>();
        let (module, registered) = match reg::serialized_names(self.as_any().type_id()) {
            // Keras writes no module for a registered class: its registered name finds it.
            Some((_, name)) => (Value::Null, json!(name)),
            None if type_name.starts_with("keras::") => (json!("keras.layers"), Value::Null),
            None => (json!(reg::module_of_type(type_name)), json!(self.class_name())),
        };
        let mut m = Map::new();
        m.insert("module".into(), module);
        m.insert("class_name".into(), json!(self.class_name()));
        m.insert("config".into(), self.get_config());
        m.insert("registered_name".into(), registered);
        if let Some(shape) = &self.base().build_input_shape {
            if self.records_build_config() {
                m.insert("build_config".into(), json!({ "input_shape": shape }));
            }
        }
        Value::Object(m)
    }
}

/// The [`Layer`] methods every layer with a `base: LayerBase` field writes the same way:
/// `class_name` (the Keras class, `$class`), `base`, `base_mut` and `as_any`.
///
/// `layer_base_methods!("Dense")`; `layer_base_methods!(|l| l.kind.class_name())` for a
/// class name read from the layer; a trailing `, 0.base` (any field path) for a layer whose
/// `LayerBase` is not its own `base` field.
macro_rules! layer_base_methods {
    (@base []) => {
        $crate::layers::layer::layer_base_methods!(@base [base]);
    };
    (@base [$($base:tt)+]) => {
        fn base(&self) -> &$crate::layers::LayerBase {
            &self.$($base)+
        }
        fn base_mut(&mut self) -> &mut $crate::layers::LayerBase {
            &mut self.$($base)+
        }
        fn as_any(&self) -> &dyn std::any::Any {
            self
        }
    };
    (|$l:ident| $class:expr $(, $($base:tt)+)?) => {
        fn class_name(&self) -> &'static str {
            let $l = self;
            $class
        }
        $crate::layers::layer::layer_base_methods!(@base [$($($base)+)?]);
    };
    ($class:expr $(, $($base:tt)+)?) => {
        fn class_name(&self) -> &'static str {
            $class
        }
        $crate::layers::layer::layer_base_methods!(@base [$($($base)+)?]);
    };
}
pub(crate) use layer_base_methods;

/// The end of a layer's `from_config`: the config's `name`, `trainable` and input shape
/// applied, then the first invalid argument a builder recorded, returned instead of the layer.
pub(crate) fn configured<L: Layer>(mut l: L, cfg: &Value) -> Result<L> {
    l.base_mut().apply_config(cfg);
    l.base_mut().take_pending()?;
    Ok(l)
}

/// Checks that a builder produced a valid layer.
pub fn check_pending(layer: &dyn Layer) -> Result<()> {
    match &layer.base().pending_error {
        Some(e) => Err(e.clone()),
        None => Ok(()),
    }
}

/// Formats a shape as Keras prints it (Python's tuple): `(None, 28, 28, 1)`, a 1-tuple with
/// its comma, `()` for a scalar.
///
/// ```
/// use keras::layers::layer::shape_str;
/// assert_eq!(shape_str(&[None, Some(28), Some(28), Some(1)]), "(None, 28, 28, 1)");
/// assert_eq!(shape_str(&[Some(4)]), "(4,)");
/// assert_eq!(shape_str(&[]), "()");
/// ```
pub fn shape_str(shape: &[Option<usize>]) -> String {
    crate::utils::python_repr::py_shape(shape)
}
