//! `keras.applications.efficientnet_v2`: EfficientNetV2B0 to B3, S, M and L (Tan & Le, 2021).
//!
//! [`EfficientNetV2B0`] to [`EfficientNetV2L`] build the models layer for layer as Keras does
//! (the same names, shapes and parameters): Fused-MBConv blocks (one full convolution in place of
//! the expansion and depthwise convolutions) in the early stages, MBConv blocks with
//! squeeze-and-excitation after them. The models take pixels in `[0, 255]` and preprocess them
//! themselves (`include_preprocessing`, on by default); [`preprocess_input`] is a pass-through,
//! as in Keras. The module also holds the ImageNet weight files and `decode_predictions`.

use super::common::{named, ApplicationArgs};
use super::efficientnet::{conv_kernel_initializer, dense_kernel_initializer, squeeze_excite};
use super::imagenet_utils;
use super::weights::WeightsFile;
use crate::initializers::Initializer;
use crate::layers::{
    Activation, Add, BatchNormalization, Conv2D, Dense, DepthwiseConv2D, Dropout, GlobalAveragePooling2D,
    Normalization, Rescaling,
};
use crate::models::{Functional, KerasTensor, SymbolicCall};
use crate::{keras_bail, Result};

/// Keras's `BASE_WEIGHTS_PATH`.
pub const BASE_WEIGHTS_PATH: &str =
    "https://storage.googleapis.com/tensorflow/keras-applications/efficientnet_v2/";

/// Keras's `WEIGHTS_HASHES`: `(weights_name, hash with top, hash without top)`.
pub const WEIGHTS_HASHES: &[(&str, &str, &str)] = &[
    ("b0", "21ecbf6da12460d5c40bb2f29ceb2188", "893217f2bb855e2983157299931e43ff"),
    ("b1", "069f0534ff22adf035c89e2d9547a9dc", "0e80663031ca32d657f9caa404b6ec37"),
    ("b2", "424e49f28180edbde1e94797771950a7", "1dfe2e7a5d45b6632553a8961ea609eb"),
    ("b3", "1f1fc43bd98a6e4fd8fdfd551e02c7a0", "f6abf7b5849ac99a89b50dd3fd532856"),
    ("-s", "e1d88a8495beba45748fedd0cecbe016", "af0682fb74e8c54910f2d4393339c070"),
    ("-m", "a3bf6aa3276309f4fc6a34aa114c95cd", "1b8dc055df72dde80d614482840fe342"),
    ("-l", "27e6d408b53c7ebc868fefa357689935", "b0b66b5c863aef5b46e8608fe1711615"),
];

/// The ImageNet weights of the model named `model_name` (`"efficientnetv2-b0"` to
/// `"efficientnetv2-b3"`, `"efficientnetv2-s"`, `-m`, `-l`): `{model_name}.h5`, or
/// `{model_name}_notop.h5`, with Keras's hash.
///
/// ```
/// let file = keras::applications::efficientnet_v2::weights_file("efficientnetv2-s", false)?;
/// assert_eq!(file.fname, "efficientnetv2-s_notop.h5");
/// # Ok::<(), keras::Error>(())
/// ```
pub fn weights_file(model_name: &str, include_top: bool) -> Result<WeightsFile> {
    let Some(variant) = VARIANTS.iter().find(|v| v.name == model_name) else {
        keras_bail!(
            InvalidArgument,
            "EfficientNetV2 models are {}. Received: {model_name}",
            VARIANTS.iter().map(|v| v.name).collect::<Vec<_>>().join(", ")
        );
    };
    Ok(variant_weights_file(variant, model_name, include_top))
}

/// Keras's file for `variant`'s hashes under the model's `name` (Keras names the file after the
/// model, whose name also picks the blocks).
fn variant_weights_file(variant: &Variant, name: &str, include_top: bool) -> WeightsFile {
    let (_, top, notop) =
        WEIGHTS_HASHES.iter().find(|h| h.0 == variant.weights_name).copied().unwrap_or(("", "", ""));
    WeightsFile::named_under(BASE_WEIGHTS_PATH, name, include_top, [top, notop])
}

