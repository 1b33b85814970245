//! Helpers the crate's unit tests share.

use crate::Tensor;

/// The tensor of `v` in shape `s` (a test's own input, so a mismatch panics).
pub(crate) fn t(v: Vec<f32>, s: &[usize]) -> Tensor {
    Tensor::new(v, s.to_vec()).unwrap()
}
