//! `GroupedQueryAttention` (Keras `keras/src/layers/attention/grouped_query_attention.py`,
//! exported as `keras.layers.GroupQueryAttention`): `num_query_heads` query heads share
//! `num_key_value_heads` key and value heads (Ainslie et al., 2023). One key/value head is
//! multi-query attention; as many as query heads is multi-head attention.

use std::sync::Mutex;

use keras_engine::Rng;
use serde_json::Value;

use super::call_methods::{attention_arg_builders, attention_call_methods};
use crate::constraints::Constraint;
use crate::initializers::Initializer;
use crate::layers::attention::multi_head_attention::{check_value_key, serialize_with_shapes};
use crate::layers::attention::projections::Projections;
use crate::layers::attention::scaled_dot_product::ScoreSpec;
use crate::layers::layer::{CallContext, Layer, LayerBase, Shape};
use crate::layers::layer_args::{insert_activity_regularizer, LayerArgs, LayerCfg};
use crate::layers::weight_args::kernel_bias_args;
use crate::regularizers::Regularizer;
use crate::utils::python_repr::py_shape;
use crate::{keras_bail, ops, Result, Tensor};

/// Python's class name: in messages, `class_name()`, summaries and the `model.weights.h5`
/// group names (`grouped_query_attention`).
const CLASS: &str = "GroupedQueryAttention";
/// The class name Keras writes in configs (its export name).
const CONFIG_CLASS: &str = "GroupQueryAttention";

/// `key, query -> scores (B, heads, T, S)`: Keras's `bquh,bkuh->buqk` with the operands in
/// the order [`attend`](crate::layers::attention::scaled_dot_product::attend) passes them.
const DOT_PRODUCT: &str = "bkuh,bquh->buqk";
/// `weights, value -> output (B, T, heads, head_dim)`.
const COMBINE: &str = "buqk,bkuh->bquh";

/// Keras `keras.layers.GroupQueryAttention` (class `GroupedQueryAttention`; configs name it
/// `GroupQueryAttention`, as Keras writes them).
///
/// Inputs are `(batch, seq, features)`. Query, key and value are projected by `EinsumDense`
/// sub-layers named `query` (`num_query_heads` heads of `head_dim`), `key` and `value`
/// (`num_key_value_heads` heads each); every key/value head serves
/// `num_query_heads / num_key_value_heads` query heads; the `attention_output` projection
/// maps back to the query's feature size. Called as Keras calls it: positional
/// `[query, value]` or `[query, value, key]`, or with keyword arguments ([`CallKwargs`](crate::layers::CallKwargs)):
/// `key`, `attention_mask` (`(B, T, S)`, non-zero = attend), `return_attention_scores` (a
/// second output `(B, num_query_heads, T, S)`), `use_causal_mask`. The Keras masks of the
/// inputs are combined into the attention mask as Keras does; the output carries the query's
/// mask.
///
/// Weights, in Keras's order: `query/kernel`, `query/bias`, `key/kernel`, `key/bias`,
/// (`gate/...` with `use_gate`), `value/kernel`, `value/bias`, `attention_output/kernel`,
/// `attention_output/bias`.
///
/// ```
/// use keras::layers::{CallContext, CallKwargs, GroupQueryAttention, Layer};
/// use keras::Tensor;
/// use serde_json::json;
///
/// // 4 query heads share 2 key/value heads of size 8.
/// let mut gqa = GroupQueryAttention::new(8, 4, 2).unwrap();
/// gqa.build_multi(&[vec![None, Some(5), Some(16)], vec![None, Some(7), Some(16)]]).unwrap();
/// let kw = CallKwargs::new().with_value("return_attention_scores", json!(true));
/// let (q, v) = (Tensor::ones([2, 5, 16]), Tensor::ones([2, 7, 16]));
/// let out = gqa.call_with_kwargs(&[q, v], &[None, None], &kw, &mut CallContext::new(false)).unwrap();
/// assert_eq!(out[0].shape(), &[2, 5, 16]);
/// assert_eq!(out[1].shape(), &[2, 4, 5, 7]);
/// assert_eq!(gqa.weights()[2].shape(), &[16, 2, 8]); // key/kernel: 2 key/value heads
/// ```
pub struct GroupedQueryAttention {
    base: LayerBase,
    args: GroupedQueryAttentionArgs,
    seeded: Mutex<Option<Rng>>,
    built: Option<Built>,
}

