//! Models: [`Sequential`] (Functional to come), with compile / fit / evaluate / predict.

pub mod sequential;

pub use crate::saving::{load_model, save_model};
pub use sequential::Sequential;
