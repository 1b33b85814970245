//! Every Keras-made Functional model of the reference set (and the tf.keras MobileNet) loads,
//! is saved again by keras-rs (`.keras`, legacy `.h5`, `.weights.h5`) and reloads with the
//! same predictions. With `KERAS_RS_EXPORT_DIR` set, the re-saved files, the inputs and Keras's
//! outputs are also written there for `tools/functional/python_check.py`, which loads them
//! with Python Keras.

// `&[x.clone()]` reads as "the list of inputs" in these tests.
#![allow(clippy::cloned_ref_to_slice_refs)]

mod common;

use common::{fixtures, max_diff_all, numbered};
use std::path::PathBuf;

use keras::models::Functional;
use keras::Tensor;

/// `(name, model file, inputs, Keras's outputs)` of every case.
fn cases() -> Vec<(String, PathBuf, Vec<Tensor>, Vec<Tensor>)> {
    let root = fixtures();
    let mut out = Vec::new();
    let mut dirs: Vec<PathBuf> =
        std::fs::read_dir(root.join("oracle/functional")).unwrap().flatten().map(|e| e.path()).collect();
    dirs.sort();
    for d in dirs {
        let name = d.file_name().unwrap().to_string_lossy().into_owned();
        out.push((name, d.join("model.keras"), numbered(&d, "x"), numbered(&d, "y")));
    }
    let tf = root.join("tf_keras_functional");
    out.push((
        "tf_keras_mobilenet".into(),
        tf.join("mobilenet_025.h5"),
        vec![keras::io::npy::read(tf.join("x.npy")).unwrap()],
        vec![keras::io::npy::read(tf.join("y.npy")).unwrap()],
    ));
    out
}

#[test]
fn resaved_models_reload_with_the_same_predictions() {
    let export = std::env::var_os("KERAS_RS_EXPORT_DIR").map(PathBuf::from);
    let tmp = std::env::temp_dir().join(format!("keras_rs_functional_resave_{}", std::process::id()));
    for (name, file, xs, ys) in cases() {
        let model = match Functional::load(&file) {
            Ok(m) => m,
            // Layers another part of the project provides may be missing in this build.
            Err(e) if e.to_string().contains("Unknown layer class") => {
                eprintln!("SKIP {name}: {e}");
                continue;
            }
            Err(e) => panic!("{name}: {e}"),
        };
        let want = model.predict_on_batch(&xs).unwrap();
        let d0 = max_diff_all(&want, &ys);
        assert!(d0 <= 1e-4, "{name}: keras-rs vs Keras {d0}");
        let dir = export.as_ref().map(|e| e.join(&name)).unwrap_or_else(|| tmp.join(&name));
        std::fs::create_dir_all(&dir).unwrap();
        model.save(dir.join("model.keras")).unwrap();
        model.save(dir.join("model.h5")).unwrap();
        model.save_weights(dir.join("model.weights.h5")).unwrap();
        for f in ["model.keras", "model.h5"] {
            let back = Functional::load(dir.join(f)).unwrap();
            let d = max_diff_all(&back.predict_on_batch(&xs).unwrap(), &want);
            assert!(d == 0.0, "{name}/{f}: reloaded predictions differ by {d}");
        }
        let mut fresh = Functional::from_config(&model.get_config()).unwrap();
        fresh.load_weights(dir.join("model.weights.h5")).unwrap();
        assert_eq!(max_diff_all(&fresh.predict_on_batch(&xs).unwrap(), &want), 0.0, "{name}/weights");
        if export.is_some() {
            for (i, x) in xs.iter().enumerate() {
                keras::io::npy::write(dir.join(format!("x{i}.npy")), x).unwrap();
            }
            for (i, y) in ys.iter().enumerate() {
                keras::io::npy::write(dir.join(format!("y{i}.npy")), y).unwrap();
            }
            for (i, y) in want.iter().enumerate() {
                keras::io::npy::write(dir.join(format!("rs{i}.npy")), y).unwrap();
            }
        }
        eprintln!("ok {name}: keras-rs vs Keras max abs diff {d0:e}");
    }
    std::fs::remove_dir_all(&tmp).ok();
}
