//! Reshaping layers: Flatten, Reshape, Permute, RepeatVector, and the zero-padding, cropping
//! and up-sampling layers (1-D and 2-D in `padding`, 3-D one file each).
//!
//! Submodules:
//! - `args`: Config and argument helpers shared by the reshaping, pooling, activation and normalization layers
//! - `cropping3d`: `Cropping3D`
//! - `flatten`: `Flatten`
//! - `padding`: `ZeroPadding1D/2D`, `Cropping1D/2D` and `UpSampling1D/2D` (channels-last)
//! - `reshape`: `Reshape`, `Permute` and `RepeatVector`
//! - `up_sampling3d`: `UpSampling3D`
//! - `zero_padding3d`: `ZeroPadding3D`

pub(crate) mod args;
pub mod cropping3d;
pub mod flatten;
pub mod padding;
pub mod reshape;
pub mod up_sampling3d;
pub mod zero_padding3d;

pub use cropping3d::Cropping3D;
pub use flatten::Flatten;
pub use padding::{Cropping1D, Cropping2D, UpSampling1D, UpSampling2D, ZeroPadding1D, ZeroPadding2D};
pub use reshape::{Permute, RepeatVector, Reshape};
pub use up_sampling3d::UpSampling3D;
pub use zero_padding3d::ZeroPadding3D;
