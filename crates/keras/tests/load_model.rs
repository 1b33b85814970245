//! `keras::models::load_model` gives back the kind of model the file holds (Keras's
//! `load_model` returns a `Sequential` or a `Functional` instance by the saved `class_name`),
//! from `.keras`, legacy `.h5` and their bytes, compiled as saved.

mod common;

use common::{fixtures, max_diff_all, numbered, TempDir};
use std::path::PathBuf;

use keras::layers::Dense;
use keras::models::{load_model, AnyModel, Functional, Model, Sequential, SymbolicCall};
use keras::saving::{load_model_from_h5_bytes, load_model_from_keras_bytes, load_model_with};
use keras::trainers::{CompileArgs, Losses, Metrics};
use keras::{EvaluateArgs, Input, PredictArgs, Tensor};

fn quiet() -> PredictArgs<'static> {
    PredictArgs::default().verbose(0)
}

#[test]
fn keras_functional_files_load_as_functional_models_that_predict_like_keras() {
    let root = fixtures().join("oracle/functional");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root).unwrap().flatten().map(|e| e.path()).collect();
    dirs.sort();
    let mut worst = 0f32;
    let mut n = 0;
    for dir in dirs.iter().filter(|d| d.join("model.keras").is_file()) {
        let (xs, ys) = (numbered(dir, "x"), numbered(dir, "y"));
        for file in ["model.keras", "model.h5"] {
            let path = dir.join(file);
            let bytes = std::fs::read(&path).unwrap();
            let from_bytes = if file.ends_with(".keras") {
                load_model_from_keras_bytes(&bytes)
            } else {
                load_model_from_h5_bytes(&bytes)
            };
            for m in [load_model(&path).unwrap(), from_bytes.unwrap()] {
                assert_eq!(m.class_name(), "Functional", "{}", path.display());
                assert!(m.as_functional().is_some() && m.as_sequential().is_none());
                assert_eq!(m.input_names().len(), xs.len());
                assert_eq!(m.output_names().len(), ys.len());
                // Keras compiled these with one mse per output: the compile config loads.
                assert!(m.compile_state().is_some(), "{}: not compiled", path.display());
                let got = m.predict(xs.clone(), quiet()).unwrap();
                let d = max_diff_all(&got, &ys);
                assert!(d <= 1e-4, "{}: max abs diff {d}", path.display());
                worst = worst.max(d);
                n += 1;
            }
            let f: Functional = load_model(&path).unwrap().into_functional().unwrap();
            assert_eq!(f.output_names().len(), ys.len());
            // Sequential::load refuses a Functional file with a message that says what to use.
            let e = Sequential::load(&path).unwrap_err().to_string();
            assert!(e.contains("is a Functional model") && e.contains("into_functional"), "{e}");
        }
    }
    assert!(n >= 12, "only {n} loads");
    eprintln!("load_model on Keras Functional files: max abs diff {worst:e} over {n} loads");
}

#[test]
fn keras_sequential_files_load_as_sequential_models() {
    let dir = fixtures().join("oracle/saved_model");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir).unwrap().flatten().map(|e| e.path()).collect();
    cases.retain(|p| p.join("model.keras").is_file());
    cases.sort();
    let case = &cases[0];
    let x = keras::io::npy::read(case.join("input.npy")).unwrap();
    for file in ["model.keras", "model.h5"] {
        let m = load_model(case.join(file)).unwrap();
        assert_eq!(m.class_name(), "Sequential");
        assert_eq!(m.output_names().len(), 1);
        let via_enum = m.predict(&x, quiet()).unwrap();
        let seq = Sequential::load(case.join(file)).unwrap();
        assert_eq!(via_enum[0].to_f32_vec(), seq.predict(&x, quiet()).unwrap().to_f32_vec());
        let name = m.name().to_string();
        let e = m.into_functional().unwrap_err().to_string();
        assert!(
            e.contains(&format!("Model '{name}' is a Sequential model")) && e.contains("from_sequential"),
            "{e}"
        );
        // Functional::load still reads a Sequential file, as the equivalent graph.
        let g = Functional::load(case.join(file)).unwrap();
        assert_eq!(g.predict(&x, quiet()).unwrap()[0].to_f32_vec(), via_enum[0].to_f32_vec());
    }
}

