//! # keras-rs
//!
//! The Keras deep-learning API in pure Rust: the same layers, optimizers, losses, metrics,
//! `compile` / `fit` / `evaluate` / `predict`, the same names, defaults and numerics.
//!
//! ```
//! use keras::layers::{Dense, Input};
//! use keras::models::Sequential;
//! use keras::Tensor;
//!
//! keras::utils::set_random_seed(0);
//! let mut model = Sequential::new();
//! model.add(Input::new(&[4])).unwrap();
//! model.add(Dense::new(8).activation("relu")).unwrap();
//! model.add(Dense::new(3).activation("softmax")).unwrap();
//! model.compile("adam", "sparse_categorical_crossentropy", &["accuracy"]).unwrap();
//!
//! let x = Tensor::new(vec![0.1; 32 * 4], [32, 4]).unwrap();
//! let y = Tensor::from_i32(vec![1; 32], [32]).unwrap();
//! let history = model.fit(&x, &y, keras::FitArgs::default().epochs(2).verbose(0)).unwrap();
//! assert_eq!(history.history["loss"].len(), 2);
//! ```
//!
//! Submodules:
//! - `activations`: Keras activation functions (`keras.activations`), by object or by their Keras string names
//! - `applications`: `keras.applications`
//! - `backend`: Session state
//! - `callbacks`: Callbacks (`keras.callbacks`)
//! - `config`: Process-wide settings (Keras `keras.config`)
//! - `constraints`: Weight constraints (`keras.constraints`)
//! - `datasets`: Small real datasets shipped with keras-rs (`keras.datasets`), read from the IDX and text files in the crate's `data/` folder (or the folder in `KERAS_DATASETS_DIR`)
//! - `error`: The one error type of keras-rs
//! - `initializers`: Weight initializers (`keras.initializers`) with Keras's fan rules and distributions
//! - `layers`: Keras layers, laid out as `keras/src/layers`
//! - `losses`: Losses (`keras.losses`)
//! - `metrics`: Metrics (`keras.metrics`)
//! - `optimizers`: Optimizers (`keras.optimizers`), by object or by the strings `compile` accepts
//! - `preprocessing`: Data preprocessing before `fit`, laid out as Keras's `keras.preprocessing` (and the legacy `keras._legacy.preprocessing` tools)
//! - `regularizers`: Weight and activity regularizers (`keras.regularizers`)
//! - `saving`: Saving and loading models (`keras.saving`), in every format Keras reads and writes
//! - `utils`: Utilities
//! - `models`: Models
//! - `trainers`: The training loop (`keras/src/trainers`)

#![warn(missing_docs)]

pub mod activations;
pub mod applications;
pub mod backend;
pub mod callbacks;
pub mod config;
pub mod constraints;
pub mod datasets;
pub mod error;
pub mod initializers;
pub mod layers;
pub mod losses;
pub mod metrics;
pub mod optimizers;
pub mod preprocessing;
pub mod regularizers;
pub mod saving;
mod setters;
#[cfg(test)]
mod test_util;
pub mod utils;

pub use error::{Error, Result};
pub use keras_engine::{io, DType, GradientTape, Tensor};

/// Tensor operations (`keras.ops`): the engine's differentiable ops, plus the sequence ops
/// that live with the Keras API (`ctc_loss`, `ctc_decode`, `stft`, `rfft`).
pub mod ops {
    pub use crate::layers::preprocessing::signal::{rfft, stft};
    pub use crate::losses::{ctc_decode, ctc_loss, CtcDecodeArgs, CtcStrategy};
    pub use keras_engine::ops::*;
}
pub mod models;
pub mod trainers;

pub use models::{Input, KerasTensor, Model};
pub use trainers::{EvaluateArgs, FitArgs, History, Logs, PredictArgs};
