//! The engine (keras-tuner `engine`): hyperparameters, objectives, metrics, trials, the
//! oracle and the tuner.
//!
//! Submodules:
//! - `conditions`: Conditions that make a hyperparameter active (keras-tuner `conditions.Parent`)
//! - `display`: What keras-tuner prints while it searches (keras-tuner `oracle.Display`)
//! - `hypermodel`: `HyperModel` (keras-tuner `engine.hypermodel`)
//! - `hyperparameters`: `HyperParameters` (keras-tuner `engine.hyperparameters`)
//! - `metrics_tracking`: Metric histories of a trial (keras-tuner `metrics_tracking`)
//! - `objective`: What a search optimises (keras-tuner `engine.objective`)
//! - `oracle`: The oracle (keras-tuner `engine.oracle.Oracle`)
//! - `search_args`: `SearchArgs`
//! - `trial`: `Trial` (keras-tuner `engine.trial`)
//! - `tuner`: The tuner (keras-tuner `engine.base_tuner.BaseTuner` and `engine.tuner.Tuner`)
//! - `tuner_utils`: Helpers of the Keras tuner (keras-tuner `engine.tuner_utils`)

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
