//! Tests of the recurrent layers: configs against the Keras reference cases, error paths,
//! masking, stateful carry, wrappers.

use keras_engine::GradientTape;
use serde_json::Value;

use super::*;
use crate::layers::{self, CallContext, Dense, Embedding, Layer, Masking};
use crate::models::Sequential;
use crate::{Error, Tensor};

fn seq(b: usize, t: usize, d: usize) -> Tensor {
    Tensor::new((0..b * t * d).map(|i| ((i as f32) * 0.37).sin()).collect(), [b, t, d]).unwrap()
}

#[test]
fn configs_match_keras_exactly_including_key_order() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/oracle/layer");
    let mut checked = 0;
    for entry in std::fs::read_dir(&root).unwrap().flatten() {
        let Ok(text) = std::fs::read_to_string(entry.path().join("case.json")) else { continue };
        let case: Value = serde_json::from_str(&text).unwrap();
        let class = case["class_name"].as_str().unwrap_or("");
        if !["SimpleRNN", "LSTM", "GRU", "Bidirectional", "Embedding"].contains(&class) {
            continue;
        }
        let mut layer = layers::deserialize(&case["serialized"]).unwrap();
        let shape: Vec<Option<usize>> =
            case["input_shape"].as_array().unwrap().iter().map(|d| d.as_u64().map(|v| v as usize)).collect();
        layer.build(&shape).unwrap();
        assert_eq!(
            serde_json::to_string(&layer.get_config()).unwrap(),
            serde_json::to_string(&case["config"]).unwrap(),
            "{class}"
        );
        let paths: Vec<&str> = layer.weights().iter().map(|w| w.path()).collect();
        let want: Vec<&str> =
            case["weights"].as_array().unwrap().iter().map(|w| w["path"].as_str().unwrap()).collect();
        assert_eq!(paths, want, "{class}");
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} cases found");
}

#[test]
fn wrong_input_rank_names_the_layer() {
    let mut l = LSTM::new(3).name("my_lstm");
    let e = l.build(&[None, Some(4)]).unwrap_err();
    assert!(
        matches!(e, Error::Shape(_)) && e.to_string().contains("my_lstm") && e.to_string().contains("ndim=2"),
        "{e}"
    );
    l.build(&[None, Some(5), Some(4)]).unwrap();
    let e = l.call(&Tensor::ones([2, 4]), &mut CallContext::new(false)).unwrap_err();
    assert!(e.to_string().contains("my_lstm") && e.to_string().contains("expected ndim=3"), "{e}");
    let e = l.call(&Tensor::ones([2, 5, 3]), &mut CallContext::new(false)).unwrap_err();
    assert!(e.to_string().contains("value 4"), "{e}");
    let bad_mask = Tensor::ones([2, 4]);
    assert!(l.call_masked(&Tensor::ones([2, 5, 4]), Some(&bad_mask), &mut CallContext::new(false)).is_err());
    let unbuilt = GRU::new(2);
    assert!(matches!(
        unbuilt.call(&Tensor::ones([1, 2, 3]), &mut CallContext::new(false)),
        Err(Error::State(_))
    ));
}

#[test]
fn invalid_arguments_are_reported_when_added() {
    let mut m = Sequential::new();
    let e = m.add(LSTM::new(4).dropout(1.5).input_shape(&[3, 2])).unwrap_err();
    assert!(e.to_string().contains("dropout=1.5"), "{e}");
    let e = m.add(GRU::new(4).recurrent_dropout(-0.1).input_shape(&[3, 2])).unwrap_err();
    assert!(e.to_string().contains("recurrent_dropout=-0.1"), "{e}");
    let e = m.add(SimpleRNN::new(0).input_shape(&[3, 2])).unwrap_err();
    assert!(e.to_string().contains("units"), "{e}");
    let e = m.add(LSTM::new(2).activation("softmax").input_shape(&[3, 2])).unwrap_err();
    assert!(e.to_string().contains("softmax"), "{e}");
    let e = m.add(LSTM::new(2).recurrent_activation("nope").input_shape(&[3, 2])).unwrap_err();
    assert!(e.to_string().contains("nope"), "{e}");
    let e = m.add(Bidirectional::new(LSTM::new(2)).merge_mode(Some("max")).input_shape(&[3, 2])).unwrap_err();
    assert!(e.to_string().contains("merge_mode=max"), "{e}");
    let e = m
        .add(Bidirectional::new(LSTM::new(2)).backward_layer(LSTM::new(2)).input_shape(&[3, 2]))
        .unwrap_err();
    assert!(e.to_string().contains("go_backwards"), "{e}");
    let cfg = serde_json::json!({"class_name": "Bidirectional", "config": {"layer": {"class_name": "Dense", "config": {"units": 2}}}});
    assert!(layers::deserialize(&cfg).is_err());
    let e = m.add(TimeDistributed::new(Dense::new(2)).input_shape(&[3])).unwrap_err();
    assert!(e.to_string().contains("at least 3 dimensions"), "{e}");
}

