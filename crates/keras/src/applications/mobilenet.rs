//! `keras.applications.mobilenet`: MobileNet (Howard et al., 2017).
//!
//! [`MobileNet`] builds the model layer for layer as Keras does (the same names, shapes and
//! parameters); the module also holds the ImageNet weight files (every `alpha` and input size
//! Keras publishes), `preprocess_input` and `decode_predictions`.

use super::common::{named, warn, ApplicationArgs, Weights};
use super::imagenet_utils;
use super::weights::WeightsFile;
use crate::layers::{
    Activation, BatchNormalization, Conv2D, DepthwiseConv2D, Dropout, GlobalAveragePooling2D, ReLU, Reshape,
    ZeroPadding2D,
};
use crate::models::{Functional, KerasTensor, SymbolicCall};
use crate::utils::python_repr::{py_float, python_float_repr};
use crate::{keras_bail, Result};

/// Keras's `BASE_WEIGHT_PATH`.
pub const BASE_WEIGHT_PATH: &str = "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet/";
/// The widths with published weights.
pub const ALPHAS: [f32; 4] = [0.25, 0.50, 0.75, 1.0];
/// The input sizes with published weights.
pub const SIZES: [usize; 4] = [128, 160, 192, 224];

/// The ImageNet weights `MobileNet(alpha, input_shape=(rows, rows, 3), weights="imagenet")`
/// loads: `mobilenet_{alpha}_{rows}_tf[_no_top].h5`, with `alpha` written `1_0`, `7_5`, `5_0`
/// or `2_5`. Keras checks no hash for these files. Keras's builder falls back to `rows = 224`
/// (with a warning) for other or non-square sizes before it gets here; here any size without
/// published weights is an error, as is any other `alpha` (Keras's message).
pub fn weights_file(include_top: bool, alpha: f32, rows: usize) -> Result<WeightsFile> {
    let alpha_text = if alpha == 1.0 {
        "1_0"
    } else if alpha == 0.75 {
        "7_5"
    } else if alpha == 0.50 {
        "5_0"
    } else if alpha == 0.25 {
        "2_5"
    } else {
        keras_bail!(
            InvalidArgument,
            "If imagenet weights are being loaded, alpha can be one of`0.25`, `0.50`, `0.75` or `1.0` only.  \
             Received alpha={alpha}"
        );
    };
    if !SIZES.contains(&rows) {
        keras_bail!(
            InvalidArgument,
            "MobileNet ImageNet weights exist for input sizes 128, 160, 192 and 224 only (Keras loads the 224 \
             weights for other sizes). Received rows={rows}"
        );
    }
    let fname = if include_top {
        format!("mobilenet_{alpha_text}_{rows}_tf.h5")
    } else {
        format!("mobilenet_{alpha_text}_{rows}_tf_no_top.h5")
    };
    Ok(WeightsFile::under(BASE_WEIGHT_PATH, fname, None))
}

imagenet_utils::model_io_fns!("mobilenet", "tf", "scaled to `[-1, 1]`");

/// The warning Keras gives when ImageNet weights are asked for an input size without published
/// weights (the 224x224 weights are loaded instead).
pub const FALLBACK_WARNING: &str = "`input_shape` is undefined or non-square, or `rows` is not in [128, 160, \
                                    192, 224]. Weights for input shape (224, 224) will be loaded as the default.";

/// The input size whose ImageNet weights `MobileNet` loads for an input of `rows` x `cols`
/// (`None` when unknown): the size itself when it is square and published, else 224 with
/// [`FALLBACK_WARNING`] (returned, the builder prints it).
pub fn imagenet_rows(rows: Option<usize>, cols: Option<usize>) -> (usize, Option<&'static str>) {
    match rows {
        Some(r) if rows == cols && SIZES.contains(&r) => (r, None),
        _ => (224, Some(FALLBACK_WARNING)),
    }
}

