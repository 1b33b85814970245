//! What every merging layer shares (Keras `keras/src/layers/merging/base_merge.py`): shape
//! checks with Keras's messages, rank alignment, the OR of masks, Python-style shape text and
//! the `build_config` of a layer built on a list of shapes.

use serde_json::{json, Map, Value};

use crate::layers::layer::{Layer, Shape};
use crate::utils::python_repr::{py_shape, py_shapes};
use crate::{keras_bail, ops, Result, Tensor};

/// The known shape of a concrete tensor.
pub(crate) fn known(t: &Tensor) -> Shape {
    t.shape().iter().map(|&d| Some(d)).collect()
}

/// Keras `Merge._compute_elemwise_op_output_shape` for two shapes without batch (right-aligned
/// broadcasting where `None` is unknown).
fn elemwise_shape(shape1: &[Option<usize>], shape2: &[Option<usize>]) -> Result<Shape> {
    if shape1.len() < shape2.len() {
        return elemwise_shape(shape2, shape1);
    }
    if shape2.is_empty() {
        return Ok(shape1.to_vec());
    }
    let lead = shape1.len() - shape2.len();
    let mut out: Shape = shape1[..lead].to_vec();
    for (&i, &j) in shape1[lead..].iter().zip(shape2) {
        out.push(match (i, j) {
            (None, _) | (_, None) => None,
            (Some(1), j) => j,
            (i, Some(1)) => i,
            (Some(a), Some(b)) if a != b => keras_bail!(
                InvalidArgument,
                "Inputs have incompatible shapes. Received shapes {} and {}",
                py_shape(shape1),
                py_shape(shape2)
            ),
            (i, _) => i,
        });
    }
    Ok(out)
}

/// Keras `Merge.build` validation plus `compute_output_shape` for element-wise merges.
pub(crate) fn elementwise_output_shape(shapes: &[Shape]) -> Result<Shape> {
    if shapes.is_empty() {
        keras_bail!(
            InvalidArgument,
            "A merge layer should be called on a list of at least 1 input. Received 0 inputs. Full input_shape received: []"
        );
    }
    let batches: std::collections::BTreeSet<usize> =
        shapes.iter().filter_map(|s| s.first().copied().flatten()).collect();
    if batches.len() > 1 {
        keras_bail!(
            InvalidArgument,
            "Cannot merge tensors with different batch sizes. Received tensors with shapes {}",
            py_shapes(shapes)
        );
    }
    let mut out: Shape = shapes[0].get(1..).unwrap_or(&[]).to_vec();
    for s in &shapes[1..] {
        out = elemwise_shape(&out, s.get(1..).unwrap_or(&[]))?;
    }
    out.insert(0, batches.iter().next().copied());
    Ok(out)
}

/// Keras `Merge.call`'s rank alignment: lower-rank inputs get new axes at position 1 until
/// every input has the highest rank, so they broadcast against each other.
pub(crate) fn align_ranks(inputs: &[Tensor]) -> Result<Vec<Tensor>> {
    let max_rank = inputs.iter().map(Tensor::rank).max().unwrap_or(0);
    inputs
        .iter()
        .map(|x| {
            if x.rank() == max_rank || x.rank() == 0 {
                return Ok(x.clone());
            }
            let mut shape = x.shape().to_vec();
            for _ in x.rank()..max_rank {
                shape.insert(1, 1);
            }
            Ok(x.reshape(shape)?)
        })
        .collect()
}

/// Whether a merge has masks to combine (false when no input has one), after Keras's check
/// that there is one mask per input.
pub(crate) fn any_mask(inputs: &[Tensor], masks: &[Option<Tensor>]) -> Result<bool> {
    if masks.iter().all(Option::is_none) {
        return Ok(false);
    }
    if masks.len() != inputs.len() {
        keras_bail!(
            InvalidArgument,
            "The lists `inputs` and `mask` should have the same length. Received: inputs of length {}, and mask of length {}",
            inputs.len(),
            masks.len()
        );
    }
    Ok(true)
}

