//! `Conv1D`: 1-D convolution over sequences (the 2-D kernels with a height of 1), with
//! `valid`, `same` and `causal` padding and `groups`, channels-last or channels-first.

use keras_engine::ops::{self, Unary};

use crate::layers::convolutional::args::{conv_layer, ConvForward};
use crate::{keras_bail, Result, Tensor};

/// Padding of a 1-D convolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Padding1D {
    /// No padding.
    Valid,
    /// TensorFlow "same" (extra padding at the end).
    Same,
    /// Left padding of `dilation_rate * (kernel_size - 1)`: output `t` sees inputs `<= t`.
    Causal,
}

impl Padding1D {
    /// Parses `"valid"`, `"same"` or `"causal"` (case-insensitive, as Keras).
    pub fn parse(p: &str) -> Result<Self> {
        match p.to_lowercase().as_str() {
            "valid" => Ok(Padding1D::Valid),
            "same" => Ok(Padding1D::Same),
            "causal" => Ok(Padding1D::Causal),
            _ => keras_bail!(
                InvalidArgument,
                "The `padding` argument must be a list/tuple or one of {{\"valid\", \"same\", \"causal\"}}. Received: {p}"
            ),
        }
    }

    /// Parses a padding name: `"causal"` only where `causal`, else `"valid"` or `"same"`
    /// with Keras's `standardize_padding` error (the ConvLSTM layers).
    pub(crate) fn parse_for(p: &str, causal: bool) -> Result<Self> {
        match Padding1D::parse(p) {
            Ok(Padding1D::Causal) | Err(_) if !causal => keras_bail!(
                InvalidArgument,
                "The `padding` argument must be a list/tuple or one of {{'valid', 'same'}}. Received: {p}"
            ),
            parsed => parsed,
        }
    }

    /// The Keras name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Padding1D::Valid => "valid",
            Padding1D::Same => "same",
            Padding1D::Causal => "causal",
        }
    }
}

conv_layer!(
    /// 1-D convolution layer (Keras `keras.layers.Conv1D`), kernel
    /// `(kernel_size, in / groups, filters)` in either data format.
    ///
    /// ```
    /// use keras::layers::Conv1D;
    /// let conv = Conv1D::new(16, 3).padding("causal").dilation_rate(2).activation("relu");
    /// ```
    Conv1D, "Conv1D", "conv1d", Conv, usize, 1;
    /// `filters` output channels, a window of `kernel_size` steps, stride 1, `valid` padding.
    new
);

impl ConvForward for Conv1D {
    fn forward(&self, x: &Tensor, k: &[&Tensor], bias: Option<&Tensor>, act: Unary) -> Result<Tensor> {
        let a = &self.args;
        let [n, steps, c] = [x.shape()[0], x.shape()[1], x.shape()[2]];
        let filters = k[0].shape()[2];
        let k4 = k[0].reshape([1, a.kernel_size[0], c / a.groups, filters])?;
        let y = ops::conv2d_ext(
            &x.reshape([n, 1, steps, c])?,
            &k4,
            bias,
            a.strides_2d(),
            a.dilation_2d(),
            a.engine_padding(),
            a.groups,
            act,
        )?;
        let out = y.shape()[2];
        Ok(y.reshape([n, out, filters])?)
    }
}
