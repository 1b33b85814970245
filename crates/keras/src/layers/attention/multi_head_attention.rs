//! `MultiHeadAttention` (Keras `keras/src/layers/attention/multi_head_attention.py`): query,
//! key and value projected per head by `EinsumDense` sub-layers named `query`, `key`,
//! `value` (and `gate`), scaled dot-product attention over `attention_axes`, and the
//! `attention_output` projection back to the query's last dimension.

use std::sync::Mutex;

use keras_engine::Rng;
use serde_json::{json, Value};

use super::call_methods::{attention_arg_builders, attention_call_methods};
use crate::constraints::Constraint;
use crate::initializers::Initializer;
use crate::layers::attention::projections::Projections;
use crate::layers::attention::scaled_dot_product::ScoreSpec;
use crate::layers::call_kwargs::CallKwargs;
use crate::layers::layer::{CallContext, Layer, LayerBase, Shape};
use crate::layers::layer_args::{insert_activity_regularizer, LayerArgs, LayerCfg};
use crate::layers::weight_args::kernel_bias_args;
use crate::regularizers::Regularizer;
use crate::utils::config_args::ConfigArg;
use crate::utils::python_repr::py_shape;
use crate::{keras_bail, Error, Result, Tensor};

/// The class name in messages and configs.
const CLASS: &str = "MultiHeadAttention";

/// The keyword arguments of `MultiHeadAttention.call` and `GroupedQueryAttention.call`
/// (besides `training`).
pub(super) const MHA_KWARGS: &[&str] = &[
    "query",
    "value",
    "key",
    "query_mask",
    "value_mask",
    "key_mask",
    "attention_mask",
    "return_attention_scores",
    "use_causal_mask",
];

/// Keras `keras.layers.MultiHeadAttention`.
///
/// Called as Keras calls it: positional `[query, value]` or `[query, value, key]` (the key
/// defaults to the value), or with `key=` and the other arguments as keyword arguments
/// ([`CallKwargs`]): `attention_mask` (`(B, T, S)`, non-zero = attend),
/// `return_attention_scores` (a second output `(B, num_heads, T, S)`), `use_causal_mask`.
/// The Keras masks of query, value and key are combined into the attention mask as Keras does;
/// the output carries the query's mask.
///
/// Weights are Keras's, in Keras's order and paths: `query/kernel`, `query/bias`,
/// `key/kernel`, `key/bias`, (`gate/...` with `use_gate`), `value/kernel`, `value/bias`,
/// `attention_output/kernel`, `attention_output/bias`.
///
/// ```
/// use keras::layers::{CallContext, CallKwargs, Layer, MultiHeadAttention};
/// use keras::Tensor;
/// use serde_json::json;
///
/// let mut mha = MultiHeadAttention::new(2, 4);
/// mha.build_multi(&[vec![None, Some(5), Some(8)], vec![None, Some(6), Some(8)]]).unwrap();
/// assert_eq!(mha.weights()[0].path(), format!("{}/query/kernel", Layer::name(&mha)));
/// let kw = CallKwargs::new().with_value("return_attention_scores", json!(true));
/// let (q, v) = (Tensor::ones([3, 5, 8]), Tensor::ones([3, 6, 8]));
/// let out = mha.call_with_kwargs(&[q, v], &[None, None], &kw, &mut CallContext::new(false)).unwrap();
/// assert_eq!(out[0].shape(), &[3, 5, 8]);
/// assert_eq!(out[1].shape(), &[3, 2, 5, 6]);
/// ```
pub struct MultiHeadAttention {
    base: LayerBase,
    args: MultiHeadAttentionArgs,
    seeded: Mutex<Option<Rng>>,
    built: Option<Built>,
}

kernel_bias_args! {
    /// MultiHeadAttention's Keras arguments, in Keras's `get_config()` order
    /// (`activity_regularizer`, kept in the layer's base, is written between the regularizers
    /// and the constraints).
    pub(crate) struct MultiHeadAttentionArgs in MultiHeadAttention.args, family LayerArgs, of " of every projection"
    {
        num_heads: usize,
        key_dim: usize,
        /// `None` until set: `key_dim`.
        value_dim: Option<usize> = None,
        dropout: f32 = 0.0,
        /// Whether the projections have biases (default true).
        use_bias: bool = true; builder use_bias(use_bias: bool),
        /// A sigmoid gate projected from the query multiplies the attention output per head
        /// (Keras 3.15 `use_gate`).
        use_gate: bool = false; builder use_gate(use_gate: bool),
        output_shape: IntList<usize> = IntList(None),
        attention_axes: IntList<i64> = IntList(None),
        sliding_window: Option<usize> = None,
    } then {
        seed: Option<u64> = None,
    }
}