/// The element-wise sum of the inputs, their ranks aligned first (Add, and Average before
/// it divides).
pub(crate) fn sum_aligned(inputs: &[Tensor]) -> Result<Tensor> {
    let xs = align_ranks(inputs)?;
    let mut out = xs[0].clone();
    for x in &xs[1..] {
        out = ops::add(&out, x)?;
    }
    Ok(out)
}

/// Keras `Merge.compute_mask`: the logical OR of the input masks when every input has one,
/// otherwise no mask.
pub(crate) fn or_masks(inputs: &[Tensor], masks: &[Option<Tensor>]) -> Result<Option<Tensor>> {
    if !any_mask(inputs, masks)? {
        return Ok(None);
    }
    let mut out: Option<Tensor> = None;
    for m in masks {
        let Some(m) = m else { return Ok(None) };
        out = Some(match out {
            None => bool_mask(m)?,
            Some(o) => logical_or(&o, m)?,
        });
    }
    Ok(out)
}

/// A mask as 0/1 floats (non-zero = kept).
pub(crate) fn bool_mask(m: &Tensor) -> Result<Tensor> {
    let data: Vec<f32> =
        m.cast(keras_engine::DType::F32).to_f32_vec().iter().map(|&v| f32::from(v != 0.0)).collect();
    Ok(Tensor::new(data, m.shape().to_vec())?)
}

/// Element-wise OR of two masks (broadcasting), as 0/1 floats.
pub(crate) fn logical_or(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let (a, b) = (bool_mask(a)?, bool_mask(b)?);
    Ok(ops::maximum(&a, &b)?)
}

/// `mask` (one shorter than `x`, or as long) expanded with a trailing axis and broadcast to
/// `x`'s shape, as 0/1 floats (Keras `broadcast_to(expand_dims(mask, -1), shape(x))`).
pub(crate) fn expand_mask_to(mask: &Tensor, x: &Tensor) -> Result<Tensor> {
    let m = bool_mask(mask)?;
    let mut shape = m.shape().to_vec();
    if shape.len() < x.rank() {
        shape.push(1);
    }
    let m = m.reshape(shape)?;
    let zeros = Tensor::zeros(x.shape().to_vec());
    Ok(ops::add(&zeros, &m)?)
}

/// `where(mask, a, b)` for a 0/1 mask broadcast to the shapes of `a` and `b`
/// (`mask * a + (1 - mask) * b`, differentiable in `a` and `b`).
pub(crate) fn select(mask: &Tensor, a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let inv = ops::sub(&Tensor::scalar(1.0), mask)?;
    Ok(ops::add(&ops::mul(mask, a)?, &ops::mul(&inv, b)?)?)
}

/// The serialized form of a layer built on a list of shapes: Keras writes
/// `"build_config": {"input_shape": [[...], [...]]}` for merging and attention layers.
pub(crate) fn serialize_with_build_shapes(layer: &dyn Layer, shapes: Option<&[Shape]>) -> Value {
    let mut m = Map::new();
    m.insert("module".into(), json!("keras.layers"));
    m.insert("class_name".into(), json!(layer.class_name()));
    m.insert("config".into(), layer.get_config());
    m.insert("registered_name".into(), Value::Null);
    if let Some(shapes) = shapes {
        m.insert("build_config".into(), json!({ "input_shape": shapes }));
    }
    Value::Object(m)
}

/// Refuses a layer call that is not on a list (the single-tensor entry points of a merge
/// layer), with Keras's message.
pub(crate) fn not_a_list<T>(class_name: &str) -> Result<T> {
    keras_bail!(
        InvalidArgument,
        "A merge layer should be called on a list of inputs. Received: a single input (not a list of tensors) for a `{class_name}` layer"
    )
}

