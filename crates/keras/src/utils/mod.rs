//! Utilities: progress bar, summary table, numerical helpers.

pub mod numerical;
pub mod progbar;
pub mod summary;

pub use keras_engine::set_random_seed;
pub use numerical::to_categorical;
