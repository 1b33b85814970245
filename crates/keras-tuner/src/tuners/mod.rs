//! The four tuners (keras-tuner `tuners`): each is a builder with keras-tuner's arguments
//! that makes a [`Tuner`](crate::Tuner) with its search algorithm.
//!
//! Submodules:
//! - `bayesian`: Bayesian optimization (keras-tuner `BayesianOptimization`)
//! - `gridsearch`: Grid search (keras-tuner `GridSearch`)
//! - `hyperband`: Hyperband (keras-tuner `Hyperband` / `HyperbandOracle`; Li et al., JMLR 2018)
//! - `randomsearch`: Random search (keras-tuner `RandomSearch`)

pub mod bayesian;
pub mod gridsearch;
pub mod hyperband;
pub mod randomsearch;

use crate::engine::hyperparameters::HyperParameters;
use crate::engine::objective::{Objective, ObjectiveArg};
use crate::engine::oracle::OracleArgs;
use crate::engine::tuner::TunerArgs;
use crate::error::Result;

/// The arguments every tuner takes.
#[derive(Clone, Debug)]
pub(crate) struct Common {
    pub objective: Option<ObjectiveArg>,
    pub max_trials: Option<usize>,
    pub seed: Option<i64>,
    pub hyperparameters: Option<HyperParameters>,
    pub tune_new_entries: bool,
    pub allow_new_entries: bool,
    pub max_retries_per_trial: usize,
    pub max_consecutive_failed_trials: usize,
    pub tuner: TunerArgs,
}

impl Common {
    pub fn new(max_trials: Option<usize>) -> Self {
        Common {
            objective: None,
            max_trials,
            seed: None,
            hyperparameters: None,
            tune_new_entries: true,
            allow_new_entries: true,
            max_retries_per_trial: 0,
            max_consecutive_failed_trials: 3,
            tuner: TunerArgs::default(),
        }
    }

    pub fn oracle_options(&self) -> Result<OracleArgs> {
        let objective = match &self.objective {
            None => Objective::default_objective(),
            Some(o) => o.create()?,
        };
        Ok(OracleArgs {
            objective,
            max_trials: self.max_trials,
            hyperparameters: self.hyperparameters.clone(),
            allow_new_entries: self.allow_new_entries,
            tune_new_entries: self.tune_new_entries,
            seed: self.seed,
            max_retries_per_trial: self.max_retries_per_trial,
            max_consecutive_failed_trials: self.max_consecutive_failed_trials,
        })
    }
}

/// The builder methods every tuner has.
macro_rules! common_methods {
    () => {
        /// What to optimise: a metric name (direction inferred: `"val_accuracy"`), an
        /// [`Objective`](crate::Objective), or a `Vec` of them (minimises the sum of the ones to
        /// minimise minus the ones to maximise). Without one, `HyperModel::fit` must return
        /// a single value to minimise.
        pub fn objective(mut self, objective: impl Into<crate::ObjectiveArg>) -> Self {
            self.common.objective = Some(objective.into());
            self
        }
        crate::setters::setters! {
            /// The random seed (keras-tuner draws one when unset or 0).
            seed(common.seed): i64 => Some,
            /// A search space to start from: overrides or pre-registers hyperparameters.
            hyperparameters(common.hyperparameters): crate::HyperParameters => Some,
            /// Whether hyperparameters the hypermodel asks for that are not in `hyperparameters`
            /// are tuned (default true); if not, their defaults are used.
            tune_new_entries(common.tune_new_entries): bool,
            /// Whether the hypermodel may ask for hyperparameters not in `hyperparameters`.
            allow_new_entries(common.allow_new_entries): bool,
            /// Retries of a crashed trial (default 0).
            max_retries_per_trial(common.max_retries_per_trial): usize,
            /// Consecutive failed trials that stop the search (default 3).
            max_consecutive_failed_trials(common.max_consecutive_failed_trials): usize,
            /// Trainings per trial from fresh initialisations; the metrics are averaged.
            executions_per_trial(common.tuner.executions_per_trial): usize,
            /// Models with more trainable parameters fail their trial.
            max_model_size(common.tuner.max_model_size): usize => Some,
            /// Start afresh (true) or resume the project found there (false, the default).
            overwrite(common.tuner.overwrite): bool,
            /// Trials run at once, each on its own thread (default 1).
            n_parallel(common.tuner.n_parallel): usize,
        }
        /// The working directory (default `.`).
        pub fn directory(mut self, dir: impl Into<std::path::PathBuf>) -> Self {
            self.common.tuner.directory = dir.into();
            self
        }
        /// The project's folder in `directory` (default `untitled_project`).
        pub fn project_name(mut self, name: &str) -> Self {
            self.common.tuner.project_name = name.to_string();
            self
        }
        /// The tuner id, which names its `<tuner_id>.json` file (default `tuner0`).
        pub fn tuner_id(mut self, id: &str) -> Self {
            self.common.tuner.tuner_id = id.to_string();
            self
        }
    };
}
pub(crate) use common_methods;
