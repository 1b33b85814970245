//! `keras.applications.inception_resnet_v2`: Inception-ResNet V2 (Szegedy et al., 2017).
//!
//! The builder [`InceptionResNetV2`], its ImageNet weight files, `preprocess_input` and
//! `decode_predictions`.

use super::common::{classes_error_received, maybe_named, named, weights_error_backticked, ApplicationArgs};
use super::imagenet_utils;
use super::weights::WeightsFile;
use crate::layers::{
    Activation, AveragePooling2D, BatchNormalization, Concatenate, Conv2D, CustomScaleLayer, MaxPooling2D,
};
use crate::models::{Functional, KerasTensor, SymbolicCall};
use crate::Result;

/// Keras's `BASE_WEIGHT_URL`.
pub const BASE_WEIGHT_URL: &str =
    "https://storage.googleapis.com/tensorflow/keras-applications/inception_resnet_v2/";

/// The ImageNet weights `InceptionResNetV2(weights="imagenet", include_top=...)` loads.
pub fn weights_file(include_top: bool) -> WeightsFile {
    let stem = "inception_resnet_v2_weights_tf_dim_ordering_tf_kernels";
    let (top, notop) = (format!("{BASE_WEIGHT_URL}{stem}.h5"), format!("{BASE_WEIGHT_URL}{stem}_notop.h5"));
    WeightsFile::top_or_notop(
        include_top,
        stem,
        [top.as_str(), notop.as_str()],
        ["e693bd0210a403b3192acc6073ad2e96", "d19885ff4a710c122648d3b5c3b684e4"],
    )
}

imagenet_utils::model_io_fns!("inception_resnet_v2", "tf", "scaled to `[-1, 1]`");

/// Keras's `conv2d_bn` of this family: `Conv2D(filters, kernel, strides, padding,
/// use_bias)` named `name`; without a bias a `BatchNormalization` without scale follows
/// (`{name}_bn`); then the activation (`{name}_ac`) unless `activation` is `None`. Unnamed
/// layers get automatic names.
#[allow(clippy::too_many_arguments)]
pub fn conv2d_bn(
    x: &KerasTensor,
    filters: usize,
    kernel: [usize; 2],
    strides: usize,
    padding: &str,
    activation: Option<&str>,
    use_bias: bool,
    name: Option<&str>,
) -> Result<KerasTensor> {
    let mut x = maybe_named(name, || {
        Conv2D::new(filters, kernel).strides([strides, strides]).padding(padding).use_bias(use_bias)
    })
    .apply(x)?;
    if !use_bias {
        let bn_name = name.map(|n| format!("{n}_bn"));
        x = maybe_named(bn_name.as_deref(), || BatchNormalization::new().axis(3).scale(false)).apply(&x)?;
    }
    if let Some(activation) = activation {
        let ac_name = name.map(|n| format!("{n}_ac"));
        x = maybe_named(ac_name.as_deref(), || Activation::new(activation)).apply(&x)?;
    }
    Ok(x)
}

/// `conv2d_bn(x, filters, (rows, cols))` with Keras's defaults: stride 1, `same`, ReLU.
fn cbn(x: &KerasTensor, filters: usize, rows: usize, cols: usize) -> Result<KerasTensor> {
    conv2d_bn(x, filters, [rows, cols], 1, "same", Some("relu"), false, None)
}

/// `conv2d_bn(x, filters, k, strides=2, padding="valid")`.
fn cbn_down(x: &KerasTensor, filters: usize, k: usize) -> Result<KerasTensor> {
    conv2d_bn(x, filters, [k, k], 2, "valid", Some("relu"), false, None)
}

/// `conv2d_bn(x, filters, k, padding="valid")`.
fn cbn_valid(x: &KerasTensor, filters: usize, k: usize) -> Result<KerasTensor> {
    conv2d_bn(x, filters, [k, k], 1, "valid", Some("relu"), false, None)
}

/// `layers.Concatenate(axis=3, name=name)(xs)`.
fn concat(xs: &[&KerasTensor], name: &str) -> Result<KerasTensor> {
    named(name, || Concatenate::new().axis(3)).apply_list(xs)
}

/// The three residual block types of Inception-ResNet V2.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockType {
    /// `block35`: the 35x35 Inception-ResNet-A block.
    Block35,
    /// `block17`: the 17x17 Inception-ResNet-B block.
    Block17,
    /// `block8`: the 8x8 Inception-ResNet-C block.
    Block8,
}

impl BlockType {
    fn as_str(self) -> &'static str {
        match self {
            BlockType::Block35 => "block35",
            BlockType::Block17 => "block17",
            BlockType::Block8 => "block8",
        }
    }
}

