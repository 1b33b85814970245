//! Differentiable ops on [`crate::Tensor`]. Layers call these, never the kernels. Each op runs
//! where its inputs live ([`crate::device`]): the CPU kernels in [`crate::kernels`], or, in a
//! build with the `cuda` feature, the CUDA backend for the ops it has (convolutions, matmul,
//! element-wise, reductions, softmax); an op without a CUDA path reads GPU inputs back to the
//! host and runs the CPU kernel. No other backend exists.
//!
//! Submodules:
//! - `activation_ops`: Non-element-wise activations of `keras.activations`
//! - `combine`: Differentiable ops that combine several tensors
//! - `conv`: Channels-last convolution and pooling ops (differentiable), over the NHWC kernels
//! - `conv3d`: 3-D convolution, transposed convolution and pooling over NDHWC volumes, composed from the 2-D kernels
//! - `conv_ext`: Convolution variants (differentiable)
//! - `dropout`: Inverted dropout with a one-byte keep mask and an in-place backward (the host path of `Dropout`)
//! - `einsum`: Batched matrix products and two-operand `einsum`, the contractions behind Keras's `Dot`, attention layers and `EinsumDense`
//! - `elementwise`: Element-wise ops
//! - `fused`: Device fast paths that the Keras layer, loss and optimizer code calls when its tensors live on a GPU
//! - `fused_types`: Parameter types of [`crate::ops::fused`], shared by the CUDA backend
//! - `inference`: Inference-only fused ops: a convolution with a folded BatchNormalization and an activation, a residual sum and its activation, each in one pass
//! - `layout`: Differentiable data-movement ops
//! - `linalg`: Matrix products
//! - `nn`: Neural-network ops
//! - `norm`: Normalization ops with fused forward/backward passes (batch and layer normalization), and mean/max reductions over several axes (global pooling)
//! - `reduce`: Reductions over axes
//! - `lstm`: the LSTM gate passes of `rnn`, compiled per instruction set
//! - `rnn`: Fused recurrent ops
//! - `special`: Special functions evaluated in f64
//! - `winograd_kernels` (private): the cache of Winograd-transformed convolution kernels

pub mod activation_ops;
pub mod combine;
pub mod conv;
pub mod conv3d;
pub mod conv_ext;
pub mod dropout;
pub mod einsum;
pub mod elementwise;
pub mod fused;
pub(crate) mod fused_types;
pub mod inference;
pub mod layout;
pub mod linalg;
pub(crate) mod lstm;
pub mod nn;
pub mod norm;
pub mod reduce;
pub mod rnn;
pub mod special;
mod winograd_kernels;

pub use activation_ops::{glu, sparsemax};
pub use combine::{concat, maximum, minimum};
pub use conv::{avg_pool2d, conv2d, conv2d_relu_maxpool2, max_pool2d};
pub use conv3d::{conv3d, conv3d_transpose, pool3d};
pub use conv_ext::{conv2d_ext, conv2d_transpose, conv_transpose_output_len, depthwise_conv2d, ConvPadding};
pub use dropout::{dropout_with_mask, keep_flags};
pub use einsum::{batch_matmul, einsum};
pub(crate) use elementwise::add_same_shape_consuming;
pub use elementwise::{add, broadcast_shapes, div, mul, scale, sub, sum_to_shape, unary, Unary};
pub use inference::{
    add_activation, conv2d_inference, conv2d_maxpool2_inference, depthwise_conv2d_inference, ChannelNorm,
    ConvEpilogue,
};
pub use layout::{pad, repeat, resize_bilinear, slice, transpose};
pub use linalg::{dense, matmul};
pub use nn::{log_softmax, softmax};
pub use norm::{batch_norm_inference, batch_norm_train, layer_norm, max_axes, mean_axes, normalize_axes};
pub use reduce::{argmax, mean_all, mean_axis, normalize_axis, sum_all, sum_axis};
pub use rnn::{rnn, RnnArgs, RnnCell, RnnInputs};
pub use special::{erf, erfc};
