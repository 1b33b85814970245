//! `keras.applications.mobilenet_v3`: MobileNetV3Small and MobileNetV3Large (Howard et al.,
//! 2019), with their minimalistic variants.
//!
//! [`MobileNetV3Small`] and [`MobileNetV3Large`] build the models layer for layer as Keras does
//! (the same names, shapes and parameters, and the same operation nodes for the hard sigmoid's
//! `x + 3` and `* 1/6`); the module also holds the ImageNet weight files, `preprocess_input` (a
//! pass-through: the models rescale their input themselves) and `decode_predictions`.

use super::common::{named, warn, ApplicationArgs, Weights};
use super::imagenet_utils::{self, correct_pad};
use super::mobilenet_v2::make_divisible;
use super::weights::WeightsFile;
use crate::layers::{
    Activation, Add, BatchNormalization, Conv2D, DepthwiseConv2D, Dropout, Flatten, GlobalAveragePooling2D,
    Multiply, ReLU, Rescaling, ZeroPadding2D,
};
use crate::models::{Functional, KerasTensor, SymbolicCall};
use crate::utils::python_repr::{py_float, py_shape};
use crate::{keras_bail, Result};

/// Keras's `BASE_WEIGHT_PATH`.
pub const BASE_WEIGHT_PATH: &str =
    "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v3/";

/// Keras's `WEIGHTS_HASHES`: `(model_name, hash with top, hash without top)`.
pub const WEIGHTS_HASHES: &[(&str, &str, &str)] = &[
    ("large_224_0.75_float", "765b44a33ad4005b3ac83185abf1d0eb", "40af19a13ebea4e2ee0c676887f69a2e"),
    ("large_224_1.0_float", "59e551e166be033d707958cf9e29a6a7", "07fb09a5933dd0c8eaafa16978110389"),
    (
        "large_minimalistic_224_1.0_float",
        "675e7b876c45c57e9e63e6d90a36599c",
        "ec5221f64a2f6d1ef965a614bdae7973",
    ),
    ("small_224_0.75_float", "cb65d4e5be93758266aa0a7f2c6708b7", "ebdb5cc8e0b497cd13a7c275d475c819"),
    ("small_224_1.0_float", "8768d4c2e7dee89b9d02b2d03d65d862", "d3e8ec802a04aa4fc771ee12a9a9b836"),
    (
        "small_minimalistic_224_1.0_float",
        "99cd97fb2fcdad2bf028eb838de69e37",
        "cde8136e733e811080d9fcd8a252f7e4",
    ),
];

/// The ImageNet weights of `MobileNetV3Small` (`model_type = "small"`) or `MobileNetV3Large`
/// (`"large"`): `weights_mobilenet_v3_{model_name}.h5` with the classifier,
/// `weights_mobilenet_v3_{model_name}_no_top_v2.h5` without, where `model_name` is
/// `{type}[_minimalistic]_224_{alpha}_float`. Published: `alpha` 0.75 or 1.0, and 1.0 only
/// for the minimalistic models (Keras's error otherwise). Keras loads these 224x224 weights
/// for any input size (with a warning when it is not 224).
pub fn weights_file(
    model_type: &str,
    include_top: bool,
    alpha: f32,
    minimalistic: bool,
) -> Result<WeightsFile> {
    if model_type != "small" && model_type != "large" {
        keras_bail!(InvalidArgument, "model_type must be \"small\" or \"large\". Received: {model_type}");
    }
    check_published_alpha(alpha, minimalistic)?;
    // Python's str(alpha).
    let alpha_text = if alpha == 0.75 { "0.75" } else { "1.0" };
    let model_name =
        format!("{model_type}{}_224_{alpha_text}_float", if minimalistic { "_minimalistic" } else { "" });
    let Some(&(_, top, notop)) = WEIGHTS_HASHES.iter().find(|(n, _, _)| *n == model_name) else {
        keras_bail!(InvalidArgument, "No ImageNet weights for MobileNetV3 `{model_name}`");
    };
    Ok(if include_top {
        WeightsFile::under(BASE_WEIGHT_PATH, format!("weights_mobilenet_v3_{model_name}.h5"), Some(top))
    } else {
        WeightsFile::under(
            BASE_WEIGHT_PATH,
            format!("weights_mobilenet_v3_{model_name}_no_top_v2.h5"),
            Some(notop),
        )
    })
}

