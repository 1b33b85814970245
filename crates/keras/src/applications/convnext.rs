//! `keras.applications.convnext`: ConvNeXtTiny, ConvNeXtSmall, ConvNeXtBase, ConvNeXtLarge and
//! ConvNeXtXLarge (Liu et al., "A ConvNet for the 2020s", 2022).
//!
//! [`ConvNeXtTiny`] to [`ConvNeXtXLarge`] build the models layer for layer as Keras does: the
//! same names, shapes and parameters, the stem and the three downsampling blocks as nested
//! `Sequential` models, and the residual `inputs + x` of every block as an `Add` operation node
//! (not a layer). The models normalize pixels in `[0, 255]` themselves (a `Normalization` layer
//! with ImageNet's mean and variance, `include_preprocessing`, on by default), so
//! [`preprocess_input`] is a pass-through. The module also holds the ImageNet weight files
//! (sha256-checked, named after the model) and `decode_predictions`.

use super::common::{classes_error_received, named, weights_error_backticked, ApplicationArgs};
use super::imagenet_utils;
use super::weights::WeightsFile;
use crate::layers::{
    Activation, Conv2D, Dense, GlobalAveragePooling2D, Layer, LayerNormalization, LayerScale, Normalization,
    StochasticDepth,
};
use crate::models::{Functional, KerasTensor, Sequential, SymbolicCall};
use crate::{keras_bail, Result};

/// Keras's `BASE_WEIGHTS_PATH`.
pub const BASE_WEIGHTS_PATH: &str = "https://storage.googleapis.com/tensorflow/keras-applications/convnext/";

/// Keras's `WEIGHTS_HASHES`: `(weights_name, sha256 with top, sha256 without top)`.
pub const WEIGHTS_HASHES: &[(&str, &str, &str)] = &[
    (
        "convnext_tiny",
        "8ae6e78ce2933352b1ef4008e6dd2f17bc40771563877d156bc6426c7cf503ff",
        "d547c096cabd03329d7be5562c5e14798aa39ed24b474157cef5e85ab9e49ef1",
    ),
    (
        "convnext_small",
        "ce1277d8f1ee5a0ef0e171469089c18f5233860ceaf9b168049cb9263fd7483c",
        "6fc8009faa2f00c1c1dfce59feea9b0745eb260a7dd11bee65c8e20843da6eab",
    ),
    (
        "convnext_base",
        "52cbb006d3dadd03f6e095a8ca1aca47aecdd75acb4bc74bce1f5c695d0086e6",
        "40a20c5548a5e9202f69735ecc06c990e6b7c9d2de39f0361e27baeb24cb7c45",
    ),
    (
        "convnext_large",
        "070c5ed9ed289581e477741d3b34beffa920db8cf590899d6d2c67fba2a198a6",
        "96f02b6f0753d4f543261bc9d09bed650f24dd6bc02ddde3066135b63d23a1cd",
    ),
    (
        "convnext_xlarge",
        "c1f5ccab661354fc3a79a10fa99af82f0fbf10ec65cb894a3ae0815f17a889ee",
        "de3f8a54174130e0cecdc71583354753d557fcf1f4487331558e2a16ba0cfe05",
    ),
];

/// One of Keras's `MODEL_CONFIGS` (every variant's `default_size` is 224).
#[derive(Clone, Copy, Debug)]
struct Config {
    /// The blocks of each of the four stages.
    depths: [usize; 4],
    /// The channels of each stage.
    projection_dims: [usize; 4],
}

const TINY: Config = Config { depths: [3, 3, 9, 3], projection_dims: [96, 192, 384, 768] };
const SMALL: Config = Config { depths: [3, 3, 27, 3], projection_dims: [96, 192, 384, 768] };
const BASE: Config = Config { depths: [3, 3, 27, 3], projection_dims: [128, 256, 512, 1024] };
const LARGE: Config = Config { depths: [3, 3, 27, 3], projection_dims: [192, 384, 768, 1536] };
const XLARGE: Config = Config { depths: [3, 3, 27, 3], projection_dims: [256, 512, 1024, 2048] };

const DEFAULT_SIZE: usize = 224;

