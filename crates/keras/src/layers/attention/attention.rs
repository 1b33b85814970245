//! `Attention`: dot-product (Luong-style) attention, and the machinery `AdditiveAttention`
//! reuses (Keras `keras/src/layers/attention/attention.py`).

use std::sync::Mutex;

use keras_engine::Rng;
use serde_json::{json, Value};

use crate::initializers::Initializer;
use crate::layers::attention::masking::{self, LARGE};
use crate::layers::call_kwargs::{with_training, CallKwargs, ShapeKwargs};
use crate::layers::layer::{CallContext, Layer, LayerBase, Shape, Variable};
use crate::layers::layer_args::{LayerArgs, LayerCfg};
use crate::layers::merging::base_merge::{bool_mask, known, serialize_with_build_shapes};
use crate::utils::config_args::{config_args, ConfigArg};
use crate::utils::python_repr::py_shapes;
use crate::{keras_bail, ops, Error, Result, Tensor};

/// How query and key are scored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ScoreMode {
    /// `query @ key^T` (optionally times a learned `scale`).
    Dot,
    /// `concat_score_weight * sum(tanh(scale * (query + key)))`.
    Concat,
    /// AdditiveAttention: `sum(scale * tanh(query + key))` with a `scale` vector.
    Additive,
}

/// The keyword arguments attention layers take besides `training` and `mask`.
pub(crate) const ATTENTION_KWARGS: &[&str] = &["return_attention_scores", "use_causal_mask"];

/// Keras `keras.layers.Attention`: for `[query (batch, Tq, dim), value (batch, Tv, dim)]` (and
/// an optional `key`, default `value`), `softmax(query @ key^T) @ value`.
///
/// Options: `use_scale` (a learned scalar on the scores), `score_mode` `"dot"` or `"concat"`,
/// `dropout` on the attention weights in training. Per call (keyword arguments, see
/// [`CallKwargs`]): `return_attention_scores` adds the `(batch, Tq, Tv)` weights as a second
/// output, `use_causal_mask` stops position `i` from attending to `j > i`. Masks: the value
/// mask hides value positions, the query mask zeroes masked query rows of the output and is
/// the output's mask.
///
/// ```
/// use keras::layers::{Attention, CallContext, CallKwargs, Layer};
/// use keras::Tensor;
/// use serde_json::json;
///
/// let mut att = Attention::new();
/// att.build_multi(&[vec![None, Some(2), Some(3)], vec![None, Some(4), Some(3)]]).unwrap();
/// let q = Tensor::ones([1, 2, 3]);
/// let v = Tensor::ones([1, 4, 3]);
/// let kw = CallKwargs::new().with_value("return_attention_scores", json!(true));
/// let out = att.call_with_kwargs(&[q, v], &[None, None], &kw, &mut CallContext::new(false)).unwrap();
/// assert_eq!(out[0].shape(), &[1, 2, 3]);
/// assert_eq!(out[1].shape(), &[1, 2, 4]); // uniform weights: 0.25 each
/// assert!((out[1].to_f32_vec()[0] - 0.25).abs() < 1e-6);
/// ```
pub struct Attention {
    pub(crate) base: LayerBase,
    pub(crate) args: AttentionArgs,
    seeded: Mutex<Option<Rng>>,
    scale: Option<Variable>,
    concat_score_weight: Option<Variable>,
    build_shapes: Option<Vec<Shape>>,
}

config_args! {
    /// Attention's Keras arguments, in Keras's `get_config()` order (AdditiveAttention's
    /// are [`AdditiveAttentionArgs`], read into these with `score_mode` additive).
    pub(crate) struct AttentionArgs in Attention.args, family LayerArgs {
        /// Learns a scalar that multiplies the scores (`use_scale`).
        pub(crate) use_scale: bool = false; builder use_scale(use_scale: bool),
        pub(crate) score_mode: ScoreMode = ScoreMode::Dot,
        pub(crate) dropout: f32 = 0.0,
        pub(crate) seed: Option<u64> = None,
    }
}

