//! `keras.applications.mobilenet_v3`: MobileNetV3Small and MobileNetV3Large (Howard et al.,
//! 2019), with their minimalistic variants.
//!
//! The model builders need the Functional API and come later; this module holds the ImageNet
//! weight files, `preprocess_input` (a pass-through: the models rescale their input
//! themselves) and `decode_predictions`.

use super::imagenet_utils::{self, DecodedPrediction};
use super::weights::WeightsFile;
use crate::{keras_bail, Result, Tensor};

/// Keras's `BASE_WEIGHT_PATH`.
pub const BASE_WEIGHT_PATH: &str =
    "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v3/";

/// Keras's `WEIGHTS_HASHES`: `(model_name, hash with top, hash without top)`.
pub const WEIGHTS_HASHES: &[(&str, &str, &str)] = &[
    ("large_224_0.75_float", "765b44a33ad4005b3ac83185abf1d0eb", "40af19a13ebea4e2ee0c676887f69a2e"),
    ("large_224_1.0_float", "59e551e166be033d707958cf9e29a6a7", "07fb09a5933dd0c8eaafa16978110389"),
    (
        "large_minimalistic_224_1.0_float",
        "675e7b876c45c57e9e63e6d90a36599c",
        "ec5221f64a2f6d1ef965a614bdae7973",
    ),
    ("small_224_0.75_float", "cb65d4e5be93758266aa0a7f2c6708b7", "ebdb5cc8e0b497cd13a7c275d475c819"),
    ("small_224_1.0_float", "8768d4c2e7dee89b9d02b2d03d65d862", "d3e8ec802a04aa4fc771ee12a9a9b836"),
    (
        "small_minimalistic_224_1.0_float",
        "99cd97fb2fcdad2bf028eb838de69e37",
        "cde8136e733e811080d9fcd8a252f7e4",
    ),
];

/// The ImageNet weights of `MobileNetV3Small` (`model_type = "small"`) or `MobileNetV3Large`
/// (`"large"`): `weights_mobilenet_v3_{model_name}.h5` with the classifier,
/// `weights_mobilenet_v3_{model_name}_no_top_v2.h5` without, where `model_name` is
/// `{type}[_minimalistic]_224_{alpha}_float`. Published: `alpha` 0.75 or 1.0, and 1.0 only
/// for the minimalistic models (Keras's error otherwise). Keras loads these 224x224 weights
/// for any input size (with a warning when it is not 224).
pub fn weights_file(
    model_type: &str,
    include_top: bool,
    alpha: f32,
    minimalistic: bool,
) -> Result<WeightsFile> {
    if model_type != "small" && model_type != "large" {
        keras_bail!(InvalidArgument, "model_type must be \"small\" or \"large\". Received: {model_type}");
    }
    let published = if minimalistic { alpha == 1.0 } else { alpha == 0.75 || alpha == 1.0 };
    if !published {
        keras_bail!(
            InvalidArgument,
            "If imagenet weights are being loaded, alpha can be one of `0.75`, `1.0` for non minimalistic or \
             `1.0` for minimalistic only."
        );
    }
    // Python's str(alpha).
    let alpha_text = if alpha == 0.75 { "0.75" } else { "1.0" };
    let model_name =
        format!("{model_type}{}_224_{alpha_text}_float", if minimalistic { "_minimalistic" } else { "" });
    let Some(&(_, top, notop)) = WEIGHTS_HASHES.iter().find(|(n, _, _)| *n == model_name) else {
        keras_bail!(InvalidArgument, "No ImageNet weights for MobileNetV3 `{model_name}`");
    };
    Ok(if include_top {
        WeightsFile::under(BASE_WEIGHT_PATH, format!("weights_mobilenet_v3_{model_name}.h5"), Some(top))
    } else {
        WeightsFile::under(
            BASE_WEIGHT_PATH,
            format!("weights_mobilenet_v3_{model_name}_no_top_v2.h5"),
            Some(notop),
        )
    })
}

/// `keras.applications.mobilenet_v3.preprocess_input`: returns the input unchanged. The model
/// itself rescales and normalizes (Keras keeps this function for backward compatibility only);
/// feed it values in `[0, 255]`. `data_format` is accepted and ignored, as in Keras.
pub fn preprocess_input(x: &Tensor, data_format: Option<&str>) -> Result<Tensor> {
    let _ = data_format;
    Ok(x.clone())
}

/// `keras.applications.mobilenet_v3.decode_predictions`: [`imagenet_utils::decode_predictions`].
pub fn decode_predictions(preds: &Tensor, top: usize) -> Result<Vec<Vec<DecodedPrediction>>> {
    imagenet_utils::decode_predictions(preds, top)
}
