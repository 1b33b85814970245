//! The command line, declared with clap's derive API: `--help` for every command, `--version`,
//! and usage errors with exit status 2 come from these declarations.

use clap::{Args, Parser, Subcommand};

/// What `keras --help` prints after the command list.
const AFTER_HELP: &str = "\
Arrays are NumPy .npy files (float32, int32 or int64). A model with several inputs takes
--input (--x) once per input, in the model's input order; several outputs take --output (--y)
once per output, in output order (for --y: the outputs that have a loss).

Exit status: 0 on success, 1 when the command fails (a bad file, a failed prediction),
2 for a bad command line. Errors go to stderr, results to stdout.

Environment:
  KERAS_DEVICE=cpu|gpu|gpu:N  where models run (default: the first GPU when there is one)";

/// `keras`: inspect, run, train and convert Keras model files.
#[derive(Debug, Parser)]
#[command(
    name = "keras",
    version,
    about = "Inspect, run, train and convert Keras model files (.keras or legacy .h5, Sequential or Functional)",
    after_help = AFTER_HELP,
    subcommand_required = true,
    arg_required_else_help = true
)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// One `keras` command.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the model's summary table and its compile state
    Summary {
        /// Model file (.keras, .h5 or .hdf5)
        #[arg(value_name = "FILE")]
        file: String,
    },
    /// Run the model on arrays and write its predictions as .npy files
    Predict(PredictArgs),
    /// Compute the loss and metrics of a compiled model on arrays
    Evaluate(EvaluateArgs),
    /// Train a compiled model on arrays (with the file's compile config) and save it
    Fit(FitArgs),
    /// Save a model in another format (.keras <-> .h5)
    Convert {
        /// Model file to read (.keras, .h5 or .hdf5)
        #[arg(value_name = "IN")]
        input: String,
        /// Model file to write; its extension picks the format (.keras, .h5 or .hdf5)
        #[arg(value_name = "OUT")]
        output: String,
    },
}

/// `keras predict`.
#[derive(Debug, Args)]
pub struct PredictArgs {
    /// Model file (.keras, .h5 or .hdf5)
    #[arg(value_name = "FILE")]
    pub file: String,
    /// Input array (.npy); repeat once per model input, in the model's input order
    #[arg(long, value_name = "X.npy", required = true)]
    pub input: Vec<String>,
    /// Where to write the predictions (.npy); repeat once per model output, in output order
    #[arg(long, value_name = "Y.npy", required = true)]
    pub output: Vec<String>,
    /// Number of samples per batch
    #[arg(long, value_name = "N", default_value_t = 32, value_parser = positive)]
    pub batch_size: usize,
}

/// The compiled model and the labelled data that `keras evaluate` and `keras fit` read.
#[derive(Debug, Args)]
pub struct DataArgs {
    /// Model file (.keras, .h5 or .hdf5), saved after compile()
    #[arg(value_name = "FILE")]
    pub file: String,
    /// Input array (.npy); repeat once per model input, in the model's input order
    #[arg(long, value_name = "X.npy", required = true)]
    pub x: Vec<String>,
    /// Target array (.npy); repeat once per output that has a loss, in output order
    #[arg(long, value_name = "Y.npy", required = true)]
    pub y: Vec<String>,
}

/// `keras evaluate`.
#[derive(Debug, Args)]
pub struct EvaluateArgs {
    // The model file and its --x / --y arrays.
    #[command(flatten)]
    pub data: DataArgs,
    /// Number of samples per batch
    #[arg(long, value_name = "N", default_value_t = 32, value_parser = positive)]
    pub batch_size: usize,
}

/// `keras fit`.
#[derive(Debug, Args)]
pub struct FitArgs {
    // The model file and its --x / --y arrays.
    #[command(flatten)]
    pub data: DataArgs,
    /// Number of epochs to train
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub epochs: usize,
    /// Number of samples per gradient update
    #[arg(long, value_name = "N", default_value_t = 32, value_parser = positive)]
    pub batch_size: usize,
    /// Fraction of the data (the last samples, taken before shuffling) held out for validation, in [0, 1)
    #[arg(long, value_name = "F", default_value_t = 0.0)]
    pub validation_split: f32,
    /// Do not shuffle the training data before each epoch
    #[arg(long)]
    pub no_shuffle: bool,
    /// Where to save the trained model (.keras, .h5 or .hdf5)
    #[arg(long, value_name = "OUT", value_parser = model_path)]
    pub output: String,
}

/// A batch size: a positive integer.
fn positive(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("'{s}' is not a positive integer")),
    }
}

/// A path a model can be saved to.
fn model_path(s: &str) -> Result<String, String> {
    if [".keras", ".h5", ".hdf5"].iter().any(|e| s.ends_with(e)) {
        Ok(s.to_string())
    } else {
        Err(format!("must end in .keras, .h5 or .hdf5, got {s}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn parse(s: &str) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("keras").chain(s.split_whitespace()))
    }

    #[test]
    fn the_declarations_are_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn flags_values_and_errors() {
        let Command::Fit(a) =
            parse("fit m.keras --x a.npy --y b.npy --epochs 3 --batch-size 8 --no-shuffle --output o.h5")
                .unwrap()
                .command
        else {
            panic!("not fit")
        };
        assert_eq!(
            (a.data.file.as_str(), a.data.x.as_slice(), a.epochs, a.batch_size),
            ("m.keras", &["a.npy".into()][..], 3, 8)
        );
        assert!(a.no_shuffle && a.validation_split == 0.0 && a.output == "o.h5");
        // Keras's fit defaults: epochs=1, batch_size=32.
        let Command::Fit(d) = parse("fit m.keras --x a.npy --y b.npy --output o.h5").unwrap().command else {
            panic!("not fit")
        };
        assert_eq!((d.epochs, d.batch_size), (1, 32));
        let kind = |s: &str| parse(s).unwrap_err().kind();
        use clap::error::ErrorKind::*;
        assert_eq!(kind("predict m --input"), InvalidValue);
        assert_eq!(kind("predict m --input a --output b --batch-size 0"), ValueValidation);
        assert_eq!(kind("fit m --x a --y b --epochs 1 --batch-size 2 --output o.txt"), ValueValidation);
        assert_eq!(
            kind("fit m --x a --y b --epochs 1 --epochs 2 --batch-size 2 --output o.h5"),
            ArgumentConflict
        );
        assert_eq!(kind("summary m --colour red"), UnknownArgument);
        assert_eq!(kind("frobnicate"), InvalidSubcommand);
        assert_eq!(kind(""), DisplayHelpOnMissingArgumentOrSubcommand);
    }

    #[test]
    fn arrays_may_be_given_once_per_input_and_output() {
        let Command::Predict(a) =
            parse("predict m.keras --input a.npy --output p.npy --input b.npy --output q.npy")
                .unwrap()
                .command
        else {
            panic!("not predict")
        };
        assert_eq!(a.input, ["a.npy", "b.npy"]);
        assert_eq!(a.output, ["p.npy", "q.npy"]);
        assert_eq!(a.batch_size, 32);
        assert_eq!(
            parse("evaluate m --x a").unwrap_err().kind(),
            clap::error::ErrorKind::MissingRequiredArgument
        );
    }
}
