//! Preprocessing layers that are part of a model: Rescaling, Normalization, Resizing, TextVectorization,
//! CenterCrop, the random image augmentations (active only when `training` is true), and the
//! categorical layers (CategoryEncoding, Discretization, Hashing, IntegerLookup, StringLookup;
//! `encoding` is Keras's shared `encode_categorical_inputs`, `index_lookup` Keras's
//! `IndexLookup`).
//!
//! Submodules:
//! - `auto_contrast`: `AutoContrast`
//! - `category_encoding`: `CategoryEncoding`
//! - `center_crop`: `CenterCrop`
//! - `color`: Pieces shared by the color augmentation layers (value ranges, RGB/HSV/grey, `factor_layer!`)
//! - `discretization`: `Discretization`
//! - `equalization`: `Equalization`
//! - `encoding`: Keras's `encode_categorical_inputs` (TensorFlow backend)
//! - `farmhash`: FarmHash `Fingerprint64` (farmhashna `Hash64`), the hash behind TensorFlow's `tf.strings.to_hash_bucket_fast`, which Keras's `Hashing` and the lookup layers' OOV buckets use
//! - `hashed_crossing`: `HashedCrossing` (feature crosses with TensorFlow's `cross_hashed`)
//! - `hashing`: `Hashing`
//! - `image_common`: Pieces shared by the image preprocessing layers
//! - `index_lookup`: Keras's `IndexLookup`, the machinery of `StringLookup` and `IntegerLookup`
//! - `integer_lookup`: `IntegerLookup`
//! - `normalization`: `Normalization`
//! - `random_affine`: The three affine random layers
//! - `random_color_degeneration`: `RandomColorDegeneration`
//! - `random_contrast`: `RandomContrast` and `RandomBrightness`
//! - `random_crop`: `RandomCrop`
//! - `random_erasing`: `RandomErasing`
//! - `random_flip`: `RandomFlip`
//! - `random_gaussian_blur`: `RandomGaussianBlur`
//! - `random_grayscale`: `RandomGrayscale`
//! - `random_hue`: `RandomHue`
//! - `random_invert`: `RandomInvert`
//! - `random_perspective`: `RandomPerspective`
//! - `random_posterization`: `RandomPosterization`
//! - `random_saturation`: `RandomSaturation`
//! - `random_sharpness`: `RandomSharpness`
//! - `random_shear`: `RandomShear`
//! - `rescaling`: `Rescaling`
//! - `solarization`: `Solarization`
//! - `resizing`: `Resizing`
//! - `string_lookup`: `StringLookup`
//! - `text_vectorization`: `TextVectorization`
//! - `mixing`: Pieces shared by the layers that mix images (Beta draws, `LabelMix`)
//! - `mix_up`: `MixUp`
//! - `cut_mix`: `CutMix`
//! - `random_color_jitter`: `RandomColorJitter`
//! - `augment_ops`: The operations RandAugment and AugMix draw from (`AugmentOp`)
//! - `rand_augment`: `RandAugment`
//! - `aug_mix`: `AugMix`
//! - `pipeline`: `Pipeline`
//! - `random_elastic_transform`: `RandomElasticTransform`
//! - `clahe`: `ContrastLimitedAdaptiveHistogramEqualization`
//! - `max_num_bounding_boxes`: `MaxNumBoundingBoxes`
//! - `audio_common`: the audio layers' shared `window` builders and `from_config`
//! - `signal`: Window functions, STFT kernels, FFT, `stft`, the mel filter bank (the audio layers' maths)
//! - `stft_spectrogram`: `STFTSpectrogram`
//! - `mel_spectrogram`: `MelSpectrogram`

pub mod auto_contrast;
pub mod category_encoding;
pub mod center_crop;
pub(crate) mod color;
pub mod discretization;
pub mod encoding;
pub mod equalization;
pub(crate) mod farmhash;
pub mod hashed_crossing;
pub mod hashing;
pub(crate) mod image_common;
pub(crate) mod index_lookup;
pub mod integer_lookup;
pub mod normalization;
pub mod random_affine;
pub mod random_color_degeneration;
pub mod random_contrast;
pub mod random_crop;
pub mod random_erasing;
pub mod random_flip;
pub mod random_gaussian_blur;
pub mod random_grayscale;
pub mod random_hue;
pub mod random_invert;
pub mod random_perspective;
pub mod random_posterization;
pub mod random_saturation;
pub mod random_sharpness;
pub mod random_shear;
pub mod rescaling;
pub mod resizing;
pub(crate) mod siphash;
pub mod solarization;
pub mod string_lookup;
pub mod text_vectorization;

pub use auto_contrast::AutoContrast;
pub use category_encoding::CategoryEncoding;
pub use center_crop::CenterCrop;
pub use discretization::Discretization;
pub use encoding::OutputMode;
pub use equalization::Equalization;
pub use hashed_crossing::{CrossColumn, HashedCrossing};
pub use hashing::Hashing;
pub use integer_lookup::IntegerLookup;
pub use normalization::Normalization;
pub use random_affine::{RandomRotation, RandomTranslation, RandomZoom};
pub use random_color_degeneration::RandomColorDegeneration;
pub use random_contrast::{RandomBrightness, RandomContrast};
pub use random_crop::RandomCrop;
pub use random_erasing::RandomErasing;
pub use random_flip::RandomFlip;
pub use random_gaussian_blur::RandomGaussianBlur;
pub use random_grayscale::RandomGrayscale;
pub use random_hue::RandomHue;
pub use random_invert::RandomInvert;
pub use random_perspective::RandomPerspective;
pub use random_posterization::RandomPosterization;
pub use random_saturation::RandomSaturation;
pub use random_sharpness::RandomSharpness;
pub use random_shear::RandomShear;
pub use rescaling::Rescaling;
pub use resizing::Resizing;
pub use solarization::Solarization;
pub use string_lookup::StringLookup;
pub use text_vectorization::TextVectorization;

// augment: the mixing and composite augmentation layers.
pub mod aug_mix;
pub mod augment_ops;
pub mod cut_mix;
pub mod mix_up;
pub mod mixing;
pub mod pipeline;
pub mod rand_augment;
pub mod random_color_jitter;
pub use aug_mix::AugMix;
pub use augment_ops::AugmentOp;
pub use cut_mix::{CutMix, CutMixTransformation};
pub use mix_up::MixUp;
pub use mixing::LabelMix;
pub use pipeline::Pipeline;
pub use rand_augment::RandAugment;
pub use random_color_jitter::{ColorJitterParams, RandomColorJitter};

// imgmore: the last Keras image layers.
pub mod random_elastic_transform;
pub use random_elastic_transform::RandomElasticTransform;
pub mod clahe;
pub use clahe::ContrastLimitedAdaptiveHistogramEqualization;
pub mod max_num_bounding_boxes;
pub use max_num_bounding_boxes::MaxNumBoundingBoxes;
// signal: the audio layers and their signal maths.
mod audio_common;
pub mod mel_spectrogram;
pub mod signal;
pub mod stft_spectrogram;
pub use mel_spectrogram::MelSpectrogram;
pub use stft_spectrogram::STFTSpectrogram;
