//! `keras.applications.nasnet`: NASNetMobile and NASNetLarge (Zoph et al., 2017).
//!
//! The model builders need the Functional API and come later; this module holds the ImageNet
//! weight files, `preprocess_input` and `decode_predictions`.

use super::imagenet_utils::{self, DecodedPrediction};
use super::weights::WeightsFile;
use crate::{keras_bail, Result, Tensor};

/// Keras's `BASE_WEIGHTS_PATH`.
pub const BASE_WEIGHTS_PATH: &str = "https://storage.googleapis.com/tensorflow/keras-applications/nasnet/";
/// Keras's `NASNET_MOBILE_WEIGHT_PATH`.
pub const NASNET_MOBILE_WEIGHT_PATH: &str =
    "https://storage.googleapis.com/tensorflow/keras-applications/nasnet/NASNet-mobile.h5";
/// Keras's `NASNET_MOBILE_WEIGHT_PATH_NO_TOP`.
pub const NASNET_MOBILE_WEIGHT_PATH_NO_TOP: &str =
    "https://storage.googleapis.com/tensorflow/keras-applications/nasnet/NASNet-mobile-no-top.h5";
/// Keras's `NASNET_LARGE_WEIGHT_PATH`.
pub const NASNET_LARGE_WEIGHT_PATH: &str =
    "https://storage.googleapis.com/tensorflow/keras-applications/nasnet/NASNet-large.h5";
/// Keras's `NASNET_LARGE_WEIGHT_PATH_NO_TOP`.
pub const NASNET_LARGE_WEIGHT_PATH_NO_TOP: &str =
    "https://storage.googleapis.com/tensorflow/keras-applications/nasnet/NASNet-large-no-top.h5";

/// The ImageNet weights of a NASNet by its `default_size`, as Keras's `NASNet` picks them: 224
/// is NASNetMobile (`nasnet_mobile[_no_top].h5`), 331 NASNetLarge (`nasnet_large[_no_top].h5`);
/// anything else is Keras's error.
pub fn weights_file(default_size: usize, include_top: bool) -> Result<WeightsFile> {
    Ok(match (default_size, include_top) {
        (224, true) => WeightsFile::new(
            "nasnet_mobile.h5",
            NASNET_MOBILE_WEIGHT_PATH,
            Some("020fb642bf7360b370c678b08e0adf61"),
        ),
        (224, false) => WeightsFile::new(
            "nasnet_mobile_no_top.h5",
            NASNET_MOBILE_WEIGHT_PATH_NO_TOP,
            Some("1ed92395b5b598bdda52abe5c0dbfd63"),
        ),
        (331, true) => WeightsFile::new(
            "nasnet_large.h5",
            NASNET_LARGE_WEIGHT_PATH,
            Some("11577c9a518f0070763c2b964a382f17"),
        ),
        (331, false) => WeightsFile::new(
            "nasnet_large_no_top.h5",
            NASNET_LARGE_WEIGHT_PATH_NO_TOP,
            Some("d81d89dc07e6e56530c4e77faddd61b5"),
        ),
        _ => keras_bail!(
            InvalidArgument,
            "ImageNet weights can only be loaded with NASNetLarge or NASNetMobile"
        ),
    })
}

/// `keras.applications.nasnet.preprocess_input`: [`imagenet_utils::preprocess_input`] in
/// `"tf"` mode (scaled to `[-1, 1]`).
pub fn preprocess_input(x: &Tensor, data_format: Option<&str>) -> Result<Tensor> {
    imagenet_utils::preprocess_input(x, data_format, "tf")
}

/// `keras.applications.nasnet.decode_predictions`: [`imagenet_utils::decode_predictions`].
pub fn decode_predictions(preds: &Tensor, top: usize) -> Result<Vec<Vec<DecodedPrediction>>> {
    imagenet_utils::decode_predictions(preds, top)
}