#[test]
fn masked_steps_carry_state_and_output() {
    // Embedding(mask_zero) -> LSTM(return_sequences): the masked middle step repeats the
    // previous output; the last output equals running on the unmasked steps only.
    let mut emb = Embedding::new(5, 3).mask_zero(true);
    emb.build(&[None, Some(3)]).unwrap();
    let mut lstm = LSTM::new(2).return_sequences(true);
    lstm.build(&[None, Some(3), Some(3)]).unwrap();
    let mut ctx = CallContext::new(false);
    let ids = Tensor::from_i32(vec![1, 0, 2], [1, 3]).unwrap();
    let x = emb.call(&ids, &mut ctx).unwrap();
    let mask = emb.compute_mask(&ids, None).unwrap();
    let y = lstm.call_masked(&x, mask.as_ref(), &mut ctx).unwrap().to_f32_vec();
    assert_eq!(&y[0..2], &y[2..4]);
    let ids2 = Tensor::from_i32(vec![1, 2], [1, 2]).unwrap();
    let y2 = lstm.call(&emb.call(&ids2, &mut ctx).unwrap(), &mut ctx).unwrap().to_f32_vec();
    assert!((y[4] - y2[2]).abs() < 1e-6 && (y[5] - y2[3]).abs() < 1e-6);
    assert!(lstm.compute_mask(&x, mask.as_ref()).unwrap().is_some());

    // Through a Sequential model with a Masking layer: padded samples give the same output as
    // unpadded ones.
    let mut m = Sequential::new();
    m.add(Masking::new(0.0).input_shape(&[3, 2])).unwrap();
    m.add(GRU::new(2)).unwrap();
    let padded = Tensor::new(vec![0.5, -1.0, 0.3, 0.2, 0.0, 0.0], [1, 3, 2]).unwrap();
    let short = Tensor::new(vec![0.5, -1.0, 0.3, 0.2], [1, 2, 2]).unwrap();
    let a = m.call(&padded, false).unwrap().to_f32_vec();
    let gru = m.layers()[1].as_any().downcast_ref::<GRU>().unwrap();
    let b = gru.call(&short, &mut ctx).unwrap().to_f32_vec();
    assert!((a[0] - b[0]).abs() < 1e-6 && (a[1] - b[1]).abs() < 1e-6);
}

#[test]
fn stateful_layers_carry_states_until_reset() {
    let mut l = SimpleRNN::new(2).stateful(true);
    l.build(&[Some(1), Some(2), Some(3)]).unwrap();
    let x = seq(1, 2, 3);
    let mut ctx = CallContext::new(false);
    let first = l.call(&x, &mut ctx).unwrap().to_f32_vec();
    let second = l.call(&x, &mut ctx).unwrap().to_f32_vec();
    assert_ne!(first, second);
    assert!(l.states().is_some());
    l.reset_states();
    assert_eq!(l.call(&x, &mut ctx).unwrap().to_f32_vec(), first);
    let e = l.call(&seq(2, 2, 3), &mut ctx).unwrap_err();
    assert!(e.to_string().contains("stateful"), "{e}");
}

#[test]
fn return_state_and_initial_states() {
    let mut l = LSTM::new(2).return_state(true);
    l.build(&[None, Some(4), Some(3)]).unwrap();
    let x = seq(2, 4, 3);
    let mut ctx = CallContext::new(false);
    let outs = l.call_outputs(&x, None, &mut ctx).unwrap();
    assert_eq!(outs.len(), 3);
    assert_eq!(outs[0].to_f32_vec(), outs[1].to_f32_vec());
    // Continuing from the returned state equals running the longer sequence.
    let x1 = Tensor::new(x.to_f32_vec()[..].chunks(12).flat_map(|r| r[..6].to_vec()).collect(), [2, 2, 3])
        .unwrap();
    let x2 = Tensor::new(x.to_f32_vec()[..].chunks(12).flat_map(|r| r[6..].to_vec()).collect(), [2, 2, 3])
        .unwrap();
    let part = l.call_outputs(&x1, None, &mut ctx).unwrap();
    let rest = l.call_with_state(&x2, &part[1..], None, &mut ctx).unwrap();
    for (a, b) in rest[0].to_f32_vec().iter().zip(outs[0].to_f32_vec()) {
        assert!((a - b).abs() < 1e-6);
    }
    assert!(l.call_with_state(&x2, &part[1..2], None, &mut ctx).is_err());
}

