//! Checks for kind `metric`: the batches are fed in order to one metric object and
//! `result()` (or every threshold's value) is compared after each.

use keras::metrics::{self, MeanIoU, Metric, Precision, Recall, AUC};
use serde_json::Value;

use crate::common::{compare_values, Case, Check, Outcome};

fn thresholds(v: &Value) -> Option<Vec<f64>> {
    match v {
        Value::Null => None,
        Value::Number(n) => n.as_f64().map(|x| vec![x]),
        Value::Array(a) => Some(a.iter().filter_map(Value::as_f64).collect()),
        _ => None,
    }
}

fn usize_of(v: &Value) -> Option<usize> {
    v.as_u64().map(|x| x as usize)
}

fn build(case: &Case) -> Result<Box<dyn Metric>, Outcome> {
    let class = case.json["class_name"].as_str().unwrap_or_default();
    let cfg = &case.json["config"];
    let name = cfg["name"].as_str().unwrap_or_default().to_string();
    let fail = |e: keras::Error| Outcome::Fail(format!("cannot build {class}: {e}"));
    let m: Box<dyn Metric> = match class {
        "Precision" | "Recall" => {
            let th = thresholds(&cfg["thresholds"]);
            let top_k = usize_of(&cfg["top_k"]);
            let class_id = usize_of(&cfg["class_id"]);
            if class == "Precision" {
                Box::new(Precision::new(th, top_k, class_id).map_err(fail)?)
            } else {
                Box::new(Recall::new(th, top_k, class_id).map_err(fail)?)
            }
        }
        "AUC" => {
            let supported = cfg["summation_method"] == "interpolation"
                && cfg["multi_label"] != true
                && cfg["from_logits"] != true
                && cfg["label_weights"].is_null();
            if !supported {
                return Err(Outcome::Skip(format!("AUC config {cfg} not supported")));
            }
            let n = usize_of(&cfg["num_thresholds"]).unwrap_or(200);
            Box::new(AUC::new(n, cfg["curve"] == "PR").map_err(fail)?)
        }
        "MeanIoU" => {
            if cfg["sparse_y_true"] == false || cfg["sparse_y_pred"] == false {
                return Err(Outcome::Skip("MeanIoU with dense inputs not supported".into()));
            }
            let n = usize_of(&cfg["num_classes"]).unwrap_or(0);
            Box::new(MeanIoU::new(n, cfg["ignore_class"].as_i64()).map_err(fail)?)
        }
        _ => {
            let mut m = match metrics::get(class) {
                Ok(m) => m,
                Err(_) => return Err(Outcome::Skip(format!("metric class {class} not implemented"))),
            };
            // Hyper-parameters that live in the config.
            if let Some(k) = usize_of(&cfg["k"]) {
                let f = match class {
                    "TopKCategoricalAccuracy" => metrics::MetricFn::TopKCategoricalAccuracy(k),
                    _ => metrics::MetricFn::SparseTopKCategoricalAccuracy(k),
                };
                m = Box::new(metrics::MeanMetricWrapper::new(f));
            }
            if let Some(t) = cfg["threshold"].as_f64() {
                m = Box::new(metrics::MeanMetricWrapper::new(metrics::MetricFn::BinaryAccuracy(t)));
            }
            m
        }
    };
    let mut m = m;
    m.set_name(&name);
    Ok(m)
}

fn check(case: &Case, m: &mut dyn Metric) -> Check {
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
        let got = m.results();
        compare_values(&format!("results[{b}]"), &got, &rv[b * per..(b + 1) * per], rtol, atol)?;
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
