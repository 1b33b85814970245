//! `Conv3DTranspose`: transposed 3-D convolution (the input-gradient of a convolution),
//! kernel `(kd, kh, kw, filters, in)`, channels-last or channels-first.

use keras_engine::ops::{self, Unary};

use crate::layers::convolutional::args::{arr, conv_layer, ConvForward};
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
    Conv3DTranspose, "Conv3DTranspose", "conv3d_transpose", Transpose, [usize; 3], 3;
    /// `filters` output channels, a `kernel_size` window, stride 1, `valid` padding.
    new
);

impl ConvForward for Conv3DTranspose {
    fn forward(&self, x: &Tensor, k: &[&Tensor], bias: Option<&Tensor>, act: Unary) -> Result<Tensor> {
        let a = &self.args;
        let op = a.output_padding.as_ref().map(|p| arr(p));
        Ok(ops::conv3d_transpose(x, k[0], bias, arr(&a.strides), arr(&a.dilation_rate), a.same(), op, act)?)
    }
}
