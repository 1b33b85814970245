//! The step-by-step recurrent loop (Keras's backend `rnn`): one cell call per time step, built
//! from the engine's differentiable ops, so gradients flow through any cell. `RNN` runs it
//! for stacked and user-written cells ([`CellRnn`]), the ConvLSTM layers for their
//! convolutional cell ([`run_steps`]).
//!
//! It also holds what every recurrent layer shares, written once: the carried states of a
//! stateful layer ([`CarriedStates`]), the `RNN` flags and their config keys ([`SequenceFlags`]), the
//! run-based `Layer` methods (`stepped_layer_common!`), and the public wrapper types' `Layer`
//! impl and builders (`wrapped_layer_impl!`, `recurrent_options!`).

use std::sync::Mutex;

use keras_engine::ops;
use serde_json::Value;

use super::rnn_cell::RnnCell;
use crate::layers::layer::{shape_str, CallContext, Layer, LayerBase, Shape, Sublayer, Variable};
use crate::layers::layer_args::LayerArgs;
use crate::utils::config_args::config_args;
use crate::{keras_bail, Result, Tensor};

/// How [`run_steps`] walks the sequence and what it returns.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct StepFlags {
    /// Walk the time axis backwards (the output sequence stays in walking order, as Keras).
    pub go_backwards: bool,
    /// Return every step's output (`(batch, time, ...)`) instead of the last one.
    pub return_sequences: bool,
    /// Masked steps output zeros instead of the previous output.
    pub zero_output_for_mask: bool,
}

config_args! {
    /// The `RNN` flags every recurrent layer (`LSTM`, `RNN`, `ConvLSTM2D`, ...) has, declared
    /// once: the fields, their defaults (all false), the config keys in Keras's order (the
    /// first keys of every recurrent layer's config), the `get_config()` writer and the
    /// `from_config()` reader.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub(crate) struct SequenceFlags, family LayerArgs {
        /// `return_sequences=`: return every step's output instead of the last one.
        pub(crate) return_sequences: bool = false,
        /// `return_state=`: also return the final states.
        pub(crate) return_state: bool = false,
        /// `go_backwards=`: walk the time axis backwards.
        pub(crate) go_backwards: bool = false,
        /// `stateful=`: carry the final states of a batch into the next one.
        pub(crate) stateful: bool = false,
        /// `unroll=`: kept for the config (the loop is the same either way).
        pub(crate) unroll: bool = false,
        /// `zero_output_for_mask=`: masked steps output zeros instead of the previous output.
        pub(crate) zero_output_for_mask: bool = false,
    }
}

impl SequenceFlags {
    /// How [`run_steps`] walks the sequence with these flags.
    pub(crate) fn step(&self) -> StepFlags {
        StepFlags {
            go_backwards: self.go_backwards,
            return_sequences: self.return_sequences,
            zero_output_for_mask: self.zero_output_for_mask,
        }
    }
}

/// The states a stateful recurrent layer (`LSTM`, `RNN`, `ConvLSTM2D`, ...) carries from one
/// batch to the next (Keras's `layer.states`).
#[derive(Default)]
pub(crate) struct CarriedStates(Mutex<Option<Vec<Tensor>>>);

impl CarriedStates {
    /// The carried states (None before the first call or after a reset).
    pub(crate) fn get(&self) -> Option<Vec<Tensor>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Forgets the carried states (the next batch starts from zeros).
    pub(crate) fn reset(&self) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// Keeps the final states of a batch (detached) for the next one.
    pub(crate) fn keep(&self, states: &[Tensor]) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(states.iter().map(|s| s.detach()).collect());
    }

    /// The states a call starts from when it is given none: the carried ones of a stateful
    /// layer, or the error `mismatch` gives when they do not fit the batch.
    pub(crate) fn for_call(
        &self,
        stateful: bool,
        initial_state_given: bool,
        mismatch: impl Fn(&[Tensor]) -> Option<crate::Error>,
    ) -> Result<Option<Vec<Tensor>>> {
        if !stateful || initial_state_given {
            return Ok(None);
        }
        let carried = self.get();
        if let Some(e) = carried.as_deref().and_then(mismatch) {
            return Err(e);
        }
        Ok(carried)
    }
}

