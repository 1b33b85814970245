//! Regularization layers: Dropout.

pub mod dropout;

pub use dropout::Dropout;