/// Keras's `keras.applications.MobileNet`: the MobileNet architecture, optionally with ImageNet
/// weights.
///
/// Options: `alpha` (width multiplier, default 1.0), `depth_multiplier` (of the depthwise
/// convolutions, default 1) and `dropout` (before the classifier, default 0.001), besides the
/// common [`ApplicationArgs`]. The default input is 224x224 (or the given square size when
/// ImageNet weights exist for it), at least 32x32. The model is named `mobilenet_{alpha:.2}_{rows}`.
/// ImageNet weights need `alpha` in 0.25, 0.5, 0.75, 1.0 and `depth_multiplier` 1; inputs that
/// are not square or of a published size load the 224x224 weights with a warning.
///
/// ```
/// use keras::applications::{mobilenet, ApplicationArgs, Weights};
///
/// let args = ApplicationArgs::new().weights(Weights::None).alpha(0.25).input_shape(&[32, 32, 3]).classes(10);
/// let model = mobilenet::MobileNet(&args)?;
/// assert_eq!(model.name(), "mobilenet_0.25_32");
/// assert_eq!(model.output_shapes()[0], vec![None, Some(10)]);
/// # Ok::<(), keras::Error>(())
/// ```
#[allow(non_snake_case)]
pub fn MobileNet(args: &ApplicationArgs) -> Result<Functional> {
    args.check_options("MobileNet", &["alpha", "depth_multiplier", "dropout"])?;
    let alpha = args.alpha.unwrap_or(1.0);
    let depth_multiplier = args.depth_multiplier.unwrap_or(1);
    let dropout = args.dropout.unwrap_or(1e-3);
    if let Weights::File(p) = &args.weights {
        if !p.exists() {
            keras_bail!(
                InvalidArgument,
                "The `weights` argument should be either `None` (random initialization), 'imagenet' (pre-training \
                 on ImageNet), or the path to the weights file to be loaded. Received weights={}",
                p.display()
            );
        }
    }
    args.check_weights()?;
    let default_size = match args.input_shape.as_deref() {
        Some([Some(r), Some(c), ..]) if r == c && SIZES.contains(r) => *r,
        _ => 224,
    };
    let input_shape = args.obtain_input_shape(default_size, 32, args.include_top)?;
    let (mut rows, cols) = (input_shape[0], input_shape[1]);
    if args.weights == Weights::ImageNet {
        if depth_multiplier != 1 {
            keras_bail!(
                InvalidArgument,
                "If imagenet weights are being loaded, depth multiplier must be 1.  Received \
                 depth_multiplier={depth_multiplier}"
            );
        }
        if !ALPHAS.contains(&alpha) {
            keras_bail!(
                InvalidArgument,
                "If imagenet weights are being loaded, alpha can be one of`0.25`, `0.50`, `0.75` or `1.0` only.  \
                 Received alpha={}",
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
    let mut x = conv_block(&img_input, 32, alpha, [2, 2])?;
    let blocks: [(usize, usize); 13] = [
        (64, 1),
        (128, 2),
        (128, 1),
        (256, 2),
        (256, 1),
        (512, 2),
        (512, 1),
        (512, 1),
        (512, 1),
        (512, 1),
        (512, 1),
        (1024, 2),
        (1024, 1),
    ];
    for (i, (filters, stride)) in blocks.into_iter().enumerate() {
        x = depthwise_conv_block(&x, filters, alpha, depth_multiplier, stride, i + 1)?;
    }
    if args.include_top {
        let classes = args.classes;
        x = GlobalAveragePooling2D::new().keepdims(true).apply(&x)?;
        x = named("dropout", || Dropout::new(dropout)).apply(&x)?;
        x = named("conv_preds", || Conv2D::new(classes, [1, 1]).padding("same")).apply(&x)?;
        x = named("reshape_2", || Reshape::new(&[classes as i64])).apply(&x)?;
        let activation = args.classifier_activation.as_deref();
        let weights = args.weights.as_keras();
        imagenet_utils::validate_activation(activation, weights.as_deref())?;
        x = named("predictions", || Activation::new(activation.unwrap_or("linear"))).apply(&x)?;
    } else {
        x = args.pool(&x, None, None)?;
    }
    let rows_text = rows.map_or("None".to_string(), |r| r.to_string());
    let default_name = format!("mobilenet_{:.2}_{rows_text}", py_float(alpha));
    let weight_rows = rows.unwrap_or(224);
    args.finish(&img_input, &x, &default_name, || weights_file(args.include_top, alpha, weight_rows))
}

/// Python's `int(filters * alpha)`.
fn scaled(filters: usize, alpha: f32) -> usize {
    (filters as f64 * py_float(alpha)) as usize
}

/// The first convolution (`conv1`), its batch normalization and ReLU6.
fn conv_block(inputs: &KerasTensor, filters: usize, alpha: f32, strides: [usize; 2]) -> Result<KerasTensor> {
    let filters = scaled(filters, alpha);
    let x = named("conv1", || Conv2D::new(filters, [3, 3]).padding("same").use_bias(false).strides(strides))
        .apply(inputs)?;
    let x = named("conv1_bn", || BatchNormalization::new().axis(-1)).apply(&x)?;
    named("conv1_relu", || ReLU::new().max_value(6.0)).apply(&x)
}

/// Depthwise 3x3 (zero-padded first when strided), pointwise 1x1, each with batch
/// normalization and ReLU6: `conv_dw_{id}`, `conv_pw_{id}`.
fn depthwise_conv_block(
    inputs: &KerasTensor,
    pointwise_filters: usize,
    alpha: f32,
    depth_multiplier: usize,
    stride: usize,
    id: usize,
) -> Result<KerasTensor> {
    let filters = scaled(pointwise_filters, alpha);
    let x = if stride == 1 {
        inputs.clone()
    } else {
        named(&format!("conv_pad_{id}"), || ZeroPadding2D::new([[0, 1], [0, 1]])).apply(inputs)?
    };
    let x = named(&format!("conv_dw_{id}"), || {
        DepthwiseConv2D::new([3, 3])
            .padding(if stride == 1 { "same" } else { "valid" })
            .depth_multiplier(depth_multiplier)
            .strides([stride, stride])
            .use_bias(false)
    })
    .apply(&x)?;
    let x = named(&format!("conv_dw_{id}_bn"), || BatchNormalization::new().axis(-1)).apply(&x)?;
    let x = named(&format!("conv_dw_{id}_relu"), || ReLU::new().max_value(6.0)).apply(&x)?;
    let x = named(&format!("conv_pw_{id}"), || {
        Conv2D::new(filters, [1, 1]).padding("same").use_bias(false).strides([1, 1])
    })
    .apply(&x)?;
    let x = named(&format!("conv_pw_{id}_bn"), || BatchNormalization::new().axis(-1)).apply(&x)?;
    named(&format!("conv_pw_{id}_relu"), || ReLU::new().max_value(6.0)).apply(&x)
}