/// The [`Layer`] methods a recurrent layer (a struct with `base` and a
/// `run(x, mask, initial_state, ctx)` giving `[output, states...]`) writes the same way.
macro_rules! stepped_layer_common {
    ($($class:tt)+) => {
        $crate::layers::layer::layer_base_methods!($($class)+);
        fn compute_output_shape(&self, s: &[Option<usize>]) -> Result<Shape> {
            Ok(self.output_shapes(s)?.swap_remove(0))
        }
        fn compute_output_shapes(&self, input_shapes: &[Shape]) -> Result<Vec<Shape>> {
            let s = crate::layers::layer::single_input(&self.base.name, input_shapes)?;
            self.output_shapes(s)
        }
        fn compute_mask(&self, _x: &Tensor, mask: Option<&Tensor>) -> Result<Option<Tensor>> {
            Ok(if self.flags.return_sequences { mask.cloned() } else { None })
        }
        $crate::layers::rnn::cell_rnn::recurrent_call_methods!();
        fn call(&self, x: &Tensor, ctx: &mut CallContext) -> Result<Tensor> {
            Ok(self.run(x, None, None, ctx)?.swap_remove(0))
        }
        fn call_masked(&self, x: &Tensor, mask: Option<&Tensor>, ctx: &mut CallContext) -> Result<Tensor> {
            Ok(self.run(x, mask, None, ctx)?.swap_remove(0))
        }
        fn call_outputs(
            &self,
            x: &Tensor,
            mask: Option<&Tensor>,
            ctx: &mut CallContext,
        ) -> Result<Vec<Tensor>> {
            self.run(x, mask, None, ctx)
        }
    };
}
pub(crate) use stepped_layer_common;

/// The Functional call of a recurrent layer with Keras's keywords (`initial_state`, `mask`,
/// `training`), for any layer with `run(x, mask, initial_state, ctx)` giving `[output,
/// states...]` (`RNN` and `Bidirectional` included).
macro_rules! recurrent_call_methods {
    () => {
        fn call_kwarg_names(&self) -> &'static [&'static str] {
            $crate::layers::rnn::cell_rnn::RECURRENT_KWARGS
        }
        fn call_with_kwargs(
            &self,
            inputs: &[$crate::Tensor],
            masks: &[Option<$crate::Tensor>],
            kwargs: &$crate::layers::CallKwargs,
            ctx: &mut $crate::layers::CallContext,
        ) -> $crate::Result<Vec<$crate::Tensor>> {
            let class = self.class_name();
            let call = $crate::layers::rnn::cell_rnn::RecurrentCall::new(inputs, masks, kwargs, class)?;
            $crate::layers::call_kwargs::with_training(ctx, call.training, |ctx| {
                self.run(call.x, call.mask.as_ref(), call.initial_state.as_deref(), ctx)
            })
        }
    };
}
pub(crate) use recurrent_call_methods;

/// The keyword arguments of a recurrent layer's call besides `mask` and `training`:
/// `initial_state`, and `constants`, which tf.keras 2 files write as `None`.
pub(crate) const RECURRENT_KWARGS: &[&str] = &["initial_state", "constants"];

/// One Functional-graph call of a recurrent layer, Keras's `RNN.call(sequences,
/// initial_state=None, mask=None, training=None)`: the sequence, its effective mask, the
/// explicit training mode and the initial states (`initial_state=` as one tensor or a list,
/// the form a decoder started from an encoder's states records in a saved model).
pub(crate) struct RecurrentCall<'a> {
    /// The input sequence.
    pub(crate) x: &'a Tensor,
    /// Its mask: the input's own, or an explicit `mask=`.
    pub(crate) mask: Option<Tensor>,
    /// An explicit `training=`.
    pub(crate) training: Option<bool>,
    /// `initial_state=`, one tensor per state.
    pub(crate) initial_state: Option<Vec<Tensor>>,
}

