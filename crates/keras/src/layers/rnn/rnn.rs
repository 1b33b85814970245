//! `RNN`: Keras's generic recurrent layer over a cell. Over one built-in cell
//! (`SimpleRNNCell`, `LSTMCell`, `GRUCell`) it runs the same fused whole-sequence op as
//! `SimpleRNN` / `LSTM` / `GRU` (Keras's `RNN(LSTMCell(n))` is numerically `LSTM(n)`), with
//! the weights in the `cell` sub-layer where Keras saves them; over any other [`RnnCell`] (a
//! [`crate::layers::StackedRNNCells`], a user-written cell) it steps the cell
//! (`cell_rnn`). The built-in cells are [`RnnCell`]s too, so they stack.

use serde_json::{json, Map, Value};

use super::base::{Recurrent, RecurrentKind};
use super::cell_rnn::{CellRnn, SequenceFlags};
use super::rnn_cell::{deserialize_cell, RnnCell};
use super::stacked_rnn_cells::StackedRNNCells;
use crate::layers::layer::{CallContext, Layer, LayerBase, Shape, Sublayer, Variable};
use crate::layers::layer_args::LayerCfg;
use crate::{keras_bail, Result, Tensor};

/// The config keys of the built-in cells, in Keras's order: each cell writes the ones its kind
/// has (see [`RecurrentKind::has_arg`]).
const CELL_KEYS: [&str; 18] = [
    "units",
    "activation",
    "recurrent_activation",
    "use_bias",
    "unit_forget_bias",
    "kernel_initializer",
    "recurrent_initializer",
    "bias_initializer",
    "kernel_regularizer",
    "recurrent_regularizer",
    "bias_regularizer",
    "kernel_constraint",
    "recurrent_constraint",
    "bias_constraint",
    "dropout",
    "recurrent_dropout",
    "reset_after",
    "seed",
];

/// The config keys of a built-in cell of `kind`, in Keras's order.
fn cell_keys(kind: RecurrentKind) -> impl Iterator<Item = &'static str> {
    CELL_KEYS.into_iter().filter(move |k| kind.has_arg(k))
}

fn cell_class(kind: RecurrentKind) -> &'static str {
    match kind {
        RecurrentKind::SimpleRnn => "SimpleRNNCell",
        RecurrentKind::Lstm => "LSTMCell",
        RecurrentKind::Gru => "GRUCell",
    }
}

