//! Per-call keyword arguments ([`CallKwargs`]): what Keras records as the `"kwargs"` of a graph
//! node besides the positional inputs.
//!
//! In Keras a layer call is `layer(*args, **kwargs)`. The positional arguments are the input
//! tensors (a tensor, or a list of tensors); the keyword arguments are either plain values
//! (`return_attention_scores=True`, `training=False`, `use_causal_mask=True`) or more tensors
//! (`key=k`, `attention_mask=m`, `mask=[m1, None]`). A saved Functional model records both in
//! every inbound node:
//!
//! ```json
//! {"args": [q, v], "kwargs": {"key": k, "attention_mask": m, "return_attention_scores": true}}
//! ```
//!
//! where `q`, `v`, `k`, `m` are `__keras_tensor__` references. A graph runtime turns the
//! references of a node into a [`CallKwargs`] (tensor references become tensors, everything else
//! stays JSON) and calls [`Layer::call_with_kwargs`](crate::layers::Layer::call_with_kwargs).
//! At shape-inference time there are no values yet, so the same container holds shapes instead:
//! [`ShapeKwargs`] (= `CallKwargs<Shape>`) feeds
//! [`Layer::compute_output_shapes_with_kwargs`](crate::layers::Layer::compute_output_shapes_with_kwargs)
//! and [`Layer::build_with_kwargs`](crate::layers::Layer::build_with_kwargs). The plain values
//! are the same in both, so the number and shapes of outputs can depend on them (an attention
//! layer with `return_attention_scores=True` has two outputs).
//!
//! Keyword tensors can carry a Keras mask of their own (`key=k` where `k` came from an
//! `Embedding(mask_zero=True)`): Keras hands it to the layer as `key_mask`. Set it with
//! [`CallKwargs::with_masked_tensor`] and read it with [`CallKwargs::tensor_mask`].
//!
//! A JSON `null` value means "not given" (Keras writes `"mask": null` for a call whose mask was
//! filled in automatically): every accessor treats it as absent.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::layers::layer::Shape;
use crate::{keras_bail, Result, Tensor};

/// A keyword argument that holds tensors: one tensor (`key=k`) or a list in which some entries
/// may be `None` (`mask=[m, None]`).
#[derive(Clone, Debug, PartialEq)]
pub enum TensorArg<T> {
    /// A single tensor.
    One(T),
    /// A list of tensors, `None` where Python had `None`.
    List(Vec<Option<T>>),
}

impl<T> TensorArg<T> {
    /// The same structure with every tensor mapped.
    pub fn map<U>(&self, mut f: impl FnMut(&T) -> U) -> TensorArg<U> {
        match self {
            TensorArg::One(t) => TensorArg::One(f(t)),
            TensorArg::List(l) => TensorArg::List(l.iter().map(|t| t.as_ref().map(&mut f)).collect()),
        }
    }
}

/// The keyword arguments of one layer call (Keras's node `"kwargs"`).
///
/// `T` is [`Tensor`] when the layer runs and [`Shape`] when shapes are inferred
/// ([`ShapeKwargs`]). Plain values are JSON, exactly as Keras serializes them.
///
/// ```
/// use keras::layers::CallKwargs;
/// use keras::Tensor;
/// use serde_json::json;
///
/// let m = Tensor::ones([2, 3]);
/// let kw = CallKwargs::new()
///     .with_value("return_attention_scores", json!(true))
///     .with_value("training", json!(null))
///     .with_tensor("attention_mask", m);
/// assert!(kw.bool_or("return_attention_scores", "MultiHeadAttention", false).unwrap());
/// assert_eq!(kw.training("MultiHeadAttention").unwrap(), None); // null = not given
/// assert_eq!(kw.tensor("attention_mask", "MultiHeadAttention").unwrap().unwrap().shape(), &[2, 3]);
/// // At shape time the tensors become shapes; the plain values stay.
/// let shapes = kw.shapes();
/// assert_eq!(shapes.tensor("attention_mask", "MultiHeadAttention").unwrap(), Some(&vec![Some(2), Some(3)]));
/// // Unknown keys are refused as Python refuses them.
/// let err = kw.check_known("Dense", &[]).unwrap_err();
/// assert_eq!(err.message(), "Dense.call() got an unexpected keyword argument 'attention_mask'");
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct CallKwargs<T = Tensor> {
    values: BTreeMap<String, Value>,
    tensors: BTreeMap<String, TensorArg<T>>,
    masks: BTreeMap<String, T>,
}

/// Keyword arguments at shape-inference time: tensors replaced by their shapes.
pub type ShapeKwargs = CallKwargs<Shape>;

