//! [`RnnCell`]: what the generic [`crate::layers::RNN`] layer runs at every time step (Keras's
//! cell protocol: `call(inputs, states) -> (output, new_states)`, `state_size`,
//! `output_size`), implemented by the built-in cells, by [`crate::layers::StackedRNNCells`]
//! and by cells a user writes; and [`deserialize_cell`], which rebuilds any of them from the
//! form Keras saves a cell in.

use serde_json::Value;

use super::rnn::{GRUCell, LSTMCell, SimpleRNNCell};
use super::stacked_rnn_cells::StackedRNNCells;
use crate::layers::layer::{CallContext, Layer};
use crate::saving::object_registration;
use crate::{keras_bail, Error, Result, Tensor};

/// A recurrent cell: one time step of a recurrent layer (Keras's cell protocol). A cell is a
/// [`Layer`] (its weights come from [`crate::layers::LayerBase::add_weight`] in
/// [`Layer::build`], which receives the shape of one step's input, `(batch, features)`), plus
/// the sizes of its states and [`RnnCell::step`]. [`crate::layers::RNN`] loops it over the time
/// axis, handling masks, `go_backwards`, `return_sequences`, `return_state` and `stateful`;
/// gradients flow through the engine's ops the step is written with.
///
/// To save and load a model holding a cell of your own, register it with
/// [`crate::saving::register_rnn_cell`] (Keras `register_keras_serializable`).
///
/// Keras's `MinimalRNNCell` (`output = h = x W + h_prev U`):
///
/// ```
/// use keras::layers::{CallContext, Layer, LayerBase, RnnCell, Shape, Variable, WeightSpec, RNN};
/// use keras::{ops, Result, Tensor};
/// use serde_json::{json, Value};
///
/// struct MinimalRNNCell {
///     base: LayerBase,
///     units: usize,
///     kernel: Option<Variable>,
///     recurrent_kernel: Option<Variable>,
/// }
///
/// impl MinimalRNNCell {
///     fn new(units: usize) -> Self {
///         MinimalRNNCell { base: LayerBase::new("minimal_rnn_cell"), units, kernel: None, recurrent_kernel: None }
///     }
/// }
///
/// impl Layer for MinimalRNNCell {
///     keras::sublayers!(; kernel, recurrent_kernel);
///     fn class_name(&self) -> &'static str { "MinimalRNNCell" }
///     fn base(&self) -> &LayerBase { &self.base }
///     fn base_mut(&mut self) -> &mut LayerBase { &mut self.base }
///     fn as_any(&self) -> &dyn std::any::Any { self }
///     fn build(&mut self, shape: &[Option<usize>]) -> Result<()> {
///         let features = shape[1].unwrap();
///         self.kernel = Some(self.base.add_weight(WeightSpec::new("kernel", &[features, self.units]))?);
///         self.recurrent_kernel = Some(self.base.add_weight(WeightSpec::new("recurrent_kernel", &[self.units, self.units]))?);
///         self.base.built = true;
///         Ok(())
///     }
///     fn compute_output_shape(&self, s: &[Option<usize>]) -> Result<Shape> { Ok(vec![s[0], Some(self.units)]) }
///     fn call(&self, _: &Tensor, _: &mut CallContext) -> Result<Tensor> { unreachable!("runs through step") }
///     fn get_config(&self) -> Value {
///         let mut m = self.base.base_config();
///         m.insert("units".into(), json!(self.units));
///         Value::Object(m)
///     }
/// }
///
/// impl RnnCell for MinimalRNNCell {
///     fn state_size(&self) -> Vec<usize> { vec![self.units] }
///     fn step(&self, x: &Tensor, states: &[Tensor], _: &mut CallContext) -> Result<(Tensor, Vec<Tensor>)> {
///         let h = ops::matmul(x, self.kernel.as_ref().unwrap().value())?;
///         let out = ops::add(&h, &ops::matmul(&states[0], self.recurrent_kernel.as_ref().unwrap().value())?)?;
///         Ok((out.clone(), vec![out]))
///     }
/// }
///
/// let mut rnn = RNN::with_cell(MinimalRNNCell::new(4)).return_sequences(true);
/// rnn.build(&[None, Some(5), Some(3)]).unwrap();
/// assert_eq!(rnn.weights()[0].path(), format!("{}/minimal_rnn_cell/kernel", Layer::name(&rnn)));
/// let y = rnn.call(&Tensor::ones(vec![2, 5, 3]), &mut CallContext::new(false)).unwrap();
/// assert_eq!(y.shape(), &[2, 5, 4]);
/// ```
pub trait RnnCell: Layer {
    /// The size of each state (Keras `state_size`, as a list): `[units]` for a simple cell,
    /// `[units, units]` for an LSTM cell (`h`, `c`). A stack of cells lists every cell's
    /// states in order (Keras's flattened `state_size`).
    fn state_size(&self) -> Vec<usize>;
    /// The size of the output of a step (Keras `output_size`); default: the first state's.
    fn output_size(&self) -> usize {
        self.state_size().first().copied().unwrap_or(0)
    }
    /// One time step (Keras `cell.call(inputs, states)`): `inputs` is `(batch, features)` (the
    /// step's slice of the sequence), `states` one `(batch, size)` tensor per
    /// [`RnnCell::state_size`]; returns the output and the new states.
    fn step(
        &self,
        inputs: &Tensor,
        states: &[Tensor],
        ctx: &mut CallContext,
    ) -> Result<(Tensor, Vec<Tensor>)>;
    /// Called by the RNN layer before each sequence: a cell that keeps something for one
    /// sequence (the built-in cells' dropout masks, Keras `reset_dropout_mask`) forgets it.
    /// The default does nothing.
    fn reset_sequence(&self) {}
}

/// Rebuilds a cell from its serialized form (`{"module", "class_name", "config",
/// "registered_name"}`, as Keras writes the `cell` of an `RNN` config): a built-in cell
/// (`SimpleRNNCell`, `LSTMCell`, `GRUCell`), a `StackedRNNCells`, or a cell registered with
/// [`crate::saving::register_rnn_cell`]. Anything else gets Keras's "Could not locate class".
pub fn deserialize_cell(v: &Value) -> Result<Box<dyn RnnCell>> {
    let class = v
        .get("class_name")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::Config(format!("cell config without class_name: {v}")))?;
    let cfg = v.get("config").cloned().unwrap_or(Value::Null);
    let registered = v.get("registered_name").and_then(Value::as_str).unwrap_or(class);
    if let Some(cell) = object_registration::deserialize_registered_cell(registered, &cfg) {
        return cell;
    }
    let module = v.get("module").and_then(Value::as_str);
    let builtin = module.is_none_or(|m| m == "keras" || m.starts_with("keras."));
    Ok(match class {
        "SimpleRNNCell" if builtin => Box::new(SimpleRNNCell::from_config(&cfg)?),
        "LSTMCell" if builtin => Box::new(LSTMCell::from_config(&cfg)?),
        "GRUCell" if builtin => Box::new(GRUCell::from_config(&cfg)?),
        "StackedRNNCells" if builtin => Box::new(StackedRNNCells::from_config(&cfg)?),
        _ if object_registration::is_registered(registered) => keras_bail!(
            Config,
            "The class '{registered}' is registered as a layer, not as an RNN cell: register it with \
             keras::saving::register_rnn_cell to use it inside an RNN"
        ),
        _ => match object_registration::could_not_locate(class, v) {
            Err(e) => return Err(e),
            Ok(_) => keras_bail!(Config, "Could not locate the cell class '{class}'"),
        },
    })
}
