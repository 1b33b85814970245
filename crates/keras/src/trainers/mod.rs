//! The training loop (`keras/src/trainers`): compile state, `fit` / `evaluate` / `predict`,
//! the per-batch steps, data checks and batching, and the History they return.
//!
//! Submodules:
//! - `args`: Arguments of `fit`, `evaluate` and `predict`, as builders with Keras's defaults
//! - `arrays`: `Arrays`
//! - `compile`: `compile`
//! - `compile_args`: The arguments of `compile` for models with any number of outputs
//! - `data`: Checks on user data and batching, with Keras's error messages
//! - `data_adapter`: What the training loops iterate over
//! - `history`: `History`
//! - `network`: What the trainer needs from a model
//! - `step_graph`: Whole-step CUDA graphs
//! - `train_model`: What the training loops and callbacks need from a whole model (Keras `Model`)
//! - `trainer`: The loops behind `fit`, `evaluate`, `predict` and the `*_on_batch` steps, and the standard training and test steps (Keras `Trainer`), for models with any number of inputs and outputs

pub mod args;
pub mod arrays;
pub mod compile;
pub mod compile_args;
pub mod data;
pub mod data_adapter;
pub mod history;
pub mod network;
#[cfg(feature = "cuda")]
pub(crate) mod step_graph;
pub mod train_model;
pub mod trainer;

pub use args::{EvaluateArgs, FitArgs, PredictArgs};
pub use arrays::Arrays;
pub use compile::{Compiled, IntoLoss, IntoMetrics, IntoOptimizer, LossValues, MetricArg};
pub use compile_args::{CompileArgs, LossArg, LossWeights, Losses, Metrics};
pub use data_adapter::{DataAdapter, SequenceAdapter, TensorAdapter};
pub use history::{History, Logs};
pub use network::Network;
pub use train_model::TrainModel;
pub use trainer::{minimize, ModelBatch};
