//! The commands: each loads the model file, does one thing, and reports on stdout.

use std::path::Path;

use keras::io::npy;
use keras::models::{load_model, AnyModel};
use keras::trainers::Arrays;
use keras::{EvaluateArgs, FitArgs, Logs, PredictArgs, Tensor};

use crate::args::Args;
use crate::Failure;

/// Runs the command named in `args`.
pub fn run(args: &Args) -> Result<(), Failure> {
    // KERAS_DEVICE (cpu, gpu, gpu:N) picks where models run; a bad value or a missing GPU is
    // reported before any work.
    keras::backend::device().map_err(|e| Failure::Run(e.to_string()))?;
    match args.command.as_str() {
        "summary" => summary(args),
        "predict" => predict(args),
        "evaluate" => evaluate(args),
        "fit" => fit(args),
        "convert" => convert(args),
        other => Err(Failure::Usage(format!("unknown command '{other}'"))),
    }
}

fn usage(r: Result<(), String>) -> Result<(), Failure> {
    r.map_err(Failure::Usage)
}

fn model_file(args: &Args) -> Result<AnyModel, Failure> {
    let path = &args.positional[0];
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

fn batch_size(args: &Args, default: usize) -> Result<usize, Failure> {
    let n = args.parsed::<usize>("batch-size").map_err(Failure::Usage)?.unwrap_or(default);
    if n == 0 {
        return Err(Failure::Usage("--batch-size must be a positive integer".into()));
    }
    Ok(n)
}

fn logs_line(logs: &Logs) -> String {
    // "loss" first, as Keras prints it.
    let mut parts: Vec<String> = logs.get("loss").map(|v| format!("loss: {v}")).into_iter().collect();
    parts.extend(logs.iter().filter(|(k, _)| *k != "loss").map(|(k, v)| format!("{k}: {v}")));
    parts.join(" - ")
}

fn summary(args: &Args) -> Result<(), Failure> {
    usage(args.expect(1, &[]))?;
    let m = model_file(args)?;
    print!("{}", m.summary_string(None, false).map_err(|e| Failure::Run(e.to_string()))?);
    match m.compile_state() {
        Some(c) => println!(
            "Compiled: optimizer {} (iterations {}), loss {}, metrics {}",
            c.optimizer.class_name(),
            c.optimizer.iterations(),
            c.loss_config(),
            serde_json_list(c.metrics_config())
        ),
        None => println!("Not compiled."),
    }
    Ok(())
}

fn serde_json_list(v: &[serde_json::Value]) -> String {
    serde_json::Value::Array(v.to_vec()).to_string()
}

fn predict(args: &Args) -> Result<(), Failure> {
    usage(args.expect(1, &["input", "output", "batch-size"]))?;
    let inputs = args.required_all("input").map_err(Failure::Usage)?;
    let outputs = args.required_all("output").map_err(Failure::Usage)?;
    let bs = batch_size(args, 32)?;
    let m = model_file(args)?;
    let names = m.output_names();
    if outputs.len() != names.len() {
        return Err(Failure::Run(format!(
            "model '{}' has {} output(s) ({}): give --output once per output, in that order; got {}",
            m.name(),
            names.len(),
            names.join(", "),
            outputs.len()
        )));
    }
    let x = read_arrays(inputs, &m.input_names(), "input", "input", &m)?;
    let ys = m.predict(x, PredictArgs::default().batch_size(bs).verbose(0))?;
    for (path, y) in outputs.iter().zip(&ys) {
        npy::write(path, y).map_err(|e| Failure::Run(format!("cannot write {path}: {e}")))?;
        println!("wrote {path}: shape {:?}", y.shape());
    }
    Ok(())
}

fn usage_str<'a>(args: &'a Args, name: &str) -> Result<&'a str, Failure> {
    args.required(name).map_err(Failure::Usage)
}

fn needs_compile(m: &AnyModel, path: &str) -> Result<(), Failure> {
    if m.compile_state().is_none() {
        return Err(Failure::Run(format!(
            "{path} has no training configuration (it was saved without compile()), so it cannot be evaluated or trained"
        )));
    }
    Ok(())
}

fn evaluate(args: &Args) -> Result<(), Failure> {
    usage(args.expect(1, &["x", "y", "batch-size"]))?;
    let (xp, yp) =
        (args.required_all("x").map_err(Failure::Usage)?, args.required_all("y").map_err(Failure::Usage)?);
    let bs = batch_size(args, 32)?;
    let mut m = model_file(args)?;
    needs_compile(&m, &args.positional[0])?;
    let x = read_arrays(xp, &m.input_names(), "x", "input", &m)?;
    let y = read_arrays(yp, &target_names(&m), "y", "output", &m)?;
    let logs = m.evaluate(x, y, EvaluateArgs::default().batch_size(bs).verbose(0))?;
    println!("{}", logs_line(&logs));
    Ok(())
}

fn fit(args: &Args) -> Result<(), Failure> {
    usage(args.expect(1, &["x", "y", "epochs", "batch-size", "validation-split", "no-shuffle", "output"]))?;
    let (xp, yp) =
        (args.required_all("x").map_err(Failure::Usage)?, args.required_all("y").map_err(Failure::Usage)?);
    let out = usage_str(args, "output")?;
    let epochs: usize = args
        .parsed("epochs")
        .map_err(Failure::Usage)?
        .ok_or_else(|| Failure::Usage("`keras fit` needs --epochs".into()))?;
    usage_str(args, "batch-size")?;
    let bs = batch_size(args, 32)?;
    let split: f32 = args.parsed("validation-split").map_err(Failure::Usage)?.unwrap_or(0.0);
    if !(out.ends_with(".keras") || out.ends_with(".h5") || out.ends_with(".hdf5")) {
        return Err(Failure::Usage(format!("--output must end in .keras, .h5 or .hdf5, got {out}")));
    }
    let mut m = model_file(args)?;
    needs_compile(&m, &args.positional[0])?;
    let x = read_arrays(xp, &m.input_names(), "x", "input", &m)?;
    let y = read_arrays(yp, &target_names(&m), "y", "output", &m)?;
    let fit_args = FitArgs::default()
        .epochs(epochs)
        .batch_size(bs)
        .validation_split(split)
        .shuffle(!args.switch("no-shuffle"))
        .verbose(2);
    let history = m.fit(x, y, fit_args)?;
    m.save(out)?;
    let last: Logs = history.history.iter().filter_map(|(k, v)| v.last().map(|x| (k.clone(), *x))).collect();
    println!("trained {} epoch(s): {}; saved {out}", history.epoch.len(), logs_line(&last));
    Ok(())
}

fn convert(args: &Args) -> Result<(), Failure> {
    usage(args.expect(2, &[]))?;
    let (src, dst) = (&args.positional[0], &args.positional[1]);
    if Path::new(src) == Path::new(dst) {
        return Err(Failure::Usage("convert: input and output are the same file".into()));
    }
    let m = model_file(args)?;
    m.save(dst)?;
    println!("converted {src} -> {dst}");
    Ok(())
}
