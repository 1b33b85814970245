//! ConvLSTM1D / ConvLSTM2D / ConvLSTM3D (issue 16) as a user meets them: configs equal to
//! Keras's (the `conv_lstm*` cases of `tests/fixtures/keras315/layer`, key order included),
//! `.keras` round trips, states (`return_state`, `stateful`, initial states), dropout, and
//! Keras's errors for bad arguments and inputs. Forward values and gradients against Keras
//! are checked by the conformance runner (`tests/oracle.rs -- conv_lstm`).

use std::path::PathBuf;

mod common;

use keras::constraints::Constraint;
use keras::layers::{self, CallContext, ConvLSTM1D, ConvLSTM2D, ConvLSTM3D, Layer};
use keras::regularizers::Regularizer;
use keras::{ops, GradientTape, Tensor};
use serde_json::{json, Value};

fn cases() -> Vec<Value> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/keras315/layer");
    let mut out = Vec::new();
    for dir in std::fs::read_dir(root).unwrap().flatten() {
        if !dir.file_name().to_string_lossy().starts_with("conv_lstm") {
            continue;
        }
        let text = std::fs::read_to_string(dir.path().join("case.json")).unwrap();
        out.push(serde_json::from_str(&text).unwrap());
    }
    out
}

fn shape_of(case: &Value) -> Vec<Option<usize>> {
    case["input_shape"].as_array().unwrap().iter().map(|d| d.as_u64().map(|v| v as usize)).collect()
}

fn data(shape: &[usize], seed: u32) -> Tensor {
    let n: usize = shape.iter().product();
    let v = (0..n).map(|i| (((i as u32 * 2654435761u32) ^ seed) % 1000) as f32 / 500.0 - 1.0).collect();
    Tensor::new(v, shape.to_vec()).unwrap()
}

fn ctx() -> CallContext {
    CallContext::new(false)
}

#[test]
fn configs_and_weights_equal_keras() {
    let cases = cases();
    assert!(cases.len() >= 14, "only {} cases", cases.len());
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        let mut layer = layers::deserialize(&case["serialized"]).unwrap();
        assert_eq!(layer.class_name(), case["class_name"].as_str().unwrap(), "{name}");
        layer.build(&shape_of(case)).unwrap();
        let got = layer.get_config();
        let want = &case["config"];
        let gk: Vec<&String> = got.as_object().unwrap().keys().collect();
        let wk: Vec<&String> = want.as_object().unwrap().keys().collect();
        assert_eq!(gk, wk, "{name}: config keys");
        assert_eq!(&got, want, "{name}: config values");
        let mut again = layers::deserialize(&layer.serialize()).unwrap();
        again.build(&shape_of(case)).unwrap();
        assert_eq!(again.get_config(), got, "{name}: round trip");
        for (w, meta) in layer.weights().iter().zip(case["weights"].as_array().unwrap()) {
            assert_eq!(w.path(), meta["path"].as_str().unwrap(), "{name}: weight path");
            let shape: Vec<usize> =
                meta["shape"].as_array().unwrap().iter().map(|d| d.as_u64().unwrap() as usize).collect();
            assert_eq!(w.shape(), shape.as_slice(), "{name}: weight shape");
        }
        assert_eq!(layer.weights().len(), case["weights"].as_array().unwrap().len(), "{name}");
    }
}

#[test]
fn defaults_are_keras_defaults() {
    let l = ConvLSTM2D::new(4, [3, 3]);
    let c = l.get_config();
    assert_eq!(c["strides"], json!([1, 1]));
    assert_eq!(c["padding"], "valid");
    assert_eq!(c["data_format"], "channels_last");
    assert_eq!(c["activation"], "tanh");
    assert_eq!(c["recurrent_activation"], "sigmoid");
    assert_eq!(c["recurrent_initializer"]["class_name"], "Orthogonal");
    assert_eq!(c["unit_forget_bias"], true);
    assert_eq!(c["dropout"], json!(0.0));
    // The forget-gate block of the bias starts at one.
    let mut l = ConvLSTM1D::new(2, [3]);
    l.build(&[None, Some(2), Some(5), Some(1)]).unwrap();
    let bias = l.weights()[2].value().to_f32_vec();
    assert_eq!(bias, vec![0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0]);
    assert_eq!(l.weights()[0].path(), format!("{}/conv_lstm_cell/kernel", Layer::name(&l)));
}

