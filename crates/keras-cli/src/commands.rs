//! The commands: each loads the model file, does one thing, and reports on stdout.

use std::io::Write;
use std::path::Path;

use keras::io::npy;
use keras::models::{load_model, AnyModel};
use keras::trainers::Arrays;
use keras::{
    EvaluateArgs as KerasEvaluateArgs, FitArgs as KerasFitArgs, Logs, PredictArgs as KerasPredictArgs, Tensor,
};

use crate::args::{Command, DataArgs, EvaluateArgs, FitArgs, PredictArgs};
use crate::Failure;

/// Runs `command`, writing its results to `out` (stdout).
pub fn run(command: &Command, out: &mut dyn Write) -> Result<(), Failure> {
    // KERAS_DEVICE (cpu, gpu, gpu:N) picks where models run; a bad value or a missing GPU is
    // reported before any work.
    keras::backend::device().map_err(|e| Failure::Run(e.to_string()))?;
    match command {
        Command::Summary { file } => summary(file, out),
        Command::Predict(a) => predict(a, out),
        Command::Evaluate(a) => evaluate(a, out),
        Command::Fit(a) => fit(a, out),
        Command::Convert { input, output } => convert(input, output, out),
    }
}

/// Writes one line of results; a closed or full stdout is a failure, not a panic.
fn emit(out: &mut dyn Write, line: &str) -> Result<(), Failure> {
    writeln!(out, "{line}")
        .and_then(|()| out.flush())
        .map_err(|e| Failure::Run(format!("cannot write to stdout: {e}")))
}

fn model_file(path: &str) -> Result<AnyModel, Failure> {
    if path.ends_with(".weights.h5") {
        return Err(Failure::Run(format!(
            "{path} holds weights only (no architecture); give a .keras or .h5 model file"
        )));
    }
    Ok(load_model(path)?)
}
fn read_npy(path: &str) -> Result<Tensor, Failure> {
    npy::read(path).map_err(|e| Failure::Run(format!("cannot read {path}: {e}")))
}

/// Reads one array per model input (or output), checking the count against `names` (the
/// model's input or output names, in order).
fn read_arrays(
    paths: &[String],
    names: &[String],
    flag: &str,
    what: &str,
    model: &AnyModel,
) -> Result<Arrays, Failure> {
    if paths.len() != names.len() {
        return Err(Failure::Run(format!(
            "model '{}' has {} {what}(s) ({}): give --{flag} once per {what}, in that order; got {}",
            model.name(),
            names.len(),
            names.join(", "),
            paths.len()
        )));
    }
    let mut arrays = paths.iter().map(|p| read_npy(p)).collect::<Result<Vec<_>, _>>()?;
    Ok(if arrays.len() == 1 { Arrays::One(arrays.swap_remove(0)) } else { Arrays::List(arrays) })
}

/// The outputs that take a target: those with a loss (every output when not compiled).
fn target_names(m: &AnyModel) -> Vec<String> {
    let names = m.output_names();
    match m.compile_state() {
        Some(c) if c.outputs_with_loss().len() == names.len() => {
            names.into_iter().zip(c.outputs_with_loss()).filter(|(_, &w)| w).map(|(n, _)| n).collect()
        }
        _ => names,
    }
}

fn logs_line(logs: &Logs) -> String {
    // "loss" first, as Keras prints it.
    let mut parts: Vec<String> = logs.get("loss").map(|v| format!("loss: {v}")).into_iter().collect();
    parts.extend(logs.iter().filter(|(k, _)| *k != "loss").map(|(k, v)| format!("{k}: {v}")));
    parts.join(" - ")
}

fn summary(path: &str, out: &mut dyn Write) -> Result<(), Failure> {
    let m = model_file(path)?;
    let table = m.summary_string(None, false).map_err(|e| Failure::Run(e.to_string()))?;
    emit(out, table.strip_suffix('\n').unwrap_or(&table))?;
    let state = match m.compile_state() {
        Some(c) => format!(
            "Compiled: optimizer {} (iterations {}), loss {}, metrics {}",
            c.optimizer.class_name(),
            c.optimizer.iterations(),
            c.loss_config(),
            serde_json_list(c.metrics_config())
        ),
        None => "Not compiled.".to_string(),
    };
    emit(out, &state)
}

fn serde_json_list(v: &[serde_json::Value]) -> String {
    serde_json::Value::Array(v.to_vec()).to_string()
}

fn predict(a: &PredictArgs, out: &mut dyn Write) -> Result<(), Failure> {
    let m = model_file(&a.file)?;
    let names = m.output_names();
    if a.output.len() != names.len() {
        return Err(Failure::Run(format!(
            "model '{}' has {} output(s) ({}): give --output once per output, in that order; got {}",
            m.name(),
            names.len(),
            names.join(", "),
            a.output.len()
        )));
    }
    let x = read_arrays(&a.input, &m.input_names(), "input", "input", &m)?;
    let ys = m.predict(x, KerasPredictArgs::default().batch_size(a.batch_size).verbose(0))?;
    for (path, y) in a.output.iter().zip(&ys) {
        npy::write(path, y).map_err(|e| Failure::Run(format!("cannot write {path}: {e}")))?;
        emit(out, &format!("wrote {path}: shape {:?}", y.shape()))?;
    }
    Ok(())
}

/// The compiled model of `--file` and its `--x` / `--y` arrays, for evaluate and fit; a
/// model saved without compile() is refused.
fn compiled_model_and_data(d: &DataArgs) -> Result<(AnyModel, Arrays, Arrays), Failure> {
    let m = model_file(&d.file)?;
    if m.compile_state().is_none() {
        return Err(Failure::Run(format!(
            "{} has no training configuration (it was saved without compile()), so it cannot be evaluated or trained",
            d.file
        )));
    }
    let x = read_arrays(&d.x, &m.input_names(), "x", "input", &m)?;
    let y = read_arrays(&d.y, &target_names(&m), "y", "output", &m)?;
    Ok((m, x, y))
}

fn evaluate(a: &EvaluateArgs, out: &mut dyn Write) -> Result<(), Failure> {
    let (mut m, x, y) = compiled_model_and_data(&a.data)?;
    let logs = m.evaluate(x, y, KerasEvaluateArgs::default().batch_size(a.batch_size).verbose(0))?;
    emit(out, &logs_line(&logs))
}

fn fit(a: &FitArgs, out: &mut dyn Write) -> Result<(), Failure> {
    let (mut m, x, y) = compiled_model_and_data(&a.data)?;
    let fit_args = KerasFitArgs::default()
        .epochs(a.epochs)
        .batch_size(a.batch_size)
        .validation_split(a.validation_split)
        .shuffle(!a.no_shuffle)
        .verbose(2);
    let history = m.fit(x, y, fit_args)?;
    m.save(&a.output)?;
    let last: Logs = history.history.iter().filter_map(|(k, v)| v.last().map(|x| (k.clone(), *x))).collect();
    emit(out, &format!("trained {} epoch(s): {}; saved {}", history.epoch.len(), logs_line(&last), a.output))
}

fn convert(src: &str, dst: &str, out: &mut dyn Write) -> Result<(), Failure> {
    if Path::new(src) == Path::new(dst) {
        return Err(Failure::Usage("convert: input and output are the same file".into()));
    }
    let m = model_file(src)?;
    m.save(dst)?;
    emit(out, &format!("converted {src} -> {dst}"))
}
