//! The mask and dropout arithmetic the attention layers share: boolean masks are 0/1 float
//! tensors (non-zero = attend), combined with AND, applied to scores before the softmax.

use std::sync::Mutex;

use keras_engine::{with_global_rng, Rng};

use crate::layers::merging::base_merge::{bool_mask, select};
use crate::{ops, Result, Tensor};

/// Keras's large negative bias for masked float32 scores (`1e9`).
pub(crate) const LARGE: f32 = 1.0e9;

/// `mask` reshaped with a new axis of size 1 inserted at `axis` (negative counts from the end
/// of the new shape), as 0/1 floats.
pub(crate) fn expand_dims(mask: &Tensor, axis: isize) -> Result<Tensor> {
    let m = bool_mask(mask)?;
    let mut shape = m.shape().to_vec();
    let rank = shape.len() as isize + 1;
    let at = if axis < 0 { rank + axis } else { axis };
    shape.insert(at.clamp(0, rank - 1) as usize, 1);
    Ok(m.reshape(shape)?)
}

/// Element-wise AND of two 0/1 masks (broadcasting).
pub(crate) fn and(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    Ok(ops::mul(&bool_mask(a)?, &bool_mask(b)?)?)
}

/// The lower-triangular causal mask `(1, t, s)`: row `i` may attend to columns `j <= i`
/// (Keras: `cumsum` rows `>=` `cumsum` columns).
pub(crate) fn causal(t: usize, s: usize) -> Result<Tensor> {
    let data: Vec<f32> = (0..t).flat_map(|i| (0..s).map(move |j| f32::from(j <= i))).collect();
    Ok(Tensor::new(data, vec![1, t, s])?)
}

/// The banded sliding-window mask `(1, t, s)`: `|i - j| < window`.
pub(crate) fn sliding_window(t: usize, s: usize, window: usize) -> Result<Tensor> {
    let data: Vec<f32> =
        (0..t).flat_map(|i| (0..s).map(move |j| f32::from(i.abs_diff(j) < window))).collect();
    Ok(Tensor::new(data, vec![1, t, s])?)
}

/// The attention mask `(B, T, S)` of MultiHeadAttention and GroupedQueryAttention (Keras
/// `_compute_attention_mask`): the query mask `(B, T, 1)`, the value and key masks
/// `(B, 1, S)`, the causal and sliding-window masks `(1, T, S)` and an explicit
/// `attention_mask`, combined with AND; `None` when there is none.
pub(crate) fn combined(
    query: &Tensor,
    value: &Tensor,
    masks: [Option<&Tensor>; 3],
    attention_mask: Option<&Tensor>,
    causal_mask: bool,
    window: Option<usize>,
) -> Result<Option<Tensor>> {
    let [query_mask, value_mask, key_mask] = masks;
    let mut auto: Option<Tensor> = None;
    let mut push = |m: Tensor| -> Result<()> {
        auto = Some(match auto.take() {
            None => m,
            Some(a) => and(&a, &m)?,
        });
        Ok(())
    };
    if let Some(m) = query_mask {
        push(expand_dims(m, -1)?)?;
    }
    for m in [value_mask, key_mask].into_iter().flatten() {
        push(expand_dims(m, -2)?)?;
    }
    let (t, s) = (query.shape().get(1).copied().unwrap_or(1), value.shape().get(1).copied().unwrap_or(1));
    if causal_mask {
        push(causal(t, s)?)?;
    }
    if let Some(w) = window {
        push(sliding_window(t, s, w)?)?;
    }
    Ok(match (attention_mask, auto) {
        (None, auto) => auto,
        (Some(a), None) => Some(bool_mask(a)?),
        (Some(a), Some(m)) => Some(and(a, &m)?),
    })
}

/// `where(keep, x, fill)` for a 0/1 mask broadcast to `x`.
pub(crate) fn keep_or(x: &Tensor, keep: &Tensor, fill: f32) -> Result<Tensor> {
    let zeros = Tensor::zeros(x.shape().to_vec());
    let keep = ops::add(&zeros, &bool_mask(keep)?)?;
    select(&keep, x, &Tensor::scalar(fill))
}

/// Inverted dropout of `x` with `rate` (kept entries scaled by `1 / (1 - rate)`), drawing
/// from the layer's seeded generator when it has one, else from the global one.
pub(crate) fn dropout(x: &Tensor, rate: f32, seeded: &Mutex<Option<Rng>>) -> Result<Tensor> {
    if rate <= 0.0 {
        return Ok(x.clone());
    }
    let keep = 1.0 - rate;
    let n = x.numel();
    let make = |r: &mut Rng| -> Vec<f32> {
        (0..n).map(|_| if r.uniform_f32() < keep { 1.0 / keep } else { 0.0 }).collect()
    };
    let mask = {
        let mut guard = seeded.lock().unwrap_or_else(|e| e.into_inner());
        match guard.as_mut() {
            Some(r) => make(r),
            None => with_global_rng(make),
        }
    };
    Ok(ops::mul(x, &Tensor::new(mask, x.shape().to_vec())?)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causal_and_window_masks() {
        assert_eq!(causal(2, 3).unwrap().to_f32_vec(), vec![1., 0., 0., 1., 1., 0.]);
        assert_eq!(sliding_window(3, 3, 2).unwrap().to_f32_vec(), vec![1., 1., 0., 1., 1., 1., 0., 1., 1.]);
        let m = Tensor::new(vec![1.0, 0.0], [1, 2]).unwrap();
        assert_eq!(expand_dims(&m, -2).unwrap().shape(), &[1, 1, 2]);
        assert_eq!(expand_dims(&m, -1).unwrap().shape(), &[1, 2, 1]);
        let x = Tensor::new(vec![5.0, 6.0], [1, 2]).unwrap();
        assert_eq!(keep_or(&x, &m, -1.0).unwrap().to_f32_vec(), vec![5.0, -1.0]);
    }
}