/// [`common::sequential_round_trip`] on a batch of 2; the loaded layer has the same config.
fn round_trip(name: &str, input: &[usize], layer: impl Layer + 'static) {
    let mut shape = vec![2];
    shape.extend_from_slice(input);
    let (model, restored) = common::sequential_round_trip(name, layer, &data(&shape, 11));
    assert_eq!(restored.layers()[0].get_config(), model.layers()[0].get_config(), "{name}");
}

#[test]
fn keras_files_round_trip() {
    round_trip("2d", &[3, 5, 4, 2], ConvLSTM2D::new(3, [3, 3]).padding("same").return_sequences(true));
    round_trip("1d_cf", &[3, 2, 6], ConvLSTM1D::new(2, [2]).data_format("channels_first").go_backwards(true));
    round_trip(
        "3d",
        &[2, 3, 3, 3, 1],
        ConvLSTM3D::new(2, [2, 2, 2]).strides([2, 1, 1]).unit_forget_bias(false).use_bias(false),
    );
}

#[test]
fn return_state_gives_the_last_output_and_the_carry() {
    let mut l = ConvLSTM2D::new(2, [2, 2]).return_state(true).return_sequences(true);
    l.build(&[None, Some(3), Some(4), Some(4), Some(1)]).unwrap();
    let outs = l.call_outputs(&data(&[2, 3, 4, 4, 1], 3), None, &mut ctx()).unwrap();
    assert_eq!(outs.len(), 3);
    assert_eq!(outs[0].shape(), &[2, 3, 3, 3, 2]);
    assert_eq!(outs[1].shape(), &[2, 3, 3, 2]);
    assert_eq!(outs[2].shape(), &[2, 3, 3, 2]);
    let last =
        ops::slice(&outs[0], &[0, 2, 0, 0, 0], &[2, 1, 3, 3, 2]).unwrap().reshape(vec![2, 3, 3, 2]).unwrap();
    assert_eq!(last.to_f32_vec(), outs[1].to_f32_vec());
    let shapes = l.compute_output_shapes(&[vec![None, Some(3), Some(4), Some(4), Some(1)]]).unwrap();
    assert_eq!(shapes[1], vec![None, Some(3), Some(3), Some(2)]);
}

