//! The image augmentation layers against Keras 3.15: each layer's deterministic
//! `transform_with(...)` on explicit parameters against Keras's `transform_images` on the same
//! parameters, in both data formats (`fixtures/keras315/make_image_augmentation.py`), configs
//! as Keras writes them; then the random draws (ranges, shares, seeds), inference, and every
//! argument error.

use std::path::PathBuf;

mod common;
use common::{err, from_cfg};

use keras::layers::{
    deserialize, AutoContrast, CallContext, Equalization, Layer, RandomColorDegeneration, RandomErasing,
    RandomGaussianBlur, RandomGrayscale, RandomHue, RandomInvert, RandomPerspective, RandomPosterization,
    RandomSaturation, RandomSharpness, RandomShear, Solarization,
};
use keras::Tensor;
use serde_json::{json, Value};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/keras315/image_augmentation")
}

fn f32s(v: &Value) -> Vec<f32> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect()
}

fn bools(v: &Value) -> Vec<bool> {
    v.as_array().unwrap().iter().map(|x| x.as_bool().unwrap()).collect()
}

/// keras-rs's `transform_with` of the case's layer on its parameters.
fn transform(name: &str, layer: &dyn Layer, p: &Value, x: &Tensor) -> keras::Result<Tensor> {
    let any = layer.as_any();
    if let Some(l) = any.downcast_ref::<AutoContrast>() {
        return l.call(x, &mut CallContext::new(true));
    }
    if let Some(l) = any.downcast_ref::<Equalization>() {
        return l.transform(x);
    }
    if let Some(l) = any.downcast_ref::<Solarization>() {
        return l.transform_with(x, &f32s(&p["additions"]), &f32s(&p["thresholds"]));
    }
    if let Some(l) = any.downcast_ref::<RandomInvert>() {
        return l.transform_with(x, &bools(&p["apply"]));
    }
    if let Some(l) = any.downcast_ref::<RandomGrayscale>() {
        return l.transform_with(x, &bools(&p["apply"]));
    }
    if let Some(l) = any.downcast_ref::<RandomPosterization>() {
        let s: Vec<u8> = p["shifts"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as u8).collect();
        return l.transform_with(x, &s);
    }
    if let Some(l) = any.downcast_ref::<RandomColorDegeneration>() {
        return l.transform_with(x, &f32s(&p["factors"]));
    }
    if let Some(l) = any.downcast_ref::<RandomSaturation>() {
        return l.transform_with(x, &f32s(&p["factors"]));
    }
    if let Some(l) = any.downcast_ref::<RandomHue>() {
        return l.transform_with(x, &f32s(&p["shifts"]));
    }
    if let Some(l) = any.downcast_ref::<RandomSharpness>() {
        return l.transform_with(x, &f32s(&p["factors"]));
    }
    if let Some(l) = any.downcast_ref::<RandomGaussianBlur>() {
        let s = f32s(&p["sigma"]);
        return l.transform_with(x, &bools(&p["apply"]), [s[0], s[1]]);
    }
    if let Some(l) = any.downcast_ref::<RandomErasing>() {
        let boxes: Vec<[f32; 4]> =
            p["boxes"].as_array().unwrap().iter().map(|b| f32s(b).try_into().unwrap()).collect();
        let fill = keras::io::npy::read(fixtures().join(format!("{name}_fill.npy"))).unwrap();
        return l.transform_with(x, &bools(&p["apply"]), &boxes, &fill);
    }
    if let Some(l) = any.downcast_ref::<RandomShear>() {
        let s: Vec<[f32; 2]> =
            p["shears"].as_array().unwrap().iter().map(|b| f32s(b).try_into().unwrap()).collect();
        return l.transform_with(x, &s);
    }
    if let Some(l) = any.downcast_ref::<RandomPerspective>() {
        let corners = |v: &Value| -> Vec<[[f32; 2]; 4]> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|im| {
                    let pts: Vec<[f32; 2]> =
                        im.as_array().unwrap().iter().map(|p| f32s(p).try_into().unwrap()).collect();
                    pts.try_into().unwrap()
                })
                .collect()
        };
        return l.transform_with(x, &bools(&p["apply"]), &corners(&p["start"]), &corners(&p["end"]));
    }
    panic!("no transform for {}", layer.class_name())
}

