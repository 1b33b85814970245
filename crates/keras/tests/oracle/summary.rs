//! Kind `summary`: the exact `model.summary()` text Keras prints, for every variant stored.

use keras::models::{Functional, Sequential};
use keras::Tensor;

use crate::common::{compile_metrics, Case, Check, Outcome};

pub fn run(case: &Case) -> Outcome {
    if case.json["model_class"].as_str() == Some("Functional") {
        return run_functional(case);
    }
    if case.json["model_class"].as_str() != Some("Sequential") {
        return Outcome::Skip(format!("model class {} is not implemented yet", case.json["model_class"]));
    }
    let mut model = match Sequential::from_config(&case.json["model_config"]) {
        Ok(m) => m,
        Err(e) => return Outcome::Skip(format!("model not supported yet: {e}")),
    };
    match check(case, &mut model) {
        Ok(()) => Outcome::Pass,
        Err(e) => Outcome::Fail(e),
    }
}

/// A Functional model: the table (with "Connected to") and the parameter count.
fn run_functional(case: &Case) -> Outcome {
    let model = match Functional::from_config(&case.json["model_config"]) {
        Ok(m) => m,
        Err(e) => return Outcome::Fail(format!("from_config: {e}")),
    };
    let check = || -> Check {
        let any = check_summaries(case, model.count_params(), |l, t| model.summary_string(l, t))?;
        if case.json["summary_files"]["after_train_step"].is_string() {
            return Err("after_train_step is not checked for Functional models".into());
        }
        if !any {
            return Err("no summary file".into());
        }
        Ok(())
    };
    match check() {
        Ok(()) => Outcome::Pass,
        Err(e) => Outcome::Fail(e),
    }
}

fn expect_text(case: &Case, file: &str, got: &str) -> Check {
    let want = std::fs::read_to_string(case.dir.join(file)).map_err(|e| format!("{file}: {e}"))?;
    if got.trim_end_matches('\n') != want.trim_end_matches('\n') {
        return Err(format!("{file} differs:\n--- keras-rs\n{got}\n--- Keras\n{want}"));
    }
    Ok(())
}

/// The parameter count and every stored variant of the summary table (`default`,
/// `line_length_100`, `show_trainable`) against Keras's, `summary(line_length,
/// show_trainable)` printing the table; true when some variant was stored.
fn check_summaries(
    case: &Case,
    count_params: usize,
    summary: impl Fn(Option<usize>, bool) -> keras::Result<String>,
) -> Result<bool, String> {
    let count = case.json["count_params"].as_u64().unwrap_or(0) as usize;
    if count_params != count {
        return Err(format!("count_params {count_params} vs Keras {count}"));
    }
    let files = &case.json["summary_files"];
    let kwargs = &case.json["summary_kwargs"];
    let mut any = false;
    for variant in ["default", "line_length_100", "show_trainable"] {
        let Some(file) = files[variant].as_str() else { continue };
        let kw = &kwargs[variant];
        let line_length = kw["line_length"].as_u64().map(|v| v as usize);
        let show_trainable = kw["show_trainable"].as_bool().unwrap_or(false);
        expect_text(case, file, &summary(line_length, show_trainable).map_err(|e| e.to_string())?)?;
        any = true;
    }
    Ok(any)
}

fn check(case: &Case, model: &mut Sequential) -> Check {
    check_summaries(case, model.count_params(), |l, t| model.summary_string(l, t))?;
    if let Some(file) = case.json["summary_files"]["after_train_step"].as_str() {
        let compile = &case.json["compile"];
        let metrics = compile_metrics(compile);
        let metric_refs: Vec<&str> = metrics.iter().map(String::as_str).collect();
        model
            .compile(
                compile["optimizer"].as_str().unwrap_or("adam"),
                compile["loss"].as_str().unwrap_or("mse"),
                &metric_refs,
            )
            .map_err(|e| format!("compile: {e}"))?;
        // One step on a zero batch of the input shape builds the optimizer.
        let mut shape: Vec<usize> =
            model.input_shape().ok_or("no input shape")?.iter().map(|d| d.unwrap_or(1)).collect();
        shape[0] = 2;
        let out: Vec<usize> =
            model.output_shape().ok_or("no output shape")?.iter().map(|d| d.unwrap_or(2)).collect();
        let mut y = vec![0.0f32; out.iter().product()];
        let classes = *out.last().unwrap_or(&1);
        for row in y.chunks_mut(classes) {
            row[0] = 1.0;
        }
        let x = Tensor::zeros(shape);
        let y = Tensor::new(y, out).map_err(|e| e.to_string())?;
        model.train_on_batch(&x, &y, None).map_err(|e| format!("train_on_batch: {e}"))?;
        expect_text(case, file, &model.summary_string(None, false).map_err(|e| e.to_string())?)?;
    }
    Ok(())
}