imagenet_utils::model_io_fns!(@passthrough "mobilenet_v3", "rescales and normalizes");

/// The warning Keras gives when ImageNet weights are loaded for an input that is not 224x224
/// (the 224x224 weights are loaded anyway).
pub const FALLBACK_WARNING: &str = "`input_shape` is undefined or non-square, or `rows` is not 224. Weights \
                                    for input shape (224, 224) will be loaded as the default.";

/// The warning `weights="imagenet"` gives for an input of `rows` x `cols` (`None` when
/// unknown): [`FALLBACK_WARNING`] unless the input is 224x224.
pub fn imagenet_warning(rows: Option<usize>, cols: Option<usize>) -> Option<&'static str> {
    (rows != cols || rows != Some(224)).then_some(FALLBACK_WARNING)
}

/// The activation of MobileNetV3's blocks: `ReLU()` or `Activation("hard_swish")`, each call a
/// new (automatically named) layer as in Keras.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Act {
    Relu,
    HardSwish,
}

impl Act {
    fn apply(self, x: &KerasTensor) -> Result<KerasTensor> {
        match self {
            Act::Relu => ReLU::new().apply(x),
            Act::HardSwish => Activation::new("hard_swish").apply(x),
        }
    }
}

/// Keras's `hard_sigmoid`: `ReLU(6.0)(x + 3.0) * (1.0 / 6.0)`, with its two operation nodes.
fn hard_sigmoid(x: &KerasTensor) -> Result<KerasTensor> {
    let relu = ReLU::new().max_value(6.0);
    relu.apply(&x.add_scalar(3.0)?)?.multiply_scalar(1.0 / 6.0)
}

/// Keras's `_depth`: `_make_divisible` with divisor 8.
fn depth(v: f64) -> usize {
    make_divisible(v, 8)
}

/// `BatchNormalization(epsilon=1e-3, momentum=0.999)`.
fn batch_norm() -> BatchNormalization {
    BatchNormalization::new().axis(-1).epsilon(1e-3).momentum(0.999)
}

/// Keras's `_se_block`: squeeze and excitation with a hard-sigmoid gate.
fn se_block(inputs: &KerasTensor, filters: usize, se_ratio: f64, prefix: &str) -> Result<KerasTensor> {
    let x =
        named(&format!("{prefix}squeeze_excite_avg_pool"), || GlobalAveragePooling2D::new().keepdims(true))
            .apply(inputs)?;
    let x = named(&format!("{prefix}squeeze_excite_conv"), || {
        Conv2D::new(depth(filters as f64 * se_ratio), [1, 1]).padding("same")
    })
    .apply(&x)?;
    let x = named(&format!("{prefix}squeeze_excite_relu"), ReLU::new).apply(&x)?;
    let x = named(&format!("{prefix}squeeze_excite_conv_1"), || Conv2D::new(filters, [1, 1]).padding("same"))
        .apply(&x)?;
    let x = hard_sigmoid(&x)?;
    named(&format!("{prefix}squeeze_excite_mul"), Multiply::new).apply_list(&[inputs, &x])
}

/// One block of the stack: `(expansion, filters before alpha, kernel, stride, squeeze-excite,
/// uses the model's activation (else ReLU))`. `kernel` 0 means the model's kernel (5, or 3
/// when minimalistic).
type BlockSpec = (f64, usize, usize, usize, bool, bool);

