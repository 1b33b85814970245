//! Activation layers.

pub mod activation;
pub mod prelu;
pub mod relu;

pub use activation::Activation;
pub use prelu::{PReLU, Softmax};
pub use relu::{LeakyReLU, ReLU, ELU};
