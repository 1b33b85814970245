//! Kind `saved_model`: real `model.keras`, legacy `model.h5` and `model.weights.h5` files
//! written by Keras. Each is loaded, predicts the case's input within the case tolerance,
//! restores the optimizer state stored in the file, then is saved by keras-rs in every
//! format, reloaded, and checked again.

use std::path::PathBuf;

use keras::layers::Variable;
use keras::models::Sequential;
use keras::{PredictArgs, Tensor};

use crate::common::{compare, Case, Check, Outcome};

pub fn run(case: &Case) -> Outcome {
    match check(case) {
        Ok(()) => Outcome::Pass,
        Err(e) => Outcome::Fail(e),
    }
}

fn predict(m: &Sequential, x: &Tensor) -> Result<Tensor, String> {
    m.predict(x, PredictArgs::default().verbose(0)).map_err(|e| format!("predict: {e}"))
}

fn optimizer_values(m: &Sequential) -> Result<Vec<Tensor>, String> {
    let c = m.compile_state().ok_or("the loaded model is not compiled")?;
    Ok(c.optimizer.variables().into_iter().map(|(_, t)| t).collect())
}

/// The optimizer variables stored in a Keras 3 weights file (`optimizer/vars/<i>`).
fn stored_optimizer(bytes: &[u8]) -> Result<Vec<Tensor>, String> {
    let layout = keras::saving::inspect_h5(bytes).map_err(|e| e.to_string())?;
    let n = layout.datasets.iter().filter(|d| d.path.starts_with("optimizer/vars/")).count();
    (0..n)
        .map(|i| {
            keras::saving::read_h5_dataset(bytes, &format!("optimizer/vars/{i}")).map_err(|e| e.to_string())
        })
        .collect()
}

fn same_values(what: &str, got: &[Tensor], want: &[Tensor]) -> Check {
    if got.len() != want.len() {
        return Err(format!("{what}: {} values, the file has {}", got.len(), want.len()));
    }
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        if g.shape() != w.shape() || g.to_f32_vec() != w.to_f32_vec() {
            return Err(format!("{what}: variable {i} differs from the file"));
        }
    }
    Ok(())
}

fn temp_dir(case: &Case) -> PathBuf {
    let d = std::env::temp_dir().join(format!("keras_oracle_saved_{}_{}", std::process::id(), case.name));
    let _ = std::fs::create_dir_all(&d);
    d
}

/// Saves `m` as `.keras`, `.h5` and `.weights.h5`, reloads each and compares predictions
/// (bitwise with the model before saving) and optimizer state.
fn round_trip(case: &Case, label: &str, m: &Sequential, x: &Tensor, want: &Tensor) -> Check {
    let (rtol, atol) = case.tol("predict");
    let before = predict(m, x)?;
    let opt_before = optimizer_values(m)?;
    let dir = temp_dir(case);
    for ext in ["keras", "h5"] {
        let path = dir.join(format!("{label}.{ext}"));
        m.save(&path).map_err(|e| format!("{label}: save .{ext}: {e}"))?;
        let r = Sequential::load(&path).map_err(|e| format!("{label}: reload .{ext}: {e}"))?;
        let after = predict(&r, x)?;
        compare(&format!("{label} saved as .{ext}, reloaded"), &after, want, rtol, atol)?;
        if after.to_f32_vec() != before.to_f32_vec() {
            return Err(format!("{label}: .{ext} round trip changed the predictions"));
        }
        same_values(&format!("{label} .{ext} optimizer"), &optimizer_values(&r)?, &opt_before)?;
    }
    let wpath = dir.join(format!("{label}.weights.h5"));
    m.save_weights(&wpath).map_err(|e| format!("{label}: save_weights: {e}"))?;
    let mut fresh = Sequential::from_config(&m.get_config()).map_err(|e| format!("from_config: {e}"))?;
    fresh.load_weights(&wpath).map_err(|e| format!("{label}: load_weights (own file): {e}"))?;
    if predict(&fresh, x)?.to_f32_vec() != before.to_f32_vec() {
        return Err(format!("{label}: .weights.h5 round trip changed the predictions"));
    }
    let bytes = std::fs::read(&wpath).map_err(|e| e.to_string())?;
    same_values(&format!("{label} .weights.h5 optimizer"), &stored_optimizer(&bytes)?, &opt_before)?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

fn file(case: &Case, name: &str) -> PathBuf {
    case.dir.join(name)
}

fn check(case: &Case) -> Check {
    let x = case.array("input")?;
    let want = case.array("expected_output")?;
    let (rtol, atol) = case.tol("predict");
    let weights_bytes = std::fs::read(file(case, "model.weights.h5")).map_err(|e| e.to_string())?;
    let stored_opt = stored_optimizer(&weights_bytes)?;
    if stored_opt.is_empty() {
        return Err("model.weights.h5 holds no optimizer state".into());
    }

    // 1. The `.keras` file: architecture, weights, compile config, optimizer state.
    let from_zip =
        Sequential::load(file(case, "model.keras")).map_err(|e| format!("load model.keras: {e}"))?;
    compare("model.keras predict", &predict(&from_zip, &x)?, &want, rtol, atol)?;
    same_values("model.keras optimizer", &optimizer_values(&from_zip)?, &stored_opt)?;

    // 2. The legacy `.h5` file.
    let from_h5 = Sequential::load(file(case, "model.h5")).map_err(|e| format!("load model.h5: {e}"))?;
    compare("model.h5 predict", &predict(&from_h5, &x)?, &want, rtol, atol)?;
    same_values("model.h5 optimizer", &optimizer_values(&from_h5)?, &stored_opt)?;

    // 3. `model.weights.h5` into the architecture of case.json, compiled like the file's
    //    model and with its optimizer built, so the optimizer state loads too.
    let mut arch =
        Sequential::from_config(&case.json["model_config"]).map_err(|e| format!("model_config: {e}"))?;
    let c = from_zip.compile_state().ok_or("model.keras is not compiled")?;
    let optimizer = keras::optimizers::deserialize(&c.optimizer.serialize()).map_err(|e| e.to_string())?;
    let loss = keras::losses::deserialize(c.loss_config()).map_err(|e| e.to_string())?;
    arch.compile_with(optimizer, loss, Vec::new()).map_err(|e| e.to_string())?;
    let vars: Vec<Variable> = arch.trainable_weights().into_iter().cloned().collect();
    let refs: Vec<&Variable> = vars.iter().collect();
    arch.compile_state_mut().unwrap().optimizer.build(&refs).map_err(|e| e.to_string())?;
    arch.load_weights(file(case, "model.weights.h5")).map_err(|e| format!("load_weights: {e}"))?;
    compare("model.weights.h5 predict", &predict(&arch, &x)?, &want, rtol, atol)?;
    same_values("model.weights.h5 optimizer", &optimizer_values(&arch)?, &stored_opt)?;

    // 4. Both ways: what keras-rs writes reloads to the same model.
    round_trip(case, "from_keras", &from_zip, &x, &want)?;
    round_trip(case, "from_h5", &from_h5, &x, &want)
}
