//! Recurrent layers: SimpleRNN, LSTM, GRU (each a single fused engine op per sequence), the
//! convolutional LSTMs (ConvLSTM1D/2D/3D, stepped with the engine's convolutions), the
//! generic RNN over any cell (`rnn.rs`; built-in, stacked or user-written cells, the
//! [`RnnCell`] trait, stepped by `cell_rnn.rs`), and the Bidirectional and TimeDistributed
//! wrappers.
//!
//! Submodules:
//! - `base`: The machinery shared by `SimpleRNN`, `LSTM` and `GRU`
//! - `bidirectional`: `Bidirectional`
//! - `cell`: The cell of a recurrent layer (Keras `SimpleRNNCell` / `LSTMCell` / `GRUCell`)
//! - `conv_lstm`: The machinery shared by the ConvLSTM layers (Keras's `ConvLSTM` base)
//! - `conv_lstm_cell`: `ConvLSTMCell`, one convolutional LSTM step
//! - `conv_lstm1d`, `conv_lstm2d`, `conv_lstm3d`: `ConvLSTM1D`, `ConvLSTM2D`, `ConvLSTM3D`
//! - `gru`: `GRU`
//! - `lstm`: `LSTM`
//! - `rnn`: `RNN`
//! - `simple_rnn`: `SimpleRNN`
//! - `time_distributed`: `TimeDistributed`

pub mod base;
pub mod bidirectional;
pub mod cell;
pub(crate) mod cell_rnn;
pub mod conv_lstm;
pub mod conv_lstm1d;
pub mod conv_lstm2d;
pub mod conv_lstm3d;
pub mod conv_lstm_cell;
pub mod gru;
pub mod lstm;
// Keras's own file name (`keras/src/layers/rnn/rnn.py`).
#[allow(clippy::module_inception)]
pub mod rnn;
pub mod rnn_cell;
pub mod simple_rnn;
pub mod stacked_rnn_cells;
pub mod time_distributed;

pub use base::{Recurrent, RecurrentKind};
pub use bidirectional::{Bidirectional, MergeMode};
pub use conv_lstm::ConvLSTM;
pub use conv_lstm1d::ConvLSTM1D;
pub use conv_lstm2d::ConvLSTM2D;
pub use conv_lstm3d::ConvLSTM3D;
pub use conv_lstm_cell::ConvLSTMCell;
pub use gru::GRU;
pub use lstm::LSTM;
pub use rnn::{GRUCell, LSTMCell, RnnCellArg, SimpleRNNCell, RNN};
pub use rnn_cell::{deserialize_cell, RnnCell};
pub use simple_rnn::SimpleRNN;
pub use stacked_rnn_cells::StackedRNNCells;
pub use time_distributed::TimeDistributed;

#[cfg(test)]
mod tests;
