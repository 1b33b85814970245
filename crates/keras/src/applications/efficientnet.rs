//! `keras.applications.efficientnet`: EfficientNetB0 to EfficientNetB7 (Tan & Le, 2019).
//!
//! [`EfficientNetB0`] to [`EfficientNetB7`] build the models layer for layer as Keras does (the
//! same names, shapes and parameters); the module also holds the ImageNet weight files,
//! `preprocess_input` (a pass-through: the models rescale and normalize their input themselves)
//! and `decode_predictions`.

use serde_json::json;

use super::common::{named, ApplicationArgs, Weights};
use super::imagenet_utils::{self, correct_pad};
use super::weights::WeightsFile;
use crate::initializers::Initializer;
use crate::layers::{
    Activation, Add, BatchNormalization, Conv2D, Dense, DepthwiseConv2D, Dropout, GlobalAveragePooling2D,
    Multiply, Normalization, Rescaling, Reshape, ZeroPadding2D,
};
use crate::models::{Functional, KerasTensor, SymbolicCall};
use crate::{keras_bail, Result};

/// Keras's `BASE_WEIGHTS_PATH`.
pub const BASE_WEIGHTS_PATH: &str = "https://storage.googleapis.com/keras-applications/";

/// Keras's `WEIGHTS_HASHES`: `(weights_name, hash with top, hash without top)`.
pub const WEIGHTS_HASHES: &[(&str, &str, &str)] = &[
    ("b0", "902e53a9f72be733fc0bcb005b3ebbac", "50bc09e76180e00e4465e1a485ddc09d"),
    ("b1", "1d254153d4ab51201f1646940f018540", "74c4e6b3e1f6a1eea24c589628592432"),
    ("b2", "b15cce36ff4dcbd00b6dd88e7857a6ad", "111f8e2ac8aa800a7a99e3239f7bfb39"),
    ("b3", "ffd1fdc53d0ce67064dc6a9c7960ede0", "af6d107764bb5b1abb91932881670226"),
    ("b4", "18c95ad55216b8f92d7e70b3a046e2fc", "ebc24e6d6c33eaebbd558eafbeedf1ba"),
    ("b5", "ace28f2a6363774853a83a0b21b9421a", "38879255a25d3c92d5e44e04ae6cec6f"),
    ("b6", "165f6e37dce68623721b423839de8be5", "9ecce42647a20130c1f39a5d4cb75743"),
    ("b7", "8c03f828fec3ef71311cd463b6759d99", "cbcfe4450ddf6f3ad90b1b398090fe4a"),
];

/// The ImageNet weights of `EfficientNetB{variant}` (0 to 7): `efficientnetb{variant}.h5`, or
/// `efficientnetb{variant}_notop.h5`. (Keras names the file after the model's `name`, so a model
/// built with another `name` asks for another file; the builders should keep the default.)
pub fn weights_file(variant: usize, include_top: bool) -> Result<WeightsFile> {
    let Some(&(_, top, notop)) = WEIGHTS_HASHES.get(variant) else {
        keras_bail!(InvalidArgument, "EfficientNet variants are B0 to B7. Received: B{variant}");
    };
    let name = format!("efficientnetb{variant}");
    Ok(WeightsFile::named_under(BASE_WEIGHTS_PATH, &name, include_top, [top, notop]))
}

imagenet_utils::model_io_fns!(@passthrough "efficientnet", "rescales and normalizes");

/// One stage of EfficientNet's baseline network (Keras's `DEFAULT_BLOCKS_ARGS`).
#[derive(Clone, Copy, Debug)]
struct BlockArgs {
    kernel_size: usize,
    repeats: usize,
    filters_in: usize,
    filters_out: usize,
    expand_ratio: usize,
    strides: usize,
}

/// Keras's `DEFAULT_BLOCKS_ARGS` (every stage has `id_skip=True` and `se_ratio=0.25`).
const DEFAULT_BLOCKS_ARGS: [BlockArgs; 7] = [
    BlockArgs { kernel_size: 3, repeats: 1, filters_in: 32, filters_out: 16, expand_ratio: 1, strides: 1 },
    BlockArgs { kernel_size: 3, repeats: 2, filters_in: 16, filters_out: 24, expand_ratio: 6, strides: 2 },
    BlockArgs { kernel_size: 5, repeats: 2, filters_in: 24, filters_out: 40, expand_ratio: 6, strides: 2 },
    BlockArgs { kernel_size: 3, repeats: 3, filters_in: 40, filters_out: 80, expand_ratio: 6, strides: 2 },
    BlockArgs { kernel_size: 5, repeats: 3, filters_in: 80, filters_out: 112, expand_ratio: 6, strides: 1 },
    BlockArgs { kernel_size: 5, repeats: 4, filters_in: 112, filters_out: 192, expand_ratio: 6, strides: 2 },
    BlockArgs { kernel_size: 3, repeats: 1, filters_in: 192, filters_out: 320, expand_ratio: 6, strides: 1 },
];

