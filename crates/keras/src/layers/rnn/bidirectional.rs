//! `Bidirectional`: runs a recurrent layer forwards and a copy backwards, then merges.

use keras_engine::ops;
use serde_json::{json, Value};

use super::base::{Recurrent, RecurrentKind};
use crate::layers::layer::{CallContext, Layer, LayerBase, Shape, Sublayer, Variable};
use crate::layers::layer_args::{LayerArgs, LayerCfg};
use crate::utils::config_args::{config_args, ConfigArg};
use crate::{keras_bail, Error, Result, Tensor};

/// How the forward and backward outputs are combined.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MergeMode {
    /// `[forward, backward]` on the last axis (default).
    Concat,
    /// `forward + backward`.
    Sum,
    /// `forward * backward`.
    Mul,
    /// `(forward + backward) / 2`.
    Ave,
}

impl MergeMode {
    fn name(self) -> &'static str {
        match self {
            MergeMode::Concat => "concat",
            MergeMode::Sum => "sum",
            MergeMode::Mul => "mul",
            MergeMode::Ave => "ave",
        }
    }
}

fn parse_merge_mode(v: Option<&str>) -> Result<Option<MergeMode>> {
    Ok(match v {
        None => None,
        Some("concat") => Some(MergeMode::Concat),
        Some("sum") => Some(MergeMode::Sum),
        Some("mul") => Some(MergeMode::Mul),
        Some("ave") => Some(MergeMode::Ave),
        Some(other) => keras_bail!(
            InvalidArgument,
            "Invalid merge mode. Received: merge_mode={other}. Merge mode should be one of {{\"sum\", \"mul\", \"ave\", \"concat\", None}}"
        ),
    })
}

/// `merge_mode`: a mode's name, `null` for none (two outputs).
impl ConfigArg<LayerArgs> for Option<MergeMode> {
    fn to_config(&self) -> Value {
        self.map_or(Value::Null, |m| Value::from(m.name()))
    }
    fn from_config(src: &mut LayerCfg<'_>, key: &str, default: Option<Self>) -> Result<Self> {
        match src.cfg.get(key) {
            None => Ok(default.flatten()),
            Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => parse_merge_mode(Some(s)),
            Some(other) => {
                keras_bail!(Config, "{}: `{key}` must be a string or null, received {key}={other}", src.class)
            }
        }
    }
}

config_args! {
    /// Bidirectional's Keras arguments besides its layers, in the order of its `get_config()`.
    pub(crate) struct BidirectionalArgs in Bidirectional.args, family LayerArgs {
        merge_mode: Option<MergeMode> = Some(MergeMode::Concat),
    }
}

/// Bidirectional wrapper for RNNs (Keras `keras.layers.Bidirectional`). The backward copy
/// processes the sequence reversed; with `return_sequences` its output is re-reversed to
/// align with the input steps before merging. Weights: the forward layer's, then the
/// backward layer's (`bidirectional/forward_lstm/lstm_cell/kernel`, ...).
///
/// ```
/// use keras::layers::{Bidirectional, Layer, LSTM};
/// let mut bi = Bidirectional::new(LSTM::new(8).return_sequences(true)).merge_mode(Some("concat"));
/// bi.build(&[None, Some(5), Some(3)]).unwrap();
/// assert_eq!(bi.compute_output_shape(&[None, Some(5), Some(3)]).unwrap(), vec![None, Some(5), Some(16)]);
/// assert_eq!(bi.weights().len(), 6);
/// ```
pub struct Bidirectional {
    base: LayerBase,
    args: BidirectionalArgs,
    forward: Recurrent,
    backward: Recurrent,
}

fn copy_of(r: &Recurrent) -> Result<Recurrent> {
    Recurrent::from_config(r.kind, &r.get_config())
}

fn strip(name: &str, prefix: &str) -> String {
    name.strip_prefix(prefix).unwrap_or(name).to_string()
}

impl Bidirectional {
    /// Wraps `layer` (an `LSTM`, `GRU` or `SimpleRNN`); the backward copy is made from its
    /// config with `go_backwards` flipped. Merge mode `concat`.
    pub fn new(layer: impl Into<Recurrent>) -> Self {
        let layer: Recurrent = layer.into();
        let mut base = LayerBase::new("bidirectional");
        let (forward, backward) = match (copy_of(&layer), copy_of(&layer)) {
            (Ok(mut f), Ok(mut b)) => {
                f.base.name = format!("forward_{}", strip(&layer.base.name, "forward_"));
                b.base.name = format!("backward_{}", strip(&layer.base.name, "backward_"));
                b.flags.go_backwards = !layer.flags.go_backwards;
                (f, b)
            }
            (Err(e), _) | (_, Err(e)) => {
                base.fail(e);
                (Recurrent::new(layer.kind, layer.args.units), Recurrent::new(layer.kind, layer.args.units))
            }
        };
        let mut bi = Bidirectional { base, args: BidirectionalArgs::defaults(), forward, backward };
        bi.sync_flags();
        bi
    }

