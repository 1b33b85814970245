//! A residual CNN built with the Functional API, trained on the Fashion-MNIST images shipped
//! with keras-rs (`keras::datasets::fashion_mnist`: 8,000 train / 2,000 test).
//!
//! A stem `Conv2D -> BatchNormalization -> ReLU`, then two residual blocks (two 3x3
//! convolutions with BatchNormalization, added to the block's input with `Add`; the second
//! block halves the resolution and doubles the filters, so its skip connection is a strided
//! 1x1 projection), `GlobalAveragePooling2D` and a softmax classifier.
//!
//! ```text
//! cargo run --release -p keras --example functional_residual_cnn [-- --epochs N --batch-size N]
//! ```

mod common;

use common::{arg, fashion_mnist_nhwc, fit_and_report};
use keras::layers::{
    Activation, Add, BatchNormalization, Conv2D, Dense, GlobalAveragePooling2D, MaxPooling2D,
};
use keras::models::{Model, SymbolicCall};
use keras::optimizers::Adam;
use keras::{FitArgs, Input, KerasTensor, Result};

/// `Conv2D(filters, k, same, no bias, strides) -> BatchNormalization`.
fn conv_bn(x: &KerasTensor, filters: usize, k: usize, strides: usize) -> Result<KerasTensor> {
    let h =
        Conv2D::new(filters, [k, k]).strides([strides, strides]).padding("same").use_bias(false).apply(x)?;
    BatchNormalization::new().momentum(0.9).apply(&h)
}

/// A residual block: `relu(bn(conv(relu(bn(conv(x))))) + shortcut(x))`; the shortcut is the
/// identity, or a strided 1x1 projection when the shape changes.
fn residual_block(x: &KerasTensor, filters: usize, strides: usize) -> Result<KerasTensor> {
    let h = conv_bn(x, filters, 3, strides)?;
    let h = Activation::new("relu").apply(&h)?;
    let h = conv_bn(&h, filters, 3, 1)?;
    let in_filters = x.shape().last().copied().flatten();
    let shortcut = if strides == 1 && in_filters == Some(filters) {
        x.clone()
    } else {
        conv_bn(x, filters, 1, strides)?
    };
    let sum = Add::new().apply_list(&[&h, &shortcut])?;
    Activation::new("relu").apply(&sum)
}

fn main() -> Result<()> {
    let epochs = arg("--epochs", 5);
    let batch_size = arg("--batch-size", 64);
    keras::utils::set_random_seed(42);

    let ((x_train, y_train), (x_test, y_test)) = fashion_mnist_nhwc()?;

    let image = Input::named(&[28, 28, 1], "image");
    let h = conv_bn(&image, 16, 3, 1)?;
    let h = Activation::new("relu").apply(&h)?;
    let h = MaxPooling2D::new([2, 2]).apply(&h)?; // 14x14
    let h = residual_block(&h, 16, 1)?;
    let h = residual_block(&h, 32, 2)?; // 7x7
    let h = GlobalAveragePooling2D::new().apply(&h)?;
    let probs = Dense::new(10).activation("softmax").name("probs").apply(&h)?;
    let mut model = Model::named("residual_cnn", &[image], &[probs])?;
    model.compile(Adam::new().learning_rate(3e-3), "sparse_categorical_crossentropy", &["accuracy"])?;
    model.summary();

    let args = FitArgs::default().validation_split(0.1).epochs(epochs).batch_size(batch_size);
    fit_and_report(&mut model, (&x_train, &y_train), (&x_test, &y_test), args)
}
