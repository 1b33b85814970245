//! Conformance runner: checks keras-rs against reference cases produced by real Keras 3.
//!
//! A `harness = false` test binary: every reference case is its own test, named by its label
//! (`layer/dense`, `keras315:loss/dice`). `cargo test -p keras --release --test oracle` runs
//! them all; `cargo test ... --test oracle -- layer/dense` runs the cases whose label contains
//! a filter (`--exact` for equality, `--skip PATTERN` to leave some out, `--list` to list them,
//! as libtest does). It walks `tests/fixtures/oracle` (a copy of the
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

/// libtest's command line, the parts a runner of cases needs: name filters, `--exact`,
/// `--skip PATTERN` and `--list`. Other flags (`--nocapture`, `--test-threads=N`, `-q`...)
/// change nothing here: cases run one at a time (they share Keras's global name counters) and
/// always print their line.
struct Args {
    filters: Vec<String>,
    skips: Vec<String>,
    exact: bool,
    list: bool,
}

impl Args {
    fn parse() -> Args {
        let mut a = Args { filters: Vec::new(), skips: Vec::new(), exact: false, list: false };
        let mut it = std::env::args().skip(1);
        while let Some(arg) = it.next() {
            match arg.as_str() {
                "--exact" => a.exact = true,
                "--list" => a.list = true,
                "--skip" => a.skips.extend(it.next()),
                // Flags of libtest that take a value as the next argument.
                "--test-threads" | "--format" | "--color" | "--logfile" | "-Z" => {
                    it.next();
                }
                s if s.starts_with('-') => {}
                s => a.filters.push(s.to_string()),
            }
        }
        a
    }

    fn selects(&self, label: &str) -> bool {
        let hit = |f: &String| if self.exact { label == f } else { label.contains(f.as_str()) };
        (self.filters.is_empty() || self.filters.iter().any(hit))
            && !self.skips.iter().any(|s| label.contains(s.as_str()))
    }
}

fn label_of(dir: &std::path::Path, extra: &std::path::Path) -> String {
    let name = |p: Option<&std::path::Path>| {
        p.and_then(|p| p.file_name()).map(|s| s.to_string_lossy().into_owned()).unwrap_or_default()
    };
    format!(
        "{}{}/{}",
        if dir.starts_with(extra) { "keras315:" } else { "" },
        name(dir.parent()),
        name(Some(dir))
    )
}

fn main() {
    common::self_check();
    let args = Args::parse();
    let root = oracle_root();
    let extra = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/keras315");
    let mut dirs = case_dirs(&root);
    dirs.extend(case_dirs(&extra));
    let cases: Vec<(String, &PathBuf)> =
        dirs.iter().map(|d| (label_of(d, &extra), d)).filter(|(l, _)| args.selects(l)).collect();
    if args.list {
        for (label, _) in &cases {
            println!("{label}: test");
        }
        return;
    }
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    let mut failures = Vec::new();
    for (label, dir) in &cases {
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
                failures.push(label.clone());
            }
            Outcome::Skip(why) => {
                skipped += 1;
                println!("SKIP {label}: {why}");
            }
        }
    }
    println!("oracle: {passed} passed, {failed} failed, {skipped} skipped");
    if failed > 0 {
        eprintln!("failed reference cases:\n    {}", failures.join("\n    "));
        std::process::exit(101);
    }
}
