//! Keras 3 rebuilds a layer or an optimizer with `cls(**config)`: a config key that the
//! constructor does not take is refused ("Unrecognized keyword arguments passed to Dense:
//! {...}", "Argument(s) not recognized: {...}"), and so it is here, with Keras's text. Every
//! layer's and optimizer's own config must pass that check (each key it writes is one Keras's
//! constructor takes), and legacy configs keep loading with keys Keras 3 dropped.

use std::collections::BTreeSet;

use keras::layers::{deserialize, registered_class_names};
use keras::optimizers;
use serde_json::{json, Value};

use crate::configs::base_cases;

/// A Keras 3 layer config, as `.keras` files and `model.to_json()` write it.
fn keras3(class: &str, cfg: &Value) -> Value {
    json!({"module": "keras.layers", "class_name": class, "config": cfg, "registered_name": null})
}

/// A Keras 3 optimizer config, as a `.keras` file's `compile_config` writes it.
fn keras3_optimizer(class: &str, cfg: &Value) -> Value {
    json!({"module": "keras.optimizers", "class_name": class, "config": cfg, "registered_name": null})
}

fn with_key(cfg: &Value, key: &str, value: Value) -> Value {
    let mut c = cfg.clone();
    c.as_object_mut().expect("a config object").insert(key.into(), value);
    c
}

#[test]
fn unknown_keys_give_keras_error_texts() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/keras315/unknown_kwargs.json");
    let fixture: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let cases = fixture["cases"].as_array().unwrap();
    assert!(!cases.is_empty());
    for case in cases {
        let class = case["class"].as_str().unwrap();
        let mut cfg = case["config"].clone();
        for (k, v) in case["extra"].as_object().unwrap() {
            cfg = with_key(&cfg, k, v.clone());
        }
        let err = match case["kind"].as_str().unwrap() {
            "layer" => deserialize(&keras3(class, &cfg)).err(),
            _ => optimizers::deserialize(&keras3_optimizer(class, &cfg)).err(),
        };
        let err = err.unwrap_or_else(|| panic!("{class} accepted {cfg}"));
        assert_eq!(err.to_string(), case["error"].as_str().unwrap(), "{class}");
    }
}

/// Classes keras-rs registers that `keras.layers` does not export, so Keras has no
/// constructor table for them here (layers Keras defines inside its application sources).
const NOT_IN_KERAS_LAYERS: &[&str] = &["CustomScaleLayer", "LayerScale", "StochasticDepth"];

#[test]
fn every_layer_reloads_its_own_config_and_refuses_an_unknown_key() {
    let mut unchecked = BTreeSet::new();
    let mut checked = 0;
    for (class, cfg, _) in base_cases() {
        let layer = deserialize(&keras3(class, &cfg)).unwrap_or_else(|e| panic!("{class}: {e}: {cfg}"));
        let own = layer.get_config();
        if let Err(e) = deserialize(&keras3(class, &own)) {
            panic!("{class}: its own get_config() is refused: {e}: {own}");
        }
        match deserialize(&keras3(class, &with_key(&own, "zzz_unknown_key", json!(1)))) {
            Ok(_) => {
                unchecked.insert(class);
            }
            Err(e) => {
                let e = e.to_string();
                let layer_text =
                    format!("Unrecognized keyword arguments passed to {class}: {{'zzz_unknown_key': 1}}");
                let init_text = "__init__() got an unexpected keyword argument 'zzz_unknown_key'";
                assert!(e == layer_text || e.ends_with(init_text), "{class}: {e}");
                checked += 1;
            }
        }
    }
    // The registered classes without a base case: the key check comes before the config is
    // read, so an empty config with the unknown key names it.
    for class in registered_class_names() {
        if base_cases().iter().any(|(c, _, _)| *c == class) {
            continue;
        }
        match deserialize(&keras3(class, &json!({"zzz_unknown_key": 1}))) {
            Err(e) if e.to_string().contains("'zzz_unknown_key'") => checked += 1,
            _ => {
                unchecked.insert(class);
            }
        }
    }
    eprintln!("unknown config keys refused for {checked} classes");
    assert!(checked > 100, "only {checked} classes checked");
    let expected: BTreeSet<&str> = NOT_IN_KERAS_LAYERS.iter().copied().collect();
    assert_eq!(unchecked, expected, "classes that accept an unknown key");
}

#[test]
fn every_optimizer_reloads_its_own_config_and_refuses_an_unknown_key() {
    let names = [
        "sgd",
        "adam",
        "adamw",
        "rmsprop",
        "adagrad",
        "adadelta",
        "adamax",
        "nadam",
        "ftrl",
        "lion",
        "adafactor",
        "lamb",
        "muon",
        "schedulefreeadamw",
    ];
    let mut all: Vec<Value> =
        names.iter().map(|n| optimizers::serialize(&*optimizers::get(n).unwrap())).collect();
    all.push(optimizers::serialize(&optimizers::LossScaleOptimizer::new(optimizers::Adam::new())));
    for ser in all {
        let class = ser["class_name"].as_str().unwrap().to_string();
        let cfg = &ser["config"];
        let back = optimizers::deserialize(&keras3_optimizer(&class, cfg));
        assert!(back.is_ok(), "{class}: its own config is refused: {:?}: {cfg}", back.err());
        let err =
            optimizers::deserialize(&keras3_optimizer(&class, &with_key(cfg, "zzz_unknown_key", json!(1))));
        // Keras's LossScaleOptimizer checks its own arguments, with its own text.
        let expected = match class.as_str() {
            "LossScaleOptimizer" => "LossScaleOptimizer does not support arguments: `zzz_unknown_key`.",
            _ => "Argument(s) not recognized: {'zzz_unknown_key': 1}",
        };
        assert_eq!(err.err().map(|e| e.to_string()).as_deref(), Some(expected), "{class}");
    }
}

#[test]
fn legacy_configs_keep_keys_keras_3_dropped() {
    // tf.keras `.h5` files write `time_major` and `implementation` for LSTM; no `module` key.
    let legacy = json!({"class_name": "LSTM", "config": {"units": 2, "time_major": false, "zz": 1}});
    assert!(deserialize(&legacy).is_ok());
    let keras3_cfg = keras3("LSTM", &json!({"units": 2, "time_major": false}));
    assert_eq!(
        deserialize(&keras3_cfg).err().unwrap().to_string(),
        "Unrecognized keyword arguments passed to LSTM: {'time_major': False}"
    );
}
