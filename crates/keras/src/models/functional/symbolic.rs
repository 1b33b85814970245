//! Symbolic tensors (Keras `KerasTensor`) and the nodes that calling a layer on them records.
//!
//! A layer called on symbolic tensors is moved into a shared `LayerSlot`; each call adds a
//! `SymNode` (the layer, its input tensors, explicit masks, call arguments, output shapes).
//! `Model::new(inputs, outputs)` walks the nodes back from the outputs and takes the layers
//! out of their slots, so a built model owns its layers outright (no lock on the step path).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::layers::layer::shape_str;
use crate::layers::{CallKwargs, InputLayer, Layer, Shape, ShapeKwargs, TensorArg};
use crate::{keras_bail, DType, Error, Result};

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A process-wide increasing id (node creation order, slot identity).
pub(crate) fn next_id() -> u64 {
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}

/// A layer shared by the symbolic nodes that call it (Keras: one layer object, several
/// inbound nodes). Empty once a model took the layer.
pub(crate) struct LayerSlot {
    pub id: u64,
    pub name: String,
    pub layer: Mutex<Option<Box<dyn Layer>>>,
}

impl LayerSlot {
    pub(crate) fn new(layer: Box<dyn Layer>) -> Arc<LayerSlot> {
        Arc::new(LayerSlot { id: next_id(), name: layer.name().to_string(), layer: Mutex::new(Some(layer)) })
    }

    /// Runs `f` on the layer, or fails when a model already owns it.
    pub(crate) fn with<T>(&self, f: impl FnOnce(&mut Box<dyn Layer>) -> Result<T>) -> Result<T> {
        let mut guard = self.layer.lock().map_err(|_| Error::State("a layer lock was poisoned".into()))?;
        match guard.as_mut() {
            Some(l) => f(l),
            None => keras_bail!(
                State,
                "Layer \"{}\" already belongs to a model: a layer moves into the first model built over \
                 it. Build the new model from that model's tensors (`model.input()`, \
                 `model.get_layer(name)?.output()`) or call the model itself as a layer.",
                self.name
            ),
        }
    }
}

/// The tensors of a keyword argument, flattened (`None` entries of a list skipped).
pub(crate) fn arg_tensors<T>(arg: &TensorArg<T>) -> Vec<&T> {
    match arg {
        TensorArg::One(t) => vec![t],
        TensorArg::List(l) => l.iter().flatten().collect(),
    }
}

/// One call of a layer on symbolic tensors.
pub(crate) struct SymNode {
    /// Creation order; replicas of a model's graph keep the ids of the original nodes.
    pub id: u64,
    pub slot: Arc<LayerSlot>,
    pub inputs: Vec<KerasTensor>,
    /// The inputs were given as a list (`Add()([a, b])`).
    pub as_list: bool,
    /// Keyword arguments: tensors (`mask=`, `key=`) and plain values (`training=False`).
    pub kwargs: CallKwargs<KerasTensor>,
    /// Positional arguments after the tensors (`0` of `ops.not_equal(x, 0)`), as JSON.
    pub extra_args: Vec<Value>,
    pub outputs: Vec<(Shape, DType)>,
}

impl SymNode {
    /// Every symbolic tensor this node reads (inputs, then keyword tensors by name: Keras's
    /// `input_tensors`).
    pub(crate) fn parents(&self) -> Vec<&KerasTensor> {
        let mut out: Vec<&KerasTensor> = self.inputs.iter().collect();
        for arg in self.kwargs.tensor_args().values() {
            out.extend(arg_tensors(arg));
        }
        out
    }

    /// True for the node of an `InputLayer`.
    pub(crate) fn is_input(&self) -> bool {
        self.inputs.is_empty()
    }
}

/// A symbolic tensor (Keras `KerasTensor`): a shape, a dtype and the node that makes it.
/// Calling a layer on symbolic tensors records a node; [`crate::models::Model::new`] turns
/// the recorded graph between some inputs and outputs into a model.
#[derive(Clone)]
pub struct KerasTensor {
    pub(crate) node: Arc<SymNode>,
    pub(crate) index: usize,
}