/// MultiHeadAttention's `output_shape` and `attention_axes`: `None`, or integers (Keras
/// turns an int into a one-element tuple).
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct IntList<T>(Option<Vec<T>>);

impl<T: serde::Serialize + TryFrom<i64>> ConfigArg<LayerArgs> for IntList<T> {
    fn to_config(&self) -> Value {
        json!(self.0)
    }
    fn from_config(src: &mut LayerCfg<'_>, key: &str, default: Option<Self>) -> Result<Self> {
        let int = |d: &Value| d.as_i64().and_then(|v| T::try_from(v).ok());
        let bad = |d: &Value| Error::Config(format!("{}: bad `{key}` entry {d}", src.class));
        Ok(IntList(match src.cfg.get(key) {
            None | Some(Value::Null) => return Ok(default.unwrap_or(IntList(None))),
            Some(n @ Value::Number(_)) => Some(vec![int(n).ok_or_else(|| bad(n))?]),
            Some(Value::Array(a)) => {
                Some(a.iter().map(|d| int(d).ok_or_else(|| bad(d))).collect::<Result<_>>()?)
            }
            Some(v) => keras_bail!(
                Config,
                "Invalid `{key}`: {v}. When specified, the `{key}` should be of type tuple, list, or int."
            ),
        }))
    }
}

/// What `build` makes: the projections and the attention equations.
struct Built {
    proj: Projections,
    /// Attention axes of the projected tensors (non-negative).
    attention_axes: Vec<usize>,
    dot_product_equation: String,
    combine_equation: String,
    scores_rank: usize,
    query_shape: Shape,
    value_shape: Shape,
    key_shape: Option<Shape>,
}

fn letter(i: usize) -> char {
    (b'a' + i as u8) as char
}

/// Keras `_build_proj_equation`: `(equation, bias_axes, output_rank)`.
fn proj_equation(free_dims: usize, bound_dims: usize, output_dims: usize) -> (String, String, usize) {
    let (mut input, mut kernel, mut output, mut bias) =
        (String::new(), String::new(), String::new(), String::new());
    for i in 0..free_dims {
        input.push(letter(i));
        output.push(letter(i));
    }
    for i in 0..bound_dims {
        input.push(letter(free_dims + i));
        kernel.push(letter(free_dims + i));
    }
    for i in 0..output_dims {
        let c = letter(free_dims + bound_dims + i);
        kernel.push(c);
        output.push(c);
        bias.push(c);
    }
    let rank = output.len();
    (format!("{input},{kernel}->{output}"), bias, rank)
}

/// Keras `_get_output_shape`: `None` for the leading dimensions, then the known ones.
fn output_shape_of(output_rank: usize, known: &[usize]) -> Shape {
    let mut s: Shape = vec![None; output_rank.saturating_sub(known.len())];
    s.extend(known.iter().map(|&d| Some(d)));
    s
}

/// Keras `_build_attention_equation`: `(dot_product, combine, scores_rank)`.
fn attention_equation(rank: usize, attn_axes: &[usize]) -> (String, String, usize) {
    let target: Vec<char> = (0..rank).map(letter).collect();
    let batch_dims: Vec<usize> = (0..rank).filter(|i| !attn_axes.contains(i) && *i != rank - 1).collect();
    let mut offset = rank;
    let mut source = Vec::with_capacity(rank);
    for (i, &t) in target.iter().enumerate() {
        if batch_dims.contains(&i) || i == rank - 1 {
            source.push(t);
        } else {
            source.push(letter(offset));
            offset += 1;
        }
    }
    let product: String = batch_dims
        .iter()
        .map(|&i| target[i])
        .chain(attn_axes.iter().map(|&i| target[i]))
        .chain(attn_axes.iter().map(|&i| source[i]))
        .collect();
    let (t, s): (String, String) = (target.iter().collect(), source.iter().collect());
    (format!("{s},{t}->{product}"), format!("{product},{s}->{t}"), product.len())
}

