//! `Subtract`: the difference of exactly two inputs.

use crate::layers::layer::Shape;
use crate::layers::merging::base_merge::{
    align_ranks, elementwise_output_shape, merge_layer_impl, or_masks, plain_merge_layer,
};
use crate::utils::python_repr::py_shapes;
use crate::{keras_bail, ops, Result, Tensor};

plain_merge_layer!(
    Subtract,
    "subtract",
    "Keras `keras.layers.Subtract`: `inputs[0] - inputs[1]` for exactly two tensors (the output \
     mask is the OR of the input masks)."
);

impl Subtract {
    fn output_shape(&self, shapes: &[Shape]) -> Result<Shape> {
        let out = elementwise_output_shape(shapes)?;
        if shapes.len() != 2 {
            keras_bail!(
                InvalidArgument,
                "A `Subtract` layer should be called on exactly 2 inputs. Received: input_shape={}",
                py_shapes(shapes)
            );
        }
        Ok(out)
    }

    fn merge(&self, inputs: &[Tensor], _masks: &[Option<Tensor>]) -> Result<Tensor> {
        let xs = align_ranks(inputs)?;
        Ok(ops::sub(&xs[0], &xs[1])?)
    }

    fn output_mask(&self, inputs: &[Tensor], masks: &[Option<Tensor>]) -> Result<Option<Tensor>> {
        or_masks(inputs, masks)
    }
}

merge_layer_impl!(Subtract, "Subtract");