impl std::fmt::Debug for KerasTensor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "<KerasTensor shape={}, dtype={}, name={}>",
            shape_str(self.shape()),
            crate::layers::core::input_layer::dtype_name(self.dtype()),
            self.name()
        )
    }
}

impl KerasTensor {
    /// The shape, batch dimension included (`[None, 28, 28, 1]`).
    pub fn shape(&self) -> &[Option<usize>] {
        &self.node.outputs[self.index].0
    }

    /// The dtype.
    pub fn dtype(&self) -> DType {
        self.node.outputs[self.index].1
    }

    /// The name of the layer that produces it (Keras `tensor._keras_history.operation.name`).
    pub fn layer_name(&self) -> &str {
        &self.node.slot.name
    }

    /// A readable name: the layer name, with the output index when the layer has several.
    pub fn name(&self) -> String {
        if self.node.outputs.len() > 1 {
            format!("{}:{}", self.node.slot.name, self.index)
        } else {
            self.node.slot.name.clone()
        }
    }

    /// The `Input` tensors this tensor depends on, in the order a depth-first walk over its
    /// history meets them (Keras `operation_utils.get_source_inputs`). An input returns itself.
    ///
    /// ```
    /// use keras::layers::Add;
    /// use keras::models::SymbolicCall;
    /// use keras::Input;
    ///
    /// let (a, b) = (Input::named(&[4], "a"), Input::named(&[4], "b"));
    /// let y = Add::new().apply_list(&[&a, &b])?;
    /// let names: Vec<String> = y.source_inputs().iter().map(|t| t.name()).collect();
    /// assert_eq!(names, ["a", "b"]);
    /// # Ok::<(), keras::Error>(())
    /// ```
    pub fn source_inputs(&self) -> Vec<KerasTensor> {
        let mut out: Vec<KerasTensor> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut stack = vec![self.clone()];
        while let Some(t) = stack.pop() {
            if !seen.insert(t.node.id) {
                continue;
            }
            if t.node.is_input() {
                out.push(t);
                continue;
            }
            // Reversed so the first parent is walked first.
            stack.extend(t.node.parents().into_iter().rev().cloned());
        }
        out
    }

    /// Identity of the tensor across replicas of a graph: (node id, output index).
    pub(crate) fn key(&self) -> (u64, usize) {
        (self.node.id, self.index)
    }
}

/// `keras.Input`: the symbolic input of a Functional model.
///
/// ```
/// use keras::layers::Dense;
/// use keras::models::{Model, SymbolicCall};
/// use keras::Input;
///
/// let x = Input::new(&[8]);
/// assert_eq!(x.shape(), &[None, Some(8)]);
/// let y = Dense::new(3).apply(&x)?;
/// assert_eq!(y.shape(), &[None, Some(3)]);
/// let model = Model::new(&[x], &[y])?;
/// assert_eq!(model.count_params(), 8 * 3 + 3);
/// # Ok::<(), keras::Error>(())
/// ```
pub struct Input;

impl Input {
    /// A float32 input of `shape` (batch dimension excluded), named `input_layer`,
    /// `input_layer_1`, ...
    #[allow(clippy::new_ret_no_self)]
    pub fn new(shape: &[usize]) -> KerasTensor {
        Self::from_layer(InputLayer::new(shape))
    }

    /// A float32 input with a name (`keras.Input(shape, name=...)`).
    pub fn named(shape: &[usize], name: &str) -> KerasTensor {
        Self::from_layer(InputLayer::new(shape).name(name))
    }

    /// An input with a dtype (`int32` for token ids) and optionally a name.
    pub fn typed(shape: &[usize], dtype: DType, name: Option<&str>) -> KerasTensor {
        let mut l = InputLayer::new(shape).dtype(dtype);
        if let Some(n) = name {
            l = l.name(n);
        }
        Self::from_layer(l)
    }

