//! The audio layers against Keras 3.15 (fixtures/signal/make_cases.py): scipy's windows,
//! `STFTSpectrogram` (configs, kernels, outputs of every mode, scaling, padding, data format,
//! window and length; output shapes; a Keras-made `.keras` model predicted, saved again and
//! trained one step; the errors; finite-difference gradients through the kernels and the
//! input), `MelSpectrogram`, and `keras.ops.stft` / `keras.ops.rfft`.

mod common;

use std::path::PathBuf;

use keras::layers::preprocessing::signal::{get_window, Window};
use keras::layers::{deserialize, CallContext, Layer, STFTSpectrogram};
use keras::optimizers::SGD;
use keras::saving::load_model;
use keras::{GradientTape, PredictArgs, Tensor};
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

#[test]
fn mel_spectrogram_matches_keras_for_every_case() {
    let cases = fixture()["mel"].as_array().unwrap();
    let mut report = Vec::new();
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let l = deserialize(
            &json!({"module": "keras.layers", "class_name": "MelSpectrogram", "config": case["config"]}),
        )
        .unwrap();
        assert_eq!(l.get_config().to_string(), case["config"].to_string(), "{name}: config");
        let shape: Vec<Option<usize>> = dims(&case["input_shape"]).into_iter().map(Some).collect();
        assert_eq!(
            l.compute_output_shape(&shape).unwrap(),
            opt_dims(&case["compute_output_shape"]),
            "{name}: compute_output_shape"
        );
        let y = l.call(&input(case), &mut CallContext::new(false)).unwrap();
        assert_eq!(y.shape(), dims(&case["output_shape"]).as_slice(), "{name}: shape");
        let (got, want) = (y.to_f32_vec(), floats(&case["output"]));
        let err = if case["config"]["power_to_db"].as_bool().unwrap() {
            // Decibels: 10 log10 turns a relative error r of the power into 4.34 r dB; bins
            // 60 dB under the largest carry the float32 noise of the FFT (1e-6 of the
            // largest amplitude), so they are compared to 2e-2 dB, the rest to 2e-3 dB.
            let top = want.iter().fold(f32::MIN, |m, &v| m.max(v));
            let mut e: f32 = 0.0;
            for (g, w) in got.iter().zip(&want) {
                let tol = if *w > top - 60.0 { 2e-3 } else { 2e-2 };
                assert!((g - w).abs() <= tol, "{name}: {g} dB against Keras's {w}");
                e = e.max((g - w).abs());
            }
            e
        } else {
            let scale = want.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            assert_close(name, &got, &want, 2e-6 * scale, 2e-5);
            worst(&got, &want, 1e-6 * scale, 0.0).0 * 1e-6
        };
        report.push(format!("{name}: {err:.2e}"));
    }
    assert_eq!(cases.len(), 12);
    println!("{}", report.join("\n"));
}