const SE_RATIO: f64 = 0.25;

/// ImageNet's RGB standard deviations (`IMAGENET_STDDEV_RGB`).
const IMAGENET_STDDEV_RGB: [f64; 3] = [0.229, 0.224, 0.225];

/// `(width_coefficient, depth_coefficient, default_size, dropout_rate)` of B0 to B7.
const VARIANTS: [(f64, f64, usize, f64); 8] = [
    (1.0, 1.0, 224, 0.2),
    (1.0, 1.1, 240, 0.2),
    (1.1, 1.2, 260, 0.3),
    (1.2, 1.4, 300, 0.3),
    (1.4, 1.8, 380, 0.4),
    (1.6, 2.2, 456, 0.4),
    (1.8, 2.6, 528, 0.5),
    (2.0, 3.1, 600, 0.5),
];

/// Keras's `CONV_KERNEL_INITIALIZER` (EfficientNet and EfficientNetV2).
pub(crate) fn conv_kernel_initializer() -> Initializer {
    Initializer::from_config(&json!({
        "class_name": "VarianceScaling",
        "config": {"scale": 2.0, "mode": "fan_out", "distribution": "truncated_normal"}
    }))
    .unwrap_or_else(|_| Initializer::he_normal())
}

/// Keras's `DENSE_KERNEL_INITIALIZER` (EfficientNet and EfficientNetV2).
pub(crate) fn dense_kernel_initializer() -> Initializer {
    Initializer::from_config(&json!({
        "class_name": "VarianceScaling",
        "config": {"scale": 1.0 / 3.0, "mode": "fan_out", "distribution": "uniform"}
    }))
    .unwrap_or_else(|_| Initializer::glorot_uniform())
}

