//! Inverted dropout with a one-byte keep mask: the host path of Keras's `Dropout` layer.
//!
//! Multiplying by a float32 mask tensor (what `ops::mul` would do) keeps a mask four times
//! larger for the backward pass, and that backward allocates a new gradient beside the
//! incoming one. At W2 b128 (the Dropout after MaxPooling2D) that moment was the training
//! step's memory peak; here the mask is one byte an element and the gradient is scaled in
//! place. The values are the same bits as `x * mask`.

use crate::autodiff::{record_owned_reading, Reads};
use crate::parallel::ELEMENTWISE_PARALLEL_MIN;
use crate::tensor::Tensor;
use crate::{bail, Result};

/// Elements a parallel task scales at a time.
const BLOCK: usize = 1 << 14;

/// `x[i] * (keep[i] ? scale : 0)`, differentiable with respect to `x` (the gradient is the
/// incoming one times the same factors). `keep` has one flag per element of `x`, in
/// row-major order; `scale` is `1 / (1 - rate)` for inverted dropout.
///
/// A GPU tensor is multiplied by the equivalent float32 mask on its device.
///
/// ```
/// use keras_engine::{ops, Tensor};
/// let x = Tensor::new(vec![1.0, 2.0, 3.0, 4.0], [2, 2]).unwrap();
/// let y = ops::dropout_with_mask(&x, vec![true, false, true, true], 2.0).unwrap();
/// assert_eq!(y.as_f32().unwrap(), &[2.0, 0.0, 6.0, 8.0]);
/// ```
pub fn dropout_with_mask(x: &Tensor, keep: Vec<bool>, scale: f32) -> Result<Tensor> {
    if keep.len() != x.numel() {
        bail!("dropout mask has {} elements for an input of shape {:?}", keep.len(), x.shape());
    }
    if x.device().is_cuda() {
        let mask: Vec<f32> = keep.iter().map(|&k| factor(k, scale)).collect();
        return crate::ops::mul(x, &Tensor::new(mask, x.shape().to_vec())?);
    }
    let xs = x.as_f32()?;
    let mut out = vec![0.0f32; xs.len()];
    for_blocks(&mut out, &keep, |o, k, at| {
        for ((o, &k), &x) in o.iter_mut().zip(k).zip(&xs[at..]) {
            *o = x * factor(k, scale);
        }
    });
    let out = Tensor::from_f32_unchecked(out, x.shape().to_vec());
    // The backward reads neither the input's values nor the output's.
    record_owned_reading(
        out,
        &[x],
        Reads { output: false, input_values: false },
        Box::new(move |gy, y, _inputs| {
            drop(y);
            let mut g = gy;
            // In place when the tape hands over the only reference (copy-on-write otherwise).
            let v = g.f32_mut()?;
            if v.len() != keep.len() {
                bail!("internal error: dropout gradient of {} values for {} mask flags", v.len(), keep.len());
            }
            for_blocks(v, &keep, |v, k, _| {
                for (v, &k) in v.iter_mut().zip(k) {
                    *v *= factor(k, scale);
                }
            });
            Ok(vec![Some(g)])
        }),
    )
}

/// The multiplier of one element: exactly the float32 mask value `x * mask` would use.
#[inline(always)]
fn factor(keep: bool, scale: f32) -> f32 {
    if keep {
        scale
    } else {
        0.0
    }
}

/// Runs `f(values, flags, offset)` over blocks of `v` and `keep`, in parallel for large ones.
fn for_blocks(v: &mut [f32], keep: &[bool], f: impl Fn(&mut [f32], &[bool], usize) + Sync) {
    if v.len() >= ELEMENTWISE_PARALLEL_MIN {
        use rayon::prelude::*;
        v.par_chunks_mut(BLOCK)
            .zip(keep.par_chunks(BLOCK))
            .enumerate()
            .for_each(|(i, (v, k))| f(v, k, i * BLOCK));
    } else {
        f(v, keep, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::check_grad;
    use crate::GradientTape;

    fn keep_flags(n: usize) -> Vec<bool> {
        (0..n).map(|i| (i * 7 + 3) % 5 != 0).collect()
    }

    #[test]
    fn values_and_gradient_are_the_bits_of_a_float_mask_product() {
        // Large enough for the parallel blocks, with a partial last block.
        let n = ELEMENTWISE_PARALLEL_MIN + BLOCK / 2 + 3;
        let xs: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin() * 3.0).collect();
        let keep = keep_flags(n);
        let scale = 1.0 / 0.8f32;
        let mask: Vec<f32> = keep.iter().map(|&k| if k { scale } else { 0.0 }).collect();
        let mask = Tensor::new(mask, [n]).unwrap();
        let cot: Vec<f32> = (0..n).map(|i| (i as f32 * 0.11).cos()).collect();
        let cot = Tensor::new(cot, [n]).unwrap();
        let x = Tensor::new(xs, [n]).unwrap().requiring_grad();
        let tape = GradientTape::new();
        let y = dropout_with_mask(&x, keep, scale).unwrap();
        let want = crate::ops::mul(&x, &mask).unwrap();
        let bits = |t: &Tensor| t.as_f32().unwrap().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&y), bits(&want));
        let g = tape.gradient_with(&y, &cot, &[&x]).unwrap()[0].clone().unwrap();
        let gw = tape.gradient_with(&want, &cot, &[&x]).unwrap()[0].clone().unwrap();
        assert_eq!(bits(&g), bits(&gw));
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let x = Tensor::new((0..12).map(|i| i as f32 * 0.3 - 1.7).collect(), [3, 4]).unwrap();
        check_grad(&[&x], |t| dropout_with_mask(t[0], keep_flags(12), 1.25), 1e-2);
    }

    #[test]
    fn a_mask_of_the_wrong_size_is_an_error() {
        let x = Tensor::new(vec![1.0; 6], [2, 3]).unwrap();
        let e = dropout_with_mask(&x, vec![true; 5], 2.0).unwrap_err();
        assert!(e.to_string().contains("5 elements for an input of shape [2, 3]"), "{e}");
    }
}
