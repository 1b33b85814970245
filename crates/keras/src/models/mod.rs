//! Models: [`Sequential`] (a stack of layers), [`Functional`] (a graph of layers, made
//! with [`Model::new`] from [`Input`] tensors) and [`SubclassedModel`] (a user struct with a
//! `call`), with compile / fit / evaluate / predict. [`load_model`] returns an [`AnyModel`]:
//! whichever of Sequential and Functional the file holds.
//!
//! Submodules:
//! - `any_model`: [`AnyModel`]
//! - `functional`: The Functional API (Keras `keras.Model(inputs, outputs)`, class `Functional`)
//! - `sequential`: `Sequential`
//! - `subclassed`: Subclassed models (Keras `class MyModel(keras.Model)` with `__init__` and `call`)

mod any_model;
pub mod functional;
pub mod sequential;
pub mod subclassed;

pub use crate::saving::{load_model, save_model};
pub use any_model::AnyModel;
pub use functional::{Functional, Input, KerasTensor, Model, ModelLayer, SharedLayer, SymbolicCall};
pub use sequential::Sequential;
pub use subclassed::SubclassedModel;

use crate::layers::Variable;
use crate::{keras_bail, Result, Tensor};

/// The training entry points the built-in models (Sequential, Functional, subclassed) share,
/// each written once here: a model lists, inside its inherent `impl`, the ones it has, each
/// with its rustdoc. The model implements [`crate::trainers::TrainModel`] (whose network gives
/// the output names) and holds its compile state in `compiled: Option<Compiled>`; each
/// training call checks that the model was compiled, then runs the trainer.
/// `train_on_batch(Arrays)` / `test_on_batch(Arrays)` take the sample weights as arrays (one
/// per output); without `(Arrays)` they take one tensor.
macro_rules! training_methods {
    ($( $(#[doc = $doc:expr])* $method:ident $(($arrays:ident))? ),* $(,)?) => {
        $( $crate::models::training_methods! { @m [$(#[doc = $doc])*] $method $($arrays)? } )*
    };
    (@m [$($attr:tt)*] compile) => {
        $($attr)*
        pub fn compile<
            O: $crate::trainers::IntoOptimizer,
            L: $crate::trainers::IntoLoss,
            M: $crate::trainers::IntoMetrics,
        >(
            &mut self,
            optimizer: O,
            loss: L,
            metrics: M,
        ) -> $crate::Result<()> {
            let metrics: Vec<$crate::trainers::MetricArg> = metrics.into_metrics();
            self.compile_with(optimizer, loss, metrics)
        }
    };
    (@m [$($attr:tt)*] compile_with) => {
        $($attr)*
        pub fn compile_with<O: $crate::trainers::IntoOptimizer, L: $crate::trainers::IntoLoss>(
            &mut self,
            optimizer: O,
            loss: L,
            metrics: Vec<$crate::trainers::MetricArg>,
        ) -> $crate::Result<()> {
            let identifier = loss.identifier();
            let args = $crate::trainers::CompileArgs::new(optimizer.into_optimizer()?)
                .loss($crate::trainers::LossArg::Object(loss.into_loss()?))
                .metrics($crate::trainers::Metrics::Flat(metrics));
            let outputs = $crate::trainers::TrainModel::network(self).output_names();
            let mut c = $crate::trainers::Compiled::from_args(args, &outputs)?;
            if let Some(name) = identifier {
                c.set_loss_identifier(name);
            }
            self.compiled = Some(c);
            Ok(())
        }
    };
    (@m [$($attr:tt)*] compile_args) => {
        $($attr)*
        pub fn compile_args(&mut self, args: $crate::trainers::CompileArgs) -> $crate::Result<()> {
            let outputs = $crate::trainers::TrainModel::network(self).output_names();
            self.compiled = Some($crate::trainers::Compiled::from_args(args, &outputs)?);
            Ok(())
        }
    };
    (@m [$($attr:tt)*] compile_state) => {
        $($attr)*
        pub fn compile_state(&self) -> Option<&$crate::trainers::Compiled> {
            self.compiled.as_ref()
        }
    };
    (@m [$($attr:tt)*] compile_state_mut) => {
        $($attr)*
        pub fn compile_state_mut(&mut self) -> Option<&mut $crate::trainers::Compiled> {
            self.compiled.as_mut()
        }
    };
    (@m [$($attr:tt)*] fit) => {
        $($attr)*
        pub fn fit(
            &mut self,
            x: impl Into<$crate::trainers::Arrays>,
            y: impl Into<$crate::trainers::Arrays>,
            args: $crate::trainers::FitArgs,
        ) -> $crate::Result<$crate::trainers::History> {
            self.compiled.as_ref().ok_or_else($crate::trainers::train_model::not_compiled)?;
            $crate::trainers::trainer::fit(self, x.into(), Some(y.into()), args)
        }
    };
    (@m [$($attr:tt)*] evaluate) => {
        $($attr)*
        pub fn evaluate(
            &mut self,
            x: impl Into<$crate::trainers::Arrays>,
            y: impl Into<$crate::trainers::Arrays>,
            args: $crate::trainers::EvaluateArgs,
        ) -> $crate::Result<$crate::trainers::Logs> {
            self.compiled.as_ref().ok_or_else($crate::trainers::train_model::not_compiled)?;
            $crate::trainers::trainer::evaluate(self, x.into(), Some(y.into()), args)
        }
    };
    // `train_on_batch` / `test_on_batch`.
    (@m [$($attr:tt)*] $step:ident $($arrays:ident)?) => {
        $($attr)*
        pub fn $step(
            &mut self,
            x: impl Into<$crate::trainers::Arrays>,
            y: impl Into<$crate::trainers::Arrays>,
            sample_weight: $crate::models::training_methods!(@sample_weight $($arrays)?),
        ) -> $crate::Result<$crate::trainers::Logs> {
            self.compiled.as_ref().ok_or_else($crate::trainers::train_model::not_compiled)?;
            let sample_weight = $crate::models::training_methods!(@sample_weight sample_weight $($arrays)?);
            $crate::trainers::trainer::$step(self, x.into(), Some(y.into()), sample_weight)
        }
    };
    (@sample_weight) => { Option<&$crate::Tensor> };
    (@sample_weight Arrays) => { Option<$crate::trainers::Arrays> };
    (@sample_weight $w:ident) => { $w.map($crate::trainers::Arrays::from) };
    (@sample_weight $w:ident Arrays) => { $w };
}
pub(crate) use training_methods;

/// Keras `Model.set_weights` for Sequential and subclassed models: checks the count (Keras's
/// message), then assigns `values` to the model's variables in order; a wrong shape fails in
/// `Variable::assign`. (Functional checks every shape before it assigns any, so it keeps its own.)
fn assign_weights_in_order(
    model_name: &str,
    mut vars: Vec<(&mut Variable, bool)>,
    values: &[Tensor],
) -> Result<()> {
    if vars.len() != values.len() {
        keras_bail!(
            Value,
            "You called `set_weights(weights)` on model {} with a weight list of length {}, but the model was expecting {} weights.",
            model_name,
            values.len(),
            vars.len()
        );
    }
    for ((v, _), t) in vars.iter_mut().zip(values) {
        v.assign(t)?;
    }
    Ok(())
}

/// Keras's input check of a model: the array `x` given as input `i` of model `name` has the
/// rank of `expected` and its known sizes past the batch axis.
pub(crate) fn check_input_shape(name: &str, i: usize, x: &Tensor, expected: &[Option<usize>]) -> Result<()> {
    let ok = x.rank() == expected.len()
        && expected.iter().zip(x.shape()).skip(1).all(|(e, &g)| e.is_none_or(|e| e == g));
    if !ok {
        let found: Vec<String> = x.shape().iter().map(|d| d.to_string()).collect();
        keras_bail!(
            Shape,
            "Input {i} of layer \"{name}\" is incompatible with the layer: expected shape={}, found shape=({})",
            crate::layers::layer::shape_str(expected),
            found.join(", ")
        );
    }
    Ok(())
}

/// Assigns `(index into the model's weights, value)` pairs to `vars` (the model's variables
/// in `model.weights` order), as the loaders do once every value is read and checked; an
/// index past the end is an error.
pub(crate) fn assign_weights_by_index(
    mut vars: Vec<(&mut Variable, bool)>,
    values: Vec<(usize, Tensor)>,
) -> Result<()> {
    for (i, t) in values {
        match vars.get_mut(i) {
            Some((v, _)) => v.assign(&t)?,
            None => keras_bail!(Value, "weight index {i} out of range"),
        }
    }
    Ok(())
}
