//! `DepthwiseConv1D`: one filter bank per input channel, kernel `(kernel_size, in, depth_multiplier)`, output
//! channel `c * depth_multiplier + m`, channels-last or channels-first.

use keras_engine::ops::Unary;

use crate::layers::convolutional::args::{conv_layer, ConvForward};
use crate::{Result, Tensor};

conv_layer!(
    /// Depthwise 1-D convolution layer (Keras `keras.layers.DepthwiseConv1D`).
    ///
    /// ```
    /// use keras::layers::DepthwiseConv1D;
    /// let dw = DepthwiseConv1D::new(3).depth_multiplier(2).padding("same");
    /// ```
    DepthwiseConv1D, "DepthwiseConv1D", "depthwise_conv1d", Depthwise, usize, 1;
    /// A window of `kernel_size` steps, depth multiplier 1, stride 1, `valid` padding.
    new
);

impl ConvForward for DepthwiseConv1D {
    fn forward(&self, x: &Tensor, k: &[&Tensor], bias: Option<&Tensor>, act: Unary) -> Result<Tensor> {
        self.args.depthwise(x, k[0], bias, act)
    }
}
