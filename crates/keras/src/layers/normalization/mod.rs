//! Normalization layers: BatchNormalization, LayerNormalization, GroupNormalization,
//! RMSNormalization, UnitNormalization.
//!
//! Submodules:
//! - `batch_normalization`: `BatchNormalization`
//! - `group_normalization`: `GroupNormalization`
//! - `layer_normalization`: `LayerNormalization`
//! - `rms_normalization`: `RMSNormalization`
//! - `shared_config`: the config keys the three share, read and written once
//! - `unit_normalization`: `UnitNormalization`

/// The options the normalization layers share (a struct with `base: LayerBase` and fields of
/// the same names), each written once here with its rustdoc; a layer lists the ones it has
/// (`beta_gamma` stands for the eight `center` to `gamma_constraint`):
/// - `epsilon(e)`: must be > 0, else the error is recorded with `base.fail` (raised when the
///   layer is built or added);
/// - `center(yes)`, `scale(yes)`: whether `beta` / `gamma` exist;
/// - `beta_initializer(i)`, `gamma_initializer(i)`;
/// - `beta_regularizer(r)`, `gamma_regularizer(r)`, `beta_constraint(c)`,
///   `gamma_constraint(c)`: these six are stored in the layer's `beta_args` / `gamma_args`
///   (a [`crate::layers::weight_args::WeightArgs`] each).
macro_rules! norm_options {
    ($Name:ident { $($opt:ident),* $(,)? }) => {
        impl $Name {
            $( $crate::layers::normalization::norm_options! { @opt $opt } )*
        }
    };
    (@opt beta_gamma) => {
        $crate::layers::normalization::norm_options! { @opt center }
        $crate::layers::normalization::norm_options! { @opt scale }
        $crate::layers::normalization::norm_options! { @opt beta_initializer }
        $crate::layers::normalization::norm_options! { @opt gamma_initializer }
        $crate::layers::normalization::norm_options! { @opt beta_regularizer }
        $crate::layers::normalization::norm_options! { @opt gamma_regularizer }
        $crate::layers::normalization::norm_options! { @opt beta_constraint }
        $crate::layers::normalization::norm_options! { @opt gamma_constraint }
    };
    (@opt epsilon) => {
        /// Added to the variance before the square root (must be > 0).
        pub fn epsilon(mut self, e: f64) -> Self {
            if e.is_nan() || e <= 0.0 {
                self.base.fail($crate::Error::InvalidArgument(format!(
                    "Layer {}: `epsilon` must be positive. Received: epsilon={e}",
                    self.base.name
                )));
            }
            self.epsilon = e;
            self
        }
    };
    (@opt center) => {
        /// Whether to add the learned offset `beta`.
        pub fn center(mut self, yes: bool) -> Self {
            self.center = yes;
            self
        }
    };
    (@opt scale) => {
        /// Whether to multiply by the learned scale `gamma`.
        pub fn scale(mut self, yes: bool) -> Self {
            self.scale = yes;
            self
        }
    };
    (@opt beta_initializer) => {
        /// `beta`'s initializer (zeros).
        pub fn beta_initializer(mut self, i: $crate::initializers::Initializer) -> Self {
            self.beta_args.initializer = i;
            self
        }
    };
    (@opt gamma_initializer) => {
        /// `gamma`'s initializer (ones).
        pub fn gamma_initializer(mut self, i: $crate::initializers::Initializer) -> Self {
            self.gamma_args.initializer = i;
            self
        }
    };
    (@opt beta_regularizer) => {
        /// Penalty on `beta` added to the training loss (Keras `beta_regularizer`).
        pub fn beta_regularizer(mut self, r: $crate::regularizers::Regularizer) -> Self {
            self.beta_args.regularizer = Some(r);
            self
        }
    };
    (@opt gamma_regularizer) => {
        /// Penalty on `gamma` added to the training loss (Keras `gamma_regularizer`).
        pub fn gamma_regularizer(mut self, r: $crate::regularizers::Regularizer) -> Self {
            self.gamma_args.regularizer = Some(r);
            self
        }
    };
    (@opt beta_constraint) => {
        /// Constraint applied to `beta` after each optimizer update (Keras `beta_constraint`).
        pub fn beta_constraint(mut self, c: $crate::constraints::Constraint) -> Self {
            self.beta_args.constraint = Some(c);
            self
        }
    };
    (@opt gamma_constraint) => {
        /// Constraint applied to `gamma` after each optimizer update (Keras `gamma_constraint`).
        pub fn gamma_constraint(mut self, c: $crate::constraints::Constraint) -> Self {
            self.gamma_args.constraint = Some(c);
            self
        }
    };
}
pub(crate) use norm_options;

pub mod batch_normalization;
pub mod group_normalization;
pub mod layer_normalization;
pub mod rms_normalization;
pub(crate) mod shared_config;
pub mod unit_normalization;

pub use batch_normalization::BatchNormalization;
pub use group_normalization::GroupNormalization;
pub use layer_normalization::LayerNormalization;
pub use rms_normalization::RMSNormalization;
pub use unit_normalization::UnitNormalization;

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use crate::layers::{deserialize, Layer};

    /// Every reference case of a class from the activation, reshaping, pooling and
    /// normalization families: `get_config()` after building equals Keras's, key order
    /// included, and `serialize()` writes a `build_config` exactly when Keras does.
    #[test]
    fn configs_match_the_keras_reference_cases() {
        let classes = [
            "ReLU",
            "LeakyReLU",
            "PReLU",
            "ELU",
            "Softmax",
            "Reshape",
            "Permute",
            "RepeatVector",
            "ZeroPadding1D",
            "ZeroPadding2D",
            "Cropping1D",
            "Cropping2D",
            "UpSampling1D",
            "UpSampling2D",
            "MaxPooling1D",
            "AveragePooling1D",
            "GlobalMaxPooling1D",
            "GlobalAveragePooling1D",
            "GlobalMaxPooling2D",
            "GlobalAveragePooling2D",
            "BatchNormalization",
            "LayerNormalization",
        ];
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/oracle/layer");
        let Ok(dirs) = std::fs::read_dir(&root) else { return };
        let mut checked = 0;
        for dir in dirs.flatten() {
            let Ok(text) = std::fs::read_to_string(dir.path().join("case.json")) else { continue };
            let case: Value = serde_json::from_str(&text).unwrap();
            if !classes.contains(&case["class_name"].as_str().unwrap_or("")) {
                continue;
            }
            let mut layer: Box<dyn Layer> = deserialize(&case["serialized"]).unwrap();
            let shape: Vec<Option<usize>> = case["input_shape"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d.as_u64().map(|v| v as usize))
                .collect();
            layer.build(&shape).unwrap();
            let got = layer.get_config();
            let (gk, wk): (Vec<&String>, Vec<&String>) = (
                got.as_object().unwrap().keys().collect(),
                case["config"].as_object().unwrap().keys().collect(),
            );
            assert_eq!(gk, wk, "{}: config keys", dir.path().display());
            assert_eq!(got, case["config"], "{}: config values", dir.path().display());
            let ser = layer.serialize();
            assert_eq!(
                ser.get("build_config").is_some(),
                case["serialized"].get("build_config").is_some(),
                "{}: build_config",
                dir.path().display()
            );
            checked += 1;
        }
        assert!(checked >= 15, "only {checked} cases checked");
    }
}