/// Keras's public name for [`GroupedQueryAttention`] (`keras.layers.GroupQueryAttention`).
pub type GroupQueryAttention = GroupedQueryAttention;

kernel_bias_args! {
    /// GroupedQueryAttention's Keras arguments, in Keras's `get_config()` order
    /// (`activity_regularizer`, kept in the layer's base, is written between the regularizers
    /// and the constraints).
    pub(crate) struct GroupedQueryAttentionArgs in GroupedQueryAttention.args, family LayerArgs, of " of every projection"
    {
        head_dim: usize,
        num_query_heads: usize,
        num_key_value_heads: usize,
        /// Whether the projections have biases (default true).
        use_bias: bool = true; builder use_bias(use_bias: bool),
        /// A sigmoid gate projected from the query multiplies the attention output per head
        /// (Keras 3.15 `use_gate`).
        use_gate: bool = false; builder use_gate(use_gate: bool),
        sliding_window: Option<usize> = None,
        dropout: f32 = 0.0,
    } then {
        seed: Option<u64> = None,
    }
}

/// What `build` makes.
struct Built {
    proj: Projections,
    query_shape: Shape,
    value_shape: Shape,
    key_shape: Option<Shape>,
}

impl GroupedQueryAttention {
    /// `num_query_heads` query heads of size `head_dim` sharing `num_key_value_heads` key and
    /// value heads.
    ///
    /// # Errors
    /// A size of zero, or `num_query_heads` not divisible by `num_key_value_heads` (Keras:
    /// "`num_query_heads` must be divisible by `num_key_value_heads`.").
    pub fn new(head_dim: usize, num_query_heads: usize, num_key_value_heads: usize) -> Result<Self> {
        for (name, v) in [
            ("head_dim", head_dim),
            ("num_query_heads", num_query_heads),
            ("num_key_value_heads", num_key_value_heads),
        ] {
            if v == 0 {
                keras_bail!(
                    InvalidArgument,
                    "Received an invalid value for argument `{name}`, expected a positive integer. Received: {name}=0"
                );
            }
        }
        if !num_query_heads.is_multiple_of(num_key_value_heads) {
            keras_bail!(InvalidArgument, "`num_query_heads` must be divisible by `num_key_value_heads`.");
        }
        let args = GroupedQueryAttentionArgs {
            head_dim,
            num_query_heads,
            num_key_value_heads,
            ..GroupedQueryAttentionArgs::defaults()
        };
        Ok(GroupedQueryAttention {
            base: LayerBase::new("grouped_query_attention"),
            args,
            seeded: Mutex::new(None),
            built: None,
        })
    }

    attention_arg_builders!(GroupedQueryAttentionArgs);

    /// Size of each head.
    pub fn head_dim(&self) -> usize {
        self.args.head_dim
    }

    /// Number of query heads.
    pub fn num_query_heads(&self) -> usize {
        self.args.num_query_heads
    }

    /// Number of key and value heads.
    pub fn num_key_value_heads(&self) -> usize {
        self.args.num_key_value_heads
    }

