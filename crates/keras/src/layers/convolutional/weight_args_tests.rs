//! Regularizers and constraints of every convolution layer (Keras `*_regularizer`,
//! `activity_regularizer`, `*_constraint`): penalties in the training loss, constraints after
//! the optimizer step, and their configs through `from_config`.

use serde_json::Value;

use super::{
    Conv1D, Conv1DTranspose, Conv2D, Conv2DTranspose, Conv3D, Conv3DTranspose, DepthwiseConv1D,
    DepthwiseConv2D, SeparableConv1D, SeparableConv2D,
};
use crate::constraints::Constraint;
use crate::layers::{self, Input, Layer};
use crate::models::Sequential;
use crate::regularizers::Regularizer;
use crate::PredictArgs;
use crate::Tensor;

fn l2(f: f32) -> Regularizer {
    Regularizer::l2(f).unwrap()
}

/// Every convolution layer with an L2 penalty of `0.1 * (i + 1)` on its i-th kernel, `0.05`
/// on its bias, a `NonNeg` constraint on every weight and, with `activity`, an L1 activity
/// penalty of `0.01`; with the input shape (no batch) it runs on.
fn layers(activity: bool) -> Vec<(Box<dyn Layer>, Vec<usize>)> {
    let act = |on: bool| if on { Some(Regularizer::l1(0.01).unwrap()) } else { None };
    let nn = || Constraint::NonNeg;
    macro_rules! dressed {
        ($l:expr, $shape:expr, [$($reg:ident, $con:ident),+]) => {{
            let mut i = 0.0f32;
            let l = $l.bias_regularizer(l2(0.05)).bias_constraint(nn());
            $(i += 1.0; let l = l.$reg(l2(0.1 * i)).$con(nn());)+
            let l = match act(activity) { Some(r) => l.activity_regularizer(r), None => l };
            (Box::new(l) as Box<dyn Layer>, $shape.to_vec())
        }};
    }
    vec![
        dressed!(Conv1D::new(2, 3), [6, 2], [kernel_regularizer, kernel_constraint]),
        dressed!(Conv2D::new(2, [2, 2]), [4, 4, 2], [kernel_regularizer, kernel_constraint]),
        dressed!(Conv3D::new(2, [2, 2, 2]), [3, 3, 3, 2], [kernel_regularizer, kernel_constraint]),
        dressed!(Conv1DTranspose::new(2, 3), [4, 2], [kernel_regularizer, kernel_constraint]),
        dressed!(Conv2DTranspose::new(2, [2, 2]), [3, 3, 2], [kernel_regularizer, kernel_constraint]),
        dressed!(Conv3DTranspose::new(2, [2, 2, 2]), [2, 2, 2, 2], [kernel_regularizer, kernel_constraint]),
        dressed!(DepthwiseConv1D::new(3), [6, 2], [depthwise_regularizer, depthwise_constraint]),
        dressed!(DepthwiseConv2D::new([2, 2]), [4, 4, 2], [depthwise_regularizer, depthwise_constraint]),
        dressed!(
            SeparableConv1D::new(2, 3),
            [6, 2],
            [depthwise_regularizer, depthwise_constraint, pointwise_regularizer, pointwise_constraint]
        ),
        dressed!(
            SeparableConv2D::new(2, [2, 2]),
            [4, 4, 2],
            [depthwise_regularizer, depthwise_constraint, pointwise_regularizer, pointwise_constraint]
        ),
    ]
}

fn data(shape: &[usize], seed: f32) -> Tensor {
    let n: usize = shape.iter().product();
    Tensor::new((0..n).map(|i| ((i as f32 + seed) * 0.913).sin()).collect(), shape.to_vec()).unwrap()
}

fn model(layer: Box<dyn Layer>, input: &[usize]) -> Sequential {
    let mut m = Sequential::new();
    m.add(Input::new(input)).unwrap();
    m.add_boxed(layer).unwrap();
    m.compile("sgd", "mse", &[]).unwrap();
    m
}

