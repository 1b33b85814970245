//! `HyperModel` (keras-tuner `engine.hypermodel`): builds a model from hyperparameters,
//! and optionally trains it its own way. A closure `|hp: &mut HyperParameters| ...` that
//! returns a model is a hypermodel.

use crate::from_impls::from_impls;
use keras::trainers::Arrays;
use keras::{FitArgs, History};

use super::hyperparameters::HyperParameters;
use crate::error::Result;
use crate::model::TunableModel;

/// What a trial's training returns (keras-tuner accepts a `History`, a float, or a dict of
/// metrics from `HyperModel.fit`).
#[derive(Clone, Debug)]
pub enum FitResult {
    /// The history of `model.fit`: the objective is read at its best epoch.
    History(History),
    /// The objective's value (to minimise when no objective was given).
    Value(f64),
    /// Metric values by name; must include the objective.
    Metrics(Vec<(String, f64)>),
}

from_impls!(FitResult {
    History => |h| FitResult::History(h),
    f64 => |v| FitResult::Value(v),
});

/// A search space of models.
///
/// ```no_run
/// use keras::layers::{Dense, Input};
/// use keras::models::Sequential;
/// use keras_tuner::{HyperParameters, RandomSearch};
///
/// let build = |hp: &mut HyperParameters| -> keras_tuner::Result<Sequential> {
///     let mut model = Sequential::new();
///     model.add(Input::new(&[4]))?;
///     model.add(Dense::new(hp.int("units", 8, 64).step(8).value()? as usize).activation("relu"))?;
///     model.add(Dense::new(3).activation("softmax"))?;
///     model.compile("adam", "sparse_categorical_crossentropy", &["accuracy"])?;
///     Ok(model)
/// };
/// let tuner = RandomSearch::new(build).objective("val_accuracy").max_trials(5).build().unwrap();
/// # let _ = tuner;
/// ```
pub trait HyperModel: Sync {
    /// The model type `build` returns.
    type Model: TunableModel;

    /// Builds a model, asking `hp` for its hyperparameters.
    fn build(&self, hp: &mut HyperParameters) -> Result<Self::Model>;

    /// Registers hyperparameters before the search (keras-tuner `declare_hyperparameters`).
    fn declare_hyperparameters(&self, _hp: &mut HyperParameters) -> Result<()> {
        Ok(())
    }

    /// Trains the model (default: `model.fit(x, y, args)`). Override to tune training
    /// arguments (`args.batch_size = hp.choice(...)`) or to return your own metrics.
    /// `args` holds the search's fit arguments and callbacks plus the tuner's own.
    fn fit(
        &self,
        hp: &mut HyperParameters,
        model: &mut Self::Model,
        x: &Arrays,
        y: &Arrays,
        args: FitArgs<'_>,
    ) -> Result<FitResult> {
        let _ = hp;
        Ok(FitResult::History(model.fit(x, y, args)?))
    }

    /// Whether the hyperparameters `build` registers join the search space (keras-tuner's
    /// `tunable`); when false, `build` gets a copy and new entries are not tuned.
    fn tunable(&self) -> bool {
        true
    }
}

impl<F, M> HyperModel for F
where
    F: Fn(&mut HyperParameters) -> Result<M> + Sync,
    M: TunableModel,
{
    type Model = M;

    fn build(&self, hp: &mut HyperParameters) -> Result<M> {
        self(hp)
    }
}
