//! Reshaping layers: Flatten.

pub(crate) mod args;
pub mod flatten;
pub mod padding;
pub mod reshape;

pub use flatten::Flatten;
pub use padding::{Cropping1D, Cropping2D, UpSampling1D, UpSampling2D, ZeroPadding1D, ZeroPadding2D};
pub use reshape::{Permute, RepeatVector, Reshape};
