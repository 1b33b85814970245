//! Regularization layers: Dropout, SpatialDropout1D/2D/3D, GaussianNoise, GaussianDropout,
//! AlphaDropout, ActivityRegularization.
//!
//! Submodules:
//! - `activity_regularization`: `ActivityRegularization`
//! - `alpha_dropout`: `AlphaDropout`
//! - `dropout`: `Dropout`
//! - `gaussian`: `GaussianNoise` (additive) and `GaussianDropout` (multiplicative) noise layers, active only while training
//! - `noise`: Pieces shared by the random regularization layers
//! - `spatial_dropout`: `SpatialDropout1D/2D/3D`

pub mod activity_regularization;
pub mod alpha_dropout;
pub mod dropout;
pub mod gaussian;
mod noise;
pub mod spatial_dropout;

pub use activity_regularization::ActivityRegularization;
pub use alpha_dropout::AlphaDropout;
pub use dropout::Dropout;
pub use gaussian::{GaussianDropout, GaussianNoise};
pub use spatial_dropout::{SpatialDropout1D, SpatialDropout2D, SpatialDropout3D};

#[cfg(test)]
mod tests;
