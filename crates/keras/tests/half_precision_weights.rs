//! Keras models whose layers keep their variables in float16 or bfloat16 (`dtype="float16"`,
//! `dtype="bfloat16"`) load: keras-rs widens the stored weights and optimizer slots exactly to
//! float32 and computes in float32, so it predicts what a float32 Keras model with the same
//! weights predicts, and trains on from the saved optimizer state. A re-save writes a float32
//! model. Fixtures: `fixtures/saving/make_half_fixtures.py` (Keras 3.15.1).

mod common;

use common::{fixtures, max_diff as max_abs_diff, TempDir};

use keras::models::load_model;
use keras::saving::inspect_h5;
use keras::{PredictArgs, Tensor};

const POLICIES: [&str; 3] = ["float16", "bfloat16", "mixed_float16"];

fn npy(name: &str) -> Tensor {
    keras::io::npy::read(fixtures().join("saving").join(name)).unwrap()
}

fn layout(path: &std::path::Path) -> keras::saving::H5Layout {
    inspect_h5(&std::fs::read(path).unwrap()).unwrap()
}

/// The fixtures hold what the tests below claim: Keras's `.weights.h5` (the same writer as
/// the `.keras` file's weights) stores the policy layers' variables and slots in half
/// precision, and `inspect_h5` names the types as NumPy does.
#[test]
fn half_precision_weights_are_read_as_keras_stores_them() {
    let saving = fixtures().join("saving");
    for (policy, dtype) in [("float16", "float16"), ("bfloat16", "bfloat16"), ("mixed_float16", "float32")] {
        let l = layout(&saving.join(format!("half_{policy}.weights.h5")));
        let dense = l.datasets.iter().find(|d| d.path == "layers/dense/vars/0").unwrap();
        assert_eq!((dense.dtype.as_str(), dense.shape.as_slice()), (dtype, &[27, 4][..]), "{policy}");
        // The float32 output layer stays float32 under every policy.
        let out = l.datasets.iter().find(|d| d.path == "layers/dense_1/vars/0").unwrap();
        assert_eq!(out.dtype, "float32", "{policy}");
        let slots =
            l.datasets.iter().filter(|d| d.path.starts_with("optimizer/") && d.dtype == dtype).count();
        assert!(slots >= 4, "{policy}: {slots} optimizer slots in {dtype}");
        // Each value widens exactly: the weights file and the .keras file agree.
        let kernel = keras::saving::read_h5_dataset(
            &std::fs::read(saving.join(format!("half_{policy}.weights.h5"))).unwrap(),
            "layers/dense/vars/0",
        )
        .unwrap();
        let m = load_model(saving.join(format!("half_{policy}.keras"))).unwrap();
        // Keras names the file's groups by class (`dense`), the layers by creation (`dense_2`).
        let loaded = m.weights().into_iter().find(|v| v.shape() == [27, 4]).unwrap().value();
        assert_eq!(kernel.to_f32_vec(), loaded.to_f32_vec(), "{policy}");
    }
}

#[test]
fn load_weights_reads_half_precision_weights_files() {
    let saving = fixtures().join("saving");
    let x = npy("half_x.npy");
    for policy in POLICIES {
        let mut m = load_model(saving.join(format!("half_{policy}.keras"))).unwrap();
        let before = m.get_weights();
        let zeros: Vec<Tensor> = before.iter().map(|w| Tensor::zeros(w.shape())).collect();
        m.set_weights(&zeros).unwrap();
        m.load_weights(saving.join(format!("half_{policy}.weights.h5"))).unwrap();
        for (a, b) in before.iter().zip(m.get_weights()) {
            assert_eq!(a.to_f32_vec(), b.to_f32_vec(), "{policy}");
        }
        let y = m.predict(&x, PredictArgs::default().verbose(0)).unwrap().remove(0);
        assert!(max_abs_diff(&y, &npy(&format!("half_{policy}_f32.npy"))) < 1e-6, "{policy}");
    }
}

