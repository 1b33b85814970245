//! The audio layers against Keras 3.15 (fixtures/signal/make_cases.py): scipy's windows,
//! `STFTSpectrogram` (configs, kernels, outputs of every mode, scaling, padding, data format,
//! window and length; output shapes; a Keras-made `.keras` model predicted, saved again and
//! trained one step; the errors; finite-difference gradients through the kernels and the
//! input), `MelSpectrogram`, and `keras.ops.stft` / `keras.ops.rfft`.

use std::path::PathBuf;

use keras::layers::preprocessing::signal::get_window;
use keras::layers::{deserialize, CallContext, Layer};
use keras::Tensor;
use serde_json::{json, Value};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/signal")
}

fn fixture() -> &'static Value {
    static CASES: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
    CASES.get_or_init(|| {
        serde_json::from_str(&std::fs::read_to_string(dir().join("cases.json")).unwrap()).unwrap()
    })
}

fn floats(v: &Value) -> Vec<f32> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect()
}

fn dims(v: &Value) -> Vec<usize> {
    v.as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as usize).collect()
}

fn opt_dims(v: &Value) -> Vec<Option<usize>> {
    v.as_array().unwrap().iter().map(|x| x.as_u64().map(|d| d as usize)).collect()
}

/// The largest `|got - want| / (atol + rtol * |want|)`: at most 1 when within tolerance.
fn worst(got: &[f32], want: &[f32], atol: f32, rtol: f32) -> (f32, usize) {
    assert_eq!(got.len(), want.len());
    got.iter()
        .zip(want)
        .enumerate()
        .map(|(i, (g, w))| ((g - w).abs() / (atol + rtol * w.abs()), i))
        .fold((0.0, 0), |a, b| if b.0 > a.0 { b } else { a })
}

fn assert_close(what: &str, got: &[f32], want: &[f32], atol: f32, rtol: f32) {
    let (r, i) = worst(got, want, atol, rtol);
    assert!(
        r <= 1.0,
        "{what}: element {i}: {} against Keras's {} (atol {atol}, rtol {rtol})",
        got[i],
        want[i]
    );
}

fn input(case: &Value) -> Tensor {
    Tensor::new(floats(&case["input"]), dims(&case["input_shape"])).unwrap()
}

#[test]
fn windows_match_scipy() {
    let cases = fixture()["windows"].as_array().unwrap();
    for c in cases {
        let name = c["name"].as_str().unwrap();
        let n = c["n"].as_u64().unwrap() as usize;
        let periodic = c["periodic"].as_bool().unwrap();
        let got = get_window(name, n, periodic).unwrap();
        let want: Vec<f64> = c["values"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
        assert_eq!(got.len(), want.len(), "{name}({n}, periodic={periodic})");
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert!((g - w).abs() < 1e-12, "{name}({n}, periodic={periodic})[{i}]: {g} against scipy's {w}");
        }
    }
    assert_eq!(cases.len(), 320);
}

/// The STFT layer of a case, rebuilt from Keras's config and built for its input.
fn stft_layer(case: &Value) -> Box<dyn Layer> {
    let mut l = deserialize(
        &json!({"module": "keras.layers", "class_name": "STFTSpectrogram", "config": case["config"]}),
    )
    .unwrap();
    let shape: Vec<Option<usize>> = dims(&case["input_shape"]).into_iter().map(Some).collect();
    l.build(&shape).unwrap();
    l
}

/// Tolerances of one STFT case's outputs, scaled by the largest output magnitude (float32
/// sums of `frame_length` products: Keras's and ours round differently by about
/// `1e-6 * max|output|`). Log outputs are compared as absolute errors: `log |X|` moves by the
/// relative error of `|X|`, which is large only in bins whose magnitude is near zero (a
/// cancellation), so those bins are compared as magnitudes below. Angles are compared on the
/// unit circle, weighted by the bin's magnitude, for the same reason.
fn stft_tolerance(want: &[f32]) -> (f32, f32) {
    let scale = want.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    (2e-6 * scale, 1e-5)
}

