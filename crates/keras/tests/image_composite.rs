//! The mixing and composite image augmentation layers against Keras 3.15: MixUp and CutMix's
//! deterministic `transform_with(...)` and label mixing on explicit transformations against
//! Keras's `transform_images` / `transform_labels` on the same parameters, in both data formats
//! (`fixtures/keras315/make_image_composite.py`), configs as Keras writes them; then the random
//! draws (weights, permutations, boxes), seeds, inference, and every error path.

use std::path::PathBuf;

use keras::layers::{
    deserialize, AugMix, AugmentOp, CallContext, ColorJitterParams, CutMix, CutMixTransformation, LabelMix,
    Layer, MixUp, Pipeline, RandAugment, RandomColorJitter,
};
use keras::Tensor;
use serde_json::{json, Value};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/keras315/image_composite")
}

fn npy(name: &str, what: &str) -> Tensor {
    keras::io::npy::read(fixtures().join(format!("{name}_{what}.npy"))).unwrap()
}

fn f32s(v: &Value) -> Vec<f32> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect()
}

fn usizes(v: &Value) -> Vec<usize> {
    v.as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as usize).collect()
}

fn err<T>(r: keras::Result<T>) -> String {
    match r {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

fn assert_close(got: &Tensor, want: &Tensor, rtol: f32, atol: f32, what: &str) {
    assert_eq!(got.shape(), want.shape(), "{what}");
    for (i, (g, w)) in got.to_f32_vec().iter().zip(want.to_f32_vec()).enumerate() {
        assert!((g - w).abs() <= atol + rtol * w.abs(), "{what}[{i}]: keras-rs {g}, Keras {w}");
    }
}

/// The config keras-rs writes is Keras's, key for key and in order.
fn assert_same_config(layer: &dyn Layer, cfg: &Value, name: &str) {
    let pairs = |v: &Value| -> Vec<(String, Value)> {
        v.as_object().unwrap().iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    };
    assert_eq!(pairs(&layer.get_config()), pairs(cfg), "{name}: config");
}

#[test]
fn transforms_match_keras() {
    let cases: Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures().join("cases.json")).unwrap()).unwrap();
    let mut seen = 0;
    for c in cases["cases"].as_array().unwrap() {
        let (name, p) = (c["name"].as_str().unwrap(), &c["params"]);
        let layer = deserialize(&json!({"class_name": c["class_name"], "config": c["config"]}))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_same_config(layer.as_ref(), &c["config"], name);
        let x = npy(name, "x");
        let (rtol, atol) = (c["rtol"].as_f64().unwrap() as f32, c["atol"].as_f64().unwrap() as f32);
        if let Some(l) = layer.as_any().downcast_ref::<RandomColorJitter>() {
            let part = |k: &str| p.get(k).map(f32s);
            let params = ColorJitterParams {
                brightness: part("brightness"),
                contrast: part("contrast"),
                saturation: part("saturation"),
                hue: part("hue"),
            };
            assert_close(&l.transform_with(&x, &params).unwrap(), &npy(name, "y"), rtol, atol, name);
            seen += 1;
            continue;
        }
        if let Some(y) = composite(layer.as_ref(), p, &x) {
            assert_close(&y, &npy(name, "y"), rtol, atol, name);
            seen += 1;
            continue;
        }
        let labels = npy(name, "labels");
        let perm = usizes(&p["permutation"]);
        let (y, ly) = if let Some(l) = layer.as_any().downcast_ref::<MixUp>() {
            let t = LabelMix { permutation: perm, mix_weight: f32s(&p["mix_weight"]) };
            let ly = if labels.rank() == 1 {
                t.mix_labels(&labels.reshape([1, labels.shape()[0]]).unwrap()).unwrap().reshape([4]).unwrap()
            } else {
                t.mix_labels(&labels).unwrap()
            };
            (l.transform_with(&x, &t).unwrap(), ly)
        } else if let Some(l) = layer.as_any().downcast_ref::<CutMix>() {
            let boxes: Vec<[f32; 4]> =
                p["boxes"].as_array().unwrap().iter().map(|b| f32s(b).try_into().unwrap()).collect();
            let cf = c["config"]["data_format"] == "channels_first";
            let (h, w) = if cf { (x.shape()[2], x.shape()[3]) } else { (x.shape()[1], x.shape()[2]) };
            let t = CutMixTransformation::new(perm, boxes, h, w);
            (l.transform_with(&x, &t).unwrap(), t.mix.mix_labels(&labels).unwrap())
        } else {
            panic!("{name}: no transform for {}", layer.class_name())
        };
        assert_close(&y, &npy(name, "y"), rtol, atol, name);
        assert_close(&ly, &npy(name, "labels_y"), rtol, atol, &format!("{name} labels"));
        seen += 1;
    }
    assert_eq!(seen, 17);
}

