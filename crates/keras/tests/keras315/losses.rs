//! The losses added for Keras 3.15: names, configs, `dtype`, errors, and gradients checked
//! against finite differences (Keras's own numbers are in the oracle cases).

use keras::losses::{
    self, CategoricalFocalArgs, CategoricalFocalCrossentropy, CategoricalGeneralizedCrossEntropy, Circle,
    CircleArgs, Dice, Loss, Reduction, Tversky, CTC,
};
use keras::{GradientTape, Tensor};
use serde_json::json;

fn t(v: Vec<f32>, s: &[usize]) -> Tensor {
    Tensor::new(v, s.to_vec()).unwrap()
}

fn pseudo(n: usize, seed: f32) -> Vec<f32> {
    (0..n).map(|i| ((i as f32 + seed) * 1.618).sin()).collect()
}

/// Compares the tape gradient of `loss.compute(y_true, y_pred)` with central differences.
fn check_fd(loss: &dyn Loss, y_true: &Tensor, y_pred: &Tensor, sw: Option<&Tensor>, tol: f32) {
    let tape = GradientTape::new();
    let yp = tape.watch(y_pred);
    let v = loss.compute(y_true, &yp, sw).unwrap();
    let g = tape.gradient(&v, &[&yp]).unwrap()[0].clone().expect("a gradient");
    drop(tape);
    let base = y_pred.to_f32_vec();
    let eps = 1e-3f32;
    let gv = g.to_f32_vec();
    for i in 0..base.len() {
        let f = |d: f32| {
            let mut x = base.clone();
            x[i] += d;
            let x = Tensor::new(x, y_pred.shape().to_vec()).unwrap();
            loss.compute(y_true, &x, sw).unwrap().item().unwrap() as f64
        };
        let fd = ((f(eps) - f(-eps)) / (2.0 * eps as f64)) as f32;
        assert!(
            (fd - gv[i]).abs() <= tol * (1.0 + fd.abs()),
            "{}: d/dy_pred[{i}] = {} vs finite difference {fd}",
            loss.name(),
            gv[i]
        );
    }
}

fn probs(rows: usize, c: usize, seed: f32) -> Tensor {
    let mut v: Vec<f32> = pseudo(rows * c, seed).iter().map(|x| x.abs() + 0.1).collect();
    for r in v.chunks_mut(c) {
        let s: f32 = r.iter().sum();
        r.iter_mut().for_each(|x| *x /= s);
    }
    t(v, &[rows, c])
}

#[test]
fn gradients_match_finite_differences() {
    let yt = t(vec![0.0, 1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0], &[3, 3]);
    let sw = t(vec![0.5, 1.0, 2.0], &[3]);
    check_fd(&CategoricalFocalCrossentropy::new(), &yt, &probs(3, 3, 1.0), Some(&sw), 2e-2);
    let p =
        CategoricalFocalArgs { from_logits: true, label_smoothing: 0.2, gamma: 1.5, ..Default::default() };
    check_fd(&CategoricalFocalCrossentropy::new().params(p), &yt, &t(pseudo(9, 2.0), &[3, 3]), None, 2e-2);
    let seg_t = t(pseudo(24, 3.0).iter().map(|v| if *v > 0.0 { 1.0 } else { 0.0 }).collect(), &[2, 3, 4]);
    let seg_p = t(pseudo(24, 4.0).iter().map(|v| v.abs()).collect(), &[2, 3, 4]);
    check_fd(&Dice::new(), &seg_t, &seg_p, None, 2e-2);
    check_fd(&Dice::new().axes(&[1, 2]), &seg_t, &seg_p, None, 2e-2);
    check_fd(&Tversky::new().alpha(0.2).beta(0.9).axis(-1), &seg_t, &seg_p, None, 2e-2);
    let labels = Tensor::from_i32(vec![0, 1, 0, 1, 2, 2], [6]).unwrap();
    let mut emb = pseudo(18, 5.0);
    for r in emb.chunks_mut(3) {
        let n = r.iter().map(|x| x * x).sum::<f32>().sqrt();
        r.iter_mut().for_each(|x| *x /= n);
    }
    let circle = Circle::new().params(CircleArgs { gamma: 4.0, ..Default::default() });
    check_fd(&circle, &labels, &t(emb, &[6, 3]), None, 3e-2);
    let ids = Tensor::from_i32(vec![2, 0, 1], [3]).unwrap();
    check_fd(
        &CategoricalGeneralizedCrossEntropy::new().q(0.7).unwrap(),
        &ids,
        &probs(3, 3, 6.0),
        Some(&sw),
        2e-2,
    );
    let ctc_t = Tensor::from_i32(vec![1, 2, 0, 2, 2, 1], [2, 3]).unwrap();
    check_fd(&CTC::new(), &ctc_t, &t(pseudo(2 * 7 * 4, 7.0), &[2, 7, 4]), None, 2e-2);
}

