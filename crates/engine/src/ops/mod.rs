//! Differentiable ops on [`crate::Tensor`]. Layers call these, never the kernels. Each op runs
//! where its inputs live ([`crate::device`]): the CPU kernels in [`crate::kernels`], or, in a
//! build with the `cuda` feature, the CUDA backend for the ops it has (convolutions, matmul,
//! element-wise, reductions, softmax); an op without a CUDA path reads GPU inputs back to the
//! host and runs the CPU kernel. No other backend exists.

pub mod activation_ops;
pub mod combine;
pub mod conv;
pub mod conv3d;
pub mod conv_ext;
pub mod einsum;
pub mod elementwise;
pub mod fused;
pub(crate) mod fused_types;
pub mod layout;
pub mod linalg;
pub mod nn;
pub mod norm;
pub mod reduce;
pub mod rnn;
pub mod special;

pub use activation_ops::{glu, sparsemax};
pub use combine::{concat, maximum, minimum};
pub use conv::{avg_pool2d, conv2d, max_pool2d};
pub use conv3d::{conv3d, conv3d_transpose, pool3d};
pub use conv_ext::{conv2d_ext, conv2d_transpose, conv_transpose_output_len, depthwise_conv2d, ConvPadding};
pub use einsum::{batch_matmul, einsum};
pub(crate) use elementwise::add_same_shape_consuming;
pub use elementwise::{add, broadcast_shapes, div, mul, scale, sub, sum_to_shape, unary, Unary};
pub use layout::{pad, repeat, resize_bilinear, slice, transpose};
pub use linalg::{dense, matmul};
pub use nn::{log_softmax, softmax};
pub use norm::{batch_norm_inference, batch_norm_train, layer_norm, max_axes, mean_axes, normalize_axes};
pub use reduce::{argmax, mean_all, mean_axis, normalize_axis, sum_all, sum_axis};
pub use rnn::{rnn, RnnCell, RnnInputs, RnnOptions};
pub use special::{erf, erfc};
