//! `RMSNormalization` and the adaptive pooling layers as a user meets them: configs equal to
//! Keras's (the cases of `tests/fixtures/keras315/layer`, key order included), a `.keras`
//! round trip of small models with equal predictions, a model that takes images of any size,
//! and the errors. Forward values and gradients against Keras are checked by the conformance
//! runner (`cargo test --test oracle -- adaptive rms_normalization`).

use std::path::PathBuf;

use keras::layers::{
    self, AdaptiveAveragePooling1D, AdaptiveAveragePooling2D, AdaptiveAveragePooling3D, AdaptiveMaxPooling1D,
    AdaptiveMaxPooling2D, AdaptiveMaxPooling3D, CallContext, Conv2D, Dense, Flatten, Input, Layer,
    RMSNormalization,
};
use keras::models::{load_model, Model, Sequential, SymbolicCall};
use keras::{DType, PredictArgs, Tensor};
use serde_json::{json, Value};

const CLASSES: [&str; 7] = [
    "RMSNormalization",
    "AdaptiveAveragePooling1D",
    "AdaptiveAveragePooling2D",
    "AdaptiveAveragePooling3D",
    "AdaptiveMaxPooling1D",
    "AdaptiveMaxPooling2D",
    "AdaptiveMaxPooling3D",
];

fn cases() -> Vec<Value> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/keras315/layer");
    let mut out = Vec::new();
    for dir in std::fs::read_dir(root).unwrap().flatten() {
        let text = std::fs::read_to_string(dir.path().join("case.json")).unwrap();
        let case: Value = serde_json::from_str(&text).unwrap();
        if CLASSES.contains(&case["class_name"].as_str().unwrap_or("")) {
            out.push(case);
        }
    }
    out
}

#[test]
fn configs_round_trip_and_equal_keras() {
    let cases = cases();
    assert!(cases.len() >= 12, "only {} cases", cases.len());
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        let shape: Vec<Option<usize>> =
            case["input_shape"].as_array().unwrap().iter().map(|d| d.as_u64().map(|v| v as usize)).collect();
        let mut layer = layers::deserialize(&case["serialized"]).unwrap();
        layer.build(&shape).unwrap();
        let got = layer.get_config();
        let want = &case["config"];
        let gk: Vec<&String> = got.as_object().unwrap().keys().collect();
        let wk: Vec<&String> = want.as_object().unwrap().keys().collect();
        assert_eq!(gk, wk, "{name}: config keys");
        assert_eq!(&got, want, "{name}: config values");
        let mut again = layers::deserialize(&layer.serialize()).unwrap();
        again.build(&shape).unwrap();
        assert_eq!(again.get_config(), got, "{name}: round trip");
    }
}

fn data(shape: &[usize], seed: u32) -> Tensor {
    let n: usize = shape.iter().product();
    let v =
        (0..n).map(|i| (((i as u32).wrapping_mul(2654435761) ^ seed) % 1000) as f32 / 250.0 - 2.0).collect();
    Tensor::new(v, shape.to_vec()).unwrap()
}

fn round_trip(name: &str, input: &[usize], layer: impl Layer) {
    let mut model = Sequential::new();
    model.add(Input::new(input)).unwrap();
    model.add(layer).unwrap();
    model.add(Flatten::new()).unwrap();
    model.add(Dense::new(2)).unwrap();
    let mut shape = vec![3];
    shape.extend_from_slice(input);
    let x = data(&shape, 11);
    let path = std::env::temp_dir().join(format!("s9_layers_{name}_{}.keras", std::process::id()));
    model.save(&path).unwrap();
    let restored = load_model(&path).unwrap().into_sequential().unwrap();
    std::fs::remove_file(&path).ok();
    let args = || PredictArgs::default().verbose(0);
    assert_eq!(
        model.predict(&x, args()).unwrap().to_f32_vec(),
        restored.predict(&x, args()).unwrap().to_f32_vec()
    );
}

