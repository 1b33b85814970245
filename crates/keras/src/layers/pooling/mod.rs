//! Pooling layers: Max/AveragePooling1D/2D/3D (one implementation, `base_pooling`), the
//! global pooling layers (`global_pooling`) and the adaptive ones (`adaptive_pooling`),
//! channels-last or channels-first.
//!
//! Submodules:
//! - `adaptive_pooling`: `AdaptiveAverage/MaxPooling1D/2D/3D` (pooling to a fixed output size)
//! - `base_pooling`: what every windowed pooling layer shares (arguments, config, shapes)
//! - `global_pooling`: `GlobalMax/AveragePooling1D/2D/3D`
//! - `pooling1d`: `MaxPooling1D` and `AveragePooling1D`
//! - `pooling2d`: `MaxPooling2D` and `AveragePooling2D`
//! - `pooling3d`: `MaxPooling3D` and `AveragePooling3D`

pub mod adaptive_pooling;
pub(crate) mod base_pooling;
pub mod global_pooling;
pub mod pooling1d;
pub mod pooling2d;
pub mod pooling3d;

pub use adaptive_pooling::{
    AdaptiveAveragePooling1D, AdaptiveAveragePooling2D, AdaptiveAveragePooling3D, AdaptiveMaxPooling1D,
    AdaptiveMaxPooling2D, AdaptiveMaxPooling3D, OutputSize,
};
pub use global_pooling::{
    GlobalAveragePooling1D, GlobalAveragePooling2D, GlobalAveragePooling3D, GlobalMaxPooling1D,
    GlobalMaxPooling2D, GlobalMaxPooling3D,
};
pub use pooling1d::{AveragePooling1D, MaxPooling1D};
pub use pooling2d::{AveragePooling2D, MaxPooling2D};
pub use pooling3d::{AveragePooling3D, MaxPooling3D};