#[test]
fn names_configs_and_round_trips() {
    for (name, class) in [
        ("categorical_focal_crossentropy", "CategoricalFocalCrossentropy"),
        ("dice", "Dice"),
        ("tversky", "Tversky"),
        ("circle", "Circle"),
        ("ctc", "CTC"),
    ] {
        let l = losses::get(name).unwrap();
        assert_eq!((l.name(), l.class_name()), (name, class));
        let by_class = losses::get(class).unwrap();
        let again = losses::deserialize(&by_class.serialize()).unwrap();
        assert_eq!(again.get_config(), by_class.get_config(), "{class}");
    }
    // As in Keras 3.15, `get` does not know CategoricalGeneralizedCrossEntropy by name, but
    // the class deserializes.
    assert!(losses::get("CategoricalGeneralizedCrossEntropy").is_err());
    let g = CategoricalGeneralizedCrossEntropy::new().q(0.3).unwrap().with_name("gce");
    assert_eq!(g.get_config(), json!({"name": "gce", "reduction": "sum_over_batch_size", "q": 0.3}));
    assert_eq!(losses::deserialize(&g.serialize()).unwrap().get_config(), g.get_config());
    let d = Dice::new().axes(&[1, 2]).with_reduction(Reduction::Sum);
    assert_eq!(d.get_config(), json!({"name": "dice", "reduction": "sum", "axis": [1, 2]}));
    assert_eq!(Dice::new().get_config()["axis"], json!(null));
    assert_eq!(Tversky::new().axis(1).get_config()["axis"], json!(1));
    assert_eq!(losses::deserialize(&d.serialize()).unwrap().get_config(), d.get_config());
    let c = Circle::new().params(CircleArgs { gamma: 10.0, margin: 0.1, remove_diagonal: false });
    assert_eq!(
        c.get_config(),
        json!({"name": "circle", "reduction": "sum_over_batch_size", "gamma": 10.0, "margin": 0.1,
               "remove_diagonal": false})
    );
    assert_eq!(
        CategoricalFocalCrossentropy::new().get_config(),
        json!({"name": "categorical_focal_crossentropy", "reduction": "sum_over_batch_size",
               "from_logits": false, "label_smoothing": 0.0, "axis": -1, "alpha": 0.25, "gamma": 2.0})
    );
    assert_eq!(CTC::new().get_config(), json!({"name": "ctc", "reduction": "sum_over_batch_size"}));
}

#[test]
fn dtype_argument() {
    assert!(Dice::new().with_dtype("float32").is_ok());
    assert_eq!(Dice::new().dtype(), keras::DType::F32);
    for bad in ["float16", "float64", "bfloat16", "int32", "nope"] {
        let e = losses::MeanSquaredError::new().with_dtype(bad).unwrap_err();
        assert!(e.to_string().contains(bad), "{e}");
    }
    let cfg = json!({"class_name": "Dice", "config": {"name": "dice", "dtype": "float32"}});
    assert!(losses::deserialize(&cfg).is_ok());
    let policy = json!({"class_name": "Tversky", "config": {"dtype":
        {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}}}});
    assert!(losses::deserialize(&policy).is_ok());
    let bad = json!({"class_name": "Dice", "config": {"dtype": "float16"}});
    assert!(losses::deserialize(&bad).is_err());
}

#[test]
fn bad_arguments_and_inputs_are_errors() {
    for q in [0.0, 1.0, -0.5, 1.5, f64::NAN] {
        let e = CategoricalGeneralizedCrossEntropy::new().q(q).unwrap_err();
        assert!(e.to_string().contains("q must be in the interval (0, 1)"), "{e}");
    }
    let bad_q = json!({"class_name": "CategoricalGeneralizedCrossEntropy", "config": {"q": 2.0}});
    assert!(losses::deserialize(&bad_q).is_err());
    let yt = t(vec![1.0, 0.0], &[1, 2]);
    let p = CategoricalFocalArgs { label_smoothing: 1.5, ..Default::default() };
    assert!(CategoricalFocalCrossentropy::new().params(p).call(&yt, &yt).is_err());
    assert!(CategoricalFocalCrossentropy::new().call(&yt, &t(vec![0.5; 3], &[1, 3])).is_err());
    assert!(Dice::new().axis(3).call(&yt, &yt).is_err());
    assert!(Dice::new().axes(&[1, -1]).call(&yt, &yt).is_err());
    let bad_axis = json!({"class_name": "Dice", "config": {"axis": "x"}});
    assert!(losses::deserialize(&bad_axis).is_err());
    // Circle: one label per embedding, embeddings (batch, dim).
    assert!(Circle::new()
        .call(&Tensor::from_i32(vec![0, 1, 2], [3]).unwrap(), &t(vec![1.0; 4], &[2, 2]))
        .is_err());
    assert!(Circle::new().call(&Tensor::from_i32(vec![0], [1]).unwrap(), &t(vec![1.0; 2], &[2])).is_err());
    // Generalized crossentropy: labels (batch,) against (batch, classes).
    let e = CategoricalGeneralizedCrossEntropy::new()
        .call(&Tensor::from_i32(vec![0, 1, 2], [3]).unwrap(), &t(vec![0.5; 4], &[2, 2]));
    assert!(e.is_err());
    // CTC: Keras's shape messages, and labels outside the classes.
    let logits = t(vec![0.0; 2 * 4 * 3], &[2, 4, 3]);
    let e = CTC::new().call(&Tensor::from_i32(vec![1, 2], [2]).unwrap(), &logits).unwrap_err();
    assert!(e.to_string().contains("(batch_size, max_length)"), "{e}");
    let e = CTC::new()
        .call(&Tensor::from_i32(vec![1, 2], [2, 1]).unwrap(), &t(vec![0.0; 6], &[2, 3]))
        .unwrap_err();
    assert!(e.to_string().contains("(batch_size, max_length, num_classes)"), "{e}");
    let e = CTC::new().call(&Tensor::from_i32(vec![1, 7], [2, 1]).unwrap(), &logits).unwrap_err();
    assert!(e.to_string().contains("outside the valid range"), "{e}");
    // Too few frames for the labels: the sequence is impossible and the loss infinite, as in
    // TensorFlow.
    let long = Tensor::from_i32(vec![1, 2, 1, 2, 1, 0, 0, 0, 0, 0], [2, 5]).unwrap();
    let v = CTC::new().with_reduction(Reduction::None).call(&long, &logits).unwrap().to_f32_vec();
    assert!(v[0].is_infinite() && v[1].is_finite(), "{v:?}");
}

