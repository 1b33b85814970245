//! `ConvLSTM1D`: the LSTM whose input and recurrent transformations are 1-D convolutions.

use super::conv_lstm::conv_lstm_layer;

conv_lstm_layer!(
    /// 1-D convolutional LSTM (Keras `keras.layers.ConvLSTM1D`): inputs
    /// `(batch, time, steps, channels)` (or `(batch, time, channels, steps)` with
    /// `data_format("channels_first")`); outputs `(batch, [time,] new_steps, filters)`.
    /// Weights `conv_lstm1d/conv_lstm_cell/kernel (k, channels, 4 * filters)`,
    /// `recurrent_kernel (k, filters, 4 * filters)`, `bias (4 * filters)`.
    ///
    /// ```
    /// use keras::layers::{CallContext, ConvLSTM1D, Layer};
    /// use keras::Tensor;
    /// let mut l = ConvLSTM1D::new(3, [2]);
    /// l.build(&[None, Some(4), Some(6), Some(2)]).unwrap();
    /// let y = l.call(&Tensor::ones(vec![2, 4, 6, 2]), &mut CallContext::new(false)).unwrap();
    /// assert_eq!(y.shape(), &[2, 5, 3]);
    /// ```
    ConvLSTM1D,
    1
);
