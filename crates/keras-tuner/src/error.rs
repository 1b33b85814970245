//! The error type of keras-tuner. Its kinds follow the Python exceptions keras-tuner raises
//! (`ValueError`, `TypeError`, `KeyError`, `RuntimeError`) and its own `errors` module
//! (`FailedTrialError`, `FatalError`), because the search treats them differently: a trial
//! whose build or fit returns [`Error::FailedTrial`] is failed at once, a [`Error::Fatal`]
//! one stops the search, any other error makes the trial `INVALID` (retried up to
//! `max_retries_per_trial` times, then `FAILED`).

use crate::from_impls::from_impls;
use std::fmt;

/// Every fallible keras-tuner call returns this; the message is keras-tuner's where it has one.
#[derive(Clone, Debug, PartialEq)]
pub enum Error {
    /// A bad argument or value (Python `ValueError`): min greater than max, an empty
    /// `Choice`, an unknown objective name, a reload of a different project.
    Value(String),
    /// A value of the wrong type (Python `TypeError`): a `Choice` of mixed types.
    Type(String),
    /// A hyperparameter that does not exist (Python `KeyError`).
    Key(String),
    /// A state the search cannot go on from (Python `RuntimeError`): too many consecutive
    /// failed trials, a project that cannot be reloaded.
    Runtime(String),
    /// Marks the current trial `FAILED` without retries (keras-tuner `FailedTrialError`).
    FailedTrial(String),
    /// Stops the whole search (keras-tuner `FatalError`).
    Fatal(String),
    /// An error from keras (building, compiling or training a model).
    Keras(keras::Error),
    /// A project file that cannot be read or written.
    Io(String),
}

impl Error {
    /// The message without the kind.
    pub fn message(&self) -> &str {
        match self {
            Error::Value(m)
            | Error::Type(m)
            | Error::Key(m)
            | Error::Runtime(m)
            | Error::FailedTrial(m)
            | Error::Fatal(m)
            | Error::Io(m) => m,
            Error::Keras(e) => e.message(),
        }
    }

    /// The Python exception name keras-tuner would raise (used in trial messages).
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Value(_) => "ValueError",
            Error::Type(_) => "TypeError",
            Error::Key(_) => "KeyError",
            Error::Runtime(_) => "RuntimeError",
            Error::FailedTrial(_) => "FailedTrialError",
            Error::Fatal(_) => "FatalError",
            Error::Keras(_) => "KerasError",
            Error::Io(_) => "OSError",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for Error {}

from_impls!(Error {
    keras::Error => |e| Error::Keras(e),
    keras_engine::EngineError => |e| Error::Keras(e.into()),
    std::io::Error => |e| Error::Io(e.to_string()),
});

/// keras-tuner result.
pub type Result<T> = std::result::Result<T, Error>;

macro_rules! bail {
    ($kind:ident, $($arg:tt)*) => {
        return Err($crate::Error::$kind(format!($($arg)*)))
    };
}
pub(crate) use bail;
