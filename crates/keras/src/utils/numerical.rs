//! Numerical helpers (`keras.utils.to_categorical`, `keras.utils.normalize`).

use crate::{keras_bail, Error, Result, Tensor};

/// One-hot encodes integer class ids (Keras `keras.utils.to_categorical`). With
/// `num_classes = None` the number of classes is `max(y) + 1`. A trailing axis of size 1 is
/// squeezed first, as Keras does.
pub fn to_categorical(y: &Tensor, num_classes: Option<usize>) -> Result<Tensor> {
    let ids = y.to_i64_vec();
    if let Some(bad) = ids.iter().find(|&&v| v < 0) {
        keras_bail!(Value, "to_categorical: class ids must be >= 0, received {bad}");
    }
    let n = match num_classes {
        Some(n) => n,
        None => match ids.iter().copied().max() {
            // A class id that does not fit in usize cannot be in range of any num_classes.
            Some(m) => usize::try_from(m)
                .ok()
                .and_then(|m| m.checked_add(1))
                .ok_or_else(|| Error::Value(format!("to_categorical: class id {m} is too large")))?,
            None => 0,
        },
    };
    if let Some(bad) = ids.iter().find(|&&v| usize::try_from(v).map_or(true, |v| v >= n)) {
        keras_bail!(Value, "to_categorical: class id {bad} is out of range for num_classes={n}");
    }
    let mut shape = y.shape().to_vec();
    if shape.len() > 1 && shape.last() == Some(&1) {
        shape.pop();
    }
    shape.push(n);
    // The one-hot matrix can be far larger than `y` (a huge class id): check before allocating.
    let len = keras_engine::alloc::checked_numel(&shape, 4)?;
    let mut data = keras_engine::alloc::try_filled(len, 0.0f32)?;
    for (i, &c) in ids.iter().enumerate() {
        data[i * n + c as usize] = 1.0;
    }
    Ok(Tensor::new(data, shape)?)
}

/// Normalizes `x` to unit norm along `axis` (Keras `keras.utils.normalize`; negative axes count
/// from the end). `order` is the norm's exponent (`1` for L1, `2` for L2) and must be >= 1.
///
/// Follows Keras's tensor path (`keras.ops.normalize`, epsilon 1e-7): order 2 computes
/// `x * min(1/sqrt(sum(x^2)), 1/epsilon)`, other orders `x / max(norm, epsilon)`, so rows whose
/// norm is zero stay zero. Keras 3.15's NumPy path cannot normalize axis 0 (it silently turns
/// `axis=0` into `-1`, oracle README note 16); here every axis works. Integer inputs give float32.
///
/// ```
/// use keras::utils::normalize;
/// let x = keras::Tensor::new(vec![3.0, 4.0, 0.0, 0.0], [2, 2]).unwrap();
/// let y = normalize(&x, -1, 2).unwrap();
/// assert_eq!(y.as_f32().unwrap(), &[0.6, 0.8, 0.0, 0.0]);
/// ```
pub fn normalize(x: &Tensor, axis: isize, order: u32) -> Result<Tensor> {
    if order < 1 {
        keras_bail!(
            InvalidArgument,
            "normalize: argument `order` must be an int >= 1. Received: order={order}"
        );
    }
    // A scalar is normalized as a vector of one element, as Keras does.
    let shape: Vec<usize> = if x.rank() == 0 { vec![1] } else { x.shape().to_vec() };
    let rank = shape.len() as isize;
    let ax = if axis < 0 { axis + rank } else { axis };
    if ax < 0 || ax >= rank {
        keras_bail!(InvalidArgument, "normalize: axis {axis} is out of bounds for an input of rank {rank}");
    }
    let ax = ax as usize;
    let (outer, n, inner) =
        (shape[..ax].iter().product::<usize>(), shape[ax], shape[ax + 1..].iter().product::<usize>());
    let v = x.to_f32_vec();
    let mut out = vec![0.0f32; v.len()];
    const EPSILON: f64 = 1e-7;
    for o in 0..outer {
        for i in 0..inner {
            let at = |k: usize| (o * n + k) * inner + i;
            let scale = if order == 2 {
                let sq: f64 = (0..n).map(|k| (v[at(k)] as f64).powi(2)).sum();
                (1.0 / sq.sqrt()).min(1.0 / EPSILON)
            } else {
                let s: f64 = (0..n).map(|k| (v[at(k)] as f64).abs().powi(order as i32)).sum();
                1.0 / s.powf(1.0 / order as f64).max(EPSILON)
            };
            for k in 0..n {
                out[at(k)] = (v[at(k)] as f64 * scale) as f32;
            }
        }
    }
    Ok(Tensor::new(out, shape)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_hot() {
        let y = Tensor::from_i32(vec![0, 2, 1], [3]).unwrap();
        let t = to_categorical(&y, None).unwrap();
        assert_eq!(t.shape(), &[3, 3]);
        assert_eq!(t.as_f32().unwrap(), &[1., 0., 0., 0., 0., 1., 0., 1., 0.]);
        assert!(to_categorical(&y, Some(2)).is_err());
        let col = Tensor::from_i32(vec![1, 0], [2, 1]).unwrap();
        assert_eq!(to_categorical(&col, Some(2)).unwrap().shape(), &[2, 2]);
        assert!(to_categorical(&Tensor::from_i32(vec![-1], [1]).unwrap(), None).is_err());
    }

    #[test]
    fn normalize_any_axis_and_orders() {
        let x = Tensor::new(vec![3.0, 0.0, 4.0, 0.0], [2, 2]).unwrap();
        // Axis 0: columns [3, 4] and [0, 0].
        assert_eq!(normalize(&x, 0, 2).unwrap().as_f32().unwrap(), &[0.6, 0.0, 0.8, 0.0]);
        let l1 = normalize(&x, 0, 1).unwrap();
        let want = [3.0 / 7.0, 0.0, 4.0 / 7.0, 0.0];
        for (g, w) in l1.as_f32().unwrap().iter().zip(want) {
            assert!((g - w).abs() < 1e-6);
        }
        assert!(normalize(&x, 2, 2).is_err());
        assert!(normalize(&x, -3, 2).is_err());
        assert!(normalize(&x, -1, 0).is_err());
        assert_eq!(normalize(&Tensor::scalar(-2.0), -1, 2).unwrap().as_f32().unwrap(), &[-1.0]);
    }
}
