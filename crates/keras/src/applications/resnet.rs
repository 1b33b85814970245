//! `keras.applications.resnet` (also `keras.applications.resnet50`): ResNet50, ResNet101 and
//! ResNet152 (He et al., 2015). The V2 models are in [`super::resnet_v2`]; their weight files
//! are listed here, in Keras's `WEIGHTS_HASHES`, as in Keras.
//!
//! The builders [`ResNet50`], [`ResNet101`] and [`ResNet152`], the network they share
//! (`resnet`, Keras's `ResNet`, also used by the V2 models) with its residual blocks, the
//! ImageNet weight files, `preprocess_input` and `decode_predictions`.

use super::common::{named, ApplicationArgs};
use super::imagenet_utils;
use super::weights::WeightsFile;
use crate::layers::{Activation, Add, BatchNormalization, Conv2D, MaxPooling2D, ZeroPadding2D};
use crate::models::{Functional, KerasTensor, SymbolicCall};
use crate::{keras_bail, Result};

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

imagenet_utils::model_io_fns!("resnet", "caffe", "RGB to BGR, minus ImageNet's channel means");

/// Keras's `ResNet`: the stem (`conv1_*`, `pool1_*`), `stack_fn`'s residual stacks, for the
/// pre-activation V2 models (`preact`) the final `post_bn`/`post_relu`, then the classifier or
/// the pooling. `function` names the Keras function in errors; `weights_name` picks the
/// ImageNet file (`"resnet50"`, ..., `"resnet152v2"`).
pub(super) fn resnet(
    args: &ApplicationArgs,
    function: &str,
    stack_fn: impl FnOnce(KerasTensor) -> Result<KerasTensor>,
    preact: bool,
    use_bias: bool,
    default_name: &str,
    weights_name: &str,
) -> Result<Functional> {
    args.check_options(function, &[])?;
    args.check_weights()?;
    let shape = args.obtain_input_shape(224, 32, args.include_top)?;
    let img_input = args.image_input(&shape);
    let mut x = named("conv1_pad", || ZeroPadding2D::new([[3, 3], [3, 3]])).apply(&img_input)?;
    x = named("conv1_conv", || Conv2D::new(64, [7, 7]).strides([2, 2]).use_bias(use_bias)).apply(&x)?;
    if !preact {
        x = batch_norm("conv1_bn").apply(&x)?;
        x = relu("conv1_relu").apply(&x)?;
    }
    x = named("pool1_pad", || ZeroPadding2D::new([[1, 1], [1, 1]])).apply(&x)?;
    x = named("pool1_pool", || MaxPooling2D::new([3, 3]).strides([2, 2])).apply(&x)?;
    x = stack_fn(x)?;
    if preact {
        x = batch_norm("post_bn").apply(&x)?;
        x = relu("post_relu").apply(&x)?;
    }
    x = args.avg_pool_top_or_pool(&x, Some("avg_pool"), Some("max_pool"))?;
    args.finish(&img_input, &x, default_name, || weights_file(weights_name, args.include_top))
}

/// The ResNets' `BatchNormalization(axis=3, epsilon=1.001e-5, name=name)`.
fn batch_norm(name: &str) -> BatchNormalization {
    named(name, || BatchNormalization::new().axis(3).epsilon(1.001e-5))
}

/// `Activation("relu", name=name)`.
fn relu(name: &str) -> Activation {
    named(name, || Activation::new("relu"))
}

