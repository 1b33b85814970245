//! Writes tuning projects for Python keras-tuner to reload (`tools/tuner/python_reload.py`
//! runs this, then opens the projects with keras-tuner 1.4): a random search, a Hyperband
//! search and a Bayesian optimization of an MLP on the shipped wine data, plus the data and
//! the best random-search model's predictions as `.npy` files.
//!
//! ```sh
//! cargo run --release -p keras-tuner --example interop_project -- /tmp/kt_interop
//! ```

use std::path::{Path, PathBuf};

use keras::callbacks::TensorBoard;
use keras::layers::{Dense, Input};
use keras::models::Sequential;
use keras::optimizers::Adam;
use keras::{PredictArgs, Tensor};
use keras_tuner::{BayesianOptimization, HyperParameters, Hyperband, RandomSearch, SearchArgs};

fn build(hp: &mut HyperParameters) -> keras_tuner::Result<Sequential> {
    let units = hp.int("units", 8, 64).step(8).value()?;
    let lr = hp.float("learning_rate", 1e-3, 1e-1).sampling("log").value()?;
    let mut model = Sequential::new();
    model.add(Input::new(&[13]))?;
    model.add(Dense::new(units as usize).activation("relu"))?;
    model.add(Dense::new(3).activation("softmax"))?;
    model.compile(Adam::new().learning_rate(lr as f32), "sparse_categorical_crossentropy", &["accuracy"])?;
    Ok(model)
}

fn split(dir: &Path) -> keras_tuner::Result<(Tensor, Tensor, Tensor, Tensor)> {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/wine");
    let x = keras::io::npy::read(data.join("x.npy"))?;
    let y = keras::io::npy::read(data.join("y.npy"))?;
    let (x, y) = (x.as_f32()?.to_vec(), y.as_i32()?.to_vec());
    // Every 4th sample validates; columns scaled by their maximum.
    let max: Vec<f32> = (0..13).map(|c| (0..178).map(|r| x[r * 13 + c].abs()).fold(0.0, f32::max)).collect();
    let (mut xt, mut yt, mut xv, mut yv) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for r in 0..178 {
        let row: Vec<f32> = (0..13).map(|c| x[r * 13 + c] / max[c]).collect();
        if r % 4 == 0 {
            xv.extend(row);
            yv.push(y[r]);
        } else {
            xt.extend(row);
            yt.push(y[r]);
        }
    }
    let (nt, nv) = (yt.len(), yv.len());
    let t = (
        Tensor::new(xt, [nt, 13])?,
        Tensor::from_i32(yt, [nt])?,
        Tensor::new(xv, [nv, 13])?,
        Tensor::from_i32(yv, [nv])?,
    );
    for (name, v) in [("x_train", &t.0), ("y_train", &t.1), ("x_val", &t.2), ("y_val", &t.3)] {
        keras::io::npy::write(dir.join(format!("{name}.npy")), v)?;
    }
    Ok(t)
}

fn main() -> keras_tuner::Result<()> {
    let dir = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "interop".into()));
    std::fs::create_dir_all(&dir)?;
    let (x, y, xv, yv) = split(&dir)?;
    let args = SearchArgs::default().epochs(3).batch_size(16).verbose(0).validation_data(&xv, &yv);

    let rs = RandomSearch::new(build)
        .objective("val_accuracy")
        .max_trials(4)
        .seed(5)
        .directory(&dir)
        .project_name("wine_random")
        .overwrite(true)
        .build()?;
    // TensorBoard logs: one run per trial with the HParams plugin's session data.
    let tb = dir.join("tb");
    rs.search(&x, &y, args.clone().callback(move || TensorBoard::new(tb.clone())))?;
    rs.results_summary(2);
    let best = rs.get_best_models(1)?.remove(0);
    std::fs::write(dir.join("best_trial.txt"), &rs.get_best_trials(1)[0].trial_id)?;
    keras::io::npy::write(
        dir.join("best_predictions.npy"),
        &best.predict(&xv, PredictArgs::default().verbose(0))?,
    )?;

    let hb = Hyperband::new(build)
        .objective("val_loss")
        .max_epochs(3)
        .factor(3)
        .seed(5)
        .directory(&dir)
        .project_name("wine_hyperband")
        .overwrite(true)
        .build()?;
    hb.search(&x, &y, args.clone())?;
    hb.results_summary(2);

    let bo = BayesianOptimization::new(build)
        .objective("val_loss")
        .max_trials(8)
        .num_initial_points(3)
        .seed(5)
        .directory(&dir)
        .project_name("wine_bayesian")
        .overwrite(true)
        .build()?;
    bo.search(&x, &y, args)?;
    bo.results_summary(2);
    Ok(())
}
