//! `keras.applications.densenet`: DenseNet121, DenseNet169 and DenseNet201 (Huang et al., 2017).
//!
//! The builders [`DenseNet121`], [`DenseNet169`] and [`DenseNet201`] (Keras's `DenseNet` with
//! their block counts), the ImageNet weight files, `preprocess_input` and
//! `decode_predictions`.

use super::common::{classes_error_as_true, named, weights_error_backticked, ApplicationArgs};
use super::imagenet_utils;
use super::weights::WeightsFile;
use crate::layers::{
    Activation, AveragePooling2D, BatchNormalization, Concatenate, Conv2D, MaxPooling2D, ZeroPadding2D,
};
use crate::models::{Functional, KerasTensor, SymbolicCall};
use crate::{keras_bail, Result};

/// Keras's `BASE_WEIGHTS_PATH`.
pub const BASE_WEIGHTS_PATH: &str = "https://storage.googleapis.com/tensorflow/keras-applications/densenet/";

/// `(depth, blocks, hash with top, hash without top)`, as Keras's `DenseNet` picks the file
/// from its `blocks`.
const WEIGHTS: [(usize, [usize; 4], &str, &str); 3] = [
    (121, [6, 12, 24, 16], "9d60b8095a5708f2dcce2bca79d332c7", "30ee3e1110167f948a6b9946edeeb738"),
    (169, [6, 12, 32, 32], "d699b8f76981ab1b30698df4c175e90b", "b8c4d4c20dd625c148057b9ff1c1176b"),
    (201, [6, 12, 48, 32], "1ceb130c1ea1b78c3bf6114dbdfd8807", "c13680b51ded0fb44dff2d8f86ac8bb1"),
];

/// The ImageNet weights of `DenseNet{depth}` (121, 169 or 201):
/// `densenet{depth}_weights_tf_dim_ordering_tf_kernels[_notop].h5`.
pub fn weights_file(depth: usize, include_top: bool) -> Result<WeightsFile> {
    let Some(&(_, _, top, notop)) = WEIGHTS.iter().find(|w| w.0 == depth) else {
        keras_bail!(
            InvalidArgument,
            "DenseNet ImageNet weights exist for depths 121, 169 and 201. Received: {depth}"
        );
    };
    Ok(if include_top {
        WeightsFile::under(
            BASE_WEIGHTS_PATH,
            format!("densenet{depth}_weights_tf_dim_ordering_tf_kernels.h5"),
            Some(top),
        )
    } else {
        WeightsFile::under(
            BASE_WEIGHTS_PATH,
            format!("densenet{depth}_weights_tf_dim_ordering_tf_kernels_notop.h5"),
            Some(notop),
        )
    })
}

/// The depth whose ImageNet weights fit a DenseNet with these `blocks` (Keras's `DenseNet`
/// loads ImageNet weights only for these three block lists).
pub fn depth_for_blocks(blocks: &[usize]) -> Option<usize> {
    WEIGHTS.iter().find(|w| w.1 == blocks).map(|w| w.0)
}

imagenet_utils::model_io_fns!(
    "densenet",
    "torch",
    "scaled to `[0, 1]`, normalized with ImageNet's channel means and deviations"
);

/// DenseNet's `BatchNormalization(axis=3, epsilon=1.001e-5, name=name)`.
fn bn(name: &str) -> BatchNormalization {
    named(name, || BatchNormalization::new().axis(3).epsilon(1.001e-5))
}

/// `Activation("relu", name=name)`.
fn relu(name: &str) -> Activation {
    named(name, || Activation::new("relu"))
}

/// Keras's `dense_block`: `blocks` conv blocks named `{name}_block{i}`.
pub fn dense_block(x: &KerasTensor, blocks: usize, name: &str) -> Result<KerasTensor> {
    let mut x = x.clone();
    for i in 1..=blocks {
        x = conv_block(&x, 32, &format!("{name}_block{i}"))?;
    }
    Ok(x)
}

/// Keras's `transition_block`: batch norm, ReLU, a 1x1 convolution to `reduction` of the
/// channels and 2x2 average pooling.
pub fn transition_block(x: &KerasTensor, reduction: f64, name: &str) -> Result<KerasTensor> {
    let x = bn(&format!("{name}_bn")).apply(x)?;
    let x = relu(&format!("{name}_relu")).apply(&x)?;
    let channels = x.shape().last().copied().flatten().unwrap_or(0);
    let filters = (channels as f64 * reduction) as usize;
    let x = named(&format!("{name}_conv"), || Conv2D::new(filters, [1, 1]).use_bias(false)).apply(&x)?;
    named(&format!("{name}_pool"), || AveragePooling2D::new([2, 2]).strides([2, 2])).apply(&x)
}

