//! Kind `functional`: Functional-API models made by Keras (`model.keras` and the legacy
//! `model.h5` of each folder) load and predict `y0.npy`, `y1.npy`... from `x0.npy`,
//! `x1.npy`... (in `model.inputs` / `model.outputs` order) within 1e-4. These folders have
//! no `case.json`: every input and output is found by its file name.

use std::path::Path;

use keras::models::Functional;
use keras::{PredictArgs, Tensor};

use crate::common::{Case, Outcome};

const TOL: f32 = 1e-4;

/// `prefix0.npy`, `prefix1.npy`, ... while they exist.
fn numbered(dir: &Path, prefix: &str) -> Result<Vec<Tensor>, String> {
    let mut out = Vec::new();
    loop {
        let p = dir.join(format!("{prefix}{}.npy", out.len()));
        if !p.is_file() {
            return Ok(out);
        }
        out.push(keras::io::npy::read(&p).map_err(|e| format!("{}: {e}", p.display()))?);
    }
}

fn check_file(dir: &Path, file: &str, xs: &[Tensor], ys: &[Tensor]) -> Result<(), String> {
    let model = Functional::load(dir.join(file)).map_err(|e| format!("{file}: load: {e}"))?;
    let args = PredictArgs { verbose: 0, ..PredictArgs::default() };
    let got = model.predict(xs, args).map_err(|e| format!("{file}: predict: {e}"))?;
    if got.len() != ys.len() {
        return Err(format!("{file}: {} outputs, Keras has {}", got.len(), ys.len()));
    }
    for (i, (g, w)) in got.iter().zip(ys).enumerate() {
        if g.shape() != w.shape() {
            return Err(format!("{file}: output {i} shape {:?}, Keras {:?}", g.shape(), w.shape()));
        }
        let (g, w) = (g.to_f32_vec(), w.to_f32_vec());
        let worst = g.iter().zip(&w).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        if worst.is_nan() || worst > TOL {
            return Err(format!("{file}: output {i} differs from Keras by {worst:e} (tolerance {TOL:e})"));
        }
    }
    Ok(())
}

pub fn run(case: &Case) -> Outcome {
    let dir = &case.dir;
    let run = || -> Result<(), String> {
        let xs = numbered(dir, "x")?;
        let ys = numbered(dir, "y")?;
        if xs.is_empty() || ys.is_empty() {
            return Err("no x0.npy / y0.npy".into());
        }
        let mut checked = 0;
        for file in ["model.keras", "model.h5"] {
            if dir.join(file).is_file() {
                check_file(dir, file, &xs, &ys)?;
                checked += 1;
            }
        }
        if checked == 0 {
            return Err("no model.keras or model.h5".into());
        }
        Ok(())
    };
    match run() {
        Ok(()) => Outcome::Pass,
        Err(e) => Outcome::Fail(e),
    }
}
