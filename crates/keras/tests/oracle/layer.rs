//! Kind `layer`: forward output and gradients (VJP) w.r.t. the input and every trainable
//! weight, for every layer class keras-rs registers (with the case's `mask`, when it has one);
//! cases without `grad_input` and weights (layers with integer outputs) check the forward only.

use keras::layers::{self, CallContext, Hashing, IntegerLookup, Layer, StringLookup};
use keras::{ops, GradientTape, Tensor};
use serde_json::{json, Value};

use crate::common::{compare, Case, Check, Outcome};

pub fn run(case: &Case) -> Outcome {
    let class = case.json["class_name"].as_str().unwrap_or("");
    if !layers::registered_class_names().contains(&class) {
        return Outcome::Skip(format!("layer class {class} is not implemented yet"));
    }
    if case.json.get("hashing").is_some() {
        return match check_hashing(case) {
            Ok(()) => Outcome::Pass,
            Err(e) => Outcome::Fail(e),
        };
    }
    if case.json.get("lookup").is_some() {
        return match check_lookup(case, class) {
            Ok(()) => Outcome::Pass,
            Err(e) => Outcome::Fail(e),
        };
    }
    match check(case) {
        Ok(()) => Outcome::Pass,
        Err(e) => Outcome::Fail(e),
    }
}

fn check(case: &Case) -> Check {
    let mut layer = layers::deserialize(&case.json["serialized"]).map_err(|e| format!("from_config: {e}"))?;
    let input_shape: Vec<Option<usize>> = case.json["input_shape"]
        .as_array()
        .ok_or("case has no input_shape")?
        .iter()
        .map(|d| d.as_u64().map(|v| v as usize))
        .collect();
    layer.build(&input_shape).map_err(|e| format!("build: {e}"))?;
    let weights_meta = case.json["weights"].as_array().cloned().unwrap_or_default();
    let values: Vec<Tensor> =
        weights_meta.iter().map(|w| case.file(w["file"].as_str().unwrap_or(""))).collect::<Result<_, _>>()?;
    layer.set_weights(&values).map_err(|e| format!("set_weights: {e}"))?;
    for (w, meta) in layer.weights().iter().zip(&weights_meta) {
        if Some(w.name()) != meta["name"].as_str() {
            return Err(format!("weight order: got {}, Keras has {}", w.name(), meta["name"]));
        }
    }
    let training = case.json["training"].as_bool().unwrap_or(false);
    let x = case.array("input")?;
    let (frtol, fatol) = case.tol("forward");
    let (grtol, gatol) = case.tol("grad");

    let tape = GradientTape::new();
    let xw = tape.watch(&x);
    let mut ctx = CallContext::new(training);
    // Layers returning a list (`lstm_state`: [output, h, c]) store output_0..n / cotangent_0..n;
    // the VJP sums over every output.
    let (y, cot) = if case.has("output_0") {
        let outs = layer.call_outputs(&xw, None, &mut ctx).map_err(|e| format!("call: {e}"))?;
        let mut total: Option<Tensor> = None;
        for (i, out) in outs.iter().enumerate() {
            if !case.has(&format!("output_{i}")) {
                return Err(format!("layer returned {} outputs, Keras has {i}", outs.len()));
            }
            compare(&format!("output_{i}"), out, &case.array(&format!("output_{i}"))?, frtol, fatol)?;
            let term = ops::sum_all(
                &ops::mul(out, &case.array(&format!("cotangent_{i}"))?).map_err(|e| e.to_string())?,
            )
            .map_err(|e| e.to_string())?;
            total = Some(match total {
                None => term,
                Some(t) => ops::add(&t, &term).map_err(|e| e.to_string())?,
            });
        }
        if case.has(&format!("output_{}", outs.len())) {
            return Err(format!("layer returned {} outputs, Keras has more", outs.len()));
        }
        let total = total.ok_or("layer returned no outputs")?;
        (total, Tensor::scalar(1.0))
    } else {
        let y = if case.has("mask") {
            let mask = case.array("mask")?;
            layer.call_masked(&xw, Some(&mask), &mut ctx).map_err(|e| format!("call: {e}"))?
        } else {
            layer.call(&xw, &mut ctx).map_err(|e| format!("call: {e}"))?
        };
        compare("output", &y, &case.array("output")?, frtol, fatol)?;
        (y, case.array("cotangent")?)
    };
    // Layers whose outputs are ids or counts (CategoryEncoding, Discretization): forward only.
    if !case.has("grad_input") && weights_meta.is_empty() {
        return Ok(());
    }
    let mut sources: Vec<&Tensor> = vec![&xw];
    let weights = layer.weights();
    sources.extend(weights.iter().map(|w| w.value()));
    let cot = cot.reshape(y.shape().to_vec()).map_err(|e| e.to_string())?;
    let grads = tape.gradient_with(&y, &cot, &sources).map_err(|e| format!("backward: {e}"))?;
    drop(tape);
    if case.has("grad_input") {
        let g = grads[0].clone().unwrap_or_else(|| Tensor::zeros(x.shape().to_vec()));
        compare("grad_input", &g, &case.array("grad_input")?, grtol, gatol)?;
    }
    for (i, meta) in weights_meta.iter().enumerate() {
        if let Some(file) = meta["grad_file"].as_str() {
            let g = grads[i + 1].clone().unwrap_or_else(|| Tensor::zeros(weights[i].shape().to_vec()));
            compare(&format!("grad_weight_{i}"), &g, &case.file(file)?, grtol, gatol)?;
        }
        if let Some(file) = meta["after_file"].as_str() {
            let path = weights[i].path().to_string();
            let after = ctx
                .updates
                .iter()
                .find(|(p, _)| *p == path)
                .map(|(_, t)| t.clone())
                .unwrap_or_else(|| weights[i].value().clone());
            compare(&format!("weight_after_{i}"), &after, &case.file(file)?, frtol, fatol)?;
        }
    }
    Ok(())
}