config_args! {
    /// AdditiveAttention's Keras arguments, in Keras's `get_config()` order.
    pub(crate) struct AdditiveAttentionArgs, family LayerArgs {
        pub(crate) use_scale: bool = true,
        pub(crate) dropout: f32 = 0.0,
        pub(crate) seed: Option<u64> = None,
    }
}

/// `"dot"` or `"concat"` (the additive mode is AdditiveAttention's, which has no
/// `score_mode`).
impl ConfigArg<LayerArgs> for ScoreMode {
    fn to_config(&self) -> Value {
        match self {
            ScoreMode::Dot => json!("dot"),
            ScoreMode::Concat => json!("concat"),
            ScoreMode::Additive => Value::Null,
        }
    }
    fn from_config(src: &mut LayerCfg<'_>, key: &str, default: Option<Self>) -> Result<Self> {
        match src.cfg.get(key) {
            None | Some(Value::Null) => Ok(default.unwrap_or(ScoreMode::Dot)),
            Some(Value::String(m)) if m == "dot" => Ok(ScoreMode::Dot),
            Some(Value::String(m)) if m == "concat" => Ok(ScoreMode::Concat),
            Some(m) => keras_bail!(
                InvalidArgument,
                "Invalid value for argument {key}. Expected one of {{'dot', 'concat'}}. Received: {key}={}",
                m.as_str().map_or(m.to_string(), str::to_string)
            ),
        }
    }
}

impl Default for Attention {
    fn default() -> Self {
        Self::new()
    }
}

impl Attention {
    /// Dot-product attention without scale or dropout.
    pub fn new() -> Self {
        Self::with_mode(ScoreMode::Dot, "attention", false)
    }

    pub(crate) fn with_mode(mode: ScoreMode, snake: &str, use_scale: bool) -> Self {
        Attention {
            base: LayerBase::new(snake),
            args: AttentionArgs { use_scale, score_mode: mode, ..AttentionArgs::defaults() },
            seeded: Mutex::new(None),
            scale: None,
            concat_score_weight: None,
            build_shapes: None,
        }
    }

    /// `"dot"` (default) or `"concat"`.
    pub fn score_mode(mut self, mode: &str) -> Self {
        match mode {
            "dot" => self.args.score_mode = ScoreMode::Dot,
            "concat" => self.args.score_mode = ScoreMode::Concat,
            m => self.base.fail(Error::InvalidArgument(format!(
                "Invalid value for argument score_mode. Expected one of {{'dot', 'concat'}}. Received: score_mode={m}"
            ))),
        }
        self
    }

    /// Dropout rate on the attention weights in training, in `[0, 1)`.
    pub fn dropout(mut self, rate: f32) -> Self {
        self.set_dropout(rate);
        self
    }

    /// A fixed seed for the dropout masks.
    pub fn seed(mut self, seed: u64) -> Self {
        self.set_seed(seed);
        self
    }

    pub(crate) fn set_dropout(&mut self, rate: f32) {
        if !(0.0..1.0).contains(&rate) {
            self.base.fail(Error::InvalidArgument(format!(
                "Invalid value received for argument `dropout`. Expected a float value between 0 and 1. Received: dropout={rate}"
            )));
        }
        self.args.dropout = rate;
    }

    pub(crate) fn set_seed(&mut self, seed: u64) {
        self.args.seed = Some(seed);
        self.seeded = Mutex::new(Some(Rng::new(seed)));
    }

    crate::layers::builders::name_builder!();

    /// Rebuilds from a Keras config.
    pub fn from_config(cfg: &Value) -> Result<Self> {
        let args = AttentionArgs::read_args(&mut LayerCfg::new(cfg, "Attention"))?;
        let mut l = Attention::new();
        l.configure(args, cfg)?;
        Ok(l)
    }

