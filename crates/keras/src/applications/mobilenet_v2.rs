//! `keras.applications.mobilenet_v2`: MobileNetV2 (Sandler et al., 2018).
//!
//! [`MobileNetV2`] builds the model layer for layer as Keras does (the same names, shapes and
//! parameters); the module also holds the ImageNet weight files (every `alpha` and input size
//! Keras publishes), `preprocess_input` and `decode_predictions`.

use super::common::{named, warn, ApplicationArgs, Weights};
use super::imagenet_utils::{self, correct_pad};
use super::weights::WeightsFile;
use crate::layers::{
    Add, BatchNormalization, Conv2D, Dense, DepthwiseConv2D, GlobalAveragePooling2D, ReLU, ZeroPadding2D,
};
use crate::models::{Functional, KerasTensor, SymbolicCall};
use crate::utils::python_repr::{py_float, py_shape, python_float_repr};
use crate::{keras_bail, Result};

/// Keras's `BASE_WEIGHT_PATH`.
pub const BASE_WEIGHT_PATH: &str =
    "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v2/";
/// The widths with published weights.
pub const ALPHAS: [f32; 6] = [0.35, 0.50, 0.75, 1.0, 1.3, 1.4];
/// The input sizes with published weights.
pub const SIZES: [usize; 5] = [96, 128, 160, 192, 224];

/// Python's `str(float(alpha))` for the published widths (`0.35`, `0.5`, `1.0`, `1.3`).
fn alpha_text(alpha: f32) -> Option<&'static str> {
    const TEXT: [&str; 6] = ["0.35", "0.5", "0.75", "1.0", "1.3", "1.4"];
    ALPHAS.iter().position(|&a| a == alpha).map(|i| TEXT[i])
}

/// The ImageNet weights `MobileNetV2(alpha, input_shape=(rows, rows, 3), weights="imagenet")`
/// loads: `mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{alpha}_{rows}[_no_top].h5`.
/// Keras checks no hash for these files. Keras's builder falls back to `rows = 224` (with a
/// warning) for other or non-square sizes before it gets here; here any size without
/// published weights is an error, as is any other `alpha` (Keras's message).
pub fn weights_file(include_top: bool, alpha: f32, rows: usize) -> Result<WeightsFile> {
    let Some(a) = alpha_text(alpha) else {
        keras_bail!(
            InvalidArgument,
            "If imagenet weights are being loaded, alpha must be one of `0.35`, `0.50`, `0.75`, `1.0`, `1.3` or \
             `1.4` only; Received `alpha={alpha}`"
        );
    };
    if !SIZES.contains(&rows) {
        keras_bail!(
            InvalidArgument,
            "MobileNetV2 ImageNet weights exist for input sizes 96, 128, 160, 192 and 224 only (Keras loads the \
             224 weights for other sizes). Received rows={rows}"
        );
    }
    let fname = if include_top {
        format!("mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{a}_{rows}.h5")
    } else {
        format!("mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{a}_{rows}_no_top.h5")
    };
    Ok(WeightsFile::under(BASE_WEIGHT_PATH, fname, None))
}

imagenet_utils::model_io_fns!("mobilenet_v2", "tf", "scaled to `[-1, 1]`");

/// The warning Keras gives when ImageNet weights are asked for an input size without published
/// weights (the 224x224 weights are loaded instead).
pub const FALLBACK_WARNING: &str = "`input_shape` is undefined or non-square, or `rows` is not in [96, 128, \
                                    160, 192, 224]. Weights for input shape (224, 224) will be loaded as the \
                                    default.";

/// The input size whose ImageNet weights `MobileNetV2` loads for an input of `rows` x `cols`
/// (`None` when unknown): the size itself when it is square and published, else 224 with
/// [`FALLBACK_WARNING`] (returned, the builder prints it).
pub fn imagenet_rows(rows: Option<usize>, cols: Option<usize>) -> (usize, Option<&'static str>) {
    match rows {
        Some(r) if rows == cols && SIZES.contains(&r) => (r, None),
        _ => (224, Some(FALLBACK_WARNING)),
    }
}

