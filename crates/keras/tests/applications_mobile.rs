//! The mobile `keras.applications` builders (MobileNet, MobileNetV2, MobileNetV3, NASNet,
//! EfficientNet) from outside the crate, against what Keras 3.15 does
//! (tools/applications/gen_cases_mobile.py and the shared published-format weight files):
//! predictions with weights in Keras's published format, the `classify_image` example, exact
//! `summary()` texts, argument errors and the ImageNet file each call asks for.
//!
//! The layer tables of every variant are checked by the oracle runner
//! (tests/oracle/application.rs, cases under fixtures/keras315/application).

use std::path::{Path, PathBuf};

use keras::applications::imagenet_utils::ClassIndex;
use keras::applications::{
    by_name, efficientnet, efficientnet_v2, mobilenet, mobilenet_v2, mobilenet_v3, nasnet,
    preprocess_input_for, ApplicationArgs, Pooling, Weights,
};
use keras::models::Functional;
use keras::preprocessing::image::{img_to_array, load_img, LoadImgArgs};
use keras::{Input, PredictArgs, Tensor};
use serde_json::Value;

#[allow(dead_code)]
#[path = "../examples/classify_image.rs"]
mod classify_image;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/applications")
}

fn json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// The published-format weight files with Keras's top-5 (`expected.json`): the copy of the
/// shared set, or another set in the same layout named by `KERAS_PUBLISHED_WEIGHTS_DIR`.
fn published_dir() -> PathBuf {
    std::env::var_os("KERAS_PUBLISHED_WEIGHTS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| fixtures().join("oracle"))
}

/// Keras's kwargs (as the generator records them) as builder arguments.
fn args_from(kwargs: &Value) -> ApplicationArgs {
    let mut args = ApplicationArgs::new();
    let dims = |v: &Value| -> Vec<Option<usize>> {
        v.as_array().unwrap().iter().map(|d| d.as_u64().map(|d| d as usize)).collect()
    };
    for (k, v) in kwargs.as_object().unwrap() {
        args = match k.as_str() {
            "weights" => match v.as_str() {
                None => args.weights(Weights::None),
                Some(s) => args.weights(Weights::from_keras(s)),
            },
            "include_top" => args.include_top(v.as_bool().unwrap()),
            "classes" => args.classes(v.as_u64().unwrap() as usize),
            "input_shape" => args.input_shape_dims(&dims(v)),
            "input_tensor_shape" => {
                let shape: Vec<usize> = dims(v).into_iter().map(|d| d.unwrap()).collect();
                args.input_tensor(Input::new(&shape))
            }
            "pooling" => args.pooling(if v == "avg" { Pooling::Avg } else { Pooling::Max }),
            "classifier_activation" => args.classifier_activation(v.as_str()),
            "alpha" => args.alpha(v.as_f64().unwrap() as f32),
            "depth_multiplier" => args.depth_multiplier(v.as_u64().unwrap() as usize),
            "dropout" | "dropout_rate" => args.dropout(v.as_f64().unwrap() as f32),
            "minimalistic" => args.minimalistic(v.as_bool().unwrap()),
            "include_preprocessing" => args.include_preprocessing(v.as_bool().unwrap()),
            other => panic!("kwarg {other} is not handled by the test"),
        };
    }
    args
}

fn build(function: &str, kwargs: &Value) -> keras::Result<Functional> {
    (by_name(function)?.build)(&args_from(kwargs))
}

/// The images of `expected.json`, loaded at `size` and preprocessed for `model`.
fn images(dir: &Path, expected: &Value, model: &str, size: usize) -> Tensor {
    let list = expected["images"].as_array().unwrap();
    let mut batch = Vec::new();
    for img in list {
        let opts = LoadImgArgs { target_size: Some((size, size)), ..Default::default() };
        let img = load_img(dir.join(img.as_str().unwrap()), opts).unwrap();
        batch.extend(img_to_array(&img).unwrap().to_f32_vec());
    }
    let x = Tensor::new(batch, [list.len(), size, size, 3]).unwrap();
    preprocess_input_for(model).unwrap()(&x, None).unwrap()
}

/// Builds a published model of `expected.json` with `weights`.
fn published_model(name: &str, m: &Value, weights: Weights) -> Functional {
    let size = m["input_size"].as_u64().unwrap() as usize;
    let mut args = ApplicationArgs::new().weights(weights).input_shape(&[size, size, 3]);
    if let Some(a) = m["alpha"].as_f64() {
        args = args.alpha(a as f32);
    }
    (by_name(name).unwrap().build)(&args).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Keras's top-5 `[class, probability]` of each image.
fn keras_top5(m: &Value) -> Vec<Vec<(usize, f32)>> {
    m["top5"]
        .as_array()
        .unwrap()
        .iter()
        .map(|img| {
            img.as_array()
                .unwrap()
                .iter()
                .map(|e| (e[0].as_u64().unwrap() as usize, e[1].as_f64().unwrap() as f32))
                .collect()
        })
        .collect()
}

/// The tolerance on a probability: 1e-4, or twice the spread Keras itself shows on the file
/// (`tf_keras_vs_keras3_max_abs`: tf.keras 2 and Keras 3 on the same weights and images), the
/// rule of the published-format MobileNet test in tests/applications.rs. The shared MobileNet's
/// logits reach 90, so float32 rounding moves its probabilities by ~1e-4: Keras 3 on this
/// machine is 9.9e-5 off expected.json on image 1 (keras-rs: 1.3e-4).
fn prob_tol(m: &Value) -> f32 {
    (2.0 * m["tf_keras_vs_keras3_max_abs"].as_f64().unwrap_or(0.0)).max(1e-4) as f32
}

fn predict(model: &Functional, x: &Tensor) -> Tensor {
    model.predict(x, PredictArgs::default().verbose(0)).unwrap().swap_remove(0)
}

#[test]
fn published_weight_files_load_by_name_and_give_kerass_top5() {
    let dir = published_dir();
    let expected = json(&dir.join("expected.json"));
    let models = expected["models"].as_object().unwrap();
    assert!(!models.is_empty());
    for (name, m) in models {
        let mut worst = 0.0f32;
        keras::backend::clear_session();
        let weights = Weights::File(dir.join(m["weights"].as_str().unwrap()));
        let model = published_model(name, m, weights);
        let size = m["input_size"].as_u64().unwrap() as usize;
        let probs = predict(&model, &images(&dir, &expected, name, size));
        let classes = probs.shape()[1];
        let p = probs.to_f32_vec();
        for (i, want) in keras_top5(m).iter().enumerate() {
            let row = &p[i * classes..(i + 1) * classes];
            let got = classify_image::top_classes(row, want.len());
            for (k, (&(gc, gp), &(wc, wp))) in got.iter().zip(want).enumerate() {
                assert_eq!(gc, wc, "{name} image {i} rank {k}: class {gc}, Keras {wc}");
                assert!((gp - wp).abs() <= prob_tol(m), "{name} image {i} class {wc}: {gp} vs Keras {wp}");
                worst = worst.max((gp - wp).abs());
            }
        }
        println!("{name}: max |probability - Keras| over the top 5 = {worst:e}");
    }
}

#[test]
fn classify_image_prints_kerass_top5_from_published_weights() {
    let dir = published_dir();
    let expected = json(&dir.join("expected.json"));
    let image_paths: Vec<String> = expected["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| dir.join(p.as_str().unwrap()).display().to_string())
        .collect();
    // A synthetic class index stands for ImageNet's (tests never download it).
    let entries: Vec<String> = (0..1000).map(|i| format!("\"{i}\": [\"n{i:08}\", \"label_{i}\"]")).collect();
    let index = ClassIndex::from_json(&format!("{{{}}}", entries.join(", "))).unwrap();
    for (name, m) in expected["models"].as_object().unwrap() {
        keras::backend::clear_session();
        let mut argv = vec!["--model".to_string(), name.clone()];
        if let Some(a) = m["alpha"].as_f64() {
            argv.extend(["--alpha".into(), a.to_string()]);
        }
        argv.extend(["--input-size".into(), m["input_size"].to_string()]);
        argv.extend(["--weights".into(), dir.join(m["weights"].as_str().unwrap()).display().to_string()]);
        argv.push("--offline".into());
        argv.extend(image_paths.iter().cloned());
        let opts = classify_image::parse_args(&argv).unwrap();
        assert!(opts.offline);
        for labels in [None, Some(&index)] {
            let text = classify_image::classify(&opts, labels).unwrap();
            let lines: Vec<&str> = text.lines().collect();
            let want = keras_top5(m);
            assert_eq!(lines.len(), want.len() * 6, "{text}");
            for (i, top) in want.iter().enumerate() {
                assert_eq!(lines[i * 6], image_paths[i]);
                for (k, &(wc, wp)) in top.iter().enumerate() {
                    let f: Vec<&str> = lines[i * 6 + 1 + k].split(' ').collect();
                    assert_eq!(f.len(), 4, "{}", lines[i * 6 + 1 + k]);
                    assert_eq!(f[0], (k + 1).to_string());
                    assert_eq!(f[1], wc.to_string(), "{name} image {i} rank {k}");
                    let p: f32 = f[2].parse().unwrap();
                    assert!((p - wp).abs() <= prob_tol(m) + 5e-7, "{name} image {i}: {p} vs Keras {wp}");
                    let label = if labels.is_some() { format!("label_{wc}") } else { "-".into() };
                    assert_eq!(f[3], label);
                }
            }
        }
    }
    // Usage errors.
    let err = |args: &[&str]| {
        let v: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        classify_image::parse_args(&v).unwrap_err().to_string()
    };
    assert!(err(&["img.png"]).starts_with("--model is required"));
    assert!(err(&["--model", "mobilenet"]).starts_with("no image given"));
    assert!(err(&["--model", "mobilenet", "--alpha", "x", "a.png"]).starts_with("--alpha: not a number: x"));
    assert!(err(&["--model", "mobilenet", "--bogus", "a.png"]).starts_with("unknown option --bogus"));
    let o = classify_image::parse_args(&["--model".into(), "no_such_net".into(), "a.png".into()]).unwrap();
    let e = classify_image::classify(&o, None).unwrap_err().to_string();
    assert!(e.starts_with("Unknown application `no_such_net`. Expected one of: "), "{e}");
    let o = classify_image::parse_args(&[
        "--model".into(),
        "mobilenet".into(),
        "--weights".into(),
        "/no/such.h5".into(),
        "a.png".into(),
    ])
    .unwrap();
    let e = classify_image::classify(&o, None).unwrap_err().to_string();
    assert!(e.ends_with("Received weights=/no/such.h5"), "{e}");
}

#[test]
fn imagenet_weights_come_from_the_cache_as_keras_fetches_them() {
    // MobileNet's published files carry no hash: a file in `$KERAS_HOME/models` under Keras's
    // name is used as is. The shared alpha-0.25 file stands for `mobilenet_2_5_224_tf.h5`
    // (MobileNet's weights do not depend on the input size).
    let dir = published_dir();
    let expected = json(&dir.join("expected.json"));
    let Some(m) = expected["models"].get("mobilenet").filter(|m| m["alpha"].as_f64() == Some(0.25)) else {
        return;
    };
    let home = std::env::temp_dir().join(format!("keras_rs_apps_home_{}", std::process::id()));
    std::fs::create_dir_all(home.join("models")).unwrap();
    std::fs::copy(dir.join(m["weights"].as_str().unwrap()), home.join("models/mobilenet_2_5_224_tf.h5"))
        .unwrap();
    std::env::set_var("KERAS_HOME", &home);
    keras::backend::clear_session();
    let args = ApplicationArgs::new().alpha(0.25);
    let cached = mobilenet::MobileNet(&args).unwrap();
    std::env::remove_var("KERAS_HOME");
    let file = Weights::File(dir.join(m["weights"].as_str().unwrap()));
    let direct = mobilenet::MobileNet(&ApplicationArgs::new().alpha(0.25).weights(file)).unwrap();
    assert_eq!(cached.name(), "mobilenet_0.25_224");
    let x = images(&dir, &expected, "mobilenet", 224);
    assert_eq!(predict(&cached, &x).to_f32_vec(), predict(&direct, &x).to_f32_vec());
    std::fs::remove_dir_all(&home).ok();
}

#[test]
fn summaries_are_kerass() {
    let dir = fixtures().join("summary");
    let index = json(&dir.join("summary.json"));
    for (name, case) in index["cases"].as_object().unwrap() {
        keras::backend::clear_session();
        let model = build(case["function"].as_str().unwrap(), &case["kwargs"]).unwrap();
        let got = model.summary_string(None, false).unwrap();
        let want = std::fs::read_to_string(dir.join(format!("{name}.txt"))).unwrap();
        if got.trim_end() != want.trim_end() {
            let first = got.lines().zip(want.lines()).position(|(a, b)| a != b);
            panic!("{name}: summary differs from Keras's at line {first:?}\n--- keras-rs\n{got}\n--- Keras\n{want}");
        }
    }
}

#[test]
fn argument_errors_are_kerass() {
    let cases = json(&fixtures().join("mobile_errors.json"));
    let errors = cases["errors"].as_array().unwrap();
    assert!(errors.len() >= 20);
    for case in errors {
        keras::backend::clear_session();
        let function = case["function"].as_str().unwrap();
        let want = case["error"].as_str().unwrap();
        let got = match build(function, &case["kwargs"]) {
            Ok(_) => panic!("{function}{}: keras-rs accepted it; Keras says: {want}", case["kwargs"]),
            Err(e) => e.to_string(),
        };
        // Keras prints the activation function object (`<function relu at 0x...>`).
        match want.split_once("<function ") {
            Some((head, tail)) => {
                let activation = tail.split(' ').next().unwrap();
                assert_eq!(got, format!("{head}{activation}"), "{function}{}", case["kwargs"]);
            }
            None => assert_eq!(got, want, "{function}{}", case["kwargs"]),
        }
    }
}

/// `input_shape` of a case, `None` when absent.
fn rows_cols(kwargs: &Value) -> (Option<usize>, Option<usize>) {
    match kwargs["input_shape"].as_array() {
        Some(s) => (s[0].as_u64().map(|v| v as usize), s[1].as_u64().map(|v| v as usize)),
        None => (None, None),
    }
}

#[test]
fn imagenet_calls_ask_for_kerass_files_with_kerass_warnings() {
    let cases = json(&fixtures().join("mobile_errors.json"));
    for case in cases["imagenet"].as_array().unwrap() {
        let function = case["function"].as_str().unwrap();
        let kw = &case["kwargs"];
        let include_top = kw["include_top"].as_bool().unwrap_or(true);
        let alpha = kw["alpha"].as_f64().unwrap_or(1.0) as f32;
        let (mut rows, mut cols) = rows_cols(kw);
        if include_top && rows.is_none() {
            // obtain_input_shape gives the default size with the classifier.
            (rows, cols) = (Some(224), Some(224));
        }
        let (file, warnings) = match function {
            "MobileNet" => {
                let (r, w) = mobilenet::imagenet_rows(rows, cols);
                (mobilenet::weights_file(include_top, alpha, r).unwrap(), w)
            }
            "MobileNetV2" => {
                let (r, w) = mobilenet_v2::imagenet_rows(rows, cols);
                (mobilenet_v2::weights_file(include_top, alpha, r).unwrap(), w)
            }
            "MobileNetV3Small" | "MobileNetV3Large" => {
                let kind = if function.ends_with("Small") { "small" } else { "large" };
                let minimalistic = kw["minimalistic"].as_bool().unwrap_or(false);
                (
                    mobilenet_v3::weights_file(kind, include_top, alpha, minimalistic).unwrap(),
                    mobilenet_v3::imagenet_warning(rows, cols),
                )
            }
            f if f.starts_with("EfficientNetV2") => {
                let model_name = format!("efficientnetv2-{}", f["EfficientNetV2".len()..].to_lowercase());
                (efficientnet_v2::weights_file(&model_name, include_top).unwrap(), None)
            }
            f if f.starts_with("EfficientNetB") => {
                let variant: usize = f["EfficientNetB".len()..].parse().unwrap();
                (efficientnet::weights_file(variant, include_top).unwrap(), None)
            }
            "NASNetMobile" => (nasnet::weights_file(224, include_top).unwrap(), None),
            "NASNetLarge" => (nasnet::weights_file(331, include_top).unwrap(), None),
            other => panic!("no rule for {other}"),
        };
        let asked = &case["get_file"];
        assert_eq!(file.fname, asked["fname"].as_str().unwrap(), "{function}{kw}");
        assert_eq!(file.origin, asked["origin"].as_str().unwrap(), "{function}{kw}");
        assert_eq!(file.file_hash.as_deref(), asked["file_hash"].as_str(), "{function}{kw}");
        let want: Vec<&str> =
            case["warnings"].as_array().unwrap().iter().map(|w| w.as_str().unwrap()).collect();
        assert_eq!(warnings.into_iter().collect::<Vec<_>>(), want, "{function}{kw}");
    }
}

#[test]
fn mobilenet_v3_records_kerass_operation_nodes_and_they_round_trip() {
    keras::backend::clear_session();
    let args = ApplicationArgs::new().weights(Weights::None).include_top(false).input_shape(&[32, 32, 3]);
    let model = mobilenet_v3::MobileNetV3Small(&args).unwrap();
    let config = model.get_config();
    let layers = config["layers"].as_array().unwrap();
    let add = layers.iter().find(|l| l["name"] == "add").expect("an `add` operation node");
    assert_eq!(add["module"], "keras.src.ops.numpy");
    assert_eq!(add["class_name"], "Add");
    assert_eq!(add["inbound_nodes"][0]["args"][1], 3.0);
    let mul = layers.iter().find(|l| l["name"] == "multiply").expect("a `multiply` operation node");
    assert_eq!(mul["inbound_nodes"][0]["args"][1], 1.0 / 6.0);
    // Not layers of the model, as in Keras.
    assert!(model.layers().iter().all(|l| l.name() != "add" && l.name() != "multiply"));
    // Saved and loaded, the model predicts the same.
    let path = std::env::temp_dir().join(format!("mnv3_ops_{}.keras", std::process::id()));
    model.save(&path).unwrap();
    let loaded = Functional::load(&path).unwrap();
    std::fs::remove_file(&path).ok();
    let x = Tensor::new((0..2 * 32 * 32 * 3).map(|i| (i % 251) as f32).collect(), [2, 32, 32, 3]).unwrap();
    assert_eq!(predict(&model, &x).to_f32_vec(), predict(&loaded, &x).to_f32_vec());
}

#[test]
fn the_registry_has_every_mobile_builder_under_both_names() {
    for (keras_name, snake) in [
        ("MobileNet", "mobilenet"),
        ("MobileNetV2", "mobilenet_v2"),
        ("MobileNetV3Small", "mobilenet_v3_small"),
        ("MobileNetV3Large", "mobilenet_v3_large"),
        ("NASNetMobile", "nasnet_mobile"),
        ("NASNetLarge", "nasnet_large"),
        ("EfficientNetB0", "efficientnet_b0"),
        ("EfficientNetB7", "efficientnet_b7"),
        ("EfficientNetV2B0", "efficientnet_v2_b0"),
        ("EfficientNetV2B3", "efficientnet_v2_b3"),
        ("EfficientNetV2S", "efficientnet_v2_s"),
        ("EfficientNetV2M", "efficientnet_v2_m"),
        ("EfficientNetV2L", "efficientnet_v2_l"),
    ] {
        assert_eq!(by_name(keras_name).unwrap().snake_name, snake);
        assert_eq!(by_name(snake).unwrap().name, keras_name);
    }
}