    fn sync_flags(&mut self) {
        let rs = self.forward.flags.return_sequences;
        self.forward.flags.zero_output_for_mask = rs;
        self.backward.flags.zero_output_for_mask = self.backward.flags.return_sequences;
    }

    /// Uses `layer` (e.g. an LSTM with `go_backwards(true)`) as the backward layer. Its
    /// `return_sequences` / `return_state` must match and `go_backwards` must differ.
    pub fn backward_layer(mut self, layer: impl Into<Recurrent>) -> Self {
        self.backward = layer.into();
        self.sync_flags();
        if let Err(e) = self.verify() {
            self.base.fail(e);
        }
        self
    }

    fn verify(&self) -> Result<()> {
        let (f, b) = (&self.forward, &self.backward);
        if f.flags.go_backwards == b.flags.go_backwards {
            keras_bail!(
                InvalidArgument,
                "Forward layer and backward layer should have different `go_backwards` value. Received: forward go_backwards={}, backward go_backwards={}",
                f.flags.go_backwards,
                b.flags.go_backwards
            );
        }
        for (arg, x, y) in [
            ("return_sequences", f.flags.return_sequences, b.flags.return_sequences),
            ("return_state", f.flags.return_state, b.flags.return_state),
        ] {
            if x != y {
                keras_bail!(
                    InvalidArgument,
                    "Forward layer and backward layer are expected to have the same value for attribute \"{arg}\", got \"{x}\" for forward layer and \"{y}\" for backward layer"
                );
            }
        }
        Ok(())
    }

    /// `"concat"` (default), `"sum"`, `"mul"`, `"ave"`, or `None` (both outputs as a list).
    /// Anything else is an error when the layer is added to a model.
    pub fn merge_mode(mut self, mode: Option<&str>) -> Self {
        self.base.accept(&mut self.args.merge_mode, parse_merge_mode(mode));
        self
    }

    crate::layers::builders::base_builders!();

    /// Rebuilds the wrapper from its Keras config (`layer`, optional `backward_layer`).
    pub fn from_config(cfg: &Value) -> Result<Self> {
        let sub = |v: &Value| -> Result<Recurrent> {
            let class = v.get("class_name").and_then(Value::as_str).unwrap_or("");
            let kind = RecurrentKind::from_class_name(class).ok_or_else(|| {
                Error::Config(format!(
                    "Bidirectional supports LSTM, GRU and SimpleRNN layers, received class '{class}'"
                ))
            })?;
            Recurrent::from_config(kind, v.get("config").unwrap_or(&Value::Null))
        };
        let layer = sub(crate::layers::reshaping::args::required(cfg, "layer", "Bidirectional")?)?;
        let mut bi = Bidirectional::new(layer);
        if let Some(b) = cfg.get("backward_layer").filter(|v| !v.is_null()) {
            bi = bi.backward_layer(sub(b)?);
        }
        bi.base.apply_config(cfg);
        bi.args = BidirectionalArgs::read_args(&mut LayerCfg::new(cfg, "Bidirectional"))?;
        bi.base.take_pending()?;
        Ok(bi)
    }

    fn sub_serialized(r: &Recurrent) -> Value {
        let mut v = json!({
            "module": "keras.layers",
            "class_name": r.kind.class_name(),
            "config": r.get_config(),
            "registered_name": null,
        });
        if let Some(s) = &r.base.build_input_shape {
            v["build_config"] = json!({ "input_shape": s });
        }
        v
    }

