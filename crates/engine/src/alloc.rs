//! Size checks and fallible allocation for buffers whose size comes from user input.
//!
//! A shape read from a file or an argument (`Dense(units=10**12)`, `to_categorical` with a huge
//! class id) must give an error, not a capacity-overflow panic or an allocation-failure abort.
//! [`checked_numel`] multiplies a shape without overflow and refuses buffers larger than
//! [`max_tensor_bytes`] (by default `isize::MAX`, Rust's limit on one allocation: 2 GiB on
//! 32-bit targets); [`try_filled`] asks the allocator first and returns an error when it
//! refuses. A service that builds models from untrusted files can lower the limit with
//! [`set_max_tensor_bytes`], so that a huge but allocatable weight is refused too.
//!
//! The checks cover the places where a size comes from an argument: the fallible tensor
//! constructors ([`crate::Tensor::try_zeros`], [`crate::Tensor::new`], ...), and in keras the
//! weight initializers and `to_categorical`. The kernels' outputs are sized from inputs that
//! already exist.

use std::sync::atomic::{AtomicUsize, Ordering};

use crate::{bail, Result};

static MAX_TENSOR_BYTES: AtomicUsize = AtomicUsize::new(isize::MAX as usize);

/// The largest buffer, in bytes, that [`checked_numel`] accepts.
pub fn max_tensor_bytes() -> usize {
    MAX_TENSOR_BYTES.load(Ordering::Relaxed)
}

/// Sets the largest buffer, in bytes, that [`checked_numel`] accepts (process-wide); `None`
/// restores the default, `isize::MAX`.
///
/// ```
/// use keras_engine::alloc::{checked_numel, set_max_tensor_bytes};
/// set_max_tensor_bytes(Some(1 << 20));
/// assert!(checked_numel(&[1024, 1024], 4).is_err()); // 4 MiB > 1 MiB
/// set_max_tensor_bytes(None);
/// assert!(checked_numel(&[1024, 1024], 4).is_ok());
/// ```
pub fn set_max_tensor_bytes(limit: Option<usize>) {
    let limit = limit.map_or(isize::MAX as usize, |l| l.min(isize::MAX as usize));
    MAX_TENSOR_BYTES.store(limit, Ordering::Relaxed);
}

/// The number of elements of `shape`, checked: errors when the product overflows `usize` or
/// when `elem_bytes`-byte elements would take more than [`max_tensor_bytes`].
///
/// ```
/// use keras_engine::alloc::checked_numel;
/// assert_eq!(checked_numel(&[2, 3], 4).unwrap(), 6);
/// assert!(checked_numel(&[usize::MAX, 2], 4).is_err());
/// ```
pub fn checked_numel(shape: &[usize], elem_bytes: usize) -> Result<usize> {
    let n = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
    match n {
        Some(n) if n.checked_mul(elem_bytes.max(1)).is_some_and(|b| b <= max_tensor_bytes()) => Ok(n),
        _ => bail!(
            "A tensor of shape {shape:?} is too large to allocate (limit: {} bytes)",
            max_tensor_bytes()
        ),
    }
}

/// A vector of `n` copies of `value`, or an error when the allocator cannot provide it
/// (where `vec![value; n]` would abort the process).
///
/// ```
/// use keras_engine::alloc::try_filled;
/// assert_eq!(try_filled(3, 1.5f32).unwrap(), vec![1.5; 3]);
/// assert!(try_filled(usize::MAX / 8, 0.0f32).is_err());
/// ```
pub fn try_filled<T: Clone>(n: usize, value: T) -> Result<Vec<T>> {
    let mut v = try_with_capacity(n)?;
    v.resize(n, value);
    Ok(v)
}

/// An empty vector with room for `n` elements, or an error when the allocator refuses.
pub fn try_with_capacity<T>(n: usize) -> Result<Vec<T>> {
    let mut v = Vec::new();
    if v.try_reserve_exact(n).is_err() {
        bail!("Cannot allocate {n} elements of {} bytes: out of memory", std::mem::size_of::<T>());
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overflowing_and_oversized_shapes_are_errors() {
        assert!(checked_numel(&[1 << 40, 1 << 40], 1).is_err());
        assert!(checked_numel(&[isize::MAX as usize / 2 + 1], 4).is_err());
        assert_eq!(checked_numel(&[], 4).unwrap(), 1);
        assert_eq!(checked_numel(&[0, usize::MAX], 4).unwrap(), 0);
    }

    #[test]
    #[cfg(target_pointer_width = "64")]
    fn refused_allocation_is_an_error() {
        // 2^62 bytes: within Rust's limit, but no allocator grants it.
        assert!(try_filled::<f32>(usize::MAX / 16, 0.0).is_err());
        assert!(try_with_capacity::<u8>(usize::MAX).is_err());
    }
}
