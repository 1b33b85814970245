//! `data_format="channels_first"` for the convolution layers: Keras's configs and weight
//! shapes for the reference cases (their numbers run in `tests/oracle`), the equivalence
//! with the channels-last layer, and a `.keras` save/load round trip.

use serde_json::Value;

use super::{Conv1D, Conv2D, Conv2DTranspose, Conv3D, DepthwiseConv1D, SeparableConv2D};
use crate::layers::reshaping::args::known;
use crate::layers::{self, CallContext, Input, Layer};
use crate::models::{load_model, Sequential};
use crate::PredictArgs;
use crate::{ops, Tensor};

const CASES: [&str; 12] = [
    "conv1d_channels_first",
    "conv1d_channels_first_causal",
    "conv2d_channels_first",
    "conv2d_channels_first_groups",
    "conv3d_channels_first",
    "conv1d_transpose_channels_first",
    "conv2d_transpose_channels_first",
    "conv3d_transpose_channels_first",
    "separable_conv1d_channels_first",
    "separable_conv2d_channels_first",
    "depthwise_conv1d_channels_first",
    "depthwise_conv2d_channels_first",
];

fn case(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/keras315/layer/{name}/case.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).expect("fixture")).expect("json")
}

fn dims(v: &Value) -> Vec<Option<usize>> {
    v.as_array().unwrap().iter().map(|d| d.as_u64().map(|x| x as usize)).collect()
}

fn rand(shape: &[usize], seed: f32) -> Tensor {
    let n: usize = shape.iter().product();
    Tensor::new((0..n).map(|i| ((i as f32 + seed) * 0.7311).sin()).collect(), shape.to_vec()).unwrap()
}