    /// Sets the arguments read from `cfg` (the builders' checks are the config's checks too)
    /// and the base keys of `cfg`.
    pub(crate) fn configure(&mut self, args: AttentionArgs, cfg: &Value) -> Result<()> {
        self.set_dropout(args.dropout);
        if let Some(s) = args.seed {
            self.set_seed(s);
        }
        self.args = args;
        self.base.apply_config_checked(cfg)
    }

    fn class(&self) -> &'static str {
        if self.args.score_mode == ScoreMode::Additive {
            "AdditiveAttention"
        } else {
            "Attention"
        }
    }

    pub(crate) fn config(&self) -> Value {
        let mut m = self.base.base_config();
        let a = &self.args;
        if a.score_mode == ScoreMode::Additive {
            let additive = AdditiveAttentionArgs { use_scale: a.use_scale, dropout: a.dropout, seed: a.seed };
            additive.write_args(&mut m);
        } else {
            a.write_args(&mut m);
        }
        Value::Object(m)
    }

    /// Keras `_validate_inputs`.
    fn validate(&self, n_inputs: usize, n_masks: Option<usize>) -> Result<()> {
        let class = self.class();
        if !(2..=3).contains(&n_inputs) {
            keras_bail!(
                InvalidArgument,
                "{class} layer accepts inputs list of length 2 or 3, namely [query, value] or [query, value, key]. Received length: {n_inputs}."
            );
        }
        if let Some(n) = n_masks {
            if !(2..=3).contains(&n) {
                keras_bail!(
                    InvalidArgument,
                    "{class} layer accepts mask list of length 2 or 3. Received: mask of length {n}."
                );
            }
        }
        Ok(())
    }

    /// The shapes of the outputs: `(*query[:-1], value[-1])` and, with scores,
    /// `(*query[:-1], key[-2])`.
    fn shapes(&self, shapes: &[Shape], return_scores: bool) -> Result<Vec<Shape>> {
        self.validate(shapes.len(), None)?;
        let (q, v) = (&shapes[0], &shapes[1]);
        let k = shapes.get(2).unwrap_or(v);
        if q.len() < 2 || v.len() < 2 || k.len() < 2 {
            keras_bail!(
                InvalidArgument,
                "{} layer expects query, value and key of rank >= 2 (batch, ..., dim). Received: input_shape={}",
                self.class(),
                py_shapes(shapes)
            );
        }
        let mut out = q[..q.len() - 1].to_vec();
        out.push(v[v.len() - 1]);
        let mut res = vec![out];
        if return_scores {
            let mut s = q[..q.len() - 1].to_vec();
            s.push(k[k.len() - 2]);
            res.push(s);
        }
        Ok(res)
    }

    fn build_weights(&mut self, shapes: &[Shape]) -> Result<()> {
        crate::layers::layer::check_pending(self)?;
        self.shapes(shapes, false)?;
        let name = self.base.name.clone();
        self.scale = None;
        self.concat_score_weight = None;
        if self.args.use_scale {
            let value = if self.args.score_mode == ScoreMode::Additive {
                let Some(Some(dim)) = shapes[0].last() else {
                    keras_bail!(
                        Shape,
                        "Layer {name} needs a known last query dimension, received {}",
                        py_shapes(shapes)
                    );
                };
                Initializer::glorot_uniform().initialize(&[*dim])?
            } else {
                Tensor::ones(Vec::<usize>::new())
            };
            self.scale = Some(Variable::new("scale", &name, value, true));
        }
        if self.args.score_mode == ScoreMode::Concat {
            self.concat_score_weight =
                Some(Variable::new("concat_score_weight", &name, Tensor::ones(Vec::<usize>::new()), true));
        }
        self.build_shapes = Some(shapes.to_vec());
        self.base.built = true;
        Ok(())
    }

    /// Raw scores `(batch, Tq, Tv)` of `query` against `key`.
    fn scores(&self, q: &Tensor, k: &Tensor) -> Result<Tensor> {
        let scale = self.scale.as_ref().map(Variable::value);
        match self.args.score_mode {
            ScoreMode::Dot => {
                let r = k.rank();
                let mut perm: Vec<usize> = (0..r).collect();
                perm.swap(r - 1, r - 2);
                let s = ops::batch_matmul(q, &ops::transpose(k, &perm)?)?;
                Ok(match scale {
                    Some(sc) => ops::mul(&s, sc)?,
                    None => s,
                })
            }
            ScoreMode::Concat | ScoreMode::Additive => {
                // q: (..., Tq, 1, dim), k: (..., 1, Tv, dim).
                let mut qs = q.shape().to_vec();
                qs.insert(qs.len() - 1, 1);
                let mut ks = k.shape().to_vec();
                ks.insert(ks.len() - 2, 1);
                let sum = ops::add(&q.reshape(qs)?, &k.reshape(ks)?)?;
                let last = sum.rank() as isize - 1;
                if self.args.score_mode == ScoreMode::Additive {
                    let t = ops::unary(&sum, ops::Unary::Tanh)?;
                    let t = match scale {
                        Some(sc) => ops::mul(sc, &t)?,
                        None => t,
                    };
                    return Ok(ops::sum_axis(&t, last, false)?);
                }
                let inner = match scale {
                    Some(sc) => ops::mul(sc, &sum)?,
                    None => sum,
                };
                let s = ops::sum_axis(&ops::unary(&inner, ops::Unary::Tanh)?, last, false)?;
                let w =
                    self.concat_score_weight.as_ref().map(Variable::value).ok_or_else(|| self.not_built())?;
                Ok(ops::mul(w, &s)?)
            }
        }
    }

    fn not_built(&self) -> Error {
        Error::State(format!("Layer {} is not built", self.base.name))
    }

    /// The whole call: `[output]` or `[output, scores]`.
    fn run(
        &self,
        inputs: &[Tensor],
        masks: &[Option<Tensor>],
        return_scores: bool,
        causal: bool,
        training: bool,
    ) -> Result<Vec<Tensor>> {
        if !self.base.built {
            return Err(self.not_built());
        }
        let explicit = masks.iter().any(Option::is_some);
        self.validate(inputs.len(), explicit.then_some(masks.len()))?;
        let shapes: Vec<Shape> = inputs.iter().map(known).collect();
        self.shapes(&shapes, false)?;
        let (q, v) = (&inputs[0], &inputs[1]);
        let k = inputs.get(2).unwrap_or(v);
        let q_mask = masks.first().cloned().flatten();
        let v_mask = masks.get(1).cloned().flatten();
        let scores = self.scores(q, k)?;
        // Keras `_calculate_score_mask`: the value mask (batch, 1, Tv), AND the causal mask.
        let mut score_mask = match &v_mask {
            Some(m) => Some(masking::expand_dims(m, -2)?),
            None => None,
        };
        if causal {
            let r = scores.rank();
            let c = masking::causal(scores.shape()[r - 2], scores.shape()[r - 1])?;
            score_mask = Some(match score_mask {
                Some(m) => masking::and(&m, &c)?,
                None => c,
            });
        }
        let scores = match &score_mask {
            Some(m) => {
                let zeros = Tensor::zeros(scores.shape().to_vec());
                let keep = ops::add(&zeros, m)?;
                let shifted = ops::sub(&scores, &Tensor::scalar(LARGE))?;
                crate::layers::merging::base_merge::select(&keep, &scores, &shifted)?
            }
            None => scores,
        };
        let weights = ops::softmax(&scores, -1)?;
        let dropped = if training && self.args.dropout > 0.0 {
            masking::dropout(&weights, self.args.dropout, &self.seeded)?
        } else {
            weights
        };
        let mut out = ops::batch_matmul(&dropped, v)?;
        if let Some(m) = &q_mask {
            out = masking::keep_or(&out, &masking::expand_dims(m, -1)?, 0.0)?;
        }
        // Keras returns the weights after dropout (`_apply_scores`).
        Ok(if return_scores { vec![out, dropped] } else { vec![out] })
    }
}