/// Keras's `residual_block_v1`: a bottleneck block (1x1, `kernel_size`, 1x1 convolutions with
/// batch normalization) added to its input or, with `conv_shortcut`, to a strided 1x1
/// projection of it.
pub fn residual_block_v1(
    x: &KerasTensor,
    filters: usize,
    kernel_size: usize,
    stride: usize,
    conv_shortcut: bool,
    name: &str,
) -> Result<KerasTensor> {
    let shortcut = if conv_shortcut {
        let s =
            named(&format!("{name}_0_conv"), || Conv2D::new(4 * filters, [1, 1]).strides([stride, stride]))
                .apply(x)?;
        batch_norm(&format!("{name}_0_bn")).apply(&s)?
    } else {
        x.clone()
    };
    let mut y = named(&format!("{name}_1_conv"), || Conv2D::new(filters, [1, 1]).strides([stride, stride]))
        .apply(x)?;
    y = batch_norm(&format!("{name}_1_bn")).apply(&y)?;
    y = relu(&format!("{name}_1_relu")).apply(&y)?;
    y = named(&format!("{name}_2_conv"), || Conv2D::new(filters, [kernel_size, kernel_size]).padding("same"))
        .apply(&y)?;
    y = batch_norm(&format!("{name}_2_bn")).apply(&y)?;
    y = relu(&format!("{name}_2_relu")).apply(&y)?;
    y = named(&format!("{name}_3_conv"), || Conv2D::new(4 * filters, [1, 1])).apply(&y)?;
    y = batch_norm(&format!("{name}_3_bn")).apply(&y)?;
    y = named(&format!("{name}_add"), Add::new).apply_list(&[&shortcut, &y])?;
    relu(&format!("{name}_out")).apply(&y)
}

/// Keras's `stack_residual_blocks_v1`: `blocks` V1 blocks named `{name}_block{i}`, the first
/// with a projection shortcut and stride `stride1`.
pub fn stack_residual_blocks_v1(
    x: &KerasTensor,
    filters: usize,
    blocks: usize,
    stride1: usize,
    name: &str,
) -> Result<KerasTensor> {
    let mut x = residual_block_v1(x, filters, 3, stride1, true, &format!("{name}_block1"))?;
    for i in 2..=blocks {
        x = residual_block_v1(&x, filters, 3, 1, false, &format!("{name}_block{i}"))?;
    }
    Ok(x)
}

/// Keras's `residual_block_v2`: a pre-activation bottleneck block. The shortcut is a 1x1
/// projection of the pre-activation (`conv_shortcut`), an unnamed `MaxPooling2D(1, strides)`
/// of the input when the block is strided, or the input itself.
pub fn residual_block_v2(
    x: &KerasTensor,
    filters: usize,
    kernel_size: usize,
    stride: usize,
    conv_shortcut: bool,
    name: &str,
) -> Result<KerasTensor> {
    let preact = batch_norm(&format!("{name}_preact_bn")).apply(x)?;
    let preact = relu(&format!("{name}_preact_relu")).apply(&preact)?;
    let shortcut = if conv_shortcut {
        named(&format!("{name}_0_conv"), || Conv2D::new(4 * filters, [1, 1]).strides([stride, stride]))
            .apply(&preact)?
    } else if stride > 1 {
        MaxPooling2D::new([1, 1]).strides([stride, stride]).apply(x)?
    } else {
        x.clone()
    };
    let mut y =
        named(&format!("{name}_1_conv"), || Conv2D::new(filters, [1, 1]).use_bias(false)).apply(&preact)?;
    y = batch_norm(&format!("{name}_1_bn")).apply(&y)?;
    y = relu(&format!("{name}_1_relu")).apply(&y)?;
    y = named(&format!("{name}_2_pad"), || ZeroPadding2D::new([[1, 1], [1, 1]])).apply(&y)?;
    y = named(&format!("{name}_2_conv"), || {
        Conv2D::new(filters, [kernel_size, kernel_size]).strides([stride, stride]).use_bias(false)
    })
    .apply(&y)?;
    y = batch_norm(&format!("{name}_2_bn")).apply(&y)?;
    y = relu(&format!("{name}_2_relu")).apply(&y)?;
    y = named(&format!("{name}_3_conv"), || Conv2D::new(4 * filters, [1, 1])).apply(&y)?;
    named(&format!("{name}_out"), Add::new).apply_list(&[&shortcut, &y])
}

