//! Preprocessing layers: Rescaling, TextVectorization.

pub mod rescaling;
pub mod text_vectorization;

pub use rescaling::Rescaling;
pub use text_vectorization::TextVectorization;
