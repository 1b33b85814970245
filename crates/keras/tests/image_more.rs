//! The last Keras 3.15 image layers against Keras (`fixtures/keras315/make_image_more.py`):
//! RandomElasticTransform's deterministic `transform_with(...)` on Keras's transformations
//! (its noise fields included), in both data formats and every interpolation and fill mode;
//! then each layer's configs as Keras writes them, its random draws (shares, seeds,
//! inference), and every argument error.

use std::path::PathBuf;

mod common;
use common::{err, from_cfg};

use keras::layers::{
    deserialize, CallContext, ContrastLimitedAdaptiveHistogramEqualization, Layer, MaxNumBoundingBoxes,
    RandomElasticTransform,
};
use keras::{DType, Tensor};
use serde_json::{json, Value};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/keras315/image_more")
}

fn read(c: &Value, role: &str) -> Tensor {
    keras::io::npy::read(fixtures().join(c["files"][role].as_str().unwrap())).unwrap()
}

/// The cases of one class, each with its layer loaded from Keras's config (which keras-rs
/// writes back key for key, in order).
fn cases(class: &str) -> Vec<(Value, Box<dyn Layer>)> {
    let all: Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures().join("cases.json")).unwrap()).unwrap();
    let mut out = Vec::new();
    for c in all["cases"].as_array().unwrap().iter().filter(|c| c["class_name"] == class) {
        let name = c["name"].as_str().unwrap();
        let layer = deserialize(&json!({"class_name": class, "config": c["config"]}))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let pairs = |v: &Value| -> Vec<(String, Value)> {
            v.as_object().unwrap().iter().map(|(k, v)| (k.clone(), v.clone())).collect()
        };
        assert_eq!(pairs(&layer.get_config()), pairs(&c["config"]), "{name}: config");
        out.push((c.clone(), layer));
    }
    out
}

/// Checks `got` against the case's `want` within its tolerance; returns the largest error.
fn close(c: &Value, got: &Tensor, want: &Tensor) -> f32 {
    common::within_case_tolerance(c, got, want)
}

/// Each of the `count` image cases of `class`: keras-rs's `output(case, layer)` against
/// Keras's `y` (the largest differences printed).
fn compare_images(class: &str, count: usize, output: impl Fn(&Value, &dyn Layer) -> Tensor) {
    let cases = cases(class);
    assert_eq!(cases.len(), count);
    let mut worst = Vec::new();
    for (c, layer) in &cases {
        let got = output(c, layer.as_ref());
        worst.push((c["name"].as_str().unwrap().to_string(), close(c, &got, &read(c, "y"))));
    }
    eprintln!("largest differences: {worst:?}");
}

fn images(n: usize, h: usize, w: usize, c: usize) -> Tensor {
    Tensor::new((0..n * h * w * c).map(|v| ((v * 37 + 11) % 251) as f32).collect(), [n, h, w, c]).unwrap()
}

fn run(l: &dyn Layer, x: &Tensor, training: bool) -> Vec<f32> {
    l.call(x, &mut CallContext::new(training)).unwrap().to_f32_vec()
}

/// The share of the `n` images of one call that the layer changed.
fn changed_share(l: &dyn Layer, n: usize, side: usize) -> f64 {
    let x = images(n, side, side, 1);
    let (xs, ys) = (x.to_f32_vec(), run(l, &x, true));
    let per = side * side;
    (0..n).filter(|b| xs[b * per..(b + 1) * per] != ys[b * per..(b + 1) * per]).count() as f64 / n as f64
}

#[test]
fn elastic_transform_matches_keras() {
    compare_images("RandomElasticTransform", 26, |c, layer| {
        let l = layer.as_any().downcast_ref::<RandomElasticTransform>().unwrap();
        let apply: Vec<bool> =
            c["params"]["apply"].as_array().unwrap().iter().map(|v| v.as_bool().unwrap()).collect();
        let factor = c["params"]["distortion_factor"].as_f64().unwrap() as f32;
        let noise = read(c, "noise");
        l.transform_with(&read(c, "x"), &apply, factor, &noise, &noise).unwrap()
    });
}