imagenet_utils::model_io_fns!(@passthrough "efficientnet_v2", "rescales (and, for the B variants, normalizes)");

/// One stage of Keras's `DEFAULT_BLOCKS_ARGS`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BlockArgs {
    kernel_size: usize,
    num_repeat: usize,
    input_filters: usize,
    output_filters: usize,
    expand_ratio: usize,
    se_ratio: f64,
    strides: usize,
    /// `conv_type` 1: a Fused-MBConv block; 0: an MBConv block.
    fused: bool,
}

/// A stage from Keras's dict, in the order `(kernel_size, num_repeat, input_filters,
/// output_filters, expand_ratio, se_ratio, strides, conv_type)`.
const fn stage(a: (usize, usize, usize, usize, usize, f64, usize, u8)) -> BlockArgs {
    BlockArgs {
        kernel_size: a.0,
        num_repeat: a.1,
        input_filters: a.2,
        output_filters: a.3,
        expand_ratio: a.4,
        se_ratio: a.5,
        strides: a.6,
        fused: a.7 == 1,
    }
}

/// The stages of B0 to B3 (the B variants scale them by their coefficients).
const B_BLOCKS: [BlockArgs; 6] = [
    stage((3, 1, 32, 16, 1, 0.0, 1, 1)),
    stage((3, 2, 16, 32, 4, 0.0, 2, 1)),
    stage((3, 2, 32, 48, 4, 0.0, 2, 1)),
    stage((3, 3, 48, 96, 4, 0.25, 2, 0)),
    stage((3, 5, 96, 112, 6, 0.25, 1, 0)),
    stage((3, 8, 112, 192, 6, 0.25, 2, 0)),
];

const S_BLOCKS: [BlockArgs; 6] = [
    stage((3, 2, 24, 24, 1, 0.0, 1, 1)),
    stage((3, 4, 24, 48, 4, 0.0, 2, 1)),
    stage((3, 4, 48, 64, 4, 0.0, 2, 1)),
    stage((3, 6, 64, 128, 4, 0.25, 2, 0)),
    stage((3, 9, 128, 160, 6, 0.25, 1, 0)),
    stage((3, 15, 160, 256, 6, 0.25, 2, 0)),
];

const M_BLOCKS: [BlockArgs; 7] = [
    stage((3, 3, 24, 24, 1, 0.0, 1, 1)),
    stage((3, 5, 24, 48, 4, 0.0, 2, 1)),
    stage((3, 5, 48, 80, 4, 0.0, 2, 1)),
    stage((3, 7, 80, 160, 4, 0.25, 2, 0)),
    stage((3, 14, 160, 176, 6, 0.25, 1, 0)),
    stage((3, 18, 176, 304, 6, 0.25, 2, 0)),
    stage((3, 5, 304, 512, 6, 0.25, 1, 0)),
];

const L_BLOCKS: [BlockArgs; 7] = [
    stage((3, 4, 32, 32, 1, 0.0, 1, 1)),
    stage((3, 7, 32, 64, 4, 0.0, 2, 1)),
    stage((3, 7, 64, 96, 4, 0.0, 2, 1)),
    stage((3, 10, 96, 192, 4, 0.25, 2, 0)),
    stage((3, 19, 192, 224, 6, 0.25, 1, 0)),
    stage((3, 25, 224, 384, 6, 0.25, 2, 0)),
    stage((3, 7, 384, 640, 6, 0.25, 1, 0)),
];

/// What a variant function passes to Keras's `EfficientNetV2(...)`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Variant {
    /// The default model name, which is also the key of its blocks (`efficientnetv2-b0`).
    name: &'static str,
    /// The key of its weight hashes (`b0`, `-s`).
    weights_name: &'static str,
    width_coefficient: f64,
    depth_coefficient: f64,
    default_size: usize,
    blocks: &'static [BlockArgs],
}

