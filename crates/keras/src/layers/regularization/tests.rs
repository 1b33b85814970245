//! Tests of the noise / regularization layers: inference is the identity, training applies
//! the Keras noise with the right statistics and mask shapes, configs match Keras, and
//! invalid arguments are errors.

use keras_engine::GradientTape;
use serde_json::{json, Value};

use super::*;
use crate::layers::{self, CallContext, Layer};
use crate::models::Sequential;
use crate::Tensor;

fn stats(v: &[f32]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().map(|&x| x as f64).sum::<f64>() / n;
    let var = v.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n;
    (mean, var.sqrt())
}

fn ramp(shape: &[usize]) -> Tensor {
    let n: usize = shape.iter().product();
    Tensor::new((0..n).map(|i| 1.0 + (i % 13) as f32 * 0.25).collect(), shape.to_vec()).unwrap()
}

fn normal(n: usize, seed: u64) -> Tensor {
    let mut r = keras_engine::Rng::new(seed);
    Tensor::new((0..n).map(|_| r.normal_f64() as f32).collect(), [n]).unwrap()
}

fn round_trip(l: &dyn Layer) {
    let back = layers::deserialize(&l.serialize()).unwrap();
    assert_eq!(back.class_name(), l.class_name());
    assert_eq!(back.get_config(), l.get_config());
    assert!(l.serialize().get("build_config").is_none());
}

fn add_err<L: Layer>(l: L) -> bool {
    Sequential::new().add(l).is_err()
}

#[test]
fn spatial_dropout_1d_drops_whole_channels() {
    let l = SpatialDropout1D::new(0.5).seed(3).name("sd");
    let x = ramp(&[8, 5, 6]);
    assert_eq!(l.call(&x, &mut CallContext::new(false)).unwrap().to_f32_vec(), x.to_f32_vec());
    let y = l.call(&x, &mut CallContext::new(true)).unwrap().to_f32_vec();
    let xs = x.to_f32_vec();
    let (mut dropped, mut kept) = (0, 0);
    for b in 0..8 {
        for c in 0..6 {
            let ratios: Vec<f32> = (0..5).map(|t| y[(b * 5 + t) * 6 + c] / xs[(b * 5 + t) * 6 + c]).collect();
            assert!(ratios.iter().all(|&r| (r - ratios[0]).abs() < 1e-5), "{ratios:?}");
            assert!(ratios[0] == 0.0 || (ratios[0] - 2.0).abs() < 1e-6);
            if ratios[0] == 0.0 {
                dropped += 1
            } else {
                kept += 1
            }
        }
    }
    assert!(dropped > 0 && kept > 0);
    assert_eq!(l.get_config(), json!({"rate": 0.5, "seed": 3, "name": "sd", "dtype": "float32"}));
    round_trip(&l);
    assert!(l.call(&ramp(&[2, 3]), &mut CallContext::new(true)).is_err());
    assert!(l.compute_output_shape(&[None, Some(3)]).is_err());
    assert!(add_err(SpatialDropout1D::new(-0.1)));
    assert!(add_err(SpatialDropout1D::new(1.5)));
    let one = SpatialDropout1D::new(1.0);
    assert!(one.call(&x, &mut CallContext::new(true)).is_err());
    assert_eq!(one.call(&x, &mut CallContext::new(false)).unwrap().to_f32_vec(), xs);
}