    /// Rebuilds from a Keras config.
    pub fn from_config(cfg: &Value) -> Result<Self> {
        let args = GroupedQueryAttentionArgs::read_args(&mut LayerCfg::new(cfg, CONFIG_CLASS))?;
        // The constructor's and builders' checks are the config's checks too.
        let l = GroupedQueryAttention::new(args.head_dim, args.num_query_heads, args.num_key_value_heads)?
            .dropout(args.dropout);
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
        if query_shape.len() != 3 || value_shape.len() != 3 || key.len() != 3 {
            keras_bail!(
                InvalidArgument,
                "GroupedQueryAttention expects query, value and key of rank 3 (batch, seq, features). Received: query_shape={}, value_shape={} and key_shape={}",
                py_shape(query_shape),
                py_shape(value_shape),
                py_shape(key)
            );
        }
        check_value_key(value_shape, key)?;
        let Some(Some(feature_dim)) = query_shape.last().copied() else {
            keras_bail!(
                Shape,
                "Layer {} needs a known last query dimension, received query_shape={}",
                self.base.name,
                py_shape(query_shape)
            )
        };
        let (hd, nq, nkv) = (self.args.head_dim, self.args.num_query_heads, self.args.num_key_value_heads);
        let heads = |n: usize| vec![None, Some(n), Some(hd)];
        let mut query = self.maker().make("bqm,muh->bquh", heads(nq), "uh", "query");
        query.build(query_shape)?;
        let mut key_dense = self.maker().make("bkm,mvh->bkvh", heads(nkv), "vh", "key");
        key_dense.build(key)?;
        let gate = if self.args.use_gate {
            let mut g = self.maker().make("bqm,muh->bquh", heads(nq), "uh", "gate").activation("sigmoid");
            g.build(query_shape)?;
            Some(g)
        } else {
            None
        };
        let mut value = self.maker().make("bkm,mvh->bkvh", heads(nkv), "vh", "value");
        value.build(value_shape)?;
        let mut output =
            self.maker().make("bquh,uhm->bqm", vec![None, Some(feature_dim)], "m", "attention_output");
        output.build(&[None, None, Some(nq), Some(hd)])?;
        self.built = Some(Built {
            proj: Projections { query, key: key_dense, gate, value, output },
            query_shape: query_shape.clone(),
            value_shape: value_shape.clone(),
            key_shape: key_shape.cloned(),
        });
        self.base.built = true;
        Ok(())
    }

    /// Keras `compute_output_shape` (plus the scores' shape when asked).
    fn shapes(&self, query: &Shape, value: &Shape, key: Option<&Shape>, scores: bool) -> Result<Vec<Shape>> {
        let key = key.unwrap_or(value);
        if query.last() != value.last() {
            keras_bail!(
                InvalidArgument,
                "The last dimension of `query_shape` and `value_shape` must be equal, but are {}, {}. Received: query_shape={}, value_shape={}",
                query.last().copied().flatten().map_or("None".into(), |d| d.to_string()),
                value.last().copied().flatten().map_or("None".into(), |d| d.to_string()),
                py_shape(query),
                py_shape(value)
            );
        }
        check_value_key(value, key)?;
        let mut res = vec![query.clone()];
        if scores {
            let dim = |s: &Shape, i: usize| s.get(i).copied().flatten();
            res.push(vec![dim(query, 0), Some(self.args.num_query_heads), dim(query, 1), dim(key, 1)]);
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
            dot_product_equation: DOT_PRODUCT,
            combine_equation: COMBINE,
            attention_axes: 1,
            scores_rank: 4,
            scale: 1.0 / (self.args.head_dim as f32).sqrt(),
            dropout: self.args.dropout,
        };
        // Each key/value head serves `num_repeats` consecutive query heads (numpy `repeat`).
        let repeats = self.args.num_query_heads / self.args.num_key_value_heads;
        let heads = |t: Tensor| Ok(ops::repeat(&t, repeats, 2)?);
        b.proj.attend(qkv, mask, &spec, &self.seeded, return_scores, ctx, heads)
    }
}

impl GroupedQueryAttention {
    /// The number of attention axes and the rank of the scores: `(B, heads, T, S)`.
    fn scores_dims(&self) -> Result<(usize, usize)> {
        Ok((1, 4))
    }
}

impl Layer for GroupedQueryAttention {
    crate::layers::layer::layer_base_methods!("GroupedQueryAttention");
    attention_call_methods!(CLASS, sublayers ["_query_dense", "_key_dense", "_gate_dense", "_value_dense", "_output_dense"]);
    fn get_config(&self) -> Value {
        let mut m = self.base.base_config();
        self.args.write_args(&mut m);
        insert_activity_regularizer(&mut m, &self.base);
        Value::Object(m)
    }
    fn serialize(&self) -> Value {
        let shapes = self.built.as_ref().map(|b| (&b.query_shape, &b.value_shape, b.key_shape.as_ref()));
        serialize_with_shapes(CONFIG_CLASS, self.get_config(), shapes)
    }
}
