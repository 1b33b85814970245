//! Convolution layers: Conv1D, Conv2D (with groups), Conv1DTranspose, Conv2DTranspose,
//! DepthwiseConv1D, DepthwiseConv2D, SeparableConv1D, SeparableConv2D, Conv3D, Conv3DTranspose.
//!
//! Submodules:
//! - `common`: Helpers shared by the convolution layers
//! - `conv1d`: `Conv1D`
//! - `conv1d_transpose`: `Conv1DTranspose`
//! - `conv2d`: `Conv2D`
//! - `conv2d_transpose`: `Conv2DTranspose`
//! - `conv3d`: `Conv3D`
//! - `conv3d_transpose`: `Conv3DTranspose`
//! - `depthwise_conv1d`: `DepthwiseConv1D`
//! - `depthwise_conv2d`: `DepthwiseConv2D`
//! - `separable_conv1d`: `SeparableConv1D`
//! - `separable_conv2d`: `SeparableConv2D`

pub(crate) mod args;
#[cfg(test)]
mod channels_first_tests;
pub(crate) mod common;
pub mod conv1d;
pub mod conv1d_transpose;
pub mod conv2d;
pub mod conv2d_transpose;
pub mod conv3d;
pub mod conv3d_transpose;
pub mod depthwise_conv1d;
pub mod depthwise_conv2d;
pub mod separable_conv1d;
pub mod separable_conv2d;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod weight_args_tests;

pub use conv1d::{Conv1D, Padding1D};
pub use conv1d_transpose::Conv1DTranspose;
pub use conv2d::Conv2D;
pub use conv2d_transpose::Conv2DTranspose;
pub use conv3d::Conv3D;
pub use conv3d_transpose::Conv3DTranspose;
pub use depthwise_conv1d::DepthwiseConv1D;
pub use depthwise_conv2d::DepthwiseConv2D;
pub use separable_conv1d::SeparableConv1D;
pub use separable_conv2d::SeparableConv2D;
