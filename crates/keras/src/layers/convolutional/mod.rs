//! Convolution layers: Conv2D.

pub mod conv2d;

pub use conv2d::Conv2D;
