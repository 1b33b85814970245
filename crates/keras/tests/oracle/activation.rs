//! Checks for kind `activation`: `y = f(x)` and the VJP `d/dx sum(y * cotangent)` for every
//! function the engine implements (`keras::ops::Unary`, softmax, log_softmax). Others are
//! skipped. `*_kinks` cases whose only mismatch is a derivative exactly at a kink point are
//! reported as SKIP (informative cases).

use keras::ops::{self, Unary};
use keras::{GradientTape, Tensor};
use serde_json::Value;

use crate::common::{compare, Case, Outcome};

enum Func {
    Unary(Unary),
    Softmax(isize),
    LogSoftmax(isize),
}

fn f32_param(params: &Value, key: &str, default: f32) -> f32 {
    match params.get(key) {
        Some(Value::Number(n)) => n.as_f64().map(|v| v as f32).unwrap_or(default),
        _ => default,
    }
}

fn func(case: &Case) -> Result<Func, String> {
    let full = case.json["function"].as_str().unwrap_or_default();
    let name = full.rsplit('.').next().unwrap_or_default();
    let p = &case.json["params"];
    let known: &[&str] = match name {
        "relu" => &["negative_slope", "max_value", "threshold"],
        "leaky_relu" => &["negative_slope"],
        "elu" => &["alpha"],
        "softmax" | "log_softmax" => &["axis"],
        _ => &[],
    };
    if let Some(o) = p.as_object() {
        if let Some(k) = o.keys().find(|k| !known.contains(&k.as_str())) {
            return Err(format!("activation {name} with parameter {k} not implemented"));
        }
    }
    let axis = p.get("axis").and_then(Value::as_i64).unwrap_or(-1) as isize;
    Ok(Func::Unary(match name {
        "relu" => {
            let slope = f32_param(p, "negative_slope", 0.0);
            let max = f32_param(p, "max_value", f32::INFINITY);
            let th = f32_param(p, "threshold", 0.0);
            if slope == 0.0 && max == f32::INFINITY && th == 0.0 {
                Unary::Relu
            } else {
                Unary::ReluParams { negative_slope: slope, max_value: max, threshold: th }
            }
        }
        "relu6" => Unary::ReluParams { negative_slope: 0.0, max_value: 6.0, threshold: 0.0 },
        "leaky_relu" => Unary::ReluParams {
            negative_slope: f32_param(p, "negative_slope", 0.2),
            max_value: f32::INFINITY,
            threshold: 0.0,
        },
        "sigmoid" => Unary::Sigmoid,
        "tanh" => Unary::Tanh,
        "elu" => Unary::Elu(f32_param(p, "alpha", 1.0)),
        "selu" => Unary::Selu,
        "softplus" => Unary::Softplus,
        "silu" | "swish" => Unary::Silu,
        "linear" => Unary::Linear,
        "exponential" => Unary::Exp,
        "softmax" => return Ok(Func::Softmax(axis)),
        "log_softmax" => return Ok(Func::LogSoftmax(axis)),
        other => return Err(format!("activation {other} not implemented")),
    }))
}

fn apply(f: &Func, x: &Tensor) -> keras::Result<Tensor> {
    Ok(match f {
        Func::Unary(u) => ops::unary(x, *u)?,
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
