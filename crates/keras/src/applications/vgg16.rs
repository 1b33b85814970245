//! `keras.applications.vgg16`: VGG16 (Simonyan & Zisserman, 2014).
//!
//! The builder [`VGG16`], its ImageNet weight files, `preprocess_input` and
//! `decode_predictions`. VGG19 ([`super::vgg19`]) is the same network with four convolutions
//! in the last three blocks; both are built by `vgg`.

use super::common::{named, ApplicationArgs};
use super::imagenet_utils;
use super::weights::WeightsFile;
use crate::layers::{Conv2D, Dense, Flatten, MaxPooling2D};
use crate::models::{Functional, SymbolicCall};
use crate::Result;

/// Keras's `WEIGHTS_PATH` (with the classifier).
pub const WEIGHTS_PATH: &str = "https://storage.googleapis.com/tensorflow/keras-applications/vgg16/vgg16_weights_tf_dim_ordering_tf_kernels.h5";
/// Keras's `WEIGHTS_PATH_NO_TOP`.
pub const WEIGHTS_PATH_NO_TOP: &str = "https://storage.googleapis.com/tensorflow/keras-applications/vgg16/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5";

/// The ImageNet weights `VGG16(weights="imagenet", include_top=...)` loads.
pub fn weights_file(include_top: bool) -> WeightsFile {
    WeightsFile::top_or_notop(
        include_top,
        "vgg16_weights_tf_dim_ordering_tf_kernels",
        [WEIGHTS_PATH, WEIGHTS_PATH_NO_TOP],
        ["64373286793e3c8b2b4e3219cbf3544b", "6d6bbae143d832006294945121d1f1fc"],
    )
}

imagenet_utils::model_io_fns!("vgg16", "caffe", "RGB to BGR, minus ImageNet's channel means");

/// `keras.applications.VGG16`: five blocks of 3x3 convolutions (2, 2, 3, 3, 3 of them) with
/// max pooling, then (with `include_top`) two 4096-unit dense layers and the classifier.
/// Input 224x224x3 with the top, at least 32x32 without.
///
/// ```
/// use keras::applications::{vgg16, ApplicationArgs, Weights};
///
/// let args = ApplicationArgs::new().weights(Weights::None).include_top(false).input_shape(&[32, 32, 3]);
/// let model = vgg16::VGG16(&args).unwrap();
/// assert_eq!(model.name(), "vgg16");
/// assert_eq!(model.output_shapes()[0], vec![None, Some(1), Some(1), Some(512)]);
/// assert_eq!(model.count_params(), 14_714_688);
/// ```
#[allow(non_snake_case)]
pub fn VGG16(args: &ApplicationArgs) -> Result<Functional> {
    vgg(args, "VGG16", [2, 2, 3, 3, 3], "vgg16", weights_file)
}

/// Keras's VGG16/VGG19 body: `convs[b]` convolutions in block `b + 1` (`block{b}_conv{i}`,
/// `block{b}_pool`), the `fc1`/`fc2`/`predictions` top or the pooling; `function` names the
/// Keras function in errors, `default_name` the model.
pub(super) fn vgg(
    args: &ApplicationArgs,
    function: &str,
    convs: [usize; 5],
    default_name: &str,
    weights: fn(bool) -> WeightsFile,
) -> Result<Functional> {
    args.check_options(function, &[])?;
    args.check_weights()?;
    let shape = args.obtain_input_shape(224, 32, args.include_top)?;
    let img_input = args.image_input(&shape);
    let mut x = img_input.clone();
    for (block, (n, filters)) in convs.into_iter().zip([64, 128, 256, 512, 512]).enumerate() {
        let block = block + 1;
        for i in 1..=n {
            x = named(&format!("block{block}_conv{i}"), || {
                Conv2D::new(filters, [3, 3]).activation("relu").padding("same")
            })
            .apply(&x)?;
        }
        x = named(&format!("block{block}_pool"), || MaxPooling2D::new([2, 2]).strides([2, 2])).apply(&x)?;
    }
    if args.include_top {
        x = named("flatten", Flatten::new).apply(&x)?;
        x = named("fc1", || Dense::new(4096).activation("relu")).apply(&x)?;
        x = named("fc2", || Dense::new(4096).activation("relu")).apply(&x)?;
        x = args.classifier(&x)?;
    } else {
        x = args.pool(&x, None, None)?;
    }
    args.finish(&img_input, &x, default_name, || Ok(weights(args.include_top)))
}