#[test]
fn models_with_half_precision_variables_predict_as_float32_keras() {
    let saving = fixtures().join("saving");
    let x = npy("half_x.npy");
    for policy in POLICIES {
        let f32_ref = npy(&format!("half_{policy}_f32.npy"));
        let keras_half = npy(&format!("half_{policy}_keras.npy"));
        let mut files = vec![format!("half_{policy}.keras")];
        // Keras's legacy .h5 writer stores bfloat16 without a dtype; see the test below.
        if policy != "bfloat16" {
            files.push(format!("half_{policy}.h5"));
        }
        for file in files {
            let m = load_model(saving.join(&file)).unwrap();
            let y = m.predict(&x, PredictArgs::default().verbose(0)).unwrap().remove(0);
            let d = max_abs_diff(&y, &f32_ref);
            assert!(d < 1e-6, "{file}: {d} from the float32 model with the same weights");
            // Keras itself computes in half precision: the same function, rounded coarser.
            let coarse = max_abs_diff(&y, &keras_half);
            println!(
                "{file}: max |keras-rs - float32 Keras| {d:.2e}, |keras-rs - Keras in {policy}| {coarse:.2e}"
            );
            assert!(coarse < 1e-2, "{file}: {coarse} from Keras's half-precision predict");
        }
    }
}

#[test]
fn half_precision_optimizer_state_is_restored_and_training_goes_on() {
    let saving = fixtures().join("saving");
    let (x, y) = (npy("half_x.npy"), npy("half_y.npy"));
    for policy in POLICIES {
        let mut m =
            load_model(saving.join(format!("half_{policy}.keras"))).unwrap().into_functional().unwrap();
        assert!(m.compile_state().is_some(), "{policy}: compiled as saved");
        m.train_on_batch(&x, &y, None).unwrap();
        let after = m.predict(&x, PredictArgs::default().verbose(0)).unwrap().remove(0);
        let want = npy(&format!("half_{policy}_after_f32.npy"));
        let d = max_abs_diff(&after, &want);
        println!("{policy}: one more Adam step, max |keras-rs - float32 Keras| {d:.2e}");
        assert!(d < 1e-6, "{policy}: {d} from Keras's float32 step from the widened state");
    }
}

#[test]
fn a_resave_writes_a_float32_model_with_the_same_values() {
    let saving = fixtures().join("saving");
    let dir = TempDir::new("half_resave");
    let x = npy("half_x.npy");
    for policy in POLICIES {
        let m = load_model(saving.join(format!("half_{policy}.keras"))).unwrap();
        let out = dir.join(&format!("{policy}.keras"));
        m.save(&out).unwrap();
        let weights = dir.join(&format!("{policy}.weights.h5"));
        m.save_weights(&weights).unwrap();
        let l = layout(&weights);
        assert!(l.datasets.iter().filter(|d| d.path.starts_with("layers/")).all(|d| d.dtype == "float32"));
        let config = m.get_config().to_string();
        assert!(!config.contains("float16") && !config.contains("bfloat16"), "{policy}: {config}");
        let back = load_model(&out).unwrap();
        for (a, b) in m.get_weights().iter().zip(back.get_weights()) {
            assert_eq!(a.to_f32_vec(), b.to_f32_vec(), "{policy}: weights change in the round trip");
        }
        let args = || PredictArgs::default().verbose(0);
        assert_eq!(
            m.predict(&x, args()).unwrap()[0].to_f32_vec(),
            back.predict(&x, args()).unwrap()[0].to_f32_vec()
        );
    }
}

#[test]
fn legacy_h5_bfloat16_weights_are_a_clear_error() {
    // Keras 3.15 cannot load this file either ("No cast function available."): its legacy
    // writer drops the dtype, leaving bare 2-byte opaque values.
    let e = load_model(fixtures().join("saving/half_bfloat16.h5")).expect_err("an error, not a model");
    let msg = e.to_string();
    assert!(msg.contains("2-byte opaque values without dtype=\"bfloat16\""), "{msg}");
    assert!(msg.contains("half_bfloat16.h5"), "{msg}");
    // Listing the file still works: the untyped values are "other".
    let l = layout(&fixtures().join("saving/half_bfloat16.h5"));
    let kernel = l.datasets.iter().find(|d| d.shape == [27, 4]).unwrap();
    assert_eq!(kernel.dtype, "other");
}