/// Keras's `EfficientNet(width_coefficient, depth_coefficient, default_size, dropout_rate,
/// drop_connect_rate=0.2, depth_divisor=8, activation="swish", name=..., weights_name=...)`
/// with the default blocks: what every `EfficientNetB*` function calls.
fn efficientnet(args: &ApplicationArgs, variant: usize, function: &str) -> Result<Functional> {
    args.check_options(function, &[])?;
    let (width_coefficient, depth_coefficient, default_size, dropout_rate) = VARIANTS[variant];
    let drop_connect_rate = 0.2;
    let depth_divisor = 8;
    let activation = "swish";
    if let Weights::File(p) = &args.weights {
        if !p.exists() {
            keras_bail!(
                InvalidArgument,
                "The `weights` argument should be either `None` (random initialization), `imagenet` (pre-training \
                 on ImageNet), or the path to the weights file to be loaded."
            );
        }
    }
    if args.weights == Weights::ImageNet && args.include_top && args.classes != 1000 {
        keras_bail!(
            InvalidArgument,
            "If using `weights=\"imagenet\"` with `include_top` as true, `classes` should be 1000"
        );
    }
    let input_shape = args.obtain_input_shape(default_size, 32, args.include_top)?;
    let img_input = args.image_input(&input_shape);

    let round_filters = |filters: usize| -> usize {
        let filters = filters as f64 * width_coefficient;
        let d = depth_divisor as f64;
        let mut new_filters =
            depth_divisor.max(((filters + d / 2.0) as usize) / depth_divisor * depth_divisor);
        if (new_filters as f64) < 0.9 * filters {
            new_filters += depth_divisor;
        }
        new_filters
    };
    let round_repeats = |repeats: usize| (depth_coefficient * repeats as f64).ceil() as usize;

    let mut x = Rescaling::new(1.0 / 255.0).apply(&img_input)?;
    x = Normalization::new().axis(&[3]).apply(&x)?;
    if args.weights == Weights::ImageNet {
        let scale: Vec<f64> = IMAGENET_STDDEV_RGB.iter().map(|s| 1.0 / s.sqrt()).collect();
        x = Rescaling::per_channel(&scale).apply(&x)?;
    }
    let pad = correct_pad([x.shape()[1], x.shape()[2]], [3, 3]);
    x = named("stem_conv_pad", || ZeroPadding2D::new(pad)).apply(&x)?;
    x = named("stem_conv", || {
        Conv2D::new(round_filters(32), [3, 3])
            .strides([2, 2])
            .padding("valid")
            .use_bias(false)
            .kernel_initializer(conv_kernel_initializer())
    })
    .apply(&x)?;
    x = named("stem_bn", || BatchNormalization::new().axis(3)).apply(&x)?;
    x = named("stem_activation", || Activation::new(activation)).apply(&x)?;

    let blocks: f64 = DEFAULT_BLOCKS_ARGS.iter().map(|a| round_repeats(a.repeats) as f64).sum();
    let mut b = 0usize;
    for (i, stage) in DEFAULT_BLOCKS_ARGS.iter().enumerate() {
        let mut a = *stage;
        a.filters_in = round_filters(a.filters_in);
        a.filters_out = round_filters(a.filters_out);
        for j in 0..round_repeats(a.repeats) {
            if j > 0 {
                a.strides = 1;
                a.filters_in = a.filters_out;
            }
            let name = format!("block{}{}_", i + 1, char::from(b'a' + j as u8));
            x = block(&x, activation, drop_connect_rate * b as f64 / blocks, &name, &a)?;
            b += 1;
        }
    }
    x = named("top_conv", || {
        Conv2D::new(round_filters(1280), [1, 1])
            .padding("same")
            .use_bias(false)
            .kernel_initializer(conv_kernel_initializer())
    })
    .apply(&x)?;
    x = named("top_bn", || BatchNormalization::new().axis(3)).apply(&x)?;
    x = named("top_activation", || Activation::new(activation)).apply(&x)?;
    if args.include_top {
        x = named("avg_pool", GlobalAveragePooling2D::new).apply(&x)?;
        if dropout_rate > 0.0 {
            x = named("top_dropout", || Dropout::new(dropout_rate as f32)).apply(&x)?;
        }
        let weights = args.weights.as_keras();
        let classifier = args.classifier_activation.as_deref();
        imagenet_utils::validate_activation(classifier, weights.as_deref())?;
        x = named("predictions", || {
            Dense::new(args.classes)
                .activation(classifier.unwrap_or("linear"))
                .kernel_initializer(dense_kernel_initializer())
        })
        .apply(&x)?;
    } else {
        x = args.pool(&x, Some("avg_pool"), Some("max_pool"))?;
    }
    let default_name = format!("efficientnetb{variant}");
    let name = args.name.clone().unwrap_or_else(|| default_name.clone());
    args.finish(&img_input, &x, &default_name, || {
        // Keras names the file after the model (`name + ".h5"`), with the variant's hash.
        let (_, top, notop) = WEIGHTS_HASHES[variant];
        Ok(WeightsFile::named_under(BASE_WEIGHTS_PATH, &name, args.include_top, [top, notop]))
    })
}

/// Keras's `block`: an inverted residual block with squeeze-and-excitation, named `name`
/// (`block2a_`).
fn block(
    inputs: &KerasTensor,
    activation: &str,
    drop_rate: f64,
    name: &str,
    a: &BlockArgs,
) -> Result<KerasTensor> {
    let filters = a.filters_in * a.expand_ratio;
    let mut x = if a.expand_ratio != 1 {
        let x = named(&format!("{name}expand_conv"), || {
            Conv2D::new(filters, [1, 1])
                .padding("same")
                .use_bias(false)
                .kernel_initializer(conv_kernel_initializer())
        })
        .apply(inputs)?;
        let x = named(&format!("{name}expand_bn"), || BatchNormalization::new().axis(3)).apply(&x)?;
        named(&format!("{name}expand_activation"), || Activation::new(activation)).apply(&x)?
    } else {
        inputs.clone()
    };
    let k = a.kernel_size;
    let conv_pad = if a.strides == 2 {
        let pad = correct_pad([x.shape()[1], x.shape()[2]], [k, k]);
        x = named(&format!("{name}dwconv_pad"), || ZeroPadding2D::new(pad)).apply(&x)?;
        "valid"
    } else {
        "same"
    };
    x = named(&format!("{name}dwconv"), || {
        DepthwiseConv2D::new([k, k])
            .strides([a.strides, a.strides])
            .padding(conv_pad)
            .use_bias(false)
            .depthwise_initializer(conv_kernel_initializer())
    })
    .apply(&x)?;
    x = named(&format!("{name}bn"), || BatchNormalization::new().axis(3)).apply(&x)?;
    x = named(&format!("{name}activation"), || Activation::new(activation)).apply(&x)?;
    // Squeeze and excitation.
    let filters_se = 1usize.max((a.filters_in as f64 * SE_RATIO) as usize);
    x = squeeze_excite(&x, filters, filters_se, activation, name)?;
    x = named(&format!("{name}project_conv"), || {
        Conv2D::new(a.filters_out, [1, 1])
            .padding("same")
            .use_bias(false)
            .kernel_initializer(conv_kernel_initializer())
    })
    .apply(&x)?;
    x = named(&format!("{name}project_bn"), || BatchNormalization::new().axis(3)).apply(&x)?;
    if a.strides == 1 && a.filters_in == a.filters_out {
        if drop_rate > 0.0 {
            x = named(&format!("{name}drop"), || {
                Dropout::new(drop_rate as f32).noise_shape(&[None, Some(1), Some(1), Some(1)])
            })
            .apply(&x)?;
        }
        x = named(&format!("{name}add"), Add::new).apply_list(&[&x, inputs])?;
    }
    Ok(x)
}

