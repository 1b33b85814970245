//! # keras-tuner
//!
//! Hyperparameter search for keras-rs models, with keras-tuner 1.4's API, semantics and
//! project layout: [`RandomSearch`], [`GridSearch`], [`BayesianOptimization`] (a Gaussian
//! process with a Matérn 5/2 kernel and an upper-confidence-bound acquisition) and
//! [`Hyperband`]. A search lives in `directory/project_name` (`oracle.json`,
//! `trial_<id>/trial.json`, `trial_<id>/checkpoint.weights.h5`), written atomically: a search
//! killed at any point resumes when the same program runs again, and Python keras-tuner can
//! reload the project.
//!
//! ```no_run
//! use keras::layers::{Dense, Input};
//! use keras::models::Sequential;
//! use keras::Tensor;
//! use keras_tuner::{HyperParameters, RandomSearch, SearchArgs};
//!
//! let build = |hp: &mut HyperParameters| -> keras_tuner::Result<Sequential> {
//!     let mut model = Sequential::new();
//!     model.add(Input::new(&[4]))?;
//!     let units = hp.int("units", 8, 64).step(8).value()?;
//!     model.add(Dense::new(units as usize).activation("relu"))?;
//!     model.add(Dense::new(3).activation("softmax"))?;
//!     let lr = hp.float("learning_rate", 1e-4, 1e-2).sampling("log").value()?;
//!     model.compile(keras::optimizers::Adam::new().learning_rate(lr as f32), "sparse_categorical_crossentropy", &["accuracy"])?;
//!     Ok(model)
//! };
//! let tuner = RandomSearch::new(build)
//!     .objective("val_accuracy")
//!     .max_trials(10)
//!     .seed(1)
//!     .directory("tuning")
//!     .project_name("iris")
//!     .build()?;
//! tuner.search_space_summary();
//! # let (x, y) = (Tensor::new(vec![0.0; 40], [10, 4]).unwrap(), Tensor::from_i32(vec![0; 10], [10]).unwrap());
//! tuner.search(&x, &y, SearchArgs::default().epochs(20).validation_split(0.2))?;
//! tuner.results_summary(3);
//! let best = tuner.get_best_models(1)?;
//! # let _ = best;
//! # Ok::<(), keras_tuner::Error>(())
//! ```
//!
//! Submodules:
//! - `engine`: The engine (keras-tuner `engine`)
//! - `error`: The error type of keras-tuner
//! - `from_impls`: `From` conversions into the crate's enums, one line each
//! - `json`: JSON as Python's `json` module reads and writes it, because keras-tuner's project files (`oracle.json`, `trial.json`) are written by `json.dumps` and must round-trip with it
//! - `model`: What the tuner needs from a model, and the only place that names concrete keras model types
//! - `tensorboard`: TensorBoard's HParams plugin data for each trial, as keras-tuner writes it with `hparams_api.KerasCallback`
//! - `tuners`: The four tuners (keras-tuner `tuners`)
//! - `utils`: Small pieces keras-tuner takes from Python's standard library, reproduced exactly so our projects and Python's are interchangeable

#![warn(missing_docs)]

pub mod engine;
pub mod error;
mod from_impls;
pub mod json;
pub mod model;
mod setters;
pub mod tensorboard;
pub mod tuners;
pub mod utils;

pub use engine::hypermodel::{FitResult, HyperModel};
pub use engine::hyperparameters::{HpValue, HyperParameter, HyperParameters, Sampling, Values};
pub use engine::objective::{Direction, Objective, ObjectiveArg};
pub use engine::oracle::{Algorithm, Oracle, OracleCore, Populate};
pub use engine::search_args::SearchArgs;
pub use engine::trial::{Trial, TrialStatus};
pub use engine::tuner::Tuner;
pub use error::{Error, Result};
pub use model::TunableModel;
pub use tuners::bayesian::BayesianOptimization;
pub use tuners::gridsearch::GridSearch;
pub use tuners::hyperband::Hyperband;
pub use tuners::randomsearch::RandomSearch;
