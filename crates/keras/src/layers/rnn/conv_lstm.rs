//! The machinery shared by `ConvLSTM1D`, `ConvLSTM2D` and `ConvLSTM3D` (Keras's `ConvLSTM`
//! base class): arguments, shapes, configs, and the step-by-step loop of the
//! [`ConvLSTMCell`] over the time axis (`cell_rnn::run_steps`, masks, `go_backwards`,
//! `return_sequences`, `return_state`, `stateful`).

use keras_engine::{ops, DType};
use serde_json::Value;

use super::cell_rnn::{
    cell_layer_methods, check_time_mask, run_steps, stepped_layer_common, CarriedStates, SequenceFlags,
};
pub use super::conv_lstm_cell::ConvLSTMCell;
use super::conv_lstm_cell::ConvLstmArgs;
use crate::activations::Activation;
use crate::layers::convolutional::conv1d::Padding1D;
use crate::layers::data_format::DataFormat;
use crate::layers::layer::{shape_str, CallContext, Layer, LayerBase, Shape, Sublayer, Variable};
use crate::layers::layer_args::{LayerCfg, SizeTuple};
use crate::layers::reshaping::args::ndim_error;
use crate::regularizers::Regularizer;
use crate::{keras_bail, Error, Result, Tensor};

/// A ConvLSTM layer of rank `N` (1, 2 or 3; Keras's `ConvLSTM` base): what `ConvLSTM1D`,
/// `ConvLSTM2D` and `ConvLSTM3D` wrap. Inputs `(batch, time, spatial.., channels)`
/// (channels-last) or `(batch, time, channels, spatial..)` (channels-first).
pub struct ConvLSTM<const N: usize> {
    pub(crate) base: LayerBase,
    class: &'static str,
    /// The cell holding the weights and the convolution arguments (saved under `cell`).
    pub(crate) cell: ConvLSTMCell<N>,
    pub(crate) flags: SequenceFlags,
    /// Stateful layers: the last states (channels-last), carried to the next batch.
    states: CarriedStates,
}

fn class_of(rank: usize) -> (&'static str, &'static str) {
    match rank {
        1 => ("ConvLSTM1D", "conv_lstm1d"),
        2 => ("ConvLSTM2D", "conv_lstm2d"),
        _ => ("ConvLSTM3D", "conv_lstm3d"),
    }
}

impl<const N: usize> ConvLSTM<N> {
    /// A layer with `filters` output channels, a `kernel_size` window and Keras's defaults.
    /// Invalid arguments are reported by `build`.
    pub fn new(filters: usize, kernel_size: [usize; N]) -> Self {
        let (class, snake) = class_of(N);
        let mut base = LayerBase::new(snake);
        if !(1..=3).contains(&N) {
            base.fail(Error::InvalidArgument(format!(
                "Rank {N} convolutions are not currently implemented. Received: rank={N}"
            )));
        }
        let cell = ConvLSTMCell::new(filters, SizeTuple(kernel_size));
        let states = CarriedStates::default();
        ConvLSTM { base, class, cell, flags: SequenceFlags::default(), states }.check()
    }

    /// The rank of the convolution.
    pub fn rank(&self) -> usize {
        N
    }

    /// The cell (Keras `layer.cell`).
    pub fn cell(&self) -> &ConvLSTMCell<N> {
        &self.cell
    }

    /// Records the first invalid argument (reported by `build` or `Sequential::add`).
    pub(crate) fn check(mut self) -> Self {
        if let Some(e) = self.cell.args.error(&self.base.name) {
            self.base.fail(e);
        }
        self
    }

    /// `"valid"` or `"same"` for the input convolution (the recurrent one is always `same`).
    pub(crate) fn set_padding(&mut self, p: &str) {
        self.base.accept(&mut self.cell.args.padding, Padding1D::parse_for(p, false));
    }

