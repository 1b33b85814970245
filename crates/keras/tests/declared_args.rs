//! The arguments declared once (`config_args!`, `sequence_flag_builders!`,
//! `attention_call_methods!`), seen from outside the crate: config keys in Keras's order, the
//! defaults, every error path of the config readers, and the builders of each layer type that
//! shares them.

use keras::layers::{
    Bidirectional, CallContext, ConvLSTM2D, GroupedQueryAttention, InputLayer, IntegerLookup, LSTMCell,
    Layer, MultiHeadAttention, StringLookup, GRU, LSTM, RNN,
};
use keras::{DType, Tensor};
use serde_json::{json, Value};

fn keys(cfg: &Value) -> Vec<&str> {
    cfg.as_object().unwrap().keys().map(String::as_str).collect()
}

fn err<T>(r: keras::Result<T>) -> String {
    match r {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn input_layer_config_keys_defaults_and_errors() {
    let l = InputLayer::with_batch_shape(vec![None, Some(3)]).dtype(DType::I32);
    let cfg = l.get_config();
    assert_eq!(keys(&cfg), ["batch_shape", "dtype", "sparse", "ragged", "name", "optional"]);
    assert_eq!(cfg["batch_shape"], json!([null, 3]));
    assert_eq!(cfg["dtype"], json!("int32"));
    for key in ["sparse", "ragged", "optional"] {
        assert_eq!(cfg[key], json!(false), "{key}");
    }
    // Explicit `false` (as Keras writes) and `null` load.
    let explicit = json!({"batch_shape": [null, 3], "sparse": false, "ragged": null, "optional": false});
    assert_eq!(InputLayer::from_config(&explicit).unwrap().batch_shape(), &[None, Some(3)]);
    let back = InputLayer::from_config(&cfg).unwrap();
    assert_eq!(back.batch_shape(), &[None, Some(3)]);
    assert_eq!(back.input_dtype(), DType::I32);
    // Keras 2's key, and the float32 default for a missing or null dtype.
    let legacy = InputLayer::from_config(&json!({"batch_input_shape": [null, 4], "dtype": null})).unwrap();
    assert_eq!(legacy.batch_shape(), &[None, Some(4)]);
    assert_eq!(legacy.input_dtype(), DType::F32);
    // A DTypePolicy object.
    let policy =
        json!({"batch_shape": [2], "dtype": {"class_name": "DTypePolicy", "config": {"name": "int64"}}});
    assert_eq!(InputLayer::from_config(&policy).unwrap().input_dtype(), DType::I64);

    let cases = [
        (json!({}), "InputLayer config needs `batch_shape`"),
        (
            json!({"batch_shape": null, "batch_input_shape": [null, 2]}),
            "InputLayer config needs `batch_shape`",
        ),
        (json!({"batch_shape": []}), "InputLayer batch_shape must have a batch dimension"),
        (json!({"batch_shape": [null, "a"]}), "bad dimension \"a\" in InputLayer batch_shape"),
        (json!({"batch_shape": [null], "dtype": 5}), "bad dtype 5 in InputLayer config"),
        (json!({"batch_shape": [null], "dtype": "complex64"}), "Unsupported input dtype 'complex64'"),
        // Kinds of input keras-rs does not have are refused, not silently made dense.
        (json!({"batch_shape": [null], "sparse": true}), "InputLayer `sparse=True` is not supported"),
        (json!({"batch_shape": [null], "ragged": true}), "InputLayer `ragged=True` is not supported"),
        (json!({"batch_shape": [null], "optional": true}), "InputLayer `optional=True` is not supported"),
        (json!({"batch_shape": [null], "sparse": 1}), "InputLayer `sparse` must be a boolean, got 1"),
    ];
    for (cfg, want) in cases {
        let e = err(InputLayer::from_config(&cfg));
        assert!(e.contains(want), "{cfg}: {e}");
    }
}

#[test]
fn lookup_tokens_are_declared_in_keras_key_order() {
    let l = IntegerLookup::new().mask_token(0).oov_token(-7).vocabulary(&[4, 5]);
    let cfg = l.get_config();
    let k = keys(&cfg);
    let order = ["invert", "max_tokens", "num_oov_indices", "oov_token", "mask_token", "output_mode"];
    let at: Vec<usize> = order.iter().map(|o| k.iter().position(|x| x == o).unwrap()).collect();
    assert!(at.windows(2).all(|w| w[1] == w[0] + 1), "{k:?}");
    let tail = ["vocabulary_dtype", "idf_weights", "vocabulary", "vocabulary_size", "oov_method", "salt"];
    let at: Vec<usize> = tail.iter().map(|o| k.iter().position(|x| x == o).unwrap()).collect();
    assert!(at.windows(2).all(|w| w[1] == w[0] + 1), "{k:?}");
    assert_eq!(
        (&cfg["oov_token"], &cfg["mask_token"], &cfg["vocabulary"]),
        (&json!(-7), &json!(0), &json!([4, 5]))
    );
    let back = IntegerLookup::from_config(&cfg).unwrap();
    assert_eq!(back.get_vocabulary(true), vec![0, -7, 4, 5]);
    assert_eq!(back.get_config(), cfg);

    // Defaults: `[UNK]` / -1 and no mask; `null` means the default (oov) or none (mask).
    let s = StringLookup::from_config(&json!({"oov_token": null, "mask_token": null})).unwrap();
    assert_eq!(
        (&s.get_config()["oov_token"], &s.get_config()["mask_token"]),
        (&json!("[UNK]"), &Value::Null)
    );
    assert_eq!(IntegerLookup::new().get_config()["oov_token"], json!(-1));
}

#[test]
fn lookup_token_config_errors() {
    let cases = [
        (json!({"oov_token": 3}), "StringLookup: invalid oov_token=3"),
        (json!({"mask_token": [1]}), "StringLookup: invalid mask_token=[1]"),
        (json!({"vocabulary": ["a", 2]}), "StringLookup: invalid `vocabulary` entries"),
        (json!({"vocabulary": {"a": 1}}), "StringLookup: `vocabulary` must be a list, received {\"a\":1}"),
    ];
    for (cfg, want) in cases {
        let e = err(StringLookup::from_config(&cfg));
        assert!(e.contains(want), "{cfg}: {e}");
    }
    let e = err(IntegerLookup::from_config(&json!({"mask_token": "x"})));
    assert!(e.contains("IntegerLookup: invalid mask_token=\"x\""), "{e}");
    // The builders' checks run on the config path too.
    let e = err(IntegerLookup::from_config(&json!({"vocabulary": [3, 3]})));
    assert!(e.contains("The passed vocabulary has at least one repeated term"), "{e}");
}

#[test]
fn every_recurrent_type_has_the_flag_builders() {
    let flags = ["return_sequences", "return_state", "go_backwards", "stateful", "zero_output_for_mask"];
    let lstm = LSTM::new(2).return_sequences(true).go_backwards(true).zero_output_for_mask(true);
    let rnn = RNN::new(LSTMCell::new(2)).return_sequences(true).go_backwards(true).zero_output_for_mask(true);
    let stepped = RNN::new(vec![Box::new(LSTMCell::new(2)) as Box<dyn keras::layers::RnnCell>])
        .return_sequences(true)
        .go_backwards(true)
        .zero_output_for_mask(true);
    for cfg in [lstm.get_config(), rnn.get_config(), stepped.get_config()] {
        let got: Vec<&Value> = flags.iter().map(|f| &cfg[*f]).collect();
        assert_eq!(got, [&json!(true), &json!(false), &json!(true), &json!(false), &json!(true)], "{cfg}");
    }
    let conv = ConvLSTM2D::new(2, [3, 3]).return_state(true).stateful(true);
    let cfg = conv.get_config();
    assert_eq!(
        (&cfg["return_state"], &cfg["stateful"], &cfg["go_backwards"]),
        (&json!(true), &json!(true), &json!(false))
    );
    // Bidirectional runs its layers through the shared call methods.
    let mut bi = Bidirectional::new(GRU::new(3).return_sequences(true));
    bi.build(&[None, Some(4), Some(2)]).unwrap();
    let out = bi.call_outputs(&Tensor::ones([1, 4, 2]), None, &mut CallContext::new(false)).unwrap();
    assert_eq!(out[0].shape(), &[1, 4, 6]);
}

#[test]
fn attention_one_tensor_entry_points_name_their_class() {
    let mut mha = MultiHeadAttention::new(2, 4);
    let mut gqa = GroupedQueryAttention::new(4, 2, 1).unwrap();
    let cases: [(&mut dyn Layer, &str); 2] =
        [(&mut mha, "MultiHeadAttention"), (&mut gqa, "GroupedQueryAttention")];
    for (layer, class) in cases {
        let e = err(layer.build(&[None, Some(3), Some(4)]));
        assert!(
            e.contains(&format!("{class}.build() missing 1 required positional argument: 'value_shape'")),
            "{e}"
        );
        let e = err(layer.compute_output_shape(&[None, Some(3), Some(4)]));
        assert!(
            e.contains(&format!("{class}.call() missing 1 required positional argument: 'value'")),
            "{e}"
        );
        let e = err(layer.call(&Tensor::ones([1, 3, 4]), &mut CallContext::new(false)));
        assert!(
            e.contains(&format!("{class}.call() missing 1 required positional argument: 'value'")),
            "{e}"
        );
        layer.build_multi(&[vec![None, Some(3), Some(4)], vec![None, Some(5), Some(4)]]).unwrap();
        let out = layer
            .call_multi(
                &[Tensor::ones([1, 3, 4]), Tensor::ones([1, 5, 4])],
                &[None, None],
                &mut CallContext::new(false),
            )
            .unwrap();
        assert_eq!(out[0].shape(), &[1, 3, 4]);
        layer.set_trainable(false);
        assert!(layer.trainable_weights().is_empty());
    }
}