/// The lookup layers: built from the case's config, adapted on the case's data when Keras
/// adapted it, then the outputs and `get_vocabulary()` compared (StringLookup reads its
/// strings from case.json, as tensors hold none).
fn check_lookup(case: &Case, class: &str) -> Check {
    let cfg = &case.json["serialized"]["config"];
    let meta = &case.json["lookup"];
    let (rtol, atol) = case.tol("forward");
    let vocabulary: Value = match class {
        "IntegerLookup" => {
            let mut l = IntegerLookup::from_config(cfg).map_err(|e| format!("from_config: {e}"))?;
            if case.has("adapt_data") {
                l.adapt(&case.array("adapt_data")?).map_err(|e| format!("adapt: {e}"))?;
            }
            let y = l
                .call(&case.array("input")?, &mut CallContext::new(false))
                .map_err(|e| format!("call: {e}"))?;
            compare("output", &y, &case.array("output")?, rtol, atol)?;
            json!(l.get_vocabulary(true))
        }
        "StringLookup" => {
            let mut l = StringLookup::from_config(cfg).map_err(|e| format!("from_config: {e}"))?;
            let rows = |v: &Value| -> Vec<Vec<String>> {
                v.as_array()
                    .map(|rs| {
                        rs.iter()
                            .map(|r| {
                                r.as_array()
                                    .map(|r| r.iter().map(|s| s.as_str().unwrap_or("").to_string()).collect())
                                    .unwrap_or_default()
                            })
                            .collect()
                    })
                    .unwrap_or_default()
            };
            if let Some(a) = meta.get("adapt_strings") {
                l.adapt_rows(&rows(a)).map_err(|e| format!("adapt: {e}"))?;
            }
            let input = rows(&meta["input_strings"]);
            let shape = [input.len(), input.first().map_or(0, Vec::len)];
            let flat: Vec<String> = input.into_iter().flatten().collect();
            let y = l.call_strings(&flat, &shape).map_err(|e| format!("call: {e}"))?;
            compare("output", &y, &case.array("output")?, rtol, atol)?;
            json!(l.get_vocabulary(true))
        }
        other => return Err(format!("no lookup check for class {other}")),
    };
    if vocabulary != meta["vocabulary"] {
        return Err(format!("vocabulary {vocabulary}, Keras has {}", meta["vocabulary"]));
    }
    Ok(())
}

/// `Hashing`: numbers from the case's input array, strings from case.json.
fn check_hashing(case: &Case) -> Check {
    let h =
        Hashing::from_config(&case.json["serialized"]["config"]).map_err(|e| format!("from_config: {e}"))?;
    let y = match case.json["hashing"].get("input_strings").and_then(Value::as_array) {
        Some(rows) => {
            let rows: Vec<Vec<String>> = rows
                .iter()
                .map(|r| {
                    r.as_array()
                        .map(|r| r.iter().map(|s| s.as_str().unwrap_or("").to_string()).collect())
                        .unwrap_or_default()
                })
                .collect();
            let shape = [rows.len(), rows.first().map_or(0, Vec::len)];
            let flat: Vec<String> = rows.into_iter().flatten().collect();
            h.call_strings(&flat, &shape).map_err(|e| format!("call: {e}"))?
        }
        None => {
            h.call(&case.array("input")?, &mut CallContext::new(false)).map_err(|e| format!("call: {e}"))?
        }
    };
    let (rtol, atol) = case.tol("forward");
    compare("output", &y, &case.array("output")?, rtol, atol)
}