#[test]
fn ops_stft_and_rfft_match_keras() {
    for case in fixture()["ops_stft"].as_array().unwrap() {
        let a = &case["args"];
        let window = Window::from_config(&a["window"]).unwrap();
        let (re, im) = keras::ops::stft(
            &input(case),
            a["sequence_length"].as_u64().unwrap() as usize,
            a["sequence_stride"].as_u64().unwrap() as usize,
            a["fft_length"].as_u64().unwrap() as usize,
            window.as_ref(),
            a["center"].as_bool().unwrap(),
        )
        .unwrap();
        assert_eq!(re.shape(), dims(&case["output_shape"]).as_slice());
        assert_close("stft real", &re.to_f32_vec(), &floats(&case["real"]), 2e-6, 1e-5);
        assert_close("stft imag", &im.to_f32_vec(), &floats(&case["imag"]), 2e-6, 1e-5);
    }
    for case in fixture()["ops_rfft"].as_array().unwrap() {
        let n = case["fft_length"].as_u64().map(|n| n as usize);
        let (re, im) = keras::ops::rfft(&input(case), n).unwrap();
        assert_eq!(re.shape(), dims(&case["output_shape"]).as_slice());
        assert_close("rfft real", &re.to_f32_vec(), &floats(&case["real"]), 2e-6, 1e-5);
        assert_close("rfft imag", &im.to_f32_vec(), &floats(&case["imag"]), 2e-6, 1e-5);
    }
    let x = Tensor::new(vec![0.5; 16], [16]).unwrap();
    let named = |n: &str| Window::Named(n.into());
    let e = keras::ops::stft(&x, 8, 4, 8, Some(&named("blackman")), true).unwrap_err().to_string();
    assert!(e.contains("it must be one of `\"hann\"`, `\"hamming\"`. Received: window=blackman"), "{e}");
    let e = keras::ops::stft(&x, 8, 4, 4, None, true).unwrap_err().to_string();
    assert!(e.contains("`fft_length` must equal or larger than `sequence_length`"), "{e}");
    let e = keras::ops::stft(&x, 8, 4, 8, Some(&Window::Values(vec![1.0; 3])), true).unwrap_err().to_string();
    assert!(e.contains("The shape of `window` must be equal to [sequence_length]"), "{e}");
    assert!(keras::ops::stft(&x, 8, 4, 64, None, true).is_err(), "reflect padding longer than the signal");
    let ints = Tensor::from_i32(vec![1; 16], [16]).unwrap();
    assert!(keras::ops::stft(&ints, 8, 4, 8, None, true)
        .unwrap_err()
        .to_string()
        .contains("Invalid input type"));
}

#[test]
fn constructors_fail_as_keras() {
    for e in fixture()["errors"].as_array().unwrap() {
        let class = e["class"].as_str().unwrap();
        let got = deserialize(&json!({"module": "keras.layers", "class_name": class, "config": e["config"]}));
        let msg = got.err().unwrap_or_else(|| panic!("{class} {} did not fail", e["config"])).to_string();
        assert!(msg.contains(e["message"].as_str().unwrap()), "{msg} against Keras's {}", e["message"]);
    }
    // Builders report at build; integer signals are refused at call.
    let mut l = STFTSpectrogram::new().mode("spectrogram");
    assert!(l.build(&[None, Some(300), Some(1)]).is_err());
    let mut l = STFTSpectrogram::new().frame_length(8).fft_length(8);
    assert!(l.build(&[None, Some(30)]).unwrap_err().to_string().contains("expected ndim=3, found ndim=2"));
    l.build(&[None, Some(30), Some(1)]).unwrap();
    let ints = Tensor::from_i32(vec![1; 30], [1, 30, 1]).unwrap();
    let e = l.call(&ints, &mut CallContext::new(false)).unwrap_err().to_string();
    assert!(
        e.contains(
            "Invalid input type. Expected `float16`, `float32` or `float64`. Received: input type=int32"
        ),
        "{e}"
    );
    let short = Tensor::new(vec![0.0; 5], [1, 5, 1]).unwrap();
    assert!(l.call(&short, &mut CallContext::new(false)).is_err(), "fewer samples than a frame");
    let mut l = STFTSpectrogram::new().frame_length(4).window_values(&[1.0; 3]);
    assert!(l.build(&[None, Some(30), Some(1)]).unwrap_err().to_string().contains("[frame_length]"));
}

