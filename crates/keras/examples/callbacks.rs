//! Training steered by callbacks, on the real MNIST digits shipped with keras-rs: the best
//! model is checkpointed, training stops when validation stops improving, the learning rate
//! drops on plateaus, and every epoch goes to a CSV file and to TensorBoard.
//!
//! ```text
//! cargo run --release -p keras --example callbacks -- --out DIR [--epochs N]
//! tensorboard --logdir DIR/logs
//! ```
//!
//! Writes `DIR/best_model.keras`, `DIR/training.csv` and `DIR/logs/{train,validation}`.

mod common;

use common::{arg, arg_str};
use std::path::PathBuf;

use keras::callbacks::{CSVLogger, EarlyStopping, ModelCheckpoint, ReduceLROnPlateau, TensorBoard};
use keras::layers::{Dense, Dropout, Input};
use keras::models::Sequential;
use keras::{EvaluateArgs, FitArgs, Tensor};

/// Flattens 28x28 digits to 784 features in [0, 1].
fn flat(x: &Tensor) -> keras::Result<Tensor> {
    let n = x.shape()[0];
    let v: Vec<f32> = x.as_f32()?.iter().map(|p| p / 255.0).collect();
    Ok(Tensor::new(v, [n, 784])?)
}

fn main() -> keras::Result<()> {
    let out = PathBuf::from(arg_str("--out").unwrap_or_else(|| "callbacks_out".into()));
    let epochs: usize = arg("--epochs", 20);
    std::fs::create_dir_all(&out)?;
    keras::utils::set_random_seed(42);

    let ((x_train, y_train), (x_test, y_test)) = keras::datasets::mnist::load_data()?;
    let (x_train, x_test) = (flat(&x_train)?, flat(&x_test)?);

    let mut model = Sequential::new().with_name("mnist_mlp");
    model.add(Input::new(&[784]))?;
    model.add(Dense::new(128).activation("relu"))?;
    model.add(Dropout::new(0.2))?;
    model.add(Dense::new(10).activation("softmax"))?;
    model.compile("adam", "sparse_categorical_crossentropy", &["accuracy"])?;

    let mut checkpoint = ModelCheckpoint::new(out.join("best_model.keras"))
        .monitor("val_loss")
        .save_best_only(true)
        .verbose(1);
    let mut early =
        EarlyStopping::new().monitor("val_loss").patience(3).restore_best_weights(true).verbose(1);
    let mut plateau =
        ReduceLROnPlateau::new().monitor("val_loss").factor(0.5).patience(1).min_lr(1e-5).verbose(1);
    let mut csv = CSVLogger::new(out.join("training.csv"));
    let mut board = TensorBoard::new(out.join("logs")).histogram_freq(1);

    let history = model.fit(
        &x_train,
        &y_train,
        FitArgs::default()
            .epochs(epochs)
            .batch_size(64)
            .validation_split(0.1)
            .verbose(2)
            .callback(&mut checkpoint)
            .callback(&mut early)
            .callback(&mut plateau)
            .callback(&mut csv)
            .callback(&mut board),
    )?;

    let ran = history.epoch.len();
    match early.stopped_epoch {
        0 => println!("Trained all {ran} epochs."),
        e => println!("Stopped early after epoch {} (best: epoch {}).", e + 1, early.best_epoch + 1),
    }
    println!("Learning rates: {:?}", history.history["learning_rate"]);
    let test = model.evaluate(&x_test, &y_test, EvaluateArgs::default().verbose(0))?;
    println!("Test accuracy (restored best weights): {:.4}", test["accuracy"]);

    // The checkpoint is a complete model: it loads and predicts without the code above.
    let best = keras::saving::load_model(out.join("best_model.keras"))?;
    let reloaded = best.predict(&x_test.slice_rows(0, 5)?, keras::PredictArgs::default().verbose(0))?;
    println!("Checkpoint reloaded: predictions of shape {:?}", reloaded[0].shape());
    println!(
        "Wrote {}, {} and {}",
        out.join("best_model.keras").display(),
        out.join("training.csv").display(),
        out.join("logs").display()
    );
    println!("View the curves with: tensorboard --logdir {}", out.join("logs").display());
    Ok(())
}
