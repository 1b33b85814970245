//! Core layers: Input, Dense.

pub mod dense;
pub mod input_layer;

pub use dense::Dense;
pub use input_layer::{input, InputLayer};
