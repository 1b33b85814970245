//! Recurrent layers: SimpleRNN, LSTM, GRU (each a single fused engine op per sequence), the
//! generic RNN over the built-in cells (`rnn.rs`), and the Bidirectional and TimeDistributed
//! wrappers.
//!
//! Submodules:
//! - `base`: The machinery shared by `SimpleRNN`, `LSTM` and `GRU`
//! - `bidirectional`: `Bidirectional`
//! - `cell`: The cell of a recurrent layer (Keras `SimpleRNNCell` / `LSTMCell` / `GRUCell`)
//! - `gru`: `GRU`
//! - `lstm`: `LSTM`
//! - `rnn`: `RNN`
//! - `simple_rnn`: `SimpleRNN`
//! - `time_distributed`: `TimeDistributed`

pub mod base;
pub mod bidirectional;
pub mod cell;
pub mod gru;
pub mod lstm;
// Keras's own file name (`keras/src/layers/rnn/rnn.py`).
#[allow(clippy::module_inception)]
pub mod rnn;
pub mod simple_rnn;
pub mod time_distributed;

pub use base::{Recurrent, RecurrentKind};
pub use bidirectional::{Bidirectional, MergeMode};
pub use gru::GRU;
pub use lstm::LSTM;
pub use rnn::{GRUCell, LSTMCell, SimpleRNNCell, RNN};
pub use simple_rnn::SimpleRNN;
pub use time_distributed::TimeDistributed;

#[cfg(test)]
mod tests;
