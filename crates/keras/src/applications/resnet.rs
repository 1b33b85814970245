//! `keras.applications.resnet` (also `keras.applications.resnet50`): ResNet50, ResNet101 and
//! ResNet152 (He et al., 2015). The V2 models are in [`super::resnet_v2`]; their weight files
//! are listed here, in Keras's `WEIGHTS_HASHES`, as in Keras.
//!
//! The model builders need the Functional API and come later; this module holds the ImageNet
//! weight files, `preprocess_input` and `decode_predictions`.

use super::imagenet_utils::{self, DecodedPrediction};
use super::weights::WeightsFile;
use crate::{keras_bail, Result, Tensor};

/// Keras's `BASE_WEIGHTS_PATH`.
pub const BASE_WEIGHTS_PATH: &str = "https://storage.googleapis.com/tensorflow/keras-applications/resnet/";

/// Keras's `WEIGHTS_HASHES`: `(weights_name, hash with top, hash without top)`.
pub const WEIGHTS_HASHES: &[(&str, &str, &str)] = &[
    ("resnet50", "2cb95161c43110f7111970584f804107", "4d473c1dd8becc155b73f8504c6f6626"),
    ("resnet101", "f1aeb4b969a6efcfb50fad2f0c20cfc5", "88cf7a10940856eca736dc7b7e228a21"),
    ("resnet152", "100835be76be38e30d865e96f2aaae62", "ee4c566cf9a93f14d82f913c2dc6dd0c"),
    ("resnet50v2", "3ef43a0b657b3be2300d5770ece849e0", "fac2f116257151a9d068a22e544a4917"),
    ("resnet101v2", "6343647c601c52e1368623803854d971", "c0ed64b8031c3730f411d2eb4eea35b5"),
    ("resnet152v2", "a49b44d1979771252814e80f8ec446f9", "ed17cf2e0169df9d443503ef94b23b33"),
    ("resnext50", "67a5b30d522ed92f75a1f16eef299d1a", "62527c363bdd9ec598bed41947b379fc"),
    ("resnext101", "34fb605428fcc7aa4d62f44404c11509", "0f678c91647380debd923963594981b3"),
];

/// The ImageNet weights of a ResNet by Keras's `weights_name` (`"resnet50"`, `"resnet101"`,
/// `"resnet152"`, `"resnet50v2"`, `"resnet101v2"`, `"resnet152v2"`; Keras also lists
/// `"resnext50"` and `"resnext101"`, which no Keras 3 function loads):
/// `{weights_name}_weights_tf_dim_ordering_tf_kernels[_notop].h5`.
pub fn weights_file(weights_name: &str, include_top: bool) -> Result<WeightsFile> {
    let Some(&(_, top, notop)) = WEIGHTS_HASHES.iter().find(|(n, _, _)| *n == weights_name) else {
        keras_bail!(
            InvalidArgument,
            "No ImageNet weights for `weights_name={weights_name}`. Expected one of: {}",
            WEIGHTS_HASHES.iter().map(|(n, _, _)| *n).collect::<Vec<_>>().join(", ")
        );
    };
    Ok(if include_top {
        WeightsFile::under(
            BASE_WEIGHTS_PATH,
            format!("{weights_name}_weights_tf_dim_ordering_tf_kernels.h5"),
            Some(top),
        )
    } else {
        WeightsFile::under(
            BASE_WEIGHTS_PATH,
            format!("{weights_name}_weights_tf_dim_ordering_tf_kernels_notop.h5"),
            Some(notop),
        )
    })
}

/// `keras.applications.resnet.preprocess_input`: [`imagenet_utils::preprocess_input`] in
/// `"caffe"` mode (RGB to BGR, minus ImageNet's channel means).
pub fn preprocess_input(x: &Tensor, data_format: Option<&str>) -> Result<Tensor> {
    imagenet_utils::preprocess_input(x, data_format, "caffe")
}

/// `keras.applications.resnet.decode_predictions`: [`imagenet_utils::decode_predictions`].
pub fn decode_predictions(preds: &Tensor, top: usize) -> Result<Vec<Vec<DecodedPrediction>>> {
    imagenet_utils::decode_predictions(preds, top)
}
