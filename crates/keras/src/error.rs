//! The one error type of keras-rs.

use std::fmt;

/// Every fallible keras-rs call returns this. The message says what Keras would say: the
/// layer or argument, and the expected and received values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// An argument Keras rejects (negative units, unknown padding, an unknown string name).
    InvalidArgument(String),
    /// Data or tensors whose shape does not fit (the model's input, labels, x vs y).
    Shape(String),
    /// Values out of range (a label outside the classes, an empty dataset).
    Value(String),
    /// A call made in the wrong state (fit before compile, weights of an unbuilt layer).
    State(String),
    /// A configuration (JSON) that cannot be read.
    Config(String),
    /// A file that cannot be read or written.
    Io(String),
    /// An error raised by the tensor engine.
    Engine(String),
}

impl Error {
    /// The message without the kind.
    pub fn message(&self) -> &str {
        match self {
            Error::InvalidArgument(m)
            | Error::Shape(m)
            | Error::Value(m)
            | Error::State(m)
            | Error::Config(m)
            | Error::Io(m)
            | Error::Engine(m) => m,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for Error {}

impl From<keras_engine::EngineError> for Error {
    fn from(e: keras_engine::EngineError) -> Self {
        Error::Engine(e.message().to_string())
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(e.to_string())
    }
}

/// keras-rs result.
pub type Result<T> = std::result::Result<T, Error>;

/// `return Err(Error::$kind(format!(...)))`.
#[macro_export]
macro_rules! keras_bail {
    ($kind:ident, $($arg:tt)*) => {
        return Err($crate::Error::$kind(format!($($arg)*)))
    };
}