#[test]
fn dropout_only_in_training_and_gradients_flow() {
    let mut l = GRU::new(3).dropout(0.5).recurrent_dropout(0.5).seed(3);
    l.build(&[None, Some(4), Some(2)]).unwrap();
    let x = seq(2, 4, 2);
    let a = l.call(&x, &mut CallContext::new(false)).unwrap().to_f32_vec();
    let b = l.call(&x, &mut CallContext::new(false)).unwrap().to_f32_vec();
    assert_eq!(a, b);
    let tape = GradientTape::new();
    let y = l.call(&x, &mut CallContext::new(true)).unwrap();
    assert_ne!(y.to_f32_vec(), a);
    let w: Vec<Tensor> = l.weights().iter().map(|w| w.value().clone()).collect();
    let refs: Vec<&Tensor> = w.iter().collect();
    let g = tape.gradient(&y, &refs).unwrap();
    assert!(g.iter().all(|g| g.as_ref().is_some_and(|g| g.to_f32_vec().iter().all(|v| v.is_finite()))));
}

#[test]
fn bidirectional_merge_modes_and_time_distributed() {
    let x = seq(2, 3, 2);
    let mut ctx = CallContext::new(false);
    let mut outs = Vec::new();
    for mode in [Some("concat"), Some("sum"), Some("mul"), Some("ave"), None] {
        crate::backend::clear_session();
        let mut bi = Bidirectional::new(SimpleRNN::new(2).return_sequences(true)).merge_mode(mode);
        bi.build(&[None, Some(3), Some(2)]).unwrap();
        let w: Vec<Tensor> =
            (0..6).map(|i| Tensor::full(bi.weights()[i].shape().to_vec(), 0.1 * (i as f32 + 1.0))).collect();
        bi.set_weights(&w).unwrap();
        let o = bi.call_outputs(&x, None, &mut ctx).unwrap();
        assert_eq!(o.len(), if mode.is_none() { 2 } else { 1 });
        if mode.is_none() {
            assert!(bi.call(&x, &mut ctx).is_err());
        }
        outs.push(o);
    }
    let (f, b) = (outs[4][0].to_f32_vec(), outs[4][1].to_f32_vec());
    let cat = outs[0][0].to_f32_vec();
    assert_eq!(&cat[0..2], &f[0..2]);
    assert_eq!(&cat[2..4], &b[0..2]);
    let sum = outs[1][0].to_f32_vec();
    assert!((sum[0] - (f[0] + b[0])).abs() < 1e-6);
    assert!((outs[2][0].to_f32_vec()[0] - f[0] * b[0]).abs() < 1e-6);
    assert!((outs[3][0].to_f32_vec()[0] - 0.5 * (f[0] + b[0])).abs() < 1e-6);
    // Round trip through the registry.
    let bi = Bidirectional::new(LSTM::new(2)).merge_mode(Some("sum"));
    let again = layers::deserialize(&bi.serialize()).unwrap();
    assert_eq!(again.get_config()["merge_mode"], "sum");
    // `merge_mode` missing is Keras's default "concat", null none, another type an error.
    let mut cfg = bi.get_config();
    let with = |cfg: &serde_json::Value| {
        Bidirectional::from_config(cfg).map(|b| b.get_config()["merge_mode"].clone())
    };
    cfg.as_object_mut().unwrap().remove("merge_mode");
    assert_eq!(with(&cfg).unwrap(), "concat");
    cfg["merge_mode"] = serde_json::Value::Null;
    assert!(with(&cfg).unwrap().is_null());
    cfg["merge_mode"] = serde_json::json!(3);
    let e = with(&cfg).unwrap_err().to_string();
    assert!(e.contains("Bidirectional: `merge_mode` must be a string or null, received merge_mode=3"), "{e}");
    cfg["merge_mode"] = serde_json::json!("max");
    assert!(with(&cfg).unwrap_err().to_string().contains("Invalid merge mode. Received: merge_mode=max"));

    let mut td = TimeDistributed::new(Dense::new(4));
    td.build(&[None, Some(3), Some(2)]).unwrap();
    let y = td.call(&x, &mut ctx).unwrap();
    assert_eq!(y.shape(), &[2, 3, 4]);
    let again = layers::deserialize(&td.serialize()).unwrap();
    assert_eq!(again.class_name(), "TimeDistributed");
    assert!(td.call(&Tensor::ones([2, 3]), &mut ctx).is_err());
}
