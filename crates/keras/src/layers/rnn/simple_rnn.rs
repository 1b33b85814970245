//! `SimpleRNN`: `h_t = activation(x_t W + h_{t-1} U + b)`.

use super::base::{recurrent_layer, RecurrentKind};

recurrent_layer!(
    /// Fully-connected RNN where the output is fed back to the input (Keras
    /// `keras.layers.SimpleRNN`). Weights `simple_rnn/simple_rnn_cell/{kernel, recurrent_kernel, bias}`.
    ///
    /// ```
    /// use keras::layers::{Layer, SimpleRNN};
    /// let mut rnn = SimpleRNN::new(4).return_sequences(true);
    /// rnn.build(&[None, Some(10), Some(8)]).unwrap();
    /// assert_eq!(rnn.compute_output_shape(&[None, Some(10), Some(8)]).unwrap(), vec![None, Some(10), Some(4)]);
    /// ```
    SimpleRNN,
    RecurrentKind::SimpleRnn
);
