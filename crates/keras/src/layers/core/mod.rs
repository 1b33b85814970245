//! Core layers: Input, Dense, EinsumDense, Embedding, Identity, Masking.

pub mod dense;
pub mod einsum_dense;
pub mod embedding;
pub mod identity;
pub mod input_layer;
pub mod masking;

pub use dense::Dense;
pub use einsum_dense::EinsumDense;
pub use embedding::Embedding;
pub use identity::Identity;
pub use input_layer::{input, InputLayer};
pub use masking::Masking;