/// A RandomShear with the sampling arguments of a Keras config (its factors do not matter
/// to `transform_with`).
fn shear_like(cfg: &Value) -> Box<dyn Layer> {
    Box::new(
        RandomShear::new(0.1, 0.1)
            .fill_mode(cfg["fill_mode"].as_str().unwrap())
            .interpolation(cfg["interpolation"].as_str().unwrap())
            .fill_value(cfg["fill_value"].as_f64().unwrap())
            .data_format(cfg["data_format"].as_str().unwrap()),
    )
}

#[test]
fn transforms_match_keras() {
    let cases: Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures().join("cases.json")).unwrap()).unwrap();
    let cases = cases["cases"].as_array().unwrap();
    assert!(cases.len() >= 40, "{} cases", cases.len());
    let mut worst = Vec::new();
    for c in cases {
        let name = c["name"].as_str().unwrap();
        let loaded = deserialize(&json!({"class_name": c["class_name"], "config": c["config"]}));
        let layer = match c["class_name"].as_str() {
            // Keras cannot load its own RandomShear config when a factor is not 0 (its
            // `[-f, f]` fails its own range check); keras-rs refuses it the same way.
            Some("RandomShear") => {
                let e = err(loaded);
                assert!(e.contains("in the range [0, 1.0]. Received: input_number=-"), "{name}: {e}");
                shear_like(&c["config"])
            }
            _ => loaded.unwrap_or_else(|e| panic!("{name}: {e}")),
        };
        // The config keras-rs writes is Keras's, key for key and in order.
        let ours: Vec<(String, Value)> =
            layer.get_config().as_object().unwrap().iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        let theirs: Vec<(String, Value)> =
            c["config"].as_object().unwrap().iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        if c["class_name"] == "RandomShear" {
            // Keys (Keras's order) and the sampling arguments.
            let keys = |v: &[(String, Value)]| v.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>();
            assert_eq!(keys(&ours), keys(&theirs), "{name}: config keys");
        } else {
            assert_eq!(ours, theirs, "{name}: config");
        }
        let x = keras::io::npy::read(fixtures().join(format!("{name}_x.npy"))).unwrap();
        let want = keras::io::npy::read(fixtures().join(format!("{name}_y.npy"))).unwrap();
        let got = transform(name, layer.as_ref(), &c["params"], &x).unwrap_or_else(|e| panic!("{name}: {e}"));
        worst.push((name.to_string(), common::within_case_tolerance(c, &got, &want)));
    }
    eprintln!("largest differences: {worst:?}");
}

fn images(n: usize, h: usize, w: usize, c: usize) -> Tensor {
    Tensor::new((0..n * h * w * c).map(|v| ((v * 37 + 11) % 251) as f32).collect(), [n, h, w, c]).unwrap()
}

fn run(l: &dyn Layer, x: &Tensor, training: bool) -> Vec<f32> {
    l.call(x, &mut CallContext::new(training)).unwrap().to_f32_vec()
}

/// Every random color layer (and Equalization), with arguments that change images.
fn random_layers(seed: u64) -> Vec<Box<dyn Layer>> {
    vec![
        Box::new(Solarization::new().addition_factor(0.5).threshold_factor(0.5).seed(seed)),
        Box::new(RandomInvert::new(1.0).seed(seed)),
        Box::new(RandomGrayscale::new(0.5).seed(seed)),
        Box::new(RandomPosterization::new(8.0).seed(seed)),
        Box::new(RandomColorDegeneration::new(1.0).seed(seed)),
        Box::new(RandomSaturation::new(1.0).seed(seed)),
        Box::new(RandomHue::new(1.0).seed(seed)),
        Box::new(RandomSharpness::new(1.0).seed(seed)),
        Box::new(Equalization::new()),
    ]
}

