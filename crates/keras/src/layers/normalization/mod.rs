//! Normalization layers: BatchNormalization, LayerNormalization, GroupNormalization,
//! RMSNormalization, UnitNormalization, and the SpectralNormalization wrapper.
//!
//! Submodules:
//! - `batch_normalization`: `BatchNormalization`
//! - `group_normalization`: `GroupNormalization`
//! - `layer_normalization`: `LayerNormalization`
//! - `rms_normalization`: `RMSNormalization`
//! - `spectral_normalization`: `SpectralNormalization` (a wrapper normalizing a layer's kernel)
//! - `unit_normalization`: `UnitNormalization`

/// Declares a normalization layer's Keras arguments with
/// [`config_args!`](crate::utils::config_args!) (family `LayerArgs`, builders on the layer),
/// in the layer's Keras order, where three markers stand for the arguments the layers share,
/// each declared once here with its rustdoc:
/// - `@epsilon_center_scale`: `epsilon` (1e-3; its builder, which validates in
///   BatchNormalization and LayerNormalization, is the layer's own), `center` and `scale`
///   (true: whether `beta` / `gamma` exist);
/// - `@beta_gamma_initializers`: `beta_initializer` (zeros), `gamma_initializer` (ones);
/// - `@beta_gamma_penalties`: `beta_regularizer`, `gamma_regularizer`, `beta_constraint`,
///   `gamma_constraint` (none).
///
/// Every other entry is a `config_args!` entry, ending with a comma.
macro_rules! norm_args {
    (
        $(#[$meta:meta])*
        $vis:vis struct $Args:ident in $Owner:ident . $slot:ident { $($body:tt)* }
    ) => {
        $crate::layers::normalization::norm_args! {
            @munch [
                $(#[$meta])*
                $vis struct $Args in $Owner.$slot, family $crate::layers::layer_args::LayerArgs
            ] [] $($body)*
        }
    };
    (@munch [$($head:tt)*] [$($done:tt)*]) => {
        $crate::utils::config_args::config_args! { $($head)* { $($done)* } }
    };
    (@munch $head:tt [$($done:tt)*] @epsilon_center_scale, $($rest:tt)*) => {
        $crate::layers::normalization::norm_args! { @munch $head [$($done)*
            /// Added to the variance before the square root.
            epsilon: f64 = 1e-3,
            /// Whether to add the learned offset `beta`.
            center: bool = true; builder center(yes: bool),
            /// Whether to multiply by the learned scale `gamma`.
            scale: bool = true; builder scale(yes: bool),
        ] $($rest)* }
    };
    (@munch $head:tt [$($done:tt)*] @beta_gamma_initializers, $($rest:tt)*) => {
        $crate::layers::normalization::norm_args! { @munch $head [$($done)*
            /// `beta`'s initializer (zeros).
            beta_initializer: $crate::initializers::Initializer = $crate::initializers::Initializer::Zeros;
                builder beta_initializer(i: $crate::initializers::Initializer),
            /// `gamma`'s initializer (ones).
            gamma_initializer: $crate::initializers::Initializer = $crate::initializers::Initializer::Ones;
                builder gamma_initializer(i: $crate::initializers::Initializer),
        ] $($rest)* }
    };
    (@munch $head:tt [$($done:tt)*] @beta_gamma_penalties, $($rest:tt)*) => {
        $crate::layers::normalization::norm_args! { @munch $head [$($done)*
            /// Penalty on `beta` added to the training loss (Keras `beta_regularizer`).
            beta_regularizer: Option<$crate::regularizers::Regularizer> = None;
                builder beta_regularizer(r: $crate::regularizers::Regularizer) => Some(r),
            /// Penalty on `gamma` added to the training loss (Keras `gamma_regularizer`).
            gamma_regularizer: Option<$crate::regularizers::Regularizer> = None;
                builder gamma_regularizer(r: $crate::regularizers::Regularizer) => Some(r),
            /// Constraint applied to `beta` after each optimizer update (Keras `beta_constraint`).
            beta_constraint: Option<$crate::constraints::Constraint> = None;
                builder beta_constraint(c: $crate::constraints::Constraint) => Some(c),
            /// Constraint applied to `gamma` after each optimizer update (Keras `gamma_constraint`).
            gamma_constraint: Option<$crate::constraints::Constraint> = None;
                builder gamma_constraint(c: $crate::constraints::Constraint) => Some(c),
        ] $($rest)* }
    };
    (
        @munch $head:tt [$($done:tt)*]
        $(#[doc = $doc:expr])*
        $key:ident : $ty:ty $(= $default:expr)?
        $(; builder $bname:ident ( $bparam:ident : $bty:ty ) $(=> $conv:expr)?)?,
        $($rest:tt)*
    ) => {
        $crate::layers::normalization::norm_args! { @munch $head [$($done)*
            $(#[doc = $doc])*
            $key : $ty $(= $default)? $(; builder $bname ( $bparam : $bty ) $(=> $conv)?)?,
        ] $($rest)* }
    };
}
pub(crate) use norm_args;

/// The `epsilon` builder of BatchNormalization and LayerNormalization (a layer with
/// `base: LayerBase` and `args.epsilon`): `epsilon` must be > 0, else the error is recorded
/// with `base.fail` (raised when the layer is built or added).
macro_rules! epsilon_builder {
    () => {
        /// Added to the variance before the square root (must be > 0).
        pub fn epsilon(mut self, e: f64) -> Self {
            if e.is_nan() || e <= 0.0 {
                self.base.fail($crate::Error::InvalidArgument(format!(
                    "Layer {}: `epsilon` must be positive. Received: epsilon={e}",
                    self.base.name
                )));
            }
            self.args.epsilon = e;
            self
        }
    };
}

/// The `axis` / `axes` builders of LayerNormalization, RMSNormalization and
/// UnitNormalization (a layer with `base: LayerBase` and `args.axis: Axis`): one axis, written
/// as an int, or several, written as a list; an empty list is recorded with `base.fail`.
macro_rules! axis_builders {
    () => {
        /// Normalizes over one axis (negative counts from the end; default -1).
        pub fn axis(mut self, axis: isize) -> Self {
            self.args.axis = $crate::layers::layer_args::Axis::one(axis);
            self
        }

        /// Normalizes over several axes together (Keras's `axis=[1, 2]`).
        pub fn axes(mut self, axes: &[isize]) -> Self {
            if axes.is_empty() {
                self.base.fail($crate::Error::InvalidArgument(format!(
                    "Layer {}: `axis` must name at least one axis. Received: axis=[]",
                    self.base.name
                )));
            }
            self.args.axis = $crate::layers::layer_args::Axis::list(axes);
            self
        }
    };
}

pub mod batch_normalization;
pub mod group_normalization;
pub mod layer_normalization;
pub mod rms_normalization;
pub mod spectral_normalization;
pub mod unit_normalization;

pub use batch_normalization::BatchNormalization;
pub use group_normalization::GroupNormalization;
pub use layer_normalization::LayerNormalization;
pub use rms_normalization::RMSNormalization;
pub use spectral_normalization::SpectralNormalization;
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