impl MultiHeadAttention {
    /// `num_heads` heads of size `key_dim` (value heads default to `key_dim` too).
    pub fn new(num_heads: usize, key_dim: usize) -> Self {
        let mut base = LayerBase::new("multi_head_attention");
        if num_heads == 0 {
            base.fail(Error::InvalidArgument(
                "Received an invalid value for argument `num_heads`, expected a positive integer. Received: num_heads=0".into(),
            ));
        }
        if key_dim == 0 {
            base.fail(Error::InvalidArgument(
                "Received an invalid value for argument `key_dim`, expected a positive integer. Received: key_dim=0".into(),
            ));
        }
        let args = MultiHeadAttentionArgs {
            num_heads,
            key_dim,
            value_dim: Some(key_dim),
            ..MultiHeadAttentionArgs::defaults()
        };
        MultiHeadAttention { base, args, seeded: Mutex::new(None), built: None }
    }

    /// Size of each value head (default `key_dim`).
    pub fn value_dim(mut self, dim: usize) -> Self {
        if dim == 0 {
            self.base.fail(Error::InvalidArgument(
                "Received an invalid value for argument `value_dim`, expected a positive integer or `None`. Received: value_dim=0"
                    .into(),
            ));
        }
        self.args.value_dim = Some(dim);
        self
    }

    /// The output's trailing shape (default: the query's last dimension).
    pub fn output_shape(mut self, shape: &[usize]) -> Self {
        self.args.output_shape = IntList(if shape.is_empty() { None } else { Some(shape.to_vec()) });
        self
    }

    /// Axes of the inputs attention runs over (default: every axis between batch and
    /// features); negative values count from the end of the projected rank minus one, as in
    /// Keras.
    pub fn attention_axes(mut self, axes: &[i64]) -> Self {
        self.args.attention_axes = IntList(Some(axes.to_vec()));
        self
    }

    attention_arg_builders!(MultiHeadAttentionArgs);

    /// Number of heads.
    pub fn num_heads(&self) -> usize {
        self.args.num_heads
    }

    /// Size of each query/key head.
    pub fn key_dim(&self) -> usize {
        self.args.key_dim
    }

    /// Size of each value head (`value_dim`, default `key_dim`).
    fn value_dim_or_key(&self) -> usize {
        self.args.value_dim.unwrap_or(self.args.key_dim)
    }

    /// Rebuilds from a Keras config.
    pub fn from_config(cfg: &Value) -> Result<Self> {
        let mut args = MultiHeadAttentionArgs::read_args(&mut LayerCfg::new(cfg, "MultiHeadAttention"))?;
        // The constructor's and builders' checks are the config's checks too.
        let mut l = MultiHeadAttention::new(args.num_heads, args.key_dim).dropout(args.dropout);
        if let Some(v) = args.value_dim {
            l = l.value_dim(v);
        }
        args.value_dim = Some(args.value_dim.unwrap_or(args.key_dim));
        l.finish_config(args, cfg)
    }

