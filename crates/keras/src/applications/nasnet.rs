//! `keras.applications.nasnet`: NASNetMobile and NASNetLarge (Zoph et al., 2017).
//!
//! [`NASNetMobile`] and [`NASNetLarge`] build the models layer for layer as Keras does (the
//! same names, shapes and parameters); the module also holds the ImageNet weight files,
//! `preprocess_input` and `decode_predictions`.

use super::common::{classes_error_as_true, named, weights_error_backticked, ApplicationArgs, Weights};
use super::imagenet_utils::{self, correct_pad};
use super::weights::WeightsFile;
use crate::initializers::Initializer;
use crate::layers::{
    Activation, Add, AveragePooling2D, BatchNormalization, Concatenate, Conv2D, Cropping2D, Dense,
    GlobalAveragePooling2D, MaxPooling2D, SeparableConv2D, ZeroPadding2D,
};
use crate::models::{Functional, KerasTensor, SymbolicCall};
use crate::utils::python_repr::py_shape;
use crate::{keras_bail, Result};

/// Keras's `BASE_WEIGHTS_PATH`.
pub const BASE_WEIGHTS_PATH: &str = "https://storage.googleapis.com/tensorflow/keras-applications/nasnet/";
/// Keras's `NASNET_MOBILE_WEIGHT_PATH`.
pub const NASNET_MOBILE_WEIGHT_PATH: &str =
    "https://storage.googleapis.com/tensorflow/keras-applications/nasnet/NASNet-mobile.h5";
/// Keras's `NASNET_MOBILE_WEIGHT_PATH_NO_TOP`.
pub const NASNET_MOBILE_WEIGHT_PATH_NO_TOP: &str =
    "https://storage.googleapis.com/tensorflow/keras-applications/nasnet/NASNet-mobile-no-top.h5";
/// Keras's `NASNET_LARGE_WEIGHT_PATH`.
pub const NASNET_LARGE_WEIGHT_PATH: &str =
    "https://storage.googleapis.com/tensorflow/keras-applications/nasnet/NASNet-large.h5";
/// Keras's `NASNET_LARGE_WEIGHT_PATH_NO_TOP`.
pub const NASNET_LARGE_WEIGHT_PATH_NO_TOP: &str =
    "https://storage.googleapis.com/tensorflow/keras-applications/nasnet/NASNet-large-no-top.h5";

/// The ImageNet weights of a NASNet by its `default_size`, as Keras's `NASNet` picks them: 224
/// is NASNetMobile (`nasnet_mobile[_no_top].h5`), 331 NASNetLarge (`nasnet_large[_no_top].h5`);
/// anything else is Keras's error.
pub fn weights_file(default_size: usize, include_top: bool) -> Result<WeightsFile> {
    Ok(match (default_size, include_top) {
        (224, true) => WeightsFile::new(
            "nasnet_mobile.h5",
            NASNET_MOBILE_WEIGHT_PATH,
            Some("020fb642bf7360b370c678b08e0adf61"),
        ),
        (224, false) => WeightsFile::new(
            "nasnet_mobile_no_top.h5",
            NASNET_MOBILE_WEIGHT_PATH_NO_TOP,
            Some("1ed92395b5b598bdda52abe5c0dbfd63"),
        ),
        (331, true) => WeightsFile::new(
            "nasnet_large.h5",
            NASNET_LARGE_WEIGHT_PATH,
            Some("11577c9a518f0070763c2b964a382f17"),
        ),
        (331, false) => WeightsFile::new(
            "nasnet_large_no_top.h5",
            NASNET_LARGE_WEIGHT_PATH_NO_TOP,
            Some("d81d89dc07e6e56530c4e77faddd61b5"),
        ),
        _ => keras_bail!(
            InvalidArgument,
            "ImageNet weights can only be loaded with NASNetLarge or NASNetMobile"
        ),
    })
}

imagenet_utils::model_io_fns!("nasnet", "tf", "scaled to `[-1, 1]`");

