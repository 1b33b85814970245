//! Images outside the model (`keras.preprocessing.image` / `keras.utils` image helpers):
//! resizing with TensorFlow's numerics, affine transforms, random augmentations, image files,
//! `ImageDataGenerator` and its iterators.
//!
//! Images are float32 tensors in channels-last layout: `(height, width, channels)` for one
//! image, `(batch, height, width, channels)` for a batch.

pub mod affine;
pub(crate) mod images;
pub mod resize;

pub use affine::{affine_transform, compute_affine_matrix, AffineInterpolation, FillMode};
pub use resize::{center_crop, resize, smart_resize, Interpolation, ResizeOptions};
