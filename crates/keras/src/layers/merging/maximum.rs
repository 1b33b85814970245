//! `Maximum`: the element-wise maximum of a list of inputs.

use crate::layers::layer::Shape;
use crate::layers::merging::base_merge::{
    align_ranks, apply_op_and_or_mask, elementwise_output_shape, merge_layer_impl, or_masks,
    plain_merge_layer,
};
use crate::{ops, Result, Tensor};

plain_merge_layer!(
    Maximum,
    "maximum",
    "Keras `keras.layers.Maximum`: the element-wise maximum of a list of tensors. A masked-out \
     entry of one input takes the other inputs' value (Keras's `_apply_merge_op_and_or_mask`)."
);

impl Maximum {
    fn output_shape(&self, shapes: &[Shape]) -> Result<Shape> {
        elementwise_output_shape(shapes)
    }

    fn merge(&self, inputs: &[Tensor], masks: &[Option<Tensor>]) -> Result<Tensor> {
        apply_op_and_or_mask(&align_ranks(inputs)?, masks, |a, b| Ok(ops::maximum(a, b)?))
    }

    fn output_mask(&self, inputs: &[Tensor], masks: &[Option<Tensor>]) -> Result<Option<Tensor>> {
        or_masks(inputs, masks)
    }
}

merge_layer_impl!(Maximum, "Maximum");
