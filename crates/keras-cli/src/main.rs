//! `keras`: inspect, run, train and convert Keras model files (`.keras` or legacy `.h5`,
//! Sequential or Functional) from the command line. Arrays are NumPy `.npy` files (float32,
//! int32 or int64).
//!
//! ```text
//! keras summary FILE
//! keras predict FILE --input x.npy [--input x2.npy ...] --output y.npy [--output y2.npy ...] [--batch-size N]
//! keras evaluate FILE --x x.npy [--x ...] --y y.npy [--y ...] [--batch-size N]
//! keras fit FILE --x x.npy [--x ...] --y y.npy [--y ...] --epochs N --batch-size N [--validation-split F] [--no-shuffle] --output OUT
//! keras convert IN OUT
//! ```
//!
//! A model with several inputs takes `--input` (`--x`) once per input, in the model's input
//! order; several outputs take `--output` (`--y`) once per output, in output order (for `--y`:
//! the outputs that have a loss).
//!
//! Errors are one line on stderr and a non-zero exit status (2 for a bad command line,
//! 1 for everything else).
//!
//! Submodules:
//! - `args`: Command-line parsing
//! - `commands`: The commands

mod args;
mod commands;

use args::Args;

const USAGE: &str =
    "usage: keras summary FILE | predict FILE --input X.npy... --output Y.npy... [--batch-size N] | \
evaluate FILE --x X.npy... --y Y.npy... [--batch-size N] | fit FILE --x X.npy... --y Y.npy... --epochs N --batch-size N \
[--validation-split F] [--no-shuffle] --output OUT | convert IN OUT\n\nRepeat --input/--x once per model input and \
--output/--y once per model output, in the model's order.\n\nKERAS_DEVICE=cpu|gpu|gpu:N picks the device (default: the first GPU when present).";

/// A failure: a bad command line (exit 2) or a failed command (exit 1).
pub enum Failure {
    /// The command line is wrong.
    Usage(String),
    /// The command failed.
    Run(String),
}

impl From<keras::Error> for Failure {
    fn from(e: keras::Error) -> Self {
        Failure::Run(e.to_string())
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    if argv.is_empty() || argv[0] == "--help" || argv[0] == "-h" || argv[0] == "help" {
        println!("{USAGE}");
        return;
    }
    let result = Args::parse(&argv).map_err(Failure::Usage).and_then(|a| commands::run(&a));
    match result {
        Ok(()) => {}
        Err(Failure::Usage(m)) => {
            eprintln!("keras: error: {} (see `keras --help`)", one_line(&m));
            std::process::exit(2);
        }
        Err(Failure::Run(m)) => {
            eprintln!("keras: error: {}", one_line(&m));
            std::process::exit(1);
        }
    }
}
