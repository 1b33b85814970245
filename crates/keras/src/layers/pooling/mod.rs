//! Pooling layers: MaxPooling2D, AveragePooling2D.

pub mod pooling1d;
pub mod pooling2d;

pub use pooling1d::{
    AveragePooling1D, GlobalAveragePooling1D, GlobalAveragePooling2D, GlobalMaxPooling1D, GlobalMaxPooling2D,
    MaxPooling1D,
};
pub use pooling2d::{AveragePooling2D, MaxPooling2D};