impl Layer for Attention {
    crate::layers::layer::layer_base_methods!(|l| l.class());
    fn takes_list(&self) -> bool {
        true
    }
    fn compute_output_shape(&self, _s: &[Option<usize>]) -> Result<Shape> {
        self.single_input()
    }
    fn build(&mut self, _s: &[Option<usize>]) -> Result<()> {
        self.single_input()
    }
    fn call(&self, _x: &Tensor, _ctx: &mut CallContext) -> Result<Tensor> {
        self.single_input()
    }
    fn build_multi(&mut self, shapes: &[Shape]) -> Result<()> {
        self.build_weights(shapes)
    }
    fn compute_output_shapes(&self, shapes: &[Shape]) -> Result<Vec<Shape>> {
        self.shapes(shapes, false)
    }
    fn call_multi(
        &self,
        inputs: &[Tensor],
        masks: &[Option<Tensor>],
        ctx: &mut CallContext,
    ) -> Result<Vec<Tensor>> {
        self.run(inputs, masks, false, false, ctx.training)
    }
    fn compute_masks(&self, inputs: &[Tensor], masks: &[Option<Tensor>]) -> Result<Vec<Option<Tensor>>> {
        self.validate(inputs.len(), None)?;
        let q = masks.first().cloned().flatten().map(|m| bool_mask(&m)).transpose()?;
        Ok(vec![q])
    }
    fn call_kwarg_names(&self) -> &'static [&'static str] {
        ATTENTION_KWARGS
    }
    fn call_with_kwargs(
        &self,
        inputs: &[Tensor],
        masks: &[Option<Tensor>],
        kwargs: &CallKwargs,
        ctx: &mut CallContext,
    ) -> Result<Vec<Tensor>> {
        let class = self.class();
        kwargs.check_known(class, ATTENTION_KWARGS)?;
        let masks = kwargs.effective_masks(masks, class)?;
        let scores = kwargs.bool_or("return_attention_scores", class, false)?;
        let causal = kwargs.bool_or("use_causal_mask", class, false)?;
        let training = kwargs.training(class)?;
        with_training(ctx, training, |ctx| self.run(inputs, &masks, scores, causal, ctx.training))
    }
    fn compute_output_shapes_with_kwargs(
        &self,
        shapes: &[Shape],
        kwargs: &ShapeKwargs,
    ) -> Result<Vec<Shape>> {
        kwargs.check_known(self.class(), ATTENTION_KWARGS)?;
        kwargs.bool_or("use_causal_mask", self.class(), false)?;
        self.shapes(shapes, kwargs.bool_or("return_attention_scores", self.class(), false)?)
    }
    fn compute_masks_with_kwargs(
        &self,
        inputs: &[Tensor],
        masks: &[Option<Tensor>],
        kwargs: &CallKwargs,
    ) -> Result<Vec<Option<Tensor>>> {
        kwargs.check_known(self.class(), ATTENTION_KWARGS)?;
        let masks = kwargs.effective_masks(masks, self.class())?;
        let mut out = self.compute_masks(inputs, &masks)?;
        if kwargs.bool_or("return_attention_scores", self.class(), false)? {
            out.push(None);
        }
        Ok(out)
    }
    crate::sublayers!(; scale, concat_score_weight);
    fn get_config(&self) -> Value {
        self.config()
    }
    fn serialize(&self) -> Value {
        serialize_with_build_shapes(self, self.build_shapes.as_deref())
    }
}

impl Attention {
    fn single_input<T>(&self) -> Result<T> {
        keras_bail!(
            InvalidArgument,
            "{} layer must be called on a list of inputs, namely [query, value] or [query, value, key]. Received: a single tensor.",
            self.class()
        )
    }
}
