//! Pooling layers: Max/AveragePooling1D/2D/3D and the global pooling layers (`pooling1d`).

pub mod pooling1d;
pub mod pooling2d;
pub mod pooling3d;

pub use pooling1d::{
    AveragePooling1D, GlobalAveragePooling1D, GlobalAveragePooling2D, GlobalAveragePooling3D,
    GlobalMaxPooling1D, GlobalMaxPooling2D, GlobalMaxPooling3D, MaxPooling1D,
};
pub use pooling2d::{AveragePooling2D, MaxPooling2D};
pub use pooling3d::{AveragePooling3D, MaxPooling3D};
