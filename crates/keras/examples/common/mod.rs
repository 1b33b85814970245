//! What the examples share: their `--name value` arguments, the scaling of Fashion-MNIST's
//! pixels, and the fit-then-evaluate report of the classification examples. Cargo does not
//! build this folder as an example of its own; each example takes it with `mod common;`.

// Each example uses only some of these.
#![allow(dead_code)]

use keras::trainers::{trainer, TrainModel};
use keras::{EvaluateArgs, FitArgs, Result, Tensor};

/// The value after `name` on the command line (`--epochs 3`), or `default` when it is absent
/// or does not parse.
pub fn arg<T: std::str::FromStr>(name: &str, default: T) -> T {
    arg_str(name).and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The text after `name` on the command line, if any.
pub fn arg_str(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned()
}

/// `(n, 28, 28)` pixels 0..255 -> `(n, 28, 28, 1)` in [0, 1].
pub fn to_nhwc(x: &Tensor) -> Result<Tensor> {
    let n = x.shape()[0];
    let v: Vec<f32> = x.as_f32()?.iter().map(|p| p / 255.0).collect();
    Ok(Tensor::new(v, [n, 28, 28, 1])?)
}

/// The shipped Fashion-MNIST (`keras::datasets::fashion_mnist`) with its images as
/// `(n, 28, 28, 1)` in [0, 1] ([`to_nhwc`]), after printing its size.
pub fn fashion_mnist_nhwc() -> Result<((Tensor, Tensor), (Tensor, Tensor))> {
    let ((x_train, y_train), (x_test, y_test)) = keras::datasets::fashion_mnist::load_data()?;
    let (x_train, x_test) = (to_nhwc(&x_train)?, to_nhwc(&x_test)?);
    println!(
        "Fashion-MNIST (shipped): {} train, {} test images of 28x28x1, 10 classes",
        x_train.shape()[0],
        x_test.shape()[0]
    );
    Ok(((x_train, y_train), (x_test, y_test)))
}

/// Keras `model.fit(x, y, ...)` timed, then `model.evaluate(x_test, y_test)`: prints the
/// History and the test accuracy (the model is compiled with the `accuracy` metric).
pub fn fit_and_report(
    model: &mut dyn TrainModel,
    (x, y): (&Tensor, &Tensor),
    (x_test, y_test): (&Tensor, &Tensor),
    args: FitArgs,
) -> Result<()> {
    let epochs = args.epochs;
    let start = std::time::Instant::now();
    let history = trainer::fit(model, x.into(), Some(y.into()), args)?;
    let secs = start.elapsed().as_secs_f64();
    println!("\nHistory:\n{history}");
    let logs =
        trainer::evaluate(model, x_test.into(), Some(y_test.into()), EvaluateArgs::default().verbose(0))?;
    println!(
        "Test accuracy: {:.4} (loss {:.4}) after {epochs} epochs, training took {secs:.1} s",
        logs["accuracy"], logs["loss"]
    );
    Ok(())
}