/// One operation of a RandAugment / AugMix case: `{"layer": Keras's attribute, "params"}`.
fn op_of(v: &Value) -> AugmentOp {
    let p = &v["params"];
    match v["layer"].as_str().unwrap() {
        "random_shear" => {
            AugmentOp::Shear(p.as_array().unwrap().iter().map(|b| f32s(b).try_into().unwrap()).collect())
        }
        "random_brightness" => AugmentOp::Brightness(f32s(p)),
        "random_color_degeneration" => AugmentOp::ColorDegeneration(f32s(p)),
        "random_contrast" => AugmentOp::Contrast(f32s(p)),
        "random_sharpness" => AugmentOp::Sharpness(f32s(p)),
        "random_posterization" => AugmentOp::Posterization(usizes(p).iter().map(|&v| v as u8).collect()),
        "solarization" => {
            AugmentOp::Solarization { additions: f32s(&p["additions"]), thresholds: f32s(&p["thresholds"]) }
        }
        "auto_contrast" => AugmentOp::AutoContrast,
        "equalization" => AugmentOp::Equalization,
        other => panic!("no operation {other}"),
    }
}

/// keras-rs's deterministic form of a RandAugment, AugMix or Pipeline case.
fn composite(layer: &dyn Layer, p: &Value, x: &Tensor) -> Option<Tensor> {
    let any = layer.as_any();
    if let Some(l) = any.downcast_ref::<RandAugment>() {
        let ops: Vec<AugmentOp> = p["ops"].as_array().unwrap().iter().map(op_of).collect();
        return Some(l.transform_with(x, &ops).unwrap());
    }
    if let Some(l) = any.downcast_ref::<AugMix>() {
        let chains: Vec<Vec<AugmentOp>> = p["chains"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_array().unwrap().iter().map(op_of).collect())
            .collect();
        let w = p["weight_sample"].as_f64().unwrap() as f32;
        return Some(l.transform_with(x, &chains, &f32s(&p["chain_weights"]), w).unwrap());
    }
    if let Some(l) = any.downcast_ref::<Pipeline>() {
        return Some(l.call(x, &mut CallContext::new(false)).unwrap());
    }
    None
}

fn images(n: usize, h: usize, w: usize, c: usize) -> Tensor {
    Tensor::new((0..n * h * w * c).map(|v| ((v * 37 + 11) % 251) as f32).collect(), [n, h, w, c]).unwrap()
}

fn one_hot(n: usize, k: usize) -> Tensor {
    Tensor::new((0..n * k).map(|i| if i % k == (i / k) % k { 1.0 } else { 0.0 }).collect(), [n, k]).unwrap()
}

/// MixUp: one weight per image from Beta(alpha, alpha) (mean 1/2, variance 1 / (4 (2a + 1))),
/// a permutation of the batch; the labels are mixed with the images' weights and partners.
#[test]
fn mix_up_draws() {
    let n = 4000;
    for alpha in [0.2, 1.0] {
        let t = MixUp::new().alpha(alpha).seed(5).get_random_transformation(n).unwrap();
        let mut p = t.permutation.clone();
        p.sort_unstable();
        assert_eq!(p, (0..n).collect::<Vec<_>>());
        let w: Vec<f64> = t.mix_weight.iter().map(|&v| v as f64).collect();
        assert!(w.iter().all(|v| (0.0..=1.0).contains(v)));
        let mean = w.iter().sum::<f64>() / n as f64;
        let var = w.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64;
        let want = 1.0 / (4.0 * (2.0 * alpha + 1.0));
        assert!((mean - 0.5).abs() < 0.02, "alpha {alpha}: mean {mean}");
        assert!((var - want).abs() < 0.1 * want, "alpha {alpha}: var {var}, want {want}");
    }
    // Images and labels share the draw: an image of constant value v_i mixes to
    // w v_i + (1 - w) v_p, its one-hot label to w at i and 1 - w at p.
    let n = 8;
    let x = Tensor::new((0..n).flat_map(|i| vec![i as f32 * 10.0; 4]).collect(), [n, 2, 2, 1]).unwrap();
    let (y, l) =
        MixUp::new().seed(9).call_with_labels(&x, &one_hot(n, n), &mut CallContext::new(true)).unwrap();
    let (y, l) = (y.to_f32_vec(), l.to_f32_vec());
    for i in 0..n {
        let row = &l[i * n..(i + 1) * n];
        assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        let expect: f32 = row.iter().enumerate().map(|(j, w)| w * j as f32 * 10.0).sum();
        assert!((y[i * 4] - expect).abs() < 1e-3, "{i}: {} vs {expect}", y[i * 4]);
    }
}

