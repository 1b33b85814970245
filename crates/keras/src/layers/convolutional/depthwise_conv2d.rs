//! `DepthwiseConv2D`: one filter bank per input channel, kernel `(kh, kw, in, depth_multiplier)`, output
//! channel `c * depth_multiplier + m`, channels-last or channels-first.

use keras_engine::ops::{self, Unary};

use crate::layers::convolutional::args::{conv_layer, fused_inference_methods, ConvForward};
use crate::{Result, Tensor};

conv_layer!(
    /// Depthwise 2-D convolution layer (Keras `keras.layers.DepthwiseConv2D`).
    ///
    /// ```
    /// use keras::layers::DepthwiseConv2D;
    /// let dw = DepthwiseConv2D::new([3, 3]).depth_multiplier(2).padding("same");
    /// ```
    DepthwiseConv2D, "DepthwiseConv2D", "depthwise_conv2d", Depthwise, [usize; 2], 2;
    /// A `kernel_size` window, depth multiplier 1, stride 1, `valid` padding.
    new
);

impl ConvForward for DepthwiseConv2D {
    fn forward(&self, x: &Tensor, k: &[&Tensor], bias: Option<&Tensor>, act: Unary) -> Result<Tensor> {
        self.args.depthwise(x, k[0], bias, act)
    }
}

impl DepthwiseConv2D {
    fused_inference_methods!(ops::depthwise_conv2d_inference);
}
