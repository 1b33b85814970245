//! Kind `training`: `model.fit` from Keras's initial weights on the stored data, compared
//! with Keras's History, final weights, predictions and the evaluation after training.

use keras::models::Sequential;
use keras::{optimizers, EvaluateArgs, FitArgs, PredictArgs, Tensor};

use crate::common::{compare, compare_scalar, compile_metrics, Case, Check, Outcome};

pub fn run(case: &Case) -> Outcome {
    let mut model = match Sequential::from_config(&case.json["model_config"]) {
        Ok(m) => m,
        Err(e) => return Outcome::Skip(format!("model not supported yet: {e}")),
    };
    let optimizer = match optimizers::deserialize(&case.json["compile"]["optimizer"]) {
        Ok(o) => o,
        Err(e) => return Outcome::Skip(format!("optimizer not supported yet: {e}")),
    };
    match check(case, &mut model, optimizer) {
        Ok(()) => Outcome::Pass,
        Err(e) => Outcome::Fail(e),
    }
}

fn check(case: &Case, model: &mut Sequential, optimizer: Box<dyn optimizers::Optimizer>) -> Check {
    let initial: Vec<Tensor> = case.json["initial_weights"]
        .as_array()
        .ok_or("no initial_weights")?
        .iter()
        .map(|w| case.file(w["file"].as_str().unwrap_or("")))
        .collect::<Result<_, _>>()?;
    model.set_weights(&initial).map_err(|e| format!("set_weights: {e}"))?;
    let compile = &case.json["compile"];
    let metrics = compile_metrics(compile);
    let metric_refs: Vec<&str> = metrics.iter().map(String::as_str).collect();
    model
        .compile(optimizer, compile["loss"].as_str().ok_or("loss is not a string")?, &metric_refs)
        .map_err(|e| format!("compile: {e}"))?;
    let fit = &case.json["fit"];
    let (x, y) = (case.array("x_train")?, case.array("y_train")?);
    let (xv, yv) = (case.array("x_val")?, case.array("y_val")?);
    let args = FitArgs::default()
        .batch_size(fit["batch_size"].as_u64().ok_or("fit.batch_size")? as usize)
        .epochs(fit["epochs"].as_u64().ok_or("fit.epochs")? as usize)
        .shuffle(fit["shuffle"].as_bool().unwrap_or(false))
        .validation_data(&xv, &yv)
        .verbose(0);
    // Record the logs Keras passes to on_train_batch_end (running means within the epoch).
    let per_batch = std::rc::Rc::new(std::cell::RefCell::new(Vec::<(usize, usize, keras::Logs)>::new()));
    let epoch = std::rc::Rc::new(std::cell::Cell::new(0usize));
    let (pb, ep, ep2) = (per_batch.clone(), epoch.clone(), epoch.clone());
    let recorder = keras::callbacks::LambdaCallback::new()
        .on_epoch_begin(move |e, _| {
            ep.set(e);
            Ok(())
        })
        .on_train_batch_end(move |b, logs| {
            pb.borrow_mut().push((ep2.get(), b, logs.clone()));
            Ok(())
        });
    let args = args.callback_boxed(Box::new(recorder));
    let history = model.fit(&x, &y, args).map_err(|e| format!("fit: {e}"))?;
    let (hr, ha) = case.tol("history");
    let nval = yv.shape()[0] as f32;
    let ntrain = y.shape()[0] as f32;
    for (key, values) in case.json["history"].as_object().ok_or("no history")? {
        let got = history
            .get(key)
            .ok_or_else(|| format!("History has no '{key}' (has {:?})", history.history.keys()))?;
        let want: Vec<f32> = values
            .as_array()
            .ok_or("history values")?
            .iter()
            .map(|v| v.as_f64().unwrap_or(f64::NAN) as f32)
            .collect();
        // Accuracy-type values are fractions: one flipped sample moves them by 1/n.
        let atol = if key.contains("accuracy") {
            ha.max(1.0 / if key.starts_with("val_") { nval } else { ntrain } + 1e-6)
        } else {
            ha
        };
        crate::common::compare_values(&format!("history[{key}]"), got, &want, hr, atol)?;
    }
    if let Some(want) = case.json["per_batch_logs"].as_array() {
        let got = per_batch.borrow();
        if got.len() != want.len() {
            return Err(format!("per_batch_logs: {} batches logged, Keras logged {}", got.len(), want.len()));
        }
        for ((e, b, logs), w) in got.iter().zip(want) {
            let (we, wb) = (w["epoch"].as_u64(), w["batch"].as_u64());
            if (Some(*e as u64), Some(*b as u64)) != (we, wb) {
                return Err(format!("per_batch_logs: got epoch {e} batch {b}, Keras {we:?} {wb:?}"));
            }
            for (key, v) in w.as_object().ok_or("per_batch_logs entry")? {
                if key == "epoch" || key == "batch" {
                    continue;
                }
                let got = *logs.get(key).ok_or_else(|| format!("per_batch_logs: no '{key}' at {e}/{b}"))?;
                // Running accuracy over the samples seen so far: one flip is 1/seen.
                let bs = fit["batch_size"].as_u64().unwrap_or(32) as f32;
                let seen = ((*b as f32 + 1.0) * bs).min(ntrain);
                let atol = if key.contains("accuracy") { ha.max(1.0 / seen + 1e-6) } else { ha };
                let want = v.as_f64().unwrap_or(f64::NAN) as f32;
                compare_scalar(&format!("per_batch_logs[{e}][{b}][{key}]"), got, want, hr, atol)?;
            }
        }
    }
    let (wr, wa) = case.tol("final_weights");
    let weights = model.get_weights();
    for (i, meta) in case.json["final_weights"].as_array().ok_or("no final_weights")?.iter().enumerate() {
        let want = case.file(meta["file"].as_str().unwrap_or(""))?;
        compare(&format!("final weight {i} ({})", meta["path"]), &weights[i], &want, wr, wa)?;
    }
    let pred = model
        .predict(&xv, PredictArgs::default().batch_size(32).verbose(0))
        .map_err(|e| format!("predict: {e}"))?;
    compare("final_predict_val", &pred, &case.array("final_predict_val")?, wr, wa)?;
    let batch = fit["batch_size"].as_u64().unwrap_or(32) as usize;
    let logs = model
        .evaluate(&xv, &yv, EvaluateArgs::default().batch_size(batch).verbose(0))
        .map_err(|e| format!("evaluate: {e}"))?;
    for (key, want) in case.json["evaluate_val_after_fit"].as_object().ok_or("no evaluate_val_after_fit")? {
        let got = *logs.get(key).ok_or_else(|| format!("evaluate has no '{key}'"))?;
        let atol = if key.contains("accuracy") { ha.max(1.0 / nval + 1e-6) } else { ha };
        compare_scalar(&format!("evaluate[{key}]"), got, want.as_f64().unwrap_or(f64::NAN) as f32, hr, atol)?;
    }
    Ok(())
}
