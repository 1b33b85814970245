//! Checks for kind `optimizer`: the optimizer is rebuilt from the case's Keras class name and
//! `get_config()` (so every hyper-parameter comes from `case.json`), its config must round-trip
//! exactly, then the stored gradients are applied step by step to two trainable variables and
//! each step's values, and finally the optimizer variables (iteration, learning rate, slots,
//! in Keras's order and with Keras's paths), are compared.

use keras::layers::Variable;
use keras::optimizers::{self, Optimizer};
use keras::Tensor;
use serde_json::{json, Value};

use crate::common::{compare, compare_values, config_eq, Case, Check, Outcome};

pub fn run(case: &Case) -> Outcome {
    let class = case.json["class_name"].as_str().unwrap_or_default();
    let serialized = json!({ "class_name": class, "config": case.json["config"] });
    let mut opt = match optimizers::deserialize(&serialized) {
        Ok(o) => o,
        Err(e) if e.message().starts_with("Could not locate class") => {
            return Outcome::Skip(format!("optimizer class '{class}' is not implemented"));
        }
        Err(e) => return Outcome::Fail(format!("deserialize {class}: {e}")),
    };
    match check(case, opt.as_mut()) {
        Ok(()) => Outcome::Pass,
        Err(e) => Outcome::Fail(e),
    }
}

fn check(case: &Case, opt: &mut dyn Optimizer) -> Check {
    let want_config = &case.json["config"];
    let got_config = opt.get_config();
    if !config_eq(&got_config, want_config) {
        return Err(format!("get_config() differs:\n  got  {got_config}\n  want {want_config}"));
    }
    if opt.class_name() != case.json["class_name"].as_str().unwrap_or_default() {
        return Err(format!("class_name() is {}", opt.class_name()));
    }

    let n_vars = case.json["num_variables"].as_u64().unwrap_or(2) as usize;
    let steps = case.json["steps"].as_u64().unwrap_or(5) as usize;
    let (rtol, atol) = case.tol("variables");

    let mut vars: Vec<Variable> = (0..n_vars)
        .map(|i| {
            let v = case.array(&format!("var{i}_initial"))?;
            // A top-level Keras variable: path `var0`, so slots are `<opt>/var0_momentum`.
            Ok(Variable::new(&format!("var{i}"), "", v, true))
        })
        .collect::<Result<_, String>>()?;

    for t in 0..steps {
        let grads: Vec<Tensor> = (0..n_vars)
            .map(|i| case.array(&format!("grad_step{t}_var{i}")))
            .collect::<Result<_, String>>()?;
        let mut refs: Vec<&mut Variable> = vars.iter_mut().collect();
        opt.apply_gradients(&grads, &mut refs).map_err(|e| format!("step {t}: apply_gradients: {e}"))?;
        for (i, var) in vars.iter().enumerate() {
            let want = case.array(&format!("var{i}_step{t}"))?;
            compare(&format!("var{i} after step {t}"), var.value(), &want, rtol, atol)?;
        }
    }
    if opt.iterations() != steps as u64 {
        return Err(format!("iterations() is {} after {steps} steps", opt.iterations()));
    }

    if let Some(Value::Array(want_vars)) = case.json.get("optimizer_variables_after_last_step") {
        let got_vars = opt.variables();
        let got_names: Vec<&str> = got_vars.iter().map(|(n, _)| n.as_str()).collect();
        let want_names: Vec<&str> =
            want_vars.iter().map(|v| v["path"].as_str().unwrap_or_default()).collect();
        if got_names != want_names {
            return Err(format!("optimizer variables: got {got_names:?}, Keras has {want_names:?}"));
        }
        for ((name, got), want) in got_vars.iter().zip(want_vars) {
            let shape: Vec<usize> = want["shape"]
                .as_array()
                .map(|a| a.iter().filter_map(|d| d.as_u64()).map(|d| d as usize).collect())
                .unwrap_or_default();
            if got.shape() != shape.as_slice() {
                return Err(format!(
                    "optimizer variable {name}: shape {:?}, Keras has {shape:?}",
                    got.shape()
                ));
            }
            let mut flat = Vec::new();
            flatten(&want["value"], &mut flat);
            if name.ends_with("/iteration") {
                let it = got.to_i64_vec();
                if it.first().map(|&v| v as f64) != flat.first().copied() {
                    return Err(format!("{name}: {it:?}, Keras has {flat:?}"));
                }
                continue;
            }
            let want_f32: Vec<f32> = flat.iter().map(|&v| v as f32).collect();
            compare_values(name, &got.to_f32_vec(), &want_f32, rtol, atol)?;
        }
    }
    Ok(())
}

fn flatten(v: &Value, out: &mut Vec<f64>) {
    match v {
        Value::Array(a) => a.iter().for_each(|x| flatten(x, out)),
        Value::Number(n) => out.push(n.as_f64().unwrap_or(f64::NAN)),
        _ => out.push(f64::NAN),
    }
}
