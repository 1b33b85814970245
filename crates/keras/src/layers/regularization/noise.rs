//! Pieces shared by the random regularization layers: a per-layer seeded generator and
//! rate checks.

use std::sync::Mutex;

use keras_engine::{with_global_rng, Rng};

use crate::layers::layer::LayerBase;
use crate::{Error, Result};

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

/// Keras `_get_concrete_noise_shape` of the dropout layers: `None` entries of `noise_shape`
/// take the input's size; every other entry must be 1 or the input's size (`layer` names the
/// layer in the error).
pub(crate) fn concrete_noise_shape(
    layer: &str,
    noise_shape: &Option<Vec<Option<usize>>>,
    shape: &[usize],
) -> Result<Vec<usize>> {
    let Some(ns) = noise_shape else {
        return Ok(shape.to_vec());
    };
    let ok =
        ns.len() == shape.len() && ns.iter().zip(shape).all(|(n, &s)| n.is_none_or(|n| n == 1 || n == s));
    if !ok {
        return Err(Error::Shape(format!(
            "Layer {layer}: noise_shape {ns:?} cannot be broadcast to the input shape {shape:?}"
        )));
    }
    Ok(ns.iter().zip(shape).map(|(n, &s)| n.unwrap_or(s)).collect())
}

/// The `seed` builder and `rate` getter of a dropout layer (`args.seed`, `args.rate`, `rng`),
/// and its `from_config` (class `$class`, arguments `$Args`, rebuilt by `Self::new(rate)`).
macro_rules! dropout_methods {
    ($class:literal, $Args:ident) => {
        /// A fixed seed for this layer's masks (otherwise the global generator).
        pub fn seed(mut self, seed: u64) -> Self {
            self.args.seed = Some(seed);
            self.rng = LayerRng::new(Some(seed));
            self
        }

        /// The drop rate.
        pub fn rate(&self) -> f32 {
            self.args.rate
        }

        /// Rebuilds from a Keras config.
        pub fn from_config(cfg: &Value) -> Result<Self> {
            let args = $Args::read_args(&mut LayerCfg::new(cfg, $class))?;
            let mut l = Self::new(args.rate);
            l.rng = LayerRng::new(args.seed);
            l.args = args;
            $crate::layers::layer::configured(l, cfg)
        }
    };
}
pub(crate) use dropout_methods;