/// The ImageNet weights Keras loads for a model named `name` (the variant's default name,
/// `"convnext_tiny"`, unless `name` was given) of the variant `weights_name`
/// (`"convnext_tiny"`, `"convnext_small"`, `"convnext_base"`, `"convnext_large"` or
/// `"convnext_xlarge"`): `{name}.h5` with the classifier, `{name}_notop.h5` without, under
/// [`BASE_WEIGHTS_PATH`], with the variant's sha256. As in Keras, `name` must contain
/// `weights_name`.
///
/// ```
/// use keras::applications::convnext;
///
/// let w = convnext::weights_file("convnext_tiny", "convnext_tiny", false)?;
/// assert_eq!(w.fname, "convnext_tiny_notop.h5");
/// assert_eq!(
///     w.origin,
///     "https://storage.googleapis.com/tensorflow/keras-applications/convnext/convnext_tiny_notop.h5"
/// );
/// assert!(convnext::weights_file("convnext_base", "my_model", true).is_err());
/// # Ok::<(), keras::Error>(())
/// ```
pub fn weights_file(weights_name: &str, name: &str, include_top: bool) -> Result<WeightsFile> {
    let Some(&(_, top, notop)) = WEIGHTS_HASHES.iter().find(|(n, _, _)| *n == weights_name) else {
        keras_bail!(
            InvalidArgument,
            "Unknown ConvNeXt weights `{weights_name}`. Expected one of: {}",
            WEIGHTS_HASHES.iter().map(|(n, _, _)| *n).collect::<Vec<_>>().join(", ")
        );
    };
    if !name.contains(weights_name) {
        let variant = weights_name.trim_start_matches("convnext_");
        keras_bail!(
            InvalidArgument,
            "Model name \"{name}\" does not match weights variant \"{weights_name}\". When using imagenet \
             weights, model name must contain the weights variant (e.g., \"convnext_{variant}\")."
        );
    }
    Ok(WeightsFile::named_under(BASE_WEIGHTS_PATH, name, include_top, [top, notop]))
}

imagenet_utils::model_io_fns!(@passthrough "convnext", "normalizes");

/// `LayerNormalization(epsilon=1e-6)`, ConvNeXt's normalization everywhere.
fn layer_norm() -> LayerNormalization {
    LayerNormalization::new().epsilon(1e-6)
}

/// A `Sequential` named `name` of `layers` (Keras builds the stem and the downsampling blocks
/// so; a given name uses up no automatic name).
fn sequential(name: &str, layers: Vec<Box<dyn Layer>>) -> Result<Sequential> {
    let mut model = crate::backend::without_auto_names(Sequential::new).with_name(name);
    for layer in layers {
        model.add_boxed(layer)?;
    }
    Ok(model)
}

/// Keras's `ConvNeXtBlock(projection_dim, drop_path_rate, layer_scale_init_value, name)`:
/// a 7x7 depthwise convolution (a grouped `Conv2D`), layer normalization, a 4x pointwise MLP
/// with GELU, the layer scale, then stochastic depth (or an identity `Activation("linear")`
/// when the rate is 0), added to the block's input by an `Add` operation node.
fn convnext_block(
    inputs: &KerasTensor,
    projection_dim: usize,
    drop_path_rate: f64,
    layer_scale_init_value: Option<f32>,
    name: &str,
) -> Result<KerasTensor> {
    let mut x = named(&format!("{name}_depthwise_conv"), || {
        Conv2D::new(projection_dim, [7, 7]).padding("same").groups(projection_dim)
    })
    .apply(inputs)?;
    x = named(&format!("{name}_layernorm"), layer_norm).apply(&x)?;
    x = named(&format!("{name}_pointwise_conv_1"), || Dense::new(4 * projection_dim)).apply(&x)?;
    x = named(&format!("{name}_gelu"), || Activation::new("gelu")).apply(&x)?;
    x = named(&format!("{name}_pointwise_conv_2"), || Dense::new(projection_dim)).apply(&x)?;
    if let Some(init) = layer_scale_init_value {
        x = named(&format!("{name}_layer_scale"), || LayerScale::new(init, projection_dim)).apply(&x)?;
    }
    x = if drop_path_rate != 0.0 {
        named(&format!("{name}_stochastic_depth"), || StochasticDepth::new(drop_path_rate as f32))
            .apply(&x)?
    } else {
        named(&format!("{name}_identity"), || Activation::new("linear")).apply(&x)?
    };
    inputs.add(&x)
}

