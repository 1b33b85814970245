//! Models: [`Sequential`] (a stack of layers) and [`Functional`] (a graph of layers, made
//! with [`Model::new`] from [`Input`] tensors), with compile / fit / evaluate / predict.

pub mod functional;
pub mod sequential;

pub use crate::saving::{load_model, save_model};
pub use functional::{Functional, Input, KerasTensor, Model, ModelLayer, SharedLayer, SymbolicCall};
pub use sequential::Sequential;