/// Keras's `inception_resnet_block`: the block's branches, concatenated (`{block}_{idx}_mixed`),
/// projected back to `x`'s channels by a biased 1x1 convolution (`{block}_{idx}_conv`), added to
/// `x` as `x + scale * r` (`CustomScaleLayer`), then the activation (`{block}_{idx}_ac`).
pub fn inception_resnet_block(
    x: &KerasTensor,
    scale: f32,
    block_type: BlockType,
    block_idx: usize,
    activation: Option<&str>,
) -> Result<KerasTensor> {
    let branches = match block_type {
        BlockType::Block35 => {
            let b0 = cbn(x, 32, 1, 1)?;
            let b1 = cbn(&cbn(x, 32, 1, 1)?, 32, 3, 3)?;
            let b2 = cbn(&cbn(&cbn(x, 32, 1, 1)?, 48, 3, 3)?, 64, 3, 3)?;
            vec![b0, b1, b2]
        }
        BlockType::Block17 => {
            let b0 = cbn(x, 192, 1, 1)?;
            let b1 = cbn(&cbn(&cbn(x, 128, 1, 1)?, 160, 1, 7)?, 192, 7, 1)?;
            vec![b0, b1]
        }
        BlockType::Block8 => {
            let b0 = cbn(x, 192, 1, 1)?;
            let b1 = cbn(&cbn(&cbn(x, 192, 1, 1)?, 224, 1, 3)?, 256, 3, 1)?;
            vec![b0, b1]
        }
    };
    let block_name = format!("{}_{block_idx}", block_type.as_str());
    let mixed = concat(&branches.iter().collect::<Vec<_>>(), &format!("{block_name}_mixed"))?;
    let channels = x.shape().get(3).copied().flatten().unwrap_or(0);
    let up = conv2d_bn(&mixed, channels, [1, 1], 1, "same", None, true, Some(&format!("{block_name}_conv")))?;
    let mut x = CustomScaleLayer::new(scale).apply_list(&[x, &up])?;
    if let Some(activation) = activation {
        x = named(&format!("{block_name}_ac"), || Activation::new(activation)).apply(&x)?;
    }
    Ok(x)
}

/// `keras.applications.InceptionResNetV2`. Input 299x299x3 with the top, at least 75x75
/// without.
///
/// ```
/// use keras::applications::{inception_resnet_v2, ApplicationArgs, Weights};
///
/// let args = ApplicationArgs::new().weights(Weights::None).include_top(false).input_shape(&[75, 75, 3]);
/// let model = inception_resnet_v2::InceptionResNetV2(&args).unwrap();
/// assert_eq!(model.name(), "inception_resnet_v2");
/// assert_eq!(model.output_shapes()[0], vec![None, Some(1), Some(1), Some(1536)]);
/// assert_eq!(model.count_params(), 54_336_736);
/// ```
#[allow(non_snake_case)]
pub fn InceptionResNetV2(args: &ApplicationArgs) -> Result<Functional> {
    args.check_options("InceptionResNetV2", &[])?;
    args.check_weights_worded(weights_error_backticked, classes_error_received)?;
    let shape = args.obtain_input_shape(299, 75, args.include_top)?;
    let img_input = args.image_input(&shape);

    // Stem: 35 x 35 x 192.
    let mut x = cbn_down(&img_input, 32, 3)?;
    x = cbn_valid(&x, 32, 3)?;
    x = cbn(&x, 64, 3, 3)?;
    x = MaxPooling2D::new([3, 3]).strides([2, 2]).apply(&x)?;
    x = cbn_valid(&x, 80, 1)?;
    x = cbn_valid(&x, 192, 3)?;
    x = MaxPooling2D::new([3, 3]).strides([2, 2]).apply(&x)?;

    // Mixed 5b (Inception-A): 35 x 35 x 320.
    let b0 = cbn(&x, 96, 1, 1)?;
    let b1 = cbn(&cbn(&x, 48, 1, 1)?, 64, 5, 5)?;
    let b2 = cbn(&cbn(&cbn(&x, 64, 1, 1)?, 96, 3, 3)?, 96, 3, 3)?;
    let pool = AveragePooling2D::new([3, 3]).strides([1, 1]).padding("same").apply(&x)?;
    let pool = cbn(&pool, 64, 1, 1)?;
    x = concat(&[&b0, &b1, &b2, &pool], "mixed_5b")?;

    // 10x block35 (Inception-ResNet-A): 35 x 35 x 320.
    for idx in 1..=10 {
        x = inception_resnet_block(&x, 0.17, BlockType::Block35, idx, Some("relu"))?;
    }

    // Mixed 6a (Reduction-A): 17 x 17 x 1088.
    let b0 = cbn_down(&x, 384, 3)?;
    let b1 = cbn_down(&cbn(&cbn(&x, 256, 1, 1)?, 256, 3, 3)?, 384, 3)?;
    let pool = MaxPooling2D::new([3, 3]).strides([2, 2]).padding("valid").apply(&x)?;
    x = concat(&[&b0, &b1, &pool], "mixed_6a")?;

    // 20x block17 (Inception-ResNet-B): 17 x 17 x 1088.
    for idx in 1..=20 {
        x = inception_resnet_block(&x, 0.1, BlockType::Block17, idx, Some("relu"))?;
    }

    // Mixed 7a (Reduction-B): 8 x 8 x 2080.
    let b0 = cbn_down(&cbn(&x, 256, 1, 1)?, 384, 3)?;
    let b1 = cbn_down(&cbn(&x, 256, 1, 1)?, 288, 3)?;
    let b2 = cbn_down(&cbn(&cbn(&x, 256, 1, 1)?, 288, 3, 3)?, 320, 3)?;
    let pool = MaxPooling2D::new([3, 3]).strides([2, 2]).padding("valid").apply(&x)?;
    x = concat(&[&b0, &b1, &b2, &pool], "mixed_7a")?;

    // 10x block8 (Inception-ResNet-C): 8 x 8 x 2080; the last without activation.
    for idx in 1..=9 {
        x = inception_resnet_block(&x, 0.2, BlockType::Block8, idx, Some("relu"))?;
    }
    x = inception_resnet_block(&x, 1.0, BlockType::Block8, 10, None)?;

    // Final convolution block: 8 x 8 x 1536.
    x = conv2d_bn(&x, 1536, [1, 1], 1, "same", Some("relu"), false, Some("conv_7b"))?;

    x = args.avg_pool_top_or_pool(&x, None, None)?;
    args.finish(&img_input, &x, "inception_resnet_v2", || Ok(weights_file(args.include_top)))
}
