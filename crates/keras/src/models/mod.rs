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