#[test]
fn the_layers_save_and_load_in_a_model() {
    round_trip("rms", &[3, 4], RMSNormalization::new().epsilon(1e-3));
    round_trip("rms_axes", &[3, 4], RMSNormalization::new().axes(&[1, 2]));
    round_trip("aap1", &[7, 3], AdaptiveAveragePooling1D::new(3));
    round_trip("amp1", &[3, 7], AdaptiveMaxPooling1D::new(4).data_format("channels_first"));
    round_trip("aap2", &[9, 5, 2], AdaptiveAveragePooling2D::new([4, 3]));
    round_trip("amp2", &[9, 5, 2], AdaptiveMaxPooling2D::new(2));
    round_trip("aap3", &[5, 4, 3, 2], AdaptiveAveragePooling3D::new([2, 2, 3]));
    round_trip("amp3", &[2, 5, 4, 3], AdaptiveMaxPooling3D::new(2).data_format("channels_first"));
}

/// The reason for adaptive pooling: one network for images of any size. Conv2D ->
/// AdaptiveAveragePooling2D(2) -> Flatten -> Dense takes 9x7 and 16x12 images alike.
#[test]
fn a_functional_model_takes_images_of_any_size() {
    let x = keras::Input::batch_shape(&[None, None, None, Some(3)], DType::F32, None);
    let h = Conv2D::new(4, [3, 3]).activation("relu").apply(&x).unwrap();
    let h = AdaptiveAveragePooling2D::new(2).apply(&h).unwrap();
    let h = Flatten::new().apply(&h).unwrap();
    let y = Dense::new(5).apply(&h).unwrap();
    let model = Model::new(&[x], &[y]).unwrap();
    for (h, w) in [(9, 7), (16, 12)] {
        let out = model.predict(data(&[2, h, w, 3], 5), PredictArgs::default().verbose(0)).unwrap();
        assert_eq!(out[0].shape(), &[2, 5], "{h}x{w}");
    }
}

#[test]
fn errors_instead_of_panics() {
    let mut ctx = CallContext::new(false);
    // RMSNormalization: an axis out of range is Keras's ValueError.
    let e = RMSNormalization::new().axis(3).compute_output_shape(&[None, Some(4)]).unwrap_err().to_string();
    assert!(e.contains("Axis 3 is out of bounds for input shape (None, 4)"), "{e}");
    let mut l = RMSNormalization::new().axis(-3);
    assert!(l.build(&[None, Some(4)]).is_err());
    let mut l = RMSNormalization::new();
    assert!(l.build(&[None, None]).is_err(), "an undefined normalized axis");
    // A scale that does not broadcast (Keras's own limitation for non-trailing axes).
    let mut l = RMSNormalization::new().axis(1);
    l.build(&[None, Some(4), Some(6)]).unwrap();
    let e = l.call(&Tensor::ones([2, 4, 6]), &mut ctx).unwrap_err().to_string();
    assert!(e.contains("does not broadcast"), "{e}");
    let unbuilt = RMSNormalization::new();
    assert!(unbuilt.call(&Tensor::ones([2, 4]), &mut ctx).is_err());
    assert!(RMSNormalization::from_config(&json!({"axis": "last"})).is_err());
    assert!(RMSNormalization::from_config(&json!({"epsilon": [1]})).is_err());
    // Adaptive pooling: rank, zero sizes, bad configs.
    let e =
        AdaptiveMaxPooling3D::new(2).compute_output_shape(&[None, Some(4), Some(4), Some(1)]).unwrap_err();
    assert!(e.to_string().contains("expected ndim=5"), "{e}");
    let e = AdaptiveAveragePooling1D::new(0).call(&Tensor::ones([1, 4, 1]), &mut ctx).unwrap_err();
    assert!(e.to_string().contains("positive"), "{e}");
    assert!(AdaptiveAveragePooling2D::from_config(&json!({"output_size": [2, -1]})).is_err());
    assert!(AdaptiveAveragePooling2D::from_config(&json!({"output_size": [2, 2], "data_format": "nchw"}))
        .is_err());
}