    /// Keras `build(query_shape, value_shape, key_shape)`.
    fn build_shapes(
        &mut self,
        query_shape: &Shape,
        value_shape: &Shape,
        key_shape: Option<&Shape>,
    ) -> Result<()> {
        crate::layers::layer::check_pending(self)?;
        let key = key_shape.unwrap_or(value_shape);
        check_value_key(value_shape, key)?;
        if query_shape.len() < 2 || value_shape.len() < 2 {
            keras_bail!(
                InvalidArgument,
                "MultiHeadAttention expects query and value of rank >= 2 (batch, ..., dim). Received: query_shape={} and value_shape={}",
                py_shape(query_shape),
                py_shape(value_shape)
            );
        }
        let (qr, vr, kr) = (query_shape.len(), value_shape.len(), key.len());
        let (eq, bias, rank) = proj_equation(qr - 1, 1, 2);
        let mut query = self.maker().make(
            &eq,
            output_shape_of(rank - 1, &[self.args.num_heads, self.args.key_dim]),
            &bias,
            "query",
        );
        query.build(query_shape)?;
        let (eq, bias, rank) = proj_equation(kr - 1, 1, 2);
        let mut key_dense = self.maker().make(
            &eq,
            output_shape_of(rank - 1, &[self.args.num_heads, self.args.key_dim]),
            &bias,
            "key",
        );
        key_dense.build(key)?;
        let gate = if self.args.use_gate {
            let (eq, bias, rank) = proj_equation(qr - 1, 1, 2);
            let mut g = self.maker().make(
                &eq,
                output_shape_of(rank - 1, &[self.args.num_heads, self.value_dim_or_key()]),
                &bias,
                "gate",
            );
            g = g.activation("sigmoid");
            g.build(query_shape)?;
            Some(g)
        } else {
            None
        };
        let (eq, bias, value_rank) = proj_equation(vr - 1, 1, 2);
        let mut value = self.maker().make(
            &eq,
            output_shape_of(value_rank - 1, &[self.args.num_heads, self.value_dim_or_key()]),
            &bias,
            "value",
        );
        value.build(value_shape)?;
        // `_build_attention(rank)` on the projected rank.
        let rank = value_rank;
        let attention_axes: Vec<usize> = match &self.args.attention_axes.0 {
            None => (1..rank.saturating_sub(2)).collect(),
            Some(axes) => axes
                .iter()
                .map(|&a| {
                    let r = if a >= 0 { a } else { rank as i64 - 1 + a };
                    if r < 1 || r as usize >= rank - 2 {
                        keras_bail!(
                            InvalidArgument,
                            "MultiHeadAttention: attention axis {a} is out of range for inputs of rank {}",
                            rank - 1
                        );
                    }
                    Ok(r as usize)
                })
                .collect::<Result<_>>()?,
        };
        let (dot, combine, scores_rank) = attention_equation(rank, &attention_axes);
        let out_shape: Vec<usize> = match &self.args.output_shape.0 {
            Some(s) => s.clone(),
            None => match query_shape.last() {
                Some(Some(d)) => vec![*d],
                _ => keras_bail!(
                    Shape,
                    "Layer {} needs a known last query dimension, received query_shape={}",
                    self.base.name,
                    py_shape(query_shape)
                ),
            },
        };
        let (eq, bias, orank) = proj_equation(qr - 1, 2, out_shape.len());
        let mut output =
            self.maker().make(&eq, output_shape_of(orank - 1, &out_shape), &bias, "attention_output");
        let mut out_in = query.compute_output_shape(query_shape)?;
        if let Some(last) = out_in.last_mut() {
            *last = Some(self.value_dim_or_key());
        }
        output.build(&out_in)?;
        self.built = Some(Built {
            proj: Projections { query, key: key_dense, gate, value, output },
            attention_axes,
            dot_product_equation: dot,
            combine_equation: combine,
            scores_rank,
            query_shape: query_shape.clone(),
            value_shape: value_shape.clone(),
            key_shape: key_shape.cloned(),
        });
        self.base.built = true;
        Ok(())
    }

    /// Keras `compute_output_shape` (plus the scores' shape when asked).
    fn shapes(&self, query: &Shape, value: &Shape, key: Option<&Shape>, scores: bool) -> Result<Vec<Shape>> {
        check_value_key(value, key.unwrap_or(value))?;
        let mut out = query.clone();
        if let Some(s) = &self.args.output_shape.0 {
            out.pop();
            out.extend(s.iter().map(|&d| Some(d)));
        }
        let mut res = vec![out];
        if scores {
            // (batch, non-attention dims, heads, query attention dims, key attention dims).
            let rank = value.len() + 1;
            let axes: Vec<usize> = match &self.built {
                Some(b) => b.attention_axes.clone(),
                None => match &self.args.attention_axes.0 {
                    None => (1..rank.saturating_sub(2)).collect(),
                    Some(a) => a
                        .iter()
                        .map(|&x| if x >= 0 { x as usize } else { (rank as i64 - 1 + x).max(0) as usize })
                        .collect(),
                },
            };
            let qd = |i: usize| query.get(i).copied().flatten();
            let kd = |i: usize| key.unwrap_or(value).get(i).copied().flatten();
            // Input axes other than the features and the attention axes are batch-like.
            let mut s: Shape = (0..rank - 2).filter(|i| !axes.contains(i)).map(qd).collect();
            s.push(Some(self.args.num_heads));
            s.extend(axes.iter().map(|&i| qd(i)));
            s.extend(axes.iter().map(|&i| kd(i)));
            res.push(s);
        }
        Ok(res)
    }

