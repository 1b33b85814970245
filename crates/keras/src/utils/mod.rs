//! Utilities: progress bar, summary table, numerical helpers, the `Sequence` data source.

pub mod numerical;
pub mod progbar;
pub mod sequence;
pub mod summary;

pub use keras_engine::set_random_seed;
pub use numerical::to_categorical;
pub use sequence::{Batch, Sequence};