const SMALL: [BlockSpec; 11] = [
    (1.0, 16, 3, 2, true, false),
    (72.0 / 16.0, 24, 3, 2, false, false),
    (88.0 / 24.0, 24, 3, 1, false, false),
    (4.0, 40, 0, 2, true, true),
    (6.0, 40, 0, 1, true, true),
    (6.0, 40, 0, 1, true, true),
    (3.0, 48, 0, 1, true, true),
    (3.0, 48, 0, 1, true, true),
    (6.0, 96, 0, 2, true, true),
    (6.0, 96, 0, 1, true, true),
    (6.0, 96, 0, 1, true, true),
];

const LARGE: [BlockSpec; 15] = [
    (1.0, 16, 3, 1, false, false),
    (4.0, 24, 3, 2, false, false),
    (3.0, 24, 3, 1, false, false),
    (3.0, 40, 0, 2, true, false),
    (3.0, 40, 0, 1, true, false),
    (3.0, 40, 0, 1, true, false),
    (6.0, 80, 3, 2, false, true),
    (2.5, 80, 3, 1, false, true),
    (2.3, 80, 3, 1, false, true),
    (2.3, 80, 3, 1, false, true),
    (6.0, 112, 3, 1, true, true),
    (6.0, 112, 3, 1, true, true),
    (6.0, 160, 0, 2, true, true),
    (6.0, 160, 0, 1, true, true),
    (6.0, 160, 0, 1, true, true),
];

/// Keras's `_inverted_res_block`.
#[allow(clippy::too_many_arguments)]
fn inverted_res_block(
    x: &KerasTensor,
    expansion: f64,
    filters: usize,
    kernel: usize,
    stride: usize,
    se_ratio: Option<f64>,
    activation: Act,
    block_id: usize,
) -> Result<KerasTensor> {
    let shortcut = x;
    let infilters = x.shape().last().copied().flatten().unwrap_or(0);
    let expanded = depth(infilters as f64 * expansion);
    let mut x = x.clone();
    let prefix = if block_id > 0 {
        let prefix = format!("expanded_conv_{block_id}_");
        x = named(&format!("{prefix}expand"), || {
            Conv2D::new(expanded, [1, 1]).padding("same").use_bias(false)
        })
        .apply(&x)?;
        x = named(&format!("{prefix}expand_bn"), batch_norm).apply(&x)?;
        x = activation.apply(&x)?;
        prefix
    } else {
        "expanded_conv_".to_string()
    };
    if stride == 2 {
        let pad = correct_pad([x.shape()[1], x.shape()[2]], [kernel, kernel]);
        x = named(&format!("{prefix}depthwise_pad"), || ZeroPadding2D::new(pad)).apply(&x)?;
    }
    x = named(&format!("{prefix}depthwise"), || {
        DepthwiseConv2D::new([kernel, kernel])
            .strides([stride, stride])
            .padding(if stride == 1 { "same" } else { "valid" })
            .use_bias(false)
    })
    .apply(&x)?;
    x = named(&format!("{prefix}depthwise_bn"), batch_norm).apply(&x)?;
    x = activation.apply(&x)?;
    if let Some(r) = se_ratio {
        x = se_block(&x, expanded, r, &prefix)?;
    }
    x = named(&format!("{prefix}project"), || Conv2D::new(filters, [1, 1]).padding("same").use_bias(false))
        .apply(&x)?;
    x = named(&format!("{prefix}project_bn"), batch_norm).apply(&x)?;
    if stride == 1 && infilters == filters {
        x = named(&format!("{prefix}add"), Add::new).apply_list(&[shortcut, &x])?;
    }
    Ok(x)
}

