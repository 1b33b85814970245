//! `keras.applications.vgg19`: VGG19 (Simonyan & Zisserman, 2014).
//!
//! The model builder (`VGG19`) needs the Functional API and comes later; this module holds
//! what does not: the ImageNet weight files, `preprocess_input` and `decode_predictions`.

use super::imagenet_utils::{self, DecodedPrediction};
use super::weights::WeightsFile;
use crate::{Result, Tensor};

/// Keras's `WEIGHTS_PATH` (with the classifier).
pub const WEIGHTS_PATH: &str = "https://storage.googleapis.com/tensorflow/keras-applications/vgg19/vgg19_weights_tf_dim_ordering_tf_kernels.h5";
/// Keras's `WEIGHTS_PATH_NO_TOP`.
pub const WEIGHTS_PATH_NO_TOP: &str = "https://storage.googleapis.com/tensorflow/keras-applications/vgg19/vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5";

/// The ImageNet weights `VGG19(weights="imagenet", include_top=...)` loads.
pub fn weights_file(include_top: bool) -> WeightsFile {
    if include_top {
        WeightsFile::new(
            "vgg19_weights_tf_dim_ordering_tf_kernels.h5",
            WEIGHTS_PATH,
            Some("cbe5617147190e668d6c5d5026f83318"),
        )
    } else {
        WeightsFile::new(
            "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5",
            WEIGHTS_PATH_NO_TOP,
            Some("253f8cb515780f3b799900260a226db6"),
        )
    }
}

/// `keras.applications.vgg19.preprocess_input`: [`imagenet_utils::preprocess_input`] in
/// `"caffe"` mode (RGB to BGR, minus ImageNet's channel means).
pub fn preprocess_input(x: &Tensor, data_format: Option<&str>) -> Result<Tensor> {
    imagenet_utils::preprocess_input(x, data_format, "caffe")
}

/// `keras.applications.vgg19.decode_predictions`: [`imagenet_utils::decode_predictions`].
pub fn decode_predictions(preds: &Tensor, top: usize) -> Result<Vec<Vec<DecodedPrediction>>> {
    imagenet_utils::decode_predictions(preds, top)
}
