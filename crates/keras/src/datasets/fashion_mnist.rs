//! Fashion-MNIST (`keras.datasets.fashion_mnist`): the 10,000 real Fashion-MNIST images shipped
//! with keras-rs (1,000 per class, see `data/SOURCES.md`), split 8,000 / 2,000 into train /
//! test.
//!
//! Classes: 0 T-shirt/top, 1 Trouser, 2 Pullover, 3 Dress, 4 Coat, 5 Sandal, 6 Shirt,
//! 7 Sneaker, 8 Bag, 9 Ankle boot.

use super::idx;
use crate::{Result, Tensor};

/// Images and labels: `x` is float32 `(n, 28, 28)` with raw pixel values 0..255 (Keras gives
/// uint8), `y` is int32 `(n,)` with classes 0..9.
pub type Split = (Tensor, Tensor);

/// Number of shipped images that go to the training split.
pub const TRAIN_SIZE: usize = 8000;

/// The class names, indexed by label.
pub const CLASS_NAMES: [&str; 10] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];

/// `((x_train, y_train), (x_test, y_test))` as Keras's `fashion_mnist.load_data()`, from the
/// bundled files.
///
/// ```no_run
/// let ((x_train, y_train), (x_test, y_test)) = keras::datasets::fashion_mnist::load_data().unwrap();
/// assert_eq!(x_train.shape(), &[8000, 28, 28]);
/// ```
pub fn load_data() -> Result<(Split, Split)> {
    idx::load_bundled("fashion_mnist", "fashion10k", TRAIN_SIZE)
}

#[cfg(test)]
mod tests {
    #[test]
    fn bundled_fashion_mnist_loads_balanced() {
        let ((xt, yt), (xs, ys)) = super::load_data().unwrap();
        assert_eq!(xt.shape(), &[8000, 28, 28]);
        assert_eq!(yt.shape(), &[8000]);
        assert_eq!(xs.shape(), &[2000, 28, 28]);
        assert_eq!(ys.shape(), &[2000]);
        let mut counts = [0usize; 10];
        for &v in ys.as_i32().unwrap() {
            counts[v as usize] += 1;
        }
        assert_eq!(counts, [200; 10]);
        let mx = xt.as_f32().unwrap().iter().cloned().fold(0.0, f32::max);
        assert_eq!(mx, 255.0);
    }
}