/// Keras's `MobileNetV3(stack_fn, last_point_ch, ...)`.
fn mobilenet_v3(
    args: &ApplicationArgs,
    model_type: &str,
    function: &str,
    blocks: &[BlockSpec],
    mut last_point_ch: usize,
) -> Result<Functional> {
    args.check_options(function, &["alpha", "minimalistic", "dropout_rate", "include_preprocessing"])?;
    let alpha = args.alpha.unwrap_or(1.0);
    let minimalistic = args.minimalistic.unwrap_or(false);
    let dropout_rate = args.dropout.unwrap_or(0.2);
    let include_preprocessing = args.include_preprocessing.unwrap_or(true);
    if let Weights::File(p) = &args.weights {
        if !p.exists() {
            keras_bail!(
                InvalidArgument,
                "The `weights` argument should be either `None` (random initialization), `imagenet` (pre-training \
                 on ImageNet), or the path to the weights file to be loaded.  Received weights={}",
                p.display()
            );
        }
    }
    if args.weights == Weights::ImageNet && args.include_top && args.classes != 1000 {
        keras_bail!(
            InvalidArgument,
            "If using `weights=\"imagenet\"` with `include_top` as true, `classes` should be 1000.  Received \
             classes={}",
            args.classes
        );
    }
    let input_shape: Vec<Option<usize>> = match (&args.input_shape, &args.input_tensor) {
        (Some(shape), Some(t)) => {
            if t.shape().get(2) != shape.get(1) {
                keras_bail!(
                    InvalidArgument,
                    "input_shape[1] must equal input_tensor.shape[2].  Received input_shape={}, \
                     input_tensor.shape={}",
                    py_shape(shape),
                    py_shape(t.shape())
                );
            }
            shape.clone()
        }
        // Keras takes (cols, rows, 3) from the tensor.
        (None, Some(t)) => {
            vec![t.shape().get(2).copied().flatten(), t.shape().get(1).copied().flatten(), Some(3)]
        }
        (Some(shape), None) => shape.clone(),
        (None, None) => vec![None, None, Some(3)],
    };
    let (rows, cols) = (input_shape.first().copied().flatten(), input_shape.get(1).copied().flatten());
    if let (Some(r), Some(c)) = (rows, cols) {
        if r < 32 || c < 32 {
            keras_bail!(
                InvalidArgument,
                "Input size must be at least 32x32; Received `input_shape={}`",
                py_shape(&input_shape)
            );
        }
    }
    if args.weights == Weights::ImageNet {
        check_published_alpha(alpha, minimalistic)?;
        if let Some(w) = imagenet_warning(rows, cols) {
            warn(w);
        }
    }
    let img_input = args.image_input(&input_shape);
    let (kernel, activation, se_ratio) =
        if minimalistic { (3, Act::Relu, None) } else { (5, Act::HardSwish, Some(0.25)) };
    let mut x = img_input.clone();
    if include_preprocessing {
        x = Rescaling::new(1.0 / 127.5).offset(-1.0).apply(&x)?;
    }
    x = named("conv", || Conv2D::new(16, [3, 3]).strides([2, 2]).padding("same").use_bias(false))
        .apply(&x)?;
    x = named("conv_bn", batch_norm).apply(&x)?;
    x = activation.apply(&x)?;
    let a = py_float(alpha);
    for (id, &(expansion, filters, k, stride, se, own_activation)) in blocks.iter().enumerate() {
        let k = if k == 0 { kernel } else { k };
        let act = if own_activation { activation } else { Act::Relu };
        x = inverted_res_block(
            &x,
            expansion,
            depth(filters as f64 * a),
            k,
            stride,
            se_ratio.filter(|_| se),
            act,
            id,
        )?;
    }
    let channels = x.shape().last().copied().flatten().unwrap_or(0);
    let last_conv_ch = depth((channels * 6) as f64);
    if a > 1.0 {
        last_point_ch = depth(last_point_ch as f64 * a);
    }
    x = named("conv_1", || Conv2D::new(last_conv_ch, [1, 1]).padding("same").use_bias(false)).apply(&x)?;
    x = named("conv_1_bn", batch_norm).apply(&x)?;
    x = activation.apply(&x)?;
    if args.include_top {
        x = GlobalAveragePooling2D::new().keepdims(true).apply(&x)?;
        x = named("conv_2", || Conv2D::new(last_point_ch, [1, 1]).padding("same").use_bias(true))
            .apply(&x)?;
        x = activation.apply(&x)?;
        if dropout_rate > 0.0 {
            x = Dropout::new(dropout_rate).apply(&x)?;
        }
        x = named("logits", || Conv2D::new(args.classes, [1, 1]).padding("same")).apply(&x)?;
        x = Flatten::new().apply(&x)?;
        let weights = args.weights.as_keras();
        let classifier = args.classifier_activation.as_deref();
        imagenet_utils::validate_activation(classifier, weights.as_deref())?;
        x = named("predictions", || Activation::new(classifier.unwrap_or("linear"))).apply(&x)?;
    } else {
        x = args.pool(&x, Some("avg_pool"), Some("max_pool"))?;
    }
    args.finish(&img_input, &x, function, || weights_file(model_type, args.include_top, alpha, minimalistic))
}

