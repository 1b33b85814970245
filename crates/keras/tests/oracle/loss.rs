//! Checks for kind `loss`: per-sample values (`reduction=None`), the reduced value with the
//! default reduction (and sample weights when present), the gradient of the reduced value
//! w.r.t. `y_pred`, and the exact `get_config()`.

use keras::losses::{self, Loss};
use keras::GradientTape;
use serde_json::Value;

use crate::common::{compare, config_eq, Case, Check, Outcome};

/// Builds the loss from the case's class name, config and call parameters.
fn build(case: &Case) -> Result<Box<dyn Loss>, Outcome> {
    let class = case.json["class_name"].as_str().unwrap_or_default();
    let mut cfg = case.json["config"].clone();
    if let (Some(c), Some(p)) = (cfg.as_object_mut(), case.json["params"].as_object()) {
        for (k, v) in p {
            c.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    let ser = serde_json::json!({"class_name": class, "config": cfg});
    losses::deserialize(&ser).map_err(|e| match e {
        keras::Error::InvalidArgument(_) => Outcome::Skip(format!("loss class {class} not implemented")),
        e => Outcome::Fail(format!("cannot build {class}: {e}")),
    })
}

fn check(case: &Case, loss: &dyn Loss) -> Check {
    let want_cfg = &case.json["config"];
    let got_cfg = loss.get_config();
    if !config_eq(&got_cfg, want_cfg) {
        return Err(format!("config {got_cfg} != Keras {want_cfg}"));
    }
    let y_true = case.array("y_true")?;
    let y_pred = case.array("y_pred")?;
    let sw = if case.has("sample_weight") { Some(case.array("sample_weight")?) } else { None };
    let (frt, fat) = case.tol("forward");
    let (grt, gat) = case.tol("grad");
    let per = loss.call(&y_true, &y_pred).map_err(|e| format!("call: {e}"))?;
    compare("per_sample", &per, &case.array("per_sample")?, frt, fat)?;
    let tape = GradientTape::new();
    let yp = tape.watch(&y_pred);
    let reduced = loss.compute(&y_true, &yp, sw.as_ref()).map_err(|e| format!("compute: {e}"))?;
    compare("reduced", &reduced, &case.array("reduced")?, frt, fat)?;
    let g = tape.gradient(&reduced, &[&yp]).map_err(|e| format!("gradient: {e}"))?;
    let g = g[0].clone().ok_or_else(|| "no gradient w.r.t. y_pred".to_string())?;
    compare("grad_y_pred", &g, &case.array("grad_y_pred")?, grt, gat)?;
    let _: Option<&Value> = None;
    Ok(())
}

pub fn run(case: &Case) -> Outcome {
    let loss = match build(case) {
        Ok(l) => l,
        Err(o) => return o,
    };
    match check(case, loss.as_ref()) {
        Ok(()) => Outcome::Pass,
        Err(e) => Outcome::Fail(e),
    }
}