#[test]
fn elastic_transform_draws() {
    let x = images(4, 20, 20, 3);
    let make = |s: u64| RandomElasticTransform::new().seed(s);
    // Inference is the identity; training changes images; seeds reproduce; calls advance.
    assert_eq!(run(&make(3), &x, false), x.to_f32_vec());
    let (a, b) = (make(3), make(3));
    let y = run(&a, &x, true);
    assert_ne!(y, x.to_f32_vec());
    assert_eq!(y, run(&b, &x, true));
    assert_ne!(run(&a, &x, true), y);
    assert_ne!(run(&make(4), &x, true), y);
    // Values stay in `value_range` (the images too that are not transformed).
    let clipped = run(&RandomElasticTransform::new().factor(0.0).value_range(20.0, 200.0).seed(1), &x, true);
    assert_eq!(clipped, x.to_f32_vec(), "factor 0: no transformation, no clipping");
    let clipped = run(&RandomElasticTransform::new().value_range(20.0, 200.0).seed(1), &x, true);
    assert!(clipped.iter().all(|v| (20.0..=200.0).contains(v)));
    // A zero upper scale gives no transformation either.
    let cfg = json!({"scale": [0, 0], "value_range": [20, 200], "seed": 1});
    assert_eq!(run(from_cfg("RandomElasticTransform", cfg).unwrap().as_ref(), &x, true), x.to_f32_vec());
    // Transformed share: p ~ U[0, f], applied when u < p: f / 2; a pair [a, b]: (a + b) / 2.
    let share = changed_share(&RandomElasticTransform::new().factor(0.6).seed(5), 2000, 20);
    assert!((share - 0.3).abs() < 0.04, "share {share}");
    let both = from_cfg("RandomElasticTransform", json!({"factor": [1, 1], "seed": 5})).unwrap();
    assert_eq!(changed_share(both.as_ref(), 200, 20), 1.0);
    // Identical images of one batch: each has its own noise field.
    let same = Tensor::new(
        [images(1, 20, 20, 1).to_f32_vec(), images(1, 20, 20, 1).to_f32_vec()].concat(),
        [2, 20, 20, 1],
    )
    .unwrap();
    let y = run(both.as_ref(), &same, true);
    assert_ne!(y[..400], y[400..], "each image has its own noise field");
    // Small scales move pixels less: the mean change grows with the drawn factor.
    let mean_change = |s: f64| {
        let l = RandomElasticTransform::new().scale(s).fill_mode("nearest").seed(9);
        let x = images(8, 24, 24, 1);
        let y = run(&l, &x, true);
        x.to_f32_vec().iter().zip(&y).map(|(a, b)| (a - b).abs() as f64).sum::<f64>() / y.len() as f64
    };
    assert!(mean_change(0.1) < mean_change(1.0));
    // Unbatched images work, and channels-first is the transposed channels-last.
    let one = images(1, 20, 20, 3).reshape([20, 20, 3]).unwrap();
    assert_eq!(make(1).call(&one, &mut CallContext::new(true)).unwrap().shape(), &[20, 20, 3]);
}