impl<T> Default for CallKwargs<T> {
    fn default() -> Self {
        CallKwargs { values: BTreeMap::new(), tensors: BTreeMap::new(), masks: BTreeMap::new() }
    }
}

/// The keyword arguments every layer accepts: Keras strips `training` for layers whose call
/// does not take it, and every keras-rs layer takes a mask ([`Layer::call_masked`](crate::layers::Layer::call_masked)).
pub const ALWAYS_ACCEPTED: [&str; 2] = ["training", "mask"];

impl<T> CallKwargs<T> {
    /// No keyword arguments.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a plain value (`json!(true)`, `json!(null)`, a number, a string). Replaces a tensor
    /// of the same name.
    pub fn with_value(mut self, key: &str, value: Value) -> Self {
        self.set_value(key, value);
        self
    }

    /// Adds a tensor (`key=k`). Replaces a value of the same name.
    pub fn with_tensor(mut self, key: &str, tensor: T) -> Self {
        self.set_tensor(key, TensorArg::One(tensor), None);
        self
    }

    /// Adds a tensor with the Keras mask it carries (`key=k` where `k` is masked: the layer
    /// receives it as `key_mask`).
    pub fn with_masked_tensor(mut self, key: &str, tensor: T, mask: Option<T>) -> Self {
        self.set_tensor(key, TensorArg::One(tensor), mask);
        self
    }

    /// Adds a list of tensors (`mask=[m, None]`).
    pub fn with_tensor_list(mut self, key: &str, tensors: Vec<Option<T>>) -> Self {
        self.set_tensor(key, TensorArg::List(tensors), None);
        self
    }

    /// Sets a plain value in place.
    pub fn set_value(&mut self, key: &str, value: Value) {
        self.tensors.remove(key);
        self.masks.remove(key);
        self.values.insert(key.to_string(), value);
    }

    /// Sets a tensor argument (and the mask a single tensor carries) in place.
    pub fn set_tensor(&mut self, key: &str, tensor: TensorArg<T>, mask: Option<T>) {
        self.values.remove(key);
        self.masks.remove(key);
        if let Some(m) = mask {
            self.masks.insert(key.to_string(), m);
        }
        self.tensors.insert(key.to_string(), tensor);
    }

    /// Removes an argument (value or tensor); returns whether it was there.
    pub fn remove(&mut self, key: &str) -> bool {
        self.masks.remove(key);
        self.values.remove(key).is_some() | self.tensors.remove(key).is_some()
    }

    /// True when no argument is given (a `null` value counts as given here: it is recorded).
    pub fn is_empty(&self) -> bool {
        self.values.is_empty() && self.tensors.is_empty()
    }

    /// Every argument name, sorted.
    pub fn keys(&self) -> Vec<&str> {
        let keys: BTreeSet<&str> =
            self.values.keys().chain(self.tensors.keys()).map(String::as_str).collect();
        keys.into_iter().collect()
    }

    /// Whether the argument is given with a non-null value or tensors.
    pub fn contains(&self, key: &str) -> bool {
        self.tensors.contains_key(key) || self.value(key).is_some()
    }

    /// A plain value; `None` when absent or `null`.
    pub fn value(&self, key: &str) -> Option<&Value> {
        self.values.get(key).filter(|v| !v.is_null())
    }

    /// Every plain value, `null`s included (what a graph writes back into its config).
    pub fn values(&self) -> &BTreeMap<String, Value> {
        &self.values
    }

    /// A tensor argument in either form.
    pub fn tensor_arg(&self, key: &str) -> Option<&TensorArg<T>> {
        self.tensors.get(key)
    }

    /// Every tensor argument.
    pub fn tensor_args(&self) -> &BTreeMap<String, TensorArg<T>> {
        &self.tensors
    }

    /// A single-tensor argument; `Ok(None)` when absent or `null`. A list, or a plain non-null
    /// value where a tensor is expected, is an error naming `class_name.call()`.
    pub fn tensor(&self, key: &str, class_name: &str) -> Result<Option<&T>> {
        match self.tensors.get(key) {
            Some(TensorArg::One(t)) => Ok(Some(t)),
            Some(TensorArg::List(_)) => keras_bail!(
                InvalidArgument,
                "{class_name}.call(): argument `{key}` should be a single tensor, received a list of tensors"
            ),
            None => match self.value(key) {
                None => Ok(None),
                Some(v) => keras_bail!(
                    InvalidArgument,
                    "{class_name}.call(): argument `{key}` should be a tensor. Received: {key}={v}"
                ),
            },
        }
    }

    /// The Keras mask carried by a single-tensor argument (`key=k` with `k` masked).
    pub fn tensor_mask(&self, key: &str) -> Option<&T> {
        self.masks.get(key)
    }

