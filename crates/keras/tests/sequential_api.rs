//! The Sequential workflow: build, add/pop, weights, fit/evaluate/predict, History semantics,
//! the *_on_batch steps, summary and configs.

use keras::layers::{Conv2D, Dense, Dropout, Flatten, Input, MaxPooling2D};
use keras::models::Sequential;
use keras::optimizers::SGD;
use keras::{EvaluateArgs, FitArgs, PredictArgs, Tensor};

fn data(n: usize) -> (Tensor, Tensor) {
    let x: Vec<f32> = (0..n * 4).map(|i| ((i * 37 % 17) as f32 / 17.0) - 0.5).collect();
    let y: Vec<i32> = (0..n).map(|i| (i % 3) as i32).collect();
    (Tensor::new(x, [n, 4]).unwrap(), Tensor::from_i32(y, [n]).unwrap())
}

fn model() -> Sequential {
    keras::backend::clear_session();
    keras::utils::set_random_seed(1);
    let mut m = Sequential::new();
    m.add(Dense::new(8).activation("relu").input_shape(&[4])).unwrap();
    m.add(Dense::new(3).activation("softmax")).unwrap();
    m.compile(SGD::new().learning_rate(0.1), "sparse_categorical_crossentropy", &["accuracy"]).unwrap();
    m
}

#[test]
fn add_pop_layers_and_counts() {
    let mut m = model();
    assert_eq!(m.layers().len(), 2);
    assert_eq!(m.count_params(), 4 * 8 + 8 + 8 * 3 + 3);
    assert_eq!(m.output_shape().unwrap(), vec![None, Some(3)]);
    let popped = m.pop().unwrap();
    assert_eq!(popped.name(), "dense_1");
    assert_eq!(m.output_shape().unwrap(), vec![None, Some(8)]);
    assert!(m.get_layer("dense").is_ok());
    assert!(m.get_layer("nope").is_err());
}

#[test]
fn deferred_build_on_first_fit() {
    keras::backend::clear_session();
    let mut m = Sequential::new();
    m.add(Dense::new(3)).unwrap();
    assert!(!m.built());
    assert!(m.predict(Tensor::zeros([1, 4]), PredictArgs::default()).is_err());
    m.compile("adam", "mse", &[]).unwrap();
    m.fit(Tensor::zeros([4, 5]), Tensor::zeros([4, 3]), FitArgs::default().verbose(0)).unwrap();
    assert!(m.built());
    assert_eq!(m.count_params(), 5 * 3 + 3);
}

#[test]
fn explicit_build() {
    keras::backend::clear_session();
    let mut m = Sequential::new();
    m.add(Conv2D::new(2, [3, 3])).unwrap();
    m.add(MaxPooling2D::new([2, 2])).unwrap();
    m.add(Flatten::new()).unwrap();
    m.build(&[None, Some(6), Some(6), Some(1)]).unwrap();
    assert_eq!(m.output_shape().unwrap(), vec![None, Some(8)]);
}

#[test]
fn fit_reduces_loss_and_history_has_every_epoch() {
    let mut m = model();
    let (x, y) = data(60);
    let h =
        m.fit(&x, &y, FitArgs::default().epochs(5).batch_size(8).verbose(0).validation_split(0.2)).unwrap();
    assert_eq!(h.epoch, vec![0, 1, 2, 3, 4]);
    for k in ["loss", "accuracy", "val_loss", "val_accuracy"] {
        assert_eq!(h.get(k).unwrap().len(), 5, "{k}");
    }
    let loss = h.get("loss").unwrap();
    assert!(loss[4] < loss[0], "{loss:?}");
    // initial_epoch resumes numbering.
    let h2 = m.fit(&x, &y, FitArgs::default().epochs(7).initial_epoch(5).verbose(0)).unwrap();
    assert_eq!(h2.epoch, vec![5, 6]);
}

#[test]
fn history_loss_is_the_batch_weighted_mean_before_updates() {
    // With lr 0 nothing changes, so the epoch loss equals evaluate's loss on the same data,
    // including a last partial batch weighted by its real size.
    let mut m = model();
    m.compile(SGD::new().learning_rate(0.0), "sparse_categorical_crossentropy", &["accuracy"]).unwrap();
    let (x, y) = data(21);
    let h = m.fit(&x, &y, FitArgs::default().batch_size(4).shuffle(false).verbose(0)).unwrap();
    let logs = m.evaluate(&x, &y, EvaluateArgs::default().batch_size(21).verbose(0)).unwrap();
    assert!((h.get("loss").unwrap()[0] - logs["loss"]).abs() < 1e-5);
    assert!((h.get("accuracy").unwrap()[0] - logs["accuracy"]).abs() < 1e-6);
}

#[test]
fn sample_weights_change_the_loss() {
    let mut m = model();
    let (x, y) = data(6);
    let plain = m.test_on_batch(&x, &y, None).unwrap()["loss"];
    let w = Tensor::new(vec![2.0; 6], [6]).unwrap();
    let weighted = m.test_on_batch(&x, &y, Some(&w)).unwrap()["loss"];
    assert!((weighted - 2.0 * plain).abs() < 1e-5, "{weighted} vs {plain}");
}

#[test]
fn same_seed_same_training() {
    let run = || {
        let mut m = model();
        let (x, y) = data(30);
        m.fit(&x, &y, FitArgs::default().epochs(2).batch_size(8).verbose(0)).unwrap();
        m.get_weights()
    };
    let a = run();
    let b = run();
    for (p, q) in a.iter().zip(&b) {
        assert_eq!(p.as_f32().unwrap(), q.as_f32().unwrap());
    }
}

