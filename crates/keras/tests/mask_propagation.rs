//! Keras masks flow through layers with `supports_masking = True` (Dropout, Dense,
//! Activation): `Embedding(mask_zero=True) -> Dropout -> LSTM` skips the padded steps exactly
//! as `Embedding(mask_zero=True) -> LSTM` does.

use keras::layers::{Activation, Dense, Dropout, Embedding, Input, Layer, LSTM};
use keras::models::Sequential;
use keras::Tensor;

fn ids(rows: &[[i32; 5]]) -> Tensor {
    Tensor::from_i32(rows.iter().flatten().copied().collect(), [rows.len(), 5]).unwrap()
}

/// `Input(5) -> Embedding(12, 4, mask_zero) -> middle... -> LSTM(3)`.
fn model(middle: Vec<Box<dyn Layer>>) -> Sequential {
    keras::backend::clear_session();
    keras::utils::set_random_seed(7);
    let mut m = Sequential::new();
    m.add(Input::new(&[5])).unwrap();
    m.add(Embedding::new(12, 4).mask_zero(true)).unwrap();
    for l in middle {
        m.add_boxed(l).unwrap();
    }
    m.add(LSTM::new(3)).unwrap();
    m
}

fn close(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-6)
}

#[test]
fn dropout_at_inference_keeps_the_mask() {
    let plain = model(vec![]);
    let mut with_dropout = model(vec![Box::new(Dropout::new(0.5))]);
    with_dropout.set_weights(&plain.get_weights()).unwrap();
    // Padding zeros at the end, in the middle, and none.
    let x = ids(&[[3, 7, 1, 0, 0], [3, 0, 7, 0, 1], [5, 2, 9, 11, 4]]);
    let a = plain.predict_on_batch(&x).unwrap().to_f32_vec();
    let b = with_dropout.predict_on_batch(&x).unwrap().to_f32_vec();
    assert!(close(&a, &b), "{a:?} vs {b:?}");
    // The mask is really applied: the first two rows hold the same tokens in the same order,
    // padded differently, so they give the same final output.
    assert!(close(&b[0..3], &b[3..6]), "{b:?}");
    assert!(!close(&b[0..3], &b[6..9]));
}

#[test]
fn dense_and_activation_pass_the_mask_through() {
    let m = model(vec![
        Box::new(Dense::new(4).activation("tanh")),
        Box::new(Activation::new("relu")),
        Box::new(Dropout::new(0.2)),
    ]);
    let x = ids(&[[3, 7, 1, 0, 0], [0, 3, 0, 7, 1]]);
    let y = m.predict_on_batch(&x).unwrap().to_f32_vec();
    assert!(close(&y[0..3], &y[3..6]), "{y:?}");
    // Also in training mode (dropout active): masked steps still leave the state unchanged,
    // so a fully padded row keeps the zero initial state.
    let x0 = ids(&[[0, 0, 0, 0, 0]]);
    let y0 = m.call(&x0, true).unwrap().to_f32_vec();
    assert!(y0.iter().all(|v| *v == 0.0), "{y0:?}");
}

/// `Embedding(mask_zero=True) -> GlobalAveragePooling1D -> Dense`, the classic text
/// classifier: padding ids add nothing, wherever they stand (Keras averages only the
/// unmasked steps), so a padded row predicts what its unpadded tokens predict.
#[test]
fn average_pooling_ignores_padding() {
    use keras::layers::GlobalAveragePooling1D;
    let build = |len: usize| {
        keras::backend::clear_session();
        keras::utils::set_random_seed(3);
        let mut m = Sequential::new();
        m.add(Input::new(&[len])).unwrap();
        m.add(Embedding::new(12, 4).mask_zero(true)).unwrap();
        m.add(GlobalAveragePooling1D::new()).unwrap();
        m.add(Dense::new(2)).unwrap();
        m
    };
    let padded = build(5);
    let mut short = build(2);
    short.set_weights(&padded.get_weights()).unwrap();
    let x = ids(&[[3, 7, 0, 0, 0], [0, 3, 0, 7, 0], [3, 7, 5, 0, 0]]);
    let y = padded.predict_on_batch(&x).unwrap().to_f32_vec();
    let x2 = Tensor::from_i32(vec![3, 7], [1, 2]).unwrap();
    let y2 = short.predict_on_batch(&x2).unwrap().to_f32_vec();
    assert!(close(&y[..2], &y2), "{y:?} vs {y2:?}");
    assert!(close(&y[2..4], &y2), "padding in the middle: {y:?} vs {y2:?}");
    assert!(!close(&y[4..6], &y2), "a third token must change the mean: {y:?}");
}