const VARIANTS: [Variant; 7] = [
    Variant {
        name: "efficientnetv2-b0",
        weights_name: "b0",
        width_coefficient: 1.0,
        depth_coefficient: 1.0,
        default_size: 224,
        blocks: &B_BLOCKS,
    },
    Variant {
        name: "efficientnetv2-b1",
        weights_name: "b1",
        width_coefficient: 1.0,
        depth_coefficient: 1.1,
        default_size: 240,
        blocks: &B_BLOCKS,
    },
    Variant {
        name: "efficientnetv2-b2",
        weights_name: "b2",
        width_coefficient: 1.1,
        depth_coefficient: 1.2,
        default_size: 260,
        blocks: &B_BLOCKS,
    },
    Variant {
        name: "efficientnetv2-b3",
        weights_name: "b3",
        width_coefficient: 1.2,
        depth_coefficient: 1.4,
        default_size: 300,
        blocks: &B_BLOCKS,
    },
    Variant {
        name: "efficientnetv2-s",
        weights_name: "-s",
        width_coefficient: 1.0,
        depth_coefficient: 1.0,
        default_size: 384,
        blocks: &S_BLOCKS,
    },
    Variant {
        name: "efficientnetv2-m",
        weights_name: "-m",
        width_coefficient: 1.0,
        depth_coefficient: 1.0,
        default_size: 480,
        blocks: &M_BLOCKS,
    },
    Variant {
        name: "efficientnetv2-l",
        weights_name: "-l",
        width_coefficient: 1.0,
        depth_coefficient: 1.0,
        default_size: 480,
        blocks: &L_BLOCKS,
    },
];

// Keras's `EfficientNetV2` defaults, which no variant function changes.
const DROPOUT_RATE: f64 = 0.2;
const DROP_CONNECT_RATE: f64 = 0.2;
const DEPTH_DIVISOR: usize = 8;
const MIN_DEPTH: usize = 8;
const BN_MOMENTUM: f64 = 0.9;
const ACTIVATION: &str = "swish";

/// Keras's `round_filters` (no 90% floor, unlike EfficientNet's).
fn round_filters(filters: usize, width_coefficient: f64) -> usize {
    let filters = filters as f64 * width_coefficient;
    let d = DEPTH_DIVISOR as f64;
    MIN_DEPTH.max(((filters + d / 2.0) as usize) / DEPTH_DIVISOR * DEPTH_DIVISOR)
}

/// Keras's `round_repeats`.
fn round_repeats(repeats: usize, depth_coefficient: f64) -> usize {
    (depth_coefficient * repeats as f64).ceil() as usize
}

fn batch_norm() -> BatchNormalization {
    BatchNormalization::new().axis(3).momentum(BN_MOMENTUM)
}

/// A `same`-padded, bias-free convolution with Keras's kernel initializer.
fn conv(filters: usize, kernel: usize, strides: usize) -> Conv2D {
    Conv2D::new(filters, [kernel, kernel])
        .strides([strides, strides])
        .padding("same")
        .use_bias(false)
        .kernel_initializer(conv_kernel_initializer())
}

/// Keras's `EfficientNetV2(width_coefficient, depth_coefficient, default_size, dropout_rate=0.2,
/// drop_connect_rate=0.2, depth_divisor=8, min_depth=8, bn_momentum=0.9, activation="swish",
/// blocks_args="default", name, ..., include_preprocessing=True, weights_name)`: what every
/// variant function calls. As in Keras, the model's name picks the blocks (a name that is not
/// one of the seven is refused, where Keras raises `KeyError`) and whether the B variants'
/// ImageNet normalization is used.
pub(crate) fn efficientnet_v2(
    args: &ApplicationArgs,
    function: &str,
    variant: &Variant,
) -> Result<Functional> {
    args.check_options(function, &["include_preprocessing"])?;
    let name = args.name.clone().unwrap_or_else(|| variant.name.to_string());
    let blocks = if name == variant.name {
        variant.blocks
    } else {
        match VARIANTS.iter().find(|v| v.name == name) {
            Some(v) => v.blocks,
            None => keras_bail!(
                InvalidArgument,
                "KeyError: '{name}': Keras's EfficientNetV2 looks its blocks up by the model's name, one of {}",
                VARIANTS.iter().map(|v| v.name).collect::<Vec<_>>().join(", ")
            ),
        }
    };
    build(args, variant, &name, blocks)
}

