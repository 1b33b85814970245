//! Checks on user data and batching, with Keras's error messages.

use crate::{keras_bail, Result, Tensor};

/// Number of samples (first axis), or an error for a 0-d tensor.
pub fn num_samples(t: &Tensor, what: &str) -> Result<usize> {
    match t.shape().first() {
        Some(&n) => Ok(n),
        None => keras_bail!(Shape, "'{what}' must have a batch dimension, received a scalar"),
    }
}

/// Checks x / y / sample_weight agree on the number of samples and are not empty.
pub fn check_xy(x: &Tensor, y: Option<&Tensor>, sample_weight: Option<&Tensor>) -> Result<usize> {
    let n = num_samples(x, "x")?;
    if let Some(y) = y {
        let ny = num_samples(y, "y")?;
        if ny != n {
            keras_bail!(
                Value,
                "Data cardinality is ambiguous. Make sure all arrays contain the same number of samples. 'x' sizes: {n}, 'y' sizes: {ny}"
            );
        }
    }
    if let Some(w) = sample_weight {
        let nw = num_samples(w, "sample_weight")?;
        if nw != n {
            keras_bail!(
                Value,
                "Data cardinality is ambiguous. Make sure all arrays contain the same number of samples. 'x' sizes: {n}, 'sample_weight' sizes: {nw}"
            );
        }
    }
    if n == 0 {
        keras_bail!(Value, "Expected input data to be non-empty (received x with shape {:?})", x.shape());
    }
    Ok(n)
}

/// Checks a batch size argument.
pub fn check_batch_size(batch_size: usize) -> Result<()> {
    if batch_size == 0 {
        keras_bail!(
            InvalidArgument,
            "Invalid value for argument `batch_size`: expected a positive integer, received batch_size=0"
        );
    }
    Ok(())
}

/// `(start, end)` of each batch over `n` samples.
pub fn batch_ranges(n: usize, batch_size: usize) -> Vec<(usize, usize)> {
    (0..n.div_ceil(batch_size)).map(|b| (b * batch_size, ((b + 1) * batch_size).min(n))).collect()
}

/// The rows of `t` at `idx` (contiguous slice when `idx` is a range in order).
pub fn take(t: &Tensor, idx: &[usize]) -> Result<Tensor> {
    let contiguous = idx.windows(2).all(|w| w[1] == w[0] + 1);
    if contiguous && !idx.is_empty() {
        Ok(t.slice_rows(idx[0], idx[idx.len() - 1] + 1)?)
    } else {
        Ok(t.gather_rows(idx)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cardinality_and_batches() {
        let x = Tensor::zeros([10, 2]);
        let y = Tensor::zeros([9]);
        assert!(matches!(check_xy(&x, Some(&y), None), Err(crate::Error::Value(_))));
        assert!(check_xy(&Tensor::zeros([0, 2]), None, None).is_err());
        assert!(check_batch_size(0).is_err());
        assert_eq!(batch_ranges(10, 4), vec![(0, 4), (4, 8), (8, 10)]);
        assert_eq!(
            take(&Tensor::from_i32((0..5).collect(), [5]).unwrap(), &[3, 1]).unwrap().as_i32().unwrap(),
            &[3, 1]
        );
    }
}
