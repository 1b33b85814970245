//! `MaxPooling1D` and `AveragePooling1D` (the 2-D kernels with a height of 1).

use crate::layers::pooling::base_pooling::pooling_layer;

pooling_layer!(
    MaxPooling1D,
    1,
    usize,
    true,
    "max_pooling1d",
    "Max pooling over windows of steps of `(batch, steps, channels)` (Keras `keras.layers.MaxPooling1D`).",
    "let y = MaxPooling1D::new(2).call(&Tensor::new(vec![1.0, 5.0, 3.0, 2.0], [1, 4, 1]).unwrap(), &mut CallContext::new(false)).unwrap();\nassert_eq!(y.as_f32().unwrap(), &[5.0, 3.0]);"
);
pooling_layer!(
    AveragePooling1D,
    1,
    usize,
    false,
    "average_pooling1d",
    "Average pooling over windows of steps (Keras `keras.layers.AveragePooling1D`); with `same` padding each window is divided by its number of valid steps.",
    "let y = AveragePooling1D::new(2).data_format(\"channels_first\").call(&Tensor::new(vec![1.0, 5.0, 3.0, 2.0], [1, 1, 4]).unwrap(), &mut CallContext::new(false)).unwrap();\nassert_eq!(y.as_f32().unwrap(), &[3.0, 2.5]);"
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::layer::{check_pending, CallContext, Layer};
    use crate::Tensor;
    use serde_json::json;

    #[test]
    fn pooling1d_values_and_errors() {
        let x = Tensor::new(vec![1.0, 5.0, 3.0, 2.0, 4.0], [1, 5, 1]).unwrap();
        let mut ctx = CallContext::new(false);
        assert_eq!(MaxPooling1D::new(2).call(&x, &mut ctx).unwrap().as_f32().unwrap(), &[5.0, 3.0]);
        let avg = AveragePooling1D::new(2).padding("same");
        assert_eq!(avg.call(&x, &mut ctx).unwrap().as_f32().unwrap(), &[3.0, 2.5, 4.0]);
        assert!(check_pending(&MaxPooling1D::new(0)).is_err());
        assert!(check_pending(&MaxPooling1D::new(2).strides(0)).is_err());
        assert!(check_pending(&MaxPooling1D::new(2).padding("full")).is_err());
        assert!(MaxPooling1D::new(6).call(&x, &mut ctx).is_err());
        assert!(MaxPooling1D::new(2).call(&Tensor::zeros([5, 1]), &mut ctx).is_err());
        let cfg = json!({"name": "p", "pool_size": [3], "strides": [1], "padding": "same", "data_format": "channels_last"});
        let l = AveragePooling1D::from_config(&cfg).unwrap();
        assert_eq!(l.get_config()["strides"], json!([1]));
        assert_eq!(Layer::name(&l), "p");
        assert!(AveragePooling1D::from_config(&json!({"pool_size": [0]})).is_err());
    }

    #[test]
    fn pooling1d_channels_first() {
        // (batch 1, channels 2, steps 4)
        let x = Tensor::new(vec![1.0, 5.0, 3.0, 2.0, -1.0, 0.0, 4.0, 8.0], [1, 2, 4]).unwrap();
        let mut ctx = CallContext::new(false);
        let max = MaxPooling1D::new(2).data_format("channels_first");
        let y = max.call(&x, &mut ctx).unwrap();
        assert_eq!((y.shape(), y.as_f32().unwrap()), (&[1, 2, 2][..], &[5.0, 3.0, 0.0, 8.0][..]));
        assert_eq!(
            max.compute_output_shape(&[None, Some(2), Some(9)]).unwrap(),
            vec![None, Some(2), Some(4)]
        );
        let cfg = max.get_config();
        assert_eq!(cfg["data_format"], "channels_first");
        assert_eq!(MaxPooling1D::from_config(&cfg).unwrap().get_config(), cfg);
        let e = check_pending(&MaxPooling1D::new(2).data_format("nwc")).unwrap_err().to_string();
        assert!(e.contains("The `data_format` argument must be one of"), "{e}");
        assert!(MaxPooling1D::from_config(&json!({"data_format": "nwc"})).is_err());
    }
}
