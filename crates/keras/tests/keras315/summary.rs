//! `summary()` memory sizes: int64 variables count 8 bytes, as Keras's `weight_memory_size`.

use keras::layers::{Dense, Input, Normalization};
use keras::models::Sequential;
use keras::{FitArgs, Tensor};

fn line<'a>(text: &'a str, label: &str) -> &'a str {
    text.lines()
        .find(|l| l.trim_start().starts_with(label))
        .unwrap_or_else(|| panic!("no {label} in\n{text}"))
}

#[test]
fn optimizer_iteration_counts_eight_bytes() {
    keras::utils::set_random_seed(1);
    let mut m = Sequential::new();
    m.add(Input::new(&[4])).unwrap();
    m.add(Dense::new(5)).unwrap();
    m.add(Dense::new(5)).unwrap();
    m.compile("adam", "mse", &[]).unwrap();
    let x = Tensor::new(vec![0.1; 8], [2, 4]).unwrap();
    let y = Tensor::new(vec![0.2; 10], [2, 5]).unwrap();
    m.fit(&x, &y, FitArgs::default().epochs(1).verbose(0)).unwrap();
    let s = m.summary_string(None, false).unwrap();
    // 55 weights: Adam keeps 2 * 55 slots, the learning rate (float32) and the iteration
    // counter (int64): 111 * 4 + 8 = 452 bytes.
    assert_eq!(line(&s, "Optimizer params:"), " Optimizer params: 112 (452.00 B)");
    // Total = 55 * 4 + 452.
    assert_eq!(line(&s, "Total params:"), " Total params: 167 (672.00 B)");
}

#[test]
fn normalization_count_counts_eight_bytes() {
    let mut m = Sequential::new();
    m.add(Input::new(&[3])).unwrap();
    let mut norm = Normalization::new();
    norm.adapt(&Tensor::new(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [2, 3]).unwrap()).unwrap();
    m.add(norm).unwrap();
    let s = m.summary_string(None, false).unwrap();
    // mean (3) + variance (3) as float32, count as int64: 6 * 4 + 8 = 32 bytes.
    assert_eq!(line(&s, "Non-trainable params:"), " Non-trainable params: 7 (32.00 B)");
}