#[test]
fn elastic_transform_errors() {
    let x = images(2, 20, 20, 3);
    let call = |l: &dyn Layer| l.call(&x, &mut CallContext::new(true));
    let e = err(call(&RandomElasticTransform::new().factor(1.5)));
    assert!(e.contains("The `factor` argument should be a number (or a list of two numbers) in the range [0, 1]. Received: factor=1.5"), "{e}");
    let e = err(call(&RandomElasticTransform::new().scale(-0.1)));
    assert!(e.contains("The `scale` argument should be a number (or a list of two numbers) in the range [0, 1]. Received: factor=-0.1"), "{e}");
    let e = err(from_cfg("RandomElasticTransform", json!({"scale": [0.2, 0.3, 0.4]})));
    assert!(e.contains("The `scale` argument should be a number"), "{e}");
    let e = err(call(&RandomElasticTransform::new().interpolation("bicubic")));
    assert!(e.contains("Unknown `interpolation` bicubic. Expected of one ('nearest', 'bilinear')."), "{e}");
    let e = err(from_cfg("RandomElasticTransform", json!({"interpolation": "bicubic"})));
    assert!(e.contains("bicubic"), "{e}");
    let e = err(call(&RandomElasticTransform::new().fill_mode("foo")));
    assert!(e.contains("Unknown `fill_mode` foo. Expected of one"), "{e}");
    let e = err(from_cfg("RandomElasticTransform", json!({"fill_mode": "foo"})));
    assert!(e.contains("Unknown `fill_mode` foo"), "{e}");
    let e = err(from_cfg("RandomElasticTransform", json!({"value_range": 255})));
    assert!(e.contains("The `value_range` argument should be a list of two numbers"), "{e}");
    // "mirror" is a valid argument (the config keeps it) that TensorFlow refuses in the call.
    let mirror = RandomElasticTransform::new().fill_mode("mirror").seed(1);
    assert_eq!(mirror.get_config()["fill_mode"], "mirror");
    let e = err(call(&mirror));
    assert!(e.contains("Invalid value for argument `fill_mode`. Expected of one ('constant', 'nearest', 'wrap', 'reflect'). Received: fill_mode=mirror"), "{e}");
    assert_eq!(run(&mirror, &x, false), x.to_f32_vec(), "inference does not transform");
    // `transform_with`: one flag per image, fields of the images' shape, a bounded kernel.
    let l = RandomElasticTransform::new();
    let f = Tensor::zeros([2, 20, 20]);
    let e = err(l.transform_with(&x, &[true], 1.0, &f, &f));
    assert!(e.contains("one value per image: 2 images, 1 values"), "{e}");
    let e = err(l.transform_with(&x, &[true, true], 1.0, &Tensor::zeros([2, 20, 19]), &f));
    assert!(
        e.contains("`dx` must have the shape (n, h, w) = [2, 20, 20] of the images, got [2, 20, 19]"),
        "{e}"
    );
    let e = err(l.transform_with(&x, &[true, true], 1.0, &f, &Tensor::zeros([20, 20])));
    assert!(e.contains("`dy` must have the shape"), "{e}");
    // Fields far beyond the image (infinite, NaN) give values, never a panic.
    let wild = Tensor::new(
        (0..800).map(|i| [f32::INFINITY, f32::NEG_INFINITY, f32::NAN, 1e30, -1e30][i % 5]).collect(),
        [2, 20, 20],
    )
    .unwrap();
    for mode in ["reflect", "constant", "nearest", "wrap"] {
        for interp in ["bilinear", "nearest"] {
            let l = RandomElasticTransform::new().fill_mode(mode).interpolation(interp);
            for (dx, dy) in
                [(&wild, &f), (&Tensor::full([2, 20, 20], 1e30), &Tensor::full([2, 20, 20], -1e30))]
            {
                assert_eq!(l.transform_with(&x, &[true, true], 2.0, dx, dy).unwrap().shape(), x.shape());
            }
        }
    }
    let e = err(l.transform_with(&x, &[true, true], 1e9, &f, &f));
    assert!(e.contains("keras-rs's limit"), "{e}");
    let e = err(l.call(&images(1, 1, 1, 1).reshape([1, 1]).unwrap(), &mut CallContext::new(true)));
    assert!(e.contains("rank 3"), "{e}");
}

type Clahe = ContrastLimitedAdaptiveHistogramEqualization;

#[test]
fn clahe_matches_keras() {
    compare_images("ContrastLimitedAdaptiveHistogramEqualization", 14, |c, layer| {
        // Keras applies it in inference too.
        let x = read(c, "x");
        let got = layer.call(&x, &mut CallContext::new(false)).unwrap();
        assert_eq!(got.to_f32_vec(), run(layer, &x, true));
        got
    });
}