    /// Calls both directions from explicit initial states, Keras's
    /// `bidirectional(x, initial_state=states)`: the first half of `initial_state` starts the
    /// forward layer, the second half the backward layer (`[h_fwd, h_bwd]` for GRUs,
    /// `[h_fwd, c_fwd, h_bwd, c_bwd]` for LSTMs: the states a `return_state` Bidirectional
    /// returns after its output). Returns every output: the merged output (or both with
    /// `merge_mode(None)`), then the forward and backward final states with `return_state`.
    ///
    /// ```
    /// use keras::layers::{Bidirectional, CallContext, Layer, GRU};
    /// use keras::Tensor;
    /// let mut bi = Bidirectional::new(GRU::new(4));
    /// bi.build(&[None, Some(3), Some(2)])?;
    /// let x = Tensor::ones([1, 3, 2]);
    /// let (h_fwd, h_bwd) = (Tensor::zeros(vec![1, 4]), Tensor::ones([1, 4]));
    /// let out = bi.call_with_state(&x, &[h_fwd, h_bwd], None, &mut CallContext::new(false))?;
    /// assert_eq!(out[0].shape(), &[1, 8]);
    /// # Ok::<(), keras::Error>(())
    /// ```
    pub fn call_with_state(
        &self,
        x: &Tensor,
        initial_state: &[Tensor],
        mask: Option<&Tensor>,
        ctx: &mut CallContext,
    ) -> Result<Vec<Tensor>> {
        self.run(x, mask, Some(initial_state), ctx)
    }

    fn run(
        &self,
        x: &Tensor,
        mask: Option<&Tensor>,
        initial_state: Option<&[Tensor]>,
        ctx: &mut CallContext,
    ) -> Result<Vec<Tensor>> {
        // Keras splits the list in halves (`half = len(initial_state) // 2`) and lets each
        // layer check its own count and shapes.
        let (fs, bs) = match initial_state {
            Some(s) => {
                let (f, b) = s.split_at(s.len() / 2);
                (Some(f), Some(b))
            }
            None => (None, None),
        };
        let fw = self.forward.run(x, mask, fs, ctx)?;
        let mut bw = self.backward.run(x, mask, bs, ctx)?;
        if self.backward.flags.return_sequences {
            bw[0] = reverse_time(&bw[0])?;
        }
        let mut outs = match self.args.merge_mode {
            None => vec![fw[0].clone(), bw[0].clone()],
            Some(_) => vec![self.merge(&fw[0], &bw[0])?],
        };
        outs.extend(fw.into_iter().skip(1));
        outs.extend(bw.into_iter().skip(1));
        Ok(outs)
    }

    /// Every output shape, as Keras orders them: the merged output (both outputs with
    /// `merge_mode(None)`), then with `return_state` the forward layer's states and the
    /// backward layer's.
    fn output_shapes(&self, input_shape: &[Option<usize>]) -> Result<Vec<Shape>> {
        let mut f = self.forward.output_shapes(input_shape)?;
        let mut b = self.backward.output_shapes(input_shape)?;
        let (f_states, b_states) = (f.split_off(1), b.split_off(1));
        let (mut f, b) = (f.swap_remove(0), b.swap_remove(0));
        let mut out = match self.args.merge_mode {
            None => vec![f, b],
            Some(MergeMode::Concat) => {
                let last = f.len() - 1;
                f[last] = match (f[last], b[last]) {
                    (Some(x), Some(y)) => Some(x + y),
                    _ => None,
                };
                vec![f]
            }
            Some(_) => vec![f],
        };
        out.extend(f_states);
        out.extend(b_states);
        Ok(out)
    }

    fn merge(&self, f: &Tensor, b: &Tensor) -> Result<Tensor> {
        Ok(match self.args.merge_mode {
            Some(MergeMode::Concat) => concat_last(f, b)?,
            Some(MergeMode::Sum) => ops::add(f, b)?,
            Some(MergeMode::Mul) => ops::mul(f, b)?,
            Some(MergeMode::Ave) => ops::scale(&ops::add(f, b)?, 0.5)?,
            None => keras_bail!(
                Value,
                "Layer {} has merge_mode=None and returns two outputs: use call_outputs",
                self.base.name
            ),
        })
    }
}

/// `x[:, ::-1]` for `(batch, time, features)` (differentiable).
fn reverse_time(x: &Tensor) -> Result<Tensor> {
    let (b, t, d) = (x.shape()[0], x.shape()[1], x.shape()[2]);
    let flip = move |v: &[f32]| -> Vec<f32> {
        let mut out = vec![0.0f32; v.len()];
        for bi in 0..b {
            for s in 0..t {
                let src = (bi * t + s) * d;
                let dst = (bi * t + t - 1 - s) * d;
                out[dst..dst + d].copy_from_slice(&v[src..src + d]);
            }
        }
        out
    };
    let data = flip(x.as_f32()?);
    Ok(Tensor::from_op(
        data,
        x.shape().to_vec(),
        &[x],
        Box::new(move |g, _o, _i| Ok(vec![Some(Tensor::new(flip(g.as_f32()?), g.shape().to_vec())?)])),
    )?)
}

