//! `SeparableConv1D`: a depthwise 1-D convolution followed by a pointwise (size 1)
//! convolution, channels-last or channels-first. Weights `depthwise_kernel (k, in, depth_multiplier)`,
//! `pointwise_kernel (1, in * depth_multiplier, filters)`,
//! `bias (filters)`.

use keras_engine::ops::{self, Unary};

use crate::layers::convolutional::args::{conv_layer, ConvForward};
use crate::{Result, Tensor};

conv_layer!(
    /// Depthwise-separable 1-D convolution layer (Keras `keras.layers.SeparableConv1D`).
    ///
    /// ```
    /// use keras::layers::SeparableConv1D;
    /// let sep = SeparableConv1D::new(32, 3).padding("same").activation("relu");
    /// ```
    SeparableConv1D, "SeparableConv1D", "separable_conv1d", Separable, usize, 1;
    /// `filters` output channels, a depthwise window of `kernel_size` steps, depth multiplier 1, stride 1, `valid`
    /// padding.
    new
);

impl ConvForward for SeparableConv1D {
    fn forward(&self, x: &Tensor, k: &[&Tensor], bias: Option<&Tensor>, act: Unary) -> Result<Tensor> {
        let mid = self.args.depthwise(x, k[0], None, Unary::Linear)?;
        let [n, steps, cm] = [mid.shape()[0], mid.shape()[1], mid.shape()[2]];
        let filters = k[1].shape()[2];
        let y = ops::conv2d(
            &mid.reshape([n, 1, steps, cm])?,
            &k[1].reshape([1, 1, cm, filters])?,
            bias,
            [1, 1],
            [1, 1],
            false,
            act,
        )?;
        Ok(y.reshape([n, steps, filters])?)
    }
}
