//! Sequential inference fuses a Conv2D and the 2x2, stride-2 MaxPooling2D after it into one
//! op (`keras_engine::ops::conv2d_maxpool2_inference`): its outputs must be bit-identical to
//! the layers called one by one, and pairs that do not qualify must run unfused. In training
//! (Sequential and Functional models) a Conv2D(relu) + MaxPooling2D pair runs as
//! `keras_engine::ops::conv2d_relu_maxpool2`, with the unfused model's losses and weights.

use keras::layers::{CallContext, Conv2D, Dense, Flatten, MaxPooling2D};
use keras::models::Sequential;
use keras::Tensor;

fn values(shape: &[usize], seed: f32) -> Tensor {
    let n: usize = shape.iter().product();
    let v = (0..n).map(|i| ((i as f32 * 0.731 + seed).sin() * 1.7).fract()).collect();
    Tensor::new(v, shape.to_vec()).unwrap()
}

/// The layers of `m` called one after the other at inference (no fusion).
fn layer_by_layer(m: &Sequential, x: &Tensor) -> Vec<f32> {
    let mut ctx = CallContext::new(false);
    let mut h = x.clone();
    for layer in m.layers() {
        h = layer.call(&h, &mut ctx).unwrap();
    }
    h.to_f32_vec()
}

fn assert_bits(got: &[f32], want: &[f32], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    for (i, (a, b)) in got.iter().zip(want).enumerate() {
        assert_eq!(a.to_bits(), b.to_bits(), "{what} at {i}: {a} vs {b}");
    }
}

/// W2's CNN shape at small sizes (the second convolution runs by Winograd, so the pooling
/// is fused), odd and even convolution outputs, `same` and `valid` padding.
#[test]
fn fused_conv_pool_matches_layer_by_layer() {
    for &(h, w, same) in &[(13, 12, false), (16, 16, false), (11, 14, true), (9, 9, true)] {
        let mut m = Sequential::new();
        m.add(Conv2D::new(16, [3, 3]).activation("relu").input_shape(&[h, w, 3])).unwrap();
        let pad = if same { "same" } else { "valid" };
        m.add(Conv2D::new(24, [3, 3]).activation("relu").padding(pad)).unwrap();
        m.add(MaxPooling2D::new([2, 2])).unwrap();
        m.add(Flatten::new()).unwrap();
        m.add(Dense::new(5)).unwrap();
        let x = values(&[3, h, w, 3], 0.4);
        let got = m.predict_on_batch(x.clone()).unwrap().to_f32_vec();
        assert_bits(&got, &layer_by_layer(&m, &x), &format!("{h}x{w} {pad}"));
        // The model's own inference call takes the same path.
        assert_bits(&m.call(&x, false).unwrap().to_f32_vec(), &got, "call(training=false)");
    }
}

/// Poolings that are not 2x2 with stride 2 and `valid` padding, and activations with no
/// fused form, run unfused and give the same values.
#[test]
fn other_poolings_run_unfused() {
    let pools = [
        MaxPooling2D::new([2, 2]).strides([1, 1]),
        MaxPooling2D::new([3, 3]),
        MaxPooling2D::new([2, 2]).padding("same"),
    ];
    for (i, pool) in pools.into_iter().enumerate() {
        let mut m = Sequential::new();
        m.add(Conv2D::new(16, [3, 3]).activation("relu").input_shape(&[14, 15, 16])).unwrap();
        m.add(pool).unwrap();
        let x = values(&[2, 14, 15, 16], 0.9);
        let got = m.predict_on_batch(x.clone()).unwrap().to_f32_vec();
        assert_bits(&got, &layer_by_layer(&m, &x), &format!("pool {i}"));
    }
    let mut m = Sequential::new();
    m.add(Conv2D::new(16, [3, 3]).activation("softmax").input_shape(&[14, 15, 16])).unwrap();
    m.add(MaxPooling2D::new([2, 2])).unwrap();
    let x = values(&[2, 14, 15, 16], 0.2);
    assert_bits(&m.predict_on_batch(x.clone()).unwrap().to_f32_vec(), &layer_by_layer(&m, &x), "softmax");
}