/// Concatenates two tensors of equal leading shape on the last axis (differentiable).
fn concat_last(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let (na, nb) = (a.shape()[a.rank() - 1], b.shape()[b.rank() - 1]);
    let rows = a.numel() / na.max(1);
    let (av, bv) = (a.as_f32()?, b.as_f32()?);
    let mut out = Vec::with_capacity(rows * (na + nb));
    for r in 0..rows {
        out.extend_from_slice(&av[r * na..(r + 1) * na]);
        out.extend_from_slice(&bv[r * nb..(r + 1) * nb]);
    }
    let mut shape = a.shape().to_vec();
    *shape.last_mut().expect("rank >= 1") = na + nb;
    let (sa, sb) = (a.shape().to_vec(), b.shape().to_vec());
    Ok(Tensor::from_op(
        out,
        shape,
        &[a, b],
        Box::new(move |g, _o, _i| {
            let gv = g.as_f32()?;
            let (mut ga, mut gb) = (Vec::with_capacity(rows * na), Vec::with_capacity(rows * nb));
            for r in 0..rows {
                let row = &gv[r * (na + nb)..(r + 1) * (na + nb)];
                ga.extend_from_slice(&row[..na]);
                gb.extend_from_slice(&row[na..]);
            }
            Ok(vec![Some(Tensor::new(ga, sa.clone())?), Some(Tensor::new(gb, sb.clone())?)])
        }),
    )?)
}

impl Layer for Bidirectional {
    crate::layers::layer::layer_base_methods!("Bidirectional");

    fn build(&mut self, input_shape: &[Option<usize>]) -> Result<()> {
        // A builder error also stops a direct build (not only `Sequential::add`).
        crate::layers::layer::check_pending(self)?;
        self.forward.build(input_shape)?;
        self.backward.build(input_shape)?;
        self.base.build_input_shape = Some(input_shape.to_vec());
        self.base.built = true;
        // The variables carry this layer's name (`bidirectional/forward_lstm/lstm_cell/kernel`).
        crate::layers::assign_paths(self, "");
        Ok(())
    }

    fn compute_output_shape(&self, input_shape: &[Option<usize>]) -> Result<Shape> {
        Ok(self.output_shapes(input_shape)?.swap_remove(0))
    }

    fn compute_output_shapes(&self, input_shapes: &[Shape]) -> Result<Vec<Shape>> {
        let s = crate::layers::layer::single_input(&self.base.name, input_shapes)?;
        self.output_shapes(s)
    }

    fn call(&self, x: &Tensor, ctx: &mut CallContext) -> Result<Tensor> {
        self.call_masked(x, None, ctx)
    }

    fn call_masked(&self, x: &Tensor, mask: Option<&Tensor>, ctx: &mut CallContext) -> Result<Tensor> {
        if self.args.merge_mode.is_none() {
            keras_bail!(
                Value,
                "Layer {} has merge_mode=None and returns two outputs: use call_outputs",
                self.base.name
            );
        }
        Ok(self.call_outputs(x, mask, ctx)?.swap_remove(0))
    }

    fn call_outputs(&self, x: &Tensor, mask: Option<&Tensor>, ctx: &mut CallContext) -> Result<Vec<Tensor>> {
        self.run(x, mask, None, ctx)
    }

    super::cell_rnn::recurrent_call_methods!();

    fn compute_mask(&self, _x: &Tensor, mask: Option<&Tensor>) -> Result<Option<Tensor>> {
        Ok(self.forward.compute_mask(mask))
    }

    fn sublayers(&self) -> Vec<Sublayer<'_>> {
        vec![Sublayer::attr("forward_layer", &self.forward), Sublayer::attr("backward_layer", &self.backward)]
    }

    fn own_weights_and_sublayers_mut(&mut self) -> (Vec<&mut Variable>, Vec<&mut dyn Layer>) {
        (Vec::new(), vec![&mut self.forward, &mut self.backward])
    }

    fn get_config(&self) -> Value {
        let mut m = self.base.base_config();
        self.args.write_args(&mut m);
        m.insert("layer".into(), Self::sub_serialized(&self.forward));
        m.insert("backward_layer".into(), Self::sub_serialized(&self.backward));
        Value::Object(m)
    }
}
