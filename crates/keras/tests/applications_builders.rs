//! The classic `keras.applications` builders (VGG, ResNet, ResNet V2, InceptionV3, Xception,
//! DenseNet) from a user's side, against Keras 3.15 (fixtures from
//! tools/applications/gen_cases_classic.py): `summary()` texts, the argument errors with
//! Keras's messages, automatic layer names across models of one session, `input_tensor`, and
//! `weights=path` with a file keras-rs saved. Their layer tables are checked by the oracle
//! runner (kind `application`, cases under tests/fixtures/keras315/application).

use std::path::{Path, PathBuf};

use keras::applications::{self, by_name, ApplicationArgs, Pooling, Weights};
use keras::layers::Rescaling;
use keras::models::{Functional, SymbolicCall};
use keras::{Error, Input, PredictArgs, Tensor};
use serde_json::Value;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/applications/builders")
}

fn json(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixtures().join(name)).unwrap()).unwrap()
}

/// Keras keyword arguments (as the generator recorded them) as builder arguments.
fn args_from(kwargs: &Value) -> ApplicationArgs {
    let mut args = ApplicationArgs::new();
    for (k, v) in kwargs.as_object().unwrap() {
        args = match k.as_str() {
            "weights" => args.weights(v.as_str().map_or(Weights::None, Weights::from_keras)),
            "include_top" => args.include_top(v.as_bool().unwrap()),
            "classes" => args.classes(v.as_u64().unwrap() as usize),
            "input_shape" => {
                let dims: Vec<Option<usize>> =
                    v.as_array().unwrap().iter().map(|d| d.as_u64().map(|d| d as usize)).collect();
                args.input_shape_dims(&dims)
            }
            "pooling" => match v.as_str() {
                Some("avg") => args.pooling(Pooling::Avg),
                Some("max") => args.pooling(Pooling::Max),
                _ => args,
            },
            "classifier_activation" => args.classifier_activation(v.as_str()),
            "name" => args.name(v.as_str().unwrap()),
            "alpha" => args.alpha(v.as_f64().unwrap() as f32),
            "minimalistic" => args.minimalistic(v.as_bool().unwrap()),
            other => panic!("the fixture has an argument the test does not know: {other}"),
        };
    }
    args
}

fn build(function: &str, args: &ApplicationArgs) -> keras::Result<Functional> {
    (by_name(function).unwrap().build)(args)
}

/// Deterministic pseudo-random pixels in [0, 1).
fn pixels(shape: [usize; 4], seed: u32) -> Tensor {
    let n: usize = shape.iter().product();
    let v: Vec<f32> =
        (0..n).map(|i| (((i as u32).wrapping_mul(2654435761) ^ seed) % 1000) as f32 / 1000.0).collect();
    Tensor::new(v, shape).unwrap()
}

fn predict(model: &Functional, x: &Tensor) -> Tensor {
    model.predict(x, PredictArgs { verbose: 0, ..PredictArgs::default() }).unwrap().pop().unwrap()
}

#[test]
fn summaries_are_kerass() {
    let cases = json("summaries.json");
    assert!(cases.as_array().unwrap().len() >= 4);
    for case in cases.as_array().unwrap() {
        let (function, file) = (case["function"].as_str().unwrap(), case["file"].as_str().unwrap());
        keras::backend::clear_session();
        let model = build(function, &args_from(&case["kwargs"])).unwrap();
        let want = std::fs::read_to_string(fixtures().join(file)).unwrap();
        let got = model.summary_string(None, false).unwrap();
        if got.trim_end_matches('\n') != want.trim_end_matches('\n') {
            let at = got.lines().zip(want.lines()).position(|(a, b)| a != b);
            panic!(
                "{function}: summary differs from Keras's at line {at:?}:\n{:?}\n{:?}",
                at.and_then(|i| got.lines().nth(i)),
                at.and_then(|i| want.lines().nth(i))
            );
        }
    }
}

#[test]
fn argument_errors_are_kerass() {
    let cases = json("errors.json");
    let mut checked = 0;
    for (name, case) in cases.as_object().unwrap() {
        let Some(function) = case["function"].as_str() else { continue };
        keras::backend::clear_session();
        let args = args_from(&case["kwargs"]);
        let err = match build(function, &args) {
            Ok(_) => panic!("{name}: {function} accepted arguments Keras refuses"),
            Err(e) => e,
        };
        assert!(matches!(err, Error::InvalidArgument(_)), "{name}: {err:?}");
        let (got, want) = (err.to_string(), case["message"].as_str().unwrap().to_string());
        match want.split_once("<function ") {
            // Python prints the activation function object (`<function relu at 0x7f...>`, the
            // address dropped by the generator); keras-rs prints its name.
            Some((prefix, rest)) => {
                let function_name = rest.trim_end_matches('>');
                assert_eq!(got, format!("{prefix}{function_name}"), "{name}");
            }
            None => assert_eq!(got, want, "{name}"),
        }
        checked += 1;
    }
    assert_eq!(checked, 19);
}

