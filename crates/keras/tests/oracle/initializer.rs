//! Checks for kind `initializer`: the initializer is rebuilt from the case's `serialized`
//! form and must serialize back to exactly Keras's form; then, for every sample shape, the
//! fans must match Keras's, deterministic initializers must reproduce the stored values
//! exactly, Orthogonal must satisfy `W^T W = gain^2 I` (or `W W^T` for wide shapes), and
//! random ones must pass the case's `suggested_check` against its `expected` statistics:
//! `|mean - expected.mean| < 4 * expected.std / sqrt(n)`, `|std / expected.std - 1| < 0.05`
//! with `n >= 4096` (smaller shapes are drawn repeatedly with consecutive seeds), and every
//! value within `[low, high]` where given.

use keras::initializers::{compute_fans, Initializer};
use keras::Tensor;
use serde_json::Value;

use crate::common::{Case, Check, Outcome};

/// The suggested check's minimum number of samples for the mean and std tests.
const MIN_SAMPLES: usize = 4096;

pub fn run(case: &Case) -> Outcome {
    match check(case) {
        Ok(()) => Outcome::Pass,
        Err(e) => Outcome::Fail(e),
    }
}

fn check(case: &Case) -> Check {
    let serialized = &case.json["serialized"];
    let init = Initializer::from_config(serialized).map_err(|e| format!("from_config: {e}"))?;
    let got = init.to_config();
    if &got != serialized {
        return Err(format!("to_config() differs:\n  got  {got}\n  want {serialized}"));
    }
    if got["config"] != case.json["config"] {
        return Err(format!("config differs:\n  got  {}\n  want {}", got["config"], case.json["config"]));
    }
    let samples = case.json["samples"].as_array().ok_or("case has no `samples`")?;
    if samples.is_empty() {
        return Err("case has no samples".into());
    }
    for sample in samples {
        let shape: Vec<usize> = sample["shape"]
            .as_array()
            .ok_or("sample without `shape`")?
            .iter()
            .map(|d| d.as_u64().map(|v| v as usize).ok_or("bad shape entry"))
            .collect::<Result<_, _>>()?;
        let what = format!("shape {shape:?}");
        let fans = compute_fans(&shape);
        let want_fans = (num(&sample["fan_in"])?, num(&sample["fan_out"])?);
        if fans != want_fans {
            return Err(format!("{what}: fans {fans:?}, Keras has {want_fans:?}"));
        }
        let expected = &sample["expected"];
        let dist = expected["distribution"].as_str().ok_or("sample without expected.distribution")?;
        let values = init.initialize(&shape).map_err(|e| format!("{what}: initialize: {e}"))?;
        if values.shape() != shape.as_slice() {
            return Err(format!("{what}: initialized shape {:?}", values.shape()));
        }
        match dist {
            "constant" | "identity" => check_exact(case, sample, &values, &what)?,
            "orthogonal" => {
                let gain = serialized["config"].get("gain").and_then(Value::as_f64).unwrap_or(1.0);
                check_orthogonal(&values, gain, &what)?;
            }
            "uniform" | "normal" | "truncated_normal" | "untruncated_normal" => {
                check_random(serialized, &shape, &values, expected, &what)?
            }
            other => return Err(format!("{what}: unknown expected distribution '{other}'")),
        }
    }
    Ok(())
}

fn num(v: &Value) -> Result<f64, String> {
    v.as_f64().ok_or_else(|| format!("expected a number, got {v}"))
}

/// Deterministic initializers: exactly the stored values (and the expected constant).
fn check_exact(case: &Case, sample: &Value, values: &Tensor, what: &str) -> Check {
    let got = values.to_f32_vec();
    if let Some(v) = sample["expected"].get("value").and_then(Value::as_f64) {
        if let Some(i) = got.iter().position(|&g| g != v as f32) {
            return Err(format!("{what}: element {i} is {} instead of {v}", got[i]));
        }
    }
    let file = sample["values_file"].as_str().ok_or_else(|| format!("{what}: no values_file"))?;
    let want = case.file(file)?;
    if want.shape() != values.shape() {
        return Err(format!("{what}: Keras values have shape {:?}", want.shape()));
    }
    let want = want.to_f32_vec();
    match got.iter().zip(&want).position(|(g, w)| g != w) {
        None => Ok(()),
        Some(i) => Err(format!("{what}: element {i} is {} but Keras has {}", got[i], want[i])),
    }
}

