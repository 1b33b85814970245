//! Runs the `keras` binary on every file of the shared saved_model reference cases (the
//! copy in crates/keras/tests/fixtures/oracle), and on bad command lines and files.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use keras::io::npy;
use keras::Tensor;
use serde_json::Value;

fn keras_bin(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_keras")).args(args).output().expect("run keras")
}

fn cases() -> Vec<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../keras/tests/fixtures/oracle/saved_model");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&root).unwrap().flatten().map(|e| e.path()).collect();
    v.retain(|p| p.join("case.json").is_file());
    v.sort();
    assert!(!v.is_empty(), "no saved_model cases under {}", root.display());
    v
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("keras_cli_{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d.join(name)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn ok(out: &Output) -> String {
    assert!(out.status.success(), "keras failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Fails with exit status `code` and nothing on stdout. A failed command (status 1) is one line
/// on stderr containing `needle`; a usage error (status 2) is clap's report on stderr: the
/// message containing `needle` and a pointer to `--help`.
fn fails(out: &Output, code: i32, needle: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "stderr: {err}");
    assert!(out.stdout.is_empty(), "stdout: {}", String::from_utf8_lossy(&out.stdout));
    if code == 2 {
        assert!(err.starts_with("error: ") && err.contains(needle), "{err}");
        assert!(err.contains("For more information, try '--help'."), "{err}");
    } else {
        assert_eq!(err.trim_end().lines().count(), 1, "not one line: {err}");
        assert!(err.starts_with("keras: error: ") && err.contains(needle), "{err}");
    }
}

fn close(a: &Tensor, b: &Tensor, case: &Value) -> bool {
    let tol = &case["tolerance"]["predict"];
    let (rtol, atol) = (tol["rtol"].as_f64().unwrap() as f32, tol["atol"].as_f64().unwrap() as f32);
    a.shape() == b.shape()
        && a.to_f32_vec().iter().zip(b.to_f32_vec()).all(|(x, y)| (x - y).abs() <= atol + rtol * y.abs())
}

/// Labels that fit the model's loss: the expected outputs themselves, one-hot argmaxes, or
/// int64 class ids for sparse losses (so every .npy dtype is used).
fn labels(expected: &Tensor, loss: &str) -> Tensor {
    let classes = *expected.shape().last().unwrap();
    let v = expected.to_f32_vec();
    let arg: Vec<usize> = v
        .chunks(classes)
        .map(|r| r.iter().enumerate().fold(0, |b, (i, x)| if *x > r[b] { i } else { b }))
        .collect();
    match loss {
        "sparse_categorical_crossentropy" => {
            Tensor::from_i64(arg.iter().map(|&a| a as i64).collect(), [arg.len()]).unwrap()
        }
        "categorical_crossentropy" => {
            let mut one = vec![0f32; v.len()];
            for (i, &a) in arg.iter().enumerate() {
                one[i * classes + a] = 1.0;
            }
            Tensor::new(one, expected.shape().to_vec()).unwrap()
        }
        _ => expected.clone(),
    }
}

#[test]
fn every_command_works_on_every_reference_file() {
    for dir in cases() {
        let case: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("case.json")).unwrap()).unwrap();
        let name = case["name"].as_str().unwrap();
        let input = dir.join("input.npy");
        let expected = npy::read(dir.join("expected_output.npy")).unwrap();
        for file in ["model.keras", "model.h5"] {
            let f = dir.join(file);
            let out = ok(&keras_bin(&["summary", s(&f)]));
            assert!(out.contains(&format!("Model: \"{}\"", case["model_name"].as_str().unwrap())), "{out}");
            assert!(out.contains("Compiled: optimizer Adam"), "{out}");

            let y = tmp(&format!("{name}_{file}_pred.npy"));
            ok(&keras_bin(&["predict", s(&f), "--input", s(&input), "--output", s(&y), "--batch-size", "5"]));
            assert!(close(&npy::read(&y).unwrap(), &expected, &case), "{name}/{file}: predict");

            let loss = case["legacy_h5_layout"]["root_attrs"]["training_config"].as_str().unwrap_or("");
            let loss = ["sparse_categorical_crossentropy", "categorical_crossentropy", "mse"]
                .into_iter()
                .find(|l| loss.contains(&format!("\"loss\": \"{l}\"")))
                .unwrap_or("mse");
            let ypath = tmp(&format!("{name}_labels.npy"));
            npy::write(&ypath, &labels(&expected, loss)).unwrap();
            let out = ok(&keras_bin(&["evaluate", s(&f), "--x", s(&input), "--y", s(&ypath)]));
            assert!(out.starts_with("loss: "), "{out}");

            for ext in ["keras", "h5"] {
                let trained = tmp(&format!("{name}_{file}_trained.{ext}"));
                let out = ok(&keras_bin(&[
                    "fit",
                    s(&f),
                    "--x",
                    s(&input),
                    "--y",
                    s(&ypath),
                    "--epochs",
                    "2",
                    "--batch-size",
                    "4",
                    "--validation-split",
                    "0.25",
                    "--no-shuffle",
                    "--output",
                    s(&trained),
                ]));
                assert!(out.contains("trained 2 epoch(s)") && out.contains("val_loss"), "{out}");
                // The trained file is a model again, with more optimizer steps.
                let m = keras::models::load_model(&trained).unwrap();
                let before = keras::models::load_model(&f).unwrap();
                assert!(
                    m.compile_state().unwrap().optimizer.iterations()
                        > before.compile_state().unwrap().optimizer.iterations()
                );
            }

            let other = if file.ends_with(".keras") { "h5" } else { "keras" };
            let conv = tmp(&format!("{name}_{file}_converted.{other}"));
            ok(&keras_bin(&["convert", s(&f), s(&conv)]));
            let y2 = tmp(&format!("{name}_{file}_pred2.npy"));
            ok(&keras_bin(&["predict", s(&conv), "--input", s(&input), "--output", s(&y2)]));
            assert_eq!(npy::read(&y2).unwrap().to_f32_vec(), npy::read(&y).unwrap().to_f32_vec());
        }
        // model.weights.h5 has no architecture: a clear error.
        let w = dir.join("model.weights.h5");
        fails(&keras_bin(&["summary", s(&w)]), 1, "weights only");
    }
}

