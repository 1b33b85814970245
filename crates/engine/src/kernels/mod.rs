//! Raw CPU kernels on slices. Ops in [`crate::ops`] wrap them with shapes and gradients.
//!
//! Submodules:
//! - `amx`: An `f32`-accurate GEMM on the AMX unit (operands split into three `bf16` pieces)
//! - `adam`: The Adam update of one variable, in place, in one multiversioned pass
//! - `conv`: 2D convolution on channels-last data
//! - `conv_direct`: Direct forward convolution for few input channels (no im2col)
//! - `conv_direct_grad`: A first layer's kernel and bias gradients under a fused ReLU, in one pass
//! - `conv_ext`: Convolution variants over the NHWC kernels of [`crate::kernels::conv`]
//! - `fresh`: Output buffers zero-filled piece by piece by the threads that then write them
//! - `matmul`: Row-major f32 matrix multiplication on the `gemm` crate
//! - `padding`: TensorFlow's "valid" / "same" padding arithmetic, shared by convolution and pooling
//! - `pool`: 2D max and average pooling on channels-last (NHWC) data
//! - `relu_bias_grad`: A fused ReLU's gradient and the bias gradient in one pass
//! - `row_grad`: The dense gradient of a row gather, in a buffer kept for the next step
//! - `sgemm`: The engine's own f32 GEMM (AVX-512 microkernel), used by `matmul` where it wins
//! - `simd`: Run-time CPU dispatch (baseline, AVX2, AVX-512) for the engine's own loops
//! - `transpose`: Cache-blocked transpose of a row-major f32 matrix
//! - `winograd`: Winograd F(4x4, 3x3) for 3x3, stride-1 convolutions

pub mod adam;
pub mod amx;
pub mod conv;
pub(crate) mod conv_direct;
pub mod conv_direct_grad;
pub mod conv_ext;
pub mod fresh;
pub mod matmul;
pub(crate) mod padding;
pub mod pool;
pub(crate) mod relu_bias_grad;
pub mod row_grad;
pub(crate) mod sgemm;
pub mod simd;
pub mod transpose;
pub mod winograd;
