//! Training steps give the same bits with the engine's buffer recycling on
//! (`keras_engine::recycle`) as with it off, even when every pooled buffer a kernel is handed
//! is full of NaN: a kernel that read its output before writing it, or left part of it
//! unwritten, would show.

use keras::layers::{Conv2D, Dense, Dropout, Embedding, Flatten, Input, MaxPooling2D, LSTM};
use keras::models::Sequential;
use keras::optimizers::Adam;
use keras::Tensor;
use keras_engine::recycle;

fn data(n: usize, seed: f32) -> Vec<f32> {
    (0..n).map(|i| ((i as f32 + seed) * 0.731).sin()).collect()
}

/// Empties the pool and fills it with NaN-filled buffers of every size from
/// `recycle::MIN_LEN` up to 600 k floats, at most 20% apart, three of each (42 MB in all),
/// so that every pooled request in the steps below (the largest: 393 k floats) can be
/// served by one.
fn poison() {
    recycle::clear();
    let mut c = recycle::MIN_LEN;
    while c < 600_000 {
        for _ in 0..3 {
            recycle::give(vec![f32::NAN; c]);
        }
        c += c / 5;
    }
}

/// Three Adam steps of a W2-like CNN (Winograd and im2col convolutions, max pooling,
/// dropout, Dense) and of a W3-like LSTM over an Embedding, with `before_step` run before
/// each; the bits of every weight after them.
fn train(before_step: impl Fn()) -> Vec<Vec<u32>> {
    keras::utils::set_random_seed(11);
    let mut cnn = Sequential::new();
    cnn.add(Input::new(&[20, 20, 3])).unwrap();
    cnn.add(Conv2D::new(16, [3, 3]).activation("relu")).unwrap();
    cnn.add(Conv2D::new(32, [3, 3]).activation("relu")).unwrap();
    cnn.add(MaxPooling2D::new([2, 2])).unwrap();
    cnn.add(Dropout::new(0.2)).unwrap();
    cnn.add(Flatten::new()).unwrap();
    cnn.add(Dense::new(128).activation("relu")).unwrap();
    cnn.add(Dropout::new(0.2)).unwrap();
    cnn.add(Dense::new(10).activation("softmax")).unwrap();
    cnn.compile(Adam::new(), "categorical_crossentropy", &[]).unwrap();
    let b = 48;
    let x = Tensor::new(data(b * 20 * 20 * 3, 1.0), [b, 20, 20, 3]).unwrap();
    let y: Vec<f32> = (0..b * 10).map(|i| if i % 10 == (i / 10) % 10 { 1.0 } else { 0.0 }).collect();
    let y = Tensor::new(y, [b, 10]).unwrap();
    for _ in 0..3 {
        before_step();
        cnn.train_on_batch(&x, &y, None).unwrap();
    }

    let mut rnn = Sequential::new();
    rnn.add(Input::new(&[12])).unwrap();
    rnn.add(Embedding::new(4000, 32)).unwrap();
    rnn.add(LSTM::new(32)).unwrap();
    rnn.add(Dense::new(1).activation("sigmoid")).unwrap();
    rnn.compile(Adam::new(), "binary_crossentropy", &[]).unwrap();
    let ids: Vec<i32> = (0..16 * 12).map(|i| i * 37 % 4000).collect();
    let ids = Tensor::from_i32(ids, [16, 12]).unwrap();
    let labels = Tensor::new((0..16).map(|i| (i % 2) as f32).collect(), [16, 1]).unwrap();
    for _ in 0..3 {
        before_step();
        rnn.train_on_batch(&ids, &labels, None).unwrap();
    }

    let bits = |t: &Tensor| t.to_f32_vec().iter().map(|v| v.to_bits()).collect::<Vec<u32>>();
    cnn.get_weights().iter().chain(rnn.get_weights().iter()).map(bits).collect()
}

#[test]
fn training_steps_match_bit_for_bit_with_recycled_buffers_full_of_nan() {
    recycle::set_enabled(false);
    let plain = train(|| ());
    recycle::set_enabled(true);
    let reused_before = recycle::reuses();
    let recycled = train(poison);
    let reused = recycle::reuses() - reused_before;
    recycle::set_enabled(false);
    // The recycled path was taken: conv outputs and input gradients, the max-pool gradient,
    // the Dense gradients and the Embedding gradient come from the pool (24 requests).
    assert!(reused >= 20, "only {reused} buffers were reused");
    assert_eq!(plain.len(), recycled.len());
    assert!(!plain.is_empty());
    for (i, (p, r)) in plain.iter().zip(&recycled).enumerate() {
        assert_eq!(p, r, "weight {i} differs");
    }
}
