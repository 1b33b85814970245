//! `Conv3DTranspose`: transposed 3-D convolution (the input-gradient of a convolution),
//! kernel `(kd, kh, kw, filters, in)`, channels-last or channels-first.

use keras_engine::ops::{self, Unary};

use crate::layers::convolutional::args::{arr, conv_arg_builders, conv_layer, ConvArgs, ConvForward, Family};
use crate::{Result, Tensor};

conv_layer!(
    /// Transposed 3-D convolution layer (Keras `keras.layers.Conv3DTranspose`). Output size per
    /// axis: `in * stride + max(k - stride, 0)` for `valid`, `in * stride` for `same`, or
    /// `(in - 1) * stride + k - 2 * pad + output_padding` when `output_padding` is set.
    ///
    /// ```
    /// use keras::layers::Conv3DTranspose;
    /// let up = Conv3DTranspose::new(4, [3, 3, 3]).strides([2, 2, 2]).padding("same");
    /// ```
    Conv3DTranspose, "Conv3DTranspose", "conv3d_transpose", Family::Transpose, 3
);

impl Conv3DTranspose {
    /// `filters` output channels, a `kernel_size` window, stride 1, `valid` padding.
    pub fn new(filters: usize, kernel_size: [usize; 3]) -> Self {
        Conv3DTranspose::with_args(ConvArgs::new(Family::Transpose, filters, kernel_size.to_vec())).check()
    }

    conv_arg_builders!([usize; 3]);
    conv_arg_builders!(@output_padding [usize; 3]);
    conv_arg_builders!(@weight 0, "kernel", kernel_initializer, kernel_regularizer, kernel_constraint);
}

impl ConvForward for Conv3DTranspose {
    fn forward(&self, x: &Tensor, k: &[&Tensor], bias: Option<&Tensor>, act: Unary) -> Result<Tensor> {
        let a = &self.args;
        let op = a.output_padding.as_ref().map(|p| arr(p));
        Ok(ops::conv3d_transpose(x, k[0], bias, arr(&a.strides), arr(&a.dilation_rate), a.same(), op, act)?)
    }
}
