//! [`AnyModel`]: a model of either kind, what [`load_model`](crate::models::load_model)
//! returns (Keras's `load_model` gives back a `Sequential` or a `Functional` instance,
//! whichever the file's `class_name` says).

use serde_json::Value;

use crate::layers::{Layer, Shape, Variable};
use crate::models::{Functional, Sequential};
use crate::trainers::{Arrays, CompileArgs, Compiled, EvaluateArgs, FitArgs, History, Logs, PredictArgs};
use crate::utils::plot_model::{PlotGraph, ToPlotGraph};
use crate::{keras_bail, Result, Tensor};

/// A Sequential or a Functional model, with the methods both have.
///
/// ```
/// use keras::layers::Dense;
/// use keras::models::{load_model, Model, SymbolicCall};
/// use keras::{Input, PredictArgs, Tensor};
///
/// let x = Input::new(&[3]);
/// let y = Dense::new(2).apply(&x).unwrap();
/// let model = Model::new(&[x], &[y]).unwrap();
/// let path = std::env::temp_dir().join(format!("any_model_{}.keras", std::process::id()));
/// model.save(&path).unwrap();
///
/// let loaded = load_model(&path).unwrap();
/// assert_eq!(loaded.class_name(), "Functional");
/// let out = loaded.predict(Tensor::new(vec![1.0; 6], [2, 3]).unwrap(), PredictArgs::default().verbose(0)).unwrap();
/// assert_eq!(out[0].shape(), &[2, 2]);
/// let functional = loaded.into_functional().unwrap(); // the concrete model
/// assert_eq!(functional.output_names(), ["dense"]);
/// # std::fs::remove_file(&path).unwrap();
/// ```
// One value per loaded model, matched on by users: boxing the larger variant (Sequential's
// CUDA step state makes it larger with the `cuda` feature) would change the public patterns.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum AnyModel {
    /// A `keras.Sequential` model.
    Sequential(Sequential),
    /// A `keras.Model(inputs, outputs)` graph (class `Functional`).
    Functional(Functional),
}

impl From<Sequential> for AnyModel {
    fn from(m: Sequential) -> Self {
        AnyModel::Sequential(m)
    }
}

impl From<Functional> for AnyModel {
    fn from(m: Functional) -> Self {
        AnyModel::Functional(m)
    }
}