#[test]
fn spatial_dropout_2d_and_3d_mask_shapes() {
    let x = ramp(&[4, 3, 3, 5]);
    let xs = x.to_f32_vec();
    let last = SpatialDropout2D::new(0.4).seed(1);
    let y = last.call(&x, &mut CallContext::new(true)).unwrap().to_f32_vec();
    for b in 0..4 {
        for c in 0..5 {
            let r0 = y[b * 45 + c] / xs[b * 45 + c];
            for p in 0..9 {
                assert!((y[b * 45 + p * 5 + c] / xs[b * 45 + p * 5 + c] - r0).abs() < 1e-5);
            }
        }
    }
    let first = SpatialDropout2D::new(0.4).seed(1).data_format("channels_first");
    let y = first.call(&x, &mut CallContext::new(true)).unwrap().to_f32_vec();
    for bc in 0..12 {
        let r0 = y[bc * 15] / xs[bc * 15];
        for p in 0..15 {
            assert!((y[bc * 15 + p] / xs[bc * 15 + p] - r0).abs() < 1e-5);
        }
    }
    assert_eq!(first.get_config()["data_format"], "channels_first");
    assert_eq!(last.get_config()["data_format"], "channels_last");
    round_trip(&first);
    assert!(add_err(SpatialDropout2D::new(0.1).data_format("nchw")));
    let l3 = SpatialDropout3D::new(0.5);
    assert!(l3.call(&x, &mut CallContext::new(true)).is_err());
    let x5 = ramp(&[2, 2, 2, 2, 3]);
    assert_eq!(l3.call(&x5, &mut CallContext::new(true)).unwrap().shape(), &[2, 2, 2, 2, 3]);
    round_trip(&l3);
}

#[test]
fn gaussian_noise_adds_noise_only_in_training() {
    let l = GaussianNoise::new(0.3).seed(5).name("gn");
    let x = Tensor::zeros(vec![200, 250]);
    assert_eq!(l.call(&x, &mut CallContext::new(false)).unwrap().to_f32_vec(), x.to_f32_vec());
    let y = l.call(&x, &mut CallContext::new(true)).unwrap().to_f32_vec();
    let (mean, std) = stats(&y);
    assert!(mean.abs() < 4.0 * 0.3 / (50_000f64).sqrt(), "{mean}");
    assert!((std / 0.3 - 1.0).abs() < 0.02, "{std}");
    // Seeded layers repeat their stream from a fresh layer.
    let again = GaussianNoise::new(0.3).seed(5).call(&x, &mut CallContext::new(true)).unwrap();
    assert_eq!(again.to_f32_vec(), y);
    // The layer's stream moves on: its next call draws new noise.
    assert_ne!(l.call(&x, &mut CallContext::new(true)).unwrap().to_f32_vec(), y);
    // The gradient passes through unchanged.
    let xi = ramp(&[3, 4]).requiring_grad();
    let tape = GradientTape::new();
    let out = l.call(&xi, &mut CallContext::new(true)).unwrap();
    let s = keras_engine::ops::sum_all(&out).unwrap();
    let g = tape.gradient(&s, &[&xi]).unwrap()[0].clone().unwrap();
    assert_eq!(g.to_f32_vec(), vec![1.0; 12]);
    let cfg = l.get_config();
    assert_eq!(cfg["stddev"], 0.3);
    assert_eq!(cfg["seed"], 5);
    assert_eq!(
        cfg.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["name", "trainable", "dtype", "stddev", "seed"]
    );
    round_trip(&l);
    assert!(add_err(GaussianNoise::new(-0.1)));
    assert!(add_err(GaussianNoise::new(1.5)));
    assert!(GaussianNoise::from_config(&json!({"stddev": "x"})).is_err());
}

#[test]
fn gaussian_dropout_multiplies_by_unit_mean_noise() {
    let rate = 0.2f32;
    let l = GaussianDropout::new(rate).seed(9);
    let x = Tensor::ones(vec![100_000]);
    assert_eq!(l.call(&x, &mut CallContext::new(false)).unwrap().to_f32_vec(), x.to_f32_vec());
    let y = l.call(&x, &mut CallContext::new(true)).unwrap().to_f32_vec();
    let (mean, std) = stats(&y);
    let want_std = (rate as f64 / (1.0 - rate as f64)).sqrt();
    assert!((mean - 1.0).abs() < 4.0 * want_std / (1e5f64).sqrt(), "{mean}");
    assert!((std / want_std - 1.0).abs() < 0.02, "{std}");
    assert_eq!(l.get_config()["rate"], 0.2);
    assert_eq!(l.get_config()["seed"], 9);
    round_trip(&l);
    assert!(add_err(GaussianDropout::new(-0.5)));
    assert!(add_err(GaussianDropout::new(2.0)));
    assert!(GaussianDropout::new(1.0).call(&x, &mut CallContext::new(true)).is_err());
    assert_eq!(
        GaussianDropout::new(0.0).call(&x, &mut CallContext::new(true)).unwrap().to_f32_vec(),
        x.to_f32_vec()
    );
}

