//! Merging layers (Keras `keras/src/layers/merging`): layers called on a list of tensors that
//! return one. Element-wise merges broadcast as Keras's `Merge` does (right-aligned, a
//! lower-rank input gets new axes after the batch axis) and OR their inputs' masks;
//! `Concatenate` joins along an axis and `Dot` contracts two inputs.
//!
//! Submodules:
//! - `base_merge`: What every merging layer shares (Keras `keras/src/layers/merging/base_merge.py`)
//! - `add`: `Add`
//! - `average`: `Average`
//! - `concatenate`: `Concatenate`
//! - `dot`: `Dot`
//! - `maximum`: `Maximum`
//! - `minimum`: `Minimum`
//! - `multiply`: `Multiply`
//! - `subtract`: `Subtract`

pub(crate) mod base_merge;

mod add;
mod average;
mod concatenate;
mod dot;
mod maximum;
mod minimum;
mod multiply;
mod subtract;

pub use add::Add;
pub use average::Average;
pub use concatenate::Concatenate;
pub use dot::{Axes as DotAxes, Dot};
pub use maximum::Maximum;
pub use minimum::Minimum;
pub use multiply::Multiply;
pub use subtract::Subtract;
