//! Data preprocessing before `fit`, laid out as Keras's `keras.preprocessing` (and the legacy
//! `keras._legacy.preprocessing` tools): [`image`] (files, resizing, augmentation,
//! `ImageDataGenerator`), [`text`] tokenization, [`sequence`] padding and windowing, [`timeseries`]
//! datasets.

pub mod image;
pub mod sequence;
pub mod text;
pub mod timeseries;

pub use sequence::{pad_sequences, PadSequencesArgs, SequenceValue, TimeseriesGenerator};
pub use text::{text_to_word_sequence, tokenizer_from_json, Tokenizer};
pub use timeseries::{timeseries_dataset_from_array, TimeseriesDataset, TimeseriesDatasetArgs};
