//! Checks for kind `activation`: `y = f(x)` and the VJP `d/dx sum(y * cotangent)` for every
//! function of `keras.activations`, built with its parameters by
//! `keras::activations::Activation::with_params` (softmax and log_softmax take an `axis`,
//! one integer or a tuple of axes).
//! `*_kinks` cases whose only mismatch is a derivative exactly at a kink point are reported
//! as SKIP (informative cases).

use keras::activations::Activation;
use keras::ops;
use keras::{GradientTape, Tensor};
use serde_json::{Map, Value};

use crate::common::{compare, Case, Outcome};

enum Func {
    Act(Activation),
    Softmax(isize),
    LogSoftmax(isize),
}

fn func(case: &Case) -> Result<Func, String> {
    let full = case.json["function"].as_str().unwrap_or_default();
    let name = full.rsplit('.').next().unwrap_or_default();
    let p = &case.json["params"];
    if (name == "softmax" || name == "log_softmax") && p.get("axis").is_some_and(|a| a.is_i64()) {
        let axis = p.get("axis").and_then(Value::as_i64).unwrap_or(-1) as isize;
        if let Some(k) = p.as_object().and_then(|o| o.keys().find(|k| *k != "axis")) {
            return Err(format!("activation {name} with parameter {k} not implemented"));
        }
        return Ok(if name == "softmax" { Func::Softmax(axis) } else { Func::LogSoftmax(axis) });
    }
    let params = if p.is_object() { p.clone() } else { Value::Object(Map::new()) };
    Activation::with_params(name, &params).map(Func::Act).map_err(|e| format!("activation {name}: {e}"))
}

fn apply(f: &Func, x: &Tensor) -> keras::Result<Tensor> {
    Ok(match f {
        Func::Act(a) => a.apply(x)?,
        Func::Softmax(a) => ops::softmax(x, *a)?,
        Func::LogSoftmax(a) => ops::log_softmax(x, *a)?,
    })
}

const KINKS: [f32; 6] = [0.0, 2.5, -2.5, 3.0, -3.0, 6.0];

pub fn run(case: &Case) -> Outcome {
    let f = match func(case) {
        Ok(f) => f,
        Err(why) => return Outcome::Skip(why),
    };
    let load = || -> Result<[Tensor; 4], String> {
        Ok([case.array("input")?, case.array("output")?, case.array("cotangent")?, case.array("grad_input")?])
    };
    let [x, want_y, cot, want_g] = match load() {
        Ok(v) => v,
        Err(e) => return Outcome::Fail(e),
    };
    let (frt, fat) = case.tol("forward");
    let (grt, gat) = case.tol("grad");
    let tape = GradientTape::new();
    let xw = tape.watch(&x);
    let y = match apply(&f, &xw) {
        Ok(y) => y,
        Err(e) => return Outcome::Fail(format!("forward: {e}")),
    };
    if let Err(e) = compare("output", &y, &want_y, frt, fat) {
        return Outcome::Fail(e);
    }
    let g = match tape.gradient_with(&y, &cot, &[&xw]) {
        Ok(g) => g[0].clone().unwrap_or_else(|| Tensor::zeros(x.shape().to_vec())),
        Err(e) => return Outcome::Fail(format!("gradient: {e}")),
    };
    match compare("grad_input", &g, &want_g, grt, gat) {
        Ok(()) => Outcome::Pass,
        Err(e) => {
            if !case.name.ends_with("_kinks") {
                return Outcome::Fail(e);
            }
            // Mismatches only at kink points are TensorFlow convention, not errors.
            let (gv, wv, xv) = (g.to_f32_vec(), want_g.to_f32_vec(), x.to_f32_vec());
            let only_kinks = gv
                .iter()
                .zip(&wv)
                .zip(&xv)
                .all(|((a, b), xi)| (a - b).abs() <= gat + grt * b.abs() || KINKS.contains(xi));
            if only_kinks {
                Outcome::Skip(format!("derivative convention at a kink point differs: {e}"))
            } else {
                Outcome::Fail(e)
            }
        }
    }
}