    /// `"channels_last"` or `"channels_first"`.
    pub(crate) fn set_data_format(&mut self, f: &str) {
        self.base.accept(&mut self.cell.args.data_format, DataFormat::parse(f));
    }

    /// The output (`recurrent = false`) or gate (`true`) activation by Keras name.
    pub(crate) fn set_activation(&mut self, recurrent: bool, name: &str) {
        match Activation::from_name(name) {
            Ok(a) if recurrent => self.cell.args.recurrent_activation = a,
            Ok(a) => self.cell.args.activation = a,
            Err(e) => self.base.fail(e),
        }
    }

    /// `dropout` (`recurrent = false`) or `recurrent_dropout`, a rate in `[0, 1]`.
    pub(crate) fn set_dropout(&mut self, recurrent: bool, rate: f64) {
        if recurrent {
            self.cell.args.recurrent_dropout = rate;
        } else {
            self.cell.args.dropout = rate;
        }
        if let Some(e) = self.cell.args.error(&self.base.name) {
            self.base.fail(e);
        }
    }

    /// Seed of the dropout masks.
    pub(crate) fn set_seed(&mut self, seed: Option<u64>) {
        self.cell.set_seed(seed);
    }

    /// Rebuilds a layer from a Keras config, refusing what the builders refuse.
    pub fn from_config(cfg: &Value) -> Result<Self> {
        let (class, _) = class_of(N);
        let src = &mut LayerCfg::new(cfg, class);
        let flags = SequenceFlags::read_args(src)?;
        let args = ConvLstmArgs::<N>::read_args(src)?;
        let mut l = ConvLSTM::new(args.filters, args.kernel_size.0);
        l.base.apply_config(cfg);
        l.base.apply_activity_config(cfg)?;
        l.flags = flags;
        let seed = args.seed;
        l.cell.args = args;
        l.set_seed(seed);
        let mut l = l.check();
        l.base.take_pending()?;
        Ok(l)
    }

    /// The input shape of one step, channels-last: `(batch, spatial.., channels)` with the
    /// time axis removed; checks Keras's rank.
    fn step_shape_last(&self, s: &[Option<usize>]) -> Result<Shape> {
        let ndim = N + 3;
        if s.len() != ndim {
            return Err(ndim_error(&self.base.name, ndim, s));
        }
        let mut step: Shape = vec![s[0]];
        match self.cell.args.data_format {
            DataFormat::ChannelsLast => step.extend_from_slice(&s[2..]),
            DataFormat::ChannelsFirst => {
                step.extend_from_slice(&s[3..]);
                step.push(s[2]);
            }
        }
        Ok(step)
    }

    /// The channels-last output of one step: `(batch, out_spatial.., filters)`.
    fn step_output_last(&self, s: &[Option<usize>]) -> Result<Shape> {
        let step = self.step_shape_last(s)?;
        let mut seq = vec![step[0], None];
        seq.extend_from_slice(&step[1..]);
        let mut out = vec![s[0]];
        out.extend(self.cell.output_spatial(&self.base.name, &seq)?);
        out.push(Some(self.cell.args.filters));
        Ok(out)
    }

    /// Creates the cell's weights for inputs of `input_shape`.
    pub fn build(&mut self, input_shape: &[Option<usize>]) -> Result<()> {
        if let Some(e) = &self.base.pending_error {
            return Err(e.clone());
        }
        let step = self.step_shape_last(input_shape)?;
        let spatial = &step[1..step.len() - 1];
        if spatial.contains(&None) {
            keras_bail!(
                Value,
                "ConvLSTM layers only support static input shapes for the spatial dimension. Received invalid input shape: input_shape={}",
                shape_str(&step)
            );
        }
        let Some(input_dim) = step[step.len() - 1].filter(|&c| c > 0) else {
            keras_bail!(
                Value,
                "The channel dimension of the inputs (last axis) should be defined. Found None. Full input shape received: input_shape={}",
                shape_str(&step)
            );
        };
        self.step_output_last(input_shape)?;
        let name = self.base.name.clone();
        self.cell.build_weights(&name, input_dim)?;
        self.base.build_input_shape = Some(input_shape.to_vec());
        self.base.built = true;
        Ok(())
    }

