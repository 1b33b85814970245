//! `Concatenate`: joins a list of inputs along one axis.

use crate::layers::layer::{LayerBase, Shape};
use crate::layers::layer_args::LayerArgs;
use crate::layers::merging::base_merge::{bool_mask, expand_mask_to, merge_layer_impl};
use crate::utils::config_args::config_args;
use crate::utils::python_repr::py_shapes;
use crate::{keras_bail, ops, Error, Result, Tensor};

/// Keras `keras.layers.Concatenate`: concatenates a list of tensors along `axis` (default
/// `-1`); every other dimension must match. Masks are concatenated the same way (an unmasked
/// input counts as all valid) and reduced over the last axis, as Keras does.
///
/// ```
/// use keras::layers::{CallContext, Concatenate, Layer};
/// use keras::Tensor;
///
/// let cat = Concatenate::new().axis(1);
/// let a = Tensor::ones([2, 2, 5]);
/// let b = Tensor::zeros([2, 1, 5]);
/// let out = cat.call_multi(&[a, b], &[None, None], &mut CallContext::new(false)).unwrap();
/// assert_eq!(out[0].shape(), &[2, 3, 5]);
/// ```
pub struct Concatenate {
    base: LayerBase,
    build_shapes: Option<Vec<Shape>>,
    args: ConcatenateArgs,
}

config_args! {
    /// Concatenate's Keras arguments.
    pub(crate) struct ConcatenateArgs in Concatenate.args, family LayerArgs {
        /// The concatenation axis (negative counts from the end; `0`, the batch axis, is allowed as
        /// in Keras).
        axis: i64 = -1; builder axis(axis: i64),
    }
}

impl Default for Concatenate {
    fn default() -> Self {
        Self::new()
    }
}

impl Concatenate {
    /// Concatenation along the last axis.
    pub fn new() -> Self {
        Concatenate {
            base: LayerBase::new("concatenate"),
            build_shapes: None,
            args: ConcatenateArgs::defaults(),
        }
    }

    crate::layers::builders::name_builder!();

    /// The concatenation axis as given.
    pub fn get_axis(&self) -> i64 {
        self.args.axis
    }

    /// The axis resolved for a rank (Python's `axis % rank`).
    fn resolve(&self, rank: usize, shapes: &[Shape]) -> Result<usize> {
        let r = rank as i64;
        if rank == 0 || self.args.axis >= r || self.args.axis < -r {
            keras_bail!(
                InvalidArgument,
                "A `Concatenate` layer requires inputs with matching shapes except for the concatenation axis. Received: input_shape={} (axis {} is out of range)",
                py_shapes(shapes),
                self.args.axis
            );
        }
        Ok(self.args.axis.rem_euclid(r) as usize)
    }

    /// Keras `Concatenate.build` validation and `compute_output_shape`.
    fn output_shape(&self, shapes: &[Shape]) -> Result<Shape> {
        if shapes.is_empty() {
            keras_bail!(
                InvalidArgument,
                "A `Concatenate` layer should be called on a list of at least 1 input. Received: input_shape=[]"
            );
        }
        let err = || {
            Error::InvalidArgument(format!(
                "A `Concatenate` layer requires inputs with matching shapes except for the concatenation axis. Received: input_shape={}",
                py_shapes(shapes)
            ))
        };
        let rank = shapes[0].len();
        if shapes.iter().any(|s| s.len() != rank) {
            return Err(err());
        }
        let ax = self.resolve(rank, shapes)?;
        // Known sizes of every other axis must agree (None matches anything).
        for d in (0..rank).filter(|&d| d != ax) {
            let known: std::collections::BTreeSet<usize> = shapes.iter().filter_map(|s| s[d]).collect();
            if known.len() > 1 {
                return Err(err());
            }
        }
        let mut out = shapes[0].clone();
        for s in &shapes[1..] {
            out[ax] = match (out[ax], s[ax]) {
                (Some(a), Some(b)) => Some(a + b),
                _ => None,
            };
        }
        Ok(out)
    }

    fn merge(&self, inputs: &[Tensor], _masks: &[Option<Tensor>]) -> Result<Tensor> {
        let ax = self.args.axis;
        let parts: Vec<&Tensor> = inputs.iter().collect();
        Ok(ops::concat(&parts, ax as isize)?)
    }

    /// Keras `Concatenate.compute_mask`: masks broadcast to their inputs' shapes (all ones for
    /// an unmasked input), concatenated along the axis, then `any` over the last axis.
    fn output_mask(&self, inputs: &[Tensor], masks: &[Option<Tensor>]) -> Result<Option<Tensor>> {
        if !crate::layers::merging::base_merge::any_mask(inputs, masks)? {
            return Ok(None);
        }
        let mut full = Vec::with_capacity(inputs.len());
        for (x, m) in inputs.iter().zip(masks) {
            full.push(match m {
                None => Tensor::ones(x.shape().to_vec()),
                Some(m) if m.rank() < x.rank() => expand_mask_to(m, x)?,
                Some(m) => bool_mask(m)?,
            });
        }
        let parts: Vec<&Tensor> = full.iter().collect();
        let cat = ops::concat(&parts, self.args.axis as isize)?;
        Ok(Some(ops::max_axes(&cat, &[-1], false)?))
    }
}

merge_layer_impl!(Concatenate, "Concatenate", ConcatenateArgs = Concatenate::new();
    /// Rebuilds from a Keras config.
);