macro_rules! cell_type {
    ($(#[$doc:meta])* $ty:ident, $kind:expr, $snake:literal) => {
        $(#[$doc])*
        pub struct $ty(pub(crate) Recurrent);

        impl $ty {
            /// A cell with `units` outputs and Keras's defaults.
            pub fn new(units: usize) -> Self {
                let mut r = Recurrent::new($kind, units);
                r.cell.base = LayerBase::new($snake);
                $ty(r)
            }
            $crate::layers::rnn::base::recurrent_arg_builders!();
            /// Sets the cell name.
            pub fn name(mut self, name: &str) -> Self {
                self.0.cell.base.name = name.to_string();
                self
            }
        }

        impl $ty {
            /// Rebuilds the cell from its Keras config (the `config` of a serialized cell).
            pub fn from_config(cfg: &Value) -> Result<Self> {
                let mut r = Recurrent::from_config($kind, cfg)?;
                r.cell.base = LayerBase::named(cfg.get("name").and_then(Value::as_str).unwrap_or($snake));
                r.cell.base.trainable = r.base.trainable;
                Ok($ty(r))
            }
        }

        impl From<$ty> for Recurrent {
            fn from(c: $ty) -> Self {
                c.0
            }
        }

        impl From<$ty> for RnnCellArg {
            fn from(c: $ty) -> Self {
                RnnCellArg::Fused(c.0)
            }
        }

        /// The cell as a layer (Keras's cell object): its weights `kernel`, `recurrent_kernel`,
        /// `bias`, built for one step's input `(batch, features)`.
        impl Layer for $ty {
            crate::layers::layer::layer_base_methods!(cell_class($kind), 0.cell.base);
            fn build(&mut self, input_shape: &[Option<usize>]) -> Result<()> {
                if let Some(e) = &self.0.base.pending_error {
                    return Err(e.clone());
                }
                if input_shape.len() != 2 {
                    keras_bail!(
                        Shape,
                        "{} '{}' is built for one step's input (batch, features), received input_shape={}",
                        cell_class($kind),
                        self.0.cell.base.name,
                        crate::layers::layer::shape_str(input_shape)
                    );
                }
                self.0.build(&[input_shape[0], None, input_shape[1]])?;
                self.0.cell.base.build_input_shape = Some(input_shape.to_vec());
                crate::layers::assign_paths(self, "");
                Ok(())
            }
            fn compute_output_shape(&self, input_shape: &[Option<usize>]) -> Result<Shape> {
                Ok(vec![input_shape.first().copied().flatten(), Some(self.0.args.units)])
            }
            fn call(&self, _x: &Tensor, _ctx: &mut CallContext) -> Result<Tensor> {
                keras_bail!(
                    State,
                    "{} '{}' is a cell: it runs inside an RNN layer (or through RnnCell::step with its states)",
                    cell_class($kind),
                    self.0.cell.base.name
                )
            }
            fn own_weights(&self) -> Vec<&Variable> {
                self.0.cell.own_weights()
            }
            fn own_weights_mut(&mut self) -> Vec<&mut Variable> {
                self.0.cell.own_weights_mut()
            }
            fn get_config(&self) -> Value {
                Value::Object(builtin_cell_config(&self.0))
            }
        }

        impl RnnCell for $ty {
            fn state_size(&self) -> Vec<usize> {
                vec![self.0.args.units; self.0.num_states()]
            }
            fn output_size(&self) -> usize {
                self.0.args.units
            }
            fn step(
                &self,
                inputs: &Tensor,
                states: &[Tensor],
                ctx: &mut CallContext,
            ) -> Result<(Tensor, Vec<Tensor>)> {
                self.0.step(inputs, states, ctx)
            }
            fn reset_sequence(&self) {
                self.0.clear_step_masks();
            }
        }
    };
}

/// The config of a built-in cell as Keras writes it (`name`, `trainable`, `dtype`, then the
/// cell's own keys).
fn builtin_cell_config(r: &Recurrent) -> Map<String, Value> {
    let inner = r.get_config();
    let mut m = Map::new();
    m.insert("name".into(), json!(r.cell.base.name));
    m.insert("trainable".into(), json!(r.cell.base.trainable && r.base.trainable));
    m.insert("dtype".into(), inner["dtype"].clone());
    for k in cell_keys(r.kind) {
        m.insert(k.into(), inner.get(k).cloned().unwrap_or(Value::Null));
    }
    m
}

/// What [`RNN::new`] takes: a built-in cell (run by the fused op), or any [`RnnCell`] (a
/// `Box<dyn RnnCell>`, a [`StackedRNNCells`], or a list of cells, stacked as Keras's
/// `RNN([cell1, cell2])` does).
// One value per RNN layer, moved once into it: boxing the large variant would buy nothing.
#[allow(clippy::large_enum_variant)]
pub enum RnnCellArg {
    /// One built-in cell.
    Fused(Recurrent),
    /// Any cell, stepped.
    Cell(Box<dyn RnnCell>),
}

impl From<Box<dyn RnnCell>> for RnnCellArg {
    fn from(c: Box<dyn RnnCell>) -> Self {
        RnnCellArg::Cell(c)
    }
}

impl From<StackedRNNCells> for RnnCellArg {
    fn from(c: StackedRNNCells) -> Self {
        RnnCellArg::Cell(Box::new(c))
    }
}

impl From<Vec<Box<dyn RnnCell>>> for RnnCellArg {
    fn from(cells: Vec<Box<dyn RnnCell>>) -> Self {
        RnnCellArg::Cell(Box::new(StackedRNNCells::new(cells)))
    }
}

cell_type!(
    /// Keras `keras.layers.SimpleRNNCell`, for [`RNN`]: `h_t = activation(x W + h_{t-1} U + b)`.
    SimpleRNNCell,
    RecurrentKind::SimpleRnn,
    "simple_rnn_cell"
);
cell_type!(
    /// Keras `keras.layers.LSTMCell`, for [`RNN`] (gates `i, f, c, o`).
    LSTMCell,
    RecurrentKind::Lstm,
    "lstm_cell"
);
cell_type!(
    /// Keras `keras.layers.GRUCell`, for [`RNN`] (gates `z, r, h`).
    GRUCell,
    RecurrentKind::Gru,
    "gru_cell"
);

impl LSTMCell {
    super::cell_rnn::recurrent_options! {
        /// Gate activation (default `"sigmoid"`).
        recurrent_activation,
        /// Initialize the forget-gate bias to ones (default true).
        unit_forget_bias in args,
    }
}

impl GRUCell {
    super::cell_rnn::recurrent_options! {
        /// Gate activation (default `"sigmoid"`).
        recurrent_activation,
        /// Apply the reset gate after the recurrent matmul (default true, cuDNN-compatible).
        reset_after in args,
    }
}

/// Keras `keras.layers.RNN`: a recurrent layer over a cell. One built-in cell runs as the
/// fused op of `SimpleRNN` / `LSTM` / `GRU`; any other [`RnnCell`] (a [`StackedRNNCells`],
/// a list of cells, a user-written cell) is stepped over the time axis.
///
/// ```
/// use keras::layers::{GRUCell, LSTMCell, Layer, RnnCell, RNN};
/// let mut rnn = RNN::new(LSTMCell::new(8)).return_sequences(true);
/// rnn.build(&[None, Some(5), Some(3)]).unwrap();
/// assert_eq!(rnn.weights()[0].path(), "rnn/lstm_cell/kernel");
///
/// // A list of cells is stacked, as Keras's `RNN([LSTMCell(8), GRUCell(4)])`.
/// let cells: Vec<Box<dyn RnnCell>> = vec![Box::new(LSTMCell::new(8)), Box::new(GRUCell::new(4))];
/// let mut stacked = RNN::new(cells).name("stack");
/// stacked.build(&[None, Some(5), Some(3)]).unwrap();
/// assert_eq!(stacked.weights()[3].path(), "stack/stacked_rnn_cells/gru_cell/kernel");
/// ```
pub struct RNN(Inner);

// The layer's one cell, held inline (see RnnCellArg).
#[allow(clippy::large_enum_variant)]
enum Inner {
    Fused(Recurrent),
    Cell(CellRnn),
}

impl RNN {
    /// A layer over `cell`: a [`SimpleRNNCell`], [`LSTMCell`] or [`GRUCell`], a
    /// [`StackedRNNCells`], a `Vec<Box<dyn RnnCell>>` (stacked) or a `Box<dyn RnnCell>`.
    pub fn new(cell: impl Into<RnnCellArg>) -> Self {
        let base = LayerBase::new("rnn");
        match cell.into() {
            RnnCellArg::Fused(mut r) => {
                r.base.name = base.name;
                RNN(Inner::Fused(r))
            }
            RnnCellArg::Cell(c) => RNN(Inner::Cell(CellRnn::new(base, c))),
        }
    }

    /// The RNN flags of whichever kind of RNN this is.
    fn flags_mut(&mut self) -> &mut SequenceFlags {
        match &mut self.0 {
            Inner::Fused(r) => &mut r.flags,
            Inner::Cell(c) => &mut c.flags,
        }
    }

    /// A layer over a cell of your own (any [`RnnCell`]; see there for an example).
    pub fn with_cell<C: RnnCell>(cell: C) -> Self {
        RNN::new(Box::new(cell) as Box<dyn RnnCell>)
    }

    super::cell_rnn::sequence_flag_builders!(|s| s.flags_mut(), zero_output_for_mask);
    /// `input_shape` (without batch) for the first layer of a Sequential model.
    pub fn input_shape(mut self, shape: &[usize]) -> Self {
        self.base_mut().input_shape = Some(shape.to_vec());
        self
    }

    /// Sets the layer name.
    pub fn name(mut self, name: &str) -> Self {
        self.base_mut().rename(name);
        self
    }

    /// The cell, when it is not one of the built-in cells run by the fused op.
    pub fn cell(&self) -> Option<&dyn RnnCell> {
        match &self.0 {
            Inner::Fused(_) => None,
            Inner::Cell(c) => Some(&*c.cell),
        }
    }

    /// Clears the states of a stateful layer.
    pub fn reset_states(&self) {
        match &self.0 {
            Inner::Fused(r) => r.reset_states(),
            Inner::Cell(c) => c.reset_states(),
        }
    }

    /// Calls the layer from explicit initial states (one per state of the cell, in order) and
    /// an optional `(batch, time)` mask; returns every output.
    pub fn call_with_state(
        &self,
        x: &Tensor,
        initial_state: &[Tensor],
        mask: Option<&Tensor>,
        ctx: &mut CallContext,
    ) -> Result<Vec<Tensor>> {
        self.run(x, mask, Some(initial_state), ctx)
    }

    /// Runs whichever kind of RNN this is: `[output, states...]`.
    fn run(
        &self,
        x: &Tensor,
        mask: Option<&Tensor>,
        initial_state: Option<&[Tensor]>,
        ctx: &mut CallContext,
    ) -> Result<Vec<Tensor>> {
        match &self.0 {
            Inner::Fused(r) => r.run(x, mask, initial_state, ctx),
            Inner::Cell(c) => c.run(x, mask, initial_state, ctx),
        }
    }

    /// Rebuilds from a Keras config: `cell` one of the built-in cells, a `StackedRNNCells`, or
    /// a cell registered with [`crate::saving::register_rnn_cell`].
    pub fn from_config(cfg: &Value) -> Result<Self> {
        let cell = crate::layers::reshaping::args::required(cfg, "cell", "RNN")?;
        let class = cell.get("class_name").and_then(Value::as_str).unwrap_or("");
        let plain = cell.get("registered_name").is_none_or(Value::is_null)
            && cell.get("module").and_then(Value::as_str).is_none_or(|m| m.starts_with("keras"));
        let kind = match class {
            "SimpleRNNCell" if plain => RecurrentKind::SimpleRnn,
            "LSTMCell" if plain => RecurrentKind::Lstm,
            "GRUCell" if plain => RecurrentKind::Gru,
            _ => {
                let mut c = CellRnn::new(LayerBase::named("rnn"), deserialize_cell(cell)?);
                c.base.apply_config(cfg);
                c.flags = SequenceFlags::read_args(&mut LayerCfg::new(cfg, "RNN"))?;
                return Ok(RNN(Inner::Cell(c)));
            }
        };
        let cell_cfg = cell.get("config").and_then(Value::as_object).cloned().unwrap_or_default();
        let mut merged: Map<String, Value> = cell_cfg.clone();
        for k in SequenceFlags::CONFIG_KEYS {
            if let Some(v) = cfg.get(k) {
                merged.insert(k.to_string(), v.clone());
            }
        }
        merged.remove("name");
        merged.remove("trainable");
        let mut r = Recurrent::from_config(kind, &Value::Object(merged))?;
        r.base.apply_config(cfg);
        if let Some(n) = cell_cfg.get("name").and_then(Value::as_str) {
            r.cell.base.name = n.to_string();
        }
        Ok(RNN(Inner::Fused(r)))
    }
}

/// The cell's config of a fused RNN, as Keras writes it.
fn fused_cell_config(r: &Recurrent) -> Value {
    let mut v = json!({
        "module": "keras.layers",
        "class_name": cell_class(r.kind),
        "config": Value::Object(builtin_cell_config(r)),
        "registered_name": null,
    });
    if let Some(s) = &r.base.build_input_shape {
        if s.len() == 3 {
            v["build_config"] = json!({ "input_shape": [s[0], s[2]] });
        }
    }
    v
}

impl Layer for RNN {
    fn class_name(&self) -> &'static str {
        "RNN"
    }
    fn base(&self) -> &LayerBase {
        match &self.0 {
            Inner::Fused(r) => &r.base,
            Inner::Cell(c) => &c.base,
        }
    }
    fn base_mut(&mut self) -> &mut LayerBase {
        match &mut self.0 {
            Inner::Fused(r) => &mut r.base,
            Inner::Cell(c) => &mut c.base,
        }
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn build(&mut self, input_shape: &[Option<usize>]) -> Result<()> {
        match &mut self.0 {
            Inner::Fused(r) => r.build(input_shape),
            Inner::Cell(c) => c.build(input_shape),
        }
    }
    fn compute_output_shape(&self, s: &[Option<usize>]) -> Result<Shape> {
        match &self.0 {
            Inner::Fused(r) => r.compute_output_shape(s),
            Inner::Cell(c) => c.compute_output_shape(s),
        }
    }
    fn compute_output_shapes(&self, input_shapes: &[Shape]) -> Result<Vec<Shape>> {
        match &self.0 {
            Inner::Fused(r) => Layer::compute_output_shapes(r, input_shapes),
            Inner::Cell(c) => c.compute_output_shapes(input_shapes),
        }
    }
    fn call(&self, x: &Tensor, ctx: &mut CallContext) -> Result<Tensor> {
        Ok(self.call_outputs(x, None, ctx)?.swap_remove(0))
    }
    fn call_masked(&self, x: &Tensor, mask: Option<&Tensor>, ctx: &mut CallContext) -> Result<Tensor> {
        Ok(self.call_outputs(x, mask, ctx)?.swap_remove(0))
    }
    fn call_outputs(&self, x: &Tensor, mask: Option<&Tensor>, ctx: &mut CallContext) -> Result<Vec<Tensor>> {
        self.run(x, mask, None, ctx)
    }
    super::cell_rnn::recurrent_call_methods!();
    fn compute_mask(&self, x: &Tensor, mask: Option<&Tensor>) -> Result<Option<Tensor>> {
        match &self.0 {
            Inner::Fused(r) => Ok(r.compute_mask(mask)),
            Inner::Cell(c) => c.compute_mask(x, mask),
        }
    }
    fn sublayers(&self) -> Vec<Sublayer<'_>> {
        match &self.0 {
            Inner::Fused(r) => Layer::sublayers(r),
            Inner::Cell(c) => c.sublayers(),
        }
    }
    fn own_weights_and_sublayers_mut(&mut self) -> (Vec<&mut Variable>, Vec<&mut dyn Layer>) {
        match &mut self.0 {
            Inner::Fused(r) => Layer::own_weights_and_sublayers_mut(r),
            Inner::Cell(c) => c.own_weights_and_sublayers_mut(),
        }
    }
    fn get_config(&self) -> Value {
        match &self.0 {
            Inner::Fused(r) => {
                let inner = r.get_config();
                let mut m = r.base.base_config();
                for k in SequenceFlags::CONFIG_KEYS {
                    m.insert(k.to_string(), inner[k].clone());
                }
                m.insert("cell".into(), fused_cell_config(r));
                Value::Object(m)
            }
            Inner::Cell(c) => c.get_config(),
        }
    }
}
