//! The scaled dot-product attention core that MultiHeadAttention and GroupedQueryAttention
//! share once query, key and value are projected (Keras `_compute_attention` and
//! `_masked_softmax`).

use std::sync::Mutex;

use keras_engine::Rng;

use crate::layers::attention::masking::{self, LARGE};
use crate::{ops, Result, Tensor};

/// How the projected tensors meet: the einsum equations and the scores' layout.
pub(crate) struct ScoreSpec<'a> {
    /// `key, query -> scores`.
    pub dot_product_equation: &'a str,
    /// `weights, value -> output`.
    pub combine_equation: &'a str,
    /// How many trailing axes of the scores the softmax runs over (the attention axes).
    pub attention_axes: usize,
    /// Rank of the scores.
    pub scores_rank: usize,
    /// `1 / sqrt(head size)`.
    pub scale: f32,
    /// Dropout rate on the attention weights in training.
    pub dropout: f32,
}

/// `(output, attention weights)` of projected `q`, `k`, `v` under a `(B, T, S)` mask.
///
/// Keras routes plain 4-D cases through `ops.dot_product_attention` (scale after the
/// product, masked logits replaced, no zeroing of fully masked rows); otherwise the query is
/// scaled first and the masked Softmax layer zeroes masked weights.
#[allow(clippy::too_many_arguments)]
pub(crate) fn attend(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    mask: Option<&Tensor>,
    spec: &ScoreSpec<'_>,
    seeded: &Mutex<Option<Rng>>,
    training: bool,
    return_scores: bool,
) -> Result<(Tensor, Tensor)> {
    let fused = !(spec.dropout > 0.0 || return_scores || q.rank() != 4);
    let scores = if fused {
        let s = ops::einsum(spec.dot_product_equation, k, q)?;
        ops::mul(&s, &Tensor::scalar(spec.scale))?
    } else {
        let qs = ops::mul(q, &Tensor::scalar(spec.scale))?;
        ops::einsum(spec.dot_product_equation, k, &qs)?
    };
    let full_mask = mask.map(|m| expand_for_scores(m, spec.attention_axes, spec.scores_rank)).transpose()?;
    let masked = match &full_mask {
        Some(m) => masking::keep_or(&scores, m, -LARGE)?,
        None => scores,
    };
    let mut weights = softmax_trailing(&masked, spec.attention_axes)?;
    if !fused {
        if let Some(m) = &full_mask {
            weights = masking::keep_or(&weights, m, 0.0)?;
        }
    }
    let applied = if training && spec.dropout > 0.0 {
        masking::dropout(&weights, spec.dropout, seeded)?
    } else {
        weights.clone()
    };
    Ok((ops::einsum(spec.combine_equation, &applied, v)?, weights))
}

/// A `(B, T, S)` attention mask with axes inserted before the query attention axes until it
/// has the scores' rank (Keras `_masked_softmax`).
pub(crate) fn expand_for_scores(mask: &Tensor, attention_axes: usize, scores_rank: usize) -> Result<Tensor> {
    let n_axes = attention_axes as isize;
    let mut m = mask.clone();
    while m.rank() < scores_rank {
        m = masking::expand_dims(&m, -n_axes * 2 - 1)?;
    }
    Ok(m)
}

/// `softmax` over the last `n` axes (Keras's Softmax layer with a tuple axis).
fn softmax_trailing(x: &Tensor, n: usize) -> Result<Tensor> {
    if n <= 1 {
        return Ok(ops::softmax(x, -1)?);
    }
    let shape = x.shape().to_vec();
    let split = shape.len() - n;
    let mut flat = shape[..split].to_vec();
    flat.push(shape[split..].iter().product());
    Ok(ops::softmax(&x.reshape(flat)?, -1)?.reshape(shape)?)
}
