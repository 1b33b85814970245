//! `GRU`: gates `z, r, h`, reset gate applied after (default) or before the recurrent matmul.

use super::base::{recurrent_layer, RecurrentKind};

recurrent_layer!(
    /// Gated Recurrent Unit (Keras `keras.layers.GRU`). With `reset_after=true` (default) the
    /// bias is `(2, 3u)` (input row, recurrent row) and
    /// `hh = tanh(x W_h + b_h + r * (h U_h + rb_h))`; `h_t = z*h_{t-1} + (1-z)*hh`.
    ///
    /// ```
    /// use keras::layers::{Layer, GRU};
    /// let mut gru = GRU::new(3);
    /// gru.build(&[None, Some(5), Some(4)]).unwrap();
    /// assert_eq!(gru.weights()[2].shape(), &[2, 9]);
    /// ```
    GRU,
    RecurrentKind::Gru
);

impl GRU {
    crate::layers::rnn::cell_rnn::recurrent_options! {
        /// Gate activation (default `"sigmoid"`).
        recurrent_activation,
        /// GRU convention: reset gate after (true, default, cuDNN-compatible) or before the
        /// recurrent matmul (bias `(3u,)`).
        reset_after in args,
    }
}
