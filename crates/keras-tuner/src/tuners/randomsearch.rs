//! Random search (keras-tuner `RandomSearch`): every trial draws new random values, until
//! `max_trials` or until 20 draws in a row repeat earlier trials.

use crate::engine::hypermodel::HyperModel;
use crate::engine::oracle::{Algorithm, Oracle, OracleCore, Populate};
use crate::engine::tuner::Tuner;
use crate::error::Result;

use super::{common_methods, Common};

/// keras-tuner `RandomSearchOracle`.
#[derive(Debug, Default)]
pub struct RandomSearchOracle;

impl Algorithm for RandomSearchOracle {
    fn populate_space(&mut self, core: &mut OracleCore, _trial_id: &str) -> Result<Populate> {
        Ok(match core.random_values() {
            Some(v) => Populate::Running(v),
            None => Populate::Stopped,
        })
    }
}

/// The random search tuner (max_trials 10 by default).
///
/// ```no_run
/// use keras::layers::{Dense, Input};
/// use keras::models::Sequential;
/// use keras_tuner::{HyperParameters, RandomSearch};
///
/// let build = |hp: &mut HyperParameters| -> keras_tuner::Result<Sequential> {
///     let mut model = Sequential::new();
///     model.add(Input::new(&[8]))?;
///     model.add(Dense::new(hp.int("units", 8, 128).step(8).value()? as usize).activation("relu"))?;
///     model.add(Dense::new(2).activation("softmax"))?;
///     model.compile("adam", "sparse_categorical_crossentropy", &["accuracy"])?;
///     Ok(model)
/// };
/// let tuner = RandomSearch::new(build)
///     .objective("val_accuracy")
///     .max_trials(20)
///     .seed(1)
///     .directory("tuning")
///     .project_name("mlp")
///     .build()?;
/// # Ok::<(), keras_tuner::Error>(())
/// ```
pub struct RandomSearch<H: HyperModel> {
    hypermodel: H,
    common: Common,
}

impl<H: HyperModel> RandomSearch<H> {
    /// A random search over `hypermodel`'s space.
    pub fn new(hypermodel: H) -> Self {
        RandomSearch { hypermodel, common: Common::new(Some(10)) }
    }

    crate::setters::setters! {
        /// Most trials to run (default 10).
        max_trials(common.max_trials): usize => Some,
    }
    common_methods!();

    /// Checks the arguments, creates or reloads the project, and populates the search space.
    pub fn build(self) -> Result<Tuner<H>> {
        let oracle = Oracle::new(self.common.oracle_options()?, Box::new(RandomSearchOracle))?;
        Tuner::create(self.hypermodel, oracle, self.common.tuner)
    }
}
