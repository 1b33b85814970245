//! Text preprocessing: the legacy `Tokenizer` with tf-keras semantics, `text_to_word_sequence`,
//! `hashing_trick`, and the byte-level entry points that reject invalid UTF-8.

pub mod hashing;
pub mod tokenizer;

pub use hashing::{hashing_trick, one_hot, python_str_hash, HashFunction};
pub use tokenizer::{decode_utf8, text_to_word_sequence, tokenizer_from_json, Tokenizer, DEFAULT_FILTERS};