impl<'a> RecurrentCall<'a> {
    /// Reads a node's inputs and keyword arguments; `class` names the layer in errors.
    pub(crate) fn new(
        inputs: &'a [Tensor],
        masks: &[Option<Tensor>],
        kwargs: &crate::layers::CallKwargs,
        class: &str,
    ) -> Result<Self> {
        // tf.keras 2 files write `constants: None` beside the states; Keras 3's RNNs take no
        // constants, so only the null is accepted.
        if kwargs.tensor_arg("constants").is_some() || kwargs.value("constants").is_some() {
            keras_bail!(
                InvalidArgument,
                "{class}.call(): `constants` (a tf.keras 2 RNN argument) is not supported: Keras 3 RNNs take no constants"
            );
        }
        kwargs.check_known(class, RECURRENT_KWARGS)?;
        let [x] = inputs else {
            keras_bail!(
                InvalidArgument,
                "{class}.call() takes one input sequence (give the states as `initial_state=`), received {} input tensors",
                inputs.len()
            );
        };
        let mask = kwargs.effective_masks(masks, class)?.into_iter().next().flatten();
        let training = kwargs.training(class)?;
        let initial_state = initial_state_arg(kwargs, class)?;
        Ok(RecurrentCall { x, mask, training, initial_state })
    }
}

/// `initial_state=` of a recurrent call: one tensor, or a list with no `None` in it; `None`
/// when absent or `null`.
pub(crate) fn initial_state_arg(
    kwargs: &crate::layers::CallKwargs,
    class: &str,
) -> Result<Option<Vec<Tensor>>> {
    use crate::layers::TensorArg;
    match kwargs.tensor_arg("initial_state") {
        Some(TensorArg::One(t)) => Ok(Some(vec![t.clone()])),
        Some(TensorArg::List(list)) => match list.iter().cloned().collect::<Option<Vec<Tensor>>>() {
            Some(states) => Ok(Some(states)),
            None => keras_bail!(
                InvalidArgument,
                "{class}.call(): every entry of `initial_state` must be a tensor, received a list with None in it"
            ),
        },
        None => match kwargs.value("initial_state") {
            None => Ok(None),
            Some(v) => keras_bail!(
                InvalidArgument,
                "{class}.call(): argument `initial_state` should be a tensor or a list of tensors. Received: initial_state={v}"
            ),
        },
    }
}

/// The [`Layer`] methods of a recurrent layer `$ty` whose weights are in its `cell` field
/// (Keras's `layer.cell`, saved under `cell`): `build` and `get_config` are `$ty`'s own.
macro_rules! cell_layer_methods {
    ($ty:ident) => {
        fn build(&mut self, input_shape: &[Option<usize>]) -> Result<()> {
            $ty::build(self, input_shape)
        }
        fn sublayers(&self) -> Vec<Sublayer<'_>> {
            vec![Sublayer::attr("cell", &self.cell)]
        }
        fn own_weights_and_sublayers_mut(&mut self) -> (Vec<&mut Variable>, Vec<&mut dyn Layer>) {
            (Vec::new(), vec![&mut self.cell])
        }
        fn get_config(&self) -> Value {
            $ty::get_config(self)
        }
    };
}
pub(crate) use cell_layer_methods;

