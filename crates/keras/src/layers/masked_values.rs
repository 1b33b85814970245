//! Replacing masked positions, as Keras's `ops.where(mask, x, value)` does inside the
//! layers that honour a mask (Softmax, GlobalAveragePooling1D).

use crate::{Result, Tensor};

/// `where(keep, x, value)` elementwise (`keep` has one flag per element of `x`),
/// differentiable with respect to `x`: the gradient is zero where `value` replaced `x`.
/// Unlike `x * mask`, a NaN or infinity at a masked position does not leak through.
pub(crate) fn keep_or(x: &Tensor, keep: &[bool], value: f32) -> Result<Tensor> {
    let data: Vec<f32> = x.to_f32_vec().iter().zip(keep).map(|(&v, &k)| if k { v } else { value }).collect();
    let flags = keep.to_vec();
    Ok(Tensor::from_op(
        data,
        x.shape().to_vec(),
        &[x],
        Box::new(move |g, _out, inputs| {
            let d: Vec<f32> =
                g.to_f32_vec().iter().zip(&flags).map(|(&v, &k)| if k { v } else { 0.0 }).collect();
            Ok(vec![Some(Tensor::new(d, inputs[0].shape().to_vec())?)])
        }),
    )?)
}
