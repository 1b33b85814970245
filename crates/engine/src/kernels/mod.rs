//! Raw CPU kernels on slices. Ops in [`crate::ops`] wrap them with shapes and gradients.

pub mod conv;
pub mod conv_ext;
pub mod matmul;
pub(crate) mod padding;
pub mod pool;
