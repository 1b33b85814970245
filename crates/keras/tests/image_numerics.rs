//! keras-rs image numerics against Keras 3 on the TensorFlow backend: `affine_transform` with
//! every fill mode and interpolation (including a projective transform and shifts far outside
//! the image), resize variants beyond the oracle's (antialiased bicubic, lanczos, area
//! up-sampling, crop/pad to aspect ratio) and bicubic `smart_resize`.
//! Fixtures: tests/fixtures/image/cases.json, made by make_fixtures.py beside it.

use keras::preprocessing::image::{affine_transform, resize, smart_resize, ResizeArgs};
use keras::Tensor;
use serde_json::Value;

fn cases() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/image/cases.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn floats(v: &Value) -> Vec<f32> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect()
}

fn shape(v: &Value) -> Vec<usize> {
    v.as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as usize).collect()
}

fn image(c: &Value) -> Tensor {
    Tensor::new(floats(&c["image"]["data"]), shape(&c["image"]["shape"])).unwrap()
}

fn assert_close(what: &str, got: &[f32], want: &[f32], atol: f32) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= atol + 1e-5 * w.abs(), "{what}: element {i} is {g}, Keras has {w}");
    }
}

#[test]
fn affine_transform_matches_keras() {
    let c = cases();
    let img = image(&c);
    let calls = c["affine"].as_array().unwrap();
    assert_eq!(calls.len(), 40);
    for call in calls {
        let t: [f32; 8] = floats(&call["transform"]).try_into().unwrap();
        let what = format!("{} {} {:?}", call["fill_mode"], call["interpolation"], t);
        let y = affine_transform(
            &img,
            &[t],
            call["interpolation"].as_str().unwrap().parse().unwrap(),
            call["fill_mode"].as_str().unwrap().parse().unwrap(),
            call["fill_value"].as_f64().unwrap() as f32,
        )
        .unwrap();
        assert_close(&what, &y.to_f32_vec(), &floats(&call["output"]), 2e-3);
    }
}

#[test]
fn resize_variants_match_keras() {
    let c = cases();
    let img = image(&c);
    for call in c["resize"].as_array().unwrap() {
        let size = shape(&call["size"]);
        let flag = |k: &str| call.get(k).and_then(Value::as_bool).unwrap_or(false);
        let opts = ResizeArgs {
            interpolation: call["interpolation"].as_str().unwrap().parse().unwrap(),
            antialias: flag("antialias"),
            crop_to_aspect_ratio: flag("crop_to_aspect_ratio"),
            pad_to_aspect_ratio: flag("pad_to_aspect_ratio"),
            fill_value: call.get("fill_value").and_then(Value::as_f64).unwrap_or(0.0) as f32,
        };
        let y = resize(&img, (size[0], size[1]), opts).unwrap();
        assert_eq!(y.shape(), shape(&call["shape"]).as_slice(), "{call}");
        assert_close(&format!("{opts:?} {size:?}"), &y.to_f32_vec(), &floats(&call["output"]), 2e-3);
    }
    let s = &c["smart_resize"];
    let first = Tensor::new(img.to_f32_vec()[..img.numel() / 2].to_vec(), &img.shape()[1..]).unwrap();
    let size = shape(&s["size"]);
    let y = smart_resize(&first, (size[0], size[1]), s["interpolation"].as_str().unwrap().parse().unwrap())
        .unwrap();
    assert_eq!(y.shape(), shape(&s["shape"]).as_slice());
    assert_close("smart_resize", &y.to_f32_vec(), &floats(&s["output"]), 2e-3);
}