/// The weight penalties are `sum factor * w^2` over Keras's weights (bias last), and the
/// training loss is the mean squared error plus those plus `0.01 * sum |output|`.
#[test]
fn penalties_of_every_weight_join_the_loss() {
    for ((layer, input), (plain, _)) in layers(true).into_iter().zip(layers(false)) {
        let class = layer.class_name();
        let mut m = model(layer, &input);
        let ws = m.get_weights();
        let mut want = 0.0f32;
        for (i, w) in ws.iter().enumerate() {
            let f = if i + 1 == ws.len() { 0.05 } else { 0.1 * (i + 1) as f32 };
            want += f * w.to_f32_vec().iter().map(|v| v * v).sum::<f32>();
        }
        let got: f32 = m.losses().unwrap().iter().map(|t| t.item().unwrap()).sum();
        assert!((got - want).abs() <= 1e-5 * want.max(1.0), "{class}: {got} vs {want}");

        let mut batch = vec![2];
        batch.extend(&input);
        let x = data(&batch, 0.5);
        let pred = m.predict(&x, PredictArgs::default().verbose(0)).unwrap();
        let y = data(pred.shape(), 1.5);
        let mse = pred.to_f32_vec().iter().zip(y.to_f32_vec()).map(|(p, t)| (p - t) * (p - t)).sum::<f32>()
            / pred.to_f32_vec().len() as f32;
        let activity = 0.01 * pred.to_f32_vec().iter().map(|v| v.abs()).sum::<f32>();
        let loss = m.test_on_batch(&x, &y, None).unwrap()["loss"];
        let want_loss = mse + want + activity;
        assert!((loss - want_loss).abs() <= 1e-4 * want_loss.max(1.0), "{class}: {loss} vs {want_loss}");

        // Without the activity regularizer (same weights) the loss drops by exactly it.
        let mut p = model(plain, &input);
        p.set_weights(&ws).unwrap();
        let loss_plain = p.test_on_batch(&x, &y, None).unwrap()["loss"];
        assert!((loss - loss_plain - activity).abs() <= 1e-4, "{class}: activity {activity}");
    }
}

/// A `NonNeg` constraint on every weight leaves no negative entry after one SGD step.
#[test]
fn constraints_apply_after_each_update() {
    for (layer, input) in layers(false) {
        let class = layer.class_name();
        let mut m = model(layer, &input);
        let mut weights = m.get_weights();
        // Negative starting values everywhere, so the constraint has work to do.
        for w in &mut weights {
            let v: Vec<f32> = (0..w.to_f32_vec().len()).map(|i| -0.2 - 0.01 * i as f32).collect();
            *w = Tensor::new(v, w.shape().to_vec()).unwrap();
        }
        m.set_weights(&weights).unwrap();
        let mut batch = vec![2];
        batch.extend(&input);
        let x = data(&batch, 0.25);
        let pred = m.predict(&x, PredictArgs::default().verbose(0)).unwrap();
        m.train_on_batch(&x, data(pred.shape(), 2.0), None).unwrap();
        for w in m.get_weights() {
            assert!(w.to_f32_vec().iter().all(|&v| v >= 0.0), "{class}: {w:?}");
        }
    }
}

/// The regularizers and constraints are in the config under Keras's keys and come back
/// through `layers::deserialize`.
#[test]
fn regularizer_and_constraint_configs_round_trip() {
    for (layer, _) in layers(true) {
        let class = layer.class_name();
        let cfg = layer.get_config();
        let prefixes: &[&str] = match class {
            "DepthwiseConv1D" | "DepthwiseConv2D" => &["depthwise", "bias"],
            "SeparableConv1D" | "SeparableConv2D" => &["depthwise", "pointwise", "bias"],
            _ => &["kernel", "bias"],
        };
        for p in prefixes {
            assert_eq!(cfg[format!("{p}_regularizer")]["class_name"], "L2", "{class} {p}");
            assert_eq!(cfg[format!("{p}_constraint")]["class_name"], "NonNeg", "{class} {p}");
        }
        assert_eq!(cfg["activity_regularizer"]["class_name"], "L1", "{class}");
        let back = layers::deserialize(&layer.serialize()).unwrap();
        assert_eq!(back.get_config(), cfg, "{class}");
        let mut bad = layer.serialize();
        bad["config"][format!("{}_regularizer", prefixes[0])] = Value::String("l7".into());
        assert!(layers::deserialize(&bad).is_err(), "{class}: an unknown regularizer is refused");
    }
}

