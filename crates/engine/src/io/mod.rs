//! Array file formats.
//!
//! Submodules:
//! - `npy`: NumPy `.npy` files (format 1.0-3.0, little-endian, C order; float16 and float64
//!   are read as float32)

pub mod npy;