#[test]
fn stateful_and_initial_states_continue_a_sequence() {
    let x = data(&[2, 4, 5, 2], 5);
    let first = ops::slice(&x, &[0, 0, 0, 0], &[2, 2, 5, 2]).unwrap();
    let second = ops::slice(&x, &[0, 2, 0, 0], &[2, 2, 5, 2]).unwrap();
    let mut whole = ConvLSTM1D::new(3, [3]).padding("same").return_state(true);
    whole.build(&[None, Some(4), Some(5), Some(2)]).unwrap();
    let want = whole.call_outputs(&x, None, &mut ctx()).unwrap();
    let mut st = ConvLSTM1D::new(3, [3]).padding("same").stateful(true);
    st.build(&[None, Some(2), Some(5), Some(2)]).unwrap();
    let values: Vec<Tensor> = whole.weights().iter().map(|w| w.value().clone()).collect();
    st.set_weights(&values).unwrap();
    st.call(&first, &mut ctx()).unwrap();
    let got = st.call(&second, &mut ctx()).unwrap();
    let close =
        |a: &Tensor, b: &Tensor| a.to_f32_vec().iter().zip(b.to_f32_vec()).all(|(p, q)| (p - q).abs() < 1e-5);
    assert!(close(&got, &want[0]));
    assert_eq!(st.states().unwrap().len(), 2);
    st.reset_states();
    assert!(st.states().is_none());
    // The same continuation from explicit initial states.
    let mut half = ConvLSTM1D::new(3, [3]).padding("same").return_state(true);
    half.build(&[None, Some(2), Some(5), Some(2)]).unwrap();
    half.set_weights(&values).unwrap();
    let a = half.call_outputs(&first, None, &mut ctx()).unwrap();
    let b = half.call_with_state(&second, &a[1..], None, &mut ctx()).unwrap();
    assert!(close(&b[0], &want[0]) && close(&b[2], &want[2]));
    // A stateful layer refuses another batch size.
    let e =
        st.call(&first, &mut ctx()).and_then(|_| st.call(&data(&[3, 2, 5, 2], 1), &mut ctx())).unwrap_err();
    assert!(e.to_string().contains("stateful"), "{e}");
    let e = half.call_with_state(&second, &a[1..2], None, &mut ctx()).unwrap_err();
    assert!(e.to_string().contains("initial state"), "{e}");
}

#[test]
fn a_fully_masked_sample_keeps_zero_states() {
    let mut l = ConvLSTM2D::new(2, [2, 2]).return_sequences(true);
    l.build(&[None, Some(3), Some(3), Some(3), Some(1)]).unwrap();
    let mask = Tensor::new(vec![1.0, 1.0, 1.0, 0.0, 0.0, 0.0], vec![2, 3]).unwrap();
    let y = l.call_masked(&data(&[2, 3, 3, 3, 1], 9), Some(&mask), &mut ctx()).unwrap();
    let v = y.to_f32_vec();
    assert!(v[..v.len() / 2].iter().any(|&a| a != 0.0));
    assert!(v[v.len() / 2..].iter().all(|&a| a == 0.0));
    assert_eq!(l.compute_mask(&y, Some(&mask)).unwrap().unwrap().shape(), &[2, 3]);
}

#[test]
fn dropout_acts_in_training_only_and_gradients_flow() {
    let mut l = ConvLSTM2D::new(2, [2, 2]).dropout(0.5).recurrent_dropout(0.5).seed(3);
    l.build(&[None, Some(3), Some(4), Some(4), Some(2)]).unwrap();
    let x = data(&[2, 3, 4, 4, 2], 1);
    let a = l.call(&x, &mut ctx()).unwrap();
    let b = l.call(&x, &mut ctx()).unwrap();
    assert_eq!(a.to_f32_vec(), b.to_f32_vec());
    let tape = GradientTape::new();
    let xw = tape.watch(&x);
    let t = l.call(&xw, &mut CallContext::new(true)).unwrap();
    assert_ne!(t.to_f32_vec(), a.to_f32_vec());
    let loss = ops::sum_all(&t).unwrap();
    let weights = l.weights();
    let mut sources = vec![&xw];
    sources.extend(weights.iter().map(|w| w.value()));
    let grads = tape.gradient(&loss, &sources).unwrap();
    assert!(grads.iter().all(|g| g.as_ref().is_some_and(|g| g.to_f32_vec().iter().all(|v| v.is_finite()))));
}

#[test]
fn regularizers_and_constraints_are_kept() {
    let l = ConvLSTM2D::new(2, [2, 2])
        .kernel_regularizer(Regularizer::L2 { l2: 0.01 })
        .recurrent_constraint(Constraint::NonNeg)
        .activity_regularizer(Regularizer::L1 { l1: 0.1 });
    let cfg = l.get_config();
    let again = ConvLSTM2D::from_config(&cfg).unwrap();
    assert_eq!(again.get_config(), cfg);
    let mut l = again;
    l.build(&[None, Some(2), Some(3), Some(3), Some(1)]).unwrap();
    assert!(l.weights()[0].regularizer().is_some());
    assert!(l.weights()[1].constraint().is_some());
    assert!(l.regularization_losses().unwrap().len() == 1);
}