/// CutMix: the Beta shape is drawn once per batch from `factor`; boxes have sides
/// `sqrt(1 - w)` of the image's, lie inside the image, and the label weight is 1 minus the
/// box's share of the image; pasted pixels come from the partner.
#[test]
fn cut_mix_draws() {
    let (n, h, w) = (3000, 8, 10);
    let t = CutMix::new().factor_range(0.5, 0.5).seed(3).get_random_transformation(n, h, w);
    let mut p = t.mix.permutation.clone();
    p.sort_unstable();
    assert_eq!(p, (0..n).collect::<Vec<_>>());
    let mut ws = Vec::new();
    for (b, mw) in t.boxes.iter().zip(&t.mix.mix_weight) {
        assert!(b[0] >= 0.0 && b[1] <= w as f32 + 1e-4 && b[2] >= 0.0 && b[3] <= h as f32 + 1e-4, "{b:?}");
        let (rx, ry) = ((b[1] - b[0]) / w as f32, (b[3] - b[2]) / h as f32);
        assert!((rx - ry).abs() < 1e-5, "{b:?}");
        assert!((mw - (1.0 - rx * ry)).abs() < 1e-5);
        ws.push(*mw as f64);
    }
    // The weight is Beta(a, a) with a = 0.5 + 1e-6: mean 1/2, variance 1/8.
    let mean = ws.iter().sum::<f64>() / n as f64;
    let var = ws.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64;
    assert!((mean - 0.5).abs() < 0.02 && (var - 0.125).abs() < 0.0125, "{mean} {var}");
    // Box positions spread over the free range: left edges cover [0, w - side).
    let lefts: Vec<f32> = t.boxes.iter().map(|b| b[0] / (w as f32 - (b[1] - b[0])).max(1e-6)).collect();
    let low = lefts.iter().filter(|v| **v < 0.5).count() as f64 / n as f64;
    assert!((low - 0.5).abs() < 0.05, "{low}");
    // In a call, each pixel is the image's own or its partner's, labels mixed by area.
    let n = 6;
    let x = Tensor::new((0..n).flat_map(|i| vec![i as f32; h * w]).collect(), [n, h, w, 1]).unwrap();
    let (y, l) =
        CutMix::new().seed(4).call_with_labels(&x, &one_hot(n, n), &mut CallContext::new(true)).unwrap();
    let (y, l) = (y.to_f32_vec(), l.to_f32_vec());
    for i in 0..n {
        let row = &l[i * n..(i + 1) * n];
        let img = &y[i * h * w..(i + 1) * h * w];
        let own = img.iter().filter(|v| **v == i as f32).count() as f32 / (h * w) as f32;
        assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        // Keras's weights use the fractional box; the pasted pixels approximate it.
        if row[i] < 1.0 {
            assert!((row[i] - own).abs() < 0.5, "{i}: label {} pixels {own}", row[i]);
        }
        assert!(img.iter().all(|v| row[*v as usize] > 0.0 || *v == i as f32), "{i}");
    }
}

