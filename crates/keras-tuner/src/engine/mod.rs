//! The engine (keras-tuner `engine`): hyperparameters, objectives, metrics, trials, the
//! oracle and the tuner.

pub mod conditions;
pub mod display;
pub mod hypermodel;
pub mod hyperparameters;
pub mod metrics_tracking;
pub mod objective;
pub mod oracle;
pub mod search_args;
pub mod trial;
pub mod tuner;
pub mod tuner_utils;
