//! Text preprocessing: the legacy `Tokenizer` with tf-keras semantics, `text_to_word_sequence`,
//! `hashing_trick`, and the byte-level entry points that reject invalid UTF-8.
//!
//! Submodules:
//! - `hashing`: `hashing_trick` and `one_hot` (tf-keras `keras.preprocessing.text`), with the hash functions Keras uses
//! - `tokenizer`: The legacy `keras.preprocessing.text.Tokenizer` with tf-keras semantics (the spec

pub mod hashing;
pub mod tokenizer;

pub use hashing::{hashing_trick, one_hot, python_str_hash, HashFunction};
pub use tokenizer::{decode_utf8, text_to_word_sequence, tokenizer_from_json, Tokenizer, DEFAULT_FILTERS};