    /// Keras `call` after the masks are combined: `[output]` or `[output, scores]`.
    fn attend(
        &self,
        b: &Built,
        qkv: [&Tensor; 3],
        mask: Option<&Tensor>,
        return_scores: bool,
        ctx: &mut CallContext,
    ) -> Result<Vec<Tensor>> {
        let spec = ScoreSpec {
            dot_product_equation: &b.dot_product_equation,
            combine_equation: &b.combine_equation,
            attention_axes: b.attention_axes.len(),
            scores_rank: b.scores_rank,
            scale: 1.0 / (self.args.key_dim as f32).sqrt(),
            dropout: self.args.dropout,
        };
        b.proj.attend(qkv, mask, &spec, &self.seeded, return_scores, ctx, Ok)
    }
}

/// A Keras layer record of an attention layer: after `build` Keras records the shapes of the
/// call arguments `build` names (`key_shape` only when a key was passed).
pub(super) fn serialize_with_shapes(
    class: &str,
    config: Value,
    shapes: Option<(&Shape, &Shape, Option<&Shape>)>,
) -> Value {
    let mut m = serde_json::Map::new();
    m.insert("module".into(), json!("keras.layers"));
    m.insert("class_name".into(), json!(class));
    m.insert("config".into(), config);
    m.insert("registered_name".into(), Value::Null);
    if let Some((query, value, key)) = shapes {
        let mut d = serde_json::Map::new();
        d.insert("query_shape".into(), json!(query));
        d.insert("value_shape".into(), json!(value));
        if let Some(k) = key {
            d.insert("key_shape".into(), json!(k));
        }
        m.insert("build_config".into(), json!({ "shapes_dict": d }));
    }
    Value::Object(m)
}

/// Keras: value and key must agree on every axis but the last.
pub(super) fn check_value_key(value: &Shape, key: &Shape) -> Result<()> {
    if value.len() < 2 || key.len() != value.len() || value[1..value.len() - 1] != key[1..key.len() - 1] {
        keras_bail!(
            InvalidArgument,
            "All dimensions of `value` and `key`, except the last one, must be equal. Received: value_shape={} and key_shape={}",
            py_shape(value),
            py_shape(key)
        );
    }
    Ok(())
}

/// The `(query, value, key)` of a call of layer class `c`: positional or keyword.
pub(super) fn qvk<'a, T>(
    inputs: &'a [T],
    kwargs: &'a CallKwargs<T>,
    c: &str,
) -> Result<(&'a T, &'a T, Option<&'a T>)> {
    let query = kwargs.positional_or(inputs, 0, "query", c)?;
    let value = kwargs.positional_or(inputs, 1, "value", c)?;
    let key = kwargs.positional_or(inputs, 2, "key", c)?;
    if inputs.len() > 3 {
        keras_bail!(
            InvalidArgument,
            "{c}.call() takes from 3 to 4 positional arguments but {} were given",
            inputs.len() + 1
        );
    }
    match (query, value) {
        (Some(q), Some(v)) => Ok((q, v, key)),
        (None, _) => keras_bail!(
            InvalidArgument,
            "{c}.call() missing 2 required positional arguments: 'query' and 'value'"
        ),
        (_, None) => {
            keras_bail!(InvalidArgument, "{c}.call() missing 1 required positional argument: 'value'")
        }
    }
}

/// Refuses unknown keywords and `mask=` (the `call` of MultiHeadAttention and
/// GroupedQueryAttention has no `mask` parameter; a `null` is ignored).
pub(super) fn check_kwargs<T>(kwargs: &CallKwargs<T>, c: &str) -> Result<()> {
    kwargs.check_known(c, MHA_KWARGS)?;
    if kwargs.contains("mask") {
        keras_bail!(InvalidArgument, "{c}.call() got an unexpected keyword argument 'mask'");
    }
    Ok(())
}

/// The arguments of one call, positional or keyword, with each tensor's Keras mask.
pub(super) struct CallArgs<'a> {
    pub(super) query: &'a Tensor,
    pub(super) value: &'a Tensor,
    pub(super) key: Option<&'a Tensor>,
    /// Query, value and key masks (an explicit `value_mask=` / `key_mask=` wins).
    pub(super) masks: [Option<&'a Tensor>; 3],
    pub(super) attention_mask: Option<&'a Tensor>,
    pub(super) scores: bool,
    pub(super) causal: bool,
    pub(super) training: Option<bool>,
}

