//! Core layers: Input, Dense, EinsumDense, Embedding, ReversibleEmbedding, Identity, Masking.
//!
//! Submodules:
//! - `dense`: `Dense`
//! - `einsum_dense`: `EinsumDense`
//! - `embedding`: `Embedding`
//! - `identity`: `Identity`
//! - `input_layer`: `InputLayer` / `Input`
//! - `masking`: `Masking`
//! - `reversible_embedding`: `ReversibleEmbedding`

pub mod dense;
pub mod einsum_dense;
pub mod embedding;
pub mod identity;
pub mod input_layer;
pub mod masking;
pub mod reversible_embedding;

pub use dense::Dense;
pub use einsum_dense::EinsumDense;
pub use embedding::Embedding;
pub use identity::Identity;
pub use input_layer::{input, InputLayer};
pub use masking::Masking;
pub use reversible_embedding::ReversibleEmbedding;