    /// An input of `batch_shape` (batch dimension included; `None` for unknown sizes, such as
    /// a variable sequence length: `[None, None]`).
    pub fn batch_shape(batch_shape: &[Option<usize>], dtype: DType, name: Option<&str>) -> KerasTensor {
        let mut l = InputLayer::with_batch_shape(batch_shape.to_vec()).dtype(dtype);
        if let Some(n) = name {
            l = l.name(n);
        }
        Self::from_layer(l)
    }

    /// The symbolic tensor of an `InputLayer`.
    pub fn from_layer(layer: InputLayer) -> KerasTensor {
        input_node(LayerSlot::new(Box::new(layer)), None)
    }
}

/// The node of an input layer (with the given id for replicas).
pub(crate) fn input_node(slot: Arc<LayerSlot>, id: Option<u64>) -> KerasTensor {
    let (shape, dtype) = slot
        .with(|l| {
            let il = l.as_any().downcast_ref::<InputLayer>().expect("input slots hold an InputLayer");
            Ok((il.batch_shape().to_vec(), il.input_dtype()))
        })
        .expect("a fresh slot holds its layer");
    let node = SymNode {
        id: id.unwrap_or_else(next_id),
        slot,
        inputs: Vec::new(),
        as_list: false,
        kwargs: CallKwargs::new(),
        extra_args: Vec::new(),
        outputs: vec![(shape, dtype)],
    };
    KerasTensor { node: Arc::new(node), index: 0 }
}

/// Checks a new call of an already built layer against the shape it was built for: same
/// rank and same last axis (the features a kernel was made for), as Keras's `InputSpec`.
fn check_built_shape(layer: &dyn Layer, i: usize, shape: &[Option<usize>]) -> Result<()> {
    let Some(built) = &layer.base().build_input_shape else { return Ok(()) };
    if layer.weights().is_empty() || built.is_empty() || !layer.checks_built_input_shape() {
        return Ok(());
    }
    let last_ok = match (built.last().copied().flatten(), shape.last().copied().flatten()) {
        (Some(a), Some(b)) => a == b,
        _ => true,
    };
    if built.len() != shape.len() {
        keras_bail!(
            Shape,
            "Input {i} of layer \"{}\" is incompatible with the layer: expected ndim={}, found ndim={}. Full shape received: {}",
            layer.name(),
            built.len(),
            shape.len(),
            shape_str(shape)
        );
    }
    if !last_ok {
        keras_bail!(
            Shape,
            "Input {i} of layer \"{}\" is incompatible with the layer: expected axis -1 of input shape to have value {}, but received input with shape {}",
            layer.name(),
            built.last().copied().flatten().unwrap_or(0),
            shape_str(shape)
        );
    }
    Ok(())
}

/// The dtype of each output of a layer call: integer for comparison operations, the input's
/// for an input layer, float32 otherwise.
fn output_dtypes(layer: &dyn Layer, n: usize) -> Vec<DType> {
    let d = super::ops::OpLayer::output_dtype(layer).unwrap_or(DType::F32);
    vec![d; n]
}

/// Calls the layer in `slot` on symbolic tensors: builds it on first use, checks the shapes,
/// and records a node. Returns every output.
pub(crate) fn call_symbolic(
    slot: &Arc<LayerSlot>,
    inputs: &[KerasTensor],
    as_list: bool,
    kwargs: CallKwargs<KerasTensor>,
    extra_args: Vec<Value>,
) -> Result<Vec<KerasTensor>> {
    if inputs.is_empty() {
        keras_bail!(InvalidArgument, "Layer \"{}\" was called without any input tensor", slot.name);
    }
    // `mha(query, value)`: tensors a layer takes by position are never recorded as a list.
    let as_list = as_list && !slot.with(|layer| Ok(layer.takes_positional_tensors()))?;
    let shapes: Vec<Shape> = inputs.iter().map(|t| t.shape().to_vec()).collect();
    let kw_shapes: ShapeKwargs = kwargs.map_tensors(|t| t.shape().to_vec());
    let outputs = slot.with(|layer| {
        crate::layers::layer::check_pending(layer.as_ref())?;
        if layer.as_any().downcast_ref::<InputLayer>().is_some() {
            keras_bail!(InvalidArgument, "An InputLayer cannot be called on tensors (\"{}\")", slot.name);
        }
        if layer.built() {
            for (i, s) in shapes.iter().enumerate() {
                check_built_shape(layer.as_ref(), i, s)?;
            }
        } else if kw_shapes.is_empty() && !as_list && shapes.len() == 1 {
            layer.build(&shapes[0])?;
        } else {
            layer.build_with_kwargs(&shapes, &kw_shapes)?;
        }
        let out = layer.compute_output_shapes_with_kwargs(&shapes, &kw_shapes)?;
        let dtypes = output_dtypes(layer.as_ref(), out.len());
        Ok(out.into_iter().zip(dtypes).collect::<Vec<_>>())
    })?;
    let node = Arc::new(SymNode {
        id: next_id(),
        slot: slot.clone(),
        inputs: inputs.to_vec(),
        as_list,
        kwargs,
        extra_args,
        outputs,
    });
    Ok((0..node.outputs.len()).map(|index| KerasTensor { node: node.clone(), index }).collect())
}

