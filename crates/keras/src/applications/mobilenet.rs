//! `keras.applications.mobilenet`: MobileNet (Howard et al., 2017).
//!
//! The model builder needs the Functional API and comes later; this module holds the ImageNet
//! weight files (every `alpha` and input size Keras publishes), `preprocess_input` and
//! `decode_predictions`.

use super::imagenet_utils::{self, DecodedPrediction};
use super::weights::WeightsFile;
use crate::{keras_bail, Result, Tensor};

/// Keras's `BASE_WEIGHT_PATH`.
pub const BASE_WEIGHT_PATH: &str = "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet/";
/// The widths with published weights.
pub const ALPHAS: [f32; 4] = [0.25, 0.50, 0.75, 1.0];
/// The input sizes with published weights.
pub const SIZES: [usize; 4] = [128, 160, 192, 224];

/// The ImageNet weights `MobileNet(alpha, input_shape=(rows, rows, 3), weights="imagenet")`
/// loads: `mobilenet_{alpha}_{rows}_tf[_no_top].h5`, with `alpha` written `1_0`, `7_5`, `5_0`
/// or `2_5`. Keras checks no hash for these files. Keras's builder falls back to `rows = 224`
/// (with a warning) for other or non-square sizes before it gets here; here any size without
/// published weights is an error, as is any other `alpha` (Keras's message).
pub fn weights_file(include_top: bool, alpha: f32, rows: usize) -> Result<WeightsFile> {
    let alpha_text = if alpha == 1.0 {
        "1_0"
    } else if alpha == 0.75 {
        "7_5"
    } else if alpha == 0.50 {
        "5_0"
    } else if alpha == 0.25 {
        "2_5"
    } else {
        keras_bail!(
            InvalidArgument,
            "If imagenet weights are being loaded, alpha can be one of`0.25`, `0.50`, `0.75` or `1.0` only.  \
             Received alpha={alpha}"
        );
    };
    if !SIZES.contains(&rows) {
        keras_bail!(
            InvalidArgument,
            "MobileNet ImageNet weights exist for input sizes 128, 160, 192 and 224 only (Keras loads the 224 \
             weights for other sizes). Received rows={rows}"
        );
    }
    let fname = if include_top {
        format!("mobilenet_{alpha_text}_{rows}_tf.h5")
    } else {
        format!("mobilenet_{alpha_text}_{rows}_tf_no_top.h5")
    };
    Ok(WeightsFile::under(BASE_WEIGHT_PATH, fname, None))
}

/// `keras.applications.mobilenet.preprocess_input`: [`imagenet_utils::preprocess_input`] in
/// `"tf"` mode (scaled to `[-1, 1]`).
pub fn preprocess_input(x: &Tensor, data_format: Option<&str>) -> Result<Tensor> {
    imagenet_utils::preprocess_input(x, data_format, "tf")
}

/// `keras.applications.mobilenet.decode_predictions`: [`imagenet_utils::decode_predictions`].
pub fn decode_predictions(preds: &Tensor, top: usize) -> Result<Vec<Vec<DecodedPrediction>>> {
    imagenet_utils::decode_predictions(preds, top)
}
