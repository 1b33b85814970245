//! Array file formats.
//!
//! Submodules:
//! - `npy`: NumPy `.npy` files (format 1.0-3.0, little-endian `<f4`, `<i4`, `<i8`, `|u1`, C order)

pub mod npy;
