//! Utilities: `get_file` (downloads into the Keras cache), progress bar, summary table,
//! numerical helpers, the `Sequence` data source, datasets from folders of images or texts,
//! model plots (`plot_model`).
//!
//! Submodules:
//! - `dataset_utils`: Indexing a folder of class sub-folders (Keras `keras/src/utils/dataset_utils.py`)
//! - `file_utils`: `keras.utils.get_file` and its helpers (`keras/src/utils/file_utils.py`)
//! - `http`: The HTTP(S) GET behind [`get_file`], doing what Python's `urllib.request.urlretrieve` does for Keras
//! - `image_dataset_utils`: `keras.utils.image_dataset_from_directory`
//! - `numerical`: Numerical helpers (`keras.utils.to_categorical`, `keras.utils.normalize`)
//! - `plot_model`: `keras.utils.plot_model` and `keras.utils.model_to_dot`
//! - `progbar`: Keras 3 `Progbar` (`keras/src/utils/progbar.py`), as driven by `ProgbarLogger` during `fit` / `evaluate` / `predict`
//! - `python_random`: CPython's `random` module generator (MT19937 with Python's seeding, `random()`, `getrandbits`, `randint`, `shuffle`), so tf-keras helpers that draw from it (`skipgrams`) give the same results as in Python for the same seed
//! - `python_repr`: Python's `repr` of config values, as Keras's error messages show them
//! - `sequence`: `keras.utils.Sequence` / `PyDataset`
//! - `summary`: Text rendering of `model.summary()`, byte for byte as Keras 3 prints it
//! - `text_dataset_utils`: `keras.utils.text_dataset_from_directory`

pub(crate) mod config_args;
pub mod dataset_utils;
pub mod file_utils;
mod http;
pub mod image_dataset_utils;
pub mod numerical;
pub mod plot_model;
pub mod progbar;
pub mod python_random;
pub mod python_repr;
pub mod sequence;
pub mod summary;
pub mod text_dataset_utils;
pub(crate) mod warnings;

pub use dataset_utils::{DatasetSubset, LabelMode, Labels};
pub use file_utils::{
    extract_archive, get_file, get_file_paths, hash_file, keras_home, validate_file, CachePaths, GetFileArgs,
};
pub use image_dataset_utils::{image_dataset_from_directory, ImageDataset, ImageDatasetArgs};
pub use keras_engine::set_random_seed;
pub use numerical::{normalize, to_categorical};
pub use plot_model::{model_to_dot, plot_model, PlotModelArgs};
pub use sequence::{Batch, Sequence, SequenceExt, WithWorkers};
pub use text_dataset_utils::{text_dataset_from_directory, TextBatch, TextDataset, TextDatasetArgs};
// Keras 3 exposes these under `keras.utils` too.
pub use crate::preprocessing::sequence::{pad_sequences, PadSequencesArgs};
pub use crate::preprocessing::timeseries::{timeseries_dataset_from_array, TimeseriesDatasetArgs};
