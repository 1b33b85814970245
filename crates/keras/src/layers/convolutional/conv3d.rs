//! `Conv3D`: 3-D convolution over volumes `(batch, d, h, w, channels)` (or channels-first),
//! with `groups` (the engine's `conv3d`).

use keras_engine::ops::{self, Unary};

use crate::layers::convolutional::args::{arr, conv_layer, ConvForward};
use crate::{Result, Tensor};

conv_layer!(
    /// 3-D convolution layer (Keras `keras.layers.Conv3D`), kernel
    /// `(kd, kh, kw, in / groups, filters)` in either data format.
    ///
    /// ```
    /// use keras::layers::Conv3D;
    /// let conv = Conv3D::new(8, [3, 3, 3]).padding("same").activation("relu");
    /// ```
    Conv3D, "Conv3D", "conv3d", Conv, [usize; 3], 3;
    /// `filters` output channels, a `kernel_size` window, stride 1, `valid` padding.
    new
);

impl ConvForward for Conv3D {
    fn forward(&self, x: &Tensor, k: &[&Tensor], bias: Option<&Tensor>, act: Unary) -> Result<Tensor> {
        let a = &self.args;
        Ok(ops::conv3d(x, k[0], bias, arr(&a.strides), arr(&a.dilation_rate), a.same(), a.groups, act)?)
    }
}