#[test]
fn bad_command_lines_and_files_are_one_line_errors() {
    let dir = &cases()[0];
    let f = dir.join("model.keras");
    let input = dir.join("input.npy");
    fails(&keras_bin(&["frobnicate"]), 2, "unrecognized subcommand 'frobnicate'");
    fails(
        &keras_bin(&["predict", s(&f), "--input", s(&input)]),
        2,
        "required arguments were not provided:\n  --output <Y.npy>",
    );
    fails(&keras_bin(&["summary", s(&f), "--colour", "red"]), 2, "unexpected argument '--colour' found");
    fails(&keras_bin(&["summary"]), 2, "required arguments were not provided:\n  <FILE>");
    fails(
        &keras_bin(&["predict", s(&f), "--input", s(&input), "--output", "o.npy", "--batch-size", "x"]),
        2,
        "invalid value 'x' for '--batch-size <N>': 'x' is not a positive integer",
    );
    fails(
        &keras_bin(&["fit", s(&f), "--x", "a", "--y", "b", "--epochs", "1"]),
        2,
        "required arguments were not provided:\n  --output <OUT>",
    );
    fails(&keras_bin(&["summary", "missing.keras"]), 1, "File not found");
    fails(&keras_bin(&["summary", "model.pb"]), 1, "File format not supported");
    let garbage = tmp("garbage.keras");
    std::fs::write(&garbage, b"this is not a zip file, only some text\n").unwrap();
    fails(&keras_bin(&["summary", s(&garbage)]), 1, "not a zip file");
    let garbage_h5 = tmp("garbage.h5");
    std::fs::write(&garbage_h5, b"\x89HDF\r\n\x1a\n and then nothing useful").unwrap();
    fails(&keras_bin(&["summary", s(&garbage_h5)]), 1, "");
    let bad_npy = tmp("bad.npy");
    std::fs::write(&bad_npy, b"\x93NUMPY nonsense").unwrap();
    fails(
        &keras_bin(&["predict", s(&f), "--input", s(&bad_npy), "--output", s(&tmp("o.npy"))]),
        1,
        "cannot read",
    );
    // Wrong input shape: Keras's message, on one line.
    let x = tmp("wrong.npy");
    npy::write(&x, &Tensor::new(vec![0.0; 6], [2, 3]).unwrap()).unwrap();
    fails(&keras_bin(&["predict", s(&f), "--input", s(&x), "--output", s(&tmp("o.npy"))]), 1, "incompatible");
    fails(&keras_bin(&["convert", s(&f), s(&tmp("out.txt"))]), 1, "Invalid filepath extension");
}

