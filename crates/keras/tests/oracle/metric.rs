//! Checks for kind `metric`: the metric is rebuilt from the case's class name and config
//! (`keras::metrics::deserialize`), its `get_config()` must equal Keras's, the batches are fed
//! in order and `result()` (or every value, for several thresholds or outputs) is compared
//! after each, then the state variables, for the metrics that expose them.

use keras::metrics::{self, Metric};
use serde_json::{json, Value};

use crate::common::{compare_values, config_eq, Case, Check, Outcome};

fn build(case: &Case) -> Result<Box<dyn Metric>, Outcome> {
    let class = case.json["class_name"].as_str().unwrap_or_default();
    let ser = json!({"class_name": class, "config": case.json["config"]});
    metrics::deserialize(&ser).map_err(|e| {
        if e.message().starts_with("Could not interpret metric identifier") {
            Outcome::Skip(format!("metric class {class} not implemented"))
        } else {
            Outcome::Fail(format!("cannot build {class}: {e}"))
        }
    })
}

fn flatten(v: &Value, out: &mut Vec<f32>) {
    match v {
        Value::Array(a) => a.iter().for_each(|x| flatten(x, out)),
        Value::Number(n) => out.push(n.as_f64().unwrap_or(f64::NAN) as f32),
        _ => out.push(f32::NAN),
    }
}

fn check(case: &Case, m: &mut dyn Metric) -> Check {
    let got_cfg = m.get_config();
    if !config_eq(&got_cfg, &case.json["config"]) {
        return Err(format!("get_config() {got_cfg} != Keras {}", case.json["config"]));
    }
    let results = case.array("results")?;
    let rv = results.to_f32_vec();
    let n = case.json["num_batches"].as_u64().unwrap_or(0) as usize;
    let per = rv.len().checked_div(n).unwrap_or(0);
    let (rtol, atol) = case.tol("result");
    let batches = case.json["batches"].as_array().cloned().unwrap_or_default();
    for (b, batch) in batches.iter().enumerate() {
        let file = |k: &str| batch[k].as_str().map(|s| s.to_string());
        let yt = case.file(&file("y_true").ok_or("batch without y_true")?)?;
        let yp = case.file(&file("y_pred").ok_or("batch without y_pred")?)?;
        let sw = match file("sample_weight") {
            Some(f) => Some(case.file(&f)?),
            None => None,
        };
        m.update_state(&yt, &yp, sw.as_ref()).map_err(|e| format!("update_state on batch {b}: {e}"))?;
        let got = if per == 1 { vec![m.result()] } else { m.results() };
        compare_values(&format!("results[{b}]"), &got, &rv[b * per..(b + 1) * per], rtol, atol)?;
    }
    let vars = m.variables();
    if let (false, Some(Value::Array(want))) = (vars.is_empty(), case.json.get("state_after_last_batch")) {
        let (srtol, satol) = case.tol("state");
        for w in want {
            let name = w["name"].as_str().unwrap_or_default();
            let Some((_, got)) = vars.iter().find(|(n, _)| n == name) else {
                return Err(format!(
                    "no state variable {name}; keras-rs has {:?}",
                    vars.iter().map(|v| &v.0).collect::<Vec<_>>()
                ));
            };
            let mut flat = Vec::new();
            flatten(&w["value"], &mut flat);
            compare_values(&format!("state {name}"), &got.to_f32_vec(), &flat, srtol, satol)?;
        }
    }
    Ok(())
}

pub fn run(case: &Case) -> Outcome {
    let mut m = match build(case) {
        Ok(m) => m,
        Err(o) => return o,
    };
    match check(case, m.as_mut()) {
        Ok(()) => Outcome::Pass,
        Err(e) => Outcome::Fail(e),
    }
}
