//! Models: [`Sequential`] (Functional to come), with compile / fit / evaluate / predict.

pub mod sequential;

pub use sequential::Sequential;
