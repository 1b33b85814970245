//! `ReversibleEmbedding` against Keras 3.15 (fixtures/reversible_embedding/make_cases.py):
//! forward and reverse outputs, masks, gradients, configs and weight paths, a Keras-made
//! Functional model that calls the layer forward and then with `reverse=True`, finite
//! differences, and the errors.

use std::path::PathBuf;

mod common;

use keras::layers::{CallContext, CallKwargs, Embedding, Layer, ReversibleEmbedding};
use keras::saving::load_model;
use keras::{GradientTape, PredictArgs, Tensor};
use serde_json::{json, Value};

fn dir() -> PathBuf {
    common::fixtures().join("reversible_embedding")
}

fn cases() -> Vec<Value> {
    common::fixture_cases("reversible_embedding")
}

fn floats(v: &Value) -> Vec<f32> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect()
}

fn dims(v: &Value) -> Vec<usize> {
    v.as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as usize).collect()
}

fn assert_close(name: &str, got: &[f32], want: &[f32], tol: f32) {
    assert_eq!(got.len(), want.len(), "{name}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= tol * (1.0 + w.abs()), "{name}[{i}]: got {g}, Keras {w}");
    }
}

/// Each weight's gradient against Keras's; Keras's `None` (a weight the call does not use)
/// must be no gradient or zeros here.
fn assert_grads(name: &str, grads: &[Option<Tensor>], want: &Value) {
    for (k, (g, want)) in grads.iter().zip(want.as_array().unwrap()).enumerate() {
        match (g, want.is_null()) {
            (Some(g), false) => {
                assert_close(&format!("{name} grad {k}"), &g.to_f32_vec(), &floats(want), 1e-5)
            }
            (g, true) => {
                assert!(g.as_ref().is_none_or(|g| g.to_f32_vec().iter().all(|&v| v == 0.0)), "{name} {k}")
            }
            (None, false) => panic!("{name}: no gradient for weight {k}"),
        }
    }
}

/// The layer of a case, from Keras's config, with Keras's weights.
fn layer(case: &Value) -> ReversibleEmbedding {
    let mut l = ReversibleEmbedding::from_config(&case["config"]).unwrap();
    let ids_shape = dims(&case["ids_shape"]);
    let shape: Vec<Option<usize>> = ids_shape.iter().map(|&d| Some(d)).collect();
    l.build(&shape).unwrap();
    let weights: Vec<Tensor> = case["weights"]
        .as_array()
        .unwrap()
        .iter()
        .zip(case["weight_shapes"].as_array().unwrap())
        .map(|(w, s)| Tensor::new(floats(w), dims(s)).unwrap())
        .collect();
    l.set_weights(&weights).unwrap();
    l
}

fn ids(case: &Value) -> Tensor {
    let v: Vec<i32> = floats(&case["ids"]).iter().map(|&x| x as i32).collect();
    Tensor::from_i32(v, dims(&case["ids_shape"])).unwrap()
}

#[test]
fn forward_matches_keras_with_mask_and_gradients() {
    for case in cases() {
        let name = case["name"].as_str().unwrap();
        let l = layer(&case);
        let x = ids(&case);
        let tape = GradientTape::new();
        let y = l.call(&x, &mut CallContext::new(true)).unwrap();
        assert_eq!(y.shape(), dims(&case["forward_shape"]).as_slice(), "{name}");
        assert_close(name, &y.to_f32_vec(), &floats(&case["forward"]), 1e-6);
        let mask = l.compute_mask(&x, None).unwrap().map(|m| m.to_f32_vec());
        assert_eq!(
            mask,
            case["forward_mask"].as_array().map(|_| floats(&case["forward_mask"])),
            "{name}: mask"
        );
        let r = Tensor::new(floats(&case["forward_r"]), y.shape().to_vec()).unwrap();
        let loss = keras::ops::sum_all(&keras::ops::mul(&y, &r).unwrap()).unwrap();
        let vars: Vec<Tensor> = l.trainable_weights().iter().map(|v| v.value().clone()).collect();
        let grads = tape.gradient(&loss, &vars.iter().collect::<Vec<_>>()).unwrap();
        // Keras has no gradient for the untied reverse table in a forward call.
        assert_grads(&format!("{name} forward"), &grads, &case["forward_grads"]);
    }
}

#[test]
fn reverse_matches_keras_with_gradients() {
    for case in cases() {
        let name = case["name"].as_str().unwrap();
        let l = layer(&case);
        let mut hshape = dims(&case["ids_shape"]);
        hshape.push(l.output_dim());
        let h = Tensor::new(floats(&case["hidden"]), hshape).unwrap().requiring_grad();
        let tape = GradientTape::new();
        let y = l.call_reverse(&h, &mut CallContext::new(true)).unwrap();
        assert_eq!(y.shape(), dims(&case["reverse_shape"]).as_slice(), "{name}");
        assert_close(name, &y.to_f32_vec(), &floats(&case["reverse"]), 1e-5);
        let r = Tensor::new(floats(&case["reverse_r"]), y.shape().to_vec()).unwrap();
        let loss = keras::ops::sum_all(&keras::ops::mul(&y, &r).unwrap()).unwrap();
        let mut vars = vec![h.clone()];
        vars.extend(l.trainable_weights().iter().map(|v| v.value().clone()));
        let grads = tape.gradient(&loss, &vars.iter().collect::<Vec<_>>()).unwrap();
        assert_close(
            &format!("{name} d hidden"),
            &grads[0].as_ref().unwrap().to_f32_vec(),
            &floats(&case["reverse_grad_hidden"]),
            1e-5,
        );
        // Untied: the forward table gets no gradient from a reverse call.
        assert_grads(&format!("{name} reverse"), &grads[1..], &case["reverse_grads"]);
    }
}

