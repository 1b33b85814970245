//! The training loop (`keras/src/trainers`): compile state, `fit` / `evaluate` / `predict`,
//! the per-batch steps, data checks and batching, and the History they return.

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
pub use compile::{Compiled, IntoLoss, IntoOptimizer, LossValues, MetricArg};
pub use compile_args::{CompileArgs, LossArg, LossWeights, Losses, Metrics};
pub use data_adapter::{DataAdapter, SequenceAdapter, TensorAdapter};
pub use history::{History, Logs};
pub use network::Network;
pub use train_model::TrainModel;
pub use trainer::{minimize, ModelBatch};