#[test]
fn automatic_names_count_on_across_models_of_a_session() {
    keras::backend::clear_session();
    for (i, m) in json("session.json").as_array().unwrap().iter().enumerate() {
        let model = build(m["function"].as_str().unwrap(), &args_from(&m["kwargs"])).unwrap();
        assert_eq!(model.name(), m["model_name"].as_str().unwrap());
        let got: Vec<String> = model.layers().iter().map(|l| l.name().to_string()).collect();
        let want: Vec<String> =
            m["layers"].as_array().unwrap().iter().map(|n| n.as_str().unwrap().to_string()).collect();
        assert_eq!(got, want, "model {i} of the session");
    }
}

#[test]
fn input_tensor_becomes_part_of_the_model() {
    keras::backend::clear_session();
    let pixels_in = Input::named(&[64, 64, 3], "pixels");
    let scaled = Rescaling::new(1.0 / 255.0).apply(&pixels_in).unwrap();
    let args = ApplicationArgs::new().weights(Weights::None).include_top(false).input_tensor(scaled);
    let model = applications::ResNet50(&args).unwrap();
    // The model starts at the tensor's source input; the Rescaling layer is inside it.
    let inputs = model.inputs().unwrap();
    assert_eq!(inputs.len(), 1);
    assert_eq!(inputs[0].name(), "pixels");
    let names: Vec<&str> = model.layers().iter().map(|l| l.name()).collect();
    assert_eq!(&names[..3], &["pixels", "rescaling", "conv1_pad"]);
    assert_eq!(model.input_shapes()[0], vec![None, Some(64), Some(64), Some(3)]);
    let y = predict(&model, &pixels([2, 64, 64, 3], 7));
    assert_eq!(y.shape(), &[2, 2, 2, 2048]);
    assert!(y.to_f32_vec().iter().all(|v| v.is_finite() && *v >= 0.0), "ResNet ends with a ReLU");
}