/// The architecture options of Keras's `NASNet` (the two published models set them).
struct NasNetConfig {
    penultimate_filters: usize,
    num_blocks: usize,
    stem_block_filters: usize,
    skip_reduction: bool,
    filter_multiplier: usize,
    default_size: usize,
    name: &'static str,
}

/// Keras's `NASNet(...)`: the NASNet-A network of `cfg` on the common arguments.
fn nasnet(
    args: &ApplicationArgs,
    cfg: &NasNetConfig,
    input_shape: Option<Vec<Option<usize>>>,
) -> Result<Functional> {
    args.check_weights_worded(weights_error_backticked, classes_error_as_true)?;
    if let Some(s) = &input_shape {
        if s.contains(&None) && args.weights == Weights::ImageNet {
            keras_bail!(
                InvalidArgument,
                "When specifying the input shape of a NASNet and loading `ImageNet` weights, the input_shape \
                 argument must be static (no None entries). Got: `input_shape={}`.",
                py_shape(s)
            );
        }
    }
    let weights = args.weights.as_keras();
    let input_shape = imagenet_utils::obtain_input_shape(
        input_shape.as_deref(),
        cfg.default_size,
        32,
        None,
        args.include_top,
        weights.as_deref(),
    )?;
    let img_input = args.image_input(&input_shape);
    let fm = cfg.filter_multiplier;
    if !cfg.penultimate_filters.is_multiple_of(24 * fm * fm) {
        keras_bail!(
            InvalidArgument,
            "For NASNet-A models, the `penultimate_filters` must be a multiple of 24 * (`filter_multiplier` ** 2). \
             Current value: {}",
            cfg.penultimate_filters
        );
    }
    let filters = cfg.penultimate_filters / 24;
    let mut x = named("stem_conv1", || {
        Conv2D::new(cfg.stem_block_filters, [3, 3])
            .strides([2, 2])
            .padding("valid")
            .use_bias(false)
            .kernel_initializer(Initializer::he_normal())
    })
    .apply(&img_input)?;
    x = named("stem_bn1", batch_norm).apply(&x)?;
    let (mut x, mut p) = reduction_a_cell(&x, None, filters / (fm * fm), "stem_1")?;
    (x, p) = reduction_a_cell(&x, Some(&p), filters / fm, "stem_2")?;
    let n = cfg.num_blocks;
    for i in 0..n {
        (x, p) = normal_a_cell(&x, &p, filters, &i.to_string())?;
    }
    let (x2, p0) = reduction_a_cell(&x, Some(&p), filters * fm, &format!("reduce_{n}"))?;
    x = x2;
    if !cfg.skip_reduction {
        p = p0;
    }
    for i in 0..n {
        (x, p) = normal_a_cell(&x, &p, filters * fm, &(n + i + 1).to_string())?;
    }
    let (x2, p0) = reduction_a_cell(&x, Some(&p), filters * fm * fm, &format!("reduce_{}", 2 * n))?;
    x = x2;
    if !cfg.skip_reduction {
        p = p0;
    }
    for i in 0..n {
        (x, p) = normal_a_cell(&x, &p, filters * fm * fm, &(2 * n + i + 1).to_string())?;
    }
    x = Activation::new("relu").apply(&x)?;
    if args.include_top {
        x = GlobalAveragePooling2D::new().apply(&x)?;
        let classifier = args.classifier_activation.as_deref();
        imagenet_utils::validate_activation(classifier, weights.as_deref())?;
        x = named("predictions", || Dense::new(args.classes).activation(classifier.unwrap_or("linear")))
            .apply(&x)?;
    } else {
        x = args.pool(&x, None, None)?;
    }
    args.finish(&img_input, &x, cfg.name, || weights_file(cfg.default_size, args.include_top))
}

/// NASNet's `BatchNormalization(momentum=0.9997, epsilon=1e-3)`.
fn batch_norm() -> BatchNormalization {
    BatchNormalization::new().axis(-1).momentum(0.9997).epsilon(1e-3)
}

