//! Preprocessing layers that are part of a model: Rescaling.

pub mod rescaling;

pub use rescaling::Rescaling;