#[test]
fn identity_in_inference_except_auto_contrast() {
    let x = images(4, 5, 6, 3);
    for l in random_layers(1) {
        assert_eq!(run(l.as_ref(), &x, false), x.to_f32_vec(), "{}", l.class_name());
        assert_ne!(run(l.as_ref(), &x, true), x.to_f32_vec(), "{}", l.class_name());
    }
    // AutoContrast is active in both (Keras's `transform_images` ignores `training`).
    let ac = AutoContrast::new();
    let (a, b) = (run(&ac, &x, false), run(&ac, &x, true));
    assert_eq!(a, b);
    assert_ne!(a, x.to_f32_vec());
    assert!(a.contains(&0.0) && a.contains(&255.0));
}

#[test]
fn seeds_reproduce_and_calls_advance() {
    let x = images(6, 4, 4, 3);
    for (l1, l2) in random_layers(7).into_iter().zip(random_layers(7)) {
        let first = run(l1.as_ref(), &x, true);
        assert_eq!(first, run(l2.as_ref(), &x, true), "{}", l1.class_name());
        if l1.class_name() != "Equalization" {
            // The stream moves on: a second call draws new parameters.
            assert_ne!(first, run(l1.as_ref(), &x, true), "{}", l1.class_name());
        }
    }
    // A different seed gives a different batch.
    assert_ne!(run(&RandomHue::new(1.0).seed(1), &x, true), run(&RandomHue::new(1.0).seed(2), &x, true));
}

/// The share of images a `rate`-style draw changes, over many images of one call.
fn changed_share(l: &dyn Layer, n: usize) -> f64 {
    let x = images(n, 2, 2, 3);
    let (xs, ys) = (x.to_f32_vec(), run(l, &x, true));
    let per = 2 * 2 * 3;
    (0..n).filter(|b| xs[b * per..(b + 1) * per] != ys[b * per..(b + 1) * per]).count() as f64 / n as f64
}

#[test]
fn invert_and_grayscale_shares_follow_the_factor() {
    // RandomInvert: probability p ~ U[0, f], inverted when u < p: share f / 2.
    let share = changed_share(&RandomInvert::new(0.6).seed(3), 4000);
    assert!((share - 0.3).abs() < 0.03, "invert share {share}");
    // A pair [a, b] gives (a + b) / 2.
    let share = changed_share(&RandomInvert::range(0.8, 1.0).seed(3), 4000);
    assert!((share - 0.9).abs() < 0.03, "invert share {share}");
    // RandomGrayscale: share `factor`.
    let share = changed_share(&RandomGrayscale::new(0.25).seed(3), 4000);
    assert!((share - 0.25).abs() < 0.03, "grayscale share {share}");
    assert_eq!(changed_share(&RandomGrayscale::new(0.0).seed(3), 500), 0.0);
    assert_eq!(changed_share(&RandomInvert::new(0.0).seed(3), 500), 0.0);
}