/// The squeeze-and-excitation of EfficientNet's and EfficientNetV2's blocks (`{name}se_squeeze`
/// to `{name}se_excite`): `x` scaled per channel by a two-layer bottleneck of its channel means.
pub(crate) fn squeeze_excite(
    x: &KerasTensor,
    filters: usize,
    filters_se: usize,
    activation: &str,
    name: &str,
) -> Result<KerasTensor> {
    let mut se = named(&format!("{name}se_squeeze"), GlobalAveragePooling2D::new).apply(x)?;
    se = named(&format!("{name}se_reshape"), || Reshape::new(&[1, 1, filters as i64])).apply(&se)?;
    se = named(&format!("{name}se_reduce"), || {
        Conv2D::new(filters_se, [1, 1])
            .padding("same")
            .activation(activation)
            .kernel_initializer(conv_kernel_initializer())
    })
    .apply(&se)?;
    se = named(&format!("{name}se_expand"), || {
        Conv2D::new(filters, [1, 1])
            .padding("same")
            .activation("sigmoid")
            .kernel_initializer(conv_kernel_initializer())
    })
    .apply(&se)?;
    named(&format!("{name}se_excite"), Multiply::new).apply_list(&[x, &se])
}

macro_rules! efficientnet_variant {
    ($fn:ident, $variant:literal, $size:literal) => {
        #[doc = concat!(
            "Keras's `keras.applications.", stringify!($fn), "`: EfficientNet-B", stringify!($variant),
            " (default input ", stringify!($size), "x", stringify!($size),
            "), optionally with ImageNet weights.\n\n",
            "The model takes pixels in `[0, 255]`: it rescales and normalizes them itself (with ImageNet \
             weights it also divides by ImageNet's standard deviations). It has no family options; \
             the common [`ApplicationArgs`] apply. The model is named `efficientnetb",
            stringify!($variant), "` unless `name` says otherwise (Keras then fetches \
             `{name}.h5`).\n\n",
            "```\n",
            "use keras::applications::{efficientnet, ApplicationArgs, Pooling, Weights};\n\n",
            "let args = ApplicationArgs::new().weights(Weights::None).include_top(false)\n",
            "    .input_shape(&[32, 32, 3]).pooling(Pooling::Avg);\n",
            "let model = efficientnet::", stringify!($fn), "(&args)?;\n",
            "assert_eq!(model.name(), \"efficientnetb", stringify!($variant), "\");\n",
            "assert_eq!(model.output_shapes()[0].len(), 2);\n",
            "# Ok::<(), keras::Error>(())\n",
            "```"
        )]
        #[allow(non_snake_case)]
        pub fn $fn(args: &ApplicationArgs) -> Result<Functional> {
            efficientnet(args, $variant, stringify!($fn))
        }
    };
}

efficientnet_variant!(EfficientNetB0, 0, 224);
efficientnet_variant!(EfficientNetB1, 1, 240);
efficientnet_variant!(EfficientNetB2, 2, 260);
efficientnet_variant!(EfficientNetB3, 3, 300);
efficientnet_variant!(EfficientNetB4, 4, 380);
efficientnet_variant!(EfficientNetB5, 5, 456);
efficientnet_variant!(EfficientNetB6, 6, 528);
efficientnet_variant!(EfficientNetB7, 7, 600);
