//! Regularizers and constraints inside a model: penalties in the loss (value and gradient),
//! constraints after the optimizer step, configs through the layer registry.

use serde_json::{json, Value};

use crate::constraints::Constraint;
use crate::layers::{self, ActivityRegularization, Conv2D, Dense, Input, Layer};
use crate::models::Sequential;
use crate::regularizers::Regularizer;
use crate::Tensor;

const N: usize = 4;
const IN: usize = 3;
const OUT: usize = 2;

fn data() -> (Vec<f32>, Vec<f32>, Vec<f32>, Vec<f32>) {
    let x: Vec<f32> = (0..N * IN).map(|i| ((i * 7 % 11) as f32 - 5.0) * 0.3).collect();
    let y: Vec<f32> = (0..N * OUT).map(|i| ((i * 5 % 7) as f32 - 3.0) * 0.4).collect();
    let k: Vec<f32> = (0..IN * OUT).map(|i| ((i * 3 % 5) as f32 - 2.2) * 0.35).collect();
    let b = vec![0.3, -0.4];
    (x, y, k, b)
}

/// Hand-computed `(loss, dK, db)` for mse + 0.1*sum(K^2) + 0.2*sum|b| + 0.05*sum|pred|.
fn reference(x: &[f32], y: &[f32], k: &[f32], b: &[f32]) -> (f32, Vec<f32>, Vec<f32>) {
    let mut pred = [0.0f32; N * OUT];
    for n in 0..N {
        for o in 0..OUT {
            pred[n * OUT + o] = b[o] + (0..IN).map(|i| x[n * IN + i] * k[i * OUT + o]).sum::<f32>();
        }
    }
    let m = (N * OUT) as f32;
    let mse: f32 = pred.iter().zip(y).map(|(p, t)| (p - t) * (p - t)).sum::<f32>() / m;
    let pen = 0.1 * k.iter().map(|v| v * v).sum::<f32>()
        + 0.2 * b.iter().map(|v| v.abs()).sum::<f32>()
        + 0.05 * pred.iter().map(|v| v.abs()).sum::<f32>();
    let dpred: Vec<f32> = pred.iter().zip(y).map(|(p, t)| 2.0 * (p - t) / m + 0.05 * p.signum()).collect();
    let mut dk = vec![0.0f32; IN * OUT];
    for i in 0..IN {
        for o in 0..OUT {
            dk[i * OUT + o] =
                (0..N).map(|n| x[n * IN + i] * dpred[n * OUT + o]).sum::<f32>() + 0.2 * k[i * OUT + o];
        }
    }
    let db: Vec<f32> =
        (0..OUT).map(|o| (0..N).map(|n| dpred[n * OUT + o]).sum::<f32>() + 0.2 * b[o].signum()).collect();
    (mse + pen, dk, db)
}

fn model(dense: Dense, k: &[f32], b: &[f32]) -> Sequential {
    let mut m = Sequential::new();
    m.add(Input::new(&[IN])).unwrap();
    m.add(dense).unwrap();
    m.set_weights(&[Tensor::new(k.to_vec(), [IN, OUT]).unwrap(), Tensor::new(b.to_vec(), [OUT]).unwrap()])
        .unwrap();
    m.compile("sgd", "mse", &[]).unwrap();
    m
}

fn regularized() -> Dense {
    Dense::new(OUT)
        .kernel_regularizer(Regularizer::l2(0.1).unwrap())
        .bias_regularizer(Regularizer::l1(0.2).unwrap())
        .activity_regularizer(Regularizer::l1(0.05).unwrap())
}

fn close(got: &[f32], want: &[f32], what: &str) {
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() <= 1e-5 + 1e-5 * w.abs(), "{what}: {got:?} vs {want:?}");
    }
}