/// The per-image factor each layer drew, read back from its effect on a one-pixel image.
#[test]
fn drawn_factors_stay_in_their_ranges_and_spread_over_them() {
    let n = 3000;
    // Color degeneration of a red pixel: the red value is 100 + f * (29.89 - 100).
    let red = Tensor::new([100.0f32, 0.0, 0.0].repeat(n), [n, 1, 1, 3]).unwrap();
    let y = run(&RandomColorDegeneration::range(-0.2, 0.6).value_range(-1000.0, 1000.0).seed(5), &red, true);
    let f: Vec<f64> = y.chunks(3).map(|p| (p[0] as f64 - 100.0) / (29.89 - 100.0)).collect();
    check_uniform(&f, -0.2, 0.6, "RandomColorDegeneration");
    // Sharpness of a lone bright pixel: its value is 100 + (1 - 2f) * (100 * 5 / 13 - 100).
    let mut one = vec![0.0f32; n * 9];
    (0..n).for_each(|b| one[b * 9 + 4] = 100.0);
    let x = Tensor::new(one, [n, 3, 3, 1]).unwrap();
    let y = run(&RandomSharpness::range(0.1, 0.4).value_range(-1e4, 1e4).seed(5), &x, true);
    let f: Vec<f64> =
        (0..n).map(|b| (1.0 - (y[b * 9 + 4] as f64 - 100.0) / (500.0 / 13.0 - 100.0)) / 2.0).collect();
    check_uniform(&f, 0.1, 0.4, "RandomSharpness");
    // Solarization with threshold 0: a 0 pixel becomes 255 - a, a ~ U[0, 0.4 * 255].
    let zeros = Tensor::zeros([n, 1, 1, 1]);
    let y = run(&Solarization::new().addition_factor(0.4).seed(5), &zeros, true);
    let a: Vec<f64> = y.iter().map(|v| 255.0 - *v as f64).collect();
    check_uniform(&a, 0.0, 102.0, "Solarization additions");
    // Posterization of 255 keeps `bits` high bits: bits uniform over {1, ..., 5} for factor 6.
    let x = Tensor::full([n, 1, 1, 1], 255.0);
    let y = run(&RandomPosterization::new(6.0).seed(5), &x, true);
    let mut counts = [0usize; 9];
    for v in y {
        counts[(v as u32).count_ones() as usize] += 1;
    }
    assert_eq!(counts[0] + counts[6] + counts[7] + counts[8], 0, "{counts:?}");
    assert!(counts[1..6].iter().all(|&c| (c as f64 / n as f64 - 0.2).abs() < 0.03), "{counts:?}");
    // Hue shifts of ±f/2, f ~ U[0, 0.5]: read back from a red pixel's new hue.
    let red01 = Tensor::new([1.0f32, 0.0, 0.0].repeat(n), [n, 1, 1, 3]).unwrap();
    let y = run(&RandomHue::new(0.5).value_range(0.0, 1.0).seed(5), &red01, true);
    let shifts: Vec<f64> = y.chunks(3).map(|p| signed_hue(p[0], p[1], p[2])).collect();
    check_uniform(&shifts.iter().map(|s| s.abs()).collect::<Vec<_>>(), 0.0, 0.25, "RandomHue |shift|");
    let negative = shifts.iter().filter(|s| **s < 0.0).count() as f64 / n as f64;
    assert!((negative - 0.5).abs() < 0.04, "RandomHue sign share {negative}");
}

/// The hue of an RGB pixel as a signed turn in `(-0.5, 0.5]` (red is 0).
fn signed_hue(r: f32, g: f32, b: f32) -> f64 {
    let h = (f64::from(3.0f32.sqrt() * (g - b))).atan2(f64::from(2.0 * r - g - b)) / std::f64::consts::TAU;
    if h > 0.5 {
        h - 1.0
    } else {
        h
    }
}

/// `v` lies in `[lo, hi]`, has the uniform mean and reaches both quarters at the ends.
fn check_uniform(v: &[f64], lo: f64, hi: f64, what: &str) {
    let span = hi - lo;
    let eps = 1e-3 * span.max(1.0);
    assert!(v.iter().all(|x| *x >= lo - eps && *x <= hi + eps), "{what}: outside [{lo}, {hi}]");
    let mean = v.iter().sum::<f64>() / v.len() as f64;
    assert!((mean - (lo + hi) / 2.0).abs() < 0.03 * span, "{what}: mean {mean}");
    let low = v.iter().filter(|x| **x < lo + span / 4.0).count() as f64 / v.len() as f64;
    let high = v.iter().filter(|x| **x > hi - span / 4.0).count() as f64 / v.len() as f64;
    assert!((low - 0.25).abs() < 0.04 && (high - 0.25).abs() < 0.04, "{what}: quarters {low} {high}");
}

