//! `keras`: inspect, run, train and convert Keras model files (`.keras` or legacy `.h5`,
//! Sequential or Functional) from the command line. Arrays are NumPy `.npy` files (float32,
//! int32 or int64).
//!
//! ```text
//! keras summary FILE
//! keras predict FILE --input x.npy [--input x2.npy ...] --output y.npy [--output y2.npy ...] [--batch-size N]
//! keras evaluate FILE --x x.npy [--x ...] --y y.npy [--y ...] [--batch-size N]
//! keras fit FILE --x x.npy [--x ...] --y y.npy [--y ...] [--epochs N] [--batch-size N] [--validation-split F] [--no-shuffle] --output OUT
//! keras convert IN OUT
//! keras --help | keras COMMAND --help | keras --version
//! ```
//!
//! A model with several inputs takes `--input` (`--x`) once per input, in the model's input
//! order; several outputs take `--output` (`--y`) once per output, in output order (for `--y`:
//! the outputs that have a loss).
//!
//! The command line is parsed by clap ([`args`]): help and version go to stdout with exit
//! status 0, a bad command line is reported by clap on stderr with exit status 2. A failed
//! command is one line on stderr (`keras: error: ...`) with exit status 1.
//!
//! Submodules:
//! - `args`: Command-line parsing (clap declarations)
//! - `commands`: The commands

mod args;
mod commands;

use clap::error::ErrorKind;
use clap::{CommandFactory, Parser};

/// A failure: a bad command line (exit 2) or a failed command (exit 1).
pub enum Failure {
    /// The command line is wrong in a way clap cannot see (convert IN and OUT the same file).
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
    // Help and --version exit 0 (stdout); usage errors exit 2 (stderr).
    let cli = args::Cli::parse();
    let result = commands::run(&cli.command, &mut std::io::stdout().lock());
    match result {
        Ok(()) => {}
        // Reported as clap reports its own usage errors: stderr, exit status 2.
        Err(Failure::Usage(m)) => {
            args::Cli::command().error(ErrorKind::ArgumentConflict, one_line(&m)).exit()
        }
        Err(Failure::Run(m)) => {
            eprintln!("keras: error: {}", one_line(&m));
            std::process::exit(1);
        }
    }
}
