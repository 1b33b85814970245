//! `keras.applications.xception`: Xception (Chollet, 2017).
//!
//! The builder [`Xception`], its ImageNet weight files, `preprocess_input` and
//! `decode_predictions`.

use super::common::{named, ApplicationArgs};
use super::imagenet_utils;
use super::weights::WeightsFile;
use crate::layers::{Activation, Add, BatchNormalization, Conv2D, MaxPooling2D, SeparableConv2D};
use crate::models::{Functional, KerasTensor, SymbolicCall};
use crate::Result;

/// Keras's `WEIGHTS_PATH` (with the classifier).
pub const WEIGHTS_PATH: &str = "https://storage.googleapis.com/tensorflow/keras-applications/xception/xception_weights_tf_dim_ordering_tf_kernels.h5";
/// Keras's `WEIGHTS_PATH_NO_TOP`.
pub const WEIGHTS_PATH_NO_TOP: &str = "https://storage.googleapis.com/tensorflow/keras-applications/xception/xception_weights_tf_dim_ordering_tf_kernels_notop.h5";

/// The ImageNet weights `Xception(weights="imagenet", include_top=...)` loads.
pub fn weights_file(include_top: bool) -> WeightsFile {
    WeightsFile::top_or_notop(
        include_top,
        "xception_weights_tf_dim_ordering_tf_kernels",
        [WEIGHTS_PATH, WEIGHTS_PATH_NO_TOP],
        ["0a58e3b7378bc2990ea3b43d5981f1f6", "b0042744bf5b25fce3cb969f33bebb97"],
    )
}

imagenet_utils::model_io_fns!("xception", "tf", "scaled to `[-1, 1]`");

/// Xception's `BatchNormalization(axis=-1)`, named or automatic.
fn bn(name: Option<&str>) -> BatchNormalization {
    super::common::maybe_named(name, || BatchNormalization::new().axis(-1))
}

/// `Activation("relu", name=name)`.
fn relu(name: &str) -> Activation {
    named(name, || Activation::new("relu"))
}

/// A bias-free 3x3 `SeparableConv2D(filters, padding="same", name=name)`.
fn sepconv(filters: usize, name: &str) -> SeparableConv2D {
    named(name, || SeparableConv2D::new(filters, [3, 3]).padding("same").use_bias(false))
}

/// The unnamed strided 1x1 projection of the residual connections and its batch norm.
fn residual(x: &KerasTensor, filters: usize) -> Result<KerasTensor> {
    let r = Conv2D::new(filters, [1, 1]).strides([2, 2]).padding("same").use_bias(false).apply(x)?;
    bn(None).apply(&r)
}

/// `layers.add([x, residual])` (an automatically named `Add`).
fn add(x: &KerasTensor, residual: &KerasTensor) -> Result<KerasTensor> {
    Add::new().apply_list(&[x, residual])
}

/// `keras.applications.Xception`. Input 299x299x3 with the top, at least 71x71 without.
///
/// ```
/// use keras::applications::{xception, ApplicationArgs, Weights};
///
/// let args = ApplicationArgs::new().weights(Weights::None).include_top(false).input_shape(&[71, 71, 3]);
/// let model = xception::Xception(&args).unwrap();
/// assert_eq!(model.name(), "xception");
/// assert_eq!(model.output_shapes()[0], vec![None, Some(3), Some(3), Some(2048)]);
/// assert_eq!(model.count_params(), 20_861_480);
/// ```
#[allow(non_snake_case)]
pub fn Xception(args: &ApplicationArgs) -> Result<Functional> {
    args.check_options("Xception", &[])?;
    args.check_weights_worded(
        |_| {
            "The `weights` argument should be either `None` (random initialization), 'imagenet' (pre-training \
             on ImageNet), or the path to the weights file to be loaded."
                .to_string()
        },
        |classes| {
            format!(
                "If using `weights='imagenet'` with `include_top=True`, `classes` should be 1000.  Received \
                 classes={classes}"
            )
        },
    )?;
    let shape = args.obtain_input_shape(299, 71, args.include_top)?;
    let img_input = args.image_input(&shape);

    let mut x = named("block1_conv1", || Conv2D::new(32, [3, 3]).strides([2, 2]).use_bias(false))
        .apply(&img_input)?;
    x = bn(Some("block1_conv1_bn")).apply(&x)?;
    x = relu("block1_conv1_act").apply(&x)?;
    x = named("block1_conv2", || Conv2D::new(64, [3, 3]).use_bias(false)).apply(&x)?;
    x = bn(Some("block1_conv2_bn")).apply(&x)?;
    x = relu("block1_conv2_act").apply(&x)?;

    // Entry flow: blocks 2 to 4 halve the size with a projected residual; block 2 starts
    // without the ReLU.
    for (block, filters) in [(2, 128), (3, 256), (4, 728)] {
        let r = residual(&x, filters)?;
        if block > 2 {
            x = relu(&format!("block{block}_sepconv1_act")).apply(&x)?;
        }
        x = sepconv(filters, &format!("block{block}_sepconv1")).apply(&x)?;
        x = bn(Some(&format!("block{block}_sepconv1_bn"))).apply(&x)?;
        x = relu(&format!("block{block}_sepconv2_act")).apply(&x)?;
        x = sepconv(filters, &format!("block{block}_sepconv2")).apply(&x)?;
        x = bn(Some(&format!("block{block}_sepconv2_bn"))).apply(&x)?;
        x = named(&format!("block{block}_pool"), || {
            MaxPooling2D::new([3, 3]).strides([2, 2]).padding("same")
        })
        .apply(&x)?;
        x = add(&x, &r)?;
    }

    // Middle flow: eight blocks of three separable convolutions with identity residuals.
    for block in 5..13 {
        let r = x.clone();
        for i in 1..=3 {
            x = relu(&format!("block{block}_sepconv{i}_act")).apply(&x)?;
            x = sepconv(728, &format!("block{block}_sepconv{i}")).apply(&x)?;
            x = bn(Some(&format!("block{block}_sepconv{i}_bn"))).apply(&x)?;
        }
        x = add(&x, &r)?;
    }

    // Exit flow.
    let r = residual(&x, 1024)?;
    x = relu("block13_sepconv1_act").apply(&x)?;
    x = sepconv(728, "block13_sepconv1").apply(&x)?;
    x = bn(Some("block13_sepconv1_bn")).apply(&x)?;
    x = relu("block13_sepconv2_act").apply(&x)?;
    x = sepconv(1024, "block13_sepconv2").apply(&x)?;
    x = bn(Some("block13_sepconv2_bn")).apply(&x)?;
    x = named("block13_pool", || MaxPooling2D::new([3, 3]).strides([2, 2]).padding("same")).apply(&x)?;
    x = add(&x, &r)?;

    x = sepconv(1536, "block14_sepconv1").apply(&x)?;
    x = bn(Some("block14_sepconv1_bn")).apply(&x)?;
    x = relu("block14_sepconv1_act").apply(&x)?;
    x = sepconv(2048, "block14_sepconv2").apply(&x)?;
    x = bn(Some("block14_sepconv2_bn")).apply(&x)?;
    x = relu("block14_sepconv2_act").apply(&x)?;

    x = args.avg_pool_top_or_pool(&x, None, None)?;
    args.finish(&img_input, &x, "xception", || Ok(weights_file(args.include_top)))
}
