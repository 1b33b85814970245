//! Raw CPU kernels on slices. Ops in [`crate::ops`] wrap them with shapes and gradients.

pub mod matmul;
