//! MNIST digits (`keras.datasets.mnist`): the 10,000 real MNIST images shipped with keras-rs
//! (see `data/SOURCES.md`), split 8,000 / 2,000 into train / test.

use super::idx;
use crate::{Result, Tensor};

/// Images and labels: `x` is float32 `(n, 28, 28)` with raw pixel values 0..255 (Keras gives
/// uint8), `y` is int32 `(n,)` with digits 0..9.
pub type Split = (Tensor, Tensor);

/// Number of shipped images that go to the training split.
pub const TRAIN_SIZE: usize = 8000;

/// `((x_train, y_train), (x_test, y_test))` as Keras's `mnist.load_data()`, from the
/// bundled files.
///
/// ```no_run
/// let ((x_train, y_train), (x_test, y_test)) = keras::datasets::mnist::load_data().unwrap();
/// assert_eq!(x_train.shape(), &[8000, 28, 28]);
/// ```
pub fn load_data() -> Result<(Split, Split)> {
    idx::load_bundled("mnist", "mnist10k", TRAIN_SIZE)
}

#[cfg(test)]
mod tests {
    #[test]
    fn bundled_mnist_loads() {
        let ((xt, yt), (xs, ys)) = super::load_data().unwrap();
        assert_eq!(xt.shape(), &[8000, 28, 28]);
        assert_eq!(yt.shape(), &[8000]);
        assert_eq!(xs.shape(), &[2000, 28, 28]);
        assert_eq!(ys.shape(), &[2000]);
        assert!(yt.as_i32().unwrap().iter().all(|&v| (0..10).contains(&v)));
        let mx = xt.as_f32().unwrap().iter().cloned().fold(0.0, f32::max);
        assert_eq!(mx, 255.0);
    }
}