impl AnyModel {
    /// The Keras class name: `"Sequential"` or `"Functional"`.
    pub fn class_name(&self) -> &'static str {
        match self {
            AnyModel::Sequential(_) => "Sequential",
            AnyModel::Functional(_) => "Functional",
        }
    }

    /// The model name.
    pub fn name(&self) -> &str {
        match self {
            AnyModel::Sequential(m) => m.name(),
            AnyModel::Functional(m) => m.name(),
        }
    }

    /// The Sequential model, if this is one.
    pub fn as_sequential(&self) -> Option<&Sequential> {
        match self {
            AnyModel::Sequential(m) => Some(m),
            AnyModel::Functional(_) => None,
        }
    }

    /// The Functional model, if this is one.
    pub fn as_functional(&self) -> Option<&Functional> {
        match self {
            AnyModel::Functional(m) => Some(m),
            AnyModel::Sequential(_) => None,
        }
    }

    /// The Sequential model, mutable, if this is one.
    pub fn as_sequential_mut(&mut self) -> Option<&mut Sequential> {
        match self {
            AnyModel::Sequential(m) => Some(m),
            AnyModel::Functional(_) => None,
        }
    }

    /// The Functional model, mutable, if this is one.
    pub fn as_functional_mut(&mut self) -> Option<&mut Functional> {
        match self {
            AnyModel::Functional(m) => Some(m),
            AnyModel::Sequential(_) => None,
        }
    }

    /// The Sequential model; an error naming the model when it is a Functional one.
    pub fn into_sequential(self) -> Result<Sequential> {
        match self {
            AnyModel::Sequential(m) => Ok(m),
            AnyModel::Functional(m) => keras_bail!(
                InvalidArgument,
                "Model '{}' is a Functional model, not a Sequential one: use `into_functional()` (or \
                 `Functional::load`) to get it.",
                m.name()
            ),
        }
    }

    /// The Functional model; an error naming the model when it is a Sequential one
    /// ([`Functional::from_sequential`] turns one into the equivalent graph).
    pub fn into_functional(self) -> Result<Functional> {
        match self {
            AnyModel::Functional(m) => Ok(m),
            AnyModel::Sequential(m) => keras_bail!(
                InvalidArgument,
                "Model '{}' is a Sequential model, not a Functional one: use `into_sequential()`, or \
                 `Functional::from_sequential` for the equivalent graph.",
                m.name()
            ),
        }
    }

    /// The layers (Keras `model.layers`).
    pub fn layers(&self) -> Vec<&dyn Layer> {
        match self {
            AnyModel::Sequential(m) => m.layers().iter().map(|l| l.as_ref()).collect(),
            AnyModel::Functional(m) => m.layers(),
        }
    }

    /// The input names, in input order (one for a Sequential model).
    pub fn input_names(&self) -> Vec<String> {
        match self {
            AnyModel::Sequential(m) => m.network().input_names(),
            AnyModel::Functional(m) => m.input_names(),
        }
    }

    /// The output names (Keras `model.output_names`), in output order.
    pub fn output_names(&self) -> Vec<String> {
        match self {
            AnyModel::Sequential(m) => m.network().output_names(),
            AnyModel::Functional(m) => m.output_names(),
        }
    }

    /// The batch shapes of the inputs (empty for an unbuilt Sequential model).
    pub fn input_shapes(&self) -> Vec<Shape> {
        match self {
            AnyModel::Sequential(m) => m.input_shape().into_iter().collect(),
            AnyModel::Functional(m) => m.input_shapes(),
        }
    }

    /// The batch shapes of the outputs (empty for an unbuilt Sequential model).
    pub fn output_shapes(&self) -> Vec<Shape> {
        match self {
            AnyModel::Sequential(m) => m.output_shape().into_iter().collect(),
            AnyModel::Functional(m) => m.output_shapes(),
        }
    }

    /// Every variable (Keras `model.weights`).
    pub fn weights(&self) -> Vec<&Variable> {
        match self {
            AnyModel::Sequential(m) => m.weights(),
            AnyModel::Functional(m) => m.weights(),
        }
    }

    /// The number of weights (Keras `count_params`).
    pub fn count_params(&self) -> usize {
        match self {
            AnyModel::Sequential(m) => m.count_params(),
            AnyModel::Functional(m) => m.count_params(),
        }
    }

    /// The weight values (Keras `get_weights`).
    pub fn get_weights(&self) -> Vec<Tensor> {
        match self {
            AnyModel::Sequential(m) => m.get_weights(),
            AnyModel::Functional(m) => m.get_weights(),
        }
    }

    /// Sets the weight values (Keras `set_weights`); nothing changes on error.
    pub fn set_weights(&mut self, values: &[Tensor]) -> Result<()> {
        match self {
            AnyModel::Sequential(m) => m.set_weights(values),
            AnyModel::Functional(m) => m.set_weights(values),
        }
    }

    /// Configures training with everything Keras's `compile` takes ([`CompileArgs`]).
    pub fn compile_args(&mut self, args: CompileArgs) -> Result<()> {
        match self {
            AnyModel::Sequential(m) => m.compile_args(args),
            AnyModel::Functional(m) => m.compile_args(args),
        }
    }

    /// The compile state, once compiled (`None` for a file saved without `compile()`).
    pub fn compile_state(&self) -> Option<&Compiled> {
        match self {
            AnyModel::Sequential(m) => m.compile_state(),
            AnyModel::Functional(m) => m.compile_state(),
        }
    }

    /// The compile state, mutable.
    pub fn compile_state_mut(&mut self) -> Option<&mut Compiled> {
        match self {
            AnyModel::Sequential(m) => m.compile_state_mut(),
            AnyModel::Functional(m) => m.compile_state_mut(),
        }
    }

    /// Outputs for every sample (Keras `model.predict`): `x` is one array, a list in input
    /// order or a map keyed by input name; one array per output comes back, in output order.
    pub fn predict(&self, x: impl Into<Arrays>, args: PredictArgs) -> Result<Vec<Tensor>> {
        match self {
            AnyModel::Sequential(m) => Ok(vec![m.predict(x, args)?]),
            AnyModel::Functional(m) => m.predict(x, args),
        }
    }

    /// Trains the model (Keras `model.fit`); `x` and `y` as in [`AnyModel::predict`].
    pub fn fit(&mut self, x: impl Into<Arrays>, y: impl Into<Arrays>, args: FitArgs) -> Result<History> {
        match self {
            AnyModel::Sequential(m) => m.fit(x, y, args),
            AnyModel::Functional(m) => m.fit(x, y, args),
        }
    }

    /// Loss and metrics on the data (Keras `model.evaluate(..., return_dict=True)`).
    pub fn evaluate(
        &mut self,
        x: impl Into<Arrays>,
        y: impl Into<Arrays>,
        args: EvaluateArgs,
    ) -> Result<Logs> {
        match self {
            AnyModel::Sequential(m) => m.evaluate(x, y, args),
            AnyModel::Functional(m) => m.evaluate(x, y, args),
        }
    }

    /// The summary table Keras prints, as a string.
    pub fn summary_string(&self, line_length: Option<usize>, show_trainable: bool) -> Result<String> {
        match self {
            AnyModel::Sequential(m) => m.summary_string(line_length, show_trainable),
            AnyModel::Functional(m) => m.summary_string(line_length, show_trainable),
        }
    }

    /// Prints the summary table (Keras `model.summary()`).
    pub fn summary(&self) {
        match self {
            AnyModel::Sequential(m) => m.summary(),
            AnyModel::Functional(m) => m.summary(),
        }
    }

    /// The Keras config (`model.get_config()`).
    pub fn get_config(&self) -> Value {
        match self {
            AnyModel::Sequential(m) => m.get_config(),
            AnyModel::Functional(m) => m.get_config(),
        }
    }

    /// Saves the model (Keras `model.save`): `.keras` or legacy `.h5` / `.hdf5`. Atomic.
    pub fn save(&self, path: impl AsRef<std::path::Path>) -> Result<()> {
        match self {
            AnyModel::Sequential(m) => m.save(path),
            AnyModel::Functional(m) => m.save(path),
        }
    }

    /// Saves the weights in Keras 3's `.weights.h5` layout.
    pub fn save_weights(&self, path: impl AsRef<std::path::Path>) -> Result<()> {
        match self {
            AnyModel::Sequential(m) => m.save_weights(path),
            AnyModel::Functional(m) => m.save_weights(path),
        }
    }

    /// Loads weights from `.weights.h5`, `.keras` or legacy `.h5`; nothing is assigned on error.
    pub fn load_weights(&mut self, path: impl AsRef<std::path::Path>) -> Result<()> {
        match self {
            AnyModel::Sequential(m) => m.load_weights(path),
            AnyModel::Functional(m) => m.load_weights(path),
        }
    }
}

impl ToPlotGraph for AnyModel {
    fn to_plot_graph(&self) -> Result<PlotGraph> {
        match self {
            AnyModel::Sequential(m) => m.to_plot_graph(),
            AnyModel::Functional(m) => m.to_plot_graph(),
        }
    }
}