    /// Every output shape: `[output]`, or `[output, h, c]` with `return_state`.
    pub fn output_shapes(&self, s: &[Option<usize>]) -> Result<Vec<Shape>> {
        let state = self.cell.args.data_format.shape_from_last(&self.step_output_last(s)?);
        let first = if self.flags.return_sequences {
            let mut o = vec![s[0], s[1]];
            o.extend_from_slice(&state[1..]);
            o
        } else {
            state.clone()
        };
        let mut out = vec![first];
        if self.flags.return_state {
            out.push(state.clone());
            out.push(state);
        }
        Ok(out)
    }

    /// The sequence `(batch, time, channels, spatial..)` as `(batch, time, spatial.., channels)`.
    fn seq_to_last(&self, x: &Tensor) -> Result<Tensor> {
        if self.cell.args.data_format == DataFormat::ChannelsLast {
            return Ok(x.clone());
        }
        let r = x.rank();
        let perm: Vec<usize> = [0, 1].into_iter().chain(3..r).chain([2]).collect();
        Ok(ops::transpose(x, &perm)?)
    }

    /// The inverse of [`ConvLSTM::seq_to_last`].
    fn seq_from_last(&self, y: &Tensor) -> Result<Tensor> {
        if self.cell.args.data_format == DataFormat::ChannelsLast {
            return Ok(y.clone());
        }
        let r = y.rank();
        let perm: Vec<usize> = [0, 1, r - 1].into_iter().chain(2..r - 1).collect();
        Ok(ops::transpose(y, &perm)?)
    }

    /// Runs the layer: `[output]`, or `[output, h, c]` with `return_state`. `mask` is
    /// `(batch, time)` (non-zero = valid); `initial_state` (`[h, c]`, in the layer's data
    /// format) overrides the zero (or stateful) initial states.
    pub fn run(
        &self,
        x: &Tensor,
        mask: Option<&Tensor>,
        initial_state: Option<&[Tensor]>,
        ctx: &mut CallContext,
    ) -> Result<Vec<Tensor>> {
        let name = &self.base.name;
        let Some(kernel) = &self.cell.kernel else {
            keras_bail!(State, "Layer {name} is not built");
        };
        let dims: Shape = x.shape().iter().map(|&d| Some(d)).collect();
        let ndim = N + 3;
        if x.rank() != ndim {
            return Err(ndim_error(name, ndim, &dims));
        }
        let x = if x.dtype() == DType::F32 { x.clone() } else { x.cast(DType::F32) };
        let x = self.seq_to_last(&x)?;
        let channels = kernel.shape()[N];
        if x.shape()[ndim - 1] != channels {
            keras_bail!(
                Shape,
                "Input 0 of layer \"{name}\" is incompatible with the layer: expected the channel axis of the input to have value {channels}, but received input with shape {:?}",
                dims.iter().map(|d| d.unwrap_or(0)).collect::<Vec<_>>()
            );
        }
        let state_shape: Vec<usize> =
            self.step_output_last(&dims)?.into_iter().map(|d| d.unwrap_or(0)).collect();
        let (b, t) = (x.shape()[0], x.shape()[1]);
        check_time_mask(name, mask, (b, t))?;
        let stored = self.states.for_call(self.flags.stateful, initial_state.is_some(), |s| {
            s.first().filter(|s0| s0.shape() != state_shape).map(|s0| {
                Error::Value(format!(
                    "Layer {name} is stateful and holds states of shape {:?}, but the input needs {state_shape:?}; call reset_states() or keep the batch size fixed",
                    s0.shape()
                ))
            })
        })?;
        let init: Vec<Tensor> = match initial_state {
            Some(s) => {
                let last: Vec<Tensor> =
                    s.iter().map(|st| self.cell.args.data_format.to_last(st)).collect::<Result<_>>()?;
                if last.len() != 2 || last.iter().any(|st| st.shape() != state_shape) {
                    let shapes: Vec<&[usize]> = s.iter().map(|st| st.shape()).collect();
                    let expected = self
                        .cell
                        .args
                        .data_format
                        .shape_from_last(&state_shape.iter().map(|&d| Some(d)).collect::<Vec<_>>());
                    keras_bail!(
                        Value,
                        "Layer {name} expects 2 initial state tensors (h, c) of shape {}, received shapes {shapes:?}",
                        shape_str(&expected)
                    );
                }
                last
            }
            None => stored.unwrap_or_else(|| vec![Tensor::zeros(state_shape.clone()); 2]),
        };
        let flags = self.flags.step();
        let training = ctx.training;
        self.cell.reset_sequence();
        let cell = &self.cell;
        let result = run_steps(&x, mask, init, flags, &mut |xt, st| cell.step(xt, st, training));
        self.cell.reset_sequence();
        let (output, states) = result?;
        if self.flags.stateful {
            self.states.keep(&states);
        }
        let output = if self.flags.return_sequences {
            self.seq_from_last(&output)?
        } else {
            self.cell.args.data_format.from_last(&output)?
        };
        let mut outs = vec![output];
        if self.flags.return_state {
            for s in &states {
                outs.push(self.cell.args.data_format.from_last(s)?);
            }
        }
        Ok(outs)
    }

