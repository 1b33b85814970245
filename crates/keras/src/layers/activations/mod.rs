//! Activation layers.

pub mod activation;

pub use activation::Activation;