#[test]
fn circle_masks_samples_without_pairs() {
    // Sample 2 has no positive: its loss is 0 and it does not count in the mean.
    let labels = Tensor::from_i32(vec![0, 0, 1], [3]).unwrap();
    let e = t(vec![1.0, 0.0, 0.6, 0.8, 0.0, 1.0], &[3, 2]);
    let l = Circle::new();
    let per = Circle::new().with_reduction(Reduction::None).call(&labels, &e).unwrap().to_f32_vec();
    assert_eq!(per[2], 0.0);
    let mean = l.compute(&labels, &e, None).unwrap().item().unwrap();
    assert!((mean - (per[0] + per[1]) / 2.0).abs() < 1e-5 * (1.0 + mean.abs()));
}

#[test]
fn ctc_decode_arguments_and_errors() {
    use keras::ops::{ctc_decode, CtcDecodeArgs};
    let e = CtcDecodeArgs::default().strategy("viterbi").unwrap_err();
    assert!(e
        .to_string()
        .contains("Invalid strategy viterbi. Supported values are 'greedy' and 'beam_search'."));
    let x = t(pseudo(2 * 3 * 4, 1.0), &[2, 3, 4]);
    let lens = Tensor::from_i32(vec![3, 2], [2]).unwrap();
    let beam = CtcDecodeArgs::default().strategy("beam_search").unwrap();
    let (d, s) = ctc_decode(&x, &lens, beam.beam_width(4).top_paths(2)).unwrap();
    assert_eq!((d.shape(), s.shape()), (&[2, 2, 3][..], &[2, 2][..]));
    let e = ctc_decode(&x, &lens, beam.beam_width(2).top_paths(3)).unwrap_err();
    assert!(e.to_string().contains("requested more paths than the beam width"), "{e}");
    // One frame, 4 classes: at most 4 prefixes (the empty one and 3 labels).
    let one = Tensor::from_i32(vec![1, 1], [2]).unwrap();
    let e = ctc_decode(&x, &one, beam.beam_width(10).top_paths(5)).unwrap_err();
    assert!(e.to_string().contains("Less leaves in the beam search than requested"), "{e}");
    let too_long = Tensor::from_i32(vec![4, 1], [2]).unwrap();
    assert!(ctc_decode(&x, &too_long, CtcDecodeArgs::default()).is_err());
    assert!(ctc_decode(&x, &Tensor::from_i32(vec![1], [1]).unwrap(), CtcDecodeArgs::default()).is_err());
    assert!(ctc_decode(&x, &lens, CtcDecodeArgs::default().mask_index(Some(4))).is_err());
    assert!(ctc_decode(&t(vec![0.0; 4], &[2, 2]), &lens, CtcDecodeArgs::default()).is_err());
    assert!(ctc_decode(&x, &lens, beam.beam_width(0)).is_err());
    // ctc_loss with explicit lengths.
    let target = Tensor::from_i32(vec![1, 2, 3, 0], [2, 2]).unwrap();
    let l = keras::ops::ctc_loss(&target, &x, &Tensor::from_i32(vec![2, 1], [2]).unwrap(), &lens, 0).unwrap();
    assert_eq!(l.shape(), &[2]);
    assert!(keras::ops::ctc_loss(&target, &x, &Tensor::from_i32(vec![3, 1], [2]).unwrap(), &lens, 0).is_err());
}
