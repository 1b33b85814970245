//! Attention layers (Keras `keras/src/layers/attention`): `Attention` (dot-product),
//! `AdditiveAttention`, `MultiHeadAttention` and `GroupedQueryAttention`. They take their inputs as a list and read
//! per-call keyword arguments ([`CallKwargs`](crate::layers::CallKwargs)):
//! `return_attention_scores` adds the attention weights as a second output, `use_causal_mask`
//! hides future positions; MultiHeadAttention and GroupedQueryAttention also take `key=` and `attention_mask=`.
//!
//! Submodules:
//! - `additive_attention`: `AdditiveAttention`
//! - `attention`: `Attention`
//! - `call_methods`: the `Layer` call, build and mask methods MultiHeadAttention and
//!   GroupedQueryAttention share
//! - `grouped_query_attention`: `GroupedQueryAttention` (Keras's `GroupQueryAttention`)
//! - `masking`: The mask and dropout arithmetic the attention layers share
//! - `multi_head_attention`: `MultiHeadAttention` (Keras `keras/src/layers/attention/multi_head_attention.py`)
//! - `projections`: the query/key/gate/value/output `EinsumDense` projections of both
//! - `scaled_dot_product`: the attention core MultiHeadAttention and GroupedQueryAttention share

mod additive_attention;
#[allow(clippy::module_inception)]
mod attention;
mod call_methods;
mod grouped_query_attention;
mod masking;
mod multi_head_attention;
mod projections;
mod scaled_dot_product;

pub use additive_attention::AdditiveAttention;
pub use attention::Attention;
pub use grouped_query_attention::{GroupQueryAttention, GroupedQueryAttention};
pub use multi_head_attention::MultiHeadAttention;
