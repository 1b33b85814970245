//! `ReversibleEmbedding`: an `Embedding` that can also project hidden states back to the
//! vocabulary (a language model's tied or untied output head).

use serde_json::Value;

use crate::layers::call_kwargs::{with_training, CallKwargs, ShapeKwargs};
use crate::layers::core::Embedding;
use crate::layers::layer::{single_input, CallContext, Layer, Shape, Variable};
use crate::layers::layer_args::{LayerArgs, LayerCfg};
use crate::layers::weight_args::WeightArgs;
use crate::utils::config_args::config_args;
use crate::{keras_bail, Error, Result, Tensor};
use keras_engine::ops::{self, Unary};

const CLASS: &str = "ReversibleEmbedding";

/// An embedding that can be called "in reverse" (Keras `keras.layers.ReversibleEmbedding`).
///
/// Forward ([`Layer::call`]), it is an [`Embedding`]: ids to rows of the
/// `(input_dim, output_dim)` table `embeddings`, with `mask_zero`'s mask. In reverse
/// ([`ReversibleEmbedding::call_reverse`], or the call keyword `reverse=True` in a Functional
/// model) it projects hidden states of size `output_dim` to `input_dim` logits with the
/// transposed table (`tie_weights`, the default) or with its own trainable
/// `reverse_embeddings (output_dim, input_dim)` (`tie_weights(false)`), optionally soft-capped
/// as `tanh(logits / cap) * cap`. It has no bias.
///
/// The embedding arguments (initializer, regularizer, constraint, `mask_zero`) are
/// [`Embedding`]'s builders, applied with [`ReversibleEmbedding::embedding`].
///
/// ```
/// use keras::layers::{CallContext, Embedding, Layer, ReversibleEmbedding};
/// use keras::Tensor;
/// let mut emb = ReversibleEmbedding::new(100, 8).embedding(|e: Embedding| e.mask_zero(true)).logit_soft_cap(30.0);
/// emb.build(&[None, Some(5)]).unwrap();
/// let ids = Tensor::from_i32(vec![3, 1, 4, 1, 5], [1, 5]).unwrap();
/// let mut ctx = CallContext::new(false);
/// let hidden = emb.call(&ids, &mut ctx).unwrap(); // (1, 5, 8)
/// let logits = emb.call_reverse(&hidden, &mut ctx).unwrap(); // (1, 5, 100)
/// assert_eq!(logits.shape(), &[1, 5, 100]);
/// ```
pub struct ReversibleEmbedding {
    /// The forward embedding; its base (name, trainable, ...) is this layer's.
    emb: Embedding,
    args: ReversibleArgs,
    reverse_embeddings: Option<Variable>,
}

config_args! {
    /// ReversibleEmbedding's own Keras arguments, written after Embedding's.
    pub(crate) struct ReversibleArgs in ReversibleEmbedding.args, family LayerArgs {
        /// Project back with the transposed `embeddings` (true, the default) or with a
        /// separate trainable `reverse_embeddings` variable (false).
        tie_weights: bool = true; builder tie_weights(tie: bool),
        /// Keras's dtype for the reverse projection; keras-rs computes in float32, so only
        /// `None` and `"float32"` are accepted.
        reverse_dtype: Option<String> = None; builder reverse_dtype(dtype: &str) => Some(dtype.to_string()),
        /// Soft cap of the reverse logits: `tanh(logits / cap) * cap`.
        logit_soft_cap: Option<f64> = None; builder logit_soft_cap(cap: f64) => Some(cap),
    }
}

impl ReversibleEmbedding {
    /// An embedding of `input_dim` ids into `output_dim`-dimensional vectors, reversible.
    pub fn new(input_dim: usize, output_dim: usize) -> Self {
        let mut emb = Embedding::new(input_dim, output_dim);
        emb.base.rename(&crate::backend::unique_name("reversible_embedding"));
        ReversibleEmbedding { emb, args: ReversibleArgs::defaults(), reverse_embeddings: None }
    }

