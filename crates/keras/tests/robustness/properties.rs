//! Property tests: random shapes (including huge ones), dtypes and values fed to the tensor
//! constructors, every registered layer's build and call, every loss and metric `get` knows,
//! and the preprocessing functions. A property fails on any panic (proptest catches it and
//! shrinks the input); an abort (allocation failure) would kill the binary. Each property
//! prints how many cases it tried.

use std::sync::atomic::{AtomicUsize, Ordering};

use keras::layers::{deserialize, CallContext};
use keras::preprocessing::image::{center_crop, resize, smart_resize, Interpolation, ResizeArgs};
use keras::preprocessing::{pad_sequences, pad_sequences_nd, PadSequencesArgs};
use keras::utils::{normalize, to_categorical};
use keras::{DType, Tensor};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::json;

use super::configs::base_cases;

/// Cases per property: `KERAS_PROPTEST_CASES`, else 256.
fn cases() -> u32 {
    std::env::var("KERAS_PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(256)
}

/// Runs `test` on `cases()` values of `strategy`; panics (with proptest's shrunk input) on the
/// first failure or panic, and prints the number of cases tried.
fn check<S: Strategy>(name: &str, strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>)
where
    S::Value: std::fmt::Debug,
{
    super::lower_tensor_limit();
    let config = Config { cases: cases(), failure_persistence: None, ..Config::default() };
    let tried = AtomicUsize::new(0);
    let result = TestRunner::new(config).run(&strategy, |v| {
        tried.fetch_add(1, Ordering::Relaxed);
        test(v)
    });
    eprintln!("property {name}: {} cases tried", tried.load(Ordering::Relaxed));
    if let Err(e) = result {
        panic!("property {name} failed: {e}");
    }
}

/// A dimension: mostly small, sometimes huge (overflowing products, unallocatable sizes).
fn dim() -> impl Strategy<Value = usize> {
    prop_oneof![
        10 => 0usize..5,
        1 => Just(1usize << 20),
        1 => (1usize << 30)..(1usize << 40),
        1 => Just(usize::MAX),
    ]
}

fn any_shape(max_rank: usize) -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(dim(), 0..=max_rank)
}

fn small_shape(max_rank: usize) -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(0usize..5, 0..=max_rank)
}

fn value() -> impl Strategy<Value = f32> {
    prop_oneof![
        6 => -3.0f32..3.0,
        2 => (0i32..6).prop_map(|v| v as f32),
        1 => Just(f32::NAN),
        1 => Just(f32::INFINITY),
        1 => Just(f32::NEG_INFINITY),
        1 => Just(f32::MAX),
        1 => any::<f32>(),
    ]
}

fn dtype() -> impl Strategy<Value = DType> {
    prop_oneof![3 => Just(DType::F32), 1 => Just(DType::I32), 1 => Just(DType::I64)]
}

/// A tensor of `shape` and `dtype` with random values (cast the way NumPy casts).
fn tensor_of(shape: Vec<usize>, dtype: DType) -> impl Strategy<Value = Tensor> {
    let n: usize = shape.iter().product();
    prop::collection::vec(value(), n).prop_map(move |v| {
        let t = Tensor::new(v, shape.clone()).unwrap();
        t.cast(dtype)
    })
}

fn small_tensor(max_rank: usize) -> impl Strategy<Value = Tensor> {
    (small_shape(max_rank), dtype()).prop_flat_map(|(s, d)| tensor_of(s, d))
}

#[test]
fn tensor_constructors_give_tensors_or_errors() {
    check("tensor constructors", (any_shape(5), 0usize..40, small_shape(4)), |(shape, len, other)| {
        let ok = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d)) == Some(len);
        prop_assert_eq!(Tensor::new(vec![0.5; len], shape.clone()).is_ok(), ok);
        prop_assert_eq!(Tensor::from_i32(vec![1; len], shape.clone()).is_ok(), ok);
        prop_assert_eq!(Tensor::from_i64(vec![-1; len], shape.clone()).is_ok(), ok);
        if let Ok(t) = Tensor::try_full(shape.clone(), 1.5) {
            prop_assert_eq!(t.shape(), &shape[..]);
            prop_assert!(t.to_f32_vec().iter().all(|&v| v == 1.5));
        }
        let _ = Tensor::try_zeros(shape.clone());
        let t = Tensor::new(vec![2.0; other.iter().product()], other.clone()).unwrap();
        let r = t.reshape(shape.clone());
        prop_assert_eq!(
            r.is_ok(),
            shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d)) == Some(t.numel())
        );
        for d in [DType::F32, DType::I32, DType::I64] {
            let c = t.cast(d);
            prop_assert_eq!(c.shape(), t.shape());
        }
        Ok(())
    });
}

#[test]
fn layers_build_and_call_on_random_inputs() {
    let cases = base_cases();
    let n = cases.len();
    let strategy = (0..n, small_shape(5), dtype(), any::<bool>(), any::<bool>()).prop_flat_map(
        |(i, s, d, training, build_first)| (Just(i), tensor_of(s, d), Just(training), Just(build_first)),
    );
    check("layer build/call", strategy, |(i, x, training, build_first)| {
        let (class, cfg, _) = &cases[i];
        let mut layer = deserialize(&json!({"class_name": class, "config": cfg})).unwrap();
        let mut s: Vec<Option<usize>> = x.shape().iter().map(|&d| Some(d)).collect();
        if let Some(b) = s.first_mut() {
            *b = None;
        }
        let _ = layer.compute_output_shape(&s);
        if build_first && layer.build(&s).is_err() {
            return Ok(());
        }
        let mut ctx = CallContext::new(training);
        let _ = layer.call(&x, &mut ctx);
        let _ = layer.compute_mask(&x, None);
        Ok(())
    });
}

