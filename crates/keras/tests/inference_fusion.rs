//! Inference fusion (models/functional/inference_fusion.rs) as a user sees it: a Functional
//! model's predictions are the same bits whether its Conv + BatchNormalization + activation
//! chains run fused (plain inference) or layer by layer (under a gradient tape, where
//! nothing fuses), for every shape of chain and for the graphs where a chain must not fuse.

use keras::layers::{Activation, Add, BatchNormalization, Conv2D, DepthwiseConv2D, ReLU, ZeroPadding2D};
use keras::models::{Model, SymbolicCall};
use keras::{GradientTape, Input, Tensor};

/// Deterministic values in [-1, 1).
fn values(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

/// Gives every weight non-trivial values (variances positive), so that a wrongly folded
/// normalization shows.
fn randomize(model: &mut Model) {
    let variances: Vec<bool> =
        model.weights().iter().map(|w| w.path().ends_with("moving_variance")).collect();
    let ws: Vec<Tensor> = model
        .get_weights()
        .iter()
        .zip(&variances)
        .enumerate()
        .map(|(i, (w, &variance))| {
            let mut v = values(w.numel(), i as u64 + 1);
            if variance {
                v.iter_mut().for_each(|x| *x = x.abs() + 0.1);
            }
            Tensor::new(v, w.shape().to_vec()).unwrap()
        })
        .collect();
    assert!(variances.iter().any(|v| *v));
    model.set_weights(&ws).unwrap();
}

/// Fused predictions against layer-by-layer ones, bit for bit.
fn assert_same_bits(model: &Model, x: &Tensor) {
    let fused = model.predict_on_batch(std::slice::from_ref(x)).unwrap();
    let plain = {
        let _tape = GradientTape::new();
        model.predict_on_batch(std::slice::from_ref(x)).unwrap()
    };
    assert_eq!(fused.len(), plain.len());
    for (f, p) in fused.iter().zip(&plain) {
        assert_eq!(f.shape(), p.shape());
        let (f, p) = (f.to_f32_vec(), p.to_f32_vec());
        assert!(
            p.iter().any(|v| *v != 0.0) && p.iter().all(|v| v.is_finite()),
            "a trivial output proves nothing: {p:?}"
        );
        for (i, (a, b)) in f.iter().zip(&p).enumerate() {
            assert_eq!(a.to_bits(), b.to_bits(), "value {i}: fused {a} vs layer by layer {b}");
        }
    }
}

#[test]
fn conv_batchnorm_activation_chains_predict_the_same_bits_fused() {
    let x = Input::new(&[17, 17, 3]);
    // Conv2D + BN + ReLU (ResNet's chain), same padding, with a bias.
    let h = Conv2D::new(8, [3, 3]).padding("same").apply(&x).unwrap();
    let h = BatchNormalization::new().apply(&h).unwrap();
    let h = Activation::new("relu").apply(&h).unwrap();
    // A residual block: conv + BN on one branch, Add, then ReLU (ResNet's identity block).
    let r = Conv2D::new(8, [1, 1]).apply(&h).unwrap();
    let r = BatchNormalization::new().apply(&r).unwrap();
    let h = Add::new().apply_list(&[&h, &r]).unwrap();
    let h = Activation::new("relu").apply(&h).unwrap();
    // 3x3 stride-1 convolutions wide enough for Winograd (partial tiles, 20 channels), same
    // padding and ZeroPadding2D + valid.
    let h = Conv2D::new(16, [1, 1]).apply(&h).unwrap();
    let h = Conv2D::new(20, [3, 3]).padding("same").apply(&h).unwrap();
    let h = BatchNormalization::new().apply(&h).unwrap();
    let h = Activation::new("relu").apply(&h).unwrap();
    let h = ZeroPadding2D::new([[1, 2], [2, 1]]).apply(&h).unwrap();
    let h = Conv2D::new(16, [3, 3]).use_bias(false).apply(&h).unwrap();
    let h = BatchNormalization::new().apply(&h).unwrap();
    let h = Activation::new("relu").apply(&h).unwrap();
    // DepthwiseConv2D + BN + ReLU6 (MobileNet's chain), strided, no bias.
    let h = DepthwiseConv2D::new([3, 3]).strides([2, 2]).use_bias(false).apply(&h).unwrap();
    let h = BatchNormalization::new().apply(&h).unwrap();
    let h = ReLU::new().max_value(6.0).apply(&h).unwrap();
    // Conv2D + activation (no BN), 70 filters (not a multiple of a vector).
    let h = Conv2D::new(70, [1, 1]).apply(&h).unwrap();
    let h = Activation::new("swish").apply(&h).unwrap();
    // ZeroPadding2D + strided depthwise (valid) + BN + ReLU6: MobileNetV2's downsampling.
    let h = ZeroPadding2D::new([[0, 1], [0, 1]]).apply(&h).unwrap();
    let h = DepthwiseConv2D::new([3, 3]).strides([2, 2]).apply(&h).unwrap();
    let h = BatchNormalization::new().apply(&h).unwrap();
    let h = ReLU::new().max_value(6.0).apply(&h).unwrap();
    // ZeroPadding2D + Conv2D (valid): ResNet's stem, no BN after it.
    let h = ZeroPadding2D::new([[2, 1], [1, 2]]).apply(&h).unwrap();
    let h = Conv2D::new(70, [3, 3]).apply(&h).unwrap();
    // Depthwise with 70 channels (a partial channel block) + BN, no activation.
    let h = DepthwiseConv2D::new([3, 3]).padding("same").apply(&h).unwrap();
    let y = BatchNormalization::new().apply(&h).unwrap();
    let mut model = Model::new(&[x], &[y]).unwrap();
    randomize(&mut model);
    let xs = Tensor::new(values(2 * 17 * 17 * 3, 99), [2, 17, 17, 3]).unwrap();
    assert_same_bits(&model, &xs);
}

#[test]
fn chains_whose_values_are_read_elsewhere_do_not_fuse_and_stay_correct() {
    let x = Input::new(&[6, 6, 4]);
    // The conv output is read twice (by BN and by Add): no fusion may drop it.
    let c = Conv2D::new(4, [3, 3]).padding("same").apply(&x).unwrap();
    let n = BatchNormalization::new().apply(&c).unwrap();
    let s = Add::new().apply_list(&[&c, &n]).unwrap();
    // BN output is a model output and also activated.
    let c2 = Conv2D::new(5, [1, 1]).apply(&s).unwrap();
    let n2 = BatchNormalization::new().apply(&c2).unwrap();
    let a2 = Activation::new("relu").apply(&n2).unwrap();
    // A BatchNormalization over axis 1 (not the channels) cannot fold into the conv.
    let c3 = Conv2D::new(3, [1, 1]).apply(&a2).unwrap();
    let n3 = BatchNormalization::new().axis(1).apply(&c3).unwrap();
    // A conv with its own activation followed by BN cannot fold either.
    let c4 = Conv2D::new(2, [1, 1]).activation("relu").apply(&n3).unwrap();
    let n4 = BatchNormalization::new().apply(&c4).unwrap();
    let mut model = Model::new(&[x], &[n2, a2, n4]).unwrap();
    randomize(&mut model);
    let xs = Tensor::new(values(3 * 6 * 6 * 4, 7), [3, 6, 6, 4]).unwrap();
    assert_same_bits(&model, &xs);
}