fn max_diff(a: &Tensor, b: &Tensor) -> f32 {
    assert_eq!(a.shape(), b.shape());
    a.to_f32_vec().iter().zip(b.to_f32_vec()).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

/// Config and serialization byte for byte, weight names and shapes (Keras's kernel layout,
/// the same as channels-last), and the output shape of every channels-first case.
#[test]
fn channels_first_configs_weights_and_shapes_match_keras() {
    for name in CASES {
        let c = case(name);
        let mut layer = layers::deserialize(&c["serialized"]).unwrap();
        assert_eq!(c["config"]["data_format"], "channels_first", "{name}");
        let json = |v: &Value| serde_json::to_string(v).unwrap();
        assert_eq!(json(&layer.get_config()), json(&c["config"]), "{name}: get_config");
        // Keras built the layer on the concrete batch of the case (its build_config).
        layer.build(&dims(&c["serialized"]["build_config"]["input_shape"])).unwrap();
        assert_eq!(json(&layer.serialize()), json(&c["serialized"]), "{name}: serialize");
        let metas = c["weights"].as_array().unwrap();
        let ws = layer.weights();
        assert_eq!(ws.len(), metas.len(), "{name}");
        for (w, m) in ws.iter().zip(metas) {
            assert_eq!(w.name(), m["name"].as_str().unwrap(), "{name}");
            let want: Vec<Option<usize>> = dims(&m["shape"]);
            assert_eq!(known(w.shape()), want, "{name}");
        }
        let out = layer.compute_output_shape(&dims(&c["input_shape"])).unwrap();
        let mut want = dims(&c["arrays"]["output"]["shape"]);
        want[0] = None;
        assert_eq!(out, want, "{name}: compute_output_shape");
    }
}

/// With the same weights, a channels-first layer is the channels-last one between
/// transposes; a wrong channel axis is an error, not a panic. (The shapes keep the size
/// of axis 1 of the channels-last input apart from the channel count, else Keras too would
/// take that input as channels-first.)
#[test]
fn channels_first_is_the_transposed_channels_last_layer() {
    fn pair(first: Box<dyn Layer>, last: Box<dyn Layer>, x_first: &[usize]) {
        let (mut first, mut last) = (first, last);
        let r = x_first.len();
        let to_last: Vec<usize> = [0].into_iter().chain(2..r).chain([1]).collect();
        let from_last: Vec<usize> = [0, r - 1].into_iter().chain(1..r - 1).collect();
        let x = rand(x_first, 0.3);
        let xl = ops::transpose(&x, &to_last).unwrap();
        first.build(&known(x.shape())).unwrap();
        last.build(&known(xl.shape())).unwrap();
        let ws: Vec<Tensor> = first.weights().iter().map(|w| w.value().clone()).collect();
        last.set_weights(&ws).unwrap();
        let mut ctx = CallContext::new(false);
        let y = first.call(&x, &mut ctx).unwrap();
        let yl = ops::transpose(&last.call(&xl, &mut ctx).unwrap(), &from_last).unwrap();
        assert!(max_diff(&y, &yl) < 1e-6, "{}", first.class_name());
        assert_eq!(known(y.shape()), first.compute_output_shape(&known(x.shape())).unwrap());
        assert!(first.call(&xl, &mut ctx).is_err(), "{}: channels on the last axis", first.class_name());
    }
    let cf = "channels_first";
    pair(
        Box::new(Conv1D::new(3, 2).padding("causal").data_format(cf)),
        Box::new(Conv1D::new(3, 2).padding("causal")),
        &[2, 4, 6],
    );
    pair(
        Box::new(Conv2D::new(3, [2, 3]).strides([2, 1]).data_format(cf)),
        Box::new(Conv2D::new(3, [2, 3]).strides([2, 1])),
        &[2, 2, 5, 6],
    );
    pair(
        Box::new(Conv3D::new(2, [2, 2, 2]).data_format(cf)),
        Box::new(Conv3D::new(2, [2, 2, 2])),
        &[1, 3, 4, 5, 2],
    );
    pair(
        Box::new(Conv2DTranspose::new(2, [3, 3]).strides([2, 2]).data_format("CHANNELS_FIRST")),
        Box::new(Conv2DTranspose::new(2, [3, 3]).strides([2, 2])),
        &[2, 3, 4, 5],
    );
    pair(
        Box::new(DepthwiseConv1D::new(3).depth_multiplier(2).data_format(cf)),
        Box::new(DepthwiseConv1D::new(3).depth_multiplier(2)),
        &[2, 3, 5],
    );
    pair(
        Box::new(SeparableConv2D::new(4, [2, 2]).padding("same").data_format(cf)),
        Box::new(SeparableConv2D::new(4, [2, 2]).padding("same")),
        &[2, 3, 4, 4],
    );
    let e = Conv2D::new(2, [2, 2]).data_format("channels_middle");
    let mut m = Sequential::new();
    m.add(Input::new(&[3, 4, 4])).unwrap();
    let err = m.add(e).unwrap_err();
    assert!(err.message().contains("Received: data_format=channels_middle"), "{err:?}");
}

/// A `.keras` file of channels-first convolutions loads back with the same config and
/// predictions (the kernels are stored in Keras's layout).
#[test]
fn channels_first_models_save_and_load() {
    let cf = "channels_first";
    let mut m = Sequential::new();
    m.add(Input::new(&[3, 6, 6])).unwrap();
    m.add(Conv2D::new(4, [3, 3]).padding("same").activation("relu").data_format(cf)).unwrap();
    m.add(SeparableConv2D::new(2, [2, 2]).data_format(cf)).unwrap();
    m.add(Conv2DTranspose::new(3, [2, 2]).strides([2, 2]).data_format(cf)).unwrap();
    assert_eq!(m.get_weights()[0].shape(), &[3, 3, 3, 4]);
    let dir = std::env::temp_dir().join(format!("keras_rs_convs_cf_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("cf.keras");
    m.save(&path).unwrap();
    let back = load_model(&path).unwrap();
    let x = rand(&[2, 3, 6, 6], 1.0);
    let args = || PredictArgs::default().verbose(0);
    let y = m.predict(&x, args()).unwrap();
    assert_eq!(y.shape(), &[2, 3, 10, 10]);
    let y2 = back.predict(&x, args()).unwrap().remove(0);
    assert_eq!(y.to_f32_vec(), y2.to_f32_vec());
    assert_eq!(back.get_weights()[0].shape(), &[3, 3, 3, 4]);
    std::fs::remove_dir_all(&dir).ok();
}
