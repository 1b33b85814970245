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
