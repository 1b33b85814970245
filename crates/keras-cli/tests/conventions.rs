//! The `keras` binary follows command-line conventions, checked from outside: `--help` and
//! `COMMAND --help` on stdout with exit status 0, `--version`, usage errors on stderr with exit
//! status 2, failed commands on stderr with exit status 1, results on stdout with exit status 0.
//! The help texts in the README's CLI section are the binary's own output:
//! `KERAS_CLI_BLESS=1 cargo test -p keras-cli --test conventions` rewrites them.

use std::path::PathBuf;
use std::process::{Command, Output};

fn keras_bin(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_keras")).args(args).output().expect("run keras")
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

/// Exit status 0, nothing on stderr; returns stdout.
fn success(args: &[&str]) -> String {
    let o = keras_bin(args);
    assert_eq!(o.status.code(), Some(0), "keras {args:?}: {}", stderr(&o));
    assert!(o.stderr.is_empty(), "keras {args:?} wrote to stderr: {}", stderr(&o));
    stdout(&o)
}

const COMMANDS: [&str; 5] = ["summary", "predict", "evaluate", "fit", "convert"];

/// Every option of every command, with what its help must say about it.
const OPTIONS: &[(&str, &[&str])] = &[
    ("summary", &["<FILE>", "-h, --help"]),
    ("predict", &["<FILE>", "--input <X.npy>", "--output <Y.npy>", "--batch-size <N>", "[default: 32]"]),
    ("evaluate", &["<FILE>", "--x <X.npy>", "--y <Y.npy>", "--batch-size <N>", "[default: 32]"]),
    (
        "fit",
        &[
            "<FILE>",
            "--x <X.npy>",
            "--y <Y.npy>",
            "--epochs <N>",
            "[default: 1]",
            "--batch-size <N>",
            "[default: 32]",
            "--validation-split <F>",
            "[default: 0]",
            "--no-shuffle",
            "--output <OUT>",
        ],
    ),
    ("convert", &["<IN>", "<OUT>"]),
];

#[test]
fn help_lists_every_command_and_the_exit_statuses() {
    let help = success(&["--help"]);
    assert!(help.contains("Usage: keras <COMMAND>"), "{help}");
    for c in COMMANDS {
        assert!(help.lines().any(|l| l.trim_start().starts_with(c)), "{c} missing from --help:\n{help}");
    }
    for needle in
        ["-V, --version", "Exit status: 0 on success, 1", "2 for a bad command line", "KERAS_DEVICE"]
    {
        assert!(help.contains(needle), "{needle} missing from --help:\n{help}");
    }
    // -h is the same text; `keras help` too.
    assert_eq!(success(&["-h"]), help);
    assert_eq!(success(&["help"]), help);
}

#[test]
fn every_command_has_help_with_every_option_and_default() {
    for (c, needles) in OPTIONS {
        let help = success(&[c, "--help"]);
        assert!(help.contains(&format!("Usage: keras {c} ")), "{c}: {help}");
        for n in *needles {
            assert!(help.contains(n), "keras {c} --help lacks {n}:\n{help}");
        }
        // Every option line explains itself: the text after the option is not empty.
        for line in help.lines().filter(|l| l.trim_start().starts_with("--")) {
            let (_, meaning) = line.trim_start().split_once("  ").unwrap_or(("", ""));
            assert!(!meaning.trim().is_empty(), "keras {c}: option without a description: {line}");
        }
        assert_eq!(success(&["help", c]), help, "keras help {c}");
    }
}

#[test]
fn version_is_the_crate_version() {
    assert_eq!(success(&["--version"]), format!("keras {}\n", env!("CARGO_PKG_VERSION")));
    assert_eq!(success(&["-V"]), format!("keras {}\n", env!("CARGO_PKG_VERSION")));
}

/// Exit status 2, clap's message on stderr, nothing on stdout.
fn usage_error(args: &[&str], needle: &str) {
    let o = keras_bin(args);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "keras {args:?}: {err}");
    assert!(o.stdout.is_empty(), "keras {args:?} wrote to stdout: {}", stdout(&o));
    assert!(err.starts_with("error: ") && err.contains(needle), "keras {args:?}: {err}");
}