/// The [`Layer`] impl of a public recurrent layer type that wraps its layer in field `0`
/// (`LSTM(Recurrent)`, `ConvLSTM2D(ConvLSTM)`, ...): every method forwards to it.
macro_rules! wrapped_layer_impl {
    ($ty:ident) => {
        impl $crate::layers::Layer for $ty {
            $crate::layers::layer::layer_base_methods!(|l| $crate::layers::Layer::class_name(&l.0), 0.base);
            fn build(&mut self, input_shape: &[Option<usize>]) -> $crate::Result<()> {
                $crate::layers::Layer::build(&mut self.0, input_shape)
            }
            fn compute_output_shape(&self, s: &[Option<usize>]) -> $crate::Result<$crate::layers::Shape> {
                $crate::layers::Layer::compute_output_shape(&self.0, s)
            }
            fn compute_output_shapes(
                &self,
                s: &[$crate::layers::Shape],
            ) -> $crate::Result<Vec<$crate::layers::Shape>> {
                $crate::layers::Layer::compute_output_shapes(&self.0, s)
            }
            fn call(
                &self,
                x: &$crate::Tensor,
                ctx: &mut $crate::layers::CallContext,
            ) -> $crate::Result<$crate::Tensor> {
                $crate::layers::Layer::call(&self.0, x, ctx)
            }
            fn call_masked(
                &self,
                x: &$crate::Tensor,
                mask: Option<&$crate::Tensor>,
                ctx: &mut $crate::layers::CallContext,
            ) -> $crate::Result<$crate::Tensor> {
                $crate::layers::Layer::call_masked(&self.0, x, mask, ctx)
            }
            fn call_outputs(
                &self,
                x: &$crate::Tensor,
                mask: Option<&$crate::Tensor>,
                ctx: &mut $crate::layers::CallContext,
            ) -> $crate::Result<Vec<$crate::Tensor>> {
                $crate::layers::Layer::call_outputs(&self.0, x, mask, ctx)
            }
            fn compute_mask(
                &self,
                x: &$crate::Tensor,
                mask: Option<&$crate::Tensor>,
            ) -> $crate::Result<Option<$crate::Tensor>> {
                $crate::layers::Layer::compute_mask(&self.0, x, mask)
            }
            fn call_kwarg_names(&self) -> &'static [&'static str] {
                $crate::layers::Layer::call_kwarg_names(&self.0)
            }
            fn call_with_kwargs(
                &self,
                inputs: &[$crate::Tensor],
                masks: &[Option<$crate::Tensor>],
                kwargs: &$crate::layers::CallKwargs,
                ctx: &mut $crate::layers::CallContext,
            ) -> $crate::Result<Vec<$crate::Tensor>> {
                $crate::layers::Layer::call_with_kwargs(&self.0, inputs, masks, kwargs, ctx)
            }
            fn sublayers(&self) -> Vec<$crate::layers::Sublayer<'_>> {
                $crate::layers::Layer::sublayers(&self.0)
            }
            fn own_weights_and_sublayers_mut(
                &mut self,
            ) -> (Vec<&mut $crate::layers::Variable>, Vec<&mut dyn $crate::layers::Layer>) {
                $crate::layers::Layer::own_weights_and_sublayers_mut(&mut self.0)
            }
            fn get_config(&self) -> serde_json::Value {
                $crate::layers::Layer::get_config(&self.0)
            }
        }
    };
}
pub(crate) use wrapped_layer_impl;

