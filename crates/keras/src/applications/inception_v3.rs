//! `keras.applications.inception_v3`: Inception V3 (Szegedy et al., 2015).
//!
//! The builder [`InceptionV3`], its ImageNet weight files, `preprocess_input` and
//! `decode_predictions`.

use super::common::{classes_error_received, maybe_named, ApplicationArgs};
use super::imagenet_utils;
use super::weights::WeightsFile;
use crate::layers::{Activation, AveragePooling2D, BatchNormalization, Concatenate, Conv2D, MaxPooling2D};
use crate::models::{Functional, KerasTensor, SymbolicCall};
use crate::Result;

/// Keras's `WEIGHTS_PATH` (with the classifier).
pub const WEIGHTS_PATH: &str = "https://storage.googleapis.com/tensorflow/keras-applications/inception_v3/inception_v3_weights_tf_dim_ordering_tf_kernels.h5";
/// Keras's `WEIGHTS_PATH_NO_TOP`.
pub const WEIGHTS_PATH_NO_TOP: &str = "https://storage.googleapis.com/tensorflow/keras-applications/inception_v3/inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5";

/// The ImageNet weights `InceptionV3(weights="imagenet", include_top=...)` loads.
pub fn weights_file(include_top: bool) -> WeightsFile {
    WeightsFile::top_or_notop(
        include_top,
        "inception_v3_weights_tf_dim_ordering_tf_kernels",
        [WEIGHTS_PATH, WEIGHTS_PATH_NO_TOP],
        ["9a0d58056eeedaa3f26cb7ebd46da564", "bcbd6486424b2319ff4ef7d526e38f63"],
    )
}

imagenet_utils::model_io_fns!("inception_v3", "tf", "scaled to `[-1, 1]`");

/// Keras's `conv2d_bn`: a bias-free `Conv2D(filters, (rows, cols))`, a `BatchNormalization`
/// without scale and a ReLU; named `{name}_conv`, `{name}_bn` and `name`, or automatically
/// without a name (as every layer of InceptionV3 is).
pub fn conv2d_bn(
    x: &KerasTensor,
    filters: usize,
    kernel: [usize; 2],
    padding: &str,
    strides: [usize; 2],
    name: Option<&str>,
) -> Result<KerasTensor> {
    let conv_name = name.map(|n| format!("{n}_conv"));
    let bn_name = name.map(|n| format!("{n}_bn"));
    let x = maybe_named(conv_name.as_deref(), || {
        Conv2D::new(filters, kernel).strides(strides).padding(padding).use_bias(false)
    })
    .apply(x)?;
    let x = maybe_named(bn_name.as_deref(), || BatchNormalization::new().axis(3).scale(false)).apply(&x)?;
    maybe_named(name, || Activation::new("relu")).apply(&x)
}

/// `conv2d_bn` with Keras's defaults (`padding="same"`, stride 1, no name).
fn cbn(x: &KerasTensor, filters: usize, rows: usize, cols: usize) -> Result<KerasTensor> {
    conv2d_bn(x, filters, [rows, cols], "same", [1, 1], None)
}

/// `conv2d_bn(..., strides=(2, 2), padding="valid")`.
fn cbn_down(x: &KerasTensor, filters: usize, rows: usize, cols: usize) -> Result<KerasTensor> {
    conv2d_bn(x, filters, [rows, cols], "valid", [2, 2], None)
}

/// The unnamed 3x3 average pooling of the Inception branches.
fn branch_pool(x: &KerasTensor) -> Result<KerasTensor> {
    AveragePooling2D::new([3, 3]).strides([1, 1]).padding("same").apply(x)
}

/// `layers.concatenate(xs, axis=3, name=name)`.
fn concat(xs: &[&KerasTensor], name: Option<&str>) -> Result<KerasTensor> {
    maybe_named(name, || Concatenate::new().axis(3)).apply_list(xs)
}

