//! `MaxPooling2D` and `AveragePooling2D` over images.

use crate::layers::pooling::base_pooling::pooling_layer;

pooling_layer!(
    MaxPooling2D,
    2,
    [usize; 2],
    true,
    "max_pooling2d",
    "Max pooling over 2-D windows of images (Keras `keras.layers.MaxPooling2D`).",
    "let y = MaxPooling2D::new([2, 2]).call(&Tensor::ones([1, 4, 4, 3]), &mut CallContext::new(false)).unwrap();\nassert_eq!(y.shape(), &[1, 2, 2, 3]);"
);
pooling_layer!(
    AveragePooling2D,
    2,
    [usize; 2],
    false,
    "average_pooling2d",
    "Average pooling over 2-D windows of images (Keras `keras.layers.AveragePooling2D`); with `same` padding each window is divided by its number of valid elements.",
    "let pool = AveragePooling2D::new([2, 2]).padding(\"same\").data_format(\"channels_first\");\nlet y = pool.call(&Tensor::ones([1, 3, 5, 5]), &mut CallContext::new(false)).unwrap();\nassert_eq!(y.shape(), &[1, 3, 3, 3]);"
);

impl MaxPooling2D {
    /// Whether the layer is 2x2 max pooling with stride 2, `valid` padding and channels last,
    /// the pooling that Sequential's inference fuses into a Winograd convolution before it
    /// (`keras_engine::ops::conv2d_maxpool2_inference`).
    pub(crate) fn halves_channels_last(&self) -> bool {
        self.0.halves_channels_last()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::layer::{CallContext, Layer};
    use crate::Tensor;

    #[test]
    fn pooling2d_channels_first_matches_transposed_channels_last() {
        let x =
            Tensor::new((0..2 * 3 * 4 * 5).map(|v| ((v * 7) % 11) as f32).collect(), [2, 3, 4, 5]).unwrap();
        let mut ctx = CallContext::new(false);
        let first =
            AveragePooling2D::new([2, 3]).strides([1, 2]).padding("same").data_format("channels_first");
        let last = AveragePooling2D::new([2, 3]).strides([1, 2]).padding("same");
        let y = first.call(&x, &mut ctx).unwrap();
        let x_last = keras_engine::ops::transpose(&x, &[0, 2, 3, 1]).unwrap();
        let want =
            keras_engine::ops::transpose(&last.call(&x_last, &mut ctx).unwrap(), &[0, 3, 1, 2]).unwrap();
        assert_eq!(y.shape(), &[2, 3, 4, 3]);
        assert_eq!(y.as_f32().unwrap(), want.as_f32().unwrap());
        let s = first.compute_output_shape(&[None, Some(3), Some(4), Some(5)]).unwrap();
        assert_eq!(s, vec![None, Some(3), Some(4), Some(3)]);
        let cfg = first.get_config();
        assert_eq!(MaxPooling2D::from_config(&cfg).unwrap().get_config()["data_format"], "channels_first");
    }
}
