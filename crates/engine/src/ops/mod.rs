//! Differentiable ops on [`crate::Tensor`]. Layers call these, never the kernels, so another
//! backend can slot in behind the same functions.

pub mod conv;
pub mod elementwise;
pub mod linalg;
pub mod nn;
pub mod reduce;

pub use conv::{avg_pool2d, conv2d, max_pool2d};
pub(crate) use elementwise::add_same_shape_consuming;
pub use elementwise::{add, broadcast_shapes, div, mul, scale, sub, sum_to_shape, unary, Unary};
pub use linalg::{dense, matmul};
pub use nn::{log_softmax, softmax};
pub use reduce::{argmax, mean_all, mean_axis, normalize_axis, sum_all, sum_axis};
