//! Recurrent layers called with `initial_state=` inside Functional models: Keras's
//! sequence-to-sequence pattern (an encoder returns its final states, a decoder starts from
//! them), as a user meets it. Each case is a `.keras` file made by Keras 3.15
//! (`tests/fixtures/seq2seq/make_fixtures.py`): loaded, it must predict as Keras did, train for
//! two epochs to Keras's weights and losses, and predict as Keras did after training. The same
//! graphs built from Rust must match the loaded ones, and the errors promised for bad states
//! have tests.

use std::path::{Path, PathBuf};

use keras::layers::{Bidirectional, Dense, Layer, SimpleRNN, GRU, LSTM};
use keras::models::{load_model, Functional, SymbolicCall};
use keras::{optimizers, FitArgs, Input, PredictArgs, Tensor};
use serde_json::Value;

fn case_dir(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/seq2seq").join(name)
}

fn read(dir: &Path, file: &str) -> Tensor {
    keras::io::npy::read(dir.join(file)).unwrap_or_else(|e| panic!("{}: {e}", dir.join(file).display()))
}

fn case_json(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("case.json")).unwrap()).unwrap()
}

fn inputs(dir: &Path, case: &Value) -> Vec<Tensor> {
    (0..)
        .map_while(|i| case["arrays"].get(format!("x{i}")).map(|a| read(dir, a["file"].as_str().unwrap())))
        .collect()
}

fn assert_close(what: &str, got: &Tensor, want: &Tensor, tol: &Value) {
    let (rtol, atol) = (tol["rtol"].as_f64().unwrap() as f32, tol["atol"].as_f64().unwrap() as f32);
    assert_eq!(got.shape(), want.shape(), "{what}: shape");
    let (g, w) = (got.to_f32_vec(), want.to_f32_vec());
    for (i, (a, b)) in g.iter().zip(&w).enumerate() {
        assert!(
            (a - b).abs() <= atol + rtol * b.abs(),
            "{what}[{i}]: got {a}, Keras {b} (rtol {rtol}, atol {atol})"
        );
    }
}