/// The model of `variant`'s coefficients with `blocks`, named `name`.
fn build(args: &ApplicationArgs, variant: &Variant, name: &str, blocks: &[BlockArgs]) -> Result<Functional> {
    args.check_weights_worded(
        |weights| {
            format!(
                "The `weights` argument should be either `None` (random initialization), `imagenet` (pre-training \
                 on ImageNet), or the path to the weights file to be loaded.Received: weights={weights}"
            )
        },
        |_| "If using `weights=\"imagenet\"` with `include_top` as true, `classes` should be 1000".to_string(),
    )?;
    let input_shape = args.obtain_input_shape(variant.default_size, 32, args.include_top)?;
    let img_input = args.image_input(&input_shape);
    let width = variant.width_coefficient;

    let mut x = img_input.clone();
    if args.include_preprocessing.unwrap_or(true) {
        // The B variants keep EfficientNet's ImageNet normalization when the input has 3 channels.
        let b_variant = name.rsplit('-').next().is_some_and(|s| s.starts_with('b'));
        if b_variant && input_shape.get(2) == Some(&Some(3)) {
            x = Rescaling::new(1.0 / 255.0).apply(&x)?;
            let mean = [0.485f64, 0.456, 0.406].map(|m| m as f32);
            let variance = [0.229f64, 0.224, 0.225].map(|s| (s * s) as f32);
            x = Normalization::new().mean_variance(&mean, &variance).axis(&[3]).apply(&x)?;
        } else {
            x = Rescaling::new(1.0 / 128.0).offset(-1.0).apply(&x)?;
        }
    }

    let first = blocks.first().map_or(32, |b| b.input_filters);
    x = named("stem_conv", || conv(round_filters(first, width), 3, 2)).apply(&x)?;
    x = named("stem_bn", batch_norm).apply(&x)?;
    x = named("stem_activation", || Activation::new(ACTIVATION)).apply(&x)?;

    // Keras divides by the stages' repeats before rounding (EfficientNet by the rounded ones),
    // and uses the rate it calls `survival_probability` as the Dropout rate.
    let total: f64 = blocks.iter().map(|b| b.num_repeat as f64).sum();
    let mut b = 0usize;
    for (i, stage) in blocks.iter().enumerate() {
        let mut a = *stage;
        a.input_filters = round_filters(a.input_filters, width);
        a.output_filters = round_filters(a.output_filters, width);
        for j in 0..round_repeats(a.num_repeat, variant.depth_coefficient) {
            if j > 0 {
                a.strides = 1;
                a.input_filters = a.output_filters;
            }
            let block_name = format!("block{}{}_", i + 1, char::from(b'a' + j as u8));
            x = mb_conv_block(&x, &a, DROP_CONNECT_RATE * b as f64 / total, &block_name)?;
            b += 1;
        }
    }

    x = named("top_conv", || conv(round_filters(1280, width), 1, 1)).apply(&x)?;
    x = named("top_bn", batch_norm).apply(&x)?;
    x = named("top_activation", || Activation::new(ACTIVATION)).apply(&x)?;
    if args.include_top {
        x = named("avg_pool", GlobalAveragePooling2D::new).apply(&x)?;
        x = named("top_dropout", || Dropout::new(DROPOUT_RATE as f32)).apply(&x)?;
        let weights = args.weights.as_keras();
        let classifier = args.classifier_activation.as_deref();
        imagenet_utils::validate_activation(classifier, weights.as_deref())?;
        x = named("predictions", || {
            Dense::new(args.classes)
                .activation(classifier.unwrap_or("linear"))
                .kernel_initializer(dense_kernel_initializer())
                .bias_initializer(Initializer::Constant(0.0))
        })
        .apply(&x)?;
    } else {
        x = args.pool(&x, Some("avg_pool"), Some("max_pool"))?;
    }
    args.finish(&img_input, &x, variant.name, || Ok(variant_weights_file(variant, name, args.include_top)))
}

