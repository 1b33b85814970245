//! `Conv1DTranspose`: transposed 1-D convolution (the 2-D transposed kernels with a height
//! of 1), kernel `(k, filters, in)`, channels-last or channels-first.

use keras_engine::ops::{self, Unary};

use crate::layers::convolutional::args::{conv_layer, ConvForward};
use crate::{Result, Tensor};

conv_layer!(
    /// Transposed 1-D convolution layer (Keras `keras.layers.Conv1DTranspose`). Output steps:
    /// `in * stride + max(k - stride, 0)` for `valid`, `in * stride` for `same`, or
    /// `(in - 1) * stride + k - 2 * pad + output_padding` when `output_padding` is set.
    ///
    /// ```
    /// use keras::layers::Conv1DTranspose;
    /// let up = Conv1DTranspose::new(8, 3).strides(2).padding("same");
    /// ```
    Conv1DTranspose, "Conv1DTranspose", "conv1d_transpose", Transpose, usize, 1;
    /// `filters` output channels, a window of `kernel_size` steps, stride 1, `valid` padding.
    new
);

impl ConvForward for Conv1DTranspose {
    fn forward(&self, x: &Tensor, k: &[&Tensor], bias: Option<&Tensor>, act: Unary) -> Result<Tensor> {
        let a = &self.args;
        let [n, steps, c] = [x.shape()[0], x.shape()[1], x.shape()[2]];
        let filters = k[0].shape()[1];
        let y = ops::conv2d_transpose(
            &x.reshape([n, 1, steps, c])?,
            &k[0].reshape([1, a.kernel_size[0], filters, c])?,
            bias,
            a.strides_2d(),
            a.dilation_2d(),
            a.same(),
            // The unit height axis keeps its size: stride 1, kernel 1, no extra padding.
            a.output_padding.as_ref().map(|p| [0, p[0]]),
            act,
        )?;
        let out = y.shape()[2];
        Ok(y.reshape([n, out, filters])?)
    }
}
