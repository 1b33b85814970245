//! `ConvLSTMCell`: one time step of the ConvLSTM layers (Keras
//! `keras.src.layers.rnn.conv_lstm.ConvLSTMCell`). The input and recurrent transformations of
//! an LSTM are convolutions: `z = conv(x, kernel) + bias + conv_same(h, recurrent_kernel)`,
//! split into the gates `i, f, c, o`. Built from the engine's differentiable convolution ops,
//! so gradients come from autodiff. The cell works channels-last; its layer moves the channels
//! of a `channels_first` sequence before and after.

use std::sync::Mutex;

use keras_engine::ops::{self, Unary};
use keras_engine::{with_global_rng, Rng};
use serde_json::Value;

use crate::activations::Activation;
use crate::constraints::Constraint;
use crate::initializers::Initializer;
use crate::layers::convolutional::args::InBase;
use crate::layers::convolutional::conv1d::Padding1D;
use crate::layers::convolutional::conv2d::conv_output_len;
use crate::layers::data_format::DataFormat;
use crate::layers::layer::{CallContext, Layer, LayerBase, Shape, Variable};
use crate::layers::layer_args::{LayerArgs, SizeTuple};
use crate::regularizers::Regularizer;
use crate::utils::config_args::config_args;
use crate::{keras_bail, Error, Result, Tensor};

/// The per-gate dropout masks of one sequence: input masks, recurrent masks.
type GateMasks = (Option<Vec<Tensor>>, Option<Vec<Tensor>>);

/// The weights and arguments of a ConvLSTM layer of rank `N` (Keras `ConvLSTMCell`, named
/// `conv_lstm_cell` inside its layer: variables `conv_lstm2d/conv_lstm_cell/kernel`,
/// `.../recurrent_kernel`, `.../bias`). Kernel `kernel_size + (input_dim, 4 * filters)`,
/// recurrent kernel `kernel_size + (filters, 4 * filters)`, bias `(4 * filters)`, the gate
/// blocks in Keras's order `i, f, c, o`. It runs inside its ConvLSTM layer, not on its own.
pub struct ConvLSTMCell<const N: usize> {
    pub(crate) base: LayerBase,
    /// The Keras arguments (the layer's and the cell's).
    pub(crate) args: ConvLstmArgs<N>,
    rng: Mutex<Option<Rng>>,
    masks: Mutex<Option<GateMasks>>,
    pub(crate) kernel: Option<Variable>,
    pub(crate) recurrent_kernel: Option<Variable>,
    pub(crate) bias: Option<Variable>,
}

config_args! {
    /// The Keras arguments of the ConvLSTM layers and their cell, in Keras's `get_config()`
    /// order (the layer's after its RNN flags).
    #[derive(Clone)]
    pub(crate) struct ConvLstmArgs<const N: usize>, family LayerArgs {
        pub(crate) filters: usize,
        pub(crate) kernel_size: SizeTuple<N>,
        pub(crate) strides: SizeTuple<N> = SizeTuple([1; N]),
        /// `valid` or `same` for the input convolution (the recurrent one pads `same`).
        pub(crate) padding: Padding1D = Padding1D::Valid,
        pub(crate) data_format: DataFormat = DataFormat::default(),
        pub(crate) dilation_rate: SizeTuple<N> = SizeTuple([1; N]),
        pub(crate) activation: Activation = Activation::Tanh,
        pub(crate) recurrent_activation: Activation = Activation::Sigmoid,
        pub(crate) use_bias: bool = true,
        pub(crate) kernel_initializer: Initializer = Initializer::glorot_uniform(),
        pub(crate) recurrent_initializer: Initializer = Initializer::Orthogonal { gain: 1.0, seed: None },
        pub(crate) bias_initializer: Initializer = Initializer::Zeros,
        pub(crate) unit_forget_bias: bool = true,
        pub(crate) kernel_regularizer: Option<Regularizer> = None,
        pub(crate) recurrent_regularizer: Option<Regularizer> = None,
        pub(crate) bias_regularizer: Option<Regularizer> = None,
        /// The layer's (the cell writes none).
        pub(crate) activity_regularizer: InBase = InBase,
        pub(crate) kernel_constraint: Option<Constraint> = None,
        pub(crate) recurrent_constraint: Option<Constraint> = None,
        pub(crate) bias_constraint: Option<Constraint> = None,
        pub(crate) dropout: f64 = 0.0,
        pub(crate) recurrent_dropout: f64 = 0.0,
        pub(crate) seed: Option<u64> = None,
    }
}

