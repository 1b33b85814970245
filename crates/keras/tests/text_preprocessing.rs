//! Text and sequence preprocessing against files written by Keras, and the time series
//! Sequences driving `fit_sequence`.

use keras::layers::{Dense, Input, LSTM};
use keras::models::Sequential;
use keras::preprocessing::{
    timeseries_dataset_from_array, tokenizer_from_json, TimeseriesDatasetArgs, Tokenizer,
};
use keras::{FitArgs, Tensor};
use serde_json::Value;

fn keras_tokenizer_fixture() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/preprocessing/tokenizer_keras.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn tokenizer_json_is_byte_compatible_with_keras() {
    let fx = keras_tokenizer_fixture();
    let keras_json = fx["to_json"].as_str().unwrap();
    // Read Keras's JSON and write it back: the same bytes.
    let t = tokenizer_from_json(keras_json).unwrap();
    assert_eq!(t.to_json(), keras_json);
    let queries: Vec<&str> = fx["queries"].as_array().unwrap().iter().map(|q| q.as_str().unwrap()).collect();
    let want: Vec<Vec<usize>> = serde_json::from_value(fx["sequences"].clone()).unwrap();
    assert_eq!(t.texts_to_sequences(&queries).unwrap(), want);

    // Fitting the same corpus here gives the same JSON, except for word_docs / index_docs whose
    // order follows Python's set iteration in Keras.
    let corpus =
        ["Café au lait, s'il vous plaît!", "服务 很好 服务", "the \"quoted\" word\ttab", "café CAFÉ"];
    let mut ours = Tokenizer::new().num_words(6).oov_token("<OOV>");
    ours.fit_on_texts(&corpus).unwrap();
    let a: Value = serde_json::from_str(&ours.to_json()).unwrap();
    let b: Value = serde_json::from_str(keras_json).unwrap();
    for (k, v) in b["config"].as_object().unwrap() {
        if k == "word_docs" || k == "index_docs" {
            let x: Value = serde_json::from_str(a["config"][k].as_str().unwrap()).unwrap();
            let y: Value = serde_json::from_str(v.as_str().unwrap()).unwrap();
            let sorted = |m: &Value| {
                let mut v: Vec<(String, Value)> = m.as_object().unwrap().clone().into_iter().collect();
                v.sort_by(|p, q| p.0.cmp(&q.0));
                v
            };
            assert_eq!(sorted(&x), sorted(&y), "{k}");
        } else {
            assert_eq!(&a["config"][k], v, "{k}");
        }
    }
    let m = ours.texts_to_matrix(&queries, "tfidf").unwrap();
    let want: Vec<Vec<f64>> = serde_json::from_value(fx["matrix_tfidf"].clone()).unwrap();
    for (g, w) in m.as_f32().unwrap().iter().zip(want.iter().flatten()) {
        assert!((*g as f64 - w).abs() < 1e-6, "{g} vs {w}");
    }
}

#[test]
fn timeseries_dataset_trains_an_lstm() {
    keras::backend::clear_session();
    keras::utils::set_random_seed(3);
    // A sine wave: predict the value after each window of 8 steps.
    let n = 200;
    let wave: Vec<f32> = (0..n).map(|i| (i as f32 * 0.3).sin()).collect();
    let data = Tensor::new(wave.clone(), [n, 1]).unwrap();
    let targets = Tensor::new(wave[8..].iter().copied().chain([0.0; 8]).collect(), [n, 1]).unwrap();
    let args = TimeseriesDatasetArgs::default().batch_size(Some(16)).end_index(n - 8);
    let mut ds = timeseries_dataset_from_array(&data, Some(&targets), 8, args).unwrap();
    let mut model = Sequential::new();
    model.add(Input::new(&[8, 1])).unwrap();
    model.add(LSTM::new(8)).unwrap();
    model.add(Dense::new(1)).unwrap();
    model.compile("adam", "mse", &[]).unwrap();
    let h = model.fit_sequence(&mut ds, FitArgs::default().epochs(4).verbose(0)).unwrap();
    let loss = &h.history["loss"];
    assert_eq!(loss.len(), 4);
    assert!(loss[3] < loss[0], "loss did not decrease: {loss:?}");
}