#[test]
fn clahe_errors() {
    let x = images(1, 4, 4, 3);
    let call = |l: &dyn Layer| l.call(&x, &mut CallContext::new(true));
    for (rows, cols) in [(0, 2), (2, 0)] {
        let e = err(call(&Clahe::new().tile_grid_size(rows, cols)));
        assert!(e.contains("`tile_grid_size` must be a list of two positive integers"), "{e}");
    }
    let class = "ContrastLimitedAdaptiveHistogramEqualization";
    for bad in [json!([8]), json!([2.5, 2]), json!("8"), json!([1 << 20, 1])] {
        let e = err(from_cfg(class, json!({"tile_grid_size": bad})));
        assert!(e.contains("Received: tile_grid_size="), "{e}");
    }
    let e = err(from_cfg(class, json!({"value_range": [0]})));
    assert!(e.contains("The `value_range` argument should be a list of two numbers"), "{e}");
    let e = err(from_cfg(class, json!({"clip_limit": "high"})));
    assert!(e.contains("clip_limit"), "{e}");
    // TensorFlow's symmetric padding cannot pad a 4-pixel side by more than 4 (to 8 tiles of 1).
    let small = images(1, 2, 4, 1);
    let e = err(Clahe::new().call(&small, &mut CallContext::new(false)));
    assert!(e.contains("paddings must be no greater than the dimension size"), "{e}");
    assert!(Clahe::new().tile_grid_size(2, 4).call(&small, &mut CallContext::new(false)).is_ok());
    let e =
        err(Clahe::new().call(&images(1, 1, 1, 1).reshape([1, 1]).unwrap(), &mut CallContext::new(false)));
    assert!(e.contains("rank 3"), "{e}");
    // The config keeps Keras's keys, and the arguments given.
    let cfg = Clahe::new().clip_limit(2.0).tile_grid_size(3, 5).value_range(0.0, 1.0).get_config();
    let keys: Vec<&str> = cfg.as_object().unwrap().keys().map(|k| k.as_str()).collect();
    assert_eq!(
        keys,
        ["name", "trainable", "dtype", "data_format", "value_range", "clip_limit", "tile_grid_size"]
    );
    assert_eq!((cfg["clip_limit"].clone(), cfg["tile_grid_size"].clone()), (json!(2.0), json!([3, 5])));
}

#[test]
fn max_num_bounding_boxes_matches_keras() {
    let cases = cases("MaxNumBoundingBoxes");
    assert_eq!(cases.len(), 4);
    for (c, _) in &cases {
        // Keras's config leaves `fill_value` out: the case gives it.
        let l = MaxNumBoundingBoxes::from_config(&c["config"])
            .unwrap()
            .fill_value(c["params"]["fill_value"].as_i64().unwrap());
        let (b, lab) = l.transform_bounding_boxes(&read(c, "boxes"), &read(c, "labels")).unwrap();
        for (got, want) in [(b, read(c, "boxes_y")), (lab, read(c, "labels_y"))] {
            assert_eq!(got.shape(), want.shape(), "{}", c["name"]);
            assert_eq!(got.to_f32_vec(), want.to_f32_vec(), "{}", c["name"]);
        }
    }
}