#[test]
fn penalties_join_the_loss_and_its_gradient() {
    let (x, y, k, b) = data();
    let (want_loss, dk, db) = reference(&x, &y, &k, &b);
    let mut m = model(regularized(), &k, &b);
    let (xt, yt) = (Tensor::new(x, [N, IN]).unwrap(), Tensor::new(y, [N, OUT]).unwrap());
    let logs = m.test_on_batch(&xt, &yt, None).unwrap();
    assert!((logs["loss"] - want_loss).abs() < 1e-5, "{} vs {want_loss}", logs["loss"]);
    // Weight penalties alone, as Keras `model.losses`.
    let losses: f32 = m.losses().unwrap().iter().map(|t| t.item().unwrap()).sum();
    let want_w = 0.1 * k.iter().map(|v| v * v).sum::<f32>() + 0.2 * b.iter().map(|v| v.abs()).sum::<f32>();
    assert!((losses - want_w).abs() < 1e-6);
    // One SGD step (lr 0.01) follows the penalised gradient.
    let logs = m.train_on_batch(&xt, &yt, None).unwrap();
    assert!((logs["loss"] - want_loss).abs() < 1e-5);
    let w = m.get_weights();
    let want_k: Vec<f32> = k.iter().zip(&dk).map(|(a, g)| a - 0.01 * g).collect();
    let want_b: Vec<f32> = b.iter().zip(&db).map(|(a, g)| a - 0.01 * g).collect();
    close(&w[0].to_f32_vec(), &want_k, "kernel");
    close(&w[1].to_f32_vec(), &want_b, "bias");
}

#[test]
fn frozen_layers_have_no_weight_penalty() {
    let (_, _, k, b) = data();
    let mut m = model(regularized(), &k, &b);
    assert_eq!(m.losses().unwrap().len(), 2);
    let name = m.layers()[0].name().to_string();
    m.get_layer_mut(&name).unwrap().set_trainable(false);
    assert!(m.losses().unwrap().is_empty());
}

#[test]
fn constraints_apply_after_each_update() {
    let (x, y, k, b) = data();
    let dense =
        Dense::new(OUT).kernel_constraint(Constraint::max_norm(0.5, 0)).bias_constraint(Constraint::NonNeg);
    let mut m = model(dense, &k, &b);
    let (xt, yt) = (Tensor::new(x.clone(), [N, IN]).unwrap(), Tensor::new(y.clone(), [N, OUT]).unwrap());
    // Plain mse gradient: the reference minus the penalty terms.
    let m_ = (N * OUT) as f32;
    let mut pred = [0.0f32; N * OUT];
    for n in 0..N {
        for o in 0..OUT {
            pred[n * OUT + o] = b[o] + (0..IN).map(|i| x[n * IN + i] * k[i * OUT + o]).sum::<f32>();
        }
    }
    let dpred: Vec<f32> = pred.iter().zip(&y).map(|(p, t)| 2.0 * (p - t) / m_).collect();
    let mut new_k = k.clone();
    for i in 0..IN {
        for o in 0..OUT {
            new_k[i * OUT + o] -= 0.01 * (0..N).map(|n| x[n * IN + i] * dpred[n * OUT + o]).sum::<f32>();
        }
    }
    let new_b: Vec<f32> =
        (0..OUT).map(|o| b[o] - 0.01 * (0..N).map(|n| dpred[n * OUT + o]).sum::<f32>()).collect();
    m.train_on_batch(&xt, &yt, None).unwrap();
    let w = m.get_weights();
    let want_k = Constraint::max_norm(0.5, 0).apply(&Tensor::new(new_k, [IN, OUT]).unwrap()).unwrap();
    close(&w[0].to_f32_vec(), &want_k.to_f32_vec(), "kernel");
    let want_b: Vec<f32> = new_b.iter().map(|&v| v.max(0.0)).collect();
    close(&w[1].to_f32_vec(), &want_b, "bias");
    for col in 0..OUT {
        let norm: f32 = (0..IN).map(|i| w[0].to_f32_vec()[i * OUT + col].powi(2)).sum::<f32>().sqrt();
        assert!(norm <= 0.5 + 1e-6);
    }
}

