//! Utilities: `get_file` (downloads into the Keras cache), progress bar, summary table,
//! numerical helpers, the `Sequence` data source, datasets from folders of images or texts,
//! model plots (`plot_model`).

pub mod dataset_utils;
pub mod file_utils;
mod http;
pub mod image_dataset_utils;
pub mod numerical;
pub mod plot_model;
pub mod progbar;
pub mod python_random;
pub mod sequence;
pub mod summary;
pub mod text_dataset_utils;

pub use dataset_utils::{DatasetSubset, LabelMode, Labels};
pub use file_utils::{
    extract_archive, get_file, get_file_paths, hash_file, keras_home, validate_file, CachePaths, GetFileArgs,
};
pub use image_dataset_utils::{image_dataset_from_directory, ImageDataset, ImageDatasetOptions};
pub use keras_engine::set_random_seed;
pub use numerical::{normalize, to_categorical};
pub use plot_model::{model_to_dot, plot_model, PlotModelOptions};
pub use sequence::{Batch, Sequence, SequenceExt, WithWorkers};
pub use text_dataset_utils::{text_dataset_from_directory, TextBatch, TextDataset, TextDatasetOptions};
// Keras 3 exposes these under `keras.utils` too.
pub use crate::preprocessing::sequence::{pad_sequences, PadSequencesArgs};
pub use crate::preprocessing::timeseries::{timeseries_dataset_from_array, TimeseriesDatasetArgs};