/// Loads a case's model, checks predictions before training, fits as Keras did, and checks
/// the History, every final weight (by path, in `model.weights` order) and the predictions
/// after training.
fn check_case(name: &str) {
    let dir = case_dir(name);
    let case = case_json(&dir);
    let tol = &case["tolerance"];
    let mut model: Functional = load_model(dir.join("model.keras")).unwrap().into_functional().unwrap();
    let x = inputs(&dir, &case);
    let y = read(&dir, case["arrays"]["y"]["file"].as_str().unwrap());
    let batch_size = case["fit"]["batch_size"].as_u64().unwrap() as usize;

    let pred =
        model.predict(x.clone(), PredictArgs { batch_size, verbose: 0, ..Default::default() }).unwrap();
    assert_close(&format!("{name} pred_before"), &pred[0], &read(&dir, "pred_before.npy"), tol);

    let opt = &case["compile"]["optimizer"];
    let optimizer = optimizers::deserialize(&serde_json::json!({
        "class_name": opt["class_name"],
        "config": {"learning_rate": opt["learning_rate"]},
    }))
    .unwrap();
    model.compile(optimizer, case["compile"]["loss"].as_str().unwrap(), &[]).unwrap();
    let epochs = case["fit"]["epochs"].as_u64().unwrap() as usize;
    let hist = model
        .fit(x.clone(), y, FitArgs { batch_size, epochs, shuffle: false, verbose: 0, ..Default::default() })
        .unwrap();
    let want_loss: Vec<f64> =
        case["history"]["loss"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    for (e, (got, want)) in hist.history["loss"].iter().zip(&want_loss).enumerate() {
        assert!(
            ((*got as f64) - want).abs() <= 1e-4 * want.abs() + 1e-5,
            "{name} loss of epoch {e}: {got} vs Keras {want}"
        );
    }

    let weights = model.weights();
    let want = case["weights"].as_array().unwrap();
    assert_eq!(weights.len(), want.len(), "{name}: number of weights");
    for (v, w) in weights.iter().zip(want) {
        assert_eq!(v.path(), w["path"].as_str().unwrap(), "{name}: weight order");
        let value = v.value();
        assert_close(
            &format!("{name} {}", v.path()),
            value,
            &read(&dir, w["final"]["file"].as_str().unwrap()),
            tol,
        );
    }
    let pred = model.predict(x, PredictArgs { batch_size, verbose: 0, ..Default::default() }).unwrap();
    assert_close(&format!("{name} pred_after"), &pred[0], &read(&dir, "pred_after.npy"), tol);
}

#[test]
fn lstm_decoder_starts_from_the_encoder_states_as_in_keras() {
    check_case("lstm_encoder_decoder");
}

#[test]
fn bidirectional_gives_each_direction_its_half_of_the_initial_state_as_in_keras() {
    check_case("bidirectional_gru_states");
}

#[test]
fn simple_rnn_and_cell_rnn_take_a_state_computed_from_side_features_as_in_keras() {
    check_case("conditioned_rnns");
}

#[test]
fn states_given_by_position_start_the_decoder_as_in_keras() {
    check_case("positional_states");
}

/// A tf.keras 2 `.h5` file records `decoder(x, initial_state=[h, c])` as the inbound tensors
/// `[x, h, c]` (a Bidirectional's too, with `initial_state: None` beside them): loaded, the
/// model predicts as tf.keras did, and saved again it writes Keras 3's `initial_state=`.
#[test]
fn tf_keras_seq2seq_h5_files_load_and_predict_as_tf_keras() {
    let dir = case_dir("tf_keras_seq2seq");
    let case = case_json(&dir);
    let model: Functional = load_model(dir.join("model.h5")).unwrap().into_functional().unwrap();
    let x = inputs(&dir, &case);
    let pred = model.predict(x.clone(), PredictArgs { verbose: 0, ..Default::default() }).unwrap();
    assert_close("tf.keras pred", &pred[0], &read(&dir, "pred_before.npy"), &case["tolerance"]);
    let cfg = model.get_config();
    let decoder = cfg["layers"].as_array().unwrap().iter().find(|l| l["name"] == "decoder").unwrap();
    let node = &decoder["inbound_nodes"][0];
    assert_eq!(node["args"].as_array().unwrap().len(), 1);
    assert_eq!(
        node["kwargs"]["initial_state"][1]["config"]["keras_history"],
        serde_json::json!(["encoder", 0, 2])
    );
}

/// The encoder-decoder of `lstm_encoder_decoder` built from Rust: the same config (so the same
/// graph as Keras's), and the loaded weights give the same predictions.
#[test]
fn the_encoder_decoder_built_from_rust_is_keras_s_graph() {
    let dir = case_dir("lstm_encoder_decoder");
    let case = case_json(&dir);
    let enc_in = Input::named(&[6, 5], "enc_in");
    let enc_out =
        LSTM::new(8).return_state(true).name("encoder").apply_outputs(std::slice::from_ref(&enc_in)).unwrap();
    let dec_in = Input::named(&[4, 4], "dec_in");
    let seq =
        LSTM::new(8).return_sequences(true).name("decoder").apply_with_state(&dec_in, &enc_out[1..]).unwrap();
    let out = Dense::new(3).activation("softmax").name("proj").apply(&seq[0]).unwrap();
    assert_eq!(out.shape(), &[None, Some(4), Some(3)]);
    let mut model = Functional::named("lstm_seq2seq", &[enc_in, dec_in], &[out]).unwrap();

    let loaded: Functional = load_model(dir.join("model.keras")).unwrap().into_functional().unwrap();
    let layers = |cfg: &Value| cfg["layers"].as_array().unwrap().clone();
    let (mine, keras_cfg) = (model.get_config(), loaded.get_config());
    // The same nodes: positional arguments and `initial_state` (Keras also writes the
    // defaults `training=False, mask=None` of a plain RNN call, which change nothing).
    let (mine, keras_layers) = (layers(&mine), layers(&keras_cfg));
    assert_eq!(mine.len(), keras_layers.len());
    for (a, b) in mine.iter().zip(&keras_layers) {
        let (na, nb) = (&a["inbound_nodes"], &b["inbound_nodes"]);
        assert_eq!(na.as_array().map(Vec::len), nb.as_array().map(Vec::len), "{}", a["name"]);
        for (x, y) in na.as_array().unwrap().iter().zip(nb.as_array().unwrap()) {
            assert_eq!(x["args"], y["args"], "{}", a["name"]);
            assert_eq!(x["kwargs"]["initial_state"], y["kwargs"]["initial_state"], "{}", a["name"]);
        }
    }
    model.set_weights(&loaded.get_weights()).unwrap();
    let x = inputs(&dir, &case);
    let pred = model.predict(x.clone(), PredictArgs { verbose: 0, ..Default::default() }).unwrap();
    assert_close("rust-built pred", &pred[0], &read(&dir, "pred_before.npy"), &case["tolerance"]);

    // Saved and loaded again, the decoder still starts from the encoder's states.
    let path = std::env::temp_dir().join(format!("keras_rs_seq2seq_{}.keras", std::process::id()));
    model.save(&path).unwrap();
    let again: Functional = load_model(&path).unwrap().into_functional().unwrap();
    std::fs::remove_file(&path).unwrap();
    let pred2 = again.predict(x, PredictArgs { verbose: 0, ..Default::default() }).unwrap();
    assert_eq!(pred2[0].to_f32_vec(), pred[0].to_f32_vec());
}

/// What Keras refuses is refused: `initial_state` on a layer without it, a list with a
/// missing entry, states of the wrong count or width when the model runs, and more than one
/// positional input.
#[test]
fn bad_initial_states_are_errors() {
    let fresh = |state: usize| (Input::new(&[3, 2]), Input::new(&[state]));
    let run = |model: &Functional, state: usize| {
        let xs = vec![Tensor::zeros(vec![2, 3, 2]), Tensor::zeros(vec![2, state])];
        model.predict(xs, PredictArgs { verbose: 0, ..Default::default() }).unwrap_err().to_string()
    };
    let (x, h) = fresh(4);
    let e = Dense::new(4).apply_with_state(&x, &[h]).unwrap_err().to_string();
    assert!(e.contains("Dense.call() got an unexpected keyword argument 'initial_state'"), "{e}");

    let (x, h) = fresh(4);
    let layer = keras::models::SharedLayer::new(GRU::new(4));
    let kwargs =
        keras::layers::CallKwargs::new().with_tensor_list("initial_state", vec![Some(h.clone()), None]);
    let out = layer.apply_with_kwargs(std::slice::from_ref(&x), false, kwargs).unwrap();
    let e = run(&Functional::new(&[x, h], &[out[0].clone()]).unwrap(), 4);
    assert!(e.contains("every entry of `initial_state` must be a tensor"), "{e}");

    // An LSTM given one state where it needs two, and a state of the wrong width.
    let (x, h) = fresh(4);
    let out = LSTM::new(4).apply_with_state(&x, std::slice::from_ref(&h)).unwrap();
    let e = run(&Functional::new(&[x, h], &out).unwrap(), 4);
    assert!(e.contains("expects 2 initial state tensor(s)"), "{e}");
    let (x, h) = fresh(5);
    let out = GRU::new(4).apply_with_state(&x, std::slice::from_ref(&h)).unwrap();
    let e = run(&Functional::new(&[x, h], &out).unwrap(), 5);
    assert!(e.contains("initial state") && e.contains("[2, 5]"), "{e}");

    // States go in `initial_state=`, not as more positional inputs.
    let (x, h) = fresh(4);
    let e = GRU::new(4).apply_outputs(&[x, h]).unwrap_err().to_string();
    assert!(e.contains("expects 1 input, but it received 2 input tensors"), "{e}");
}

/// Eager calls: `call_with_state` on the layers, and `Bidirectional` splitting the list.
#[test]
fn eager_initial_states_match_the_graph() {
    let x = Tensor::new((0..2 * 3 * 4).map(|i| ((i as f32) * 0.37).sin()).collect(), [2, 3, 4]).unwrap();
    let h = Tensor::new((0..2 * 5).map(|i| ((i as f32) * 0.61).cos() * 0.5).collect(), [2, 5]).unwrap();
    let mut ctx = keras::layers::CallContext::new(false);

    let mut rnn = SimpleRNN::new(5);
    rnn.build(&[None, Some(3), Some(4)]).unwrap();
    let zero_start = rnn.call(&x, &mut ctx).unwrap();
    let from_h = rnn.call_with_state(&x, std::slice::from_ref(&h), None, &mut ctx).unwrap();
    assert_ne!(zero_start.to_f32_vec(), from_h[0].to_f32_vec(), "the initial state must matter");

    let mut bi = Bidirectional::new(GRU::new(5).return_sequences(true));
    bi.build(&[None, Some(3), Some(4)]).unwrap();
    let h2 = keras::ops::scale(&h, -0.5).unwrap();
    let both = bi.call_with_state(&x, &[h.clone(), h2.clone()], None, &mut ctx).unwrap();
    assert_eq!(both[0].shape(), &[2, 3, 10]);
    let none = bi.call_outputs(&x, None, &mut ctx).unwrap();
    assert_ne!(both[0].to_f32_vec(), none[0].to_f32_vec());

    // An odd number of states cannot be halved; a state of the wrong width is refused.
    let e = bi.call_with_state(&x, std::slice::from_ref(&h), None, &mut ctx).unwrap_err().to_string();
    assert!(e.contains("initial state"), "{e}");
    let wide = Tensor::zeros(vec![2, 7]);
    let e = rnn.call_with_state(&x, &[wide], None, &mut ctx).unwrap_err().to_string();
    assert!(e.contains("state"), "{e}");
}