#[test]
fn saturation_factor_maps_through_f_over_one_minus_f() {
    // f = 0.5 is the identity; f = 0 makes the image grey (saturation 0).
    let x = images(2, 3, 3, 3);
    let same = run(&RandomSaturation::range(0.5, 0.5).seed(1), &x, true);
    assert!(same.iter().zip(x.to_f32_vec()).all(|(a, b)| (a - b).abs() < 1e-2));
    let grey = run(&RandomSaturation::range(0.0, 0.0).seed(1), &x, true);
    assert!(grey.chunks(3).all(|p| p[0] == p[1] && p[1] == p[2]));
}

#[test]
fn unbatched_images_and_channels_first() {
    let x = images(1, 4, 5, 3);
    let one = x.reshape([4, 5, 3]).unwrap();
    for (l1, l2) in random_layers(11).into_iter().zip(random_layers(11)) {
        let batched = run(l1.as_ref(), &x, true);
        let single = l2.call(&one, &mut CallContext::new(true)).unwrap();
        assert_eq!(single.shape(), &[4, 5, 3], "{}", l1.class_name());
        assert_eq!(single.to_f32_vec(), batched, "{}", l1.class_name());
    }
}

#[test]
fn argument_errors_are_keras_errors() {
    let x = images(1, 2, 2, 3);
    let call = |l: &dyn Layer| l.call(&x, &mut CallContext::new(true));
    // The base layer's factor bounds.
    let e = err(call(&RandomInvert::new(1.5)));
    assert!(
        e.contains("The `factor` argument should be a number (or a list of two numbers) in the range [0, 1]"),
        "{e}"
    );
    assert!(err(call(&RandomHue::new(-0.1))).contains("in the range [0, 1]"));
    assert!(err(call(&RandomSharpness::new(2.0))).contains("in the range [0, 1]"));
    assert!(err(call(&RandomSaturation::new(1.5))).contains("in the range [-1, 1]"));
    assert!(err(call(&RandomColorDegeneration::range(1.5, 2.0))).contains("in the range [-1, 1]"));
    assert!(err(call(&RandomPosterization::new(9.0))).contains("in the range [1, 8]"));
    assert!(err(call(&RandomPosterization::range(-3.0, 0.5))).contains("in the range [1, 8]"));
    let e = err(from_cfg("RandomHue", json!({"factor": [0.1, 0.2, 0.3]})));
    assert!(e.contains("Received: factor=[0.1,0.2,0.3]"), "{e}");
    assert!(err(from_cfg("RandomSharpness", json!({"factor": "big"}))).contains("in the range [0, 1]"));
    assert!(err(from_cfg("RandomSaturation", json!({}))).contains("needs `factor`"));
    // RandomGrayscale's own check.
    let e = err(call(&RandomGrayscale::new(1.2)));
    assert!(e.contains("`factor` should be between 0 and 1. Received: factor=1.2"), "{e}");
    // Solarization's factors.
    let e = err(call(&Solarization::new().addition_factor(1.5)));
    assert!(e.contains("The `addition_factor` and `threshold_factor` arguments should be a number"), "{e}");
    assert!(e.contains("Received: input_number=1.5"), "{e}");
    let e = err(from_cfg("Solarization", json!({"threshold_factor": [0.1, 0.2, 0.3]})));
    assert!(e.contains("Received: threshold_factor=[0.1,0.2,0.3]"), "{e}");
    let e = err(from_cfg("Solarization", json!({"threshold_factor": [0.1, -0.2]})));
    assert!(e.contains("Received: input_number=-0.2"), "{e}");
    // value_range: two numbers.
    for class in ["AutoContrast", "Equalization", "RandomHue", "RandomInvert", "Solarization"] {
        let e = err(from_cfg(class, json!({"factor": 0.5, "value_range": [0, 1, 2]})));
        assert!(e.contains("The `value_range` argument should be a list of two numbers"), "{class}: {e}");
        let e = err(from_cfg(class, json!({"factor": 0.5, "value_range": 255})));
        assert!(e.contains("Received: value_range=255"), "{class}: {e}");
    }
    // Equalization's bins.
    assert!(err(call(&Equalization::new().bins(0))).contains("`bins` must be a positive integer"));
    assert!(err(from_cfg("Equalization", json!({"bins": -1}))).contains("`bins` must be"));
    // More bins than memory: an error at the call, not an abort.
    let huge = from_cfg("Equalization", json!({"bins": 1u64 << 40})).unwrap();
    assert!(err(huge.call(&x, &mut CallContext::new(true))).contains("allocate"));
    // data_format.
    assert!(err(call(&AutoContrast::new().data_format("nhwc"))).contains("nhwc"));
}