    /// Forgets the states of a stateful layer.
    pub fn reset_states(&self) {
        self.states.reset();
    }

    /// The current states of a stateful layer (channels-last; None before the first call or
    /// after a reset).
    pub fn states(&self) -> Option<Vec<Tensor>> {
        self.states.get()
    }

    /// Keras's `get_config()`: the RNN keys, then the ConvLSTM arguments.
    pub fn get_config(&self) -> Value {
        let mut m = self.base.base_config();
        self.flags.write_args(&mut m);
        self.cell.args.write_args(&mut m);
        // In place: after `dtype` when the base config wrote it (Keras merges the dicts).
        let activity = self.base.activity_regularizer.as_ref().map_or(Value::Null, Regularizer::to_config);
        m.insert("activity_regularizer".into(), activity);
        Value::Object(m)
    }
}

impl<const N: usize> Layer for ConvLSTM<N> {
    stepped_layer_common!(|l| l.class);
    cell_layer_methods!(ConvLSTM);
}

/// Defines a public ConvLSTM layer of one rank around [`ConvLSTM`]: the builder methods, the
/// [`crate::layers::Layer`] impl, `from_config`, `reset_states`, initial-state calls.
macro_rules! conv_lstm_layer {
    ($(#[$doc:meta])* $ty:ident, $rank:expr) => {
        $(#[$doc])*
        pub struct $ty(pub(crate) $crate::layers::rnn::conv_lstm::ConvLSTM<$rank>);

        impl $ty {
            /// `filters` output channels and a `kernel_size` window; Keras's defaults for the
            /// rest (stride 1, `valid` padding, `tanh` / `sigmoid`, unit forget bias).
            pub fn new(filters: usize, kernel_size: [usize; $rank]) -> Self {
                $ty($crate::layers::rnn::conv_lstm::ConvLSTM::new(filters, kernel_size))
            }
            /// Rebuilds from a Keras config.
            pub fn from_config(cfg: &serde_json::Value) -> $crate::Result<Self> {
                Ok($ty($crate::layers::rnn::conv_lstm::ConvLSTM::from_config(cfg)?))
            }
            /// Strides of the input convolution (the recurrent convolution always has stride 1).
            pub fn strides(mut self, s: [usize; $rank]) -> Self {
                self.0.cell.args.strides = $crate::layers::layer_args::SizeTuple(s);
                self.0 = self.0.check();
                self
            }
            /// Padding of the input convolution: `"valid"` or `"same"` (the recurrent
            /// convolution always pads `same`).
            pub fn padding(mut self, p: &str) -> Self {
                self.0.set_padding(p);
                self
            }
            /// `"channels_last"` (`(batch, time, spatial.., channels)`, Keras's default via
            /// `keras::config::image_data_format`) or `"channels_first"`.
            pub fn data_format(mut self, f: &str) -> Self {
                self.0.set_data_format(f);
                self
            }
            /// Dilation rate of the input convolution.
            pub fn dilation_rate(mut self, d: [usize; $rank]) -> Self {
                self.0.cell.args.dilation_rate = $crate::layers::layer_args::SizeTuple(d);
                self.0 = self.0.check();
                self
            }
            $crate::layers::rnn::cell_rnn::recurrent_options! {
                /// Output activation (default `"tanh"`).
                activation,
                /// Gate activation (default `"sigmoid"`).
                recurrent_activation,
                /// Whether the gates have a bias (default true).
                use_bias in cell.args,
                /// Initializer of the input kernel (default `glorot_uniform`).
                kernel_initializer in cell.args,
                /// Initializer of the recurrent kernel (default `orthogonal`).
                recurrent_initializer in cell.args,
                /// Initializer of the bias (default `zeros`).
                bias_initializer in cell.args,
                /// Initialize the forget-gate bias to ones (default true, as Keras).
                unit_forget_bias in cell.args,
            }
            $crate::layers::rnn::cell_rnn::recurrent_options! {
                /// Penalty of the input kernel added to the training loss.
                kernel_regularizer in cell.args => Some($crate::regularizers::Regularizer),
                /// Penalty of the recurrent kernel added to the training loss.
                recurrent_regularizer in cell.args => Some($crate::regularizers::Regularizer),
                /// Penalty of the bias added to the training loss.
                bias_regularizer in cell.args => Some($crate::regularizers::Regularizer),
                /// Penalty of the layer's output added to the loss.
                activity_regularizer in base => Some($crate::regularizers::Regularizer),
                /// Constraint applied to the input kernel after each optimizer update.
                kernel_constraint in cell.args => Some($crate::constraints::Constraint),
                /// Constraint applied to the recurrent kernel after each optimizer update.
                recurrent_constraint in cell.args => Some($crate::constraints::Constraint),
                /// Constraint applied to the bias after each optimizer update.
                bias_constraint in cell.args => Some($crate::constraints::Constraint),
            }
            $crate::layers::rnn::cell_rnn::recurrent_options! {
                /// Fraction of the inputs dropped in training (one mask per gate and sequence).
                dropout,
                /// Fraction of the recurrent state dropped in training.
                recurrent_dropout,
                /// Seed of the dropout masks.
                seed,
            }
            $crate::layers::rnn::cell_rnn::sequence_flag_builders!(|s| s.0.flags);
            $crate::layers::rnn::cell_rnn::recurrent_options! {
                /// `input_shape` (without batch) for the first layer of a Sequential model.
                input_shape,
                /// Sets the layer name.
                name,
            }
            /// The number of output channels.
            pub fn filters(&self) -> usize {
                self.0.cell.args.filters
            }
            $crate::layers::rnn::cell_rnn::recurrent_options! {
                /// Forgets the states of a stateful layer.
                reset_states,
                /// The current states of a stateful layer (channels-last).
                states,
                /// Calls the layer from the initial states `[h, c]` (in the layer's data format)
                /// with an optional `(batch, time)` mask; returns every output.
                call_with_state,
            }
        }

        $crate::layers::rnn::cell_rnn::wrapped_layer_impl!($ty);
    };
}
pub(crate) use conv_lstm_layer;