/// A crafted `.keras` file whose MaxPooling2D has `strides` 0 (the crash `model_config_json`
/// found, issue 15): `keras summary` refuses it with Keras's argument error, exit status 1
/// (it panicked with a division by zero, status 101).
#[test]
fn summary_of_a_file_with_zero_pooling_strides_is_an_error() {
    let f = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../keras/tests/fixtures/saving/fuzz_regressions/keras_pool_strides_zero.keras");
    fails(
        &keras_bin(&["summary", s(&f)]),
        1,
        "The `strides` argument must be a tuple of 2 positive integers",
    );
}

/// A Keras 3 model saved without `compile()` (crates/keras/tests/fixtures/saving,
/// make_compat_fixtures.py): summary and predict work in both formats, evaluate explains why not.
#[test]
fn uncompiled_keras_files_load_as_uncompiled_models() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../keras/tests/fixtures/saving");
    let input = dir.join("keras3_uncompiled_input.npy");
    let expected = npy::read(dir.join("keras3_uncompiled_expected.npy")).unwrap();
    for file in ["keras3_uncompiled.keras", "keras3_uncompiled.h5"] {
        let f = dir.join(file);
        let out = ok(&keras_bin(&["summary", s(&f)]));
        assert!(out.contains("Model: \"uncompiled\"") && out.contains("Not compiled."), "{out}");
        let y = tmp(&format!("uncompiled_{file}.npy"));
        ok(&keras_bin(&["predict", s(&f), "--input", s(&input), "--output", s(&y)]));
        let got = npy::read(&y).unwrap();
        assert_eq!(got.shape(), expected.shape());
        assert!(got.to_f32_vec().iter().zip(expected.to_f32_vec()).all(|(a, b)| (a - b).abs() <= 1e-6));
        // The .h5 loader also prints Keras's "No training configuration found" warning first.
        let out = keras_bin(&["evaluate", s(&f), "--x", s(&input), "--y", s(&y)]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        let last = err.trim_end().lines().last().unwrap_or("");
        assert!(last.starts_with("keras: error: ") && last.contains("saved without compile()"), "{err}");
    }
}

/// The Keras-made Functional cases (crates/keras/tests/fixtures/oracle/functional): inputs
/// `x0.npy`, `x1.npy`... in `model.inputs` order, Keras's predictions `y0.npy`... in output order.
fn functional_cases() -> Vec<(PathBuf, Vec<PathBuf>, Vec<PathBuf>)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../keras/tests/fixtures/oracle/functional");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root).unwrap().flatten().map(|e| e.path()).collect();
    dirs.retain(|p| p.join("model.keras").is_file());
    dirs.sort();
    assert!(!dirs.is_empty(), "no functional cases under {}", root.display());
    let numbered = |dir: &Path, prefix: &str| -> Vec<PathBuf> {
        (0..).map(|i| dir.join(format!("{prefix}{i}.npy"))).take_while(|p| p.is_file()).collect()
    };
    dirs.into_iter().map(|d| (d.clone(), numbered(&d, "x"), numbered(&d, "y"))).collect()
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
    assert_eq!(a.shape(), b.shape());
    a.to_f32_vec().iter().zip(b.to_f32_vec()).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

/// `args` with `--flag path` once per path.
fn repeated(args: &mut Vec<String>, flag: &str, paths: &[PathBuf]) {
    for p in paths {
        args.push(flag.to_string());
        args.push(s(p).to_string());
    }
}