    /// A boolean argument, `default` when absent or `null`; any other type is an error naming
    /// `class_name.call()`.
    pub fn bool_or(&self, key: &str, class_name: &str, default: bool) -> Result<bool> {
        Ok(self.opt_bool(key, class_name)?.unwrap_or(default))
    }

    /// A boolean argument, `None` when absent or `null`.
    pub fn opt_bool(&self, key: &str, class_name: &str) -> Result<Option<bool>> {
        if self.tensors.contains_key(key) {
            keras_bail!(
                InvalidArgument,
                "{class_name}.call(): argument `{key}` should be a boolean, received a tensor"
            );
        }
        match self.value(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(v) => keras_bail!(
                InvalidArgument,
                "{class_name}.call(): argument `{key}` should be a boolean. Received: {key}={v}"
            ),
        }
    }

    /// The explicit `training` argument (`None` when absent or `null`: the outer mode applies).
    pub fn training(&self, class_name: &str) -> Result<Option<bool>> {
        self.opt_bool("training", class_name)
    }

    /// Refuses any argument outside `accepted` and [`ALWAYS_ACCEPTED`], with Python's message:
    /// `Dense.call() got an unexpected keyword argument 'foo'`. The first unknown name in sorted
    /// order is reported.
    pub fn check_known(&self, class_name: &str, accepted: &[&str]) -> Result<()> {
        for key in self.keys() {
            if !accepted.contains(&key) && !ALWAYS_ACCEPTED.contains(&key) {
                keras_bail!(
                    InvalidArgument,
                    "{class_name}.call() got an unexpected keyword argument '{key}'"
                );
            }
        }
        Ok(())
    }

    /// The tensor at positional `index`, or else the keyword argument `name` (Python binds
    /// `mha(q, v, k)` and `mha(q, v, key=k)` to the same parameter). Both given is Python's
    /// `got multiple values for argument` error.
    pub fn positional_or<'a>(
        &'a self,
        inputs: &'a [T],
        index: usize,
        name: &str,
        class_name: &str,
    ) -> Result<Option<&'a T>> {
        let named = self.tensor(name, class_name)?;
        match (inputs.get(index), named) {
            (Some(_), Some(_)) => {
                keras_bail!(InvalidArgument, "{class_name}.call() got multiple values for argument '{name}'")
            }
            (Some(t), None) => Ok(Some(t)),
            (None, t) => Ok(t),
        }
    }

    /// The masks the layer should use: an explicit `mask=` argument replaces the masks the
    /// inputs carried (`mask=m` for one input, `mask=[..]` for a list); absent or `null`, the
    /// inputs' own masks are kept (Keras's `Layer.__call__` step 6).
    pub fn effective_masks(&self, input_masks: &[Option<T>], class_name: &str) -> Result<Vec<Option<T>>>
    where
        T: Clone,
    {
        match self.tensors.get("mask") {
            Some(TensorArg::One(m)) => Ok(vec![Some(m.clone())]),
            Some(TensorArg::List(l)) => Ok(l.clone()),
            None => match self.value("mask") {
                None => Ok(input_masks.to_vec()),
                // A list of nulls (`mask=[None, None]`) is an explicit "no masks".
                Some(Value::Array(a)) if a.iter().all(Value::is_null) => Ok(vec![None; a.len()]),
                Some(v) => keras_bail!(
                    InvalidArgument,
                    "{class_name}.call(): argument `mask` should be a tensor or a list of tensors. Received: mask={v}"
                ),
            },
        }
    }

    /// The same arguments with every tensor (and carried mask) mapped; plain values are kept.
    pub fn map_tensors<U>(&self, mut f: impl FnMut(&T) -> U) -> CallKwargs<U> {
        CallKwargs {
            values: self.values.clone(),
            tensors: self.tensors.iter().map(|(k, t)| (k.clone(), t.map(&mut f))).collect(),
            masks: self.masks.iter().map(|(k, m)| (k.clone(), f(m))).collect(),
        }
    }
}

impl CallKwargs<Tensor> {
    /// The shape-time view: every tensor replaced by its (fully known) shape.
    pub fn shapes(&self) -> ShapeKwargs {
        self.map_tensors(|t| t.shape().iter().map(|&d| Some(d)).collect())
    }
}

