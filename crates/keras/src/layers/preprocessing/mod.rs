//! Preprocessing layers that are part of a model: Rescaling, Normalization, Resizing, TextVectorization,
//! CenterCrop, the random image augmentations (active only when `training` is true), and the
//! categorical layers (CategoryEncoding, Discretization, Hashing, IntegerLookup, StringLookup;
//! `encoding` is Keras's shared `encode_categorical_inputs`, `index_lookup` Keras's
//! `IndexLookup`).
//!
//! Submodules:
//! - `category_encoding`: `CategoryEncoding`
//! - `center_crop`: `CenterCrop`
//! - `discretization`: `Discretization`
//! - `encoding`: Keras's `encode_categorical_inputs` (TensorFlow backend)
//! - `farmhash`: FarmHash `Fingerprint64` (farmhashna `Hash64`), the hash behind TensorFlow's `tf.strings.to_hash_bucket_fast`, which Keras's `Hashing` and the lookup layers' OOV buckets use
//! - `hashing`: `Hashing`
//! - `image_common`: Pieces shared by the image preprocessing layers
//! - `index_lookup`: Keras's `IndexLookup`, the machinery of `StringLookup` and `IntegerLookup`
//! - `integer_lookup`: `IntegerLookup`
//! - `normalization`: `Normalization`
//! - `random_affine`: The three affine random layers
//! - `random_contrast`: `RandomContrast` and `RandomBrightness`
//! - `random_crop`: `RandomCrop`
//! - `random_flip`: `RandomFlip`
//! - `rescaling`: `Rescaling`
//! - `resizing`: `Resizing`
//! - `string_lookup`: `StringLookup`
//! - `text_vectorization`: `TextVectorization`

pub mod category_encoding;
pub mod center_crop;
pub mod discretization;
pub mod encoding;
pub(crate) mod farmhash;
pub mod hashing;
pub(crate) mod image_common;
pub(crate) mod index_lookup;
pub mod integer_lookup;
pub mod normalization;
pub mod random_affine;
pub mod random_contrast;
pub mod random_crop;
pub mod random_flip;
pub mod rescaling;
pub mod resizing;
pub(crate) mod siphash;
pub mod string_lookup;
pub mod text_vectorization;

pub use category_encoding::CategoryEncoding;
pub use center_crop::CenterCrop;
pub use discretization::Discretization;
pub use encoding::OutputMode;
pub use hashing::Hashing;
pub use integer_lookup::IntegerLookup;
pub use normalization::Normalization;
pub use random_affine::{RandomRotation, RandomTranslation, RandomZoom};
pub use random_contrast::{RandomBrightness, RandomContrast};
pub use random_crop::RandomCrop;
pub use random_flip::RandomFlip;
pub use rescaling::Rescaling;
pub use resizing::Resizing;
pub use string_lookup::StringLookup;
pub use text_vectorization::TextVectorization;