    crate::layers::builders::base_builders!(emb.base);

    /// Applies [`Embedding`]'s builders (`embeddings_initializer`, `embeddings_regularizer`,
    /// `embeddings_constraint`, `mask_zero`) to the forward embedding. The initializer also
    /// fills an untied `reverse_embeddings`, as in Keras.
    pub fn embedding(mut self, f: impl FnOnce(Embedding) -> Embedding) -> Self {
        let name = self.emb.base.name.clone();
        self.emb = f(self.emb);
        // The builders cannot rename it, but keep the name whatever they do.
        self.emb.base.name = name;
        self
    }

    /// Vocabulary size.
    pub fn input_dim(&self) -> usize {
        self.emb.input_dim()
    }

    /// Vector size.
    pub fn output_dim(&self) -> usize {
        self.emb.output_dim()
    }

    /// Rebuilds the layer from its Keras config.
    pub fn from_config(cfg: &Value) -> Result<Self> {
        let emb = Embedding::from_config(cfg)?;
        let args = ReversibleArgs::read_args(&mut LayerCfg::new(cfg, CLASS))?;
        let layer = ReversibleEmbedding { emb, args, reverse_embeddings: None };
        layer.check_reverse_dtype()?;
        Ok(layer)
    }

    fn check_reverse_dtype(&self) -> Result<()> {
        match self.args.reverse_dtype.as_deref() {
            None | Some("float32") => Ok(()),
            Some(d) => keras_bail!(
                InvalidArgument,
                "Layer {}: reverse_dtype={d} is not supported; keras-rs computes the reverse \
                 projection in float32 (reverse_dtype=None or 'float32')",
                self.emb.base.name
            ),
        }
    }

    /// The reverse projection `hidden (..., output_dim) -> logits (..., input_dim)`, Keras's
    /// `layer(hidden, reverse=True)`.
    ///
    /// # Errors
    /// An unbuilt layer, or hidden states whose last dimension is not `output_dim`.
    pub fn call_reverse(&self, hidden: &Tensor, _ctx: &mut CallContext) -> Result<Tensor> {
        self.check_reverse_dtype()?;
        let d = self.output_dim();
        if hidden.rank() == 0 || hidden.shape()[hidden.rank() - 1] != d {
            keras_bail!(
                Shape,
                "Layer {}: the reverse projection expects inputs with last dimension output_dim={d}, \
                 received shape {:?}",
                self.emb.base.name,
                hidden.shape()
            );
        }
        let table = self.table()?;
        let kernel = match &self.reverse_embeddings {
            Some(r) => r.value().clone(),
            None if self.args.tie_weights => ops::transpose(table.value(), &[1, 0])?,
            None => return Err(self.unbuilt()),
        };
        let logits = ops::dense(hidden, &kernel, None, Unary::Linear)?;
        match self.args.logit_soft_cap {
            Some(cap) => {
                let cap = cap as f32;
                Ok(ops::scale(&ops::unary(&ops::scale(&logits, 1.0 / cap)?, Unary::Tanh)?, cap)?)
            }
            None => Ok(logits),
        }
    }

    fn table(&self) -> Result<&Variable> {
        self.emb.own_weights().into_iter().next().ok_or_else(|| self.unbuilt())
    }

    fn unbuilt(&self) -> Error {
        Error::State(format!("Layer {} is not built", self.emb.base.name))
    }

    fn reverse_flag<T>(kwargs: &CallKwargs<T>) -> Result<bool> {
        kwargs.check_known(CLASS, &["reverse"])?;
        kwargs.bool_or("reverse", CLASS, false)
    }
}

impl Layer for ReversibleEmbedding {
    crate::layers::layer::layer_base_methods!("ReversibleEmbedding", emb.base);