/// Keras's `stack_residual_blocks_v2`: `blocks` V2 blocks named `{name}_block{i}`; the first
/// has the projection shortcut, the last the stride `stride1`.
pub fn stack_residual_blocks_v2(
    x: &KerasTensor,
    filters: usize,
    blocks: usize,
    stride1: usize,
    name: &str,
) -> Result<KerasTensor> {
    let mut x = residual_block_v2(x, filters, 3, 1, true, &format!("{name}_block1"))?;
    for i in 2..blocks {
        x = residual_block_v2(&x, filters, 3, 1, false, &format!("{name}_block{i}"))?;
    }
    residual_block_v2(&x, filters, 3, stride1, false, &format!("{name}_block{blocks}"))
}

/// A V1 ResNet whose four stacks have `blocks` blocks (64, 128, 256 and 512 filters).
fn resnet_v1(args: &ApplicationArgs, function: &str, blocks: [usize; 4], name: &str) -> Result<Functional> {
    let stack_fn = |x: KerasTensor| {
        let x = stack_residual_blocks_v1(&x, 64, blocks[0], 1, "conv2")?;
        let x = stack_residual_blocks_v1(&x, 128, blocks[1], 2, "conv3")?;
        let x = stack_residual_blocks_v1(&x, 256, blocks[2], 2, "conv4")?;
        stack_residual_blocks_v1(&x, 512, blocks[3], 2, "conv5")
    };
    resnet(args, function, stack_fn, false, true, name, name)
}

super::common::application_fns! {
    /// `keras.applications.ResNet50`: ResNet V1 with 3, 4, 6 and 3 bottleneck blocks. Input
    /// 224x224x3 with the top, at least 32x32 without.
    ///
    /// ```
    /// use keras::applications::{resnet, ApplicationArgs, Pooling, Weights};
    ///
    /// let args = ApplicationArgs::new()
    ///     .weights(Weights::None)
    ///     .include_top(false)
    ///     .input_shape(&[32, 32, 3])
    ///     .pooling(Pooling::Avg);
    /// let model = resnet::ResNet50(&args).unwrap();
    /// assert_eq!(model.layers().len(), 176);
    /// assert_eq!(model.output_shapes()[0], vec![None, Some(2048)]);
    /// assert_eq!(model.count_params(), 23_587_712);
    /// ```
    ResNet50 => resnet_v1("ResNet50", [3, 4, 6, 3], "resnet50");

    /// `keras.applications.ResNet101`: ResNet V1 with 3, 4, 23 and 3 bottleneck blocks.
    ///
    /// ```
    /// use keras::applications::{resnet, ApplicationArgs, Weights};
    ///
    /// let args = ApplicationArgs::new().weights(Weights::None).include_top(false).input_shape(&[32, 32, 3]);
    /// let model = resnet::ResNet101(&args).unwrap();
    /// assert_eq!(model.get_layer("conv4_block23_out").unwrap().output_shapes()[0], vec![None, Some(2), Some(2), Some(1024)]);
    /// ```
    ResNet101 => resnet_v1("ResNet101", [3, 4, 23, 3], "resnet101");

    /// `keras.applications.ResNet152`: ResNet V1 with 3, 8, 36 and 3 bottleneck blocks.
    ///
    /// ```
    /// use keras::applications::{resnet, ApplicationArgs, Weights};
    ///
    /// let args = ApplicationArgs::new().weights(Weights::None).include_top(false).input_shape(&[32, 32, 3]);
    /// let model = resnet::ResNet152(&args).unwrap();
    /// assert_eq!(model.name(), "resnet152");
    /// assert!(model.get_layer("conv4_block36_out").is_ok());
    /// ```
    ResNet152 => resnet_v1("ResNet152", [3, 8, 36, 3], "resnet152");
}
