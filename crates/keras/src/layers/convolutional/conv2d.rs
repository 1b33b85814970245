//! `Conv2D`: 2-D convolution over images (channels-last or channels-first).

use keras_engine::ops::{self, Unary};

use crate::layers::convolutional::args::{arr, conv_layer, fused_inference_methods, ConvForward};
use crate::{keras_bail, Error, Result, Tensor};

/// Parses a padding name: `"valid"` or `"same"` (case-insensitive, as Keras).
pub(crate) fn parse_padding(p: &str, layer: &str) -> Result<bool> {
    match p.to_lowercase().as_str() {
        "valid" => Ok(false),
        "same" => Ok(true),
        _ => keras_bail!(
            InvalidArgument,
            "Layer {layer}: the `padding` argument must be one of \"valid\", \"same\". Received: padding={p}"
        ),
    }
}

/// Output length along one axis with TensorFlow's rules, or None when it would be < 1 (or
/// when a size is 0: builders refuse those, this keeps a direct call from dividing by zero).
pub(crate) fn conv_output_len(
    input: usize,
    k: usize,
    stride: usize,
    dilation: usize,
    same: bool,
) -> Option<usize> {
    if k == 0 || stride == 0 || dilation == 0 {
        return None;
    }
    if same {
        return Some(input.div_ceil(stride));
    }
    let eff = dilation.checked_mul(k - 1)?.checked_add(1)?;
    (input >= eff).then(|| (input - eff) / stride + 1)
}

conv_layer!(
    /// 2-D convolution layer (Keras `keras.layers.Conv2D`), kernel `(kh, kw, in / groups,
    /// filters)` in either data format.
    ///
    /// ```
    /// use keras::layers::Conv2D;
    /// let conv = Conv2D::new(32, [3, 3]).activation("relu").input_shape(&[32, 32, 3]);
    /// ```
    Conv2D, "Conv2D", "conv2d", Conv, [usize; 2], 2;
    /// `filters` output channels, a `kernel_size` window, stride 1, `valid` padding.
    new
);

impl ConvForward for Conv2D {
    fn forward(&self, x: &Tensor, k: &[&Tensor], bias: Option<&Tensor>, act: Unary) -> Result<Tensor> {
        let a = &self.args;
        if a.groups == 1 {
            Ok(ops::conv2d(x, k[0], bias, arr(&a.strides), arr(&a.dilation_rate), a.same(), act)?)
        } else {
            let (s, d) = (arr(&a.strides), arr(&a.dilation_rate));
            Ok(ops::conv2d_ext(x, k[0], bias, s, d, a.engine_padding(), a.groups, act)?)
        }
    }
}

impl Conv2D {
    fused_inference_methods!(ops::conv2d_inference);

    /// The layer's call (its own activation included) followed by 2x2 max pooling with
    /// stride 2 and `valid` padding, fused for inference
    /// ([`ops::conv2d_maxpool2_inference`]); `None` where the layer cannot run it (grouped,
    /// channels-first, an activation that is not element-wise fusable, a pending error).
    /// The caller checks that the pooling applies to this layer's output shape.
    pub(crate) fn call_maxpool2_inference(&self, x: &Tensor) -> Option<Result<Tensor>> {
        let a = &self.args;
        if a.groups > 1 || !a.channels_last() || self.base.pending_error.is_some() {
            return None;
        }
        let act = a.activation.fusable()?;
        let kernel = self.kernels.first()?;
        if let Err(e) = a.check_call_input(&self.base.name, x, a.built_channels(kernel)) {
            return Some(Err(e));
        }
        let bias = self.bias.as_ref().map(|b| b.value());
        let (s, d) = (arr(&a.strides), arr(&a.dilation_rate));
        let epilogue = ops::ConvEpilogue { norm: None, act };
        let y = ops::conv2d_maxpool2_inference(x, kernel.value(), bias, s, d, a.engine_padding(), &epilogue);
        Some(y.map_err(Error::from))
    }

    /// The layer's call with its ReLU followed by 2x2 max pooling with stride 2 and `valid`
    /// padding, differentiable, for training ([`ops::conv2d_relu_maxpool2`]: the pooling is
    /// fused into a Winograd convolution's output transform, with the same values and
    /// gradients as the two calls); `None` where the layer cannot run it (an activation other
    /// than ReLU, grouped, channels-first, a pending error). The caller checks that the
    /// pooling applies to this layer's output shape.
    pub(crate) fn call_relu_maxpool2_training(&self, x: &Tensor) -> Option<Result<Tensor>> {
        let a = &self.args;
        if a.groups > 1 || !a.channels_last() || self.base.pending_error.is_some() {
            return None;
        }
        if a.activation.fusable()? != Unary::Relu {
            return None;
        }
        let kernel = self.kernels.first()?;
        if let Err(e) = a.check_call_input(&self.base.name, x, a.built_channels(kernel)) {
            return Some(Err(e));
        }
        let bias = self.bias.as_ref().map(|b| b.value());
        let (s, d) = (arr(&a.strides), arr(&a.dilation_rate));
        let y = ops::conv2d_relu_maxpool2(x, kernel.value(), bias, s, d, a.same());
        Some(y.map_err(Error::from))
    }
}