#[test]
fn image_errors() {
    let x2 = images(1, 2, 2, 2);
    let rank2 = Tensor::ones([4, 3]);
    for l in random_layers(1).into_iter().chain([Box::new(AutoContrast::new()) as Box<dyn Layer>]) {
        let e = err(l.call(&rank2, &mut CallContext::new(true)));
        assert!(e.contains("rank 3"), "{}: {e}", l.class_name());
    }
    // The HSV layers need RGB; the grey ones RGB or one channel.
    for l in [&RandomSaturation::new(0.5) as &dyn Layer, &RandomHue::new(0.5)] {
        let e = err(l.call(&x2, &mut CallContext::new(true)));
        assert!(e.contains("expected RGB images (3 channels), got 2 channels"), "{}: {e}", l.class_name());
    }
    for l in [&RandomGrayscale::new(0.5) as &dyn Layer, &RandomColorDegeneration::new(0.5)] {
        let e = err(l.call(&x2, &mut CallContext::new(true)));
        assert!(
            e.contains("Invalid channel size: expected 3 (RGB) or 1 (Grayscale)"),
            "{}: {e}",
            l.class_name()
        );
        // One channel is kept.
        let g = images(2, 2, 2, 1);
        assert_eq!(run(l, &g, true), g.to_f32_vec());
    }
    // RandomColorDegeneration's output shape needs 3 channels (Keras's check).
    let d = RandomColorDegeneration::new(0.5);
    let e = err(d.compute_output_shape(&[None, Some(4), Some(4), Some(1)]));
    assert!(e.contains("Input images must have 3 channels, but received images with 1 channels."), "{e}");
    let e = err(d.compute_output_shape(&[None, Some(4)]));
    assert!(e.contains("Invalid images rank"), "{e}");
    assert_eq!(d.compute_output_shape(&[None, Some(4), Some(4), Some(3)]).unwrap().len(), 4);
    let cf = RandomColorDegeneration::new(0.5).data_format("channels_first");
    assert!(cf.compute_output_shape(&[Some(2), Some(3), Some(4), Some(5)]).is_ok());
    // transform_with: one parameter per image.
    let x = images(3, 2, 2, 3);
    let e = err(RandomInvert::new(0.5).transform_with(&x, &[true]));
    assert!(e.contains("one value per image: 3 images, 1 values"), "{e}");
    assert!(err(Solarization::new().transform_with(&x, &[0.0; 3], &[0.0; 2])).contains("3 additions but 2"));
    assert!(err(RandomHue::new(0.5).transform_with(&x, &[0.1; 4])).contains("3 images, 4 values"));
}

#[test]
fn layers_load_in_models_and_from_keras_configs() {
    use keras::models::Sequential;
    let mut m = Sequential::new();
    m.add(keras::layers::Input::new(&[6, 6, 3])).unwrap();
    m.add(RandomHue::new(0.2).seed(1)).unwrap();
    m.add(AutoContrast::new()).unwrap();
    m.add(Equalization::new()).unwrap();
    let cfg = m.get_config();
    let back = Sequential::from_config(&cfg).unwrap();
    assert_eq!(back.get_config(), cfg);
    let x = images(2, 6, 6, 3);
    // Inference: only AutoContrast acts.
    let want = run(&AutoContrast::new(), &x, false);
    assert_eq!(back.predict_on_batch(&x).unwrap().to_f32_vec(), want);
}

