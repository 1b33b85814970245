//! `keras.applications.resnet_v2`: ResNet50V2, ResNet101V2 and ResNet152V2 (He et al., 2016).
//!
//! The model builders need the Functional API and come later; this module holds the ImageNet
//! weight files, `preprocess_input` and `decode_predictions`.

use super::imagenet_utils::{self, DecodedPrediction};
use super::weights::WeightsFile;
use crate::{Result, Tensor};

/// The ImageNet weights of `ResNet{depth}V2` (`depth` 50, 101 or 152), from Keras's ResNet
/// table (`weights_name="resnet{depth}v2"`).
pub fn weights_file(depth: usize, include_top: bool) -> Result<WeightsFile> {
    super::resnet::weights_file(&format!("resnet{depth}v2"), include_top)
}

/// `keras.applications.resnet_v2.preprocess_input`: [`imagenet_utils::preprocess_input`] in
/// `"tf"` mode (scaled to `[-1, 1]`).
pub fn preprocess_input(x: &Tensor, data_format: Option<&str>) -> Result<Tensor> {
    imagenet_utils::preprocess_input(x, data_format, "tf")
}

/// `keras.applications.resnet_v2.decode_predictions`: [`imagenet_utils::decode_predictions`].
pub fn decode_predictions(preds: &Tensor, top: usize) -> Result<Vec<Vec<DecodedPrediction>>> {
    imagenet_utils::decode_predictions(preds, top)
}