impl<const N: usize> ConvLstmArgs<N> {
    /// The first invalid argument of layer `layer`, with Keras's message, if any.
    pub(crate) fn error(&self, layer: &str) -> Option<Error> {
        let tuple_error = |what: &str, v: &[usize]| {
            v.contains(&0).then(|| {
                Error::InvalidArgument(format!(
                    "The `{what}` argument must be a tuple of {N} integers. Received {what}={v:?}, including values {{0}} that do not satisfy `value > 0`"
                ))
            })
        };
        let rate = |arg: &str, rate: f64| {
            (!(0.0..=1.0).contains(&rate)).then(|| {
                Error::InvalidArgument(format!(
                    "Layer {layer}: invalid value for `{arg}`, expected a float in [0, 1]. Received: {arg}={rate}"
                ))
            })
        };
        let (s, d) = (&*self.strides, &*self.dilation_rate);
        (self.filters == 0)
            .then(|| {
                Error::InvalidArgument(
                    "Invalid value for argument `filters`. Expected a strictly positive value. Received filters=0."
                        .into(),
                )
            })
            .or_else(|| tuple_error("kernel_size", &self.kernel_size))
            .or_else(|| tuple_error("strides", s))
            .or_else(|| tuple_error("dilation_rate", d))
            .or_else(|| {
                (s.iter().any(|&x| x > 1) && d.iter().any(|&x| x > 1)).then(|| {
                    Error::InvalidArgument(format!(
                        "Specifying `strides > 1` is not compatible with `dilation_rate > 1`. Please provide `strides=1` or `dilation_rate=1`. Received: strides={s:?} and dilation_rate={d:?}"
                    ))
                })
            })
            .or_else(|| rate("dropout", self.dropout))
            .or_else(|| rate("recurrent_dropout", self.recurrent_dropout))
    }
}

impl<const N: usize> ConvLSTMCell<N> {
    /// An unbuilt cell with Keras's defaults.
    pub(crate) fn new(filters: usize, kernel_size: SizeTuple<N>) -> Self {
        ConvLSTMCell {
            base: LayerBase::named("conv_lstm_cell"),
            args: ConvLstmArgs { filters, kernel_size, ..ConvLstmArgs::defaults() },
            rng: Mutex::new(None),
            masks: Mutex::new(None),
            kernel: None,
            recurrent_kernel: None,
            bias: None,
        }
    }

    /// Seeds the dropout masks (None: the global generator).
    pub(crate) fn set_seed(&mut self, seed: Option<u64>) {
        self.args.seed = seed;
        *self.rng.lock().unwrap_or_else(|e| e.into_inner()) = seed.map(Rng::new);
    }

    /// The spatial output size of the input convolution (channels-last spatial dims), or
    /// Keras's "output size would be negative" error.
    pub(crate) fn output_spatial(&self, layer: &str, input_shape: &[Option<usize>]) -> Result<Shape> {
        let a = &self.args;
        let spatial = &input_shape[2..2 + N];
        let mut out = Vec::with_capacity(N);
        for (i, d) in spatial.iter().enumerate() {
            out.push(match d {
                None => None,
                Some(d) => match conv_output_len(
                    *d,
                    a.kernel_size[i],
                    a.strides[i],
                    a.dilation_rate[i],
                    a.padding == Padding1D::Same,
                ) {
                    Some(o) => Some(o),
                    None => keras_bail!(
                        Shape,
                        "Computed output size would be negative in layer {layer}. Received `inputs shape={}`, `kernel_size={:?}`, `dilation_rate={:?}`.",
                        crate::layers::layer::shape_str(input_shape),
                        &*a.kernel_size,
                        &*a.dilation_rate
                    ),
                },
            });
        }
        Ok(out)
    }

