//! Data preprocessing outside the model, laid out as Keras's `keras.preprocessing`:
//! [`image`] (files, resizing, augmentation, `ImageDataGenerator`).

pub mod image;
