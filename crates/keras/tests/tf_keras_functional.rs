//! A real tf.keras 2.x Functional `.h5` file (`tf_keras.applications.MobileNet`, made by
//! `tools/functional/make_tf_keras.py`): tf.keras's config form (`[[layer, node, tensor,
//! kwargs]]` inbound nodes, `batch_input_shape`, `:0` weight names) loads, predicts like
//! tf.keras, and survives a keras-rs save and reload in both formats.

// `&[x.clone()]` reads as "the list of inputs" in these tests.
#![allow(clippy::cloned_ref_to_slice_refs)]

mod common;

use common::max_diff;
use keras::models::Functional;
use keras::PredictArgs;

fn dir() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tf_keras_functional")
}

#[test]
fn tf_keras_mobilenet_h5_predicts_like_tf_keras() {
    let model = Functional::load(dir().join("mobilenet_025.h5")).unwrap();
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir().join("meta.json")).unwrap()).unwrap();
    assert_eq!(model.count_params() as u64, meta["params"].as_u64().unwrap());
    let x = keras::io::npy::read(dir().join("x.npy")).unwrap();
    let y = keras::io::npy::read(dir().join("y.npy")).unwrap();
    let got = model.predict(x.clone(), PredictArgs { verbose: 0, ..Default::default() }).unwrap().remove(0);
    let d = max_diff(&got, &y);
    assert!(d <= 1e-4, "max abs diff {d}");
    let tmp = std::env::temp_dir().join(format!("keras_rs_tf_keras_functional_{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    for file in ["m.keras", "m.h5"] {
        model.save(tmp.join(file)).unwrap();
        let back = Functional::load(tmp.join(file)).unwrap();
        let d = max_diff(&back.predict_on_batch(std::slice::from_ref(&x)).unwrap()[0], &y);
        assert!(d <= 1e-4, "{file}: max abs diff {d}");
    }
    std::fs::remove_dir_all(&tmp).ok();
}
