//! The machinery shared by `SimpleRNN`, `LSTM` and `GRU`: arguments, weights, configs, and
//! the call into the engine's fused recurrent op (one op per sequence, backward through time
//! written by hand).

use std::sync::Mutex;

use super::cell_rnn::{
    cell_layer_methods, check_time_mask, stepped_layer_common, CarriedStates, SequenceFlags,
};

use keras_engine::ops::{self, RnnArgs, RnnCell, RnnInputs};
use keras_engine::{with_global_rng, Rng};
use serde_json::{Map, Value};

pub use super::cell::RecurrentCell;
use crate::activations::Activation;
use crate::initializers::Initializer;
use crate::layers::layer::{shape_str, CallContext, Layer, LayerBase, Shape, Sublayer, Variable};
use crate::layers::layer_args::{LayerArgs, LayerCfg};
use crate::layers::reshaping::args::ndim_error;
use crate::utils::config_args::{config_args, ConfigArg};
use crate::{keras_bail, Error, Result, Tensor};

/// Which recurrent layer a [`Recurrent`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecurrentKind {
    /// `SimpleRNN`.
    SimpleRnn,
    /// `LSTM`.
    Lstm,
    /// `GRU`.
    Gru,
}

impl RecurrentKind {
    /// Keras class name.
    pub fn class_name(self) -> &'static str {
        match self {
            RecurrentKind::SimpleRnn => "SimpleRNN",
            RecurrentKind::Lstm => "LSTM",
            RecurrentKind::Gru => "GRU",
        }
    }

    /// The automatic layer name prefix (`lstm`).
    pub fn snake_name(self) -> &'static str {
        match self {
            RecurrentKind::SimpleRnn => "simple_rnn",
            RecurrentKind::Lstm => "lstm",
            RecurrentKind::Gru => "gru",
        }
    }

    /// Whether the layer and cell of this kind take the argument `key`: `recurrent_activation`
    /// all but `SimpleRNN`, `unit_forget_bias` only `LSTM`, `reset_after` only `GRU`, the
    /// rest every kind.
    pub(crate) fn has_arg(self, key: &str) -> bool {
        match key {
            "recurrent_activation" => self != RecurrentKind::SimpleRnn,
            "unit_forget_bias" => self == RecurrentKind::Lstm,
            "reset_after" => self == RecurrentKind::Gru,
            _ => true,
        }
    }

    /// Whether the layer of this kind writes the argument `key` in its config: those it
    /// takes ([`Self::has_arg`]), `seed` all but `SimpleRNN`.
    pub(crate) fn writes(self, key: &str) -> bool {
        self.has_arg(key) && (key != "seed" || self != RecurrentKind::SimpleRnn)
    }

    /// The kind for a Keras class name.
    pub fn from_class_name(name: &str) -> Option<Self> {
        match name {
            "SimpleRNN" => Some(RecurrentKind::SimpleRnn),
            "LSTM" => Some(RecurrentKind::Lstm),
            "GRU" => Some(RecurrentKind::Gru),
            _ => None,
        }
    }
}

/// A recurrent layer over `(batch, time, features)` inputs: the state and arguments shared by
/// [`crate::layers::SimpleRNN`], [`crate::layers::LSTM`] and [`crate::layers::GRU`].
pub struct Recurrent {
    pub(crate) base: LayerBase,
    pub(crate) kind: RecurrentKind,
    /// The Keras arguments (those of the RNN flags aside).
    pub(crate) args: RecurrentArgs,
    pub(crate) flags: SequenceFlags,
    /// The cell holding the weights (Keras `layer.cell`, saved under `cell`).
    pub(crate) cell: RecurrentCell,
    /// Stateful layers: the last states, carried to the next batch.
    states: CarriedStates,
    /// The dropout generator of `args.seed` (made at the first draw; without a seed, the
    /// global one).
    rng: Mutex<Option<Rng>>,
    /// A cell stepped by the generic RNN: the input and recurrent dropout masks of the current
    /// sequence (Keras's cached `get_dropout_mask`), cleared before each sequence.
    step_masks: Mutex<Option<StepMasks>>,
}