#[test]
fn usage_errors_exit_2_on_stderr() {
    usage_error(&["frobnicate"], "unrecognized subcommand 'frobnicate'");
    usage_error(&["summary"], "<FILE>");
    usage_error(&["summary", "a.keras", "--colour", "red"], "unexpected argument '--colour'");
    usage_error(&["predict", "a.keras", "--input", "x.npy"], "--output <Y.npy>");
    usage_error(
        &["predict", "a.keras", "--input", "x.npy", "--output", "y.npy", "--batch-size", "0"],
        "positive",
    );
    usage_error(
        &["evaluate", "a.keras", "--x", "x.npy", "--y", "y.npy", "--batch-size", "-1"],
        "unexpected argument '-1' found",
    );
    usage_error(
        &"fit a.keras --x x --y y --epochs one --batch-size 2 --output o.keras"
            .split(' ')
            .collect::<Vec<_>>(),
        "invalid value 'one' for '--epochs <N>'",
    );
    usage_error(
        &"fit a.keras --x x --y y --epochs 1 --batch-size 2 --output o.txt".split(' ').collect::<Vec<_>>(),
        "must end in .keras, .h5 or .hdf5",
    );
    usage_error(&["convert", "a.keras"], "<OUT>");
    usage_error(&["convert", "a.keras", "a.keras"], "input and output are the same file");
    // No command at all: the help, on stderr, status 2.
    let o = keras_bin(&[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stdout.is_empty() && stderr(&o).contains("Usage: keras <COMMAND>"), "{}", stderr(&o));
}

#[test]
fn a_failed_command_exits_1_with_one_line_on_stderr() {
    for args in [
        &["summary", "missing.keras"][..],
        &["predict", "missing.h5", "--input", "x.npy", "--output", "y.npy"],
        &["evaluate", "missing.keras", "--x", "x.npy", "--y", "y.npy"],
        &[
            "fit",
            "missing.keras",
            "--x",
            "x",
            "--y",
            "y",
            "--epochs",
            "1",
            "--batch-size",
            "2",
            "--output",
            "o.keras",
        ],
        &["convert", "missing.keras", "out.h5"],
    ] {
        let o = keras_bin(args);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "keras {args:?}: {err}");
        assert!(o.stdout.is_empty(), "keras {args:?} wrote to stdout: {}", stdout(&o));
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.starts_with("keras: error: ") && err.contains("missing."), "{err}");
    }
}

#[test]
fn a_successful_command_exits_0_with_its_result_on_stdout() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../keras/tests/fixtures/saving");
    let f = dir.join("keras3_uncompiled.keras");
    let out = success(&["summary", f.to_str().unwrap()]);
    assert!(out.starts_with("Model: \"uncompiled\"") && out.ends_with("Not compiled.\n"), "{out}");
}

/// The commands whose help the README shows, in order.
fn help_commands() -> Vec<Vec<&'static str>> {
    std::iter::once(vec!["--help"]).chain(COMMANDS.iter().map(|c| vec![*c, "--help"])).collect()
}

/// The README's CLI section holds each help text in a ```text block after a marker line
/// `<!-- keras ARGS -->`.
#[test]
fn the_readme_shows_the_binarys_help_texts() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let mut fixed = readme.clone();
    let mut stale = Vec::new();
    for args in help_commands() {
        let marker = format!("<!-- keras {} -->\n```text\n", args.join(" "));
        let start = fixed.find(&marker).unwrap_or_else(|| panic!("README.md lacks the marker {marker:?}"))
            + marker.len();
        let end = start + fixed[start..].find("```\n").expect("an unterminated block");
        let help = success(&args);
        if fixed[start..end] != help {
            stale.push(args.join(" "));
            fixed.replace_range(start..end, &help);
        }
    }
    if std::env::var_os("KERAS_CLI_BLESS").is_some() {
        if fixed != readme {
            std::fs::write(&path, fixed).unwrap();
        }
        return;
    }
    assert!(
        stale.is_empty(),
        "README.md's help for `keras {}` differs from the binary's; \
         rerun with KERAS_CLI_BLESS=1 to rewrite it",
        stale.join("`, `keras ")
    );
}