/// Each of the ten layers, channels-first and with its regularizers and constraints, saved
/// to a `.keras` file loads back with the same config, weights and predictions.
#[test]
fn every_layer_saves_and_loads_channels_first() {
    let dir = std::env::temp_dir().join(format!("keras_rs_convs_all_cf_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (i, (layer, shape)) in layers(true).into_iter().enumerate() {
        let class = layer.class_name().to_string();
        let mut s = layer.serialize();
        s["config"]["data_format"] = Value::String("channels_first".into());
        let first = layers::deserialize(&s).unwrap();
        let mut cf_shape = vec![*shape.last().unwrap()];
        cf_shape.extend_from_slice(&shape[..shape.len() - 1]);
        let m = model(first, &cf_shape);
        let path = dir.join(format!("{i}.keras"));
        m.save(&path).unwrap();
        let back = crate::models::load_model(&path).unwrap();
        let x = data(
            &[std::iter::once(2).chain(cf_shape.iter().copied()).collect::<Vec<_>>(), vec![]].concat(),
            0.5,
        );
        let args = || PredictArgs::default().verbose(0);
        let y = m.predict(&x, args()).unwrap();
        let y2 = back.predict(&x, args()).unwrap().remove(0);
        assert_eq!(y.to_f32_vec(), y2.to_f32_vec(), "{class}");
        let (a, b) = (m.layers()[0].get_config(), back.layers()[0].get_config());
        assert_eq!(a, b, "{class}");
        assert_eq!(a["data_format"], "channels_first", "{class}");
        assert_eq!(m.get_weights().len(), back.get_weights().len(), "{class}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// Arguments Keras refuses give an error, not a panic, also through a config.
#[test]
fn bad_config_arguments_are_errors() {
    for (layer, _) in layers(false) {
        let class = layer.class_name().to_string();
        let good = layer.serialize();
        let n = good["config"]["kernel_size"].as_array().unwrap().len();
        let tuple = |v: usize, first: usize| {
            Value::Array((0..n).map(|i| Value::from(if i == 0 { first } else { v })).collect())
        };
        let mut cases: Vec<(&str, Value, &str)> = vec![
            ("kernel_size", tuple(2, 0), "kernel_size"),
            ("strides", tuple(1, 0), "strides"),
            ("padding", Value::String("full".into()), "full"),
            ("data_format", Value::String("nchw".into()), "Received: data_format=nchw"),
        ];
        if good["config"].get("filters").is_some() {
            cases.push(("filters", Value::from(0), "filters=0"));
        }
        for (key, v, want) in cases {
            let mut bad = good.clone();
            bad["config"][key] = v;
            let e = layers::deserialize(&bad).err().unwrap_or_else(|| panic!("{class}: {key} accepted"));
            assert!(e.to_string().contains(want), "{class} {key}: {e}");
        }
        // Keras 3.15 refuses strides > 1 with dilation > 1 in BaseConv and BaseConvTranspose
        // only (its depthwise and separable layers decompose that case).
        if class.starts_with("Depthwise") || class.starts_with("Separable") {
            continue;
        }
        let mut bad = good.clone();
        bad["config"]["strides"] = tuple(1, 2);
        bad["config"]["dilation_rate"] = tuple(1, 2);
        let e = layers::deserialize(&bad).err().unwrap_or_else(|| panic!("{class}: strides+dilation"));
        assert!(e.to_string().contains("`strides > 1` not supported in conjunction"), "{class}: {e}");
    }
}