#[test]
fn blur_erasing_shear_draws() {
    // Inference is the identity; training changes images; seeds reproduce.
    let x = images(4, 6, 6, 3);
    let make = |s: u64| -> Vec<Box<dyn Layer>> {
        vec![
            Box::new(RandomGaussianBlur::new().seed(s)),
            Box::new(RandomErasing::new().seed(s)),
            Box::new(RandomShear::new(0.5, 0.5).seed(s)),
        ]
    };
    for (a, b) in make(3).into_iter().zip(make(3)) {
        assert_eq!(run(a.as_ref(), &x, false), x.to_f32_vec(), "{}", a.class_name());
        let y = run(a.as_ref(), &x, true);
        assert_ne!(y, x.to_f32_vec(), "{}", a.class_name());
        assert_eq!(y, run(b.as_ref(), &x, true), "{}", a.class_name());
    }
    // RandomGaussianBlur: blurred share (p ~ U[0, 0.6], u < p) is 0.3.
    let share = changed_share(&RandomGaussianBlur::new().factor(0.6).seed(4), 4000);
    assert!((share - 0.3).abs() < 0.03, "blur share {share}");
    // RandomErasing: erased share 0.5 for factor 1; the box covers sqrt(s) of each side.
    let n = 2000;
    let x = Tensor::full([n, 20, 20, 1], 1.0);
    let y = run(&RandomErasing::new().scale(0.04, 0.36).fill_value(0.0).seed(4), &x, true);
    let (mut erased, mut widths) = (0, Vec::new());
    for im in y.chunks(400) {
        let zeros: Vec<usize> = (0..400).filter(|i| im[*i] == 0.0).collect();
        if zeros.is_empty() {
            continue;
        }
        erased += 1;
        let cols: std::collections::BTreeSet<usize> = zeros.iter().map(|i| i % 20).collect();
        widths.push(cols.len() as f64);
    }
    let share = erased as f64 / n as f64;
    assert!((share - 0.5).abs() < 0.04, "erased share {share}");
    // Widths: sqrt(s) * 20 with s ~ U[0.04, 0.36], so between 4 and 12 pixels (+1 for the
    // box's fractional start).
    assert!(widths.iter().all(|w| (3.0..=13.0).contains(w)), "{widths:?}");
    let mean = widths.iter().sum::<f64>() / widths.len() as f64;
    assert!((7.5..=9.5).contains(&mean), "mean width {mean}");
    // RandomShear: the drawn factors lie in their ranges (read back from a shear of a ramp).
    let ramp = Tensor::new((0..n * 9).map(|i| (i % 3) as f32).collect(), [n, 3, 3, 1]).unwrap();
    let y = run(&RandomShear::new(0.0, 0.0).seed(4), &ramp, true);
    assert_eq!(y, ramp.to_f32_vec());
}

