//! `Conv2DTranspose`: transposed 2-D convolution (the input-gradient of a convolution),
//! kernel `(kh, kw, filters, in)`, channels-last or channels-first.

use keras_engine::ops::{self, Unary};

use crate::layers::convolutional::args::{arr, conv_layer, ConvForward};
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
    Conv2DTranspose, "Conv2DTranspose", "conv2d_transpose", Transpose, [usize; 2], 2;
    /// `filters` output channels, a `kernel_size` window, stride 1, `valid` padding.
    new
);

impl ConvForward for Conv2DTranspose {
    fn forward(&self, x: &Tensor, k: &[&Tensor], bias: Option<&Tensor>, act: Unary) -> Result<Tensor> {
        let a = &self.args;
        let op = a.output_padding.as_ref().map(|p| arr(p));
        Ok(ops::conv2d_transpose(x, k[0], bias, arr(&a.strides), arr(&a.dilation_rate), a.same(), op, act)?)
    }
}
