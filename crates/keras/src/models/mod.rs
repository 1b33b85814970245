//! Models: [`Sequential`], [`SubclassedModel`] (a user struct with a `call`; Functional to
//! come), with compile / fit / evaluate / predict.

pub mod sequential;
pub mod subclassed;

pub use crate::saving::{load_model, save_model};
pub use sequential::Sequential;
pub use subclassed::SubclassedModel;
