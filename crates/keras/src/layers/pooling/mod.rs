//! Pooling layers: Max/AveragePooling1D/2D/3D (one implementation, `base_pooling`) and the
//! global pooling layers (`global_pooling`), channels-last or channels-first.

pub(crate) mod base_pooling;
pub mod global_pooling;
pub mod pooling1d;
pub mod pooling2d;
pub mod pooling3d;

pub use global_pooling::{
    GlobalAveragePooling1D, GlobalAveragePooling2D, GlobalAveragePooling3D, GlobalMaxPooling1D,
    GlobalMaxPooling2D, GlobalMaxPooling3D,
};
pub use pooling1d::{AveragePooling1D, MaxPooling1D};
pub use pooling2d::{AveragePooling2D, MaxPooling2D};
pub use pooling3d::{AveragePooling3D, MaxPooling3D};
