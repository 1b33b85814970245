//! `HashedCrossing` against Keras 3.15 (fixtures/hashed_crossing/make_cases.py): buckets and
//! one-hot outputs for string, int32 and int64 columns of every accepted shape, configs, a
//! Keras-made Functional model that crosses two int64 inputs, and the errors.

use std::path::PathBuf;

mod common;

use keras::layers::{CallContext, CrossColumn, HashedCrossing, Layer};
use keras::models::SymbolicCall;
use keras::saving::load_model;
use keras::{DType, Input, Model, PredictArgs, Tensor};
use serde_json::{json, Value};

fn dir() -> PathBuf {
    common::fixtures().join("hashed_crossing")
}

fn cases() -> Vec<Value> {
    common::fixture_cases("hashed_crossing")
}

fn dims(v: &Value) -> Vec<usize> {
    v.as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as usize).collect()
}

/// A case's columns: its strings, and its integers as int64 values.
struct Columns {
    strings: Vec<Option<Vec<String>>>,
    ints: Vec<Option<Vec<i64>>>,
}

fn columns(case: &Value) -> Columns {
    let cols = case["columns"].as_array().unwrap();
    Columns {
        strings: cols
            .iter()
            .map(|c| {
                c["strings"].as_array().map(|a| a.iter().map(|s| s.as_str().unwrap().to_owned()).collect())
            })
            .collect(),
        ints: cols
            .iter()
            .map(|c| c["ints"].as_array().map(|a| a.iter().map(|v| v.as_i64().unwrap()).collect()))
            .collect(),
    }
}

fn check_output(name: &str, got: &Tensor, case: &Value) {
    assert_eq!(got.shape(), dims(&case["output_shape"]).as_slice(), "{name}: shape");
    if case["output_dtype"] == "int64" {
        let want: Vec<i64> = case["output"].as_array().unwrap().iter().map(|v| v.as_i64().unwrap()).collect();
        assert_eq!(got.to_i64_vec(), want, "{name}: buckets");
    } else {
        let want: Vec<f32> =
            case["output"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap() as f32).collect();
        assert_eq!(got.to_f32_vec(), want, "{name}: one-hot rows");
    }
}

#[test]
fn buckets_match_keras_for_every_case() {
    let all = cases();
    assert!(all.len() >= 10);
    for case in &all {
        let name = case["name"].as_str().unwrap();
        let layer = HashedCrossing::from_config(&case["config"]).unwrap();
        let shape = dims(&case["shape"]);
        let cols = columns(case);
        let str_refs: Vec<Option<Vec<&str>>> =
            cols.strings.iter().map(|s| s.as_ref().map(|v| v.iter().map(String::as_str).collect())).collect();
        let crossed: Vec<CrossColumn<'_>> = str_refs
            .iter()
            .zip(&cols.ints)
            .map(|(s, i)| match (s, i) {
                (Some(s), _) => CrossColumn::Strings(s),
                (None, Some(i)) => CrossColumn::Ints(i),
                _ => unreachable!("a column is strings or ints"),
            })
            .collect();
        check_output(name, &layer.cross(&crossed, &shape).unwrap(), case);
        // All-integer cases also through the tensor entry point, int32 columns as int32 tensors.
        if cols.strings.iter().all(Option::is_none) {
            let tensors: Vec<Tensor> = case["columns"]
                .as_array()
                .unwrap()
                .iter()
                .zip(&cols.ints)
                .map(|(c, v)| {
                    let v = v.clone().unwrap();
                    if c["dtype"] == "int32" {
                        Tensor::from_i32(v.iter().map(|&x| x as i32).collect(), shape.clone()).unwrap()
                    } else {
                        Tensor::from_i64(v, shape.clone()).unwrap()
                    }
                })
                .collect();
            let out = layer.call_multi(&tensors, &[], &mut CallContext::new(false)).unwrap();
            check_output(name, &out[0], case);
        }
        assert_eq!(layer.get_config(), case["config"], "{name}: config");
    }
}

