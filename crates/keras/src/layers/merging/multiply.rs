//! `Multiply`: the element-wise product of a list of inputs, with Keras's mask rule.

use crate::layers::layer::Shape;
use crate::layers::merging::base_merge::{
    align_ranks, elementwise_output_shape, expand_mask_to, logical_or, merge_layer_impl, or_masks,
    plain_merge_layer, select,
};
use crate::{ops, Result, Tensor};

plain_merge_layer!(
    Multiply,
    "multiply",
    "Keras `keras.layers.Multiply`: multiplies a list of tensors element-wise. Masked-out \
     entries of an input count as 1; when every input is masked, entries masked in all of \
     them are 0 (Keras's rule)."
);

impl Multiply {
    fn output_shape(&self, shapes: &[Shape]) -> Result<Shape> {
        elementwise_output_shape(shapes)
    }

    fn merge(&self, inputs: &[Tensor], masks: &[Option<Tensor>]) -> Result<Tensor> {
        let xs = align_ranks(inputs)?;
        let all_masked = !xs.is_empty() && (0..xs.len()).all(|i| masks.get(i).is_some_and(Option::is_some));
        let mut out: Option<Tensor> = None;
        let mut out_mask: Option<Tensor> = None;
        for (i, x) in xs.iter().enumerate() {
            let mut x = x.clone();
            if let Some(Some(m)) = masks.get(i) {
                let m = expand_mask_to(m, &x)?;
                // Entries outside the mask become 1, the identity of the product.
                x = select(&m, &x, &Tensor::scalar(1.0))?;
                if all_masked {
                    out_mask = Some(match out_mask {
                        None => m,
                        Some(o) => logical_or(&o, &m)?,
                    });
                }
            }
            out = Some(match out {
                None => x,
                Some(o) => ops::mul(&o, &x)?,
            });
        }
        let out = out.unwrap_or_else(|| Tensor::scalar(0.0));
        match out_mask {
            Some(m) => select(&m, &out, &Tensor::scalar(0.0)),
            None => Ok(out),
        }
    }

    fn output_mask(&self, inputs: &[Tensor], masks: &[Option<Tensor>]) -> Result<Option<Tensor>> {
        or_masks(inputs, masks)
    }
}

merge_layer_impl!(Multiply, "Multiply");