#[test]
fn weights_path_loads_a_file_saved_by_keras_rs() {
    let dir = std::env::temp_dir().join(format!("keras_rs_apps_builders_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("densenet121_notop.weights.h5");
    let args = ApplicationArgs::new().weights(Weights::None).include_top(false).input_shape(&[32, 32, 3]);

    keras::backend::clear_session();
    let source = applications::DenseNet121(&args).unwrap();
    source.save_weights(&path).unwrap();
    let x = pixels([2, 32, 32, 3], 3);
    let want = predict(&source, &x);

    keras::backend::clear_session();
    let fresh = applications::DenseNet121(&args).unwrap();
    assert_ne!(predict(&fresh, &x).to_f32_vec(), want.to_f32_vec(), "two random initializations differ");

    keras::backend::clear_session();
    let loaded = applications::DenseNet121(&args.clone().weights(Weights::File(path.clone()))).unwrap();
    let (a, b) = (loaded.get_weights(), source.get_weights());
    assert_eq!(a.len(), b.len());
    for (i, (a, b)) in a.iter().zip(&b).enumerate() {
        assert_eq!(a.to_f32_vec(), b.to_f32_vec(), "weight {i}");
    }
    assert_eq!(predict(&loaded, &x).to_f32_vec(), want.to_f32_vec());

    // A file that is not a weights file is an error, not a panic.
    let bad = dir.join("garbage.h5");
    std::fs::write(&bad, b"not an hdf5 file").unwrap();
    keras::backend::clear_session();
    assert!(applications::DenseNet121(&args.weights(Weights::File(bad))).is_err());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn registry_finds_every_classic_builder_by_both_names() {
    for (keras_name, snake) in [
        ("VGG16", "vgg16"),
        ("VGG19", "vgg19"),
        ("ResNet50", "resnet50"),
        ("ResNet101", "resnet101"),
        ("ResNet152", "resnet152"),
        ("ResNet50V2", "resnet50_v2"),
        ("ResNet101V2", "resnet101_v2"),
        ("ResNet152V2", "resnet152_v2"),
        ("InceptionV3", "inception_v3"),
        ("InceptionResNetV2", "inception_resnet_v2"),
        ("Xception", "xception"),
        ("DenseNet121", "densenet121"),
        ("DenseNet169", "densenet169"),
        ("DenseNet201", "densenet201"),
        ("ConvNeXtTiny", "convnext_tiny"),
        ("ConvNeXtSmall", "convnext_small"),
        ("ConvNeXtBase", "convnext_base"),
        ("ConvNeXtLarge", "convnext_large"),
        ("ConvNeXtXLarge", "convnext_xlarge"),
    ] {
        assert_eq!(by_name(keras_name).unwrap().snake_name, snake);
        assert_eq!(by_name(snake).unwrap().name, keras_name);
    }
    let e = by_name("resnet51").unwrap_err().to_string();
    assert!(e.starts_with("Unknown application `resnet51`. Expected one of: "), "{e}");
}

#[test]
fn classes_and_classifier_activation_shape_the_top() {
    // The three models share one set of weights (the first model's), so the checks below do
    // not depend on the random draw: softmax and sigmoid of the logits model's outputs must
    // be the other two models' outputs.
    let x = pixels([2, 32, 32, 3], 11);
    let mut outputs = Vec::new();
    let mut weights: Option<Vec<Tensor>> = None;
    for (activation, config_name) in
        [(None, "linear"), (Some("softmax"), "softmax"), (Some("sigmoid"), "sigmoid")]
    {
        keras::backend::clear_session();
        let args = ApplicationArgs::new()
            .weights(Weights::None)
            .input_shape(&[32, 32, 3])
            .classes(5)
            .classifier_activation(activation);
        let mut model = applications::DenseNet121(&args).unwrap();
        let config = model.get_layer("predictions").unwrap().layer().get_config();
        assert_eq!(config["units"], 5);
        assert_eq!(config["activation"], config_name);
        match &weights {
            None => weights = Some(model.get_weights()),
            Some(w) => model.set_weights(w).unwrap(),
        }
        let y = predict(&model, &x);
        assert_eq!(y.shape(), &[2, 5]);
        outputs.push(y.to_f32_vec());
    }
    let (logits, probs, sigmoids) = (&outputs[0], &outputs[1], &outputs[2]);
    for (row, p) in logits.chunks(5).zip(probs.chunks(5)) {
        let max = row.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
        let sum: f32 = row.iter().map(|l| (l - max).exp()).sum();
        for (l, p) in row.iter().zip(p) {
            assert!(((l - max).exp() / sum - p).abs() < 1e-5, "softmax({row:?}) vs {p:?}");
        }
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-5, "{p:?}");
    }
    for (l, s) in logits.iter().zip(sigmoids) {
        assert!((1.0 / (1.0 + (-l).exp()) - s).abs() < 1e-5, "sigmoid({l}) vs {s}");
    }
}

/// Opt-in (the weight files are ~0.6 GB): the builders with random weights saved by Keras in
/// tf.keras 2's `save_weights` layout (the published format, loaded by layer name) predict
/// what Keras predicts. Make the files with tools/applications/gen_numerics_classic.py [DIR],
/// then run with `KERAS_RS_APPS_NUMERICS_DIR=DIR ... -- --ignored`.
#[test]
#[ignore = "needs the files of tools/applications/gen_numerics_classic.py"]
fn builders_predict_as_keras_with_its_weight_files() {
    let dir = std::env::var_os("KERAS_RS_APPS_NUMERICS_DIR")
        .map_or_else(|| PathBuf::from("/tmp/keras_rs_classic_numerics"), PathBuf::from);
    let cases: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("cases.json")).unwrap()).unwrap();
    for (case, spec) in cases.as_object().unwrap() {
        keras::backend::clear_session();
        let args = args_from(&spec["kwargs"]).weights(Weights::File(dir.join(format!("{case}.h5"))));
        let model = build(spec["function"].as_str().unwrap(), &args).unwrap();
        let x = keras::io::npy::read(dir.join(format!("{case}_x.npy"))).unwrap();
        let want = keras::io::npy::read(dir.join(format!("{case}_y.npy"))).unwrap();
        let got = predict(&model, &x);
        assert_eq!(got.shape(), want.shape(), "{case}");
        let (g, w) = (got.to_f32_vec(), want.to_f32_vec());
        let scale = w.iter().fold(0f32, |m, v| m.max(v.abs())).max(1.0);
        let diff = g.iter().zip(&w).fold(0f32, |m, (a, b)| m.max((a - b).abs()));
        println!("{case}: max |keras-rs - Keras| = {diff:.3e}, relative to max |y| = {:.3e}", diff / scale);
        assert!(diff / scale <= 1e-4, "{case}: max abs diff {diff} with outputs up to {scale}");
    }
}
