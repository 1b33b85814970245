//! Data preprocessing before `fit`, laid out as Keras's `keras.preprocessing` (and the legacy
//! `keras._legacy.preprocessing` tools): [`image`] (files, resizing, augmentation,
//! `ImageDataGenerator`), [`text`] tokenization, [`sequence`] padding and windowing, [`timeseries`]
//! datasets.
//!
//! Submodules:
//! - `image`: Images outside the model (`keras.preprocessing.image` / `keras.utils` image helpers)
//! - `sequence`: Sequence preprocessing
//! - `skipgrams`: Word2vec-style sampling (tf-keras `keras.preprocessing.sequence`)
//! - `text`: Text preprocessing
//! - `timeseries`: `keras.utils.timeseries_dataset_from_array`

pub mod image;
pub mod sequence;
pub mod skipgrams;
pub mod text;
pub mod timeseries;

pub use sequence::{pad_sequences, pad_sequences_nd, PadSequencesArgs, SequenceValue, TimeseriesGenerator};
pub use skipgrams::{make_sampling_table, skipgrams, Skipgrams, SkipgramsArgs};
pub use text::{hashing_trick, one_hot, text_to_word_sequence, tokenizer_from_json, HashFunction, Tokenizer};
pub use timeseries::{timeseries_dataset_from_array, TimeseriesDataset, TimeseriesDatasetArgs};
