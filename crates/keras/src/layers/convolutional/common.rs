//! Helpers shared by the convolution layers: fused activations, argument and input checks.

use keras_engine::ops::Unary;

use crate::activations::Activation;
use crate::layers::layer::shape_str;
use crate::{Error, Result, Tensor};

/// Runs `conv` with the activation fused when the engine can, else applies it afterwards.
pub(crate) fn with_activation(
    activation: &Activation,
    conv: impl FnOnce(Unary) -> Result<Tensor>,
) -> Result<Tensor> {
    let fused = activation.fusable();
    let y = conv(fused.unwrap_or(Unary::Linear))?;
    match fused {
        Some(_) => Ok(y),
        None => activation.apply(&y),
    }
}

/// Keras's error when strides and dilation are both above 1.
pub(crate) fn strides_dilation_error(strides: &[usize], dilation: &[usize]) -> Option<Error> {
    (strides.iter().any(|&s| s > 1) && dilation.iter().any(|&d| d > 1)).then(|| {
        Error::InvalidArgument(format!(
            "`strides > 1` not supported in conjunction with `dilation_rate > 1`. Received: strides={strides:?} and dilation_rate={dilation:?}"
        ))
    })
}

/// Keras's error for a zero in a size tuple (`kernel_size`, `strides`, `dilation_rate`).
pub(crate) fn positive_tuple_error(what: &str, v: &[usize]) -> Option<Error> {
    v.contains(&0).then(|| {
        Error::InvalidArgument(format!(
            "The `{what}` argument must be a tuple of {} positive integers. Received {what}={v:?}",
            v.len()
        ))
    })
}

/// Keras's "output size would be negative" error.
pub(crate) fn negative_output_error(
    layer: &str,
    s: &[Option<usize>],
    kernel: &[usize],
    dilation: &[usize],
) -> Error {
    Error::Shape(format!(
        "Computed output size would be negative in layer {layer}. Received `inputs shape={}`, `kernel_size={kernel:?}`, `dilation_rate={dilation:?}`.",
        shape_str(s)
    ))
}
