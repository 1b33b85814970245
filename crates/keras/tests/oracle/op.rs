//! Kind `op`: functions of `keras.ops` checked on stored inputs (`ctc_decode`: decoded label
//! sequences exactly, scores with the case's tolerance).

use keras::ops::{ctc_decode, CtcDecodeArgs};
use serde_json::Value;

use crate::common::{compare, Case, Check, Outcome};

fn ctc_args(p: &Value) -> Result<CtcDecodeArgs, String> {
    let mut a = CtcDecodeArgs::default();
    if let Some(s) = p.get("strategy").and_then(Value::as_str) {
        a = a.strategy(s).map_err(|e| e.to_string())?;
    }
    if let Some(n) = p.get("beam_width").and_then(Value::as_u64) {
        a = a.beam_width(n as usize);
    }
    if let Some(n) = p.get("top_paths").and_then(Value::as_u64) {
        a = a.top_paths(n as usize);
    }
    if let Some(m) = p.get("merge_repeated").and_then(Value::as_bool) {
        a = a.merge_repeated(m);
    }
    if let Some(m) = p.get("mask_index") {
        a = a.mask_index(m.as_i64());
    }
    Ok(a)
}

fn check_ctc_decode(case: &Case) -> Check {
    let args = ctc_args(&case.json["params"])?;
    let (decoded, scores) = ctc_decode(&case.array("inputs")?, &case.array("sequence_lengths")?, args)
        .map_err(|e| format!("ctc_decode: {e}"))?;
    let want = case.array("decoded")?;
    if decoded.shape() != want.shape() || decoded.to_i64_vec() != want.to_i64_vec() {
        return Err(format!(
            "decoded {:?} {:?}, Keras has {:?} {:?}",
            decoded.shape(),
            decoded.to_i64_vec(),
            want.shape(),
            want.to_i64_vec()
        ));
    }
    let (rtol, atol) = case.tol("scores");
    compare("scores", &scores, &case.array("scores")?, rtol, atol)
}

pub fn run(case: &Case) -> Outcome {
    let r = match case.json["function"].as_str().unwrap_or("") {
        "keras.ops.ctc_decode" => check_ctc_decode(case),
        other => return Outcome::Skip(format!("op {other} is not supported")),
    };
    match r {
        Ok(()) => Outcome::Pass,
        Err(e) => Outcome::Fail(e),
    }
}
