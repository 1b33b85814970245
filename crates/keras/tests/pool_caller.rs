//! Training steps give the same bits whether the calling thread is outside the engine's pool
//! or is the pool's thread 0 (what `keras_engine::parallel::num_threads` makes of a
//! program's main thread).

use keras::layers::{Conv2D, Dense, Dropout, Embedding, Flatten, Input, MaxPooling2D, LSTM};
use keras::models::Sequential;
use keras::optimizers::Adam;
use keras::Tensor;

fn data(n: usize, seed: f32) -> Vec<f32> {
    (0..n).map(|i| ((i as f32 + seed) * 0.731).sin()).collect()
}

/// Three Adam steps of a small CNN with dropout (every parallel kernel of W2: convolutions,
/// pooling, dropout masks, Dense, the one-pass Adam), then of a small LSTM over an
/// Embedding (W3's); the bits of every weight after them.
fn train() -> Vec<Vec<u32>> {
    keras::utils::set_random_seed(7);
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
    let x = Tensor::new(data(16 * 20 * 20 * 3, 1.0), [16, 20, 20, 3]).unwrap();
    let y: Vec<f32> = (0..16 * 10).map(|i| if i % 10 == (i / 10) % 10 { 1.0 } else { 0.0 }).collect();
    let y = Tensor::new(y, [16, 10]).unwrap();
    for _ in 0..3 {
        cnn.train_on_batch(&x, &y, None).unwrap();
    }

    let mut rnn = Sequential::new();
    rnn.add(Input::new(&[12])).unwrap();
    rnn.add(Embedding::new(2000, 32)).unwrap();
    rnn.add(LSTM::new(32)).unwrap();
    rnn.add(Dense::new(1).activation("sigmoid")).unwrap();
    rnn.compile(Adam::new(), "binary_crossentropy", &[]).unwrap();
    let ids: Vec<i32> = (0..16 * 12).map(|i| i * 37 % 2000).collect();
    let ids = Tensor::from_i32(ids, [16, 12]).unwrap();
    let labels = Tensor::new((0..16).map(|i| (i % 2) as f32).collect(), [16, 1]).unwrap();
    for _ in 0..3 {
        rnn.train_on_batch(&ids, &labels, None).unwrap();
    }

    let bits = |t: &Tensor| t.to_f32_vec().iter().map(|v| v.to_bits()).collect::<Vec<u32>>();
    cnn.get_weights().iter().chain(rnn.get_weights().iter()).map(bits).collect()
}

#[test]
fn training_steps_match_bit_for_bit_when_the_caller_is_the_pools_thread_0() {
    let outside = std::thread::spawn(train).join().unwrap();
    let inside = std::thread::spawn(|| {
        // This thread becomes thread 0 of a pool of two (rayon leaks that state with the
        // thread); the engine's parallel kernels called from it run in that pool.
        let _pool = keras_engine::parallel::join_pool_as_caller(2).unwrap();
        assert_eq!(rayon::current_thread_index(), Some(0));
        assert!(!keras_engine::parallel::in_worker());
        train()
    })
    .join()
    .unwrap();
    assert_eq!(outside.len(), inside.len());
    assert!(!outside.is_empty());
    for (i, (o, n)) in outside.iter().zip(&inside).enumerate() {
        assert_eq!(o, n, "weight {i} differs");
    }
}