config_args! {
    /// The Keras arguments of `SimpleRNN`, `LSTM` and `GRU` (and of their cells), in Keras's
    /// `get_config()` order after the [`SequenceFlags`]; a layer writes those of its kind
    /// ([`RecurrentKind::writes`]).
    pub(crate) struct RecurrentArgs, family LayerArgs {
        pub(crate) units: usize,
        pub(crate) activation: Activation = Activation::Tanh,
        pub(crate) recurrent_activation: Activation = Activation::Sigmoid,
        pub(crate) use_bias: bool = true,
        pub(crate) kernel_initializer: Initializer = Initializer::glorot_uniform(),
        pub(crate) recurrent_initializer: Initializer = Initializer::Orthogonal { gain: 1.0, seed: None },
        pub(crate) bias_initializer: Initializer = Initializer::Zeros,
        pub(crate) unit_forget_bias: bool = true,
        pub(crate) kernel_regularizer: NotTaken = NotTaken,
        pub(crate) recurrent_regularizer: NotTaken = NotTaken,
        pub(crate) bias_regularizer: NotTaken = NotTaken,
        pub(crate) activity_regularizer: NotTaken = NotTaken,
        pub(crate) kernel_constraint: NotTaken = NotTaken,
        pub(crate) recurrent_constraint: NotTaken = NotTaken,
        pub(crate) bias_constraint: NotTaken = NotTaken,
        pub(crate) dropout: f64 = 0.0,
        pub(crate) recurrent_dropout: f64 = 0.0,
        pub(crate) reset_after: bool = true,
        pub(crate) seed: Option<u64> = None,
    }
}

/// An argument Keras writes that the fused recurrent layers do not take (the regularizers and
/// constraints of their weights, the activity regularizer): written `null`; a config's value
/// is not read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct NotTaken;

impl ConfigArg<LayerArgs> for NotTaken {
    fn to_config(&self) -> Value {
        Value::Null
    }
    fn from_config(_src: &mut LayerCfg<'_>, _key: &str, _default: Option<Self>) -> Result<Self> {
        Ok(NotTaken)
    }
}

/// The dropout masks a stepped cell keeps for one sequence.
type StepMasks = (Option<Tensor>, Option<Tensor>);

fn check_rate(base: &mut LayerBase, arg: &str, rate: f64) {
    if !(0.0..=1.0).contains(&rate) {
        base.fail(Error::InvalidArgument(format!(
            "Layer {}: invalid value for `{arg}`, expected a float in [0, 1]. Received: {arg}={rate}",
            base.name
        )));
    }
}

impl Recurrent {
    /// A layer of `kind` with `units` outputs and Keras's defaults.
    pub fn new(kind: RecurrentKind, units: usize) -> Self {
        let mut base = LayerBase::new(kind.snake_name());
        if units == 0 {
            base.fail(Error::InvalidArgument(format!(
                "Received an invalid value for argument `units`, expected a positive integer, got 0 (layer {})",
                base.name
            )));
        }
        Recurrent {
            base,
            kind,
            args: RecurrentArgs { units, ..RecurrentArgs::defaults() },
            flags: SequenceFlags::default(),
            cell: RecurrentCell::new(kind),
            states: CarriedStates::default(),
            rng: Mutex::new(None),
            step_masks: Mutex::new(None),
        }
    }

    pub(crate) fn set_activation(&mut self, recurrent: bool, name: &str) {
        match Activation::from_name(name) {
            Ok(a) => self.set_activation_obj(recurrent, a),
            Err(e) => self.base.fail(e),
        }
    }

    pub(crate) fn set_activation_obj(&mut self, recurrent: bool, a: Activation) {
        let arg = if recurrent { "recurrent_activation" } else { "activation" };
        // Any element-wise activation runs in the fused recurrent op; softmax-like ones, which
        // mix the units, do not.
        if a.unary().is_none() {
            self.base.fail(Error::InvalidArgument(format!(
                "Layer {}: {arg}='{}' is not element-wise and cannot be a recurrent activation",
                self.base.name,
                a.name()
            )));
        }
        if recurrent {
            self.args.recurrent_activation = a;
        } else {
            self.args.activation = a;
        }
    }

    pub(crate) fn set_dropout(&mut self, recurrent: bool, rate: f64) {
        let arg = if recurrent { "recurrent_dropout" } else { "dropout" };
        check_rate(&mut self.base, arg, rate);
        if recurrent {
            self.args.recurrent_dropout = rate;
        } else {
            self.args.dropout = rate;
        }
    }

