//! `keras.applications.efficientnet`: EfficientNetB0 to EfficientNetB7 (Tan & Le, 2019).
//!
//! The model builders need the Functional API and come later; this module holds the ImageNet
//! weight files, `preprocess_input` (a pass-through: the models rescale and normalize their
//! input themselves) and `decode_predictions`.

use super::imagenet_utils::{self, DecodedPrediction};
use super::weights::WeightsFile;
use crate::{keras_bail, Result, Tensor};

/// Keras's `BASE_WEIGHTS_PATH`.
pub const BASE_WEIGHTS_PATH: &str = "https://storage.googleapis.com/keras-applications/";

/// Keras's `WEIGHTS_HASHES`: `(weights_name, hash with top, hash without top)`.
pub const WEIGHTS_HASHES: &[(&str, &str, &str)] = &[
    ("b0", "902e53a9f72be733fc0bcb005b3ebbac", "50bc09e76180e00e4465e1a485ddc09d"),
    ("b1", "1d254153d4ab51201f1646940f018540", "74c4e6b3e1f6a1eea24c589628592432"),
    ("b2", "b15cce36ff4dcbd00b6dd88e7857a6ad", "111f8e2ac8aa800a7a99e3239f7bfb39"),
    ("b3", "ffd1fdc53d0ce67064dc6a9c7960ede0", "af6d107764bb5b1abb91932881670226"),
    ("b4", "18c95ad55216b8f92d7e70b3a046e2fc", "ebc24e6d6c33eaebbd558eafbeedf1ba"),
    ("b5", "ace28f2a6363774853a83a0b21b9421a", "38879255a25d3c92d5e44e04ae6cec6f"),
    ("b6", "165f6e37dce68623721b423839de8be5", "9ecce42647a20130c1f39a5d4cb75743"),
    ("b7", "8c03f828fec3ef71311cd463b6759d99", "cbcfe4450ddf6f3ad90b1b398090fe4a"),
];

/// The ImageNet weights of `EfficientNetB{variant}` (0 to 7): `efficientnetb{variant}.h5`, or
/// `efficientnetb{variant}_notop.h5`. (Keras names the file after the model's `name`, so a model
/// built with another `name` asks for another file; the builders should keep the default.)
pub fn weights_file(variant: usize, include_top: bool) -> Result<WeightsFile> {
    let Some(&(_, top, notop)) = WEIGHTS_HASHES.get(variant) else {
        keras_bail!(InvalidArgument, "EfficientNet variants are B0 to B7. Received: B{variant}");
    };
    let name = format!("efficientnetb{variant}");
    Ok(if include_top {
        WeightsFile::under(BASE_WEIGHTS_PATH, format!("{name}.h5"), Some(top))
    } else {
        WeightsFile::under(BASE_WEIGHTS_PATH, format!("{name}_notop.h5"), Some(notop))
    })
}

/// `keras.applications.efficientnet.preprocess_input`: returns the input unchanged. The model
/// itself rescales and normalizes (Keras keeps this function for backward compatibility only);
/// feed it values in `[0, 255]`. `data_format` is accepted and ignored, as in Keras.
pub fn preprocess_input(x: &Tensor, data_format: Option<&str>) -> Result<Tensor> {
    let _ = data_format;
    Ok(x.clone())
}

/// `keras.applications.efficientnet.decode_predictions`: [`imagenet_utils::decode_predictions`].
pub fn decode_predictions(preds: &Tensor, top: usize) -> Result<Vec<Vec<DecodedPrediction>>> {
    imagenet_utils::decode_predictions(preds, top)
}