#[test]
fn stft_spectrogram_matches_keras_for_every_case() {
    let cases = fixture()["stft"].as_array().unwrap();
    let mut report = Vec::new();
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let l = stft_layer(case);
        // The config Keras writes, key for key and in Keras's order.
        assert_eq!(l.get_config().to_string(), case["config"].to_string(), "{name}: config");
        // Keras's kernels, where the fixture keeps them.
        let kernels = l.get_weights();
        assert_eq!(
            kernels.iter().map(|k| k.shape().to_vec()).collect::<Vec<_>>(),
            case["kernel_shapes"].as_array().unwrap().iter().map(dims).collect::<Vec<_>>(),
            "{name}: kernel shapes"
        );
        for (k, want) in kernels.iter().zip(case["kernels"].as_array().unwrap()) {
            assert_close(&format!("{name}: kernel"), &k.to_f32_vec(), &floats(want), 1e-6, 1e-5);
        }
        let input_shape: Vec<Option<usize>> =
            std::iter::once(None).chain(dims(&case["input_shape"])[1..].iter().map(|&d| Some(d))).collect();
        assert_eq!(
            l.compute_output_shape(&input_shape).unwrap(),
            opt_dims(&case["compute_output_shape"]),
            "{name}: compute_output_shape"
        );
        let y = l.call(&input(case), &mut CallContext::new(false)).unwrap();
        assert_eq!(y.shape(), dims(&case["output_shape"]).as_slice(), "{name}: shape");
        let (got, want) = (y.to_f32_vec(), floats(&case["output"]));
        let mode = case["config"]["mode"].as_str().unwrap();
        let err = match mode {
            "log" => {
                // Bins above 1e-3 of the largest magnitude: absolute log errors.
                let top = want.iter().fold(f32::MIN, |m, &v| m.max(v));
                let floor = top + (1e-3f32).ln();
                let e = got
                    .iter()
                    .zip(&want)
                    .filter(|(_, &w)| w > floor)
                    .map(|(g, w)| (g - w).abs())
                    .fold(0.0, f32::max);
                assert!(e < 2e-4, "{name}: log error {e}");
                // Every bin as a magnitude, relative to the largest.
                let mags: (Vec<f32>, Vec<f32>) =
                    got.iter().zip(&want).map(|(g, w)| (g.exp(), w.exp())).unzip();
                assert_close(&format!("{name}: exp(log)"), &mags.0, &mags.1, 2e-6 * top.exp(), 1e-5);
                e
            }
            "angle" => {
                // A phase error moves the bin by `|X| * dtheta` on the complex plane, which
                // is what float32 rounding bounds; `|X|` from the same layer in "magnitude" mode.
                let mut cfg = case["config"].clone();
                cfg["mode"] = json!("magnitude");
                let mag = stft_layer(&json!({"config": cfg, "input_shape": case["input_shape"]}))
                    .call(&input(case), &mut CallContext::new(false))
                    .unwrap()
                    .to_f32_vec();
                let top = mag.iter().fold(0.0f32, |m, &v| m.max(v));
                let moved: Vec<f32> =
                    got.iter().zip(&want).zip(&mag).map(|((g, w), m)| (g - w).sin().abs() * m).collect();
                assert_close(
                    &format!("{name}: |X| dtheta"),
                    &moved,
                    &vec![0.0; moved.len()],
                    2e-6 * top,
                    0.0,
                );
                moved.iter().fold(0.0f32, |a, &b| a.max(b / top))
            }
            _ => {
                let (atol, rtol) = stft_tolerance(&want);
                assert_close(name, &got, &want, atol, rtol);
                worst(&got, &want, 0.0, 1.0).0
            }
        };
        report.push(format!("{name}: {err:.2e}"));
    }
    assert_eq!(cases.len(), 42);
    println!("{}", report.join("\n"));
}