    /// Creates the kernel, recurrent kernel and bias for `input_dim` input channels, as
    /// variables of `{layer}/conv_lstm_cell`.
    pub(crate) fn build_weights(&mut self, layer: &str, input_dim: usize) -> Result<()> {
        let path = format!("{layer}/{}", self.base.name);
        let a = &self.args;
        let f = a.filters;
        let mut kshape = a.kernel_size.to_vec();
        kshape.extend([input_dim, 4 * f]);
        let mut rshape = a.kernel_size.to_vec();
        rshape.extend([f, 4 * f]);
        self.kernel = Some(
            Variable::new("kernel", &path, a.kernel_initializer.initialize(&kshape)?, true)
                .with_regularizer(a.kernel_regularizer.clone())
                .with_constraint(a.kernel_constraint.clone()),
        );
        self.recurrent_kernel = Some(
            Variable::new("recurrent_kernel", &path, a.recurrent_initializer.initialize(&rshape)?, true)
                .with_regularizer(a.recurrent_regularizer.clone())
                .with_constraint(a.recurrent_constraint.clone()),
        );
        self.bias = if a.use_bias {
            let value = if a.unit_forget_bias {
                // Keras: bias_initializer for i, ones for f, bias_initializer for c and o.
                let mut v = a.bias_initializer.initialize(&[f])?.to_f32_vec();
                v.extend(std::iter::repeat_n(1.0, f));
                v.extend(a.bias_initializer.initialize(&[2 * f])?.to_f32_vec());
                Tensor::new(v, vec![4 * f])?
            } else {
                a.bias_initializer.initialize(&[4 * f])?
            };
            Some(
                Variable::new("bias", &path, value, true)
                    .with_regularizer(a.bias_regularizer.clone())
                    .with_constraint(a.bias_constraint.clone()),
            )
        } else {
            None
        };
        self.base.built = true;
        Ok(())
    }