    fn build(&mut self, input_shape: &[Option<usize>]) -> Result<()> {
        crate::layers::layer::check_pending(self)?;
        self.check_reverse_dtype()?;
        self.emb.build(input_shape)?;
        self.reverse_embeddings = if self.args.tie_weights {
            None
        } else {
            let a = &self.emb.args;
            let init = WeightArgs::of(&a.embeddings_initializer, &None, &None);
            Some(init.variable("reverse_embeddings", &self.emb.base.name, &[a.output_dim, a.input_dim])?)
        };
        Ok(())
    }

    fn compute_output_shape(&self, input_shape: &[Option<usize>]) -> Result<Shape> {
        self.emb.compute_output_shape(input_shape)
    }

    fn call(&self, x: &Tensor, ctx: &mut CallContext) -> Result<Tensor> {
        self.emb.call(x, ctx)
    }

    fn compute_mask(&self, x: &Tensor, mask: Option<&Tensor>) -> Result<Option<Tensor>> {
        self.emb.compute_mask(x, mask)
    }

    fn call_kwarg_names(&self) -> &'static [&'static str] {
        &["reverse"]
    }

    fn checks_built_input_shape(&self) -> bool {
        // Keras's Embedding has no input spec: ids of any rank and length (and, here, hidden
        // states for the reverse projection).
        false
    }

    fn build_with_kwargs(&mut self, shapes: &[Shape], kwargs: &ShapeKwargs) -> Result<()> {
        // Keras builds from the first (forward) call's ids; a reverse call of an unbuilt
        // layer builds the table from nothing but the arguments.
        Self::reverse_flag(kwargs)?;
        let shape = single_input(Layer::name(self), shapes)?;
        self.build(shape)
    }

    fn compute_output_shapes_with_kwargs(
        &self,
        shapes: &[Shape],
        kwargs: &ShapeKwargs,
    ) -> Result<Vec<Shape>> {
        let shape = single_input(Layer::name(self), shapes)?;
        if Self::reverse_flag(kwargs)? {
            let mut s = shape.clone();
            match s.last_mut() {
                Some(last) => *last = Some(self.input_dim()),
                None => {
                    keras_bail!(Shape, "Layer {}: the reverse projection needs rank >= 1", Layer::name(self))
                }
            }
            Ok(vec![s])
        } else {
            Ok(vec![self.compute_output_shape(shape)?])
        }
    }

    fn call_with_kwargs(
        &self,
        inputs: &[Tensor],
        masks: &[Option<Tensor>],
        kwargs: &CallKwargs,
        ctx: &mut CallContext,
    ) -> Result<Vec<Tensor>> {
        let reverse = Self::reverse_flag(kwargs)?;
        let training = kwargs.training(CLASS)?;
        let x = single_input(Layer::name(self), inputs)?;
        let _ = masks;
        with_training(ctx, training, |ctx| {
            Ok(vec![if reverse { self.call_reverse(x, ctx)? } else { self.call(x, ctx)? }])
        })
    }

    fn compute_masks_with_kwargs(
        &self,
        inputs: &[Tensor],
        _masks: &[Option<Tensor>],
        kwargs: &CallKwargs,
    ) -> Result<Vec<Option<Tensor>>> {
        // Keras masks the forward output in `call` (mask_zero) and nothing in reverse.
        if Self::reverse_flag(kwargs)? {
            return Ok(vec![None]);
        }
        Ok(vec![self.compute_mask(single_input(Layer::name(self), inputs)?, None)?])
    }

    fn own_weights(&self) -> Vec<&Variable> {
        let mut w = self.emb.own_weights();
        w.extend(self.reverse_embeddings.iter());
        w
    }

    fn own_weights_mut(&mut self) -> Vec<&mut Variable> {
        let mut w = self.emb.own_weights_mut();
        w.extend(self.reverse_embeddings.iter_mut());
        w
    }

    fn get_config(&self) -> Value {
        let mut cfg = self.emb.get_config();
        if let Value::Object(m) = &mut cfg {
            self.args.write_args(m);
        }
        cfg
    }
}
