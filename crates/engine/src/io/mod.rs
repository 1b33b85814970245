//! Array file formats.

pub mod npy;
