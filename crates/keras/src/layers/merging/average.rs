//! `Average`: the element-wise mean of a list of inputs.

use crate::layers::layer::Shape;
use crate::layers::merging::base_merge::{
    elementwise_output_shape, merge_layer_impl, or_masks, plain_merge_layer, sum_aligned,
};
use crate::{ops, Result, Tensor};

plain_merge_layer!(
    Average,
    "average",
    "Keras `keras.layers.Average`: averages a list of tensors element-wise (the sum divided by \
     the number of inputs; the output mask is the OR of the input masks)."
);

impl Average {
    fn output_shape(&self, shapes: &[Shape]) -> Result<Shape> {
        elementwise_output_shape(shapes)
    }

    fn merge(&self, inputs: &[Tensor], _masks: &[Option<Tensor>]) -> Result<Tensor> {
        let out = sum_aligned(inputs)?;
        // Keras divides (`output / len(inputs)`), which rounds differently from a product.
        Ok(ops::div(&out, &Tensor::scalar(inputs.len() as f32))?)
    }

    fn output_mask(&self, inputs: &[Tensor], masks: &[Option<Tensor>]) -> Result<Option<Tensor>> {
        or_masks(inputs, masks)
    }
}

merge_layer_impl!(Average, "Average");