#[test]
fn uncompiled_files_load_uncompiled_and_compile_false_skips_the_config() {
    let saving = fixtures().join("saving");
    for file in ["keras3_uncompiled.keras", "keras3_uncompiled.h5"] {
        let m = load_model(saving.join(file)).unwrap();
        assert_eq!(m.class_name(), "Sequential");
        assert!(m.compile_state().is_none(), "{file}");
    }
    let f = fixtures().join("oracle/functional/two_inputs_two_outputs/model.keras");
    assert!(load_model_with(&f, false).unwrap().compile_state().is_none());

    // A Functional model saved without compile() by keras-rs: `"compile_config": null`.
    let dir = TempDir::new("uncompiled");
    let x = Input::new(&[3]);
    let y = Dense::new(2).apply(&x).unwrap();
    let model = Model::new(&[x], &[y]).unwrap();
    for file in ["m.keras", "m.h5"] {
        model.save(dir.join(file)).unwrap();
        let back = load_model(dir.join(file)).unwrap();
        assert_eq!(back.class_name(), "Functional");
        assert!(back.compile_state().is_none(), "{file}");
    }
}

#[test]
fn per_output_losses_weights_and_metrics_survive_a_round_trip() {
    let dir = TempDir::new("per_output");
    keras::utils::set_random_seed(5);
    let a = Input::named(&[4], "a");
    let b = Input::named(&[2], "b");
    let h = Dense::new(8).activation("relu").name("h").apply(&a).unwrap();
    let cls = Dense::new(3).activation("softmax").name("cls").apply(&h).unwrap();
    let hb = keras::layers::Concatenate::new().apply_list(&[&h, &b]).unwrap();
    let reg = Dense::new(1).name("reg").apply(&hb).unwrap();
    let mut model = Model::new(&[a, b], &[cls, reg]).unwrap();
    model
        .compile_args(
            CompileArgs::new("adam")
                .loss(Losses::from(["sparse_categorical_crossentropy", "mse"]))
                .loss_weights([1.0, 0.5])
                .metrics(Metrics::from(vec![vec!["accuracy"], vec!["mae"]])),
        )
        .unwrap();
    let xa = Tensor::new((0..32).map(|i| (i as f32 * 0.37).sin()).collect(), [8, 4]).unwrap();
    let xb = Tensor::new((0..16).map(|i| (i as f32 * 0.11).cos()).collect(), [8, 2]).unwrap();
    let ycls = Tensor::from_i64((0..8).map(|i| i % 3).collect(), [8]).unwrap();
    let yreg = Tensor::new((0..8).map(|i| i as f32 * 0.1).collect(), [8, 1]).unwrap();
    let xs = vec![xa, xb];
    let ys = vec![ycls, yreg];
    model.fit(xs.clone(), ys.clone(), keras::FitArgs::default().epochs(1).batch_size(4).verbose(0)).unwrap();
    let want = model.evaluate(xs.clone(), ys.clone(), EvaluateArgs::default().verbose(0)).unwrap();
    for file in ["two.keras", "two.h5"] {
        let path = dir.join(file);
        model.save(&path).unwrap();
        let mut back: AnyModel = load_model(&path).unwrap();
        let c = back.compile_state().expect("compiled");
        assert_eq!(c.loss_config(), model.compile_state().unwrap().loss_config(), "{file}");
        assert_eq!(c.loss_weights_config(), model.compile_state().unwrap().loss_weights_config());
        let got = back.evaluate(xs.clone(), ys.clone(), EvaluateArgs::default().verbose(0)).unwrap();
        let keys: Vec<&String> = want.keys().collect();
        assert_eq!(got.keys().collect::<Vec<_>>(), keys, "{file}: log names");
        for (k, v) in want.iter() {
            assert!((got[k] - v).abs() < 1e-5, "{file}: {k}: {} vs {v}", got[k]);
        }
        assert!(
            keys.iter().any(|k| k.as_str() == "cls_accuracy") && keys.iter().any(|k| k.as_str() == "reg_mae")
        );
    }
}

#[test]
fn bad_files_give_errors_never_a_model() {
    let f = fixtures().join("oracle/functional/two_inputs_two_outputs/model.keras");
    let bytes = std::fs::read(&f).unwrap();
    for cut in [10, bytes.len() / 3, bytes.len() - 20] {
        assert!(load_model_from_keras_bytes(&bytes[..cut]).is_err(), "cut at {cut}");
    }
    let h5 = std::fs::read(fixtures().join("oracle/functional/two_inputs_two_outputs/model.h5")).unwrap();
    assert!(load_model_from_h5_bytes(&h5[..h5.len() / 2]).is_err());
    let e = load_model(fixtures().join("missing.keras")).unwrap_err().to_string();
    assert!(e.contains("File not found"), "{e}");
    let e = load_model("model.pb").unwrap_err().to_string();
    assert!(e.contains("File format not supported"), "{e}");
    let e = load_model(fixtures().join("functional_errors/subclassed.keras")).unwrap_err().to_string();
    assert!(e.contains("Could not locate class"), "{e}");
}
