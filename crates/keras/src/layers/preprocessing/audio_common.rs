//! What the audio layers ([`STFTSpectrogram`](super::STFTSpectrogram) and
//! [`MelSpectrogram`](super::MelSpectrogram)) write the same way: the builders of their
//! `window` argument and a `from_config` that runs the constructor's checks.

/// Writes, inside the `impl` of an audio layer with `args.window` (a Keras window name, a list
/// of values or `None`), the `window_values` and `no_window` builders.
macro_rules! window_builders {
    () => {
        /// Explicit window values, one per sample of the frame.
        pub fn window_values(mut self, values: &[f64]) -> Self {
            self.args.window = serde_json::Value::from(values.to_vec());
            self
        }

        /// No window (a rectangular frame).
        pub fn no_window(mut self) -> Self {
            self.args.window = serde_json::Value::Null;
            self
        }
    };
}
pub(crate) use window_builders;

/// Writes, inside the `impl` of an audio layer, `from_config`: the arguments read as `$Args`
/// for Keras class `$class`, the base config applied, then the layer's `check()` (the
/// constructor's checks).
macro_rules! checked_from_config {
    ($Args:ident, $class:literal) => {
        /// Rebuilds from a Keras config, with the constructor's checks.
        pub fn from_config(cfg: &serde_json::Value) -> $crate::Result<Self> {
            let mut l = Self::new();
            l.args = $Args::read_args(&mut $crate::layers::layer_args::LayerCfg::new(cfg, $class))?;
            l.base.apply_config(cfg);
            l.check()?;
            Ok(l)
        }
    };
}
pub(crate) use checked_from_config;
