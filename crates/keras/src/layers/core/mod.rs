//! Core layers: Input, Dense.

pub mod dense;
pub mod embedding;
pub mod input_layer;
pub mod masking;

pub use dense::Dense;
pub use embedding::Embedding;
pub use input_layer::{input, InputLayer};
pub use masking::Masking;
