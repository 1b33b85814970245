//! The `beta` / `gamma` regularizers and constraints of BatchNormalization,
//! LayerNormalization and GroupNormalization, as a user meets them: configs made by Keras
//! 3.15 load with them, give Keras's `get_config()` back and Keras's `layer.losses` on Keras's
//! weights (the cases in `tests/fixtures/keras315/layer/*_weight_extras`, made by
//! `make_cases.py norm_weight_extras`); a constraint holds during training.

use std::path::PathBuf;

use keras::constraints::Constraint;
use keras::layers::{deserialize, BatchNormalization, Dense, GroupNormalization, Input, LayerNormalization};
use keras::models::Sequential;
use keras::optimizers::SGD;
use keras::regularizers::Regularizer;
use keras::Tensor;
use serde_json::Value;

fn case_dir(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/keras315/layer").join(name)
}

/// JSON equality with numbers compared as float32 (Keras writes float32 arguments widened to
/// float64, e.g. `0.05000000074505806` for `0.05`), keys in order.
fn same_f32(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64().map(|v| v as f32) == y.as_f64().map(|v| v as f32),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same_f32(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|((ka, va), (kb, vb))| ka == kb && same_f32(va, vb))
        }
        _ => a == b,
    }
}

#[test]
fn keras_configs_keep_their_regularizers_and_constraints() {
    let mut checked = 0;
    for name in [
        "batch_normalization_weight_extras",
        "layer_normalization_weight_extras",
        "group_normalization_weight_extras",
    ] {
        let dir = case_dir(name);
        let case: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("case.json")).unwrap()).unwrap();
        let mut layer = deserialize(&case["serialized"]).unwrap();
        let shape: Vec<Option<usize>> =
            case["input_shape"].as_array().unwrap().iter().map(|d| d.as_u64().map(|v| v as usize)).collect();
        layer.build(&shape).unwrap();
        let got = layer.get_config();
        assert!(same_f32(&got, &case["config"]), "{name}: get_config {got} vs Keras {}", case["config"]);
        let weights: Vec<Tensor> = case["weights"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| keras::io::npy::read(dir.join(w["file"].as_str().unwrap())).unwrap())
            .collect();
        layer.set_weights(&weights).unwrap();
        let got: Vec<f32> =
            layer.regularization_losses().unwrap().iter().map(|t| t.to_f32_vec()[0]).collect();
        let want: Vec<f64> =
            case["regularization_losses"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
        assert_eq!(got.len(), want.len(), "{name}: one penalty per regularized weight");
        for (g, w) in got.iter().zip(&want) {
            assert!(((*g as f64) - w).abs() <= 1e-5 * w.abs().max(1.0), "{name}: {got:?} vs Keras {want:?}");
        }
        checked += 1;
    }
    assert_eq!(checked, 3);
}

#[test]
fn builders_set_them_and_get_config_writes_them() {
    let bn = BatchNormalization::new()
        .gamma_regularizer(Regularizer::l2(0.1).unwrap())
        .beta_constraint(Constraint::NonNeg);
    let c = keras::layers::Layer::get_config(&bn);
    assert_eq!(c["gamma_regularizer"]["class_name"], "L2");
    assert_eq!(c["beta_constraint"]["class_name"], "NonNeg");
    assert!(c["beta_regularizer"].is_null() && c["gamma_constraint"].is_null());
    let ln = LayerNormalization::new().beta_regularizer(Regularizer::l1(0.2).unwrap());
    assert_eq!(keras::layers::Layer::get_config(&ln)["beta_regularizer"]["class_name"], "L1");
    let gn = GroupNormalization::new(2).gamma_constraint(Constraint::NonNeg);
    assert_eq!(keras::layers::Layer::get_config(&gn)["gamma_constraint"]["class_name"], "NonNeg");
    // A bad regularizer in a config is an error, not a silent drop.
    let bad = serde_json::json!({"beta_regularizer": {"class_name": "NoSuchRegularizer", "config": {}}});
    assert!(BatchNormalization::from_config(&bad).is_err());
}

/// Targets far below the inputs drive `beta` negative under SGD; `NonNeg` on `beta` keeps it
/// at zero or above after every update, as Keras's optimizer applies the constraint.
#[test]
fn beta_constraint_holds_in_training() {
    let train = |constrained: bool| -> Vec<f32> {
        keras::backend::clear_session();
        keras::utils::set_random_seed(1);
        let mut bn = LayerNormalization::new();
        if constrained {
            bn = bn.beta_constraint(Constraint::NonNeg);
        }
        let mut m = Sequential::new();
        m.add(Input::new(&[4])).unwrap();
        m.add(bn).unwrap();
        m.add(Dense::new(1).kernel_initializer(keras::initializers::Initializer::Ones).use_bias(false))
            .unwrap();
        m.compile(SGD::new().learning_rate(0.1), "mse", &[]).unwrap();
        let x = Tensor::new((0..32).map(|i| (i as f32 * 0.7).sin()).collect::<Vec<_>>(), [8, 4]).unwrap();
        let y = Tensor::new(vec![-5.0; 8], [8, 1]).unwrap();
        m.fit(&x, &y, keras::FitArgs::default().epochs(3).batch_size(4).verbose(0)).unwrap();
        m.get_weights()[1].to_f32_vec()
    };
    let free = train(false);
    assert!(free.iter().any(|&b| b < 0.0), "the unconstrained beta should go negative: {free:?}");
    let held = train(true);
    assert!(held.iter().all(|&b| b >= 0.0), "NonNeg beta: {held:?}");
}
