//! Pooling layers: MaxPooling2D, AveragePooling2D.

pub mod pooling2d;

pub use pooling2d::{AveragePooling2D, MaxPooling2D};