#[test]
fn seeds_inference_and_unbatched() {
    let x = images(5, 4, 4, 3);
    let labels = one_hot(5, 5);
    let run = |l: &dyn Layer, training| l.call(&x, &mut CallContext::new(training)).unwrap().to_f32_vec();
    for (a, b, other) in [
        (
            Box::new(MixUp::new().seed(2)) as Box<dyn Layer>,
            Box::new(MixUp::new().seed(2)) as Box<dyn Layer>,
            Box::new(MixUp::new().seed(3)) as Box<dyn Layer>,
        ),
        (Box::new(CutMix::new().seed(2)), Box::new(CutMix::new().seed(2)), Box::new(CutMix::new().seed(3))),
    ] {
        let first = run(a.as_ref(), true);
        assert_eq!(first, run(b.as_ref(), true), "{}", a.class_name());
        assert_ne!(first, run(a.as_ref(), true), "{}: the stream moves on", a.class_name());
        assert_ne!(first, run(other.as_ref(), true), "{}", a.class_name());
        assert_eq!(run(a.as_ref(), false), x.to_f32_vec(), "{}: inference", a.class_name());
        assert_eq!(
            a.compute_output_shape(&[None, Some(4), Some(4), Some(3)]).unwrap(),
            vec![None, Some(4), Some(4), Some(3)]
        );
    }
    // Inference leaves images and labels alone.
    let (y, l) = MixUp::new().call_with_labels(&x, &labels, &mut CallContext::new(false)).unwrap();
    assert_eq!((y.to_f32_vec(), l.to_f32_vec()), (x.to_f32_vec(), labels.to_f32_vec()));
    // An unbatched image: CutMix leaves it (and its label) alone; MixUp mixes it with itself.
    let one = images(1, 4, 4, 3).reshape([4, 4, 3]).unwrap();
    let label = Tensor::new(vec![0.0, 1.0, 0.0], [3]).unwrap();
    let (y, l) = CutMix::new().call_with_labels(&one, &label, &mut CallContext::new(true)).unwrap();
    assert_eq!((y.to_f32_vec(), l.to_f32_vec()), (one.to_f32_vec(), label.to_f32_vec()));
    let (y, l) = MixUp::new().seed(1).call_with_labels(&one, &label, &mut CallContext::new(true)).unwrap();
    assert_eq!((y.shape(), l.shape()), (&[4, 4, 3][..], &[3][..]));
    for (a, b) in y.to_f32_vec().iter().zip(one.to_f32_vec()) {
        assert!((a - b).abs() < 1e-4);
    }
    assert!((l.to_f32_vec()[1] - 1.0).abs() < 1e-6);
    // Channels-first: the same mixing on the transposed images.
    let t = LabelMix { permutation: vec![4, 3, 2, 1, 0], mix_weight: vec![0.1, 0.2, 0.3, 0.4, 0.5] };
    let cf = keras::ops::transpose(&x, &[0, 3, 1, 2]).unwrap();
    let want = MixUp::new().transform_with(&x, &t).unwrap();
    let got = MixUp::new().data_format("channels_first").transform_with(&cf, &t).unwrap();
    assert_eq!(keras::ops::transpose(&got, &[0, 2, 3, 1]).unwrap().to_f32_vec(), want.to_f32_vec());
}

