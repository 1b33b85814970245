//! `CategoryEncoding`: integer ids to one-hot, multi-hot or count vectors.

use serde_json::Value;

use crate::layers::layer::{configured, CallContext, Layer, LayerBase, Shape};
use crate::layers::layer_args::{LayerArgs, LayerCfg};
use crate::layers::preprocessing::encoding::{encode, encoded_shape, ids_of, Mode, ModeSet, OutputMode};
use crate::layers::reshaping::args::layer_common;
use crate::utils::config_args::config_args;
use crate::{keras_bail, Error, Result, Tensor};

/// Keras `keras.layers.CategoryEncoding`: ids in `[0, num_tokens)` to vectors of
/// `num_tokens`. `multi_hot` (default) and `count` encode the last axis of each sample into one
/// vector, `one_hot` encodes every id (a last axis of size 1 is replaced). Ids at or above
/// `num_tokens` are dropped, as in Keras on TensorFlow.
///
/// ```
/// use keras::layers::{CallContext, CategoryEncoding, Layer};
/// use keras::Tensor;
/// let enc = CategoryEncoding::new(4).output_mode("count");
/// let y = enc.call(&Tensor::new(vec![1.0, 3.0, 3.0], [1, 3]).unwrap(), &mut CallContext::new(false)).unwrap();
/// assert_eq!(y.to_f32_vec(), vec![0.0, 1.0, 0.0, 2.0]);
/// ```
pub struct CategoryEncoding {
    base: LayerBase,
    args: CategoryEncodingArgs,
}

impl ModeSet for CategoryEncoding {
    const ALLOWED: &'static [OutputMode] = &[OutputMode::OneHot, OutputMode::MultiHot, OutputMode::Count];
    fn unknown(_class: &str, mode: &str) -> String {
        format!("Unknown arg for output_mode: {mode}")
    }
    fn not_a_string(class: &str, v: &Value) -> String {
        Self::unknown(class, &v.to_string())
    }
}

config_args! {
    /// CategoryEncoding's Keras arguments, in the order of its `get_config()`.
    pub(crate) struct CategoryEncodingArgs in CategoryEncoding.args, family LayerArgs {
        num_tokens: usize,
        output_mode: Mode<CategoryEncoding> = Mode::new(OutputMode::MultiHot),
    }
}

impl CategoryEncoding {
    /// Vectors of `num_tokens` (at least 1), `multi_hot`.
    pub fn new(num_tokens: usize) -> Self {
        let mut base = LayerBase::new("category_encoding");
        if num_tokens < 1 {
            base.fail(Error::InvalidArgument(format!(
                "`num_tokens` must be >= 1. Received: num_tokens={num_tokens}."
            )));
        }
        CategoryEncoding {
            base,
            args: CategoryEncodingArgs { num_tokens, ..CategoryEncodingArgs::defaults() },
        }
    }

    /// `"one_hot"`, `"multi_hot"` (alias `"binary"`) or `"count"`.
    pub fn output_mode(mut self, mode: &str) -> Self {
        self.base.accept(&mut self.args.output_mode, Mode::parse("CategoryEncoding", mode));
        self
    }

    crate::layers::builders::base_builders!();

    /// Rebuilds from a Keras config.
    pub fn from_config(cfg: &Value) -> Result<Self> {
        // Keras's own messages for a missing, non-integer or non-positive `num_tokens`.
        match cfg.get("num_tokens") {
            None | Some(Value::Null) => keras_bail!(
                Config,
                "num_tokens must be set to use this layer. If the number of tokens is not known beforehand, use the IntegerLookup layer instead."
            ),
            Some(v) => match v.as_i64() {
                None => keras_bail!(Config, "`num_tokens` must be an integer. Received: num_tokens={v}"),
                Some(n) if n < 1 => keras_bail!(Config, "`num_tokens` must be >= 1. Received: num_tokens={n}."),
                Some(_) => {}
            },
        }
        let args = CategoryEncodingArgs::read_args(&mut LayerCfg::new(cfg, "CategoryEncoding"))?;
        let mut l = CategoryEncoding::new(args.num_tokens);
        l.args = args;
        configured(l, cfg)
    }

    /// The call with Keras's `count_weights` (same shape as the ids; `count` mode only).
    pub fn call_with_count_weights(&self, x: &Tensor, count_weights: Option<&Tensor>) -> Result<Tensor> {
        crate::layers::layer::check_pending(self)?;
        let weights = match count_weights {
            None => None,
            Some(w) if self.args.output_mode.get() != OutputMode::Count => keras_bail!(
                Value,
                "`count_weights` is not used when `output_mode` is not `'count'`. Received `count_weights={:?}`.",
                w.shape()
            ),
            Some(w) if w.shape() != x.shape() => keras_bail!(
                Value,
                "`count_weights` must have the shape of the inputs {:?}, received {:?}",
                x.shape(),
                w.shape()
            ),
            Some(w) => Some(w.to_f32_vec()),
        };
        let shape = if x.rank() == 0 { vec![1] } else { x.shape().to_vec() };
        encode(
            &ids_of(x),
            &shape,
            self.args.output_mode.get(),
            self.args.num_tokens,
            weights.as_deref(),
            None,
            &self.base.name,
        )
    }
}

impl Layer for CategoryEncoding {
    // Keras builds it at `__init__`: no build_config in a saved model.
    layer_common!("CategoryEncoding", false, args_config);

    fn compute_output_shape(&self, s: &[Option<usize>]) -> Result<Shape> {
        Ok(encoded_shape(s, self.args.output_mode.get(), Some(self.args.num_tokens), Some(1), |d| {
            d == Some(1)
        }))
    }

    fn call(&self, x: &Tensor, _ctx: &mut CallContext) -> Result<Tensor> {
        self.call_with_count_weights(x, None)
    }
}