/// `W^T W = gain^2 I` when rows >= cols, else `W W^T`, after flattening to
/// `(prod(shape[..-1]), shape[-1])`.
fn check_orthogonal(values: &Tensor, gain: f64, what: &str) -> Check {
    let cols = *values.shape().last().ok_or("scalar orthogonal value")?;
    let rows = values.numel() / cols;
    let v = values.to_f32_vec();
    let (outer, inner, by_cols) = if rows >= cols { (cols, rows, true) } else { (rows, cols, false) };
    let at = |i: usize, a: usize| if by_cols { v[i * cols + a] as f64 } else { v[a * cols + i] as f64 };
    let mut worst = 0.0f64;
    for a in 0..outer {
        for b in 0..outer {
            let dot: f64 = (0..inner).map(|i| at(i, a) * at(i, b)).sum();
            let want = if a == b { gain * gain } else { 0.0 };
            worst = worst.max((dot - want).abs());
        }
    }
    let tol = 1e-5 * (1.0 + gain * gain) * (inner as f64).sqrt();
    if worst > tol {
        return Err(format!("{what}: max |gram - gain^2 I| = {worst:.3e} (tolerance {tol:.1e})"));
    }
    Ok(())
}

/// The same initializer with its seed moved by `k` (unseeded ones draw again).
fn reseeded(serialized: &Value, k: u64) -> Result<Initializer, String> {
    let mut s = serialized.clone();
    if let Some(seed) = s["config"].get("seed").and_then(Value::as_u64) {
        s["config"]["seed"] = Value::from(seed + k);
    }
    Initializer::from_config(&s).map_err(|e| e.to_string())
}

fn check_random(serialized: &Value, shape: &[usize], first: &Tensor, expected: &Value, what: &str) -> Check {
    let want_mean = num(&expected["mean"])?;
    let want_std = num(&expected["std"])?;
    let low = expected.get("low").and_then(Value::as_f64);
    let high = expected.get("high").and_then(Value::as_f64);
    let n = first.numel().max(1);
    let draws = MIN_SAMPLES.div_ceil(n).max(1);
    let mut all: Vec<f64> = Vec::with_capacity(draws * n);
    for k in 0..draws {
        let t = if k == 0 {
            first.clone()
        } else {
            reseeded(serialized, k as u64)?.initialize(shape).map_err(|e| e.to_string())?
        };
        all.extend(t.to_f32_vec().iter().map(|&x| x as f64));
    }
    // Bounds, with float32 rounding slack.
    let slack = |b: f64| 1e-6 * b.abs().max(1e-6);
    if let Some(lo) = low {
        if let Some(x) = all.iter().find(|&&x| x < lo - slack(lo)) {
            return Err(format!("{what}: value {x} below low {lo}"));
        }
    }
    if let Some(hi) = high {
        if let Some(x) = all.iter().find(|&&x| x > hi + slack(hi)) {
            return Err(format!("{what}: value {x} above high {hi}"));
        }
    }
    let m = all.len() as f64;
    let mean = all.iter().sum::<f64>() / m;
    let std = (all.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / m).sqrt();
    let mean_tol = 4.0 * want_std / m.sqrt();
    if (mean - want_mean).abs() >= mean_tol {
        return Err(format!(
            "{what}: mean {mean:.6} vs expected {want_mean} (tolerance {mean_tol:.2e}, {} samples)",
            all.len()
        ));
    }
    if want_std > 0.0 && (std / want_std - 1.0).abs() >= 0.05 {
        return Err(format!("{what}: std {std:.6} vs expected {want_std:.6} ({} samples)", all.len()));
    }
    Ok(())
}