#[test]
fn configs_and_weight_paths_are_keras_s() {
    for case in cases() {
        let l = layer(&case);
        assert_eq!(l.get_config(), case["config"], "{}", case["name"]);
        let paths: Vec<String> = l.weights().iter().map(|v| v.path().to_string()).collect();
        let want: Vec<String> = case["weight_paths"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap().to_string())
            .collect();
        assert_eq!(paths, want);
    }
    // The builders write the same config as Keras's constructor arguments.
    let l = ReversibleEmbedding::new(7, 3).name("tied").embedding(|e: Embedding| e.mask_zero(true));
    assert_eq!(l.get_config(), cases()[0]["config"]);
}

#[test]
fn keras_made_language_model_head_loads_and_predicts_as_keras() {
    let m = load_model(dir().join("lm_head.keras")).unwrap();
    let x = keras::io::npy::read(dir().join("lm_head_x.npy")).unwrap();
    let want = keras::io::npy::read(dir().join("lm_head_y.npy")).unwrap();
    let got = m.predict(&x, PredictArgs::default().verbose(0)).unwrap();
    assert_eq!(got[0].shape(), want.shape());
    assert_close("lm_head", &got[0].to_f32_vec(), &want.to_f32_vec(), 1e-5);
    // Its own file writes the reverse call's keyword and reads back to the same predictions.
    let path = std::env::temp_dir().join(format!("keras_rs_reversible_{}.keras", std::process::id()));
    m.save(&path).unwrap();
    let again = load_model(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    assert_eq!(
        again.predict(&x, PredictArgs::default().verbose(0)).unwrap()[0].to_f32_vec(),
        got[0].to_f32_vec()
    );
    let cfg = serde_json::to_string(&m.get_config()).unwrap();
    assert!(cfg.contains(r#""reverse":true"#), "the reverse node keeps its keyword");
}

#[test]
fn reverse_gradients_match_finite_differences() {
    let mut l = ReversibleEmbedding::new(5, 3).tie_weights(false).logit_soft_cap(1.5);
    l.build(&[None, Some(2)]).unwrap();
    let h0: Vec<f32> = (0..6).map(|i| ((i as f32) * 0.7).sin()).collect();
    let r: Vec<f32> = (0..10).map(|i| ((i as f32) * 1.3).cos()).collect();
    let f = |l: &ReversibleEmbedding, h: &[f32]| -> f64 {
        let y = l
            .call_reverse(&Tensor::new(h.to_vec(), [1, 2, 3]).unwrap(), &mut CallContext::new(true))
            .unwrap();
        y.to_f32_vec().iter().zip(&r).map(|(a, b)| (*a as f64) * (*b as f64)).sum()
    };
    let h = Tensor::new(h0.clone(), [1, 2, 3]).unwrap().requiring_grad();
    let tape = GradientTape::new();
    let y = l.call_reverse(&h, &mut CallContext::new(true)).unwrap();
    let loss =
        keras::ops::sum_all(&keras::ops::mul(&y, &Tensor::new(r.clone(), [1, 2, 5]).unwrap()).unwrap())
            .unwrap();
    let g = tape.gradient(&loss, &[&h]).unwrap()[0].clone().unwrap().to_f32_vec();
    let eps = 1e-3f32;
    for i in 0..h0.len() {
        let (mut up, mut down) = (h0.clone(), h0.clone());
        up[i] += eps;
        down[i] -= eps;
        let fd = (f(&l, &up) - f(&l, &down)) / (2.0 * eps as f64);
        assert!((fd - g[i] as f64).abs() < 2e-3, "d/dh[{i}]: autodiff {}, finite differences {fd}", g[i]);
    }
}

#[test]
fn errors_are_clear() {
    let mut ctx = CallContext::new(false);
    // Unbuilt.
    let l = ReversibleEmbedding::new(4, 2);
    assert!(l.call_reverse(&Tensor::zeros([1, 2]), &mut ctx).unwrap_err().to_string().contains("not built"));
    // A hidden state of the wrong size.
    let mut l = ReversibleEmbedding::new(4, 2).name("head");
    l.build(&[None, Some(3)]).unwrap();
    let e = l.call_reverse(&Tensor::zeros([1, 3]), &mut ctx).unwrap_err().to_string();
    assert!(e.contains("head") && e.contains("output_dim=2") && e.contains("[1, 3]"), "{e}");
    // Call keywords: only `reverse`, and a boolean.
    let x = Tensor::zeros([1, 2]);
    let bad = CallKwargs::new().with_value("reverse", json!(1));
    assert!(l.call_with_kwargs(std::slice::from_ref(&x), &[None], &bad, &mut ctx).is_err());
    let unknown = CallKwargs::new().with_value("reversed", json!(true));
    let e =
        l.call_with_kwargs(std::slice::from_ref(&x), &[None], &unknown, &mut ctx).unwrap_err().to_string();
    assert!(e.contains("reversed"), "{e}");
    // Arguments: Embedding's checks, and reverse dtypes keras-rs cannot compute in.
    let mut cfg = l.get_config();
    cfg["input_dim"] = json!(0);
    assert!(ReversibleEmbedding::from_config(&cfg).is_err());
    let mut cfg = l.get_config();
    cfg["reverse_dtype"] = json!("float16");
    let e = ReversibleEmbedding::from_config(&cfg).err().unwrap().to_string();
    assert!(e.contains("reverse_dtype=float16"), "{e}");
    let mut cfg = l.get_config();
    cfg["tie_weights"] = json!("yes");
    assert!(ReversibleEmbedding::from_config(&cfg).is_err());
    let mut f16 = ReversibleEmbedding::new(4, 2).reverse_dtype("float16");
    assert!(f16.build(&[None, Some(1)]).is_err());
}
