//! A BatchNormalization CNN on the real Fashion-MNIST images shipped with keras-rs
//! (`keras::datasets::fashion_mnist`: 8,000 train / 2,000 test, 1,000 per class in all).
//!
//! Two `Conv2D -> BatchNormalization -> ReLU -> MaxPooling2D` stages (32 and 64 filters; the
//! convolutions have no bias: BatchNormalization's `beta` replaces it), then
//! `Dense(128) -> BatchNormalization -> ReLU -> Dropout -> Dense(10, softmax)`; Adam, sparse
//! categorical crossentropy, 10% of the training images held out for validation.
//!
//! ```text
//! cargo run --release -p keras --example fashion_mnist_bn_cnn [-- --epochs N --batch-size N]
//! ```

mod common;

use common::{arg, fashion_mnist_nhwc, fit_and_report};
use keras::layers::{Activation, BatchNormalization, Conv2D, Dense, Dropout, Flatten, Input, MaxPooling2D};
use keras::models::Sequential;
use keras::optimizers::Adam;
use keras::FitArgs;

/// BatchNormalization's moving-average momentum. Keras's default 0.99 averages over ~100
/// steps, about one epoch here, so after a short run the moving statistics still lag the
/// weights and the inference-mode accuracy trails the training one; 0.9 follows them closely.
const BN_MOMENTUM: f64 = 0.9;

/// `Conv2D(filters, 3x3, same, no bias) -> BatchNormalization -> ReLU`.
fn conv_bn_relu(model: &mut Sequential, filters: usize) -> keras::Result<()> {
    model.add(Conv2D::new(filters, [3, 3]).padding("same").use_bias(false))?;
    model.add(BatchNormalization::new().momentum(BN_MOMENTUM))?;
    model.add(Activation::new("relu"))?;
    Ok(())
}

fn main() -> keras::Result<()> {
    let epochs = arg("--epochs", 5);
    let batch_size = arg("--batch-size", 64);
    keras::utils::set_random_seed(42);

    let ((x_train, y_train), (x_test, y_test)) = fashion_mnist_nhwc()?;

    let mut model = Sequential::new();
    model.add(Input::new(&[28, 28, 1]))?;
    conv_bn_relu(&mut model, 32)?;
    model.add(MaxPooling2D::new([2, 2]))?;
    conv_bn_relu(&mut model, 64)?;
    model.add(MaxPooling2D::new([2, 2]))?;
    model.add(Flatten::new())?;
    model.add(Dense::new(128).use_bias(false))?;
    model.add(BatchNormalization::new().momentum(BN_MOMENTUM))?;
    model.add(Activation::new("relu"))?;
    model.add(Dropout::new(0.3))?;
    model.add(Dense::new(10).activation("softmax"))?;
    model.compile(Adam::new(), "sparse_categorical_crossentropy", &["accuracy"])?;
    model.summary();

    let args = FitArgs::default().validation_split(0.1).epochs(epochs).batch_size(batch_size);
    fit_and_report(&mut model, (&x_train, &y_train), (&x_test, &y_test), args)
}
