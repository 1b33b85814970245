//! Shared pieces of the conformance runner: reading cases, arrays and tolerances, and
//! comparing tensors element by element.

use std::path::{Path, PathBuf};

use keras::Tensor;
use serde_json::Value;

/// One reference case: `<root>/<kind>/<name>/case.json` plus its arrays.
pub struct Case {
    pub kind: String,
    pub name: String,
    pub dir: PathBuf,
    pub json: Value,
}

/// What a case check concluded.
pub enum Outcome {
    Pass,
    Fail(String),
    Skip(String),
}

/// A check's result: `Err` is a failure message.
pub type Check = Result<(), String>;

impl Case {
    pub fn load(dir: &Path) -> Result<Case, String> {
        if !dir.join("case.json").is_file() {
            // A case described by its files alone (kind = the parent folder's name).
            let name = |p: &Path| p.file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            let kind = dir.parent().map(name).unwrap_or_default();
            return Ok(Case { kind, name: name(dir), dir: dir.to_path_buf(), json: Value::Null });
        }
        let text = std::fs::read_to_string(dir.join("case.json")).map_err(|e| format!("case.json: {e}"))?;
        let json: Value = serde_json::from_str(&text).map_err(|e| format!("case.json: {e}"))?;
        let kind = json["kind"].as_str().unwrap_or_default().to_string();
        let name = json["name"].as_str().unwrap_or_default().to_string();
        Ok(Case { kind, name, dir: dir.to_path_buf(), json })
    }

    /// True when `case.json["arrays"]` lists `key`.
    pub fn has(&self, key: &str) -> bool {
        self.json["arrays"].get(key).is_some()
    }

    /// Reads the array listed under `key` in `case.json["arrays"]`.
    pub fn array(&self, key: &str) -> Result<Tensor, String> {
        let file = self.json["arrays"][key]["file"]
            .as_str()
            .ok_or_else(|| format!("case lists no array '{key}'"))?;
        self.file(file)
    }

    /// Reads an `.npy` file of the case by file name.
    pub fn file(&self, file: &str) -> Result<Tensor, String> {
        keras::io::npy::read(self.dir.join(file)).map_err(|e| e.to_string())
    }

    /// `(rtol, atol)` from `case.json["tolerance"][key]` (or the top-level tolerance).
    pub fn tol(&self, key: &str) -> (f32, f32) {
        let t = &self.json["tolerance"];
        let t = if t.get(key).is_some() { &t[key] } else { t };
        let rtol = t["rtol"].as_f64().unwrap_or(1e-5) as f32;
        let atol = t["atol"].as_f64().unwrap_or(1e-6) as f32;
        (rtol, atol)
    }
}

/// `|got - want| <= atol + rtol * |want|` everywhere, and equal shapes.
pub fn compare(what: &str, got: &Tensor, want: &Tensor, rtol: f32, atol: f32) -> Check {
    if got.shape() != want.shape() {
        return Err(format!("{what}: shape {:?}, expected {:?}", got.shape(), want.shape()));
    }
    compare_values(what, &got.to_f32_vec(), &want.to_f32_vec(), rtol, atol)
}

/// Element-wise comparison of flat values.
pub fn compare_values(what: &str, got: &[f32], want: &[f32], rtol: f32, atol: f32) -> Check {
    if got.len() != want.len() {
        return Err(format!("{what}: {} values, expected {}", got.len(), want.len()));
    }
    let mut worst: Option<(usize, f32)> = None;
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let ok = (g - w).abs() <= atol + rtol * w.abs() || (g.is_nan() && w.is_nan()) || g == w;
        if !ok {
            let d = (g - w).abs();
            if worst.is_none_or(|(_, wd)| d > wd || d.is_nan()) {
                worst = Some((i, d));
            }
        }
    }
    match worst {
        None => Ok(()),
        Some((i, d)) => Err(format!(
            "{what}: element {i} is {} but Keras has {} (|diff| {d:.3e}, rtol {rtol:e}, atol {atol:e})",
            got[i], want[i]
        )),
    }
}

/// A scalar comparison with the same rule.
pub fn compare_scalar(what: &str, got: f32, want: f32, rtol: f32, atol: f32) -> Check {
    compare_values(what, &[got], &[want], rtol, atol)
}

/// The metric names of a case's `compile` object (`{"metrics": ["accuracy", ...]}`).
pub fn compile_metrics(compile: &Value) -> Vec<String> {
    compile["metrics"].as_array().into_iter().flatten().filter_map(|m| m.as_str().map(String::from)).collect()
}

/// `get_config()` equality as Keras's float32 values allow: numbers are equal when they are
/// the same float32 (`0.029999999329447743` and `0.029999999329447746` are), integers exactly,
/// everything else structurally. Nothing looser.
pub fn config_eq(got: &Value, want: &Value) -> bool {
    match (got, want) {
        (Value::Number(a), Value::Number(b)) => {
            if let (Some(a), Some(b)) = (a.as_i64(), b.as_i64()) {
                return a == b;
            }
            match (a.as_f64(), b.as_f64()) {
                (Some(a), Some(b)) => a == b || (a as f32) == (b as f32),
                _ => a == b,
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| config_eq(x, y))
        }
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len() && a.iter().all(|(k, v)| b.get(k).is_some_and(|w| config_eq(v, w)))
        }
        _ => got == want,
    }
}

/// The runner's own checks of [`config_eq`], run before the cases (a `harness = false`
/// binary runs no `#[test]` functions).
pub fn self_check() {
    use serde_json::json;
    assert!(config_eq(&json!({"lr": 0.029999999329447743}), &json!({"lr": 0.029999999329447746})));
    assert!(!config_eq(&json!({"lr": 0.03}), &json!({"lr": 0.0300001})));
    assert!(!config_eq(&json!({"units": 3}), &json!({"units": 4})));
    assert!(!config_eq(&json!({"a": 1}), &json!({"a": 1, "b": 2})));
    assert!(config_eq(&json!([1, "x", null, [0.5]]), &json!([1, "x", null, [0.5]])));
}
