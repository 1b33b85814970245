//! Conformance runner: checks keras-rs against reference cases produced by real Keras 3.
//!
//! `cargo test -p keras --release --test oracle` walks `tests/fixtures/oracle` (a copy of the
//! shared reference set), or the folder in `KERAS_ORACLE_DIR` when set, and always
//! `tests/fixtures/keras315` (the cases of the Keras 3.15 API added with issue 16, made by its
//! `make_cases.py`; labelled `keras315:<kind>/<name>`). Every case of a
//! supported kind and class is checked with its own tolerance and prints `PASS kind/name` or
//! `FAIL kind/name: why`; anything unsupported prints `SKIP kind/name: why` and never counts
//! as passed. The last line is `oracle: N passed, N failed, N skipped`; any failure fails
//! the test. Sizes and hyperparameters always come from `case.json`.

#[path = "oracle/activation.rs"]
mod activation;
#[path = "oracle/application.rs"]
mod application;
#[path = "oracle/common.rs"]
mod common;
#[path = "oracle/functional.rs"]
mod functional;
#[path = "oracle/initializer.rs"]
mod initializer;
#[path = "oracle/layer.rs"]
mod layer;
#[path = "oracle/loss.rs"]
mod loss;
#[path = "oracle/metric.rs"]
mod metric;
#[path = "oracle/op.rs"]
mod op;
#[path = "oracle/optimizer.rs"]
mod optimizer;
#[path = "oracle/preprocessing_image.rs"]
mod preprocessing_image;
#[path = "oracle/preprocessing_legacy.rs"]
mod preprocessing_legacy;
#[path = "oracle/preprocessing_text.rs"]
mod preprocessing_text;
#[path = "oracle/saved_model.rs"]
mod saved_model;
#[path = "oracle/summary.rs"]
mod summary;
#[path = "oracle/training.rs"]
mod training;

use std::path::PathBuf;

use common::{Case, Outcome};

fn oracle_root() -> PathBuf {
    match std::env::var_os("KERAS_ORACLE_DIR") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/oracle"),
    }
}

fn run_case(case: &Case) -> Outcome {
    match case.kind.as_str() {
        "layer" => layer::run(case),
        "activation" => activation::run(case),
        "loss" => loss::run(case),
        "metric" => metric::run(case),
        "optimizer" => optimizer::run(case),
        "op" => op::run(case),
        "training" => training::run(case),
        "summary" => summary::run(case),
        "initializer" => initializer::run(case),
        "saved_model" => saved_model::run(case),
        "functional" => functional::run(case),
        "application" => application::run(case),
        "preprocessing" => preprocessing_image::run(case)
            .or_else(|| preprocessing_text::run(case))
            .or_else(|| preprocessing_legacy::run(case))
            .unwrap_or_else(|| {
                Outcome::Skip(format!("preprocessing case '{}' is not supported yet", case.name))
            }),
        other => Outcome::Skip(format!("kind '{other}' is not supported yet")),
    }
}

/// The case folders `<root>/<kind>/<name>`, sorted.
fn case_dirs(root: &std::path::Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    let kinds = std::fs::read_dir(root)
        .unwrap_or_else(|e| panic!("cannot read oracle folder {}: {e}", root.display()));
    for kind in kinds.flatten() {
        if !kind.path().is_dir() {
            continue;
        }
        for case in std::fs::read_dir(kind.path()).into_iter().flatten().flatten() {
            // Functional cases have no case.json: a saved model and its arrays.
            let functional = kind.file_name() == "functional" && case.path().join("x0.npy").is_file();
            if case.path().join("case.json").is_file() || functional {
                dirs.push(case.path());
            }
        }
    }
    dirs.sort();
    assert!(!dirs.is_empty(), "no reference cases under {}", root.display());
    dirs
}

#[test]
fn oracle() {
    let root = oracle_root();
    let extra = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/keras315");
    let mut dirs = case_dirs(&root);
    dirs.extend(case_dirs(&extra));
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    for dir in &dirs {
        let label = format!(
            "{}{}/{}",
            if dir.starts_with(&extra) { "keras315:" } else { "" },
            dir.parent()
                .and_then(|p| p.file_name())
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default(),
            dir.file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default()
        );
        let outcome = match Case::load(dir) {
            Ok(case) => {
                keras::backend::clear_session();
                match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_case(&case))) {
                    Ok(o) => o,
                    Err(p) => Outcome::Fail(format!(
                        "panicked: {}",
                        p.downcast_ref::<String>()
                            .cloned()
                            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                            .unwrap_or_default()
                    )),
                }
            }
            Err(e) => Outcome::Fail(e),
        };
        match outcome {
            Outcome::Pass => {
                passed += 1;
                println!("PASS {label}");
            }
            Outcome::Fail(why) => {
                failed += 1;
                println!("FAIL {label}: {why}");
            }
            Outcome::Skip(why) => {
                skipped += 1;
                println!("SKIP {label}: {why}");
            }
        }
    }
    println!("oracle: {passed} passed, {failed} failed, {skipped} skipped");
    assert_eq!(failed, 0, "{failed} reference case(s) failed");
}
