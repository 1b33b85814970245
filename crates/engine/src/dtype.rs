//! Element types.

use std::fmt;

/// The element type of a [`crate::Tensor`]. `F32` is the compute type; integer types carry
/// labels, token ids and indices (never smuggled through floats).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DType {
    /// 32-bit float.
    F32,
    /// 32-bit signed integer.
    I32,
    /// 64-bit signed integer.
    I64,
}

impl DType {
    /// The Keras / NumPy name: `float32`, `int32`, `int64`.
    pub fn name(self) -> &'static str {
        match self {
            DType::F32 => "float32",
            DType::I32 => "int32",
            DType::I64 => "int64",
        }
    }

    /// Parses a Keras / NumPy dtype name.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "float32" => Some(DType::F32),
            "int32" => Some(DType::I32),
            "int64" => Some(DType::I64),
            _ => None,
        }
    }

    /// Size of one element in bytes.
    pub fn size(self) -> usize {
        match self {
            DType::F32 | DType::I32 => 4,
            DType::I64 => 8,
        }
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
