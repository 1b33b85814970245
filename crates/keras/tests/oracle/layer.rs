//! Checks for kind `layer` (not written yet: every case is reported as SKIP).

use crate::common::{Case, Outcome};

pub fn run(_case: &Case) -> Outcome {
    Outcome::Skip("kind 'layer' not wired into the runner yet".into())
}
