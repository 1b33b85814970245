//! Layers and options the Keras application sources need (Dropout `noise_shape`, the
//! ConvNeXt / InceptionResNetV2 helper layers, `name` builders), from a user's side. Their
//! inference numbers and configs are checked against Keras in `merging_attention.rs`
//! (fixtures `layer_scale`, `custom_scale_layer`, `stochastic_depth_inference`,
//! `dropout_noise_shape_inference`); here the training-time randomness and error paths.

use keras::layers::{deserialize, Activation, CallContext, Dropout, Flatten, Layer, StochasticDepth};
use keras::Tensor;
use serde_json::json;

#[test]
fn dropout_noise_shape_broadcasts_the_mask() {
    keras::utils::set_random_seed(1);
    // EfficientNet's per-sample drop: one decision per sample, broadcast over H, W, C.
    let d = Dropout::new(0.5).noise_shape(&[None, Some(1), Some(1), Some(1)]).name("block1a_drop");
    assert_eq!(d.name_of(), "block1a_drop");
    let x = Tensor::ones([64, 2, 2, 3]);
    let y = d.call(&x, &mut CallContext::new(true)).unwrap().to_f32_vec();
    let mut dropped = 0;
    for s in y.chunks(12) {
        assert!(s.iter().all(|&v| v == s[0]), "one decision per sample");
        assert!(s[0] == 0.0 || (s[0] - 2.0).abs() < 1e-6);
        dropped += usize::from(s[0] == 0.0);
    }
    assert!(dropped > 10 && dropped < 54, "{dropped} of 64 samples dropped");
    // Inference is the identity; the config round-trips.
    assert_eq!(d.call(&x, &mut CallContext::new(false)).unwrap().to_f32_vec(), x.to_f32_vec());
    let cfg = d.get_config();
    assert_eq!(cfg["noise_shape"], json!([null, 1, 1, 1]));
    assert_eq!(cfg["rate"], json!(0.5));
    let again = deserialize(&d.serialize()).unwrap();
    assert_eq!(again.get_config(), cfg);
}

#[test]
fn dropout_noise_shape_errors() {
    let d = Dropout::new(0.5).noise_shape(&[None, Some(3)]);
    let e = d.call(&Tensor::ones([2, 4]), &mut CallContext::new(true)).unwrap_err();
    assert!(e.message().contains("noise_shape"), "{e}");
    let e = d.call(&Tensor::ones([2, 4, 1]), &mut CallContext::new(true)).unwrap_err();
    assert!(e.message().contains("cannot be broadcast"), "{e}");
    assert!(Dropout::from_config(&json!({"rate": 0.1, "noise_shape": [null, "a"]})).is_err());
    assert!(Dropout::from_config(&json!({"rate": 0.1, "noise_shape": 3})).is_err());
}

#[test]
fn stochastic_depth_drops_whole_samples_in_training() {
    keras::utils::set_random_seed(2);
    let sd = StochasticDepth::new(0.25).name("stage_0_block_0_stochastic_depth");
    let x = Tensor::ones([200, 3, 2]);
    let y = sd.call(&x, &mut CallContext::new(true)).unwrap().to_f32_vec();
    let mut kept = 0;
    for s in y.chunks(6) {
        assert!(s.iter().all(|&v| v == s[0]));
        assert!(s[0] == 0.0 || (s[0] - 1.0 / 0.75).abs() < 1e-5, "{}", s[0]);
        kept += usize::from(s[0] != 0.0);
    }
    assert!(kept > 120 && kept < 180, "{kept} of 200 kept");
    assert_eq!(sd.call(&x, &mut CallContext::new(false)).unwrap().to_f32_vec(), x.to_f32_vec());
    assert!(StochasticDepth::from_config(&json!({"drop_path_rate": 1.5})).is_err());
    assert!(StochasticDepth::from_config(&json!({})).is_err());
}

#[test]
fn name_builders_set_keras_names() {
    assert_eq!(Activation::new("relu").name("conv1_relu").name_of(), "conv1_relu");
    assert_eq!(Flatten::new().name("flatten_top").name_of(), "flatten_top");
}

/// `Layer::name` by trait, since the builders shadow it on the concrete types.
trait NameOf {
    fn name_of(&self) -> String;
}

impl<L: Layer> NameOf for L {
    fn name_of(&self) -> String {
        Layer::name(self).to_string()
    }
}