fn run_owned(args: &[String]) -> Output {
    keras_bin(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

#[test]
fn every_command_works_on_keras_functional_files() {
    let mut worst = 0f32;
    for (dir, xs, ys) in functional_cases() {
        let name = dir.file_name().unwrap().to_str().unwrap().to_string();
        for file in ["model.keras", "model.h5"] {
            let f = dir.join(file);
            let out = ok(&keras_bin(&["summary", s(&f)]));
            assert!(out.contains("Model: \"") && out.contains("Connected to"), "{name}/{file}: {out}");
            assert!(out.contains("Compiled: optimizer Adam"), "{name}/{file}: {out}");

            // predict: every input in, every output out, within 1e-4 of Keras.
            let preds: Vec<PathBuf> =
                (0..ys.len()).map(|i| tmp(&format!("fn_{name}_{file}_p{i}.npy"))).collect();
            let mut args = vec!["predict".to_string(), s(&f).to_string()];
            repeated(&mut args, "--input", &xs);
            repeated(&mut args, "--output", &preds);
            let out = ok(&run_owned(&args));
            assert_eq!(out.lines().count(), ys.len(), "{out}");
            for (p, y) in preds.iter().zip(&ys) {
                let d = max_abs_diff(&npy::read(p).unwrap(), &npy::read(y).unwrap());
                assert!(d <= 1e-4, "{name}/{file}: predict differs from Keras by {d}");
                worst = worst.max(d);
            }

            // evaluate with Keras's predictions as targets: the mse losses are ~0.
            let mut args = vec!["evaluate".to_string(), s(&f).to_string()];
            repeated(&mut args, "--x", &xs);
            repeated(&mut args, "--y", &ys);
            let out = ok(&run_owned(&args));
            let loss: f32 =
                out.trim().strip_prefix("loss: ").unwrap().split(' ').next().unwrap().parse().unwrap();
            assert!(loss.abs() < 1e-6, "{name}/{file}: {out}");
            if ys.len() > 1 {
                assert!(out.contains("_loss: "), "{name}/{file}: per-output losses missing: {out}");
            }

            // fit, saved as the other format, then predict with the trained file.
            let other = if file.ends_with(".keras") { "h5" } else { "keras" };
            let trained = tmp(&format!("fn_{name}_{file}_trained.{other}"));
            let mut args = vec!["fit".to_string(), s(&f).to_string()];
            repeated(&mut args, "--x", &xs);
            repeated(&mut args, "--y", &ys);
            args.extend(["--epochs", "2", "--batch-size", "4", "--output", s(&trained)].map(String::from));
            let out = ok(&run_owned(&args));
            assert!(out.contains("trained 2 epoch(s)"), "{out}");
            let m = keras::models::load_model(&trained).unwrap();
            assert_eq!(m.class_name(), "Functional");
            assert!(m.compile_state().is_some(), "{name}: the trained file is compiled");

            // convert, and the converted file predicts the same.
            let conv = tmp(&format!("fn_{name}_{file}_converted.{other}"));
            ok(&keras_bin(&["convert", s(&f), s(&conv)]));
            let again: Vec<PathBuf> =
                (0..ys.len()).map(|i| tmp(&format!("fn_{name}_{file}_q{i}.npy"))).collect();
            let mut args = vec!["predict".to_string(), s(&conv).to_string()];
            repeated(&mut args, "--input", &xs);
            repeated(&mut args, "--output", &again);
            ok(&run_owned(&args));
            for (a, b) in again.iter().zip(&preds) {
                assert_eq!(npy::read(a).unwrap().to_f32_vec(), npy::read(b).unwrap().to_f32_vec());
            }
        }
    }
    eprintln!("keras predict on Functional files vs Keras: max abs diff {worst:e}");
}

#[test]
fn the_wrong_number_of_arrays_is_a_clear_error() {
    let cases = functional_cases();
    let (dir, xs, ys) =
        cases.iter().find(|(_, xs, ys)| xs.len() == 2 && ys.len() == 2).expect("a 2-in 2-out case");
    let f = dir.join("model.keras");
    let o = |i: usize| s(&tmp(&format!("wrong_{i}.npy"))).to_string();
    let (x0, x1, y0, y1) = (s(&xs[0]), s(&xs[1]), s(&ys[0]), s(&ys[1]));
    let (o0, o1) = (o(0), o(1));
    fails(
        &keras_bin(&["predict", s(&f), "--input", x0, "--output", &o0, "--output", &o1]),
        1,
        "has 2 input(s)",
    );
    fails(
        &keras_bin(&["predict", s(&f), "--input", x0, "--input", x1, "--output", &o0]),
        1,
        "give --output once per output",
    );
    fails(&keras_bin(&["evaluate", s(&f), "--x", x0, "--x", x1, "--y", y0]), 1, "has 2 output(s)");
    fails(&keras_bin(&["evaluate", s(&f), "--x", x0, "--y", y0, "--y", y1]), 1, "give --x once per input");
    fails(
        &keras_bin(&[
            "fit",
            s(&f),
            "--x",
            x0,
            "--x",
            x1,
            "--y",
            y0,
            "--y",
            y1,
            "--epochs",
            "1",
            "--batch-size",
            "2",
            "--output",
            "a.keras",
            "--output",
            "b.keras",
        ]),
        2,
        "the argument '--output <OUT>' cannot be used multiple times",
    );
    // A Sequential file still takes one array each way.
    let seq = &cases_first_sequential();
    fails(
        &keras_bin(&["predict", s(&seq.0), "--input", s(&seq.1), "--input", s(&seq.1), "--output", &o0]),
        1,
        "has 1 input(s)",
    );
}

fn cases_first_sequential() -> (PathBuf, PathBuf) {
    let dir = &cases()[0];
    (dir.join("model.keras"), dir.join("input.npy"))
}
