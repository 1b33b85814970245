//! Utilities: progress bar, summary table, numerical helpers, the `Sequence` data source.

pub mod numerical;
pub mod progbar;
pub mod sequence;
pub mod summary;

pub use keras_engine::set_random_seed;
pub use numerical::{normalize, to_categorical};
pub use sequence::{Batch, Sequence};
// Keras 3 exposes these under `keras.utils` too.
pub use crate::preprocessing::sequence::{pad_sequences, PadSequencesArgs};
pub use crate::preprocessing::timeseries::{timeseries_dataset_from_array, TimeseriesDatasetArgs};
