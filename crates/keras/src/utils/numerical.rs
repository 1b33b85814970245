//! Numerical helpers (`keras.utils.to_categorical`).

use crate::{keras_bail, Result, Tensor};

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
        None => ids.iter().copied().max().map(|m| m as usize + 1).unwrap_or(0),
    };
    if let Some(bad) = ids.iter().find(|&&v| v as usize >= n) {
        keras_bail!(Value, "to_categorical: class id {bad} is out of range for num_classes={n}");
    }
    let mut shape = y.shape().to_vec();
    if shape.len() > 1 && shape.last() == Some(&1) {
        shape.pop();
    }
    shape.push(n);
    let mut data = vec![0.0f32; ids.len() * n];
    for (i, &c) in ids.iter().enumerate() {
        data[i * n + c as usize] = 1.0;
    }
    Ok(Tensor::new(data, shape)?)
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
    }
}
