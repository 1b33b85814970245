//! The canonical Keras CNN, trained on real MNIST digits shipped with keras-rs.
//!
//! The model is exactly the Keras example (input 32x32x3): each 28x28 grey digit is padded
//! with 2 black pixels on every side and repeated over 3 channels, pixels scaled to [0, 1].
//!
//! ```text
//! cargo run --release -p keras --example mnist_cnn [-- --epochs N --batch-size N]
//! ```

mod common;

use common::{arg, fit_and_report};
use keras::layers::{Conv2D, Dense, Dropout, Flatten, MaxPooling2D};
use keras::models::Sequential;
use keras::optimizers::Adam;
use keras::utils::to_categorical;
use keras::{FitArgs, Tensor};

/// Pads 28x28 digits to 32x32, repeats them over 3 channels, scales to [0, 1].
fn to_rgb32(x: &Tensor) -> keras::Result<Tensor> {
    let n = x.shape()[0];
    let src = x.as_f32()?;
    let mut out = vec![0.0f32; n * 32 * 32 * 3];
    for i in 0..n {
        for r in 0..28 {
            for c in 0..28 {
                let v = src[(i * 28 + r) * 28 + c] / 255.0;
                let o = ((i * 32 + r + 2) * 32 + c + 2) * 3;
                out[o..o + 3].fill(v);
            }
        }
    }
    Ok(Tensor::new(out, [n, 32, 32, 3])?)
}

fn main() -> keras::Result<()> {
    let epochs = arg("--epochs", 8);
    let batch_size = arg("--batch-size", 32);
    keras::utils::set_random_seed(42);
    let num_classes = 10;

    let ((x_train, y_train), (x_held, y_held)) = keras::datasets::mnist::load_data()?;
    // The held-out images: the first 500 validate after each epoch (the seed example's
    // validation_data), the rest are the test set, never seen during training.
    let n = x_held.shape()[0];
    let (x_val, y_val) = (to_rgb32(&x_held.slice_rows(0, 500)?)?, y_held.slice_rows(0, 500)?);
    let (x_test, y_test) = (to_rgb32(&x_held.slice_rows(500, n)?)?, y_held.slice_rows(500, n)?);
    let x_train = to_rgb32(&x_train)?;
    let y_train = to_categorical(&y_train, Some(num_classes))?;
    let y_val = to_categorical(&y_val, Some(num_classes))?;
    let y_test = to_categorical(&y_test, Some(num_classes))?;
    println!(
        "MNIST (shipped): {} train, {} validation, {} test images, padded to 32x32x3",
        x_train.shape()[0],
        x_val.shape()[0],
        x_test.shape()[0]
    );

    let mut model = Sequential::new();
    model.add(Conv2D::new(32, [3, 3]).activation("relu").input_shape(&[32, 32, 3]))?;
    model.add(Conv2D::new(64, [3, 3]).activation("relu"))?;
    model.add(MaxPooling2D::new([2, 2]))?;
    model.add(Dropout::new(0.2))?;
    model.add(Flatten::new())?;
    model.add(Dense::new(128).activation("relu"))?;
    model.add(Dropout::new(0.2))?;
    model.add(Dense::new(num_classes).activation("softmax"))?;
    model.compile(Adam::new(), "categorical_crossentropy", &["accuracy"])?;
    model.summary();

    let args = FitArgs::default().validation_data(&x_val, &y_val).epochs(epochs).batch_size(batch_size);
    fit_and_report(&mut model, (&x_train, &y_train), (&x_test, &y_test), args)
}