/// Keras's `keras.applications.MobileNetV2`: the MobileNetV2 architecture (inverted residual
/// blocks), optionally with ImageNet weights.
///
/// Option: `alpha` (width multiplier, default 1.0), besides the common [`ApplicationArgs`].
/// The default input is 224x224 (or the given square size, or `input_tensor`'s, when ImageNet
/// weights exist for it), at least 32x32. The model is named `mobilenetv2_{alpha:.2}_{rows}`.
/// ImageNet weights need `alpha` in 0.35, 0.5, 0.75, 1.0, 1.3, 1.4; inputs that are not
/// square or of a published size load the 224x224 weights with a warning.
///
/// ```
/// use keras::applications::{mobilenet_v2, ApplicationArgs, Pooling, Weights};
///
/// let args = ApplicationArgs::new()
///     .weights(Weights::None)
///     .include_top(false)
///     .alpha(0.35)
///     .input_shape(&[32, 32, 3])
///     .pooling(Pooling::Avg);
/// let model = mobilenet_v2::MobileNetV2(&args)?;
/// assert_eq!(model.name(), "mobilenetv2_0.35_32");
/// assert_eq!(model.output_shapes()[0], vec![None, Some(1280)]);
/// # Ok::<(), keras::Error>(())
/// ```
#[allow(non_snake_case)]
pub fn MobileNetV2(args: &ApplicationArgs) -> Result<Functional> {
    args.check_options("MobileNetV2", &["alpha"])?;
    let alpha = args.alpha.unwrap_or(1.0);
    if let Weights::File(p) = &args.weights {
        if !p.exists() {
            keras_bail!(
                InvalidArgument,
                "The `weights` argument should be either `None` (random initialization), `imagenet` (pre-training \
                 on ImageNet), or the path to the weights file to be loaded.  Received `weights={}`",
                p.display()
            );
        }
    }
    if args.weights == Weights::ImageNet && args.include_top && args.classes != 1000 {
        keras_bail!(
            InvalidArgument,
            "If using `weights=\"imagenet\"` with `include_top` as true, `classes` should be 1000. Received \
             `classes={}`",
            args.classes
        );
    }
    let published = |r: Option<usize>, c: Option<usize>| match r {
        Some(r) if Some(r) == c && SIZES.contains(&r) => r,
        _ => 224,
    };
    let default_size = match (&args.input_shape, &args.input_tensor) {
        (Some(shape), Some(t)) => {
            if t.shape().get(2) != shape.get(1) {
                keras_bail!(
                    InvalidArgument,
                    "input_tensor.shape[2] must equal input_shape[1]; Received `input_tensor.shape={}`, \
                     `input_shape={}`",
                    py_shape(t.shape()),
                    py_shape(shape)
                );
            }
            published(shape.first().copied().flatten(), shape.get(1).copied().flatten())
        }
        (None, Some(t)) => {
            published(t.shape().get(1).copied().flatten(), t.shape().get(2).copied().flatten())
        }
        (Some(shape), None) => published(shape.first().copied().flatten(), shape.get(1).copied().flatten()),
        (None, None) => 224,
    };
    let input_shape = args.obtain_input_shape(default_size, 32, args.include_top)?;
    let (mut rows, cols) = (input_shape[0], input_shape[1]);
    if args.weights == Weights::ImageNet {
        if !ALPHAS.contains(&alpha) {
            keras_bail!(
                InvalidArgument,
                "If imagenet weights are being loaded, alpha must be one of `0.35`, `0.50`, `0.75`, `1.0`, `1.3` \
                 or `1.4` only; Received `alpha={}`",
                python_float_repr(py_float(alpha))
            );
        }
        let (r, warning) = imagenet_rows(rows, cols);
        if let Some(w) = warning {
            warn(w);
        }
        rows = Some(r);
    }
    let img_input = args.image_input(&input_shape);
    let a = py_float(alpha);
    let first_block_filters = make_divisible(32.0 * a, 8);
    let mut x = named("Conv1", || {
        Conv2D::new(first_block_filters, [3, 3]).strides([2, 2]).padding("same").use_bias(false)
    })
    .apply(&img_input)?;
    x = named("bn_Conv1", batch_norm).apply(&x)?;
    x = named("Conv1_relu", relu6).apply(&x)?;
    // (filters, stride, expansion) of blocks 0 to 16.
    const BLOCKS: [(usize, usize, usize); 17] = [
        (16, 1, 1),
        (24, 2, 6),
        (24, 1, 6),
        (32, 2, 6),
        (32, 1, 6),
        (32, 1, 6),
        (64, 2, 6),
        (64, 1, 6),
        (64, 1, 6),
        (64, 1, 6),
        (96, 1, 6),
        (96, 1, 6),
        (96, 1, 6),
        (160, 2, 6),
        (160, 1, 6),
        (160, 1, 6),
        (320, 1, 6),
    ];
    for (id, (filters, stride, expansion)) in BLOCKS.into_iter().enumerate() {
        x = inverted_res_block(&x, expansion, stride, a, filters, id)?;
    }
    let last_block_filters = if a > 1.0 { make_divisible(1280.0 * a, 8) } else { 1280 };
    x = named("Conv_1", || Conv2D::new(last_block_filters, [1, 1]).use_bias(false)).apply(&x)?;
    x = named("Conv_1_bn", batch_norm).apply(&x)?;
    x = named("out_relu", relu6).apply(&x)?;
    if args.include_top {
        x = GlobalAveragePooling2D::new().apply(&x)?;
        let weights = args.weights.as_keras();
        let activation = args.classifier_activation.as_deref();
        imagenet_utils::validate_activation(activation, weights.as_deref())?;
        x = named("predictions", || Dense::new(args.classes).activation(activation.unwrap_or("linear")))
            .apply(&x)?;
    } else {
        x = args.pool(&x, None, None)?;
    }
    let rows_text = rows.map_or("None".to_string(), |r| r.to_string());
    let default_name = format!("mobilenetv2_{a:.2}_{rows_text}");
    let weight_rows = rows.unwrap_or(224);
    args.finish(&img_input, &x, &default_name, || weights_file(args.include_top, alpha, weight_rows))
}