#[test]
fn weights_round_trip_and_predict_in_batches() {
    let mut m = model();
    let (x, _) = data(10);
    let before = m.predict(&x, PredictArgs::default().batch_size(3).verbose(0)).unwrap();
    assert_eq!(before.shape(), &[10, 3]);
    let whole = m.predict_on_batch(&x).unwrap();
    assert_eq!(before.as_f32().unwrap(), whole.as_f32().unwrap());
    let w = m.get_weights();
    let zeros: Vec<Tensor> = w.iter().map(|t| Tensor::zeros(t.shape().to_vec())).collect();
    m.set_weights(&zeros).unwrap();
    let uniform = m.predict_on_batch(&x).unwrap();
    assert!(uniform.as_f32().unwrap().iter().all(|&p| (p - 1.0 / 3.0).abs() < 1e-6));
    m.set_weights(&w).unwrap();
    assert_eq!(m.predict_on_batch(&x).unwrap().as_f32().unwrap(), whole.as_f32().unwrap());
}

#[test]
fn train_on_batch_updates_weights() {
    let mut m = model();
    let (x, y) = data(8);
    let w0 = m.get_weights();
    let logs = m.train_on_batch(&x, &y, None).unwrap();
    assert!(logs.contains_key("loss") && logs.contains_key("accuracy"));
    assert_ne!(w0[0].as_f32().unwrap(), m.get_weights()[0].as_f32().unwrap());
}

#[test]
fn dropout_only_in_training() {
    keras::backend::clear_session();
    let mut m = Sequential::new();
    m.add(Input::new(&[100])).unwrap();
    m.add(Dropout::new(0.5)).unwrap();
    let x = Tensor::ones([2, 100]);
    assert_eq!(m.call(&x, false).unwrap().as_f32().unwrap(), x.as_f32().unwrap());
    let t = m.call(&x, true).unwrap();
    let v = t.as_f32().unwrap();
    assert!(v.iter().all(|&a| a == 0.0 || a == 2.0));
    let kept = v.iter().filter(|&&a| a == 2.0).count();
    assert!((60..140).contains(&kept), "{kept}");
}

#[test]
fn config_round_trip_rebuilds_the_same_architecture() {
    let m = model();
    let cfg = m.get_config();
    let m2 = Sequential::from_config(&cfg).unwrap();
    assert_eq!(m2.get_config(), cfg);
    assert_eq!(m2.count_params(), m.count_params());
    let mut lambda = cfg.clone();
    lambda["layers"][1]["class_name"] = "Lambda".into();
    assert!(Sequential::from_config(&lambda).unwrap_err().message().contains("Lambda"));
}

#[test]
fn summary_lists_layers_and_totals() {
    let m = model();
    let s = m.summary_string(None, false).unwrap();
    assert!(s.contains("dense (Dense)") && s.contains("(None, 8)") && s.contains("Total params: 67"), "{s}");
}

/// A `Sequence` over in-memory arrays, in order, that counts its epochs.
struct Rows {
    x: Tensor,
    y: Tensor,
    batch: usize,
    epochs_ended: usize,
}

impl keras::utils::Sequence for Rows {
    fn len(&self) -> usize {
        self.x.shape()[0].div_ceil(self.batch)
    }
    fn get_batch(&self, i: usize) -> keras::Result<keras::utils::Batch> {
        let (s, e) = (i * self.batch, ((i + 1) * self.batch).min(self.x.shape()[0]));
        Ok(keras::utils::Batch::new(self.x.slice_rows(s, e)?, self.y.slice_rows(s, e)?))
    }
    fn on_epoch_end(&mut self) {
        self.epochs_ended += 1;
    }
}

#[test]
fn fit_evaluate_predict_on_a_sequence_match_the_array_path() {
    let (x, y) = data(20);
    let mut a = model();
    let ha = a.fit(&x, &y, FitArgs::default().epochs(3).batch_size(8).shuffle(false).verbose(0)).unwrap();
    let mut b = model();
    let mut seq = Rows { x: x.clone(), y: y.clone(), batch: 8, epochs_ended: 0 };
    let hb = b.fit_sequence(&mut seq, FitArgs::default().epochs(3).verbose(0)).unwrap();
    assert_eq!(seq.epochs_ended, 3);
    assert_eq!(ha.history["loss"], hb.history["loss"]);
    for (wa, wb) in a.get_weights().iter().zip(b.get_weights()) {
        assert_eq!(wa.as_f32().unwrap(), wb.as_f32().unwrap());
    }
    let ea = a.evaluate(&x, &y, EvaluateArgs::default().batch_size(8).verbose(0)).unwrap();
    let eb = b.evaluate_sequence(&mut seq, EvaluateArgs::default().verbose(0)).unwrap();
    assert_eq!(ea, eb);
    let pa = a.predict(&x, PredictArgs::default().batch_size(8).verbose(0)).unwrap();
    let pb = b.predict_sequence(&mut seq, PredictArgs::default().verbose(0)).unwrap();
    assert_eq!(pa.as_f32().unwrap(), pb.as_f32().unwrap());
    // Keras refuses validation_split for a dataset.
    let err = b.fit_sequence(&mut seq, FitArgs::default().validation_split(0.2).verbose(0)).unwrap_err();
    assert!(err.to_string().contains("validation_split"), "{err}");
}