#[test]
fn activity_regularization_layer_adds_its_penalty() {
    let (x, y, _, _) = data();
    let mut m = Sequential::new();
    m.add(Input::new(&[IN])).unwrap();
    m.add(ActivityRegularization::new(0.1, 0.2)).unwrap();
    m.compile("sgd", "mse", &[]).unwrap();
    let yt: Vec<f32> = (0..N * IN).map(|i| y[i % y.len()]).collect();
    let logs = m
        .test_on_batch(
            Tensor::new(x.clone(), [N, IN]).unwrap(),
            Tensor::new(yt.clone(), [N, IN]).unwrap(),
            None,
        )
        .unwrap();
    let mse: f32 = x.iter().zip(&yt).map(|(a, b)| (a - b) * (a - b)).sum::<f32>() / (N * IN) as f32;
    let pen = 0.1 * x.iter().map(|v| v.abs()).sum::<f32>() + 0.2 * x.iter().map(|v| v * v).sum::<f32>();
    assert!((logs["loss"] - (mse + pen)).abs() < 1e-4, "{} vs {}", logs["loss"], mse + pen);
    assert!(ActivityRegularization::new(-0.1, 0.0).base().pending_error.is_some());
    let mut bad = Sequential::new();
    assert!(bad.add(ActivityRegularization::new(0.0, -1.0)).is_err());
}

#[test]
fn layer_configs_carry_regularizers_and_constraints() {
    let d = regularized().kernel_constraint(Constraint::unit_norm(0)).name("d");
    let cfg = d.get_config();
    let keys: Vec<&str> = cfg.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(&keys[..4], &["name", "trainable", "dtype", "activity_regularizer"]);
    assert_eq!(
        cfg["kernel_regularizer"],
        json!({"module": "keras.regularizers", "class_name": "L2", "config": {"l2": 0.1}, "registered_name": null})
    );
    assert_eq!(cfg["kernel_constraint"]["class_name"], "UnitNorm");
    assert_eq!(cfg["bias_constraint"], Value::Null);
    let back = layers::deserialize(&json!({"class_name": "Dense", "config": cfg})).unwrap();
    assert_eq!(back.get_config(), d.get_config());
    // Unset: the keys stay null and no activity key appears.
    let plain = Dense::new(2).get_config();
    assert!(plain.get("activity_regularizer").is_none());
    assert_eq!(plain["kernel_regularizer"], Value::Null);

    let c = Conv2D::new(2, [3, 3])
        .kernel_constraint(Constraint::max_norm(2.0, 0).with_axes(&[0, 1, 2]))
        .bias_regularizer(Regularizer::l1_l2(0.01, 0.02).unwrap())
        .activity_regularizer(Regularizer::l2(0.5).unwrap());
    let cfg = c.get_config();
    let keys: Vec<&str> = cfg.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys[3], "activity_regularizer");
    assert_eq!(cfg["kernel_constraint"]["config"], json!({"max_value": 2.0, "axis": [0, 1, 2]}));
    let back = layers::deserialize(&json!({"class_name": "Conv2D", "config": cfg})).unwrap();
    assert_eq!(back.get_config(), c.get_config());
    let plain = Conv2D::new(2, [3, 3]).get_config();
    assert_eq!(plain["activity_regularizer"], Value::Null);
    let bad = json!({"class_name": "Dense", "config": {"units": 2, "kernel_regularizer": {"class_name": "L2", "config": {"l2": -1.0}}}});
    assert!(layers::deserialize(&bad).is_err());
}

#[test]
fn conv_kernel_regularizer_penalty() {
    let mut m = Sequential::new();
    m.add(Input::new(&[4, 4, 1])).unwrap();
    m.add(Conv2D::new(2, [2, 2]).kernel_regularizer(Regularizer::l2(0.3).unwrap())).unwrap();
    let k = m.get_weights()[0].to_f32_vec();
    let want = 0.3 * k.iter().map(|v| v * v).sum::<f32>();
    let got: f32 = m.losses().unwrap().iter().map(|t| t.item().unwrap()).sum();
    assert!((got - want).abs() < 1e-6);
}