fn relu() -> Activation {
    Activation::new("relu")
}

/// A `kernel` 1x1-strided (or 2x2) pooling layer with its padding.
fn avg_pool(pool: usize, stride: usize, padding: &str) -> AveragePooling2D {
    AveragePooling2D::new([pool, pool]).strides([stride, stride]).padding(padding)
}

fn max_pool(pool: usize, stride: usize, padding: &str) -> MaxPooling2D {
    MaxPooling2D::new([pool, pool]).strides([stride, stride]).padding(padding)
}

/// A 1x1 convolution without bias (He-normal kernel), as NASNet's cells use.
fn conv1x1(filters: usize) -> Conv2D {
    Conv2D::new(filters, [1, 1])
        .strides([1, 1])
        .padding("same")
        .use_bias(false)
        .kernel_initializer(Initializer::he_normal())
}

fn add(name: Option<&str>, a: &KerasTensor, b: &KerasTensor) -> Result<KerasTensor> {
    match name {
        Some(n) => named(n, Add::new).apply_list(&[a, b]),
        None => Add::new().apply_list(&[a, b]),
    }
}

/// Keras's `_separable_conv_block`: twice ReLU, separable convolution, batch normalization
/// (the first strided and zero-padded when `stride` is 2).
fn separable_conv_block(
    ip: &KerasTensor,
    filters: usize,
    kernel: usize,
    stride: usize,
    id: &str,
) -> Result<KerasTensor> {
    let mut x = relu().apply(ip)?;
    let conv_pad = if stride == 2 {
        let pad = correct_pad([x.shape()[1], x.shape()[2]], [kernel, kernel]);
        x = named(&format!("separable_conv_1_pad_{id}"), || ZeroPadding2D::new(pad)).apply(&x)?;
        "valid"
    } else {
        "same"
    };
    x = named(&format!("separable_conv_1_{id}"), || {
        SeparableConv2D::new(filters, [kernel, kernel])
            .strides([stride, stride])
            .padding(conv_pad)
            .use_bias(false)
    })
    .apply(&x)?;
    x = named(&format!("separable_conv_1_bn_{id}"), batch_norm).apply(&x)?;
    x = relu().apply(&x)?;
    x = named(&format!("separable_conv_2_{id}"), || {
        SeparableConv2D::new(filters, [kernel, kernel]).padding("same").use_bias(false)
    })
    .apply(&x)?;
    named(&format!("separable_conv_2_bn_{id}"), batch_norm).apply(&x)
}

/// Keras's `_adjust_block`: brings the previous cell's output `p` to the size and width of
/// `ip` (a factorized reduction when the spatial sizes differ, a 1x1 projection when only the
/// widths do).
fn adjust_block(p: Option<&KerasTensor>, ip: &KerasTensor, filters: usize, id: &str) -> Result<KerasTensor> {
    let Some(p) = p else { return Ok(ip.clone()) };
    let dim = |t: &KerasTensor, axis: usize| t.shape()[t.shape().len() - axis];
    if dim(p, 2) != dim(ip, 2) {
        let p = named(&format!("adjust_relu_1_{id}"), relu).apply(p)?;
        let p1 = named(&format!("adjust_avg_pool_1_{id}"), || avg_pool(1, 2, "valid")).apply(&p)?;
        let p1 = named(&format!("adjust_conv_1_{id}"), || conv1x1(filters / 2)).apply(&p1)?;
        let p2 = ZeroPadding2D::new([[0, 1], [0, 1]]).apply(&p)?;
        let p2 = Cropping2D::new([[1, 0], [1, 0]]).apply(&p2)?;
        let p2 = named(&format!("adjust_avg_pool_2_{id}"), || avg_pool(1, 2, "valid")).apply(&p2)?;
        let p2 = named(&format!("adjust_conv_2_{id}"), || conv1x1(filters / 2)).apply(&p2)?;
        let p = Concatenate::new().axis(-1).apply_list(&[&p1, &p2])?;
        named(&format!("adjust_bn_{id}"), batch_norm).apply(&p)
    } else if dim(p, 1) != Some(filters) {
        let p = relu().apply(p)?;
        let p = named(&format!("adjust_conv_projection_{id}"), || conv1x1(filters)).apply(&p)?;
        named(&format!("adjust_bn_{id}"), batch_norm).apply(&p)
    } else {
        Ok(p.clone())
    }
}