#[test]
fn errors() {
    let x = images(3, 4, 4, 3);
    // CutMix's factor: Keras's message, from the builder and from a config.
    let msg = "The `factor` argument should be a number (or a list of two numbers) in the range [0, 1]. \
               Received: factor=";
    for bad in [CutMix::new().factor(1.5), CutMix::new().factor(-0.5), CutMix::new().factor_range(1.2, 1.5)] {
        let e = err(bad.call(&x, &mut CallContext::new(true)));
        assert!(e.contains(msg), "{e}");
    }
    for f in [json!(1.5), json!([0.2]), json!("a"), json!([0.1, 0.2, 0.3])] {
        let e = err(deserialize(&json!({"class_name": "CutMix", "config": {"factor": f}})));
        assert!(e.contains(msg), "{e}");
    }
    let e = err(deserialize(&json!({"class_name": "MixUp", "config": {"alpha": "big"}})));
    assert!(e.contains("alpha"), "{e}");
    let e = err(MixUp::new().data_format("nchw").call(&x, &mut CallContext::new(true)));
    assert!(e.contains("nchw"), "{e}");
    // MixUp's alpha must allow a draw (Keras would draw NaN weights).
    for a in [0.0, -1.0, f64::INFINITY] {
        let e = err(MixUp::new().alpha(a).call(&x, &mut CallContext::new(true)));
        assert!(e.contains("positive, finite `alpha`"), "{e}");
    }
    // Labels that do not fit the images.
    let bad_labels = [Tensor::zeros([2, 3]), Tensor::zeros([3]), Tensor::zeros([3, 2, 2])];
    for l in &bad_labels {
        let e = err(MixUp::new().call_with_labels(&x, l, &mut CallContext::new(true)));
        assert!(e.contains("expected labels of shape (batch, classes)"), "{e}");
        let e = err(CutMix::new().call_with_labels(&x, l, &mut CallContext::new(true)));
        assert!(e.contains("expected labels of shape (batch, classes)"), "{e}");
    }
    // Images of the wrong rank.
    let e = err(MixUp::new().call(&Tensor::zeros([3, 4]), &mut CallContext::new(true)));
    assert!(e.contains("expected rank 3 (single image) or rank 4"), "{e}");
    // Explicit transformations that do not fit the batch.
    let short = LabelMix { permutation: vec![0, 1], mix_weight: vec![0.5, 0.5] };
    let e = err(MixUp::new().transform_with(&x, &short));
    assert!(e.contains("3 images, 2 entries, 2 weights"), "{e}");
    let out = LabelMix { permutation: vec![0, 1, 3], mix_weight: vec![0.5; 3] };
    assert!(err(MixUp::new().transform_with(&x, &out)).contains("permutation entry 3"));
    let boxes = CutMixTransformation {
        mix: LabelMix { permutation: vec![0, 1, 2], mix_weight: vec![1.0; 3] },
        boxes: vec![],
    };
    assert!(err(CutMix::new().transform_with(&x, &boxes)).contains("3 images, 0 boxes"));
    let one = Tensor::zeros([4, 4, 3]);
    let t = CutMixTransformation::new(vec![0], vec![[0.0; 4]], 4, 4);
    assert!(err(CutMix::new().transform_with(&one, &t)).contains("CutMix mixes batches of images"));
}

/// RandomColorJitter: the parts run in Keras's order with their own draws; a seed reproduces
/// the batch, the parts draw independently, inference and a jitter without parts change
/// nothing.
#[test]
fn color_jitter_draws() {
    let x = images(6, 4, 5, 3);
    let run =
        |l: &RandomColorJitter, training| l.call(&x, &mut CallContext::new(training)).unwrap().to_f32_vec();
    let full = || {
        RandomColorJitter::new()
            .brightness_factor(0.3)
            .contrast_factor(0.5)
            .saturation_factor(0.8)
            .hue_factor(0.4)
            .seed(11)
    };
    let first = run(&full(), true);
    assert_eq!(first, run(&full(), true));
    assert_ne!(first, x.to_f32_vec());
    assert_ne!(first, run(&full().seed(12), true));
    assert_eq!(run(&full(), false), x.to_f32_vec());
    assert_eq!(run(&RandomColorJitter::new().seed(3), true), x.to_f32_vec());
    // Brightness alone: one delta per image, within [-0.3, 0.3] * 255, the same on every pixel
    // (values far from the clip bounds).
    let mid = Tensor::full([500, 2, 2, 3], 127.5);
    let y = RandomColorJitter::new()
        .brightness_factor(0.3)
        .seed(4)
        .call(&mid, &mut CallContext::new(true))
        .unwrap();
    let y = y.to_f32_vec();
    let deltas: Vec<f32> = y.chunks(12).map(|im| im[0] - 127.5).collect();
    assert!(y.chunks(12).all(|im| im.iter().all(|v| *v == im[0])));
    assert!(deltas.iter().all(|d| d.abs() <= 0.3 * 255.0 + 1e-3));
    let low = deltas.iter().filter(|d| **d < 0.0).count();
    assert!((200..300).contains(&low), "{low}");
    // The contrast part draws apart from the brightness part: with both, the contrast
    // factors (read from a two-pixel image) do not follow the deltas.
    let pair = Tensor::new([100.0f32, 140.0].repeat(400), [400, 1, 2, 1]).unwrap();
    let both = RandomColorJitter::new().brightness_factor(0.1).contrast_factor(0.5).seed(4);
    let y = both.call(&pair, &mut CallContext::new(true)).unwrap().to_f32_vec();
    let (d, f): (Vec<f32>, Vec<f32>) =
        y.chunks(2).map(|p| ((p[0] + p[1]) / 2.0 - 120.0, (p[1] - p[0]) / 40.0)).unzip();
    assert!(f.iter().all(|f| (0.5 - 1e-4..=1.5 + 1e-4).contains(f)), "{f:?}");
    let corr = correlation(&d, &f);
    assert!(corr.abs() < 0.15, "{corr}");
}

