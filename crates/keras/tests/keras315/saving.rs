//! Files written by Keras 3 without `compile()`, and tf.keras 2 files whose optimizer state
//! or recurrent activation do not line up with Keras 3 (fixtures/saving/make_compat_fixtures.py).

use std::path::PathBuf;

use keras::models::Sequential;
use keras::{PredictArgs, Tensor};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/saving").join(name)
}

fn npy(name: &str) -> Tensor {
    keras::io::npy::read(fixture(name)).unwrap()
}

fn assert_close(got: &Tensor, want: &Tensor, tol: f32, what: &str) {
    assert_eq!(got.shape(), want.shape(), "{what}");
    for (i, (a, b)) in got.to_f32_vec().iter().zip(want.to_f32_vec()).enumerate() {
        assert!((a - b).abs() <= tol * (1.0 + b.abs()), "{what}[{i}]: {a} vs {b}");
    }
}

fn predict(m: &Sequential, x: &Tensor) -> Tensor {
    m.predict(x, PredictArgs::default().verbose(0)).unwrap()
}

#[test]
fn keras3_files_saved_without_compile_load_uncompiled() {
    let x = npy("keras3_uncompiled_input.npy");
    let want = npy("keras3_uncompiled_expected.npy");
    for file in ["keras3_uncompiled.keras", "keras3_uncompiled.h5"] {
        let m = Sequential::load(fixture(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(m.compile_state().is_none(), "{file} must load uncompiled");
        assert_close(&predict(&m, &x), &want, 1e-6, file);
    }
    // The weights file goes into the same architecture rebuilt from the .keras file.
    let mut m = Sequential::load(fixture("keras3_uncompiled.keras")).unwrap();
    m.load_weights(fixture("keras3_uncompiled.weights.h5")).unwrap();
    assert_close(&predict(&m, &x), &want, 1e-6, "weights.h5");
}

/// Loads `tf2_opt_<name>.h5`, trains one more batch, and compares the weights with what
/// Keras 3 computes from the same state mapped by name (for every optimizer but Nadam this is
/// also what tf.keras computes): equal only when the state and iteration count were restored.
fn continue_like_tf_keras(name: &str) -> Sequential {
    let mut m = Sequential::load(fixture(&format!("tf2_opt_{name}.h5"))).unwrap();
    assert_eq!(m.compile_state().unwrap().optimizer.iterations(), 2, "{name}");
    let (x, y) = (npy(&format!("tf2_opt_{name}_x.npy")), npy(&format!("tf2_opt_{name}_y.npy")));
    m.train_on_batch(&x, &y, None).unwrap();
    let w = m.get_weights();
    assert_close(&w[0], &npy(&format!("tf2_opt_{name}_kernel.npy")), 1e-5, name);
    assert_close(&w[1], &npy(&format!("tf2_opt_{name}_bias.npy")), 1e-5, name);
    m
}

#[test]
fn tf_keras_optimizer_state_maps_onto_keras3() {
    // Nadam: m / v restored, u_product recomputed from the iteration count.
    let m = continue_like_tf_keras("nadam");
    let vars = m.compile_state().unwrap().optimizer.variables();
    let names: Vec<&str> = vars.iter().map(|(n, _)| n.as_str()).collect();
    assert!(names.iter().any(|n| n.ends_with("variable")), "{names:?}");
    // SGD(momentum=0): the saved momentum slots are dropped (Keras 3 keeps none).
    continue_like_tf_keras("sgd0");
    continue_like_tf_keras("sgdm");
    continue_like_tf_keras("adamax");
    continue_like_tf_keras("legacy_adam");
    continue_like_tf_keras("legacy_nadam");
}

#[test]
fn legacy_nadam_restores_slots_and_iterations() {
    // tf.keras's legacy Nadam follows another schedule (momentum_cache), so only its state is
    // checked: the iteration count and the m / v slots come back, momentum_cache is dropped.
    let m = Sequential::load(fixture("tf2_opt_legacy_nadam.h5")).unwrap();
    let opt = &m.compile_state().unwrap().optimizer;
    assert_eq!(opt.iterations(), 2);
    let bytes = std::fs::read(fixture("tf2_opt_legacy_nadam.h5")).unwrap();
    let saved_m = keras::saving::read_h5_dataset(&bytes, "optimizer_weights/Nadam/dense/kernel/m:0").unwrap();
    let vars = opt.variables();
    let (_, got) = vars.iter().find(|(n, _)| n.ends_with("dense_kernel_momentum")).unwrap();
    assert_eq!(got.to_f32_vec(), saved_m.to_f32_vec());
}

#[test]
fn tf_keras_hard_sigmoid_recurrent_layers_run_as_keras3() {
    let m = Sequential::load(fixture("tf2_hard_sigmoid.h5")).unwrap();
    let x = npy("tf2_hard_sigmoid_input.npy");
    let got = predict(&m, &x);
    assert_close(&got, &npy("tf2_hard_sigmoid_expected.npy"), 2e-5, "hard_sigmoid");
    // Keras 2's 0.2 x + 0.5 gives other numbers: the file is read with Keras 3's meaning.
    let tf2 = npy("tf2_hard_sigmoid_tf2.npy");
    let differs = got.to_f32_vec().iter().zip(tf2.to_f32_vec()).any(|(a, b)| (a - b).abs() > 1e-3);
    assert!(differs);
}
