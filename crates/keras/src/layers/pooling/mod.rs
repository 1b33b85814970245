//! Pooling layers: Max/AveragePooling1D/2D/3D and the global pooling layers (`pooling1d`).
//!
//! Submodules:
//! - `pooling1d`: `MaxPooling1D` and `AveragePooling1D` (the 2-D kernels with a height of 1), and the global pooling layers
//! - `pooling2d`: `MaxPooling2D` and `AveragePooling2D`
//! - `pooling3d`: `MaxPooling3D` and `AveragePooling3D` over NDHWC volumes

pub mod pooling1d;
pub mod pooling2d;
pub mod pooling3d;

pub use pooling1d::{
    AveragePooling1D, GlobalAveragePooling1D, GlobalAveragePooling2D, GlobalAveragePooling3D,
    GlobalMaxPooling1D, GlobalMaxPooling2D, GlobalMaxPooling3D, MaxPooling1D,
};
pub use pooling2d::{AveragePooling2D, MaxPooling2D};
pub use pooling3d::{AveragePooling3D, MaxPooling3D};