/// Keras's `MBConvBlock` and `FusedMBConvBlock` (`a.fused`), named `name` (`block4a_`).
fn mb_conv_block(
    inputs: &KerasTensor,
    a: &BlockArgs,
    survival_probability: f64,
    name: &str,
) -> Result<KerasTensor> {
    let filters = a.input_filters * a.expand_ratio;
    let k = a.kernel_size;
    let mut x = inputs.clone();
    if a.expand_ratio != 1 {
        // MBConv expands with a 1x1 convolution; Fused-MBConv with the full (strided) one.
        let (kernel, strides) = if a.fused { (k, a.strides) } else { (1, 1) };
        x = named(&format!("{name}expand_conv"), || conv(filters, kernel, strides)).apply(&x)?;
        x = named(&format!("{name}expand_bn"), batch_norm).apply(&x)?;
        x = named(&format!("{name}expand_activation"), || Activation::new(ACTIVATION)).apply(&x)?;
    }
    if !a.fused {
        x = named(&format!("{name}dwconv2"), || {
            DepthwiseConv2D::new([k, k])
                .strides([a.strides, a.strides])
                .padding("same")
                .use_bias(false)
                .depthwise_initializer(conv_kernel_initializer())
        })
        .apply(&x)?;
        x = named(&format!("{name}bn"), batch_norm).apply(&x)?;
        x = named(&format!("{name}activation"), || Activation::new(ACTIVATION)).apply(&x)?;
    }
    if 0.0 < a.se_ratio && a.se_ratio <= 1.0 {
        let filters_se = 1usize.max((a.input_filters as f64 * a.se_ratio) as usize);
        x = squeeze_excite(&x, filters, filters_se, ACTIVATION, name)?;
    }
    // A Fused-MBConv block without expansion does its one convolution here.
    let (kernel, strides) = if a.fused && a.expand_ratio == 1 { (k, a.strides) } else { (1, 1) };
    x = named(&format!("{name}project_conv"), || conv(a.output_filters, kernel, strides)).apply(&x)?;
    x = named(&format!("{name}project_bn"), batch_norm).apply(&x)?;
    if a.fused && a.expand_ratio == 1 {
        x = named(&format!("{name}project_activation"), || Activation::new(ACTIVATION)).apply(&x)?;
    }
    if a.strides == 1 && a.input_filters == a.output_filters {
        if survival_probability != 0.0 {
            x = named(&format!("{name}drop"), || {
                Dropout::new(survival_probability as f32).noise_shape(&[None, Some(1), Some(1), Some(1)])
            })
            .apply(&x)?;
        }
        x = named(&format!("{name}add"), Add::new).apply_list(&[&x, inputs])?;
    }
    Ok(x)
}