/// The builder and state methods the public recurrent layer types (`LSTM(Recurrent)`,
/// `ConvLSTM2D(ConvLSTM)`, ...) share, each written once here; a type lists the ones it has
/// inside its `impl`, each with its rustdoc. `name in cell.args` sets the field at that path
/// of the wrapped layer instead of on the wrapped layer itself; `name in cell.args =>
/// Some(Type)` sets an optional argument there.
macro_rules! recurrent_options {
    ($( $(#[doc = $doc:expr])* $opt:ident $(in $($f:ident).+)? $(=> Some($ty:ty))? ),* $(,)?) => {
        $( $crate::layers::rnn::cell_rnn::recurrent_options! { @opt [$(#[doc = $doc])*] $opt [$($($f).+)?] $(Some $ty)? } )*
    };
    // An optional argument: `name in path => Some(Type)` stores `Some(value)` at
    // `self.0.path.name`.
    (@opt [$($attr:tt)*] $opt:ident [$($f:ident).*] Some $ty:ty) => {
        $($attr)*
        pub fn $opt(mut self, value: $ty) -> Self {
            self.0$(.$f)*.$opt = Some(value);
            self
        }
    };
    (@opt [$($attr:tt)*] activation []) => {
        $($attr)*
        pub fn activation(mut self, name: &str) -> Self {
            self.0.set_activation(false, name);
            self
        }
    };
    (@opt [$($attr:tt)*] recurrent_activation []) => {
        $($attr)*
        pub fn recurrent_activation(mut self, name: &str) -> Self {
            self.0.set_activation(true, name);
            self
        }
    };
    (@opt [$($attr:tt)*] dropout []) => {
        $($attr)*
        pub fn dropout(mut self, rate: f64) -> Self {
            self.0.set_dropout(false, rate);
            self
        }
    };
    (@opt [$($attr:tt)*] recurrent_dropout []) => {
        $($attr)*
        pub fn recurrent_dropout(mut self, rate: f64) -> Self {
            self.0.set_dropout(true, rate);
            self
        }
    };
    (@opt [$($attr:tt)*] seed []) => {
        $($attr)*
        pub fn seed(mut self, seed: u64) -> Self {
            self.0.set_seed(Some(seed));
            self
        }
    };
    // An initializer: `self.0[.path].name = initializer`.
    (@opt [$($attr:tt)*] kernel_initializer $f:tt) => {
        $crate::layers::rnn::cell_rnn::recurrent_options! { @init [$($attr)*] kernel_initializer $f }
    };
    (@opt [$($attr:tt)*] recurrent_initializer $f:tt) => {
        $crate::layers::rnn::cell_rnn::recurrent_options! { @init [$($attr)*] recurrent_initializer $f }
    };
    (@opt [$($attr:tt)*] bias_initializer $f:tt) => {
        $crate::layers::rnn::cell_rnn::recurrent_options! { @init [$($attr)*] bias_initializer $f }
    };
    (@init [$($attr:tt)*] $opt:ident [$($f:ident).*]) => {
        $($attr)*
        pub fn $opt(mut self, i: $crate::initializers::Initializer) -> Self {
            self.0$(.$f)*.$opt = i;
            self
        }
    };
    (@opt [$($attr:tt)*] input_shape []) => {
        $($attr)*
        pub fn input_shape(mut self, shape: &[usize]) -> Self {
            self.0.base.input_shape = Some(shape.to_vec());
            self
        }
    };
    (@opt [$($attr:tt)*] name []) => {
        $($attr)*
        pub fn name(mut self, name: &str) -> Self {
            self.0.base.rename(name);
            self
        }
    };
    (@opt [$($attr:tt)*] reset_states []) => {
        $($attr)*
        pub fn reset_states(&self) {
            self.0.reset_states()
        }
    };
    (@opt [$($attr:tt)*] states []) => {
        $($attr)*
        pub fn states(&self) -> Option<Vec<$crate::Tensor>> {
            self.0.states()
        }
    };
    (@opt [$($attr:tt)*] call_with_state []) => {
        $($attr)*
        pub fn call_with_state(
            &self,
            x: &$crate::Tensor,
            initial_state: &[$crate::Tensor],
            mask: Option<&$crate::Tensor>,
            ctx: &mut $crate::layers::CallContext,
        ) -> $crate::Result<Vec<$crate::Tensor>> {
            self.0.run(x, mask, Some(initial_state), ctx)
        }
    };
    // A flag: `self.0[.path].name = yes`.
    (@opt [$($attr:tt)*] $flag:ident [$($f:ident).*]) => {
        $($attr)*
        pub fn $flag(mut self, yes: bool) -> Self {
            self.0$(.$f)*.$flag = yes;
            self
        }
    };
}
pub(crate) use recurrent_options;

/// The builders of the [`SequenceFlags`] (Keras's `RNN` arguments), each with its rustdoc,
/// written once for every recurrent layer type: `|s| s.0.flags` says where the flags of `s`
/// (the builder's `&mut self`) are; a trailing `, zero_output_for_mask` adds that builder too
/// (the ConvLSTM layers do not take it).
macro_rules! sequence_flag_builders {
    (|$s:ident| $flags:expr $(, $extra:ident)?) => {
        $crate::layers::rnn::cell_rnn::sequence_flag_builders! {
            @set |$s| $flags,
            /// Return the whole output sequence instead of the last output.
            return_sequences,
            /// Also return the final states (`call_outputs` gives `[output, states...]`).
            return_state,
            /// Process the sequence backwards (the output sequence stays reversed).
            go_backwards,
            /// Carry the final states of each batch into the next one (see `reset_states`).
            stateful,
        }
        $(
            $crate::layers::rnn::cell_rnn::sequence_flag_builders! {
                @set |$s| $flags,
                /// Masked steps output zeros instead of the previous output.
                $extra,
            }
        )?
    };
    (@set |$s:ident| $flags:expr, $( $(#[doc = $doc:expr])* $flag:ident, )*) => {
        $(
            $(#[doc = $doc])*
            pub fn $flag(mut self, yes: bool) -> Self {
                let $s = &mut self;
                $flags.$flag = yes;
                self
            }
        )*
    };
}
pub(crate) use sequence_flag_builders;

/// `m * a + (1 - m) * b` with `m` a `(batch, 1, ..)` 0/1 tensor: `where(mask, a, b)`.
fn select(m: &Tensor, a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let m = m.reshape(broadcast_shape(m.shape()[0], a.rank()))?;
    Ok(ops::add(b, &ops::mul(&m, &ops::sub(a, b)?)?)?)
}

fn broadcast_shape(batch: usize, rank: usize) -> Vec<usize> {
    let mut s = vec![1; rank.max(1)];
    s[0] = batch;
    s
}

/// One time step: `(inputs, states) -> (output, new states)`.
pub(crate) type StepFn<'a> = dyn FnMut(&Tensor, &[Tensor]) -> Result<(Tensor, Vec<Tensor>)> + 'a;

/// Refuses a recurrent layer's mask that is not `(batch, timesteps)` = `(b, t)` of its input.
pub(crate) fn check_time_mask(name: &str, mask: Option<&Tensor>, (b, t): (usize, usize)) -> Result<()> {
    if let Some(m) = mask {
        if m.shape() != [b, t] {
            keras_bail!(
                Shape,
                "Layer {name}: the mask must have shape (batch, timesteps) = ({b}, {t}), received {:?}",
                m.shape()
            );
        }
    }
    Ok(())
}

/// Runs `step` over the time axis (axis 1) of `x` from `states`: Keras's backend `rnn`. With
/// a `(batch, time)` mask (non-zero = valid), a masked step keeps the previous states and
/// outputs the previous output (or zeros with `zero_output_for_mask`). Returns the output
/// (the last one, or the sequence with `return_sequences`) and the final states.
pub(crate) fn run_steps(
    x: &Tensor,
    mask: Option<&Tensor>,
    mut states: Vec<Tensor>,
    flags: StepFlags,
    step: &mut StepFn<'_>,
) -> Result<(Tensor, Vec<Tensor>)> {
    let shape = x.shape().to_vec();
    let (b, t) = (shape[0], shape[1]);
    if t == 0 {
        keras_bail!(
            Value,
            "A recurrent layer needs at least one time step, received input of shape {shape:?}"
        );
    }
    let mut step_shape = shape.clone();
    step_shape.remove(1);
    let mut size = shape.clone();
    size[1] = 1;
    let mask = mask.map(|m| m.cast(keras_engine::DType::F32));
    let mut outputs: Vec<Tensor> = Vec::with_capacity(if flags.return_sequences { t } else { 1 });
    let mut last: Option<Tensor> = None;
    for i in 0..t {
        let ti = if flags.go_backwards { t - 1 - i } else { i };
        let mut begin = vec![0; shape.len()];
        begin[1] = ti;
        let xt = ops::slice(x, &begin, &size)?.reshape(step_shape.clone())?;
        let (mut out, mut new_states) = step(&xt, &states)?;
        if new_states.len() != states.len() {
            keras_bail!(
                Value,
                "The cell returned {} state(s) but has {} (its state_size)",
                new_states.len(),
                states.len()
            );
        }
        if let Some(m) = &mask {
            let mt = ops::slice(m, &[0, ti], &[b, 1])?;
            let prev = match (&last, flags.zero_output_for_mask) {
                (Some(p), false) => p.clone(),
                _ => Tensor::zeros(out.shape().to_vec()),
            };
            out = select(&mt, &out, &prev)?;
            new_states =
                new_states.iter().zip(&states).map(|(n, o)| select(&mt, n, o)).collect::<Result<Vec<_>>>()?;
        }
        states = new_states;
        if flags.return_sequences {
            let mut s = out.shape().to_vec();
            s.insert(1, 1);
            outputs.push(out.reshape(s)?);
        }
        last = Some(out);
    }
    let output = if flags.return_sequences {
        let refs: Vec<&Tensor> = outputs.iter().collect();
        ops::concat(&refs, 1)?
    } else {
        last.unwrap_or_else(|| Tensor::zeros(vec![b]))
    };
    Ok((output, states))
}

/// The generic `RNN` over any [`RnnCell`]: the cell is stepped by [`run_steps`].
pub(crate) struct CellRnn {
    pub(crate) base: LayerBase,
    pub(crate) cell: Box<dyn RnnCell>,
    pub(crate) flags: SequenceFlags,
    states: CarriedStates,
}

impl CellRnn {
    pub(crate) fn new(base: LayerBase, cell: Box<dyn RnnCell>) -> Self {
        CellRnn { base, cell, flags: SequenceFlags::default(), states: CarriedStates::default() }
    }

    fn check_rank(&self, input_shape: &[Option<usize>]) -> Result<()> {
        if input_shape.len() < 3 {
            keras_bail!(
                Shape,
                "Input 0 of layer \"{}\" is incompatible with the layer: expected ndim>=3, found ndim={}. Full shape received: {}",
                self.base.name,
                input_shape.len(),
                shape_str(input_shape)
            );
        }
        Ok(())
    }

    pub(crate) fn reset_states(&self) {
        self.states.reset();
    }

    /// Runs the layer: `[output]`, or `[output, states...]` with `return_state`.
    pub(crate) fn run(
        &self,
        x: &Tensor,
        mask: Option<&Tensor>,
        initial_state: Option<&[Tensor]>,
        ctx: &mut CallContext,
    ) -> Result<Vec<Tensor>> {
        let name = &self.base.name;
        if !self.cell.built() {
            keras_bail!(State, "Layer {name} is not built");
        }
        let dims: Shape = x.shape().iter().map(|&d| Some(d)).collect();
        self.check_rank(&dims)?;
        let (b, t) = (x.shape()[0], x.shape()[1]);
        check_time_mask(name, mask, (b, t))?;
        let sizes = self.cell.state_size();
        let x =
            if x.dtype() == keras_engine::DType::F32 { x.clone() } else { x.cast(keras_engine::DType::F32) };
        let stored = self.states.for_call(self.flags.stateful, initial_state.is_some(), |s| {
            s.first().filter(|s0| s0.shape()[0] != b).map(|s0| {
                crate::Error::Value(format!(
                    "Layer {name} is stateful and holds states for batch size {}, but received a batch of {b}; call reset_states() or keep the batch size fixed",
                    s0.shape()[0]
                ))
            })
        })?;
        let init: Vec<Tensor> = match initial_state {
            Some(s) => {
                if s.len() != sizes.len() || s.iter().zip(&sizes).any(|(st, &n)| st.shape() != [b, n]) {
                    let shapes: Vec<&[usize]> = s.iter().map(|st| st.shape()).collect();
                    keras_bail!(
                        Value,
                        "Layer {name} expects {} initial state tensor(s) of sizes {sizes:?} (batch {b}), received shapes {shapes:?}",
                        sizes.len()
                    );
                }
                s.to_vec()
            }
            None => stored.unwrap_or_else(|| sizes.iter().map(|&n| Tensor::zeros(vec![b, n])).collect()),
        };
        let flags = self.flags.step();
        self.cell.reset_sequence();
        let cell = &self.cell;
        let result = run_steps(&x, mask, init, flags, &mut |xt, st| cell.step(xt, st, ctx));
        self.cell.reset_sequence();
        let (output, states) = result?;
        if self.flags.stateful {
            self.states.keep(&states);
        }
        let mut outs = vec![output];
        if self.flags.return_state {
            outs.extend(states);
        }
        Ok(outs)
    }

    fn output_shapes(&self, s: &[Option<usize>]) -> Result<Vec<Shape>> {
        self.check_rank(s)?;
        let o = Some(self.cell.output_size());
        let first = if self.flags.return_sequences { vec![s[0], s[1], o] } else { vec![s[0], o] };
        let mut out = vec![first];
        if self.flags.return_state {
            out.extend(self.cell.state_size().into_iter().map(|n| vec![s[0], Some(n)]));
        }
        Ok(out)
    }
}

impl Layer for CellRnn {
    stepped_layer_common!("RNN");
    fn build(&mut self, input_shape: &[Option<usize>]) -> Result<()> {
        if let Some(e) = &self.base.pending_error {
            return Err(e.clone());
        }
        self.check_rank(input_shape)?;
        if !self.cell.built() {
            let mut step: Shape = input_shape.to_vec();
            step.remove(1);
            self.cell.build(&step)?;
        }
        self.base.build_input_shape = Some(input_shape.to_vec());
        self.base.built = true;
        crate::layers::assign_paths(self, "");
        Ok(())
    }
    fn sublayers(&self) -> Vec<Sublayer<'_>> {
        vec![Sublayer::attr("cell", &*self.cell as &dyn Layer)]
    }
    fn own_weights_and_sublayers_mut(&mut self) -> (Vec<&mut Variable>, Vec<&mut dyn Layer>) {
        (Vec::new(), vec![&mut *self.cell as &mut dyn Layer])
    }
    fn get_config(&self) -> Value {
        let mut m = self.base.base_config();
        self.flags.write_args(&mut m);
        m.insert("cell".into(), self.cell.serialize());
        Value::Object(m)
    }
}
