//! Kind `application`: `keras.applications` builders against the models Keras 3.15 builds.
//!
//! `<arch>_top` / `<arch>_notop` cases hold the call's `kwargs` and Keras's `model.layers`
//! table (name, class, output shape, parameter counts, inbound layer names) with the model's
//! totals; the builder must reproduce every row. A case with a `model.keras` (the saved small
//! MobileNet) must load and predict Keras's softmax output and the logits of an inner layer;
//! when keras-rs has the builder, the model it builds with the same `kwargs` and the saved
//! weights must predict the same.

use keras::applications::{by_name, ApplicationArgs, Pooling, Weights};
use keras::models::{Functional, Model};
use keras::{PredictArgs, Tensor};
use serde_json::Value;

use crate::common::{compare, Case, Check, Outcome};

/// The case's `kwargs` as builder arguments; an argument keras-rs does not know is an error.
fn args_from_kwargs(kwargs: &Value) -> Result<ApplicationArgs, String> {
    let mut args = ApplicationArgs::new();
    let Some(map) = kwargs.as_object() else {
        return Ok(args);
    };
    for (k, v) in map {
        let bad = || format!("kwarg {k}={v} has an unexpected type");
        args = match k.as_str() {
            "weights" => match v {
                Value::Null => args.weights(Weights::None),
                Value::String(s) => args.weights(Weights::from_keras(s)),
                _ => return Err(bad()),
            },
            "include_top" => args.include_top(v.as_bool().ok_or_else(bad)?),
            "classes" => args.classes(v.as_u64().ok_or_else(bad)? as usize),
            "input_shape" => {
                let dims: Vec<Option<usize>> =
                    v.as_array().ok_or_else(bad)?.iter().map(|d| d.as_u64().map(|d| d as usize)).collect();
                args.input_shape_dims(&dims)
            }
            "pooling" => match v.as_str() {
                None => args,
                Some("avg") => args.pooling(Pooling::Avg),
                Some("max") => args.pooling(Pooling::Max),
                Some(_) => return Err(bad()),
            },
            "classifier_activation" => args.classifier_activation(v.as_str()),
            "name" => args.name(v.as_str().ok_or_else(bad)?),
            "alpha" => args.alpha(v.as_f64().ok_or_else(bad)? as f32),
            "depth_multiplier" => args.depth_multiplier(v.as_u64().ok_or_else(bad)? as usize),
            "dropout" | "dropout_rate" => args.dropout(v.as_f64().ok_or_else(bad)? as f32),
            "minimalistic" => args.minimalistic(v.as_bool().ok_or_else(bad)?),
            "include_preprocessing" => args.include_preprocessing(v.as_bool().ok_or_else(bad)?),
            other => return Err(format!("kwarg '{other}' is not supported by the runner")),
        };
    }
    Ok(args)
}

fn shape_json(s: &[Option<usize>]) -> Value {
    Value::Array(s.iter().map(|d| d.map_or(Value::Null, Value::from)).collect())
}

fn check_eq<T: PartialEq + std::fmt::Debug>(what: &str, got: T, want: T) -> Check {
    if got == want {
        Ok(())
    } else {
        Err(format!("{what}: got {got:?}, Keras has {want:?}"))
    }
}

