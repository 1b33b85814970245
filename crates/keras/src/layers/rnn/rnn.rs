//! `RNN`: Keras's generic recurrent layer over a cell. Over the built-in cells
//! (`SimpleRNNCell`, `LSTMCell`, `GRUCell`) it runs the same fused whole-sequence op as
//! `SimpleRNN` / `LSTM` / `GRU` (Keras's `RNN(LSTMCell(n))` is numerically `LSTM(n)`), with
//! the weights in the `cell` sub-layer where Keras saves them.

use serde_json::{json, Map, Value};

use super::base::{Recurrent, RecurrentKind};
use crate::layers::layer::{CallContext, Layer, LayerBase, Shape, Sublayer, Variable};
use crate::{keras_bail, Error, Result, Tensor};

/// The flags of an `RNN` config (the rest of a built-in layer's config belongs to its cell).
const RNN_FLAGS: [&str; 6] =
    ["return_sequences", "return_state", "go_backwards", "stateful", "unroll", "zero_output_for_mask"];

/// The config keys of each built-in cell, in Keras's order.
fn cell_keys(kind: RecurrentKind) -> &'static [&'static str] {
    match kind {
        RecurrentKind::SimpleRnn => &[
            "units",
            "activation",
            "use_bias",
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
            "seed",
        ],
        RecurrentKind::Gru => &[
            "units",
            "activation",
            "recurrent_activation",
            "use_bias",
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
        ],
        RecurrentKind::Lstm => &[
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
            "seed",
        ],
    }
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
            /// Activation by Keras name (default `"tanh"`).
            pub fn activation(mut self, name: &str) -> Self {
                self.0.set_activation(false, name);
                self
            }
            /// Whether to add biases (default true).
            pub fn use_bias(mut self, yes: bool) -> Self {
                self.0.use_bias = yes;
                self
            }
            /// Kernel initializer (default glorot_uniform).
            pub fn kernel_initializer(mut self, i: crate::initializers::Initializer) -> Self {
                self.0.kernel_initializer = i;
                self
            }
            /// Recurrent kernel initializer (default orthogonal).
            pub fn recurrent_initializer(mut self, i: crate::initializers::Initializer) -> Self {
                self.0.recurrent_initializer = i;
                self
            }
            /// Bias initializer (default zeros).
            pub fn bias_initializer(mut self, i: crate::initializers::Initializer) -> Self {
                self.0.bias_initializer = i;
                self
            }
            /// Fraction of the input units dropped in training.
            pub fn dropout(mut self, rate: f64) -> Self {
                self.0.set_dropout(false, rate);
                self
            }
            /// Fraction of the recurrent units dropped in training.
            pub fn recurrent_dropout(mut self, rate: f64) -> Self {
                self.0.set_dropout(true, rate);
                self
            }
            /// Seed of the dropout masks.
            pub fn seed(mut self, seed: u64) -> Self {
                self.0.set_seed(Some(seed));
                self
            }
            /// Sets the cell name.
            pub fn name(mut self, name: &str) -> Self {
                self.0.cell.base.name = name.to_string();
                self
            }
        }

        impl From<$ty> for Recurrent {
            fn from(c: $ty) -> Self {
                c.0
            }
        }
    };
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
    /// Gate activation (default `"sigmoid"`).
    pub fn recurrent_activation(mut self, name: &str) -> Self {
        self.0.set_activation(true, name);
        self
    }
    /// Initialize the forget-gate bias to ones (default true).
    pub fn unit_forget_bias(mut self, yes: bool) -> Self {
        self.0.unit_forget_bias = yes;
        self
    }
}

impl GRUCell {
    /// Gate activation (default `"sigmoid"`).
    pub fn recurrent_activation(mut self, name: &str) -> Self {
        self.0.set_activation(true, name);
        self
    }
    /// Apply the reset gate after the recurrent matmul (default true, cuDNN-compatible).
    pub fn reset_after(mut self, yes: bool) -> Self {
        self.0.reset_after = yes;
        self
    }
}

/// Keras `keras.layers.RNN`: a recurrent layer over a cell, here one of the built-in cells.
///
/// ```
/// use keras::layers::{Layer, LSTMCell, RNN};
/// let mut rnn = RNN::new(LSTMCell::new(8)).return_sequences(true);
/// rnn.build(&[None, Some(5), Some(3)]).unwrap();
/// assert_eq!(rnn.weights()[0].path(), "rnn/lstm_cell/kernel");
/// ```
pub struct RNN(Recurrent);

impl RNN {
    /// A layer over `cell` (a [`SimpleRNNCell`], [`LSTMCell`] or [`GRUCell`]).
    pub fn new(cell: impl Into<Recurrent>) -> Self {
        let mut r = cell.into();
        r.base.name = crate::backend::unique_name("rnn");
        RNN(r)
    }

