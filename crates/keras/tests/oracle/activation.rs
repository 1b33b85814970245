//! Checks for kind `activation` (not written yet: every case is reported as SKIP).

use crate::common::{Case, Outcome};

pub fn run(_case: &Case) -> Outcome {
    Outcome::Skip("kind 'activation' not wired into the runner yet".into())
}