/// Keras's `_normal_a_cell`: returns the cell's output and its input (the next cell's `p`).
fn normal_a_cell(
    ip: &KerasTensor,
    p: &KerasTensor,
    filters: usize,
    id: &str,
) -> Result<(KerasTensor, KerasTensor)> {
    let p = adjust_block(Some(p), ip, filters, id)?;
    let h = relu().apply(ip)?;
    let h = named(&format!("normal_conv_1_{id}"), || conv1x1(filters)).apply(&h)?;
    let h = named(&format!("normal_bn_1_{id}"), batch_norm).apply(&h)?;

    let x1_1 = separable_conv_block(&h, filters, 5, 1, &format!("normal_left1_{id}"))?;
    let x1_2 = separable_conv_block(&p, filters, 3, 1, &format!("normal_right1_{id}"))?;
    let x1 = add(Some(&format!("normal_add_1_{id}")), &x1_1, &x1_2)?;

    let x2_1 = separable_conv_block(&p, filters, 5, 1, &format!("normal_left2_{id}"))?;
    let x2_2 = separable_conv_block(&p, filters, 3, 1, &format!("normal_right2_{id}"))?;
    let x2 = add(Some(&format!("normal_add_2_{id}")), &x2_1, &x2_2)?;

    let x3 = named(&format!("normal_left3_{id}"), || avg_pool(3, 1, "same")).apply(&h)?;
    let x3 = add(Some(&format!("normal_add_3_{id}")), &x3, &p)?;

    let x4_1 = named(&format!("normal_left4_{id}"), || avg_pool(3, 1, "same")).apply(&p)?;
    let x4_2 = named(&format!("normal_right4_{id}"), || avg_pool(3, 1, "same")).apply(&p)?;
    let x4 = add(Some(&format!("normal_add_4_{id}")), &x4_1, &x4_2)?;

    let x5 = separable_conv_block(&h, filters, 3, 1, &format!("normal_left5_{id}"))?;
    let x5 = add(Some(&format!("normal_add_5_{id}")), &x5, &h)?;

    let x = named(&format!("normal_concat_{id}"), || Concatenate::new().axis(-1))
        .apply_list(&[&p, &x1, &x2, &x3, &x4, &x5])?;
    Ok((x, ip.clone()))
}

/// Keras's `_reduction_a_cell`: halves the spatial size; returns the cell's output and its
/// input.
fn reduction_a_cell(
    ip: &KerasTensor,
    p: Option<&KerasTensor>,
    filters: usize,
    id: &str,
) -> Result<(KerasTensor, KerasTensor)> {
    let p = adjust_block(p, ip, filters, id)?;
    let h = relu().apply(ip)?;
    let h = named(&format!("reduction_conv_1_{id}"), || conv1x1(filters)).apply(&h)?;
    let h = named(&format!("reduction_bn_1_{id}"), batch_norm).apply(&h)?;
    let pad = correct_pad([h.shape()[1], h.shape()[2]], [3, 3]);
    let h3 = named(&format!("reduction_pad_1_{id}"), || ZeroPadding2D::new(pad)).apply(&h)?;

    let x1_1 = separable_conv_block(&h, filters, 5, 2, &format!("reduction_left1_{id}"))?;
    let x1_2 = separable_conv_block(&p, filters, 7, 2, &format!("reduction_right1_{id}"))?;
    let x1 = add(Some(&format!("reduction_add_1_{id}")), &x1_1, &x1_2)?;

    let x2_1 = named(&format!("reduction_left2_{id}"), || max_pool(3, 2, "valid")).apply(&h3)?;
    let x2_2 = separable_conv_block(&p, filters, 7, 2, &format!("reduction_right2_{id}"))?;
    let x2 = add(Some(&format!("reduction_add_2_{id}")), &x2_1, &x2_2)?;

    let x3_1 = named(&format!("reduction_left3_{id}"), || avg_pool(3, 2, "valid")).apply(&h3)?;
    let x3_2 = separable_conv_block(&p, filters, 5, 2, &format!("reduction_right3_{id}"))?;
    let x3 = add(Some(&format!("reduction_add3_{id}")), &x3_1, &x3_2)?;

    let x4 = named(&format!("reduction_left4_{id}"), || avg_pool(3, 1, "same")).apply(&x1)?;
    let x4 = add(None, &x2, &x4)?;

    let x5_1 = separable_conv_block(&x1, filters, 3, 1, &format!("reduction_left4_{id}"))?;
    let x5_2 = named(&format!("reduction_right5_{id}"), || max_pool(3, 2, "valid")).apply(&h3)?;
    let x5 = add(Some(&format!("reduction_add4_{id}")), &x5_1, &x5_2)?;

    let x = named(&format!("reduction_concat_{id}"), || Concatenate::new().axis(-1))
        .apply_list(&[&x2, &x3, &x4, &x5])?;
    Ok((x, ip.clone()))
}