/// Runs `f` with `ctx.training` set to `training` when it is `Some` (an explicit `training=`
/// argument wins over the outer mode, as in Keras), restoring the outer mode afterwards.
pub fn with_training<R>(
    ctx: &mut crate::layers::CallContext,
    training: Option<bool>,
    f: impl FnOnce(&mut crate::layers::CallContext) -> R,
) -> R {
    match training {
        None => f(ctx),
        Some(t) => {
            let outer = std::mem::replace(&mut ctx.training, t);
            let r = f(ctx);
            ctx.training = outer;
            r
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn null_values_are_absent_but_recorded() {
        let kw: CallKwargs =
            CallKwargs::new().with_value("mask", json!(null)).with_value("training", json!(false));
        assert!(!kw.contains("mask"));
        assert!(kw.contains("training"));
        assert_eq!(kw.keys(), vec!["mask", "training"]);
        assert_eq!(kw.training("X").unwrap(), Some(false));
        let m = Tensor::ones([2]);
        let masks = kw.effective_masks(&[Some(m.clone())], "X").unwrap();
        assert_eq!(masks[0].as_ref().unwrap().shape(), &[2]);
    }

    #[test]
    fn explicit_masks_replace_input_masks() {
        let m = Tensor::ones([2, 3]);
        let kw = CallKwargs::new().with_tensor_list("mask", vec![None, Some(m.clone())]);
        let masks = kw.effective_masks(&[Some(m.clone()), None], "Attention").unwrap();
        assert!(masks[0].is_none() && masks[1].is_some());
        let kw = CallKwargs::new().with_tensor("mask", m.clone());
        assert_eq!(kw.effective_masks(&[None], "LSTM").unwrap().len(), 1);
        let kw: CallKwargs = CallKwargs::new().with_value("mask", json!([null, null]));
        let masks = kw.effective_masks(&[Some(m.clone()), None], "Add").unwrap();
        assert!(masks.len() == 2 && masks.iter().all(Option::is_none));
        let kw: CallKwargs = CallKwargs::new().with_value("mask", json!(3));
        let e = kw.effective_masks(&[None], "Add").unwrap_err();
        assert!(e.message().contains("mask=3"), "{e}");
    }

    #[test]
    fn type_errors_name_the_argument() {
        let kw: CallKwargs = CallKwargs::new()
            .with_value("return_attention_scores", json!(1))
            .with_tensor("use_causal_mask", Tensor::ones([1]));
        let e = kw.bool_or("return_attention_scores", "Attention", false).unwrap_err();
        assert_eq!(
            e.message(),
            "Attention.call(): argument `return_attention_scores` should be a boolean. Received: return_attention_scores=1"
        );
        assert!(kw.opt_bool("use_causal_mask", "Attention").is_err());
        assert!(kw.tensor("return_attention_scores", "Attention").is_err());
        let kw: CallKwargs = CallKwargs::new().with_tensor_list("key", vec![None]);
        assert!(kw.tensor("key", "MultiHeadAttention").is_err());
    }

    #[test]
    fn unknown_keys_and_duplicate_arguments() {
        let kw: CallKwargs =
            CallKwargs::new().with_value("training", json!(true)).with_value("zeta", json!(1));
        assert_eq!(
            kw.check_known("Dense", &[]).unwrap_err().message(),
            "Dense.call() got an unexpected keyword argument 'zeta'"
        );
        assert!(kw.check_known("Dense", &["zeta"]).is_ok());
        let k = Tensor::ones([1]);
        let kw = CallKwargs::new().with_tensor("key", k.clone());
        let inputs = [k.clone(), k.clone(), k.clone()];
        assert_eq!(
            kw.positional_or(&inputs, 2, "key", "MultiHeadAttention").unwrap_err().message(),
            "MultiHeadAttention.call() got multiple values for argument 'key'"
        );
        assert!(kw.positional_or(&inputs[..2], 2, "key", "MultiHeadAttention").unwrap().is_some());
        let empty: CallKwargs = CallKwargs::new();
        assert!(empty.positional_or(&inputs[..2], 2, "key", "MultiHeadAttention").unwrap().is_none());
    }

    #[test]
    fn shapes_keep_values_and_masks() {
        let kw = CallKwargs::new()
            .with_masked_tensor("key", Tensor::ones([2, 5, 4]), Some(Tensor::ones([2, 5])))
            .with_value("use_causal_mask", json!(true));
        let s = kw.shapes();
        assert_eq!(s.tensor("key", "M").unwrap(), Some(&vec![Some(2), Some(5), Some(4)]));
        assert_eq!(s.tensor_mask("key"), Some(&vec![Some(2), Some(5)]));
        assert!(s.bool_or("use_causal_mask", "M", false).unwrap());
        let mut s = s;
        assert!(s.remove("key"));
        assert!(s.tensor_mask("key").is_none());
    }

    #[test]
    fn with_training_restores_the_outer_mode() {
        let mut ctx = crate::layers::CallContext::new(true);
        let seen = with_training(&mut ctx, Some(false), |c| c.training);
        assert!(!seen && ctx.training);
        assert!(with_training(&mut ctx, None, |c| c.training));
    }
}