#[test]
fn alpha_dropout_keeps_selu_statistics() {
    let rate = 0.3f64;
    let l = AlphaDropout::new(rate as f32).seed(11);
    let x = normal(200_000, 2);
    assert_eq!(l.call(&x, &mut CallContext::new(false)).unwrap().to_f32_vec(), x.to_f32_vec());
    let y = l.call(&x, &mut CallContext::new(true)).unwrap().to_f32_vec();
    let (mean, std) = stats(&y);
    assert!(mean.abs() < 0.01, "{mean}");
    assert!((std - 1.0).abs() < 0.01, "{std}");
    // Dropped positions all hold a * alpha_p + b.
    let alpha_p = -1.673_263_242_354_377_3f64 * 1.050_700_987_355_480_5;
    let a = ((1.0 - rate) * (1.0 + rate * alpha_p * alpha_p)).powf(-0.5);
    let b = -a * alpha_p * rate;
    let dropped = (a * alpha_p + b) as f32;
    let xs = x.to_f32_vec();
    let n_dropped = y
        .iter()
        .zip(&xs)
        .filter(|(&yv, &xv)| (yv - dropped).abs() < 1e-6 && (yv - (a as f32 * xv + b as f32)).abs() > 1e-4)
        .count();
    let frac = n_dropped as f64 / y.len() as f64;
    assert!((frac - rate).abs() < 0.01, "{frac}");
    // noise_shape broadcasts the mask.
    let l = AlphaDropout::new(0.5).seed(4).noise_shape(&[None, Some(1), None]);
    let x = ramp(&[3, 4, 2]);
    let y = l.call(&x, &mut CallContext::new(true)).unwrap();
    assert_eq!(y.shape(), &[3, 4, 2]);
    let cfg = l.get_config();
    assert_eq!(cfg["noise_shape"], json!([null, 1, null]));
    assert_eq!(cfg["rate"], 0.5);
    round_trip(&l);
    let bad = AlphaDropout::new(0.5).noise_shape(&[None, Some(3)]);
    assert!(bad.call(&x, &mut CallContext::new(true)).is_err());
    assert!(add_err(AlphaDropout::new(-0.2)));
    assert!(add_err(AlphaDropout::new(1.2)));
    assert!(AlphaDropout::new(1.0).call(&x, &mut CallContext::new(true)).is_err());
    assert!(AlphaDropout::from_config(&json!({"rate": 0.1, "noise_shape": [1, "a"]})).is_err());
    assert_eq!(AlphaDropout::new(0.1).get_config()["noise_shape"], Value::Null);
}

#[test]
fn activity_regularization_config_and_identity() {
    let l = ActivityRegularization::new(0.01, 0.0).name("ar");
    let x = ramp(&[2, 3]);
    let mut ctx = CallContext::new(true);
    assert_eq!(l.call(&x, &mut ctx).unwrap().to_f32_vec(), x.to_f32_vec());
    assert_eq!(
        l.get_config(),
        json!({"name": "ar", "trainable": true, "dtype": crate::layers::layer::dtype_policy_config(), "l1": 0.01, "l2": 0.0})
    );
    round_trip(&l);
    assert!(ActivityRegularization::from_config(&json!({"l1": -1.0})).is_err());
    assert_eq!(ActivityRegularization::from_config(&json!({})).unwrap().get_config()["l2"], 0.0);
}
