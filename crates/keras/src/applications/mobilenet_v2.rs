//! `keras.applications.mobilenet_v2`: MobileNetV2 (Sandler et al., 2018).
//!
//! The model builder needs the Functional API and comes later; this module holds the ImageNet
//! weight files (every `alpha` and input size Keras publishes), `preprocess_input` and
//! `decode_predictions`.

use super::imagenet_utils::{self, DecodedPrediction};
use super::weights::WeightsFile;
use crate::{keras_bail, Result, Tensor};

/// Keras's `BASE_WEIGHT_PATH`.
pub const BASE_WEIGHT_PATH: &str =
    "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v2/";
/// The widths with published weights.
pub const ALPHAS: [f32; 6] = [0.35, 0.50, 0.75, 1.0, 1.3, 1.4];
/// The input sizes with published weights.
pub const SIZES: [usize; 5] = [96, 128, 160, 192, 224];

/// Python's `str(float(alpha))` for the published widths (`0.35`, `0.5`, `1.0`, `1.3`).
fn alpha_text(alpha: f32) -> Option<&'static str> {
    const TEXT: [&str; 6] = ["0.35", "0.5", "0.75", "1.0", "1.3", "1.4"];
    ALPHAS.iter().position(|&a| a == alpha).map(|i| TEXT[i])
}

/// The ImageNet weights `MobileNetV2(alpha, input_shape=(rows, rows, 3), weights="imagenet")`
/// loads: `mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{alpha}_{rows}[_no_top].h5`.
/// Keras checks no hash for these files. Keras's builder falls back to `rows = 224` (with a
/// warning) for other or non-square sizes before it gets here; here any size without
/// published weights is an error, as is any other `alpha` (Keras's message).
pub fn weights_file(include_top: bool, alpha: f32, rows: usize) -> Result<WeightsFile> {
    let Some(a) = alpha_text(alpha) else {
        keras_bail!(
            InvalidArgument,
            "If imagenet weights are being loaded, alpha must be one of `0.35`, `0.50`, `0.75`, `1.0`, `1.3` or \
             `1.4` only; Received `alpha={alpha}`"
        );
    };
    if !SIZES.contains(&rows) {
        keras_bail!(
            InvalidArgument,
            "MobileNetV2 ImageNet weights exist for input sizes 96, 128, 160, 192 and 224 only (Keras loads the \
             224 weights for other sizes). Received rows={rows}"
        );
    }
    let fname = if include_top {
        format!("mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{a}_{rows}.h5")
    } else {
        format!("mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{a}_{rows}_no_top.h5")
    };
    Ok(WeightsFile::under(BASE_WEIGHT_PATH, fname, None))
}

/// `keras.applications.mobilenet_v2.preprocess_input`: [`imagenet_utils::preprocess_input`] in
/// `"tf"` mode (scaled to `[-1, 1]`).
pub fn preprocess_input(x: &Tensor, data_format: Option<&str>) -> Result<Tensor> {
    imagenet_utils::preprocess_input(x, data_format, "tf")
}

/// `keras.applications.mobilenet_v2.decode_predictions`: [`imagenet_utils::decode_predictions`].
pub fn decode_predictions(preds: &Tensor, top: usize) -> Result<Vec<Vec<DecodedPrediction>>> {
    imagenet_utils::decode_predictions(preds, top)
}