super::common::application_fns! {
    /// `keras.applications.EfficientNetV2B0` (7.2M parameters with the top; default input
    /// 224x224x3, at least 32x32 without the top). Takes pixels in `[0, 255]`: with
    /// `include_preprocessing` (its one family option, default true) the model rescales them
    /// to `[0, 1]` and normalizes with ImageNet's mean and variance (3-channel inputs; others
    /// are rescaled to `[-1, 1]`). Named `efficientnetv2-b0` unless `name` says otherwise; as in
    /// Keras the name picks the blocks, so it must be one of the seven variants' names.
    ///
    /// ```
    /// use keras::applications::{efficientnet_v2, ApplicationArgs, Pooling, Weights};
    ///
    /// let args = ApplicationArgs::new()
    ///     .weights(Weights::None)
    ///     .include_top(false)
    ///     .input_shape(&[32, 32, 3])
    ///     .pooling(Pooling::Avg);
    /// let model = efficientnet_v2::EfficientNetV2B0(&args)?;
    /// assert_eq!(model.name(), "efficientnetv2-b0");
    /// assert_eq!(model.output_shapes()[0], vec![None, Some(1280)]);
    /// assert_eq!(model.layers()[1].name(), "rescaling");
    /// # Ok::<(), keras::Error>(())
    /// ```
    EfficientNetV2B0 => efficientnet_v2("EfficientNetV2B0", &VARIANTS[0]);

    /// `keras.applications.EfficientNetV2B1`: B0 with 1.1x the depth (default input 240x240x3).
    /// Otherwise as [`EfficientNetV2B0`]; named `efficientnetv2-b1`.
    EfficientNetV2B1 => efficientnet_v2("EfficientNetV2B1", &VARIANTS[1]);

    /// `keras.applications.EfficientNetV2B2`: B0 with 1.1x the width and 1.2x the depth (default
    /// input 260x260x3). Otherwise as [`EfficientNetV2B0`]; named `efficientnetv2-b2`.
    EfficientNetV2B2 => efficientnet_v2("EfficientNetV2B2", &VARIANTS[2]);

    /// `keras.applications.EfficientNetV2B3`: B0 with 1.2x the width and 1.4x the depth (default
    /// input 300x300x3). Otherwise as [`EfficientNetV2B0`]; named `efficientnetv2-b3`.
    EfficientNetV2B3 => efficientnet_v2("EfficientNetV2B3", &VARIANTS[3]);

    /// `keras.applications.EfficientNetV2S` (default input 384x384x3). With
    /// `include_preprocessing` the model rescales pixels in `[0, 255]` to `[-1, 1]` (no ImageNet
    /// normalization). Otherwise as [`EfficientNetV2B0`]; named `efficientnetv2-s`.
    EfficientNetV2S => efficientnet_v2("EfficientNetV2S", &VARIANTS[4]);

    /// `keras.applications.EfficientNetV2M` (default input 480x480x3). Preprocessing as
    /// [`EfficientNetV2S`]; named `efficientnetv2-m`.
    EfficientNetV2M => efficientnet_v2("EfficientNetV2M", &VARIANTS[5]);

    /// `keras.applications.EfficientNetV2L` (default input 480x480x3). Preprocessing as
    /// [`EfficientNetV2S`]; named `efficientnetv2-l`.
    EfficientNetV2L => efficientnet_v2("EfficientNetV2L", &VARIANTS[6]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::applications::common::fixture::{assert_close, tensor};
    use crate::applications::Weights;
    use crate::Tensor;
    use serde_json::Value;

    #[test]
    fn rounding_is_kerass() {
        // round_filters: max(8, int(f * w + 4) // 8 * 8), without EfficientNet's 90% floor.
        assert_eq!(round_filters(32, 1.0), 32);
        assert_eq!(round_filters(16, 1.1), 16);
        assert_eq!(round_filters(1280, 1.2), 1536);
        assert_eq!(round_filters(12, 1.0), 16);
        assert_eq!(round_filters(4, 1.0), 8);
        assert_eq!(round_repeats(3, 1.4), 5);
        assert_eq!(round_repeats(8, 1.1), 9);
    }

    /// The fixture's `blocks_args` as stages.
    fn blocks(case: &Value) -> Vec<BlockArgs> {
        let n = |b: &Value, k: &str| b[k].as_u64().unwrap() as usize;
        case["blocks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| BlockArgs {
                kernel_size: n(b, "kernel_size"),
                num_repeat: n(b, "num_repeat"),
                input_filters: n(b, "input_filters"),
                output_filters: n(b, "output_filters"),
                expand_ratio: n(b, "expand_ratio"),
                se_ratio: b["se_ratio"].as_f64().unwrap(),
                strides: n(b, "strides"),
                fused: n(b, "conv_type") == 1,
            })
            .collect()
    }

    /// Keras's own `EfficientNetV2(blocks_args=...)` with small stages and random weights
    /// (tools/applications/gen_numerics_efficientnet_v2.py) predicts as this builder does with
    /// the same weights: both preprocessing paths (picked by the name), Fused-MBConv blocks with
    /// and without expansion, MBConv with squeeze-and-excitation, the residual Dropout and Add
    /// nodes, width rounding and the head.
    #[test]
    fn small_efficientnet_v2s_predict_as_keras() {
        let path =
            concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/applications/efficientnet_v2_small.json");
        let file: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let stages = blocks(&file);
        let dims: Vec<usize> =
            file["input_shape"].as_array().unwrap().iter().map(|d| d.as_u64().unwrap() as usize).collect();
        let cases = file["cases"].as_array().unwrap();
        assert_eq!(cases.len(), 2);
        for case in cases {
            let name = case["name"].as_str().unwrap();
            let variant = Variant {
                width_coefficient: case["width_coefficient"].as_f64().unwrap(),
                default_size: dims[0],
                ..VARIANTS[0]
            };
            let args = ApplicationArgs::new()
                .weights(Weights::None)
                .input_shape(&dims)
                .classes(file["classes"].as_u64().unwrap() as usize);
            crate::backend::clear_session();
            let mut model = build(&args, &variant, name, &stages).unwrap();
            let names: Vec<String> = model.layers().iter().map(|l| l.name().to_string()).collect();
            let want: Vec<String> = case["layer_names"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n.as_str().unwrap().to_string())
                .collect();
            assert_eq!(names, want, "{name}");
            let weights: Vec<Tensor> = case["weights"].as_array().unwrap().iter().map(tensor).collect();
            let ours: Vec<Vec<usize>> = model.get_weights().iter().map(|w| w.shape().to_vec()).collect();
            let theirs: Vec<Vec<usize>> = weights.iter().map(|w| w.shape().to_vec()).collect();
            assert_eq!(ours, theirs, "{name}: weight shapes in model.weights order");
            model.set_weights(&weights).unwrap();
            let x = tensor(&case["x"]);
            let y = model.predict_on_batch(std::slice::from_ref(&x)).unwrap();
            assert_close(&format!("{name} predictions"), &y[0], &tensor(&case["y"]));
            let top = model.get_layer("top_activation").unwrap().output().unwrap();
            let inner = crate::models::Model::new(&model.inputs().unwrap(), &[top]).unwrap();
            let feats = inner.predict_on_batch(std::slice::from_ref(&x)).unwrap();
            assert_close(&format!("{name} top_activation"), &feats[0], &tensor(&case["top_activation"]));

            // The config rebuilds the same model.
            let mut again = Functional::from_config(&model.get_config()).unwrap();
            again.set_weights(&weights).unwrap();
            let y2 = again.predict_on_batch(std::slice::from_ref(&x)).unwrap();
            assert_eq!(y2[0].to_f32_vec(), y[0].to_f32_vec(), "{name}");
        }
    }

    #[test]
    fn the_name_picks_the_blocks_and_other_names_are_refused() {
        let args = ApplicationArgs::new().weights(Weights::None).include_top(false).input_shape(&[32, 32, 3]);
        crate::backend::clear_session();
        let s_as_b0 = EfficientNetV2S(&args.clone().name("efficientnetv2-b0")).unwrap();
        crate::backend::clear_session();
        let b0 = EfficientNetV2B0(&args).unwrap();
        assert_eq!(s_as_b0.count_params(), b0.count_params());
        let e = EfficientNetV2B0(&args.clone().name("my_model")).unwrap_err().to_string();
        assert!(e.contains("KeyError: 'my_model'"), "{e}");
        assert!(e.contains("efficientnetv2-b0, efficientnetv2-b1"), "{e}");
        let e = weights_file("efficientnetv2-x", true).unwrap_err().to_string();
        assert!(e.contains("Received: efficientnetv2-x"), "{e}");
    }
}
