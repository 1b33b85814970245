//! Pieces shared by the random regularization layers: a per-layer seeded generator and
//! rate checks.

use std::sync::Mutex;

use keras_engine::{with_global_rng, Rng};

use crate::layers::layer::LayerBase;
use crate::Error;

/// The random stream of a layer: its own generator when a seed was given (Keras
/// `SeedGenerator(seed)`), otherwise the thread's global generator.
#[derive(Debug)]
pub(crate) struct LayerRng {
    rng: Mutex<Option<Rng>>,
}

impl LayerRng {
    pub(crate) fn new(seed: Option<u64>) -> Self {
        LayerRng { rng: Mutex::new(seed.map(Rng::new)) }
    }

    /// Runs `f` on this layer's generator.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut Rng) -> R) -> R {
        let mut guard = self.rng.lock().unwrap_or_else(|e| e.into_inner());
        match guard.as_mut() {
            Some(r) => f(r),
            None => with_global_rng(f),
        }
    }
}

/// Records an error unless `0 <= value <= 1` (Keras's check for `rate` and `stddev`).
pub(crate) fn check_unit_interval(base: &mut LayerBase, value: f32, name: &str) {
    if !(0.0..=1.0).contains(&value) {
        base.fail(Error::InvalidArgument(format!(
            "Invalid value received for argument `{name}`. Expected a float value between 0 and 1. Received: {name}={value}"
        )));
    }
}
