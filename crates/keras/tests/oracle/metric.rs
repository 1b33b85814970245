//! Checks for kind `metric` (not written yet: every case is reported as SKIP).

use crate::common::{Case, Outcome};

pub fn run(_case: &Case) -> Outcome {
    Outcome::Skip("kind 'metric' not wired into the runner yet".into())
}