    fn var<'a>(&self, v: &'a Option<Variable>) -> Result<&'a Variable> {
        v.as_ref().ok_or_else(|| Error::State(format!("Layer {} is not built", self.base.name)))
    }

    /// Channels-last convolution of rank 1, 2 or 3 (Keras `ops.conv`): the input convolution
    /// with the layer's strides, dilation and padding, or (`recurrent`) the recurrent one with
    /// stride 1, no dilation and `same` padding.
    fn conv(&self, x: &Tensor, w: &Tensor, bias: Option<&Tensor>, recurrent: bool) -> Result<Tensor> {
        let (strides, dilation, same) = if recurrent {
            (vec![1; N], vec![1; N], true)
        } else {
            let a = &self.args;
            (a.strides.to_vec(), a.dilation_rate.to_vec(), a.padding == Padding1D::Same)
        };
        if same {
            check_padded(x, w, &strides, &dilation)?;
        }
        let act = Unary::Linear;
        Ok(match N {
            1 => {
                let [b, l, c] = [x.shape()[0], x.shape()[1], x.shape()[2]];
                let [k, ci, co] = [w.shape()[0], w.shape()[1], w.shape()[2]];
                let x4 = x.reshape(vec![b, 1, l, c])?;
                let w4 = w.reshape(vec![1, k, ci, co])?;
                let y = ops::conv2d(&x4, &w4, bias, [1, strides[0]], [1, dilation[0]], same, act)?;
                let out = y.shape()[2];
                y.reshape(vec![b, out, co])?
            }
            2 => ops::conv2d(x, w, bias, [strides[0], strides[1]], [dilation[0], dilation[1]], same, act)?,
            _ => ops::conv3d(
                x,
                w,
                bias,
                [strides[0], strides[1], strides[2]],
                [dilation[0], dilation[1], dilation[2]],
                same,
                1,
                act,
            )?,
        })
    }

    /// Gate block `g` (of 4) along the last axis of `t`.
    fn gate(&self, t: &Tensor, g: usize) -> Result<Tensor> {
        let f = self.args.filters;
        let mut begin = vec![0; t.rank()];
        let mut size = t.shape().to_vec();
        begin[t.rank() - 1] = g * f;
        size[t.rank() - 1] = f;
        Ok(ops::slice(t, &begin, &size)?)
    }

    /// The four gate pre-activations of `conv(x, w)`: one convolution of the whole kernel
    /// split afterwards, or one convolution per gate when dropout gives each gate its own
    /// input (Keras convolves `inputs * dp_mask[g]` with kernel block `g`).
    fn gate_convs(
        &self,
        x: &Tensor,
        w: &Tensor,
        bias: Option<&Tensor>,
        masks: Option<&Vec<Tensor>>,
        recurrent: bool,
    ) -> Result<Vec<Tensor>> {
        match masks {
            None => {
                let z = self.conv(x, w, bias, recurrent)?;
                (0..4).map(|g| self.gate(&z, g)).collect()
            }
            Some(m) => (0..4)
                .map(|g| {
                    let bg = bias.map(|b| self.gate(b, g)).transpose()?;
                    self.conv(&ops::mul(x, &m[g])?, &self.gate(w, g)?, bg.as_ref(), recurrent)
                })
                .collect(),
        }
    }

    /// Four dropout masks shaped `(1, ..)` like one sample of `like` (Keras indexes the rows
    /// `dp_mask[0..4]` of a mask drawn for the step input: each gate gets its own mask,
    /// shared by the samples of the batch).
    fn dropout_masks(&self, rate: f64, like: &Tensor) -> Result<Vec<Tensor>> {
        let keep = 1.0 - rate as f32;
        let scale = 1.0 / keep;
        let mut shape = like.shape().to_vec();
        shape[0] = 1;
        let n: usize = shape.iter().product();
        let make = |r: &mut Rng| -> Vec<f32> {
            (0..4 * n).map(|_| if r.uniform_f32() < keep { scale } else { 0.0 }).collect()
        };
        let data = {
            let mut guard = self.rng.lock().unwrap_or_else(|e| e.into_inner());
            match guard.as_mut() {
                Some(r) => make(r),
                None => with_global_rng(make),
            }
        };
        data.chunks(n.max(1)).take(4).map(|c| Ok(Tensor::new(c.to_vec(), shape.clone())?)).collect()
    }

    /// One time step (Keras `ConvLSTMCell.call`): `x` is `(batch, spatial.., channels)`,
    /// `states` `[h, c]`, each `(batch, out_spatial.., filters)`; returns `h` and `[h, c]`.
    /// In training, dropout masks are drawn at the first step of a sequence and kept for the
    /// rest of it (until [`ConvLSTMCell::reset_sequence`]).
    pub(crate) fn step(
        &self,
        x: &Tensor,
        states: &[Tensor],
        training: bool,
    ) -> Result<(Tensor, Vec<Tensor>)> {
        let [h_prev, c_prev] = states else {
            keras_bail!(Value, "ConvLSTMCell expects 2 states (h, c), received {}", states.len());
        };
        let kernel = self.var(&self.kernel)?.value();
        let rkernel = self.var(&self.recurrent_kernel)?.value();
        let bias = self.bias.as_ref().map(Variable::value);
        let drop_in = training && self.args.dropout > 0.0 && self.args.dropout < 1.0;
        let drop_rec = training && self.args.recurrent_dropout > 0.0 && self.args.recurrent_dropout < 1.0;
        let (dm, rm) = if drop_in || drop_rec {
            let mut guard = self.masks.lock().unwrap_or_else(|e| e.into_inner());
            if guard.is_none() {
                let dm = if drop_in { Some(self.dropout_masks(self.args.dropout, x)?) } else { None };
                let rm = if drop_rec {
                    Some(self.dropout_masks(self.args.recurrent_dropout, h_prev)?)
                } else {
                    None
                };
                *guard = Some((dm, rm));
            }
            guard.clone().unwrap_or((None, None))
        } else {
            (None, None)
        };
        let xg = self.gate_convs(x, kernel, bias, dm.as_ref(), false)?;
        let hg = self.gate_convs(h_prev, rkernel, None, rm.as_ref(), true)?;
        let pre = |g: usize| -> Result<Tensor> { Ok(ops::add(&xg[g], &hg[g])?) };
        let i = self.args.recurrent_activation.apply(&pre(0)?)?;
        let f = self.args.recurrent_activation.apply(&pre(1)?)?;
        let cand = self.args.activation.apply(&pre(2)?)?;
        let c = ops::add(&ops::mul(&f, c_prev)?, &ops::mul(&i, &cand)?)?;
        let o = self.args.recurrent_activation.apply(&pre(3)?)?;
        let h = ops::mul(&o, &self.args.activation.apply(&c)?)?;
        Ok((h.clone(), vec![h, c]))
    }

    /// Forgets the dropout masks of the sequence that ran (Keras `reset_dropout_mask`).
    pub(crate) fn reset_sequence(&self) {
        *self.masks.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

/// Refuses a `same` convolution whose zero-padded input would not fit in a tensor (a huge
/// dilation or kernel from a hostile config), before the engine pads it.
fn check_padded(x: &Tensor, w: &Tensor, strides: &[usize], dilation: &[usize]) -> Result<()> {
    let shape = x.shape();
    let rank = shape.len() - 2;
    let mut padded = vec![shape[0]];
    for i in 0..rank {
        let (input, k, s, d) = (shape[i + 1], w.shape()[i], strides[i].max(1), dilation[i]);
        let eff = k.saturating_sub(1).checked_mul(d).and_then(|e| e.checked_add(1));
        let out = input.div_ceil(s);
        let total = eff.and_then(|e| (out.saturating_sub(1)).checked_mul(s)?.checked_add(e));
        match total {
            Some(t) => padded.push(t.max(input)),
            None => padded.push(usize::MAX),
        }
    }
    padded.push(shape[rank + 1]);
    keras_engine::alloc::checked_numel(&padded, 4).map_err(|e| {
        Error::InvalidArgument(format!(
            "ConvLSTM: the `same`-padded input {padded:?} is too large (kernel {:?}, dilation_rate {dilation:?}): {e}",
            &w.shape()[..rank]
        ))
    })?;
    Ok(())
}

impl<const N: usize> Layer for ConvLSTMCell<N> {
    crate::layers::layer::layer_base_methods!("ConvLSTMCell");
    fn compute_output_shape(&self, input_shape: &[Option<usize>]) -> Result<Shape> {
        // One step, channels-last: (batch, spatial.., channels) -> (batch, out_spatial.., filters).
        if input_shape.len() != N + 2 {
            keras_bail!(
                Shape,
                "ConvLSTMCell expects inputs of rank {}, received {}",
                N + 2,
                crate::layers::layer::shape_str(input_shape)
            );
        }
        let mut seq = vec![input_shape[0], None];
        seq.extend_from_slice(&input_shape[1..]);
        let mut out = vec![input_shape[0]];
        out.extend(self.output_spatial(&self.base.name, &seq)?);
        out.push(Some(self.args.filters));
        Ok(out)
    }
    fn call(&self, _x: &Tensor, _ctx: &mut CallContext) -> Result<Tensor> {
        keras_bail!(
            State,
            "ConvLSTMCell '{}' runs inside its ConvLSTM layer; keras-rs does not call it on its own",
            self.base.name
        )
    }
    crate::sublayers!(; kernel, recurrent_kernel, bias);
    fn get_config(&self) -> Value {
        let mut m = self.base.base_config();
        self.args.write_args(&mut m);
        m.shift_remove("activity_regularizer");
        Value::Object(m)
    }
}
