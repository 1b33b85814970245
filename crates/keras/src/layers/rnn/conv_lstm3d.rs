//! `ConvLSTM3D`: the LSTM whose input and recurrent transformations are 3-D convolutions.

use super::conv_lstm::conv_lstm_layer;

conv_lstm_layer!(
    /// 3-D convolutional LSTM (Keras `keras.layers.ConvLSTM3D`): inputs
    /// `(batch, time, d1, d2, d3, channels)` (or `(batch, time, channels, d1, d2, d3)` with
    /// `data_format("channels_first")`); outputs `(batch, [time,] n1, n2, n3, filters)`.
    /// Weights `conv_lstm3d/conv_lstm_cell/kernel (k1, k2, k3, channels, 4 * filters)`,
    /// `recurrent_kernel (k1, k2, k3, filters, 4 * filters)`, `bias (4 * filters)`.
    ///
    /// ```
    /// use keras::layers::{CallContext, ConvLSTM3D, Layer};
    /// use keras::Tensor;
    /// let mut l = ConvLSTM3D::new(2, [2, 2, 2]).padding("same");
    /// l.build(&[None, Some(3), Some(4), Some(4), Some(4), Some(1)]).unwrap();
    /// let y = l.call(&Tensor::ones(vec![1, 3, 4, 4, 4, 1]), &mut CallContext::new(false)).unwrap();
    /// assert_eq!(y.shape(), &[1, 4, 4, 4, 2]);
    /// ```
    ConvLSTM3D,
    3
);
