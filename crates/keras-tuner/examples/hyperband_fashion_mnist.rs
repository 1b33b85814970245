//! Hyperband tunes a small CNN on the shipped Fashion-MNIST: the dense layer's units, the
//! dropout rate and the learning rate, with early stopping inside every trial; then prints
//! keras-tuner's results summary and the best model's test accuracy.
//!
//! ```sh
//! cargo run --release -p keras-tuner --example hyperband_fashion_mnist
//! cargo run --release -p keras-tuner --example hyperband_fashion_mnist -- --max-epochs 9 --train 8000
//! ```
//! Run it again to resume (or show) the search in `tuning/fashion_mnist`; `--overwrite`
//! starts afresh.

use keras::callbacks::EarlyStopping;
use keras::layers::{Conv2D, Dense, Dropout, Flatten, Input, MaxPooling2D};
use keras::models::Sequential;
use keras::optimizers::Adam;
use keras::{EvaluateArgs, Tensor};
use keras_tuner::{HyperParameters, Hyperband, SearchArgs};

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `[n, 28, 28]` pixels in 0..255 to `[n, 28, 28, 1]` in 0..1.
fn images(x: &Tensor) -> keras::Result<Tensor> {
    let n = x.shape()[0];
    let v: Vec<f32> = x.as_f32()?.iter().map(|p| p / 255.0).collect();
    Ok(Tensor::new(v, [n, 28, 28, 1])?)
}

fn build(hp: &mut HyperParameters) -> keras_tuner::Result<Sequential> {
    let mut model = Sequential::new();
    model.add(Input::new(&[28, 28, 1]))?;
    model.add(Conv2D::new(16, [3, 3]).activation("relu"))?;
    model.add(MaxPooling2D::new([2, 2]))?;
    model.add(Conv2D::new(32, [3, 3]).activation("relu"))?;
    model.add(MaxPooling2D::new([2, 2]))?;
    model.add(Flatten::new())?;
    let units = hp.int("units", 32, 256).step(32).value()?;
    model.add(Dense::new(units as usize).activation("relu"))?;
    let dropout = hp.float("dropout", 0.0, 0.5).step(0.1).value()?;
    model.add(Dropout::new(dropout as f32))?;
    model.add(Dense::new(10).activation("softmax"))?;
    let lr = hp.choice("learning_rate", [1e-2, 3e-3, 1e-3]).value()?.as_f64().unwrap_or(1e-3);
    model.compile(Adam::new().learning_rate(lr as f32), "sparse_categorical_crossentropy", &["accuracy"])?;
    Ok(model)
}

fn main() -> keras_tuner::Result<()> {
    let max_epochs = arg("--max-epochs", 6) as i64;
    let n_train = arg("--train", 4000);
    let overwrite = std::env::args().any(|a| a == "--overwrite");
    let ((x_train, y_train), (x_test, y_test)) = keras::datasets::fashion_mnist::load_data()?;
    let n_train = n_train.min(x_train.shape()[0]);
    let x = images(&x_train.slice_rows(0, n_train)?)?;
    let y = y_train.slice_rows(0, n_train)?;
    // The first 1,000 test images validate during the search; the other 1,000 test the winner.
    let (x_val, y_val) = (images(&x_test.slice_rows(0, 1000)?)?, y_test.slice_rows(0, 1000)?);
    let (x_hold, y_hold) = (images(&x_test.slice_rows(1000, 2000)?)?, y_test.slice_rows(1000, 2000)?);
    println!("Fashion-MNIST (shipped): {n_train} train, 1000 validation, 1000 test images");

    let tuner = Hyperband::new(build)
        .objective("val_accuracy")
        .max_epochs(max_epochs)
        .factor(3)
        .seed(7)
        .directory("tuning")
        .project_name("fashion_mnist")
        .overwrite(overwrite)
        .build()?;
    tuner.search_space_summary();
    let args = SearchArgs::default()
        .batch_size(64)
        .verbose(0)
        .validation_data(&x_val, &y_val)
        .callback(|| EarlyStopping::new().monitor("val_loss").patience(2));
    tuner.search(&x, &y, args)?;
    tuner.results_summary(3);

    let mut best = tuner.get_best_models(1)?.remove(0);
    let logs = best.evaluate(&x_hold, &y_hold, EvaluateArgs::default().verbose(0))?;
    let trials = tuner.trials();
    let epochs: i64 = trials
        .iter()
        .map(|t| {
            let v = t.hyperparameters.values();
            let get = |k: &str| v.get(k).and_then(|x| x.as_i64()).unwrap_or(0);
            get("tuner/epochs") - get("tuner/initial_epoch")
        })
        .sum();
    println!(
        "\n{} trials ({} epochs scheduled); best model on the 1000 held-out test images: accuracy {:.4}, loss {:.4}",
        trials.len(),
        epochs,
        logs["accuracy"],
        logs["loss"]
    );
    Ok(())
}