#[test]
fn layers_build_on_huge_shapes() {
    let cases = base_cases();
    let n = cases.len();
    check("layer build on huge shapes", (0..n, any_shape(5)), |(i, shape)| {
        let (class, cfg, _) = &cases[i];
        let mut layer = deserialize(&json!({"class_name": class, "config": cfg})).unwrap();
        let s: Vec<Option<usize>> = shape.iter().enumerate().map(|(k, &d)| (k > 0).then_some(d)).collect();
        let _ = layer.compute_output_shape(&s);
        let _ = layer.build(&s);
        Ok(())
    });
}

const LOSSES: &[&str] = &[
    "categorical_crossentropy",
    "sparse_categorical_crossentropy",
    "binary_crossentropy",
    "binary_focal_crossentropy",
    "mse",
    "mae",
    "mape",
    "msle",
    "huber",
    "log_cosh",
    "kld",
    "poisson",
    "hinge",
    "squared_hinge",
    "categorical_hinge",
    "cosine_similarity",
    "categorical_focal_crossentropy",
    "dice",
    "tversky",
    "circle",
    "ctc",
];

const METRICS: &[&str] = &[
    "accuracy",
    "binary_accuracy",
    "categorical_accuracy",
    "sparse_categorical_accuracy",
    "top_k_categorical_accuracy",
    "sparse_top_k_categorical_accuracy",
    "mse",
    "mae",
    "mape",
    "msle",
    "cosine_similarity",
    "log_cosh_error",
    "hinge",
    "squared_hinge",
    "categorical_hinge",
    "kl_divergence",
    "poisson",
    "binary_crossentropy",
    "categorical_crossentropy",
    "sparse_categorical_crossentropy",
    "pearson_correlation",
    "concordance_correlation",
    "r2_score",
    "true_positives",
    "false_positives",
    "true_negatives",
    "false_negatives",
    "f1_score",
    "fbeta_score",
    "mean",
    "binary_io_u",
    "sum",
    "root_mean_squared_error",
    "precision",
    "recall",
    "auc",
];

#[test]
fn losses_give_values_or_errors() {
    let strategy = (0..LOSSES.len(), small_tensor(3), small_tensor(3), prop::option::of(small_tensor(2)));
    check("losses", strategy, |(i, y_true, y_pred, w)| {
        let loss = keras::losses::get(LOSSES[i]).unwrap();
        let _ = loss.call(&y_true, &y_pred);
        let _ = loss.compute(&y_true, &y_pred, w.as_ref());
        Ok(())
    });
}

#[test]
fn metrics_give_values_or_errors() {
    let strategy = (0..METRICS.len(), prop::collection::vec((small_tensor(3), small_tensor(3)), 1..3));
    check("metrics", strategy, |(i, batches)| {
        let mut m = keras::metrics::get(METRICS[i]).unwrap();
        for (y_true, y_pred) in &batches {
            let _ = m.update_state(y_true, y_pred, None);
            let _ = m.result();
            let _ = m.results();
        }
        m.reset_state();
        Ok(())
    });
}

#[test]
fn preprocessing_functions_give_values_or_errors() {
    let ids = prop::collection::vec(
        prop_oneof![8 => -2i64..6, 1 => Just(i64::MAX), 1 => Just(1i64 << 40), 1 => Just(i64::MIN)],
        0..6,
    );
    let num_classes =
        prop::option::of(prop_oneof![4 => 0usize..8, 1 => Just(usize::MAX), 1 => Just(1usize << 40)]);
    let seqs = prop::collection::vec(prop::collection::vec(-3i64..9, 0..5), 0..4);
    let maxlen =
        prop::option::of(prop_oneof![4 => 0usize..6, 1 => Just(1usize << 40), 1 => Just(usize::MAX)]);
    let strategy = (ids, num_classes, small_tensor(4), -5isize..5, 0u32..4, seqs, maxlen, (dim(), dim()));
    check("preprocessing", strategy, |(ids, num_classes, x, axis, order, seqs, maxlen, size)| {
        let n = ids.len();
        let _ = to_categorical(&Tensor::from_i64(ids, [n]).unwrap(), num_classes);
        let _ = to_categorical(&x, num_classes);
        let _ = normalize(&x, axis, order);
        let mut args = PadSequencesArgs::default();
        if let Some(m) = maxlen {
            args = args.maxlen(m);
        }
        let _ = pad_sequences(&seqs, &args);
        let _ = pad_sequences(&seqs, &args.clone().padding("post").truncating("post").dtype(DType::F32));
        let _ = pad_sequences_nd(std::slice::from_ref(&x), &args);
        for interpolation in [Interpolation::Bilinear, Interpolation::Nearest, Interpolation::Area] {
            let opts = ResizeArgs { interpolation, ..ResizeArgs::default() };
            let _ = resize(&x, size, opts);
            let _ = smart_resize(&x, size, interpolation);
        }
        let _ = center_crop(&x, size.0, size.1);
        Ok(())
    });
}
