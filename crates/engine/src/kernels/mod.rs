//! Raw CPU kernels on slices. Ops in [`crate::ops`] wrap them with shapes and gradients.

pub mod conv;
pub mod matmul;
pub mod pool;