/// A layer that can be called at several places of a graph, keeping one set of weights
/// (Keras: calling the same layer object twice).
///
/// ```
/// use keras::layers::Dense;
/// use keras::models::{Model, SharedLayer};
/// use keras::Input;
///
/// let (a, b) = (Input::new(&[4]), Input::new(&[4]));
/// let encoder = SharedLayer::new(Dense::new(2));
/// let (ea, eb) = (encoder.apply(&a)?, encoder.apply(&b)?);
/// let model = Model::new(&[a, b], &[ea, eb])?;
/// assert_eq!(model.count_params(), 4 * 2 + 2); // one kernel, one bias
/// # Ok::<(), keras::Error>(())
/// ```
#[derive(Clone)]
pub struct SharedLayer {
    pub(crate) slot: Arc<LayerSlot>,
}

impl SharedLayer {
    /// Wraps a layer so it can be called several times.
    pub fn new<L: Layer>(layer: L) -> Self {
        Self::from_boxed(Box::new(layer))
    }

    /// [`SharedLayer::new`] for a boxed layer.
    pub fn from_boxed(layer: Box<dyn Layer>) -> Self {
        SharedLayer { slot: LayerSlot::new(layer) }
    }

    /// The layer name.
    pub fn name(&self) -> &str {
        &self.slot.name
    }

    /// Calls the layer on one tensor; returns its (first) output.
    pub fn apply(&self, x: &KerasTensor) -> Result<KerasTensor> {
        Ok(self.apply_outputs(std::slice::from_ref(x), false)?.swap_remove(0))
    }

    /// Calls the layer on a list of tensors (merging and attention layers); returns its
    /// (first) output.
    pub fn apply_list(&self, xs: &[&KerasTensor]) -> Result<KerasTensor> {
        let xs: Vec<KerasTensor> = xs.iter().map(|&t| t.clone()).collect();
        Ok(self.apply_outputs(&xs, true)?.swap_remove(0))
    }

    /// Calls the layer and returns every output (an RNN with `return_state`).
    pub fn apply_outputs(&self, xs: &[KerasTensor], as_list: bool) -> Result<Vec<KerasTensor>> {
        call_symbolic(&self.slot, xs, as_list, CallKwargs::new(), Vec::new())
    }

    /// Calls the layer with keyword arguments (Keras `layer(q, v, key=k,
    /// return_attention_scores=True)`): symbolic tensors and plain values, as a [`CallKwargs`]
    /// over [`KerasTensor`]s. Returns every output.
    pub fn apply_with_kwargs(
        &self,
        xs: &[KerasTensor],
        as_list: bool,
        kwargs: CallKwargs<KerasTensor>,
    ) -> Result<Vec<KerasTensor>> {
        call_symbolic(&self.slot, xs, as_list, kwargs, Vec::new())
    }

