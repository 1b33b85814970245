//! Activation layers.

pub mod activation;
pub mod prelu;
pub mod relu;
pub mod softmax;

pub use activation::Activation;
pub use prelu::PReLU;
pub use relu::{LeakyReLU, ReLU, ELU};
pub use softmax::Softmax;