fn build_err(mut l: impl Layer, shape: &[Option<usize>]) -> String {
    l.build(shape).unwrap_err().to_string()
}

#[test]
fn bad_arguments_and_inputs_give_keras_errors() {
    let s5 = [None, Some(3), Some(5), Some(5), Some(2)];
    let e = build_err(ConvLSTM2D::new(2, [3, 3]), &[None, Some(3), Some(5), Some(5)]);
    assert!(e.contains("expected ndim=5, found ndim=4"), "{e}");
    let e = build_err(ConvLSTM2D::new(2, [3, 3]).strides([2, 2]).dilation_rate([2, 2]), &s5);
    assert!(e.contains("Specifying `strides > 1` is not compatible with `dilation_rate > 1`"), "{e}");
    let e = build_err(ConvLSTM2D::new(2, [3, 3]).padding("causal"), &s5);
    assert!(e.contains("The `padding` argument must be") && e.contains("causal"), "{e}");
    let e = build_err(ConvLSTM2D::new(2, [3, 0]), &s5);
    assert!(e.contains("kernel_size"), "{e}");
    let e = build_err(ConvLSTM2D::new(0, [3, 3]), &s5);
    assert!(e.contains("filters"), "{e}");
    let e = build_err(ConvLSTM2D::new(2, [3, 3]).dropout(1.5), &s5);
    assert!(e.contains("dropout"), "{e}");
    let e = build_err(ConvLSTM2D::new(2, [3, 3]).data_format("channels_middle"), &s5);
    assert!(e.contains("data_format"), "{e}");
    let e = build_err(ConvLSTM2D::new(2, [3, 3]).activation("nope"), &s5);
    assert!(e.contains("nope"), "{e}");
    let e = build_err(ConvLSTM2D::new(2, [3, 3]), &[None, Some(3), None, Some(5), Some(2)]);
    assert!(e.contains("only support static input shapes for the spatial dimension"), "{e}");
    let e = build_err(ConvLSTM2D::new(2, [3, 3]), &[None, Some(3), Some(5), Some(5), None]);
    assert!(e.contains("The channel dimension of the inputs (last axis) should be defined"), "{e}");
    let e = build_err(ConvLSTM3D::new(2, [4, 1, 1]), &[None, Some(3), Some(3), Some(3), Some(3), Some(1)]);
    assert!(e.contains("Computed output size would be negative"), "{e}");
    // Calls: not built, wrong rank, wrong channels, bad mask, no time steps.
    let l = ConvLSTM2D::new(2, [2, 2]);
    assert!(l.call(&data(&[1, 2, 3, 3, 1], 1), &mut ctx()).unwrap_err().to_string().contains("not built"));
    let mut l = ConvLSTM2D::new(2, [2, 2]);
    l.build(&[None, Some(2), Some(3), Some(3), Some(1)]).unwrap();
    let e = l.call(&data(&[1, 3, 3, 1], 1), &mut ctx()).unwrap_err().to_string();
    assert!(e.contains("expected ndim=5"), "{e}");
    let e = l.call(&data(&[1, 2, 3, 3, 4], 1), &mut ctx()).unwrap_err().to_string();
    assert!(e.contains("channel axis"), "{e}");
    let e =
        l.call_masked(&data(&[1, 2, 3, 3, 1], 1), Some(&Tensor::ones(vec![1, 3])), &mut ctx()).unwrap_err();
    assert!(e.to_string().contains("mask"), "{e}");
    let e = l.call(&Tensor::zeros(vec![1, 0, 3, 3, 1]), &mut ctx()).unwrap_err().to_string();
    assert!(e.contains("at least one time step"), "{e}");
    let e = l.call(&data(&[1, 2, 1, 1, 1], 1), &mut ctx()).unwrap_err().to_string();
    assert!(e.contains("negative"), "{e}");
    // Configs.
    for (cfg, key) in [
        (json!({"filters": 2}), "kernel_size"),
        (json!({"filters": 2, "kernel_size": [2, 2, 2]}), "kernel_size"),
        (json!({"filters": 2, "kernel_size": 2, "strides": 0}), "strides"),
        (json!({"filters": 2, "kernel_size": 2, "padding": 3}), "padding"),
        (json!({"filters": 2, "kernel_size": 2, "return_sequences": "yes"}), "return_sequences"),
        (json!({"filters": 2, "kernel_size": 2, "recurrent_dropout": -1.0}), "recurrent_dropout"),
        (json!({"kernel_size": 2}), "filters"),
    ] {
        let e = ConvLSTM2D::from_config(&cfg).err().unwrap_or_else(|| panic!("{cfg} accepted")).to_string();
        assert!(e.contains(key), "{cfg}: {e}");
    }
}