/// NumPy's `linspace(start, stop, num)` as Python floats.
fn linspace(start: f64, stop: f64, num: usize) -> Vec<f64> {
    match num {
        0 => Vec::new(),
        1 => vec![start],
        _ => {
            let step = (stop - start) / (num - 1) as f64;
            (0..num).map(|i| if i + 1 == num { stop } else { start + step * i as f64 }).collect()
        }
    }
}

/// Keras's `ConvNeXt(depths, projection_dims, drop_path_rate=0.0, layer_scale_init_value=1e-6,
/// default_size=224, name, include_preprocessing, ..., weights_name)`: what every variant
/// function calls (all with `drop_path_rate=0.0` and `layer_scale_init_value=1e-6`).
fn convnext(
    args: &ApplicationArgs,
    function: &str,
    config: Config,
    weights_name: &str,
    drop_path_rate: f64,
    layer_scale_init_value: Option<f32>,
) -> Result<Functional> {
    args.check_options(function, &["include_preprocessing"])?;
    args.check_weights_worded(weights_error_backticked, classes_error_received)?;
    let input_shape = args.obtain_input_shape(DEFAULT_SIZE, 32, args.include_top)?;
    let img_input = args.image_input(&input_shape);
    let name = args.name.clone().unwrap_or_else(|| weights_name.to_string());
    let Config { depths, projection_dims } = config;

    let mut x = img_input.clone();
    if args.include_preprocessing.unwrap_or(true) && input_shape.get(2) == Some(&Some(3)) {
        // PreStem: ImageNet-1k's mean and std of pixels in [0, 255].
        let mean = [0.485 * 255.0, 0.456 * 255.0, 0.406 * 255.0f64].map(|m| m as f32);
        let variance = [0.229 * 255.0, 0.224 * 255.0, 0.225 * 255.0f64].map(|s| (s * s) as f32);
        x = named(&format!("{name}_prestem_normalization"), || {
            Normalization::new().mean_variance(&mean, &variance)
        })
        .apply(&x)?;
    }

    let stem = sequential(
        &format!("{name}_stem"),
        vec![
            Box::new(named(&format!("{name}_stem_conv"), || {
                Conv2D::new(projection_dims[0], [4, 4]).strides([4, 4])
            })),
            Box::new(named(&format!("{name}_stem_layernorm"), layer_norm)),
        ],
    )?;
    let mut downsample_layers = vec![stem];
    for i in 0..3 {
        downsample_layers.push(sequential(
            &format!("{name}_downsampling_block_{i}"),
            vec![
                Box::new(named(&format!("{name}_downsampling_layernorm_{i}"), layer_norm)),
                Box::new(named(&format!("{name}_downsampling_conv_{i}"), || {
                    Conv2D::new(projection_dims[i + 1], [2, 2]).strides([2, 2])
                })),
            ],
        )?);
    }

    // The stochastic depth schedule of the original code base.
    let depth_drop_rates = linspace(0.0, drop_path_rate, depths.iter().sum());
    let mut cur = 0;
    for (i, downsample) in downsample_layers.into_iter().enumerate() {
        x = downsample.apply(&x)?;
        for j in 0..depths[i] {
            x = convnext_block(
                &x,
                projection_dims[i],
                depth_drop_rates[cur + j],
                layer_scale_init_value,
                &format!("{name}_stage_{i}_block_{j}"),
            )?;
        }
        cur += depths[i];
    }

    if args.include_top {
        let weights = args.weights.as_keras();
        let classifier = args.classifier_activation.as_deref();
        imagenet_utils::validate_activation(classifier, weights.as_deref())?;
        x = named(&format!("{name}_head_gap"), GlobalAveragePooling2D::new).apply(&x)?;
        x = named(&format!("{name}_head_layernorm"), layer_norm).apply(&x)?;
        x = named(&format!("{name}_head_dense"), || {
            let dense = Dense::new(args.classes);
            match classifier {
                Some(a) => dense.activation(a),
                None => dense,
            }
        })
        .apply(&x)?;
    } else {
        x = args.pool(&x, None, None)?;
        x = layer_norm().apply(&x)?;
    }
    args.finish(&img_input, &x, weights_name, || weights_file(weights_name, &name, args.include_top))
}