#[test]
fn blur_erasing_shear_errors() {
    let x = images(1, 4, 4, 3);
    let call = |l: &dyn Layer| l.call(&x, &mut CallContext::new(true));
    let e = err(call(&RandomGaussianBlur::new().kernel_size(4)));
    assert!(e.contains("kernel_size must be an odd number. Received: kernel_size=4"), "{e}");
    assert!(err(call(&RandomGaussianBlur::new().kernel_size(0))).contains("odd number"));
    let e = err(from_cfg("RandomGaussianBlur", json!({"kernel_size": [3, 5, 7]})));
    assert!(e.contains("The `kernel_size` argument should be a number (or a list of two numbers)"), "{e}");
    let e = err(call(&RandomGaussianBlur::new().sigma(1.5)));
    assert!(
        e.contains("The `sigma` argument should be a number (or a list of two numbers) in the range [0, 1]"),
        "{e}"
    );
    assert!(err(call(&RandomGaussianBlur::new().factor(-0.5))).contains("in the range [0, 1]"));
    // A kernel too large to allocate is an error, not an abort.
    let e = err(from_cfg("RandomGaussianBlur", json!({"kernel_size": 4_000_000_001u64})));
    assert!(e.contains("kernel_size must be at most 4095 (keras-rs's limit)"), "{e}");
    let e = err(call(&RandomErasing::new().scale(1.5, 2.0)));
    assert!(e.contains("The `scale` argument should be a number"), "{e}");
    let e = err(from_cfg("RandomErasing", json!({"fill_value": [1, 2]})));
    assert!(e.contains("The `fill_value` argument should be a number (or a list of three numbers)"), "{e}");
    assert!(err(call(&RandomErasing::new().factor(2.0))).contains("in the range [0, 1]"));
    // Three fill values need RGB images.
    let grey = images(1, 4, 4, 1);
    let e = err(RandomErasing::new().fill_rgb([1.0, 2.0, 3.0]).call(&grey, &mut CallContext::new(true)));
    assert!(e.contains("a fill_value of 3 numbers needs 3 channels, got 1"), "{e}");
    let e = err(call(&RandomShear::new(1.5, 0.0)));
    assert!(e.contains("in the range [0, 1.0]. Received: input_number=1.5"), "{e}");
    let e = err(call(&RandomShear::new(0.1, 0.1).fill_mode("mirror")));
    assert!(e.contains("Unknown `fill_mode` mirror"), "{e}");
    let e = err(call(&RandomShear::new(0.1, 0.1).interpolation("cubic")));
    assert!(e.contains("Unknown `interpolation` cubic"), "{e}");
    let e = err(from_cfg("RandomShear", json!({"x_factor": [0.1, 0.2, 0.3]})));
    assert!(e.contains("Received: x_factor=[0.1,0.2,0.3]"), "{e}");
    // transform_with checks its parameters.
    let f = Tensor::zeros([1, 4, 4, 3]);
    assert!(err(RandomErasing::new().transform_with(&x, &[true], &[[0.0; 4]; 2], &f)).contains("2 boxes"));
    assert!(err(RandomErasing::new().transform_with(&x, &[true], &[[0.0; 4]], &Tensor::zeros([1, 4, 4, 1])))
        .contains("must have the images' shape"));
    assert!(err(RandomShear::new(0.1, 0.1).transform_with(&x, &[[0.0; 2]; 3])).contains("1 images, 3 values"));
}

#[test]
fn perspective_draws_and_errors() {
    let x = images(4, 6, 6, 3);
    let (a, b) = (RandomPerspective::new().seed(2), RandomPerspective::new().seed(2));
    assert_eq!(run(&a, &x, false), x.to_f32_vec());
    let y = run(&a, &x, true);
    assert_ne!(y, x.to_f32_vec());
    assert_eq!(y, run(&b, &x, true));
    // Scale 0 moves no corner: the identity (up to rounding) even when applied.
    let y = run(&RandomPerspective::new().scale(0.0).seed(2), &x, true);
    assert!(y.iter().zip(x.to_f32_vec()).all(|(a, b)| (a - b).abs() < 1e-3));
    // Warped share: p ~ U[0, 0.5], u < p: 0.25.
    let share = changed_share(&RandomPerspective::new().factor(0.5).seed(2), 4000);
    assert!((share - 0.25).abs() < 0.03, "perspective share {share}");
    let call = |l: &dyn Layer| l.call(&x, &mut CallContext::new(true));
    let e = err(call(&RandomPerspective::new().scale(1.5)));
    assert!(
        e.contains("The `scale` argument should be a number in the range [0,1]. Received: scale=1.5"),
        "{e}"
    );
    assert!(err(call(&RandomPerspective::new().factor(1.5))).contains("in the range [0, 1]"));
    assert!(
        err(call(&RandomPerspective::new().interpolation("area"))).contains("Unknown `interpolation` area")
    );
    assert!(err(from_cfg("RandomPerspective", json!({"scale": -0.1}))).contains("scale=-0.1"));
    let c = [[0.0f32; 2]; 4];
    assert!(err(RandomPerspective::new().transform_with(&x, &[true; 4], &[c; 4], &[c; 3])).contains("3 end"));
}
