//! Activation layers.
//!
//! Submodules:
//! - `activation`: `Activation`
//! - `prelu`: `PReLU`
//! - `relu`: `ReLU`, `LeakyReLU` and `ELU` layers
//! - `softmax`: `Softmax` as a layer

pub mod activation;
pub mod prelu;
pub mod relu;
pub mod softmax;

pub use activation::Activation;
pub use prelu::PReLU;
pub use relu::{LeakyReLU, ReLU, ELU};
pub use softmax::Softmax;
