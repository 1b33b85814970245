//! `MaxPooling3D` and `AveragePooling3D` over volumes (the engine's `pool3d`).

use crate::layers::pooling::base_pooling::pooling_layer;

pooling_layer!(
    MaxPooling3D,
    3,
    [usize; 3],
    true,
    "max_pooling3d",
    "Max pooling over 3-D windows of volumes (Keras `keras.layers.MaxPooling3D`).",
    "let pool = MaxPooling3D::new([2, 2, 2]).strides([1, 2, 2]).padding(\"same\");\nlet y = pool.call(&Tensor::ones([1, 3, 4, 4, 2]), &mut CallContext::new(false)).unwrap();\nassert_eq!(y.shape(), &[1, 3, 2, 2, 2]);"
);
pooling_layer!(
    AveragePooling3D,
    3,
    [usize; 3],
    false,
    "average_pooling3d",
    "Average pooling over 3-D windows of volumes (Keras `keras.layers.AveragePooling3D`); with `same` padding each window is divided by its number of valid elements.",
    "let pool = AveragePooling3D::new([2, 2, 2]).data_format(\"channels_first\");\nlet y = pool.call(&Tensor::ones([1, 2, 4, 4, 6]), &mut CallContext::new(false)).unwrap();\nassert_eq!(y.shape(), &[1, 2, 2, 2, 3]);"
);