    /// Return the whole output sequence instead of the last output.
    pub fn return_sequences(mut self, yes: bool) -> Self {
        self.0.return_sequences = yes;
        self
    }
    /// Also return the final states.
    pub fn return_state(mut self, yes: bool) -> Self {
        self.0.return_state = yes;
        self
    }
    /// Process the sequence backwards.
    pub fn go_backwards(mut self, yes: bool) -> Self {
        self.0.go_backwards = yes;
        self
    }
    /// Carry the final states into the next batch.
    pub fn stateful(mut self, yes: bool) -> Self {
        self.0.stateful = yes;
        self
    }
    /// Masked steps output zeros instead of the previous output.
    pub fn zero_output_for_mask(mut self, yes: bool) -> Self {
        self.0.zero_output_for_mask = yes;
        self
    }
    /// `input_shape` (without batch) for the first layer of a Sequential model.
    pub fn input_shape(mut self, shape: &[usize]) -> Self {
        self.0.base.input_shape = Some(shape.to_vec());
        self
    }

    /// Sets the layer name.
    pub fn name(mut self, name: &str) -> Self {
        self.0.base.name = name.to_string();
        self
    }

    /// Clears the states of a stateful layer.
    pub fn reset_states(&self) {
        self.0.reset_states();
    }

    /// Rebuilds from a Keras config (`cell` one of the built-in cells).
    pub fn from_config(cfg: &Value) -> Result<Self> {
        let cell = cfg.get("cell").ok_or_else(|| Error::Config("RNN config needs `cell`".into()))?;
        let class = cell.get("class_name").and_then(Value::as_str).unwrap_or("");
        let kind = match class {
            "SimpleRNNCell" => RecurrentKind::SimpleRnn,
            "LSTMCell" => RecurrentKind::Lstm,
            "GRUCell" => RecurrentKind::Gru,
            "StackedRNNCells" => keras_bail!(Config, "RNN: StackedRNNCells (a list of cells) is not supported by keras-rs yet"),
            other => keras_bail!(
                Config,
                "RNN: the cell class '{other}' is not supported by keras-rs (SimpleRNNCell, LSTMCell and GRUCell are)"
            ),
        };
        let cell_cfg = cell.get("config").and_then(Value::as_object).cloned().unwrap_or_default();
        let mut merged: Map<String, Value> = cell_cfg.clone();
        for k in RNN_FLAGS {
            if let Some(v) = cfg.get(k) {
                merged.insert(k.into(), v.clone());
            }
        }
        merged.remove("name");
        merged.remove("trainable");
        let mut r = Recurrent::from_config(kind, &Value::Object(merged))?;
        r.base.apply_config(cfg);
        if let Some(n) = cell_cfg.get("name").and_then(Value::as_str) {
            r.cell.base.name = n.to_string();
        }
        Ok(RNN(r))
    }

    /// The cell's config as Keras writes it.
    fn cell_config(&self) -> Value {
        let inner = self.0.get_config();
        let mut m = Map::new();
        m.insert("name".into(), json!(self.0.cell.base.name));
        m.insert("trainable".into(), inner["trainable"].clone());
        m.insert("dtype".into(), inner["dtype"].clone());
        for k in cell_keys(self.0.kind) {
            m.insert((*k).into(), inner.get(*k).cloned().unwrap_or(Value::Null));
        }
        let mut v = json!({
            "module": "keras.layers",
            "class_name": cell_class(self.0.kind),
            "config": Value::Object(m),
            "registered_name": null,
        });
        if let Some(s) = &self.0.base.build_input_shape {
            if s.len() == 3 {
                v["build_config"] = json!({ "input_shape": [s[0], s[2]] });
            }
        }
        v
    }
}

impl Layer for RNN {
    fn class_name(&self) -> &'static str {
        "RNN"
    }
    fn base(&self) -> &LayerBase {
        &self.0.base
    }
    fn base_mut(&mut self) -> &mut LayerBase {
        &mut self.0.base
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn build(&mut self, input_shape: &[Option<usize>]) -> Result<()> {
        self.0.build(input_shape)
    }
    fn compute_output_shape(&self, s: &[Option<usize>]) -> Result<Shape> {
        self.0.compute_output_shape(s)
    }
    fn call(&self, x: &Tensor, ctx: &mut CallContext) -> Result<Tensor> {
        Ok(self.0.run(x, None, None, ctx)?.swap_remove(0))
    }
    fn call_masked(&self, x: &Tensor, mask: Option<&Tensor>, ctx: &mut CallContext) -> Result<Tensor> {
        Ok(self.0.run(x, mask, None, ctx)?.swap_remove(0))
    }
    fn call_outputs(&self, x: &Tensor, mask: Option<&Tensor>, ctx: &mut CallContext) -> Result<Vec<Tensor>> {
        self.0.run(x, mask, None, ctx)
    }
    fn compute_mask(&self, _x: &Tensor, mask: Option<&Tensor>) -> Result<Option<Tensor>> {
        Ok(self.0.compute_mask(mask))
    }
    fn sublayers(&self) -> Vec<Sublayer<'_>> {
        Layer::sublayers(&self.0)
    }
    fn own_weights_and_sublayers_mut(&mut self) -> (Vec<&mut Variable>, Vec<&mut dyn Layer>) {
        Layer::own_weights_and_sublayers_mut(&mut self.0)
    }
    fn get_config(&self) -> Value {
        let inner = self.0.get_config();
        let mut m = self.0.base.base_config();
        for k in RNN_FLAGS {
            m.insert(k.into(), inner[k].clone());
        }
        m.insert("cell".into(), self.cell_config());
        Value::Object(m)
    }
}
