//! Convolution layers: Conv1D, Conv2D (with groups), Conv2DTranspose, DepthwiseConv2D,
//! SeparableConv2D.

pub(crate) mod common;
pub mod conv1d;
pub mod conv2d;
pub mod conv2d_transpose;
pub mod depthwise_conv2d;
pub mod separable_conv2d;
#[cfg(test)]
mod tests;

pub use conv1d::{Conv1D, Padding1D};
pub use conv2d::Conv2D;
pub use conv2d_transpose::Conv2DTranspose;
pub use depthwise_conv2d::DepthwiseConv2D;
pub use separable_conv2d::SeparableConv2D;
