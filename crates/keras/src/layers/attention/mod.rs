//! Attention layers (Keras `keras/src/layers/attention`): `Attention` (dot-product),
//! `AdditiveAttention` and `MultiHeadAttention`. They take their inputs as a list and read
//! per-call keyword arguments ([`CallKwargs`](crate::layers::CallKwargs)):
//! `return_attention_scores` adds the attention weights as a second output, `use_causal_mask`
//! hides future positions; MultiHeadAttention also takes `key=` and `attention_mask=`.
//!
//! Submodules:
//! - `additive_attention`: `AdditiveAttention`
//! - `attention`: `Attention`
//! - `masking`: The mask and dropout arithmetic the attention layers share
//! - `multi_head_attention`: `MultiHeadAttention` (Keras `keras/src/layers/attention/multi_head_attention.py`)

mod additive_attention;
#[allow(clippy::module_inception)]
mod attention;
mod masking;
mod multi_head_attention;

pub use additive_attention::AdditiveAttention;
pub use attention::Attention;
pub use multi_head_attention::MultiHeadAttention;