#[test]
fn keras_made_model_loads_predicts_and_round_trips() {
    let m = load_model(dir().join("crossing_model.keras")).unwrap();
    let x0 = keras::io::npy::read(dir().join("crossing_x0.npy")).unwrap();
    let x1 = keras::io::npy::read(dir().join("crossing_x1.npy")).unwrap();
    let want = keras::io::npy::read(dir().join("crossing_y.npy")).unwrap();
    let got = m.predict(vec![x0.clone(), x1.clone()], PredictArgs::default().verbose(0)).unwrap();
    assert_eq!(got[0].shape(), want.shape());
    for (g, w) in got[0].to_f32_vec().iter().zip(want.to_f32_vec()) {
        assert!((g - w).abs() <= 1e-5 * (1.0 + w.abs()), "got {g}, Keras {w}");
    }
    let path = std::env::temp_dir().join(format!("keras_rs_hashed_crossing_{}.keras", std::process::id()));
    m.save(&path).unwrap();
    let again = load_model(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    let again_out = again.predict(vec![x0, x1], PredictArgs::default().verbose(0)).unwrap();
    assert_eq!(again_out[0].to_f32_vec(), got[0].to_f32_vec());
}

#[test]
fn functional_shapes_follow_keras() {
    let a = Input::typed(&[1], DType::I64, None);
    let b = Input::typed(&[1], DType::I64, None);
    let one_hot = HashedCrossing::new(8).output_mode("one_hot").apply_list(&[&a, &b]).unwrap();
    assert_eq!(one_hot.shape(), &[None, Some(8)]);
    let ids = HashedCrossing::new(8).apply_list(&[&a, &b]).unwrap();
    assert_eq!(ids.shape(), &[None, Some(1)]);
    let m = Model::new(&[a, b], &[one_hot]).unwrap();
    let out = m
        .predict_on_batch(&[
            Tensor::from_i64(vec![1, 2, 3], [3, 1]).unwrap(),
            Tensor::from_i64(vec![4, 5, 6], [3, 1]).unwrap(),
        ])
        .unwrap();
    assert_eq!(out[0].shape(), &[3, 8]);
    assert!(out[0].to_f32_vec().chunks(8).all(|row| row.iter().sum::<f32>() == 1.0));
}

#[test]
fn errors_are_keras_s() {
    let ctx = &mut CallContext::new(false);
    let l = HashedCrossing::new(5);
    let ints = |v: Vec<i64>, s: &[usize]| Tensor::from_i64(v, s.to_vec()).unwrap();
    let msg = |r: keras::Result<Vec<Tensor>>| r.unwrap_err().to_string();
    assert!(msg(l.call_multi(&[ints(vec![1, 2], &[2])], &[], ctx)).contains("at least two inputs"));
    assert!(l.call(&ints(vec![1, 2], &[2]), ctx).unwrap_err().to_string().contains("list or tuple"));
    assert!(msg(l.call_multi(&[ints(vec![1, 2], &[2]), ints(vec![1, 2, 3], &[3])], &[], ctx))
        .contains("equal shape"));
    assert!(msg(l.call_multi(&[ints(vec![0; 4], &[2, 2]), ints(vec![0; 4], &[2, 2])], &[], ctx))
        .contains("should have shape `()`, `(batch_size)` or `(batch_size, 1)`"));
    let floats = Tensor::new(vec![1.0, 2.0], [2]).unwrap();
    assert!(
        msg(l.call_multi(&[floats, ints(vec![1, 2], &[2])], &[], ctx)).contains("integer or string dtype")
    );
    assert!(l.cross(&[CrossColumn::Ints(&[1, 2]), CrossColumn::Strings(&["a"])], &[2]).is_err());
    assert!(l.cross(&[CrossColumn::Ints(&[1])], &[1]).unwrap_err().to_string().contains("at least two"));
    let e = HashedCrossing::new(5)
        .output_mode("multi_hot")
        .cross(&[CrossColumn::Ints(&[1]); 2], &[1])
        .unwrap_err();
    assert!(e.to_string().ends_with(
        "Unknown value for `output_mode` argument of HashedCrossing. Allowed values are: ('int', 'one_hot'). Received: output_mode=multi_hot"
    ));
    assert!(HashedCrossing::new(0).cross(&[CrossColumn::Ints(&[1]); 2], &[1]).is_err());
    for bad in [
        json!({"num_bins": 0}),
        json!({"num_bins": 5, "sparse": true}),
        json!({"num_bins": 5, "output_mode": "count"}),
        json!({"output_mode": "int"}),
    ] {
        assert!(HashedCrossing::from_config(&bad).is_err(), "{bad}");
    }
}
