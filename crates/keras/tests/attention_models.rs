//! Keras-made `.keras` files of Functional models with MultiHeadAttention and
//! GroupQueryAttention (`tests/fixtures/attention_models/make_models.py`): keras-rs reads
//! Keras's layout of their projection sub-layers in `model.weights.h5` (`query_dense` for
//! MultiHeadAttention, `_query_dense` for GroupQueryAttention), predicts what Keras predicted,
//! and reads back its own saved file.

use std::path::PathBuf;

use keras::models::load_model;
use keras::{PredictArgs, Tensor};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/attention_models")
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
    assert_eq!(a.shape(), b.shape());
    a.to_f32_vec().iter().zip(b.to_f32_vec()).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

fn check(name: &str) {
    let x = keras::io::npy::read(dir().join(format!("{name}_x.npy"))).unwrap();
    let want = keras::io::npy::read(dir().join(format!("{name}_y.npy"))).unwrap();
    let m = load_model(dir().join(format!("{name}.keras"))).unwrap_or_else(|e| panic!("{name}: {e}"));
    let got = m.predict(&x, PredictArgs::default().verbose(0)).unwrap();
    let d = max_abs_diff(&got[0], &want);
    assert!(d < 1e-5, "{name}: predict differs from Keras by {d}");
    // keras-rs's own file of the same model reads back to the same predictions.
    let path =
        std::env::temp_dir().join(format!("keras_rs_attention_models_{}_{name}.keras", std::process::id()));
    m.save(&path).unwrap();
    let again = load_model(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    let d2 = max_abs_diff(&again.predict(&x, PredictArgs::default().verbose(0)).unwrap()[0], &got[0]);
    assert_eq!(d2, 0.0, "{name}: reloaded keras-rs file predicts differently");
}

#[test]
fn multi_head_attention_model_from_keras() {
    check("mha_block");
}

#[test]
fn group_query_attention_model_from_keras() {
    check("gqa_block");
}
