//! Reshaping layers: Flatten.

pub mod flatten;

pub use flatten::Flatten;