/// `keras.applications.InceptionV3`. Input 299x299x3 with the top, at least 75x75 without.
///
/// ```
/// use keras::applications::{inception_v3, ApplicationArgs, Weights};
///
/// let args = ApplicationArgs::new().weights(Weights::None).include_top(false).input_shape(&[75, 75, 3]);
/// let model = inception_v3::InceptionV3(&args).unwrap();
/// assert_eq!(model.name(), "inception_v3");
/// assert_eq!(model.output_shapes()[0], vec![None, Some(1), Some(1), Some(2048)]);
/// assert_eq!(model.count_params(), 21_802_784);
/// ```
#[allow(non_snake_case)]
pub fn InceptionV3(args: &ApplicationArgs) -> Result<Functional> {
    args.check_options("InceptionV3", &[])?;
    args.check_weights_worded(
        |weights| {
            format!(
                "The `weights` argument should be either `None` (random initialization), `imagenet` \
                 (pre-training on ImageNet), or the path to the weights file to be loaded; Received: \
                 weights={weights}"
            )
        },
        classes_error_received,
    )?;
    let shape = args.obtain_input_shape(299, 75, args.include_top)?;
    let img_input = args.image_input(&shape);

    let mut x = cbn_down(&img_input, 32, 3, 3)?;
    x = conv2d_bn(&x, 32, [3, 3], "valid", [1, 1], None)?;
    x = cbn(&x, 64, 3, 3)?;
    x = MaxPooling2D::new([3, 3]).strides([2, 2]).apply(&x)?;
    x = conv2d_bn(&x, 80, [1, 1], "valid", [1, 1], None)?;
    x = conv2d_bn(&x, 192, [3, 3], "valid", [1, 1], None)?;
    x = MaxPooling2D::new([3, 3]).strides([2, 2]).apply(&x)?;

    // mixed 0, 1, 2: 35 x 35 x 256, 288, 288.
    for (i, pool_filters) in [32, 64, 64].into_iter().enumerate() {
        let branch1x1 = cbn(&x, 64, 1, 1)?;
        let branch5x5 = cbn(&x, 48, 1, 1)?;
        let branch5x5 = cbn(&branch5x5, 64, 5, 5)?;
        let branch3x3dbl = cbn(&x, 64, 1, 1)?;
        let branch3x3dbl = cbn(&branch3x3dbl, 96, 3, 3)?;
        let branch3x3dbl = cbn(&branch3x3dbl, 96, 3, 3)?;
        let pool = cbn(&branch_pool(&x)?, pool_filters, 1, 1)?;
        x = concat(&[&branch1x1, &branch5x5, &branch3x3dbl, &pool], Some(&format!("mixed{i}")))?;
    }

    // mixed 3: 17 x 17 x 768.
    let branch3x3 = cbn_down(&x, 384, 3, 3)?;
    let branch3x3dbl = cbn(&x, 64, 1, 1)?;
    let branch3x3dbl = cbn(&branch3x3dbl, 96, 3, 3)?;
    let branch3x3dbl = cbn_down(&branch3x3dbl, 96, 3, 3)?;
    let pool = MaxPooling2D::new([3, 3]).strides([2, 2]).apply(&x)?;
    x = concat(&[&branch3x3, &branch3x3dbl, &pool], Some("mixed3"))?;

    // mixed 4, 5, 6, 7: 17 x 17 x 768, with 128, 160, 160 and 192 filters in the 7x7 branches.
    for (i, f) in [128, 160, 160, 192].into_iter().enumerate() {
        let branch1x1 = cbn(&x, 192, 1, 1)?;
        let branch7x7 = cbn(&x, f, 1, 1)?;
        let branch7x7 = cbn(&branch7x7, f, 1, 7)?;
        let branch7x7 = cbn(&branch7x7, 192, 7, 1)?;
        let branch7x7dbl = cbn(&x, f, 1, 1)?;
        let branch7x7dbl = cbn(&branch7x7dbl, f, 7, 1)?;
        let branch7x7dbl = cbn(&branch7x7dbl, f, 1, 7)?;
        let branch7x7dbl = cbn(&branch7x7dbl, f, 7, 1)?;
        let branch7x7dbl = cbn(&branch7x7dbl, 192, 1, 7)?;
        let pool = cbn(&branch_pool(&x)?, 192, 1, 1)?;
        x = concat(&[&branch1x1, &branch7x7, &branch7x7dbl, &pool], Some(&format!("mixed{}", 4 + i)))?;
    }

    // mixed 8: 8 x 8 x 1280.
    let branch3x3 = cbn(&x, 192, 1, 1)?;
    let branch3x3 = cbn_down(&branch3x3, 320, 3, 3)?;
    let branch7x7x3 = cbn(&x, 192, 1, 1)?;
    let branch7x7x3 = cbn(&branch7x7x3, 192, 1, 7)?;
    let branch7x7x3 = cbn(&branch7x7x3, 192, 7, 1)?;
    let branch7x7x3 = cbn_down(&branch7x7x3, 192, 3, 3)?;
    let pool = MaxPooling2D::new([3, 3]).strides([2, 2]).apply(&x)?;
    x = concat(&[&branch3x3, &branch7x7x3, &pool], Some("mixed8"))?;

    // mixed 9, 10: 8 x 8 x 2048.
    for i in 0..2 {
        let branch1x1 = cbn(&x, 320, 1, 1)?;
        let branch3x3 = cbn(&x, 384, 1, 1)?;
        let branch3x3_1 = cbn(&branch3x3, 384, 1, 3)?;
        let branch3x3_2 = cbn(&branch3x3, 384, 3, 1)?;
        let branch3x3 = concat(&[&branch3x3_1, &branch3x3_2], Some(&format!("mixed9_{i}")))?;
        let branch3x3dbl = cbn(&x, 448, 1, 1)?;
        let branch3x3dbl = cbn(&branch3x3dbl, 384, 3, 3)?;
        let branch3x3dbl_1 = cbn(&branch3x3dbl, 384, 1, 3)?;
        let branch3x3dbl_2 = cbn(&branch3x3dbl, 384, 3, 1)?;
        let branch3x3dbl = concat(&[&branch3x3dbl_1, &branch3x3dbl_2], None)?;
        let pool = cbn(&branch_pool(&x)?, 192, 1, 1)?;
        x = concat(&[&branch1x1, &branch3x3, &branch3x3dbl, &pool], Some(&format!("mixed{}", 9 + i)))?;
    }

    x = args.avg_pool_top_or_pool(&x, None, None)?;
    args.finish(&img_input, &x, "inception_v3", || Ok(weights_file(args.include_top)))
}
