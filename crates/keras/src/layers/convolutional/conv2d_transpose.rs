//! `Conv2DTranspose`: transposed 2-D convolution (the input-gradient of a convolution),
//! kernel `(kh, kw, filters, in)`, channels-last or channels-first.

use keras_engine::ops::{self, Unary};

use crate::layers::convolutional::args::{arr, conv_arg_builders, conv_layer, ConvArgs, ConvForward, Family};
use crate::{Result, Tensor};

conv_layer!(
    /// Transposed 2-D convolution layer (Keras `keras.layers.Conv2DTranspose`). Output size per
    /// axis: `in * stride + max(k - stride, 0)` for `valid`, `in * stride` for `same`, or
    /// `(in - 1) * stride + k - 2 * pad + output_padding` when `output_padding` is set.
    ///
    /// ```
    /// use keras::layers::Conv2DTranspose;
    /// let up = Conv2DTranspose::new(8, [3, 3]).strides([2, 2]).padding("same");
    /// ```
    Conv2DTranspose, "Conv2DTranspose", "conv2d_transpose", Family::Transpose, 2
);

impl Conv2DTranspose {
    /// `filters` output channels, a `kernel_size` window, stride 1, `valid` padding.
    pub fn new(filters: usize, kernel_size: [usize; 2]) -> Self {
        Conv2DTranspose::with_args(ConvArgs::new(Family::Transpose, filters, kernel_size.to_vec())).check()
    }

    conv_arg_builders!([usize; 2]);
    conv_arg_builders!(@output_padding [usize; 2]);
    conv_arg_builders!(@weight 0, "kernel", kernel_initializer, kernel_regularizer, kernel_constraint);
}

impl ConvForward for Conv2DTranspose {
    fn forward(&self, x: &Tensor, k: &[&Tensor], bias: Option<&Tensor>, act: Unary) -> Result<Tensor> {
        let a = &self.args;
        let op = a.output_padding.as_ref().map(|p| arr(p));
        Ok(ops::conv2d_transpose(x, k[0], bias, arr(&a.strides), arr(&a.dilation_rate), a.same(), op, act)?)
    }
}
