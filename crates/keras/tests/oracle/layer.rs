//! Kind `layer`: forward output and gradients (VJP) w.r.t. the input and every trainable
//! weight, for every layer class keras-rs registers (with the case's `mask`, when it has one);
//! cases without `grad_input` and weights (layers with integer outputs) check the forward only.

use keras::layers::{self, CallContext};
use keras::{ops, GradientTape, Tensor};

use crate::common::{compare, Case, Check, Outcome};

pub fn run(case: &Case) -> Outcome {
    let class = case.json["class_name"].as_str().unwrap_or("");
    if !layers::registered_class_names().contains(&class) {
        return Outcome::Skip(format!("layer class {class} is not implemented yet"));
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
