//! `LSTM`: gates `i, f, c, o` (kernel column blocks in that order).

use super::base::{recurrent_layer, RecurrentKind};

recurrent_layer!(
    /// Long Short-Term Memory layer (Keras `keras.layers.LSTM`): `c_t = f*c_{t-1} + i*tanh(..)`,
    /// `h_t = o*tanh(c_t)`. Weights `lstm/lstm_cell/kernel (features, 4u)`,
    /// `recurrent_kernel (u, 4u)`, `bias (4u)`; the whole sequence runs as one fused op.
    ///
    /// ```
    /// use keras::layers::{Embedding, Dense, LSTM};
    /// use keras::models::Sequential;
    /// let mut model = Sequential::new();
    /// model.add(Embedding::new(1000, 16).input_shape(&[20])).unwrap();
    /// model.add(LSTM::new(32)).unwrap();
    /// model.add(Dense::new(1).activation("sigmoid")).unwrap();
    /// assert_eq!(model.count_params(), 1000 * 16 + (16 * 128 + 32 * 128 + 128) + 33);
    /// ```
    LSTM,
    RecurrentKind::Lstm
);

impl LSTM {
    crate::layers::rnn::cell_rnn::recurrent_options! {
        /// Gate activation (default `"sigmoid"`).
        recurrent_activation,
        /// Initialize the forget-gate bias to ones (default true, as Keras).
        unit_forget_bias in args,
    }
}