super::common::application_fns! {
    /// `keras.applications.ConvNeXtTiny`: stages of 3, 3, 9 and 3 blocks of 96, 192, 384 and
    /// 768 channels (28.6M parameters with the top). Input 224x224x3 with the top, at least
    /// 32x32 without. Takes pixels in `[0, 255]`: the model normalizes them itself unless
    /// `include_preprocessing(false)` (its one family option). Named `convnext_tiny` unless
    /// `name` says otherwise (with ImageNet weights the name must contain `convnext_tiny`, and
    /// Keras fetches `{name}.h5`).
    ///
    /// ```
    /// use keras::applications::{convnext, ApplicationArgs, Pooling, Weights};
    ///
    /// let args = ApplicationArgs::new()
    ///     .weights(Weights::None)
    ///     .include_top(false)
    ///     .input_shape(&[32, 32, 3])
    ///     .pooling(Pooling::Avg);
    /// let model = convnext::ConvNeXtTiny(&args)?;
    /// assert_eq!(model.name(), "convnext_tiny");
    /// assert_eq!(model.output_shapes()[0], vec![None, Some(768)]);
    /// assert_eq!(model.count_params(), 27_820_128);
    /// assert_eq!(model.layers()[1].name(), "convnext_tiny_prestem_normalization");
    /// assert_eq!(model.layers()[2].name(), "convnext_tiny_stem");
    /// # Ok::<(), keras::Error>(())
    /// ```
    ConvNeXtTiny => convnext("ConvNeXtTiny", TINY, "convnext_tiny", 0.0, Some(1e-6));

    /// `keras.applications.ConvNeXtSmall`: stages of 3, 3, 27 and 3 blocks of 96, 192, 384
    /// and 768 channels. Otherwise as [`ConvNeXtTiny`]; named `convnext_small`.
    ConvNeXtSmall => convnext("ConvNeXtSmall", SMALL, "convnext_small", 0.0, Some(1e-6));

    /// `keras.applications.ConvNeXtBase`: stages of 3, 3, 27 and 3 blocks of 128, 256, 512
    /// and 1024 channels (ImageNet-21k pre-training, fine-tuned on ImageNet-1k). Otherwise as
    /// [`ConvNeXtTiny`]; named `convnext_base`.
    ConvNeXtBase => convnext("ConvNeXtBase", BASE, "convnext_base", 0.0, Some(1e-6));

    /// `keras.applications.ConvNeXtLarge`: stages of 3, 3, 27 and 3 blocks of 192, 384, 768
    /// and 1536 channels (ImageNet-21k pre-training, fine-tuned on ImageNet-1k). Otherwise as
    /// [`ConvNeXtTiny`]; named `convnext_large`.
    ConvNeXtLarge => convnext("ConvNeXtLarge", LARGE, "convnext_large", 0.0, Some(1e-6));

    /// `keras.applications.ConvNeXtXLarge`: stages of 3, 3, 27 and 3 blocks of 256, 512, 1024
    /// and 2048 channels (ImageNet-21k pre-training, fine-tuned on ImageNet-1k). Otherwise as
    /// [`ConvNeXtTiny`]; named `convnext_xlarge`.
    ConvNeXtXLarge => convnext("ConvNeXtXLarge", XLARGE, "convnext_xlarge", 0.0, Some(1e-6));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::applications::common::fixture::{assert_close, tensor};
    use crate::applications::Weights;
    use crate::Tensor;

    #[test]
    fn linspace_is_numpys() {
        assert_eq!(linspace(0.0, 0.0, 3), vec![0.0, 0.0, 0.0]);
        assert_eq!(linspace(0.0, 1.0, 5), vec![0.0, 0.25, 0.5, 0.75, 1.0]);
        assert_eq!(linspace(0.0, 0.5, 1), vec![0.0]);
    }

    /// Keras's own `ConvNeXt(depths=[1, 1, 2, 1], projection_dims=[8, 8, 16, 16])` with random
    /// weights (tools/applications/gen_numerics_convnext.py) predicts as this builder does with
    /// the same weights: the in-model normalization, the grouped 7x7 convolutions, the layer
    /// norms, the GELU MLPs on 4-D tensors, the layer scales, the residual `Add` nodes, the
    /// nested Sequential stem and downsampling blocks, and the head.
    #[test]
    fn a_small_convnext_predicts_as_keras() {
        let path =
            concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/applications/convnext_small_config.json");
        let case: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let small = Config { depths: [1, 1, 2, 1], projection_dims: [8, 8, 16, 16] };
        let args = ApplicationArgs::new()
            .weights(Weights::None)
            .input_shape(&[32, 32, 3])
            .classes(5)
            .name("convnext");
        let mut model = convnext(&args, "ConvNeXt", small, "convnext", 0.0, Some(1e-6)).unwrap();
        let names: Vec<String> = model.layers().iter().map(|l| l.name().to_string()).collect();
        let want_names: Vec<String> =
            case["layer_names"].as_array().unwrap().iter().map(|n| n.as_str().unwrap().to_string()).collect();
        assert_eq!(names, want_names);
        let weights: Vec<Tensor> = case["weights"].as_array().unwrap().iter().map(tensor).collect();
        let ours: Vec<Vec<usize>> = model.get_weights().iter().map(|w| w.shape().to_vec()).collect();
        let theirs: Vec<Vec<usize>> = weights.iter().map(|w| w.shape().to_vec()).collect();
        assert_eq!(ours, theirs, "weight shapes in model.weights order");
        model.set_weights(&weights).unwrap();
        let x = tensor(&case["x"]);
        let y = model.predict_on_batch(std::slice::from_ref(&x)).unwrap();
        assert_close("predictions", &y[0], &tensor(&case["y"]));
        let gap = model.get_layer("convnext_head_gap").unwrap().output().unwrap();
        let inner = crate::models::Model::new(&model.inputs().unwrap(), &[gap]).unwrap();
        let feats = inner.predict_on_batch(std::slice::from_ref(&x)).unwrap();
        assert_close("head_gap", &feats[0], &tensor(&case["head_gap"]));

        // The config (nested Sequentials, the residual `Add` nodes of two tensors, written as
        // Keras writes them: two positional tensor arguments) rebuilds the same model.
        let config = model.get_config();
        let adds: Vec<&serde_json::Value> =
            config["layers"].as_array().unwrap().iter().filter(|l| l["class_name"] == "Add").collect();
        assert_eq!(adds.len(), 5, "one Add node per block");
        let args = adds[0]["inbound_nodes"][0]["args"].as_array().unwrap();
        assert_eq!(args.len(), 2);
        assert_eq!(args[0]["config"]["keras_history"][0], "convnext_stem");
        assert_eq!(args[1]["config"]["keras_history"][0], "convnext_stage_0_block_0_identity");
        let mut again = Functional::from_config(&config).unwrap();
        again.set_weights(&weights).unwrap();
        let y2 = again.predict_on_batch(std::slice::from_ref(&x)).unwrap();
        assert_eq!(y2[0].to_f32_vec(), y[0].to_f32_vec());
    }

    #[test]
    fn stochastic_depth_replaces_the_identity_when_a_rate_is_set() {
        let tiny = Config { depths: [1, 1, 2, 1], projection_dims: [8, 8, 8, 8] };
        let args = ApplicationArgs::new().weights(Weights::None).include_top(false).input_shape(&[32, 32, 3]);
        let model = convnext(&args, "ConvNeXtTiny", tiny, "convnext_tiny", 0.4, None).unwrap();
        let names: Vec<String> = model.layers().iter().map(|l| l.name().to_string()).collect();
        // The first block of the schedule has rate 0 (an identity); the others drop paths.
        assert!(names.contains(&"convnext_tiny_stage_0_block_0_identity".to_string()), "{names:?}");
        assert!(names.contains(&"convnext_tiny_stage_3_block_0_stochastic_depth".to_string()), "{names:?}");
        assert!(!names.iter().any(|n| n.ends_with("_layer_scale")), "{names:?}");
    }
}