/// Implements the parts of [`Layer`] every merging layer writes the same way: identity,
/// single-tensor entry points refused, list-taking, serialization with the list of build
/// shapes. The layer type has fields `base: LayerBase` and `build_shapes: Option<Vec<Shape>>`
/// and inherent methods `output_shape(&self, &[Shape]) -> Result<Shape>`,
/// `merge(&self, &[Tensor], &[Option<Tensor>]) -> Result<Tensor>` and
/// `output_mask(&self, &[Tensor], &[Option<Tensor>]) -> Result<Option<Tensor>>`.
///
/// `merge_layer_impl!(Dot, "Dot", DotArgs = Dot::new(-1); /// doc)` also writes, for a
/// layer with `args: $Args` declared by [`config_args!`](crate::utils::config_args!),
/// `from_config` (the arguments read into the fresh layer `$fresh`, then the base keys) and
/// `config` (the base config, then the arguments).
macro_rules! merge_layer_impl {
    ($ty:ident, $class:literal, $Args:ident = $fresh:expr; $(#[$doc:meta])*) => {
        impl $ty {
            $(#[$doc])*
            pub fn from_config(cfg: &serde_json::Value) -> $crate::Result<Self> {
                let args = $Args::read_args(&mut $crate::layers::layer_args::LayerCfg::new(cfg, $class))?;
                let mut l = $ty { args, ..$fresh };
                l.base.apply_config_checked(cfg)?;
                Ok(l)
            }

            fn config(&self) -> serde_json::Value {
                let mut m = self.base.base_config();
                self.args.write_args(&mut m);
                serde_json::Value::Object(m)
            }
        }
        $crate::layers::merging::base_merge::merge_layer_impl!($ty, $class);
    };
    ($ty:ident, $class:literal) => {
        impl $crate::layers::layer::Layer for $ty {
            $crate::layers::layer::layer_base_methods!($class);
            fn takes_list(&self) -> bool {
                true
            }
            fn compute_output_shape(
                &self,
                _s: &[Option<usize>],
            ) -> $crate::Result<$crate::layers::layer::Shape> {
                $crate::layers::merging::base_merge::not_a_list($class)
            }
            fn call(
                &self,
                _x: &$crate::Tensor,
                _ctx: &mut $crate::layers::layer::CallContext,
            ) -> $crate::Result<$crate::Tensor> {
                $crate::layers::merging::base_merge::not_a_list($class)
            }
            fn build(&mut self, _s: &[Option<usize>]) -> $crate::Result<()> {
                $crate::layers::merging::base_merge::not_a_list($class)
            }
            fn build_multi(&mut self, shapes: &[$crate::layers::layer::Shape]) -> $crate::Result<()> {
                self.output_shape(shapes)?;
                self.build_shapes = Some(shapes.to_vec());
                self.base.built = true;
                Ok(())
            }
            fn compute_output_shapes(
                &self,
                shapes: &[$crate::layers::layer::Shape],
            ) -> $crate::Result<Vec<$crate::layers::layer::Shape>> {
                Ok(vec![self.output_shape(shapes)?])
            }
            fn call_multi(
                &self,
                inputs: &[$crate::Tensor],
                masks: &[Option<$crate::Tensor>],
                _ctx: &mut $crate::layers::layer::CallContext,
            ) -> $crate::Result<Vec<$crate::Tensor>> {
                let shapes: Vec<_> = inputs.iter().map($crate::layers::merging::base_merge::known).collect();
                self.output_shape(&shapes)?;
                Ok(vec![self.merge(inputs, masks)?])
            }
            fn compute_masks(
                &self,
                inputs: &[$crate::Tensor],
                masks: &[Option<$crate::Tensor>],
            ) -> $crate::Result<Vec<Option<$crate::Tensor>>> {
                Ok(vec![self.output_mask(inputs, masks)?])
            }
            fn get_config(&self) -> serde_json::Value {
                self.config()
            }
            fn serialize(&self) -> serde_json::Value {
                $crate::layers::merging::base_merge::serialize_with_build_shapes(
                    self,
                    self.build_shapes.as_deref(),
                )
            }
        }
    };
}

/// The struct, constructor, `name` builder, `from_config` and config of a merging layer with
/// no arguments of its own; the file adds `output_shape`, `merge` and `output_mask` and invokes
/// [`merge_layer_impl`].
macro_rules! plain_merge_layer {
    ($ty:ident, $snake:literal, $doc:literal) => {
        #[doc = $doc]
        pub struct $ty {
            base: $crate::layers::layer::LayerBase,
            build_shapes: Option<Vec<$crate::layers::layer::Shape>>,
        }

        impl Default for $ty {
            fn default() -> Self {
                Self::new()
            }
        }

        impl $ty {
            /// A new layer with an automatic name.
            pub fn new() -> Self {
                $ty { base: $crate::layers::layer::LayerBase::new($snake), build_shapes: None }
            }

            crate::layers::builders::name_builder!();

            /// Rebuilds from a Keras config.
            pub fn from_config(cfg: &serde_json::Value) -> $crate::Result<Self> {
                let mut l = Self::new();
                l.base.apply_config_checked(cfg)?;
                Ok(l)
            }

            fn config(&self) -> serde_json::Value {
                serde_json::Value::Object(self.base.base_config())
            }
        }
    };
}

/// A whole [`plain_merge_layer!`] whose merge folds `$op` (`ops::maximum`, `ops::minimum`)
/// over the inputs with [`apply_op_and_or_mask`]; the output shape is the broadcast shape and
/// the output mask the OR of the input masks.
macro_rules! masked_fold_merge_layer {
    ($ty:ident, $snake:literal, $class:literal, $op:path, $doc:literal) => {
        $crate::layers::merging::base_merge::plain_merge_layer!($ty, $snake, $doc);

        impl $ty {
            fn output_shape(
                &self,
                shapes: &[$crate::layers::layer::Shape],
            ) -> $crate::Result<$crate::layers::layer::Shape> {
                $crate::layers::merging::base_merge::elementwise_output_shape(shapes)
            }

            fn merge(
                &self,
                inputs: &[$crate::Tensor],
                masks: &[Option<$crate::Tensor>],
            ) -> $crate::Result<$crate::Tensor> {
                use $crate::layers::merging::base_merge::{align_ranks, apply_op_and_or_mask};
                apply_op_and_or_mask(&align_ranks(inputs)?, masks, |a, b| Ok($op(a, b)?))
            }

            fn output_mask(
                &self,
                inputs: &[$crate::Tensor],
                masks: &[Option<$crate::Tensor>],
            ) -> $crate::Result<Option<$crate::Tensor>> {
                $crate::layers::merging::base_merge::or_masks(inputs, masks)
            }
        }

        $crate::layers::merging::base_merge::merge_layer_impl!($ty, $class);
    };
}

pub(crate) use {masked_fold_merge_layer, merge_layer_impl, plain_merge_layer};

/// Keras `Merge._apply_merge_op_and_or_mask` (Maximum, Minimum): folds `op` over the inputs;
/// where an input is masked out it takes the running result's value and vice versa, so masked
/// entries never win.
pub(crate) fn apply_op_and_or_mask(
    inputs: &[Tensor],
    masks: &[Option<Tensor>],
    op: impl Fn(&Tensor, &Tensor) -> Result<Tensor>,
) -> Result<Tensor> {
    let mut output: Option<Tensor> = None;
    let mut output_mask: Option<Tensor> = None;
    for (i, x) in inputs.iter().enumerate() {
        let mask = match masks.get(i) {
            Some(Some(m)) => Some(expand_mask_to(m, x)?),
            _ => None,
        };
        let Some(out) = output.take() else {
            output = Some(x.clone());
            output_mask = mask;
            continue;
        };
        let mut x = x.clone();
        let mut out = out;
        if let Some(m) = &mask {
            x = select(m, &x, &out)?;
        }
        if let Some(om) = &output_mask {
            out = select(om, &out, &x)?;
        }
        output_mask = match (mask, output_mask.take()) {
            (Some(m), Some(om)) => Some(logical_or(&om, &m)?),
            _ => None,
        };
        output = Some(op(&out, &x)?);
    }
    match output {
        Some(o) => Ok(o),
        None => not_a_list("merge"),
    }
}
