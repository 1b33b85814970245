//! `keras.applications.vgg19`: VGG19 (Simonyan & Zisserman, 2014).
//!
//! The builder [`VGG19`], its ImageNet weight files, `preprocess_input` and
//! `decode_predictions`.

use super::common::ApplicationArgs;
use super::imagenet_utils::{self, DecodedPrediction};
use super::weights::WeightsFile;
use crate::models::Functional;
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

/// `keras.applications.VGG19`: VGG16 ([`super::vgg16::VGG16`]) with four convolutions in
/// each of the last three blocks. Input 224x224x3 with the top, at least 32x32 without.
///
/// ```
/// use keras::applications::{vgg19, ApplicationArgs, Pooling, Weights};
///
/// let args = ApplicationArgs::new()
///     .weights(Weights::None)
///     .include_top(false)
///     .input_shape(&[32, 32, 3])
///     .pooling(Pooling::Max);
/// let model = vgg19::VGG19(&args).unwrap();
/// assert_eq!(model.output_shapes()[0], vec![None, Some(512)]);
/// assert_eq!(model.count_params(), 20_024_384);
/// ```
#[allow(non_snake_case)]
pub fn VGG19(args: &ApplicationArgs) -> Result<Functional> {
    super::vgg16::vgg(args, "VGG19", [2, 2, 4, 4, 4], "vgg19", weights_file)
}
