//! Bayesian optimization of an MLP on the shipped wine data set (scikit-learn's
//! `load_wine`, 178 samples, 13 features, 3 classes): depth, width, activation, dropout and
//! learning rate, with a conditional hyperparameter (the second layer's width exists only
//! for two-layer models); prints keras-tuner's results summary and the best model's
//! accuracy on held-out samples.
//!
//! ```sh
//! cargo run --release -p keras-tuner --example bayesian_wine
//! ```

use std::path::Path;

use keras::callbacks::EarlyStopping;
use keras::layers::{Dense, Dropout, Input};
use keras::models::Sequential;
use keras::optimizers::Adam;
use keras::{EvaluateArgs, Tensor};
use keras_tuner::{BayesianOptimization, HyperParameters, SearchArgs};

/// Standardises the columns with the training rows' mean and spread.
fn standardise(x: &[f32], cols: usize, train_rows: &[usize]) -> Vec<f32> {
    let mut out = x.to_vec();
    for c in 0..cols {
        let vals: Vec<f32> = train_rows.iter().map(|&r| x[r * cols + c]).collect();
        let mean = vals.iter().sum::<f32>() / vals.len() as f32;
        let sd = (vals.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / vals.len() as f32).sqrt().max(1e-6);
        for r in 0..x.len() / cols {
            out[r * cols + c] = (x[r * cols + c] - mean) / sd;
        }
    }
    out
}

fn rows(x: &[f32], y: &[i32], cols: usize, idx: &[usize]) -> keras::Result<(Tensor, Tensor)> {
    let xs: Vec<f32> = idx.iter().flat_map(|&r| x[r * cols..(r + 1) * cols].to_vec()).collect();
    let ys: Vec<i32> = idx.iter().map(|&r| y[r]).collect();
    Ok((Tensor::new(xs, [idx.len(), cols])?, Tensor::from_i32(ys, [idx.len()])?))
}

fn build(hp: &mut HyperParameters) -> keras_tuner::Result<Sequential> {
    let mut model = Sequential::new();
    model.add(Input::new(&[13]))?;
    let layers = hp.int("layers", 1, 2).value()?;
    let units = hp.int("units_0", 8, 128).sampling("log").value()?;
    let activation = hp.choice("activation", ["relu", "tanh"]).value()?;
    let activation = activation.as_str().unwrap_or("relu").to_string();
    model.add(Dense::new(units as usize).activation(&activation))?;
    let second =
        hp.conditional_scope("layers", [2i64], |hp| hp.int("units_1", 8, 128).sampling("log").value_opt())?;
    if let (2, Some(u)) = (layers, second) {
        model.add(Dense::new(u as usize).activation(&activation))?;
    }
    model.add(Dropout::new(hp.float("dropout", 0.0, 0.5).value()? as f32))?;
    model.add(Dense::new(3).activation("softmax"))?;
    let lr = hp.float("learning_rate", 1e-4, 3e-2).sampling("log").value()?;
    model.compile(Adam::new().learning_rate(lr as f32), "sparse_categorical_crossentropy", &["accuracy"])?;
    Ok(model)
}

fn main() -> keras_tuner::Result<()> {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/wine");
    let x = keras::io::npy::read(data.join("x.npy"))?;
    let y = keras::io::npy::read(data.join("y.npy"))?;
    let n = x.shape()[0];
    let (x, y) = (x.as_f32()?.to_vec(), y.as_i32()?.to_vec());
    // A fixed shuffle (the file is sorted by class): 100 train, 38 validation, 40 test.
    let mut order: Vec<usize> = (0..n).collect();
    let mut s = 12345u64;
    for i in (1..n).rev() {
        s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        order.swap(i, (s >> 33) as usize % (i + 1));
    }
    let (train, rest) = order.split_at(100);
    let (val, test) = rest.split_at(38);
    let x = standardise(&x, 13, train);
    let (x_train, y_train) = rows(&x, &y, 13, train)?;
    let (x_val, y_val) = rows(&x, &y, 13, val)?;
    let (x_test, y_test) = rows(&x, &y, 13, test)?;
    println!(
        "wine (scikit-learn, shipped): {} train, {} validation, {} test samples",
        train.len(),
        val.len(),
        test.len()
    );

    let tuner = BayesianOptimization::new(build)
        .objective("val_loss")
        .max_trials(20)
        .seed(3)
        .directory("tuning")
        .project_name("wine")
        .overwrite(std::env::args().any(|a| a == "--overwrite"))
        .build()?;
    tuner.search_space_summary();
    let args = SearchArgs::default()
        .epochs(60)
        .batch_size(16)
        .verbose(0)
        .validation_data(&x_val, &y_val)
        .callback(|| EarlyStopping::new().monitor("val_loss").patience(5));
    tuner.search(&x_train, &y_train, args)?;
    tuner.results_summary(3);
    let mut best = tuner.get_best_models(1)?.remove(0);
    let logs = best.evaluate(&x_test, &y_test, EvaluateArgs::default().verbose(0))?;
    println!(
        "\nBest model on the {} held-out samples: accuracy {:.4}, loss {:.4}",
        test.len(),
        logs["accuracy"],
        logs["loss"]
    );
    Ok(())
}
