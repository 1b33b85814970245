//! The engine's error type.

use std::fmt;

/// An error from an engine operation: always a caller's mistake (shapes, dtypes, arguments),
/// never a panic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EngineError {
    message: String,
}

impl EngineError {
    /// An error with the given message.
    pub fn new(message: impl Into<String>) -> Self {
        Self { message: message.into() }
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for EngineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for EngineError {}

/// Engine result.
pub type Result<T> = std::result::Result<T, EngineError>;

/// Returns early with an [`EngineError`] built by `format!`.
#[macro_export]
macro_rules! bail {
    ($($arg:tt)*) => {
        return Err($crate::EngineError::new(format!($($arg)*)))
    };
}
