//! Images outside the model (`keras.preprocessing.image` / `keras.utils` image helpers):
//! image files, resizing with TensorFlow's numerics, affine transforms, random augmentations,
//! `ImageDataGenerator` and its iterators.
//!
//! Images are float32 tensors in channels-last layout: `(height, width, channels)` for one
//! image, `(batch, height, width, channels)` for a batch.
//!
//! Submodules:
//! - `affine`: `keras.ops.image.affine_transform` with TensorFlow's numerics (`ImageProjectiveTransformV3`)
//! - `augment`: Random augmentations of one image, as the functions of Keras's legacy `keras.preprocessing.image` (`random_rotation`, `random_shift`, `random_shear`, `random_zoom`, `random_channel_shift`, `random_brightness`, `apply_affine_transform`, `flip_axis`) plus `random_crop`, `random_contrast` and `random_flip`
//! - `image_data_generator`: `ImageDataGenerator` (Keras's legacy `keras.preprocessing.image.ImageDataGenerator`)
//! - `images`: A checked, flat NHWC float view of a rank-3 `(h, w, c)` or rank-4 `(n, h, w, c)` tensor, the working form of every image function here
//! - `io`: Image files
//! - `iterators`: The batch sources of `ImageDataGenerator`
//! - `resize`: Image resizing with TensorFlow's numerics (`keras.ops.image.resize` on the TensorFlow backend), `smart_resize` and `center_crop`

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
    LoadImgArgs, PilInterpolation,
};
pub use iterators::{ClassMode, DirectoryIterator, FlowArgs, NumpyArrayIterator, Subset};
pub use keras_engine::Rng;
pub use resize::{center_crop, resize, smart_resize, Interpolation, ResizeArgs};