impl CallArgs<'_> {
    /// The call's masks (query, value and key masks, `attention_mask`, the causal mask)
    /// combined into the one attention mask Keras applies (`_compute_attention_mask`), with a
    /// sliding window when the layer has one.
    pub(super) fn combined_mask(&self, sliding_window: Option<usize>) -> Result<Option<Tensor>> {
        super::masking::combined(
            self.query,
            self.value,
            self.masks,
            self.attention_mask,
            self.causal,
            sliding_window,
        )
    }
}

/// Binds a call of layer class `c` as Python binds `call(query, value, key=None, ...,
/// use_causal_mask=False)`.
pub(super) fn resolve<'a>(
    inputs: &'a [Tensor],
    masks: &'a [Option<Tensor>],
    kwargs: &'a CallKwargs,
    c: &str,
) -> Result<CallArgs<'a>> {
    check_kwargs(kwargs, c)?;
    let (query, value, key) = qvk(inputs, kwargs, c)?;
    // Positional tensors' masks come in `masks`; keyword tensors carry theirs.
    let carried = |i: usize, name: &str| -> Option<&'a Tensor> {
        if i < inputs.len() {
            masks.get(i).and_then(Option::as_ref)
        } else {
            kwargs.tensor_mask(name)
        }
    };
    let query_mask = carried(0, "query");
    let value_mask = match kwargs.tensor("value_mask", c)? {
        Some(m) => Some(m),
        None => carried(1, "value"),
    };
    let key_mask = match kwargs.tensor("key_mask", c)? {
        Some(m) => Some(m),
        None if key.is_some() => carried(2, "key"),
        None => None,
    };
    Ok(CallArgs {
        query,
        value,
        key,
        masks: [query_mask, value_mask, key_mask],
        attention_mask: kwargs.tensor("attention_mask", c)?,
        scores: kwargs.bool_or("return_attention_scores", c, false)?,
        causal: kwargs.bool_or("use_causal_mask", c, false)?,
        training: kwargs.training(c)?,
    })
}

impl MultiHeadAttention {
    /// The number of attention axes and the rank of the scores (once built).
    fn scores_dims(&self) -> Result<(usize, usize)> {
        let b = self.built_ref()?;
        Ok((b.attention_axes.len(), b.scores_rank))
    }
}

impl Layer for MultiHeadAttention {
    crate::layers::layer::layer_base_methods!("MultiHeadAttention");
    attention_call_methods!(CLASS, sublayers ["query_dense", "key_dense", "_gate_dense", "value_dense", "output_dense"]);
    fn get_config(&self) -> Value {
        let mut m = self.base.base_config();
        self.args.write_args(&mut m);
        // After build Keras stores the resolved axes (`_build_attention`).
        if let Some(b) = &self.built {
            m.insert("attention_axes".into(), json!(b.attention_axes));
        }
        insert_activity_regularizer(&mut m, &self.base);
        Value::Object(m)
    }
    fn serialize(&self) -> Value {
        let shapes = self.built.as_ref().map(|b| (&b.query_shape, &b.value_shape, b.key_shape.as_ref()));
        serialize_with_shapes(CLASS, self.get_config(), shapes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equations_match_keras() {
        assert_eq!(proj_equation(2, 1, 2), ("abc,cde->abde".to_string(), "de".to_string(), 4));
        assert_eq!(proj_equation(2, 2, 1), ("abcd,cde->abe".to_string(), "e".to_string(), 3));
        let (dot, combine, rank) = attention_equation(4, &[1]);
        assert_eq!((dot.as_str(), combine.as_str(), rank), ("aecd,abcd->acbe", "acbe,aecd->abcd", 4));
        let (dot, combine, rank) = attention_equation(5, &[1, 2]);
        assert_eq!((dot.as_str(), combine.as_str(), rank), ("afgde,abcde->adbcfg", "adbcfg,afgde->abcde", 6));
        assert_eq!(output_shape_of(3, &[2, 4]), vec![None, Some(2), Some(4)]);
    }
}