fn correlation(a: &[f32], b: &[f32]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f32>() as f64 / n, b.iter().sum::<f32>() as f64 / n);
    let cov: f64 = a.iter().zip(b).map(|(x, y)| (*x as f64 - ma) * (*y as f64 - mb)).sum();
    let va: f64 = a.iter().map(|x| (*x as f64 - ma).powi(2)).sum();
    let vb: f64 = b.iter().map(|y| (*y as f64 - mb).powi(2)).sum();
    cov / (va * vb).sqrt()
}

#[test]
fn color_jitter_errors() {
    let x = images(2, 3, 3, 3);
    let train = || CallContext::new(true);
    // Each factor is its sub-layer's `factor`, with the sub-layer's check and message.
    let range = |b: &str| {
        format!("The `factor` argument should be a number (or a list of two numbers) in the range {b}")
    };
    for (l, bounds) in [
        (RandomColorJitter::new().brightness_factor(1.5), "[-1, 1]"),
        (RandomColorJitter::new().contrast_factor(-0.5), "[0, 1]"),
        (RandomColorJitter::new().saturation_factor(2.0), "[-1, 1]"),
        (RandomColorJitter::new().hue_factor(1.2), "[0, 1]"),
    ] {
        let e = err(l.call(&x, &mut train()));
        assert!(e.contains(&range(bounds)), "{e}");
    }
    let e = err(deserialize(
        &json!({"class_name": "RandomColorJitter", "config": {"hue_factor": [0.1, 0.2, 0.3]}}),
    ));
    assert!(e.contains(&range("[0, 1]")), "{e}");
    let e = err(deserialize(
        &json!({"class_name": "RandomColorJitter", "config": {"contrast_factor": 0.2, "value_range": [0]}}),
    ));
    assert!(e.contains("value_range"), "{e}");
    let e = err(deserialize(&json!({"class_name": "RandomColorJitter", "config": {"seed": "x"}})));
    assert!(e.contains("seed"), "{e}");
    // Saturation and hue need RGB images.
    let gray = images(2, 3, 3, 1);
    let e = err(RandomColorJitter::new().hue_factor(0.2).call(&gray, &mut train()));
    assert!(e.contains("3 channels"), "{e}");
    let e = err(RandomColorJitter::new().call(&Tensor::zeros([2, 3]), &mut train()));
    assert!(e.contains("Expected image tensor to have rank 3"), "{e}");
    // Explicit parameters must match the parts, one per image.
    let j = RandomColorJitter::new().brightness_factor(0.2);
    let e = err(j.transform_with(&x, &ColorJitterParams::default()));
    assert!(e.contains("parameters for `brightness` are missing"), "{e}");
    let extra =
        ColorJitterParams { brightness: Some(vec![0.0; 2]), hue: Some(vec![0.0; 2]), ..Default::default() };
    let e = err(j.transform_with(&x, &extra));
    assert!(e.contains("no `hue_factor`"), "{e}");
    let short = ColorJitterParams { brightness: Some(vec![0.0]), ..Default::default() };
    let e = err(j.transform_with(&x, &short));
    assert!(e.contains("one value per image"), "{e}");
    // A config round trip keeps Keras's keys and values.
    let l = RandomColorJitter::new()
        .contrast_factor(0.25)
        .value_range(0.0, 1.0)
        .seed(2)
        .data_format("channels_first");
    let back = deserialize(&json!({"class_name": "RandomColorJitter", "config": l.get_config()})).unwrap();
    assert_eq!(back.get_config(), l.get_config());
    assert_eq!(l.get_config()["contrast_factor"], json!(0.25));
    assert_eq!(l.get_config()["brightness_factor"], Value::Null);
}