/// Keras's `conv_block`: batch norm, ReLU, 1x1 convolution to `4 * growth_rate`, batch norm,
/// ReLU, 3x3 convolution to `growth_rate`, concatenated to the input.
pub fn conv_block(x: &KerasTensor, growth_rate: usize, name: &str) -> Result<KerasTensor> {
    let x1 = bn(&format!("{name}_0_bn")).apply(x)?;
    let x1 = relu(&format!("{name}_0_relu")).apply(&x1)?;
    let x1 = named(&format!("{name}_1_conv"), || Conv2D::new(4 * growth_rate, [1, 1]).use_bias(false))
        .apply(&x1)?;
    let x1 = bn(&format!("{name}_1_bn")).apply(&x1)?;
    let x1 = relu(&format!("{name}_1_relu")).apply(&x1)?;
    let x1 =
        named(&format!("{name}_2_conv"), || Conv2D::new(growth_rate, [3, 3]).padding("same").use_bias(false))
            .apply(&x1)?;
    named(&format!("{name}_concat"), || Concatenate::new().axis(3)).apply_list(&[x, &x1])
}

/// Keras's `DenseNet(blocks, ...)`: the stem, four dense blocks of `blocks` conv blocks with
/// transitions between them, the final batch norm and ReLU, then the classifier or pooling.
fn densenet(
    args: &ApplicationArgs,
    function: &str,
    blocks: [usize; 4],
    default_name: &str,
) -> Result<Functional> {
    args.check_options(function, &[])?;
    args.check_weights_worded(weights_error_backticked, classes_error_as_true)?;
    let shape = args.obtain_input_shape(224, 32, args.include_top)?;
    let img_input = args.image_input(&shape);

    let mut x = ZeroPadding2D::new([[3, 3], [3, 3]]).apply(&img_input)?;
    x = named("conv1_conv", || Conv2D::new(64, [7, 7]).strides([2, 2]).use_bias(false)).apply(&x)?;
    x = bn("conv1_bn").apply(&x)?;
    x = relu("conv1_relu").apply(&x)?;
    x = ZeroPadding2D::new([[1, 1], [1, 1]]).apply(&x)?;
    x = named("pool1", || MaxPooling2D::new([3, 3]).strides([2, 2])).apply(&x)?;
    for (i, &n) in blocks.iter().enumerate() {
        x = dense_block(&x, n, &format!("conv{}", i + 2))?;
        if i < 3 {
            x = transition_block(&x, 0.5, &format!("pool{}", i + 2))?;
        }
    }
    x = bn("bn").apply(&x)?;
    x = relu("relu").apply(&x)?;

    x = args.avg_pool_top_or_pool(&x, Some("avg_pool"), Some("max_pool"))?;
    args.finish(&img_input, &x, default_name, || match depth_for_blocks(&blocks) {
        Some(depth) => weights_file(depth, args.include_top),
        None => keras_bail!(InvalidArgument, "weights_path undefined"),
    })
}

super::common::application_fns! {
    /// `keras.applications.DenseNet121`: dense blocks of 6, 12, 24 and 16 conv blocks. Input
    /// 224x224x3 with the top, at least 32x32 without.
    ///
    /// ```
    /// use keras::applications::{densenet, ApplicationArgs, Weights};
    ///
    /// let args = ApplicationArgs::new().weights(Weights::None).include_top(false).input_shape(&[32, 32, 3]);
    /// let model = densenet::DenseNet121(&args).unwrap();
    /// assert_eq!(model.name(), "densenet121");
    /// assert_eq!(model.output_shapes()[0], vec![None, Some(1), Some(1), Some(1024)]);
    /// assert_eq!(model.count_params(), 7_037_504);
    /// ```
    DenseNet121 => densenet("DenseNet121", [6, 12, 24, 16], "densenet121");

    /// `keras.applications.DenseNet169`: dense blocks of 6, 12, 32 and 32 conv blocks.
    ///
    /// ```
    /// use keras::applications::{densenet, ApplicationArgs, Weights};
    ///
    /// let args = ApplicationArgs::new().weights(Weights::None).include_top(false).input_shape(&[32, 32, 3]);
    /// let model = densenet::DenseNet169(&args).unwrap();
    /// assert_eq!(model.output_shapes()[0], vec![None, Some(1), Some(1), Some(1664)]);
    /// ```
    DenseNet169 => densenet("DenseNet169", [6, 12, 32, 32], "densenet169");

    /// `keras.applications.DenseNet201`: dense blocks of 6, 12, 48 and 32 conv blocks.
    ///
    /// ```
    /// use keras::applications::{densenet, ApplicationArgs, Weights};
    ///
    /// let args = ApplicationArgs::new().weights(Weights::None).include_top(false).input_shape(&[32, 32, 3]);
    /// let model = densenet::DenseNet201(&args).unwrap();
    /// assert_eq!(model.output_shapes()[0], vec![None, Some(1), Some(1), Some(1920)]);
    /// ```
    DenseNet201 => densenet("DenseNet201", [6, 12, 48, 32], "densenet201");
}
