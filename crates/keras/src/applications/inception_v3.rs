//! `keras.applications.inception_v3`: Inception V3 (Szegedy et al., 2015).
//!
//! The model builder (`InceptionV3`) needs the Functional API and comes later; this module holds
//! what does not: the ImageNet weight files, `preprocess_input` and `decode_predictions`.

use super::imagenet_utils::{self, DecodedPrediction};
use super::weights::WeightsFile;
use crate::{Result, Tensor};

/// Keras's `WEIGHTS_PATH` (with the classifier).
pub const WEIGHTS_PATH: &str = "https://storage.googleapis.com/tensorflow/keras-applications/inception_v3/inception_v3_weights_tf_dim_ordering_tf_kernels.h5";
/// Keras's `WEIGHTS_PATH_NO_TOP`.
pub const WEIGHTS_PATH_NO_TOP: &str = "https://storage.googleapis.com/tensorflow/keras-applications/inception_v3/inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5";

/// The ImageNet weights `InceptionV3(weights="imagenet", include_top=...)` loads.
pub fn weights_file(include_top: bool) -> WeightsFile {
    if include_top {
        WeightsFile::new(
            "inception_v3_weights_tf_dim_ordering_tf_kernels.h5",
            WEIGHTS_PATH,
            Some("9a0d58056eeedaa3f26cb7ebd46da564"),
        )
    } else {
        WeightsFile::new(
            "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5",
            WEIGHTS_PATH_NO_TOP,
            Some("bcbd6486424b2319ff4ef7d526e38f63"),
        )
    }
}

/// `keras.applications.inception_v3.preprocess_input`: [`imagenet_utils::preprocess_input`] in
/// `"tf"` mode (scaled to `[-1, 1]`).
pub fn preprocess_input(x: &Tensor, data_format: Option<&str>) -> Result<Tensor> {
    imagenet_utils::preprocess_input(x, data_format, "tf")
}

/// `keras.applications.inception_v3.decode_predictions`: [`imagenet_utils::decode_predictions`].
pub fn decode_predictions(preds: &Tensor, top: usize) -> Result<Vec<Vec<DecodedPrediction>>> {
    imagenet_utils::decode_predictions(preds, top)
}
