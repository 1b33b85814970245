//! `ConvLSTM2D`: the LSTM whose input and recurrent transformations are 2-D convolutions.

use super::conv_lstm::conv_lstm_layer;

conv_lstm_layer!(
    /// 2-D convolutional LSTM (Keras `keras.layers.ConvLSTM2D`): inputs
    /// `(batch, time, rows, cols, channels)` (or `(batch, time, channels, rows, cols)` with
    /// `data_format("channels_first")`); outputs `(batch, [time,] new_rows, new_cols, filters)`.
    /// Weights `conv_lstm2d/conv_lstm_cell/kernel (kh, kw, channels, 4 * filters)`,
    /// `recurrent_kernel (kh, kw, filters, 4 * filters)`, `bias (4 * filters)`, gates
    /// `i, f, c, o`; the recurrent convolution pads `same` with stride 1.
    ///
    /// ```
    /// use keras::layers::{CallContext, ConvLSTM2D, Layer};
    /// use keras::Tensor;
    /// let mut l = ConvLSTM2D::new(4, [3, 3]).padding("same").return_sequences(true);
    /// l.build(&[None, Some(5), Some(8), Some(8), Some(2)]).unwrap();
    /// assert_eq!(l.count_params(), 3 * 3 * 2 * 16 + 3 * 3 * 4 * 16 + 16);
    /// let y = l.call(&Tensor::ones(vec![1, 5, 8, 8, 2]), &mut CallContext::new(false)).unwrap();
    /// assert_eq!(y.shape(), &[1, 5, 8, 8, 4]);
    /// ```
    ConvLSTM2D,
    2
);