#[test]
fn max_num_bounding_boxes_api_and_errors() {
    let l = MaxNumBoundingBoxes::new(2);
    // One image's boxes; integer labels keep their dtype and values.
    let boxes = Tensor::new((0..12).map(|v| v as f32).collect(), [3, 4]).unwrap();
    let labels = Tensor::new(vec![5.0, 6.0, 7.0], [3]).unwrap().cast(DType::I64);
    let (b, lab) = l.transform_bounding_boxes(&boxes, &labels).unwrap();
    assert_eq!((b.shape(), b.to_f32_vec()), (&[2, 4][..], (0..8).map(|v| v as f32).collect::<Vec<_>>()));
    assert_eq!((lab.dtype(), lab.to_f32_vec()), (DType::I64, vec![5.0, 6.0]));
    let (b, lab) = MaxNumBoundingBoxes::new(4).transform_bounding_boxes(&boxes, &labels).unwrap();
    assert_eq!(b.to_f32_vec()[12..], [-1.0; 4]);
    assert_eq!((lab.dtype(), lab.to_f32_vec()), (DType::I64, vec![5.0, 6.0, 7.0, -1.0]));
    // Zero boxes in, zero boxes out.
    let (b, _) = MaxNumBoundingBoxes::new(0).transform_bounding_boxes(&boxes, &labels).unwrap();
    assert_eq!(b.shape(), &[0, 4]);
    // Images pass unchanged, in training and inference, either data format.
    let x = images(2, 3, 4, 3);
    for training in [true, false] {
        assert_eq!(run(&l, &x, training), x.to_f32_vec());
        assert_eq!(
            run(&MaxNumBoundingBoxes::new(2).data_format("channels_first"), &x, training),
            x.to_f32_vec()
        );
    }
    let s = [Some(2), Some(3), Some(4), Some(3)];
    assert_eq!(l.compute_output_shape(&s).unwrap(), s.to_vec());
    // Errors: mismatched or malformed boxes and labels, images of another rank, configs.
    for (bs, ls) in [
        (vec![2, 3, 4], vec![2, 2]),
        (vec![2, 3, 5], vec![2, 3]),
        (vec![3, 4], vec![1, 3]),
        (vec![4], vec![1]),
    ] {
        let e = err(l.transform_bounding_boxes(&Tensor::zeros(bs), &Tensor::zeros(ls)));
        assert!(e.contains("expected `boxes` of shape (batch, num_boxes, 4)"), "{e}");
    }
    let e = err(l.call(&Tensor::zeros([2, 3]), &mut CallContext::new(true)));
    assert!(e.contains("Expected image tensor to have rank 3 (single image) or 4 (batch of images)"), "{e}");
    let e = err(from_cfg("MaxNumBoundingBoxes", json!({"fill_value": 0})));
    assert!(e.contains("needs `max_number`"), "{e}");
    assert!(from_cfg("MaxNumBoundingBoxes", json!({"max_number": -1})).is_err());
    let e = err(MaxNumBoundingBoxes::new(1 << 40).transform_bounding_boxes(&boxes, &labels));
    assert!(e.contains("allocate") || e.contains("too large"), "{e}");
    // Keras's config: no `fill_value`; the format only when set.
    let cfg = MaxNumBoundingBoxes::new(3).fill_value(0).get_config();
    let keys: Vec<&str> = cfg.as_object().unwrap().keys().map(|k| k.as_str()).collect();
    assert_eq!(keys, ["name", "trainable", "dtype", "data_format", "max_number"]);
    let cfg = MaxNumBoundingBoxes::new(3).bounding_box_format("xyxy").get_config();
    let keys: Vec<&str> = cfg.as_object().unwrap().keys().map(|k| k.as_str()).collect();
    assert_eq!(keys, ["name", "trainable", "dtype", "data_format", "bounding_box_format", "max_number"]);
}

#[test]
fn layers_load_in_models_from_their_configs() {
    use keras::models::Sequential;
    let mut m = Sequential::new();
    m.add(keras::layers::Input::new(&[20, 20, 3])).unwrap();
    m.add(RandomElasticTransform::new().scale(0.5).seed(1)).unwrap();
    m.add(Clahe::new().tile_grid_size(4, 4)).unwrap();
    m.add(MaxNumBoundingBoxes::new(5)).unwrap();
    let cfg = m.get_config();
    let back = Sequential::from_config(&cfg).unwrap();
    assert_eq!(back.get_config(), cfg);
    // Inference: only CLAHE acts.
    let x = images(2, 20, 20, 3);
    let want = run(&Clahe::new().tile_grid_size(4, 4), &x, false);
    assert_eq!(back.predict_on_batch(&x).unwrap().to_f32_vec(), want);
}
