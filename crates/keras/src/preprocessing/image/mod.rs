//! Images outside the model (`keras.preprocessing.image` / `keras.utils` image helpers):
//! image files, resizing with TensorFlow's numerics, affine transforms, random augmentations,
//! `ImageDataGenerator` and its iterators.
//!
//! Images are float32 tensors in channels-last layout: `(height, width, channels)` for one
//! image, `(batch, height, width, channels)` for a batch.

pub mod affine;
pub mod augment;
pub mod image_data_generator;
pub(crate) mod images;
pub mod io;
pub mod iterators;
pub mod resize;

pub use affine::{affine_transform, compute_affine_matrix, AffineInterpolation, FillMode};
pub use augment::{
    apply_affine_transform, apply_brightness_shift, apply_channel_shift, flip_axis, random_brightness,
    random_channel_shift, random_contrast, random_crop, random_flip, random_rotation, random_shear,
    random_shift, random_zoom, AffineParams,
};
pub use image_data_generator::{ImageDataGenerator, PreprocessingFunction, ShiftRange, TransformParams};
pub use io::{
    array_to_img, img_to_array, load_img, load_img_from_memory, save_img, ColorMode, DynamicImage,
    LoadImgOptions, PilInterpolation,
};
pub use iterators::{ClassMode, DirectoryIterator, FlowOptions, NumpyArrayIterator, Subset};
pub use keras_engine::Rng;
pub use resize::{center_crop, resize, smart_resize, Interpolation, ResizeOptions};
