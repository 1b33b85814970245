//! `keras.applications.vgg19`: VGG19 (Simonyan & Zisserman, 2014).
//!
//! The builder [`VGG19`], its ImageNet weight files, `preprocess_input` and
//! `decode_predictions`.

use super::common::ApplicationArgs;
use super::imagenet_utils;
use super::weights::WeightsFile;
use crate::models::Functional;
use crate::Result;

/// Keras's `WEIGHTS_PATH` (with the classifier).
pub const WEIGHTS_PATH: &str = "https://storage.googleapis.com/tensorflow/keras-applications/vgg19/vgg19_weights_tf_dim_ordering_tf_kernels.h5";
/// Keras's `WEIGHTS_PATH_NO_TOP`.
pub const WEIGHTS_PATH_NO_TOP: &str = "https://storage.googleapis.com/tensorflow/keras-applications/vgg19/vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5";

/// The ImageNet weights `VGG19(weights="imagenet", include_top=...)` loads.
pub fn weights_file(include_top: bool) -> WeightsFile {
    WeightsFile::top_or_notop(
        include_top,
        "vgg19_weights_tf_dim_ordering_tf_kernels",
        [WEIGHTS_PATH, WEIGHTS_PATH_NO_TOP],
        ["cbe5617147190e668d6c5d5026f83318", "253f8cb515780f3b799900260a226db6"],
    )
}

imagenet_utils::model_io_fns!("vgg19", "caffe", "RGB to BGR, minus ImageNet's channel means");

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
