//! # keras-engine
//!
//! The tensor engine under keras-rs: a channels-last, f32-compute [`Tensor`], CPU kernels on
//! `gemm` + `rayon`, reverse-mode autodiff over coarse fused ops ([`GradientTape`]) and a
//! seeded RNG. It knows nothing about Keras.
//!
//! ```
//! use keras_engine::{ops, GradientTape, Tensor};
//! let x = Tensor::new(vec![1.0, 2.0, 3.0, 4.0], [2, 2]).unwrap();
//! let w = Tensor::new(vec![0.5, -1.0, 2.0, 0.0], [2, 2]).unwrap().requiring_grad();
//! let tape = GradientTape::new();
//! let y = ops::dense(&x, &w, None, ops::Unary::Relu).unwrap();
//! let loss = ops::sum_all(&y).unwrap();
//! let grads = tape.gradient(&loss, &[&w]).unwrap();
//! assert_eq!(grads[0].as_ref().unwrap().shape(), &[2, 2]);
//! ```
//!
//! Submodules:
//! - `alloc`: Size checks and fallible allocation for buffers whose size comes from user input
//! - `autodiff`: Reverse-mode automatic differentiation over coarse ops
//! - `cuda`: The CUDA backend (cargo feature `cuda`)
//! - `device`: Devices
//! - `dtype`: Element types
//! - `error`: The engine's error type
//! - `io`: Array file formats
//! - `kernels`: Raw CPU kernels on slices
//! - `ops`: Differentiable ops on [`crate::Tensor`]
//! - `parallel`: The engine's single rayon pool and its size
//! - `rng`: Seeded random numbers
//! - `tensor`: The [`Tensor`]
//! - `testing`: Test helpers: gradient checks against central finite differences

#![warn(missing_docs)]

pub mod alloc;
pub mod autodiff;
#[cfg(feature = "cuda")]
pub mod cuda;
pub mod device;
pub mod dtype;
pub mod error;
pub mod io;
pub mod kernels;
pub mod ops;
pub mod parallel;
pub mod rng;
pub mod tensor;
pub mod testing;

pub use autodiff::{BackwardFn, GradientTape};
pub use device::Device;
pub use dtype::DType;
pub use error::{EngineError, Result};
pub use rng::{set_random_seed, with_global_rng, Rng};
pub use tensor::{LogitsKind, Storage, Tensor, TensorId};