    pub(crate) fn set_seed(&mut self, seed: Option<u64>) {
        self.args.seed = seed;
        *self.rng.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// Rebuilds a layer of `kind` from its Keras config.
    pub fn from_config(kind: RecurrentKind, cfg: &Value) -> Result<Self> {
        let src = &mut LayerCfg::new(cfg, kind.class_name());
        let flags = SequenceFlags::read_args(src)?;
        let args = RecurrentArgs::read_args(src)?;
        let mut r = Recurrent::new(kind, args.units);
        r.base.apply_config(cfg);
        r.flags = flags;
        // The builders' checks (element-wise activations, rates in [0, 1]) are the config's.
        r.set_activation_obj(false, args.activation);
        r.set_activation_obj(true, args.recurrent_activation);
        r.set_dropout(false, args.dropout);
        r.set_dropout(true, args.recurrent_dropout);
        r.args = args;
        r.base.take_pending()?;
        Ok(r)
    }

    fn gates(&self) -> usize {
        match self.kind {
            RecurrentKind::SimpleRnn => 1,
            RecurrentKind::Lstm => 4,
            RecurrentKind::Gru => 3,
        }
    }

    fn engine_cell(&self) -> RnnCell {
        match self.kind {
            RecurrentKind::SimpleRnn => RnnCell::Simple,
            RecurrentKind::Lstm => RnnCell::Lstm,
            RecurrentKind::Gru => RnnCell::Gru { reset_after: self.args.reset_after },
        }
    }

    /// Number of states (`[h]` or `[h, c]`).
    pub fn num_states(&self) -> usize {
        if self.kind == RecurrentKind::Lstm {
            2
        } else {
            1
        }
    }

    /// Creates kernel `(features, gates*units)`, recurrent kernel `(units, gates*units)` and bias.
    pub fn build(&mut self, input_shape: &[Option<usize>]) -> Result<()> {
        if let Some(e) = &self.base.pending_error {
            return Err(e.clone());
        }
        if input_shape.len() != 3 {
            return Err(ndim_error(&self.base.name, 3, input_shape));
        }
        let Some(features) = input_shape[2] else {
            keras_bail!(
                Shape,
                "Layer {} needs a known feature dimension, received input_shape={}",
                self.base.name,
                shape_str(input_shape)
            );
        };
        let gu = self.gates() * self.args.units;
        let cell = format!("{}/{}", self.base.name, self.cell.base.name);
        self.cell.kernel = Some(Variable::new(
            "kernel",
            &cell,
            self.args.kernel_initializer.initialize(&[features, gu])?,
            true,
        ));
        self.cell.recurrent_kernel = Some(Variable::new(
            "recurrent_kernel",
            &cell,
            self.args.recurrent_initializer.initialize(&[self.args.units, gu])?,
            true,
        ));
        self.cell.bias = if self.args.use_bias {
            let value = match self.kind {
                RecurrentKind::Lstm if self.args.unit_forget_bias => {
                    // Keras: bias_initializer for i, ones for f, bias_initializer for c, o.
                    let u = self.args.units;
                    let i = self.args.bias_initializer.initialize(&[u])?.to_f32_vec();
                    let co = self.args.bias_initializer.initialize(&[2 * u])?.to_f32_vec();
                    let mut v = i;
                    v.extend(std::iter::repeat_n(1.0, u));
                    v.extend(co);
                    Tensor::new(v, vec![4 * u])?
                }
                RecurrentKind::Gru if self.args.reset_after => {
                    self.args.bias_initializer.initialize(&[2, gu])?
                }
                _ => self.args.bias_initializer.initialize(&[gu])?,
            };
            Some(Variable::new("bias", &cell, value, true))
        } else {
            None
        };
        self.cell.base.built = true;
        self.base.build_input_shape = Some(input_shape.to_vec());
        self.base.built = true;
        Ok(())
    }

    /// `(batch, units)`, or `(batch, time, units)` with `return_sequences` (first output only).
    pub fn compute_output_shape(&self, input_shape: &[Option<usize>]) -> Result<Shape> {
        if input_shape.len() != 3 {
            return Err(ndim_error(&self.base.name, 3, input_shape));
        }
        Ok(if self.flags.return_sequences {
            vec![input_shape[0], input_shape[1], Some(self.args.units)]
        } else {
            vec![input_shape[0], Some(self.args.units)]
        })
    }

    /// Every output shape: the output of [`Recurrent::compute_output_shape`], then with
    /// `return_state` one `(batch, units)` shape per state (`h`, or `h, c` for LSTM).
    pub fn output_shapes(&self, input_shape: &[Option<usize>]) -> Result<Vec<Shape>> {
        let mut out = vec![self.compute_output_shape(input_shape)?];
        if self.flags.return_state {
            out.extend((0..self.num_states()).map(|_| vec![input_shape[0], Some(self.args.units)]));
        }
        Ok(out)
    }

    fn dropout_mask(&self, rate: f64, shape: Vec<usize>) -> Result<Tensor> {
        let keep = 1.0 - rate as f32;
        let scale = 1.0 / keep;
        let n: usize = shape.iter().product();
        let make = |r: &mut Rng| -> Vec<f32> {
            (0..n).map(|_| if r.uniform_f32() < keep { scale } else { 0.0 }).collect()
        };
        let data = {
            match self.args.seed {
                Some(seed) => {
                    let mut guard = self.rng.lock().unwrap_or_else(|e| e.into_inner());
                    make(guard.get_or_insert_with(|| Rng::new(seed)))
                }
                None => with_global_rng(make),
            }
        };
        Ok(Tensor::new(data, shape)?)
    }

    /// Runs the layer: `[output]`, or `[output, h(, c)]` with `return_state`. `mask` is
    /// `(batch, time)` (non-zero = valid); `initial_state` overrides the zero (or stateful)
    /// initial states.
    pub fn run(
        &self,
        x: &Tensor,
        mask: Option<&Tensor>,
        initial_state: Option<&[Tensor]>,
        ctx: &CallContext,
    ) -> Result<Vec<Tensor>> {
        let name = &self.base.name;
        let (Some(kernel), Some(rkernel)) = (&self.cell.kernel, &self.cell.recurrent_kernel) else {
            keras_bail!(State, "Layer {name} is not built");
        };
        if x.rank() != 3 {
            keras_bail!(
                Shape,
                "Input 0 of layer \"{name}\" is incompatible with the layer: expected ndim=3, found ndim={}. Full shape received: {:?}",
                x.rank(),
                x.shape()
            );
        }
        let (b, t, d) = (x.shape()[0], x.shape()[1], x.shape()[2]);
        if d != kernel.shape()[0] {
            keras_bail!(
                Shape,
                "Input 0 of layer \"{name}\" is incompatible with the layer: expected axis -1 of input shape to have value {}, but received input with shape {:?}",
                kernel.shape()[0],
                x.shape()
            );
        }
        check_time_mask(name, mask, (b, t))?;
        let x =
            if x.dtype() == keras_engine::DType::F32 { x.clone() } else { x.cast(keras_engine::DType::F32) };
        let u = self.args.units;
        let ns = self.num_states();
        let stored = self.states.for_call(self.flags.stateful, initial_state.is_some(), |s| {
            (s[0].shape()[0] != b).then(|| {
                Error::Value(format!(
                    "Layer {name} is stateful and holds states for batch size {}, but received a batch of {b}; call reset_states() or keep the batch size fixed",
                    s[0].shape()[0]
                ))
            })
        })?;
        let init: Vec<Tensor> = match initial_state {
            Some(s) => {
                if s.len() != ns || s.iter().any(|st| st.shape() != [b, u]) {
                    let shapes: Vec<&[usize]> = s.iter().map(|st| st.shape()).collect();
                    keras_bail!(
                        Value,
                        "Layer {name} expects {ns} initial state tensor(s) of shape ({b}, {u}), received shapes {shapes:?}"
                    );
                }
                s.to_vec()
            }
            None => stored.unwrap_or_default(),
        };
        let training = ctx.training;
        let (dropout, recurrent_dropout) = (self.args.dropout, self.args.recurrent_dropout);
        let x = if training && dropout > 0.0 && dropout < 1.0 {
            let m = self.dropout_mask(dropout, vec![b, 1, d])?;
            ops::mul(&x, &m)?
        } else {
            x
        };
        let rdrop = if training && recurrent_dropout > 0.0 && recurrent_dropout < 1.0 {
            Some(self.dropout_mask(recurrent_dropout, vec![b, u])?)
        } else {
            None
        };
        let f = &self.flags;
        let opts = self.rnn_args(
            &format!("Layer {name}"),
            [f.go_backwards, f.return_sequences, f.zero_output_for_mask],
        )?;
        let inputs = RnnInputs {
            x: &x,
            kernel: kernel.value(),
            recurrent_kernel: rkernel.value(),
            bias: self.cell.bias.as_ref().map(|v| v.value()),
            initial_state: &init,
            mask,
            recurrent_dropout: rdrop.as_ref(),
        };
        let mut outs = ops::rnn(inputs, &opts)?;
        if self.flags.stateful {
            self.states.keep(&outs[1..]);
        }
        if !self.flags.return_state {
            outs.truncate(1);
        }
        Ok(outs)
    }

    /// The engine's arguments of the recurrence: the cell, its activations (one that is not
    /// element-wise is an error naming `who`, "Layer lstm"), and `[go_backwards,
    /// return_sequences, zero_output_for_mask]`.
    fn rnn_args(
        &self,
        who: &str,
        [go_backwards, return_sequences, zero_output_for_mask]: [bool; 3],
    ) -> Result<RnnArgs> {
        let unary = |a: Activation| {
            a.unary().ok_or_else(|| {
                Error::InvalidArgument(format!("{who}: activation {} is not element-wise", a.name()))
            })
        };
        Ok(RnnArgs {
            cell: self.engine_cell(),
            activation: unary(self.args.activation)?,
            recurrent_activation: unary(self.args.recurrent_activation)?,
            go_backwards,
            return_sequences,
            zero_output_for_mask,
        })
    }

    /// One time step of the cell (Keras `cell.call(inputs, states)`), for the generic RNN
    /// loop (stacked and user cells): `x` is `(batch, features)`, `states` `[h]` or `[h, c]`;
    /// runs the fused op over a one-step sequence, so the numbers are those of the layer.
    pub(crate) fn step(
        &self,
        x: &Tensor,
        states: &[Tensor],
        ctx: &CallContext,
    ) -> Result<(Tensor, Vec<Tensor>)> {
        let name = &self.cell.base.name;
        let (Some(kernel), Some(rkernel)) = (&self.cell.kernel, &self.cell.recurrent_kernel) else {
            keras_bail!(State, "Cell {name} is not built");
        };
        if x.rank() != 2 || x.shape()[1] != kernel.shape()[0] {
            keras_bail!(
                Shape,
                "Cell {name} expects step inputs of shape (batch, {}), received {:?}",
                kernel.shape()[0],
                x.shape()
            );
        }
        let (b, d, u) = (x.shape()[0], x.shape()[1], self.args.units);
        let ns = self.num_states();
        if states.len() != ns || states.iter().any(|st| st.shape() != [b, u]) {
            let shapes: Vec<&[usize]> = states.iter().map(|st| st.shape()).collect();
            keras_bail!(
                Value,
                "Cell {name} expects {ns} state tensor(s) of shape ({b}, {u}), received shapes {shapes:?}"
            );
        }
        let x =
            if x.dtype() == keras_engine::DType::F32 { x.clone() } else { x.cast(keras_engine::DType::F32) };
        let (dropout, recurrent_dropout) = (self.args.dropout, self.args.recurrent_dropout);
        let drop_in = dropout > 0.0 && dropout < 1.0;
        let drop_rec = recurrent_dropout > 0.0 && recurrent_dropout < 1.0;
        let (dmask, rmask) = if ctx.training && (drop_in || drop_rec) {
            let mut guard = self.step_masks.lock().unwrap_or_else(|e| e.into_inner());
            let fresh = match guard.as_ref() {
                Some((Some(m), _)) => m.shape()[0] != b,
                Some((None, Some(m))) => m.shape()[0] != b,
                _ => true,
            };
            if fresh {
                let dm = if drop_in { Some(self.dropout_mask(dropout, vec![b, d])?) } else { None };
                let rm =
                    if drop_rec { Some(self.dropout_mask(recurrent_dropout, vec![b, u])?) } else { None };
                *guard = Some((dm, rm));
            }
            guard.clone().unwrap_or((None, None))
        } else {
            (None, None)
        };
        let x = match &dmask {
            Some(m) => ops::mul(&x, m)?,
            None => x,
        };
        let opts = self.rnn_args(&format!("Cell {name}"), [false; 3])?;
        let x = x.reshape(vec![b, 1, d])?;
        let inputs = RnnInputs {
            x: &x,
            kernel: kernel.value(),
            recurrent_kernel: rkernel.value(),
            bias: self.cell.bias.as_ref().map(|v| v.value()),
            initial_state: states,
            mask: None,
            recurrent_dropout: rmask.as_ref(),
        };
        let mut outs = ops::rnn(inputs, &opts)?;
        let new_states = outs.split_off(1);
        Ok((outs.swap_remove(0), new_states))
    }

    /// Forgets the dropout masks of the sequence a stepped cell was running.
    pub(crate) fn clear_step_masks(&self) {
        *self.step_masks.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// Clears the states of a stateful layer (the next batch starts from zeros).
    pub fn reset_states(&self) {
        self.states.reset();
    }

    /// The current states of a stateful layer (None before the first call or after a reset).
    pub fn states(&self) -> Option<Vec<Tensor>> {
        self.states.get()
    }

    /// The output mask: the input mask when the whole sequence is returned.
    pub fn compute_mask(&self, mask: Option<&Tensor>) -> Option<Tensor> {
        if self.flags.return_sequences {
            mask.cloned()
        } else {
            None
        }
    }

    /// Keras's `get_config()`, keys in Keras's order for each class.
    pub fn get_config(&self) -> Value {
        let mut m: Map<String, Value> = self.base.base_config();
        self.flags.write_args(&mut m);
        let mut args = Map::new();
        self.args.write_args(&mut args);
        m.extend(args.into_iter().filter(|(k, _)| self.kind.writes(k)));
        Value::Object(m)
    }
}

/// The builders of the arguments a fused recurrent layer (`LSTM(Recurrent)`) and its built-in
/// cell (`LSTMCell(Recurrent)`) share, written once for both.
macro_rules! recurrent_arg_builders {
    () => {
        $crate::layers::rnn::cell_rnn::recurrent_options! {
            /// Sets the activation by Keras name (default `"tanh"`).
            activation,
            /// Whether to add biases (default true).
            use_bias in args,
            /// Kernel initializer (default glorot_uniform).
            kernel_initializer in args,
            /// Recurrent kernel initializer (default orthogonal).
            recurrent_initializer in args,
            /// Bias initializer (default zeros).
            bias_initializer in args,
            /// Fraction of the input units dropped in training (one mask per sequence).
            dropout,
            /// Fraction of the recurrent units dropped in training (one mask per sequence).
            recurrent_dropout,
            /// Seed of the dropout masks.
            seed,
        }
    };
}
pub(crate) use recurrent_arg_builders;

/// Defines a public recurrent layer type around [`Recurrent`]: shared builder methods, the
/// [`crate::layers::Layer`] impl, `from_config`, `reset_states`, initial-state calls.
macro_rules! recurrent_layer {
    ($(#[$doc:meta])* $ty:ident, $kind:expr) => {
        $(#[$doc])*
        pub struct $ty(pub(crate) $crate::layers::rnn::base::Recurrent);

        impl $ty {
            /// A layer with `units` outputs and Keras's defaults (tanh, glorot-uniform kernel,
            /// orthogonal recurrent kernel, zero bias, last output only).
            pub fn new(units: usize) -> Self {
                $ty($crate::layers::rnn::base::Recurrent::new($kind, units))
            }
            /// Rebuilds the layer from its Keras config.
            pub fn from_config(cfg: &serde_json::Value) -> $crate::Result<Self> {
                Ok($ty($crate::layers::rnn::base::Recurrent::from_config($kind, cfg)?))
            }
            $crate::layers::rnn::base::recurrent_arg_builders!();
            $crate::layers::rnn::cell_rnn::sequence_flag_builders!(|s| s.0.flags, zero_output_for_mask);
            $crate::layers::rnn::cell_rnn::recurrent_options! {
                /// `input_shape` (without batch) for the first layer of a Sequential model.
                input_shape,
                /// Sets the layer name.
                name,
            }
            /// Number of units.
            pub fn units(&self) -> usize {
                self.0.args.units
            }
            $crate::layers::rnn::cell_rnn::recurrent_options! {
                /// Clears the states of a stateful layer.
                reset_states,
                /// The carried states of a stateful layer.
                states,
                /// Calls the layer from explicit initial states (`[h]`, or `[h, c]` for LSTM) and
                /// an optional `(batch, time)` mask; returns every output.
                call_with_state,
            }
        }

        impl From<$ty> for $crate::layers::rnn::base::Recurrent {
            fn from(l: $ty) -> Self {
                l.0
            }
        }

        $crate::layers::rnn::cell_rnn::wrapped_layer_impl!($ty);
    };
}
pub(crate) use recurrent_layer;

/// The layer view of a recurrent layer, so wrappers (`Bidirectional`) hold it as a layer:
/// no weights of its own, its cell as the sub-layer `cell` (where Keras keeps the weights).
impl Layer for Recurrent {
    stepped_layer_common!(|l| l.kind.class_name());
    cell_layer_methods!(Recurrent);
}