/// A convolution too small for Winograd: the fused op runs the convolution and the pooling
/// one after the other, with the same values.
#[test]
fn small_convolution_falls_back() {
    let mut m = Sequential::new();
    m.add(Conv2D::new(16, [3, 3]).activation("relu").input_shape(&[4, 5, 16])).unwrap();
    m.add(MaxPooling2D::new([2, 2])).unwrap();
    let x = values(&[2, 4, 5, 16], 0.1);
    let got = m.predict_on_batch(x.clone()).unwrap();
    assert_eq!(got.shape(), &[2, 1, 1, 16]);
    assert_bits(&got.to_f32_vec(), &layer_by_layer(&m, &x), "small");
}

/// Trains the models `$fused` and `$split` (the latter given the former's weights) for three
/// steps on one `[6, $h, $w, 3]` batch and checks their losses and then their weights bit for
/// bit (a macro: Sequential and Functional models are different types).
macro_rules! assert_trains_alike {
    ($fused:expr, $split:expr, $h:expr, $w:expr) => {{
        let (h, w) = ($h, $w);
        let (mut fused, mut split) = ($fused, $split);
        split.set_weights(&fused.get_weights()).unwrap();
        let x = values(&[6, h, w, 3], 0.4);
        let y =
            Tensor::new((0..24).map(|i| if i % 5 == 0 { 1.0 } else { 0.0 }).collect::<Vec<f32>>(), [6, 4])
                .unwrap();
        for step in 0..3 {
            let a = fused.train_on_batch(&x, &y, None).unwrap()["loss"];
            let b = split.train_on_batch(&x, &y, None).unwrap()["loss"];
            assert_eq!(a.to_bits(), b.to_bits(), "{h}x{w} loss at step {step}: {a} vs {b}");
        }
        for (i, (a, b)) in fused.get_weights().iter().zip(split.get_weights()).enumerate() {
            assert_bits(&a.to_f32_vec(), &b.to_f32_vec(), &format!("{h}x{w} weight {i}"));
        }
    }};
}

/// W2's CNN at a small size, trained: the fused training op
/// (`keras_engine::ops::conv2d_relu_maxpool2`) gives the losses and weights of the same
/// model with a linear `Activation` between the convolution and the pooling (which keeps
/// them apart), bit for bit, over a few Adam steps; odd and even convolution outputs.
#[test]
fn fused_training_matches_unfused() {
    use keras::layers::Activation;
    use keras::optimizers::Adam;
    for &(h, w) in &[(18, 18), (17, 19)] {
        let make = |split: bool| {
            let mut m = Sequential::new();
            m.add(Conv2D::new(16, [3, 3]).activation("relu").input_shape(&[h, w, 3])).unwrap();
            m.add(Conv2D::new(32, [3, 3]).activation("relu")).unwrap();
            if split {
                m.add(Activation::new("linear")).unwrap();
            }
            m.add(MaxPooling2D::new([2, 2])).unwrap();
            m.add(Flatten::new()).unwrap();
            m.add(Dense::new(4).activation("softmax")).unwrap();
            m.compile(Adam::new().learning_rate(0.01), "categorical_crossentropy", &[]).unwrap();
            m
        };
        assert_trains_alike!(make(false), make(true), h, w);
    }
}

/// A Functional model's training runs the same fusion on a Conv2D(relu) node read only by a
/// MaxPooling2D node: bit for bit the graph with a linear Activation between the two (which
/// keeps them apart), over a few Adam steps; odd and even convolution outputs.
#[test]
fn functional_fused_training_matches_unfused() {
    use keras::layers::Activation;
    use keras::models::{Model, SymbolicCall};
    use keras::optimizers::Adam;
    use keras::Input;
    for &(h, w) in &[(18, 18), (17, 19)] {
        let make = |split: bool| {
            let x = Input::new(&[h, w, 3]);
            let c1 = Conv2D::new(16, [3, 3]).activation("relu").apply(&x).unwrap();
            let mut c2 = Conv2D::new(32, [3, 3]).activation("relu").apply(&c1).unwrap();
            if split {
                c2 = Activation::new("linear").apply(&c2).unwrap();
            }
            let p = MaxPooling2D::new([2, 2]).apply(&c2).unwrap();
            let f = Flatten::new().apply(&p).unwrap();
            let y = Dense::new(4).activation("softmax").apply(&f).unwrap();
            let mut m = Model::new(&[x], &[y]).unwrap();
            m.compile(Adam::new().learning_rate(0.01), "categorical_crossentropy", &[]).unwrap();
            m
        };
        assert_trains_alike!(make(false), make(true), h, w);
    }
}