/// Keras's `keras.applications.NASNetMobile`: NASNet-A (4 @ 1056) for 224x224 images,
/// optionally with ImageNet weights.
///
/// No family options; the common [`ApplicationArgs`] apply. Without the classifier and without
/// `input_shape`, the input is 224x224x3 (as in Keras). The model is named `nasnet_mobile`.
///
/// ```
/// use keras::applications::{nasnet, ApplicationArgs, Weights};
///
/// let args = ApplicationArgs::new().weights(Weights::None).include_top(false).input_shape(&[32, 32, 3]);
/// let model = nasnet::NASNetMobile(&args)?;
/// assert_eq!(model.name(), "nasnet_mobile");
/// assert_eq!(model.output_shapes()[0], vec![None, Some(1), Some(1), Some(1056)]);
/// # Ok::<(), keras::Error>(())
/// ```
#[allow(non_snake_case)]
pub fn NASNetMobile(args: &ApplicationArgs) -> Result<Functional> {
    args.check_options("NASNetMobile", &[])?;
    let input_shape = match &args.input_shape {
        None if !args.include_top => Some(vec![Some(224), Some(224), Some(3)]),
        s => s.clone(),
    };
    let cfg = NasNetConfig {
        penultimate_filters: 1056,
        num_blocks: 4,
        stem_block_filters: 32,
        skip_reduction: false,
        filter_multiplier: 2,
        default_size: 224,
        name: "nasnet_mobile",
    };
    nasnet(args, &cfg, input_shape)
}

/// Keras's `keras.applications.NASNetLarge`: NASNet-A (6 @ 4032) for 331x331 images,
/// optionally with ImageNet weights.
///
/// No family options; the common [`ApplicationArgs`] apply. The model is named
/// `nasnet_large`.
///
/// ```
/// use keras::applications::{nasnet, ApplicationArgs, Weights};
///
/// let args = ApplicationArgs::new().weights(Weights::None).include_top(false);
/// let model = nasnet::NASNetLarge(&args)?;
/// assert_eq!(model.name(), "nasnet_large");
/// assert_eq!(model.output_shapes()[0], vec![None, None, None, Some(4032)]);
/// # Ok::<(), keras::Error>(())
/// ```
#[allow(non_snake_case)]
pub fn NASNetLarge(args: &ApplicationArgs) -> Result<Functional> {
    args.check_options("NASNetLarge", &[])?;
    let cfg = NasNetConfig {
        penultimate_filters: 4032,
        num_blocks: 6,
        stem_block_filters: 96,
        skip_reduction: true,
        filter_multiplier: 2,
        default_size: 331,
        name: "nasnet_large",
    };
    nasnet(args, &cfg, args.input_shape.clone())
}
