//! `keras.applications.vgg16`: VGG16 (Simonyan & Zisserman, 2014).
//!
//! The model builder (`VGG16`) needs the Functional API and comes later; this module holds
//! what does not: the ImageNet weight files, `preprocess_input` and `decode_predictions`.

use super::imagenet_utils::{self, DecodedPrediction};
use super::weights::WeightsFile;
use crate::{Result, Tensor};

/// Keras's `WEIGHTS_PATH` (with the classifier).
pub const WEIGHTS_PATH: &str = "https://storage.googleapis.com/tensorflow/keras-applications/vgg16/vgg16_weights_tf_dim_ordering_tf_kernels.h5";
/// Keras's `WEIGHTS_PATH_NO_TOP`.
pub const WEIGHTS_PATH_NO_TOP: &str = "https://storage.googleapis.com/tensorflow/keras-applications/vgg16/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5";

/// The ImageNet weights `VGG16(weights="imagenet", include_top=...)` loads.
pub fn weights_file(include_top: bool) -> WeightsFile {
    if include_top {
        WeightsFile::new(
            "vgg16_weights_tf_dim_ordering_tf_kernels.h5",
            WEIGHTS_PATH,
            Some("64373286793e3c8b2b4e3219cbf3544b"),
        )
    } else {
        WeightsFile::new(
            "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
            WEIGHTS_PATH_NO_TOP,
            Some("6d6bbae143d832006294945121d1f1fc"),
        )
    }
}

/// `keras.applications.vgg16.preprocess_input`: [`imagenet_utils::preprocess_input`] in
/// `"caffe"` mode (RGB to BGR, minus ImageNet's channel means).
pub fn preprocess_input(x: &Tensor, data_format: Option<&str>) -> Result<Tensor> {
    imagenet_utils::preprocess_input(x, data_format, "caffe")
}

/// `keras.applications.vgg16.decode_predictions`: [`imagenet_utils::decode_predictions`].
pub fn decode_predictions(preds: &Tensor, top: usize) -> Result<Vec<Vec<DecodedPrediction>>> {
    imagenet_utils::decode_predictions(preds, top)
}
