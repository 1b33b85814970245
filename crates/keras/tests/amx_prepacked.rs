//! Dense kernels kept packed for the AMX unit between steps
//! (`keras_engine::kernels::amx::prepacked`), through the public API: training, predicting
//! and writing the weights from outside give the bits of packing the kernels in every
//! product, so no product ever reads a stale copy. Where the CPU has no AMX both runs take
//! the same FMA path and the comparison still holds. One test function: the switch is
//! process-wide.

use keras::layers::{Dense, Input};
use keras::models::Sequential;
use keras::optimizers::Adam;
use keras::{PredictArgs, Tensor};
use keras_engine::kernels::amx::prepacked;

fn data(n: usize, seed: f32) -> Vec<f32> {
    (0..n).map(|i| ((i as f32 + seed) * 0.731).sin()).collect()
}

/// W1's MLP (784 -> 512 relu -> 512 relu -> 10 softmax), Adam.
fn mlp() -> Sequential {
    keras::utils::set_random_seed(5);
    let mut model = Sequential::new();
    model.add(Input::new(&[784])).unwrap();
    model.add(Dense::new(512).activation("relu")).unwrap();
    model.add(Dense::new(512).activation("relu")).unwrap();
    model.add(Dense::new(10).activation("softmax")).unwrap();
    model.compile(Adam::new(), "categorical_crossentropy", &[]).unwrap();
    model
}

fn bits(t: &Tensor) -> Vec<u32> {
    t.to_f32_vec().iter().map(|x| x.to_bits()).collect()
}

/// Losses of four steps, the predictions after them, the predictions after the first
/// kernel is overwritten with `set_weights`, and the final weights.
fn run(x: &Tensor, y: &Tensor) -> (Vec<u32>, Vec<u32>, Vec<u32>, Vec<Vec<u32>>) {
    let mut m = mlp();
    let losses = (0..4).map(|_| m.train_on_batch(x, y, None).unwrap()["loss"].to_bits()).collect();
    let args = || PredictArgs::default().verbose(0);
    let before = bits(&m.predict(x, args()).unwrap());
    let mut w = m.get_weights();
    w[0] = Tensor::new(data(784 * 512, 3.0).iter().map(|v| v * 0.05).collect(), [784, 512]).unwrap();
    m.set_weights(&w).unwrap();
    let after = bits(&m.predict(x, args()).unwrap());
    (losses, before, after, m.get_weights().iter().map(bits).collect())
}

#[test]
fn kernels_kept_packed_give_the_bits_of_packing_them_per_product() {
    let rows = 128;
    let x = Tensor::new(data(rows * 784, 0.5), [rows, 784]).unwrap();
    let y: Vec<f32> = (0..rows * 10).map(|i| if i % 10 == (i / 10) % 10 { 1.0 } else { 0.0 }).collect();
    let y = Tensor::new(y, [rows, 10]).unwrap();
    let on_by_default = prepacked::enabled();
    prepacked::set_enabled(true);
    let kept = run(&x, &y);
    prepacked::set_enabled(false);
    let per_product = run(&x, &y);
    prepacked::set_enabled(on_by_default);
    assert_eq!(kept.0, per_product.0, "losses");
    assert_eq!(kept.1, per_product.1, "predictions after training");
    assert_eq!(kept.2, per_product.2, "predictions after set_weights");
    assert_eq!(kept.3, per_product.3, "weights");
    assert_ne!(kept.1, kept.2, "set_weights changed the predictions");
}
