//! What the tuner needs from a model, and the only place that names concrete keras model
//! types. A hypermodel's `build` returns any [`TunableModel`]: `keras::models::Sequential`
//! and `keras::models::Functional` (multi-input and multi-output included: the search's `x`
//! and `y` are [`Arrays`], as `fit` takes them) are implemented here. Implement the trait for
//! your own type to tune anything that trains. A hypermodel whose `fit` computes the score
//! itself ([`FitResult::Value`](crate::FitResult::Value), a synthetic objective) builds `()`,
//! the model with no weights.

use std::path::Path;

use keras::models::{Functional, Sequential};
use keras::trainers::Arrays;
use keras::{FitArgs, History};

use crate::json::Json;

/// A model the tuner can train, checkpoint and restore.
pub trait TunableModel: 'static {
    /// Trains on `(x, y)` (Keras `model.fit`); the callbacks in `args` include the tuner's
    /// checkpoint callback, so a model that runs them gets `get_best_models` for free.
    fn fit(&mut self, x: &Arrays, y: &Arrays, args: FitArgs) -> keras::Result<History>;
    /// Writes the weights to a `.weights.h5` file (the trial's `checkpoint.weights.h5`).
    fn save_weights(&self, path: &Path) -> keras::Result<()>;
    /// Restores [`TunableModel::save_weights`] (best models, Hyperband's continued trials).
    fn load_weights(&mut self, path: &Path) -> keras::Result<()>;
    /// Number of trainable scalars (for the tuner's `max_model_size`); 0 if unknown.
    fn count_params(&self) -> usize;
    /// Keras `model.get_build_config()`, saved as the trial's `build_config.json` so Python
    /// keras-tuner can rebuild the model (`None`: nothing written).
    fn build_config(&self) -> Option<Json> {
        None
    }
}

/// The [`TunableModel`] methods of a keras model type `$ty` (`Sequential`, `Functional`):
/// its own `fit`, `save_weights` and `load_weights`, and its trainable weights' sizes.
macro_rules! keras_model_methods {
    ($ty:ident) => {
        fn fit(&mut self, x: &Arrays, y: &Arrays, args: FitArgs) -> keras::Result<History> {
            $ty::fit(self, x, y, args)
        }

        fn save_weights(&self, path: &Path) -> keras::Result<()> {
            $ty::save_weights(self, path)
        }

        fn load_weights(&mut self, path: &Path) -> keras::Result<()> {
            $ty::load_weights(self, path)
        }

        fn count_params(&self) -> usize {
            self.trainable_weights().iter().map(|w| w.value().numel()).sum()
        }
    };
}

impl TunableModel for Sequential {
    keras_model_methods!(Sequential);

    fn build_config(&self) -> Option<Json> {
        let shape = self.input_shape()?;
        let dims = shape.iter().map(|d| d.map_or(Json::Null, |v| Json::Int(v as i64))).collect();
        Some(Json::obj([("input_shape", Json::Array(dims))]))
    }
}

impl TunableModel for Functional {
    keras_model_methods!(Functional);

    /// Keras's `Functional.get_build_config()`: `{"input_shape": null}` (a Functional model
    /// is built by its graph, so keras-tuner's `build_from_config` has nothing to do).
    fn build_config(&self) -> Option<Json> {
        Some(Json::obj([("input_shape", Json::Null)]))
    }
}

/// No model: for hypermodels whose `fit` computes the score itself and returns
/// [`FitResult::Value`](crate::FitResult::Value) (a synthetic objective, an external program).
/// Training does nothing, there are no weights to save or restore, and it counts 0 parameters.
///
/// ```
/// use keras::trainers::Arrays;
/// use keras::FitArgs;
/// use keras_tuner::{FitResult, HyperModel, HyperParameters};
///
/// /// The score is `(x - 3)^2`, minimised at 3.
/// struct Parabola;
/// impl HyperModel for Parabola {
///     type Model = ();
///     fn build(&self, hp: &mut HyperParameters) -> keras_tuner::Result<()> {
///         hp.float("x", 0.0, 5.0).value()?;
///         Ok(())
///     }
///     fn fit(
///         &self,
///         hp: &mut HyperParameters,
///         _: &mut (),
///         _: &Arrays,
///         _: &Arrays,
///         _: FitArgs<'_>,
///     ) -> keras_tuner::Result<FitResult> {
///         let x = hp.get("x")?.as_f64().unwrap_or(0.0);
///         Ok(FitResult::Value((x - 3.0).powi(2)))
///     }
/// }
/// ```
impl TunableModel for () {
    fn fit(&mut self, _: &Arrays, _: &Arrays, _: FitArgs) -> keras::Result<History> {
        Ok(History::default())
    }

    fn save_weights(&self, _: &Path) -> keras::Result<()> {
        Ok(())
    }

    fn load_weights(&mut self, _: &Path) -> keras::Result<()> {
        Ok(())
    }

    fn count_params(&self) -> usize {
        0
    }
}
