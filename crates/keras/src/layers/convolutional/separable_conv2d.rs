//! `SeparableConv2D`: a depthwise 2-D convolution followed by a pointwise (size 1)
//! convolution, channels-last or channels-first. Weights `depthwise_kernel (kh, kw, in, depth_multiplier)`,
//! `pointwise_kernel (1, 1, in * depth_multiplier, filters)`,
//! `bias (filters)`.

use keras_engine::ops::{self, Unary};

use crate::layers::convolutional::args::{conv_layer, ConvForward};
use crate::{Result, Tensor};

conv_layer!(
    /// Depthwise-separable 2-D convolution layer (Keras `keras.layers.SeparableConv2D`).
    ///
    /// ```
    /// use keras::layers::SeparableConv2D;
    /// let sep = SeparableConv2D::new(32, [3, 3]).padding("same").activation("relu");
    /// ```
    SeparableConv2D, "SeparableConv2D", "separable_conv2d", Separable, [usize; 2], 2;
    /// `filters` output channels, a `kernel_size` depthwise window, depth multiplier 1, stride 1, `valid`
    /// padding.
    new
);

impl ConvForward for SeparableConv2D {
    fn forward(&self, x: &Tensor, k: &[&Tensor], bias: Option<&Tensor>, act: Unary) -> Result<Tensor> {
        let mid = self.args.depthwise(x, k[0], None, Unary::Linear)?;
        Ok(ops::conv2d(&mid, k[1], bias, [1, 1], [1, 1], false, act)?)
    }
}