/// `BatchNormalization(epsilon=1e-3, momentum=0.999)`, as every MobileNetV2 block has.
fn batch_norm() -> BatchNormalization {
    BatchNormalization::new().axis(-1).epsilon(1e-3).momentum(0.999)
}

fn relu6() -> ReLU {
    ReLU::new().max_value(6.0)
}

/// Keras's `_make_divisible`: `v` rounded to the nearest multiple of `divisor` (at least
/// `divisor`), going up when rounding down would lose more than 10%.
pub(crate) fn make_divisible(v: f64, divisor: usize) -> usize {
    let d = divisor as f64;
    let mut new_v = divisor.max(((v + d / 2.0) as usize) / divisor * divisor);
    if (new_v as f64) < 0.9 * v {
        new_v += divisor;
    }
    new_v
}

/// The inverted residual block `block_{id}_` (`expanded_conv_` for block 0): 1x1 expansion
/// (blocks after the first), 3x3 depthwise (zero-padded when strided), 1x1 linear projection,
/// and the residual `Add` when the shapes allow it.
fn inverted_res_block(
    inputs: &KerasTensor,
    expansion: usize,
    stride: usize,
    alpha: f64,
    filters: usize,
    block_id: usize,
) -> Result<KerasTensor> {
    let in_channels = inputs.shape().last().copied().flatten().unwrap_or(0);
    let pointwise_conv_filters = (filters as f64 * alpha) as usize;
    let pointwise_filters = make_divisible(pointwise_conv_filters as f64, 8);
    let mut x = inputs.clone();
    let prefix = if block_id > 0 {
        let prefix = format!("block_{block_id}_");
        x = named(&format!("{prefix}expand"), || {
            Conv2D::new(expansion * in_channels, [1, 1]).padding("same").use_bias(false)
        })
        .apply(&x)?;
        x = named(&format!("{prefix}expand_BN"), batch_norm).apply(&x)?;
        x = named(&format!("{prefix}expand_relu"), relu6).apply(&x)?;
        prefix
    } else {
        "expanded_conv_".to_string()
    };
    if stride == 2 {
        let pad = correct_pad([x.shape()[1], x.shape()[2]], [3, 3]);
        x = named(&format!("{prefix}pad"), || ZeroPadding2D::new(pad)).apply(&x)?;
    }
    x = named(&format!("{prefix}depthwise"), || {
        DepthwiseConv2D::new([3, 3]).strides([stride, stride]).use_bias(false).padding(if stride == 1 {
            "same"
        } else {
            "valid"
        })
    })
    .apply(&x)?;
    x = named(&format!("{prefix}depthwise_BN"), batch_norm).apply(&x)?;
    x = named(&format!("{prefix}depthwise_relu"), relu6).apply(&x)?;
    x = named(&format!("{prefix}project"), || {
        Conv2D::new(pointwise_filters, [1, 1]).padding("same").use_bias(false)
    })
    .apply(&x)?;
    x = named(&format!("{prefix}project_BN"), batch_norm).apply(&x)?;
    if in_channels == pointwise_filters && stride == 1 {
        return named(&format!("{prefix}add"), Add::new).apply_list(&[inputs, &x]);
    }
    Ok(x)
}
