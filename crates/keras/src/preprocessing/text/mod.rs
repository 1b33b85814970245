//! Text preprocessing: the legacy `Tokenizer` with tf-keras semantics, `text_to_word_sequence`,
//! `hashing_trick`, and the byte-level entry points that reject invalid UTF-8.

pub mod tokenizer;

pub use tokenizer::{decode_utf8, text_to_word_sequence, tokenizer_from_json, Tokenizer, DEFAULT_FILTERS};