/// Keras's `keras.applications.MobileNetV3Small`, optionally with ImageNet weights.
///
/// Options: `alpha` (width multiplier, default 1.0), `minimalistic` (3x3 kernels, ReLU, no
/// squeeze-and-excitation; default false), `dropout` (Keras's `dropout_rate`, default 0.2) and
/// `include_preprocessing` (a `Rescaling` to `[-1, 1]` first, default true: the model takes
/// pixels in `[0, 255]`), besides the common [`ApplicationArgs`]. Any input of at least 32x32
/// (unknown sizes allowed, even with the classifier). The model is named `MobileNetV3Small`.
/// ImageNet weights exist for `alpha` 0.75 and 1.0 (1.0 only when minimalistic), trained at
/// 224x224 (other sizes load them with a warning).
///
/// ```
/// use keras::applications::{mobilenet_v3, ApplicationArgs, Weights};
///
/// let args = ApplicationArgs::new().weights(Weights::None).input_shape(&[32, 32, 3]).classes(10);
/// let model = mobilenet_v3::MobileNetV3Small(&args)?;
/// assert_eq!(model.name(), "MobileNetV3Small");
/// assert_eq!(model.output_shapes()[0], vec![None, Some(10)]);
/// # Ok::<(), keras::Error>(())
/// ```
#[allow(non_snake_case)]
pub fn MobileNetV3Small(args: &ApplicationArgs) -> Result<Functional> {
    mobilenet_v3(args, "small", "MobileNetV3Small", &SMALL, 1024)
}

/// Keras's `keras.applications.MobileNetV3Large`, optionally with ImageNet weights.
///
/// The options and rules are [`MobileNetV3Small`]'s. The model is named `MobileNetV3Large`.
///
/// ```
/// use keras::applications::{mobilenet_v3, ApplicationArgs, Pooling, Weights};
///
/// let args = ApplicationArgs::new()
///     .weights(Weights::None)
///     .include_top(false)
///     .minimalistic(true)
///     .pooling(Pooling::Avg);
/// let model = mobilenet_v3::MobileNetV3Large(&args)?;
/// assert_eq!(model.output_shapes()[0], vec![None, Some(960)]);
/// # Ok::<(), keras::Error>(())
/// ```
#[allow(non_snake_case)]
pub fn MobileNetV3Large(args: &ApplicationArgs) -> Result<Functional> {
    mobilenet_v3(args, "large", "MobileNetV3Large", &LARGE, 1280)
}

/// Keras's check that ImageNet weights exist for `alpha`: 0.75 or 1.0, only 1.0 when
/// `minimalistic`.
fn check_published_alpha(alpha: f32, minimalistic: bool) -> Result<()> {
    let published = if minimalistic { alpha == 1.0 } else { alpha == 0.75 || alpha == 1.0 };
    if !published {
        keras_bail!(
            InvalidArgument,
            "If imagenet weights are being loaded, alpha can be one of `0.75`, `1.0` for non minimalistic or \
             `1.0` for minimalistic only."
        );
    }
    Ok(())
}