/// RandAugment draws `num_ops` operations per batch (the same for every image), from
/// streams a seed reproduces; inference and `num_ops = 0` change nothing.
#[test]
fn rand_augment_draws() {
    let x = images(4, 6, 6, 3);
    let run = |l: &RandAugment, training| l.call(&x, &mut CallContext::new(training)).unwrap().to_f32_vec();
    let first = run(&RandAugment::new().seed(5), true);
    assert_eq!(first, run(&RandAugment::new().seed(5), true));
    assert_ne!(first, x.to_f32_vec());
    assert_eq!(run(&RandAugment::new().seed(5), false), x.to_f32_vec());
    assert_eq!(run(&RandAugment::new().num_ops(0).seed(5), true), x.to_f32_vec());
    // The stream moves on, and different seeds differ (over a few calls).
    let l = RandAugment::new().seed(5);
    let calls: Vec<Vec<f32>> = (0..4).map(|_| run(&l, true)).collect();
    assert!(calls.windows(2).any(|w| w[0] != w[1]));
    // With one operation drawn from eleven, equal images in the batch stay equal when the
    // operation is a per-batch one (AutoContrast, Equalization) and a constant image keeps
    // its shape everywhere; every call keeps the shape and the value range.
    let l = RandAugment::new().num_ops(3).factor(0.9).seed(8);
    for _ in 0..30 {
        let y = run(&l, true);
        assert_eq!(y.len(), x.numel());
        assert!(y.iter().all(|v| (0.0..=255.0).contains(v)), "{y:?}");
    }
    // Channels-first: the sub-layers get the data format.
    let cf = keras::ops::transpose(&x, &[0, 3, 1, 2]).unwrap();
    let y = RandAugment::new()
        .num_ops(4)
        .data_format("channels_first")
        .seed(2)
        .call(&cf, &mut CallContext::new(true));
    assert_eq!(y.unwrap().shape(), cf.shape());
}

/// AugMix: the output is a convex blend of the image and its augmented copies (so within
/// the value range); seeds reproduce; inference is the identity; with weight 1 on the image
/// nothing changes.
#[test]
fn aug_mix_draws() {
    let x = images(3, 5, 5, 3);
    let run = |l: &AugMix, training| l.call(&x, &mut CallContext::new(training)).unwrap().to_f32_vec();
    let first = run(&AugMix::new().seed(3), true);
    assert_eq!(first, run(&AugMix::new().seed(3), true));
    assert_ne!(first, x.to_f32_vec());
    assert!(first.iter().all(|v| (0.0..=255.0).contains(v)));
    assert_eq!(run(&AugMix::new().seed(3), false), x.to_f32_vec());
    // No chains: w * x + (1 - w) * 0, the image darkened by a Beta(1, 1) weight per batch.
    let y = run(&AugMix::new().num_chains(0).seed(4), true);
    let ratios: Vec<f32> =
        y.iter().zip(x.to_f32_vec()).filter(|(_, b)| *b > 10.0).map(|(a, b)| a / b).collect();
    assert!(ratios.iter().all(|r| (r - ratios[0]).abs() < 1e-4 && (0.0..=1.0).contains(r)));
    // Empty chains copy the image: the blend is the image.
    let y = run(&AugMix::new().chain_depth(0).seed(4), true);
    for (a, b) in y.iter().zip(x.to_f32_vec()) {
        assert!((a - b).abs() < 1e-3);
    }
    let chains = vec![vec![AugmentOp::Equalization]];
    let y = AugMix::new().transform_with(&x, &chains, &[1.0], 1.0).unwrap();
    assert_eq!(y.to_f32_vec(), x.to_f32_vec());
}

