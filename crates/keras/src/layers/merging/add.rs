//! `Add`: the element-wise sum of a list of inputs.

use crate::layers::layer::Shape;
use crate::layers::merging::base_merge::{
    elementwise_output_shape, merge_layer_impl, or_masks, plain_merge_layer, sum_aligned,
};
use crate::{Result, Tensor};

plain_merge_layer!(
    Add,
    "add",
    "Keras `keras.layers.Add`: sums a list of tensors element-wise (shapes broadcast as Keras's \
     merge layers do; the output mask is the OR of the input masks)."
);

impl Add {
    fn output_shape(&self, shapes: &[Shape]) -> Result<Shape> {
        elementwise_output_shape(shapes)
    }

    fn merge(&self, inputs: &[Tensor], _masks: &[Option<Tensor>]) -> Result<Tensor> {
        sum_aligned(inputs)
    }

    fn output_mask(&self, inputs: &[Tensor], masks: &[Option<Tensor>]) -> Result<Option<Tensor>> {
        or_masks(inputs, masks)
    }
}

merge_layer_impl!(Add, "Add");