/// With dropout in training each gate convolves its own masked input (a path the Keras cases,
/// run in inference, do not take): its input gradient matches central differences. A layer
/// rebuilt with the same seed draws the same masks, so every evaluation sees them.
#[test]
fn dropout_path_gradients_match_finite_differences() {
    let shape = [None, Some(2), Some(4), Some(3), Some(2)];
    let make = |weights: Option<&[Tensor]>| {
        let mut l = ConvLSTM2D::new(2, [2, 2]).padding("same").dropout(0.3).recurrent_dropout(0.4).seed(7);
        l.build(&shape).unwrap();
        if let Some(w) = weights {
            l.set_weights(w).unwrap();
        }
        l
    };
    let first = make(None);
    let weights: Vec<Tensor> = first.weights().iter().map(|w| w.value().clone()).collect();
    let x = data(&[2, 2, 4, 3, 2], 13);
    let cot = data(&[2, 4, 3, 2], 17);
    let f = |x: &Tensor| -> f64 {
        let l = make(Some(&weights));
        let y = l.call(x, &mut CallContext::new(true)).unwrap();
        y.to_f32_vec().iter().zip(cot.to_f32_vec()).map(|(a, b)| *a as f64 * b as f64).sum()
    };
    let l = make(Some(&weights));
    let tape = GradientTape::new();
    let xw = tape.watch(&x);
    let y = l.call(&xw, &mut CallContext::new(true)).unwrap();
    let g = tape.gradient_with(&y, &cot, &[&xw]).unwrap()[0].clone().unwrap().to_f32_vec();
    let base = x.to_f32_vec();
    let eps = 1e-2f32;
    let mut checked = 0;
    for i in (0..base.len()).step_by(7) {
        let mut plus = base.clone();
        plus[i] += eps;
        let mut minus = base.clone();
        minus[i] -= eps;
        let t = |v: Vec<f32>| Tensor::new(v, x.shape().to_vec()).unwrap();
        let fd = (f(&t(plus)) - f(&t(minus))) / (2.0 * eps as f64);
        assert!(
            (fd - g[i] as f64).abs() < 2e-3 + 1e-2 * fd.abs(),
            "x[{i}]: autodiff {} vs finite differences {fd}",
            g[i]
        );
        checked += 1;
    }
    assert!(checked >= 10);
    // The masks matter: the gradient differs from the one without dropout.
    let mut plain = ConvLSTM2D::new(2, [2, 2]).padding("same");
    plain.build(&shape).unwrap();
    plain.set_weights(&weights).unwrap();
    let tape = GradientTape::new();
    let xw = tape.watch(&x);
    let y = plain.call(&xw, &mut CallContext::new(true)).unwrap();
    let g0 = tape.gradient_with(&y, &cot, &[&xw]).unwrap()[0].clone().unwrap().to_f32_vec();
    assert_ne!(g0, g);
}