#[test]
fn composite_errors() {
    let x = images(2, 4, 4, 3);
    let train = || CallContext::new(true);
    let range = "The `factor` argument should be a number (or a list of two numbers) in the range [0, 1]. Received: factor=";
    assert!(err(RandAugment::new().factor(1.5).call(&x, &mut train())).contains(range));
    assert!(err(AugMix::new().factor(-2.0).call(&x, &mut train())).contains(range));
    for class in ["RandAugment", "AugMix"] {
        let e = err(deserialize(&json!({"class_name": class, "config": {"factor": [0.1, 0.2, 0.3]}})));
        assert!(e.contains(range), "{e}");
        let e = err(deserialize(&json!({"class_name": class, "config": {"interpolation": "cubic"}})));
        assert!(e.contains("cubic"), "{e}");
        let e = err(deserialize(&json!({"class_name": class, "config": {"value_range": [0]}})));
        assert!(e.contains("value_range"), "{e}");
    }
    let e = err(deserialize(&json!({"class_name": "RandAugment", "config": {"num_ops": -1}})));
    assert!(e.contains("num_ops"), "{e}");
    let e = err(RandAugment::new().num_ops(5000).call(&x, &mut train()));
    assert!(e.contains("`num_ops` must be at most 1024"), "{e}");
    let e = err(AugMix::new().num_chains(100).chain_depth(100).call(&x, &mut train()));
    assert!(e.contains("`num_chains * chain_depth` must be at most 1024"), "{e}");
    for a in [0.0, -1.0] {
        let e = err(AugMix::new().alpha(a).call(&x, &mut train()));
        assert!(e.contains("AugMix needs a positive, finite `alpha`"), "{e}");
    }
    let e = err(RandAugment::new().call(&Tensor::zeros([2, 3]), &mut train()));
    assert!(e.contains("Expected image tensor to have rank 3"), "{e}");
    let e = err(AugMix::new().transform_with(&x, &[vec![]], &[0.5, 0.5], 0.5));
    assert!(e.contains("1 chains, 2 weights"), "{e}");
    let e = err(RandAugment::new().transform_with(&x, &[AugmentOp::Contrast(vec![1.0])]));
    assert!(e.contains("one value per image"), "{e}");
    // Config round trips keep Keras's keys and values.
    for l in [
        Box::new(RandAugment::new().num_ops(3).factor(0.7).value_range(0.0, 1.0).seed(4)) as Box<dyn Layer>,
        Box::new(AugMix::new().num_chains(2).alpha(0.5).all_ops(false).interpolation("nearest")),
    ] {
        let back = deserialize(&json!({"class_name": l.class_name(), "config": l.get_config()})).unwrap();
        assert_eq!(back.get_config(), l.get_config());
    }
}

/// Pipeline: its layers in order with the call's `training`, their weights built and saved
/// under `layers/`, its config Keras's, its errors Keras's.
#[test]
fn pipeline_layers() {
    use keras::layers::{Dense, RandomFlip, Rescaling};
    let x = images(2, 3, 3, 1);
    let p =
        Pipeline::new(vec![Box::new(RandomFlip::new("horizontal").seed(1)), Box::new(Rescaling::new(2.0))]);
    let y = p.call(&x, &mut CallContext::new(false)).unwrap().to_f32_vec();
    assert_eq!(y, x.to_f32_vec().iter().map(|v| v * 2.0).collect::<Vec<_>>());
    // Training reaches the flip: some call of a few changes the order.
    let flipped = (0..8).any(|_| p.call(&x, &mut CallContext::new(true)).unwrap().to_f32_vec() != y);
    assert!(flipped);
    let mut dense = Pipeline::new(vec![Box::new(Dense::new(3)), Box::new(Dense::new(2))]).name("prep");
    keras::layers::build_layer(&mut dense, &[None, Some(4)]).unwrap();
    assert_eq!(dense.weights().len(), 4);
    assert_eq!(dense.compute_output_shape(&[None, Some(4)]).unwrap(), vec![None, Some(2)]);
    let y = dense.call(&Tensor::zeros([5, 4]), &mut CallContext::new(false)).unwrap();
    assert_eq!(y.shape(), &[5, 2]);
    let cfg = dense.get_config();
    assert_eq!(cfg.as_object().unwrap().keys().collect::<Vec<_>>(), vec!["layers", "name"]);
    let back = deserialize(&json!({"class_name": "Pipeline", "config": cfg})).unwrap();
    assert_eq!(back.name(), "prep");
    assert_eq!(back.get_config()["layers"][1]["class_name"], "Dense");
    for bad in [json!({}), json!({"layers": null}), json!({"layers": 3})] {
        let e = err(deserialize(&json!({"class_name": "Pipeline", "config": bad})));
        assert!(e.contains("`Pipeline` config must contain a `layers` key"), "{e}");
    }
    let e = err(deserialize(
        &json!({"class_name": "Pipeline", "config": {"layers": [{"class_name": "Nope", "config": {}}]}}),
    ));
    assert!(e.contains("Nope"), "{e}");
}