    /// Calls the layer with an explicit mask for its single input (Keras `layer(x, mask=m)`).
    pub fn apply_masked(&self, x: &KerasTensor, mask: &KerasTensor) -> Result<KerasTensor> {
        let kwargs = CallKwargs::new().with_tensor("mask", mask.clone());
        Ok(self.apply_with_kwargs(std::slice::from_ref(x), false, kwargs)?.swap_remove(0))
    }

    /// Calls the layer with `training` fixed (Keras `layer(x, training=False)`: a layer that
    /// stays in inference mode while the model trains).
    pub fn apply_training(&self, x: &KerasTensor, training: bool) -> Result<KerasTensor> {
        let kwargs = CallKwargs::new().with_value("training", Value::Bool(training));
        Ok(self.apply_with_kwargs(std::slice::from_ref(x), false, kwargs)?.swap_remove(0))
    }

    /// Calls a recurrent layer (`LSTM`, `GRU`, `SimpleRNN`, `RNN`, the `ConvLSTM` layers,
    /// `Bidirectional`) from explicit initial states, Keras's `layer(x,
    /// initial_state=states)`: a decoder started from an encoder's final states. Returns every
    /// output (`[sequence_or_last, states...]` with `return_state`). Other layers refuse the
    /// argument as Python does (`Dense.call() got an unexpected keyword argument
    /// 'initial_state'`).
    pub fn apply_with_state(
        &self,
        x: &KerasTensor,
        initial_state: &[KerasTensor],
    ) -> Result<Vec<KerasTensor>> {
        let states = initial_state.iter().cloned().map(Some).collect();
        let kwargs = CallKwargs::new().with_tensor_list("initial_state", states);
        self.apply_with_kwargs(std::slice::from_ref(x), false, kwargs)
    }
}

/// Calling a layer on symbolic tensors (Keras `layer(x)`), for any layer value. The layer
/// moves into the graph; to call one layer at several places use [`SharedLayer`].
pub trait SymbolicCall: Sized {
    /// The value as a [`SharedLayer`], which every call below goes through.
    fn into_shared(self) -> SharedLayer;
    /// Calls the layer on one tensor; returns its (first) output.
    fn apply(self, x: &KerasTensor) -> Result<KerasTensor> {
        self.into_shared().apply(x)
    }
    /// Calls the layer on a list of tensors (`Concatenate()([a, b])`).
    fn apply_list(self, xs: &[&KerasTensor]) -> Result<KerasTensor> {
        self.into_shared().apply_list(xs)
    }
    /// Calls the layer on tensors and returns every output.
    fn apply_outputs(self, xs: &[KerasTensor]) -> Result<Vec<KerasTensor>> {
        let as_list = xs.len() > 1;
        self.into_shared().apply_outputs(xs, as_list)
    }
    /// Calls a recurrent layer from explicit initial states (Keras `layer(x,
    /// initial_state=states)`, see [`SharedLayer::apply_with_state`]); returns every output.
    ///
    /// The Keras sequence-to-sequence model, whose decoder starts from the encoder's states:
    ///
    /// ```
    /// use keras::layers::{Dense, LSTM};
    /// use keras::models::{Model, SymbolicCall};
    /// use keras::Input;
    ///
    /// let (enc_in, dec_in) = (Input::new(&[6, 5]), Input::new(&[4, 3]));
    /// let enc = LSTM::new(8).return_state(true).apply_outputs(&[enc_in.clone()])?; // [out, h, c]
    /// let seq = LSTM::new(8).return_sequences(true).apply_with_state(&dec_in, &enc[1..])?;
    /// let out = Dense::new(3).activation("softmax").apply(&seq[0])?;
    /// let model = Model::new(&[enc_in, dec_in], &[out])?;
    /// assert_eq!(model.output_shapes(), vec![vec![None, Some(4), Some(3)]]);
    /// # Ok::<(), keras::Error>(())
    /// ```
    fn apply_with_state(self, x: &KerasTensor, initial_state: &[KerasTensor]) -> Result<Vec<KerasTensor>> {
        self.into_shared().apply_with_state(x, initial_state)
    }
}

impl<L: Layer> SymbolicCall for L {
    fn into_shared(self) -> SharedLayer {
        SharedLayer::new(self)
    }
}