/// Every row of Keras's layer table and the totals.
fn check_table(model: &Functional, json: &Value) -> Check {
    if let Some(name) = json["model_name"].as_str() {
        check_eq("model name", model.name(), name)?;
    }
    let want = json["layers"].as_array().ok_or("case has no layers")?;
    let layers = model.layers();
    for (i, w) in want.iter().enumerate() {
        let Some(l) = layers.get(i) else {
            return Err(format!("keras-rs has {} layers, Keras {}", layers.len(), want.len()));
        };
        let wname = w["name"].as_str().unwrap_or_default();
        let at = format!("layer {i} ({wname})");
        check_eq(&format!("{at} name"), l.name(), wname)?;
        check_eq(&format!("{at} class"), l.class_name(), w["class_name"].as_str().unwrap_or_default())?;
        let ml = model.get_layer(l.name()).map_err(|e| e.to_string())?;
        let shapes = ml.output_shapes();
        let got_shape = match shapes.as_slice() {
            [one] => shape_json(one),
            many => Value::Array(many.iter().map(|s| shape_json(s)).collect()),
        };
        check_eq(&format!("{at} output shape"), &got_shape, &w["output_shape"])?;
        check_eq(&format!("{at} params"), l.count_params() as u64, w["params"].as_u64().unwrap_or(0))?;
        let trainable: usize = l.trainable_weights().iter().map(|v| v.value().numel()).sum();
        check_eq(
            &format!("{at} trainable params"),
            trainable as u64,
            w["trainable_params"].as_u64().unwrap_or(0),
        )?;
        let inbound: Vec<String> = w["inbound"]
            .as_array()
            .map(|a| a.iter().filter_map(|s| s.as_str().map(String::from)).collect())
            .unwrap_or_default();
        check_eq(&format!("{at} inbound layers"), ml.inbound_layers(), inbound)?;
    }
    check_eq("number of layers", layers.len(), want.len())?;
    let total = model.count_params() as u64;
    check_eq("total params", total, json["total_params"].as_u64().unwrap_or(0))?;
    let trainable: usize = model.trainable_weights().iter().map(|v| v.value().numel()).sum();
    check_eq("trainable params", trainable as u64, json["trainable_params"].as_u64().unwrap_or(0))?;
    if let Some(n) = json["num_weights"].as_u64() {
        check_eq("number of weights", model.weights().len() as u64, n)?;
    }
    let inputs = model.input_shapes();
    check_eq("input shape", shape_json(&inputs[0]), json["input_shape"].clone())?;
    let outputs = model.output_shapes();
    check_eq("output shape", shape_json(&outputs[0]), json["output_shape"].clone())?;
    Ok(())
}

fn predict(model: &Functional, x: &Tensor) -> Result<Tensor, String> {
    let args = PredictArgs { verbose: 0, ..PredictArgs::default() };
    let mut ys = model.predict(x, args).map_err(|e| format!("predict: {e}"))?;
    ys.pop().ok_or_else(|| "predict returned nothing".into())
}

/// The saved model: Keras's predictions and inner logits, then the builder with its weights.
fn check_saved(case: &Case, kwargs: &Value, function: &str) -> Result<Outcome, String> {
    let model = Functional::load(case.dir.join("model.keras")).map_err(|e| format!("load: {e}"))?;
    let x = case.array("input")?;
    let (rtol, atol) = case.tol("predict");
    compare("predict", &predict(&model, &x)?, &case.array("expected_output")?, rtol, atol)?;
    if case.has("expected_logits") {
        let layer = case.json["definitions"]["expected_logits"]
            .as_str()
            .and_then(|d| d.split('\'').nth(1))
            .ok_or("cannot tell which layer the logits come from")?;
        let out = model.get_layer(layer).and_then(|l| l.output()).map_err(|e| e.to_string())?;
        let cut =
            Model::new(&model.inputs().map_err(|e| e.to_string())?, &[out]).map_err(|e| e.to_string())?;
        let (rtol, atol) = case.tol("logits");
        compare("logits", &predict(&cut, &x)?, &case.array("expected_logits")?, rtol, atol)?;
    }
    let Ok(app) = by_name(function) else {
        return Ok(Outcome::Pass);
    };
    // Keras built the saved model in a fresh session; loading it here used up automatic names.
    keras::backend::clear_session();
    let mut built = (app.build)(&args_from_kwargs(kwargs)?).map_err(|e| format!("{function}: {e}"))?;
    let names = |m: &Functional| m.layers().iter().map(|l| l.name().to_string()).collect::<Vec<_>>();
    check_eq("layer names of the built model", names(&built), names(&model))?;
    built.set_weights(&model.get_weights()).map_err(|e| format!("set_weights: {e}"))?;
    compare("built model's predict", &predict(&built, &x)?, &case.array("expected_output")?, rtol, atol)?;
    Ok(Outcome::Pass)
}

pub fn run(case: &Case) -> Outcome {
    let json = &case.json;
    let function =
        json["function"].as_str().unwrap_or_default().rsplit('.').next().unwrap_or_default().to_string();
    let kwargs = &json["kwargs"];
    let run = || -> Result<Outcome, String> {
        if case.dir.join("model.keras").is_file() {
            return check_saved(case, kwargs, &function);
        }
        let Ok(app) = by_name(&function) else {
            return Ok(Outcome::Skip(format!("keras-rs has no builder for {function}")));
        };
        let model = (app.build)(&args_from_kwargs(kwargs)?).map_err(|e| format!("{function}: {e}"))?;
        check_table(&model, json)?;
        Ok(Outcome::Pass)
    };
    match run() {
        Ok(o) => o,
        Err(e) => Outcome::Fail(e),
    }
}