#[test]
fn gradients_flow_through_the_kernels_and_the_input() {
    for mode in ["log", "magnitude", "psd", "real", "imag", "angle", "stft"] {
        let mut l =
            STFTSpectrogram::new().mode(mode).frame_length(6).frame_step(3).fft_length(8).padding("same");
        l.build(&[None, Some(14), Some(2)]).unwrap();
        let x = keras_engine::testing::smooth_tensor(&[2, 14, 2], 0.3);
        let objective = |l: &STFTSpectrogram, x: &Tensor| -> Tensor {
            let y = l.call(x, &mut CallContext::new(true)).unwrap();
            let c: Vec<f32> = (0..y.numel()).map(|i| ((i * 7919 % 13) as f32 - 6.0) / 6.0).collect();
            keras::ops::sum_all(&keras::ops::mul(&y, &Tensor::new(c, y.shape().to_vec()).unwrap()).unwrap())
                .unwrap()
        };
        let tape = GradientTape::new();
        let loss = objective(&l, &x);
        let sources: Vec<&Tensor> = l.weights().iter().map(|w| w.value()).collect();
        let grads = tape.gradient(&loss, &sources).unwrap();
        drop(tape);
        let analytic: Vec<Vec<f32>> = grads.iter().map(|g| g.as_ref().unwrap().to_f32_vec()).collect();
        let eps = 1e-3f32;
        for (k, g) in analytic.iter().enumerate() {
            for i in (0..g.len()).step_by(3) {
                // The DC and Nyquist bins' imaginary parts are 0 (up to rounding): their phase
                // jumps by pi as a kernel change moves them across 0.
                let bin = i % 5;
                if mode == "angle" && (bin == 0 || bin == 4) {
                    continue;
                }
                let mut at = |d: f32| {
                    l.own_weights_mut()[k].data_mut().unwrap()[i] += d;
                    let v = objective(&l, &x).item().unwrap();
                    l.own_weights_mut()[k].data_mut().unwrap()[i] -= d;
                    v
                };
                let numeric = (at(eps) - at(-eps)) / (2.0 * eps);
                assert!(
                    (g[i] - numeric).abs() <= 2e-2 * numeric.abs().max(1.0),
                    "{mode}: kernel {k} element {i}: {} against {numeric}",
                    g[i]
                );
            }
        }
        keras_engine::testing::check_grad(
            &[&x],
            |t| {
                l.call(t[0], &mut CallContext::new(true))
                    .map_err(|e| keras_engine::EngineError::new(e.to_string()))
            },
            2e-2,
        );
    }
}

#[test]
fn keras_made_model_predicts_saves_and_trains_like_keras() {
    let step = &fixture()["train_step"];
    let mut m = load_model(dir().join("stft_model.keras")).unwrap().into_functional().unwrap();
    let x = keras::io::npy::read(dir().join("stft_x.npy")).unwrap();
    let want = keras::io::npy::read(dir().join("stft_y.npy")).unwrap();
    let got = m.predict(&x, PredictArgs::default().verbose(0)).unwrap()[0].clone();
    assert_close("predict", &got.to_f32_vec(), &want.to_f32_vec(), 1e-5, 1e-5);
    let paths: Vec<String> = m.weights().iter().map(|w| w.path().to_string()).collect();
    let keras_paths: Vec<String> =
        step["weight_paths"].as_array().unwrap().iter().map(|p| p.as_str().unwrap().to_string()).collect();
    assert_eq!(paths, keras_paths);

    // Saved again and reloaded: the same predictions.
    let path = std::env::temp_dir().join(format!("keras_rs_stft_{}.keras", std::process::id()));
    m.save(&path).unwrap();
    assert_eq!(common::reload_predict(&path, &x), got.to_f32_vec());

    // One SGD step trains the kernels as Keras does.
    let y = Tensor::new(floats(&step["y"]), [x.shape()[0], 1]).unwrap();
    m.compile(SGD::new().learning_rate(0.05), "mse", &[]).unwrap();
    let logs = m.train_on_batch(&x, &y, None).unwrap();
    let loss = logs["loss"] as f64;
    let want_loss = step["loss"].as_f64().unwrap();
    assert!((loss - want_loss).abs() < 1e-5 * want_loss.abs().max(1.0), "loss {loss} against {want_loss}");
    for (w, want) in m.get_weights().iter().zip(step["weights_after"].as_array().unwrap()) {
        assert_close("weight after the step", &w.to_f32_vec(), &floats(want), 1e-5, 1e-4);
    }
}
