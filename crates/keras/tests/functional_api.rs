//! The Functional API as a user sees it: symbolic inputs, layers called on them, models made
//! from inputs and outputs, shared layers, nested models, feature extraction, trainable
//! flags, masks, saving, and the errors of a bad graph.

// `&[x.clone()]` reads as "the list of inputs" in these tests.
#![allow(clippy::cloned_ref_to_slice_refs)]

mod common;

use keras::layers::{
    BatchNormalization, CallContext, Dense, Embedding, Layer, LayerBase, Shape, Variable, LSTM,
};
use keras::models::{Functional, Model, Sequential, SharedLayer, SymbolicCall};
use keras::{DType, FitArgs, Input, PredictArgs, Tensor};
use serde_json::{json, Value};

/// A user's merging layer: the element-wise sum of a list of tensors (no weights).
struct Sum {
    base: LayerBase,
}

impl Sum {
    fn new() -> Self {
        Sum { base: LayerBase::new("sum") }
    }
}

impl Layer for Sum {
    common::layer_basics!("Sum");
    fn build_multi(&mut self, _shapes: &[Shape]) -> keras::Result<()> {
        self.base.built = true;
        Ok(())
    }
    fn compute_output_shape(&self, s: &[Option<usize>]) -> keras::Result<Shape> {
        Ok(s.to_vec())
    }
    fn compute_output_shapes(&self, shapes: &[Shape]) -> keras::Result<Vec<Shape>> {
        if shapes.windows(2).any(|w| w[0][1..] != w[1][1..]) {
            return Err(keras::Error::Shape(format!("Sum needs equal shapes, got {shapes:?}")));
        }
        Ok(vec![shapes[0].clone()])
    }
    fn call(&self, x: &Tensor, _ctx: &mut CallContext) -> keras::Result<Tensor> {
        Ok(x.clone())
    }
    fn call_multi(
        &self,
        xs: &[Tensor],
        _m: &[Option<Tensor>],
        _ctx: &mut CallContext,
    ) -> keras::Result<Vec<Tensor>> {
        let mut acc = xs[0].clone();
        for x in &xs[1..] {
            acc = keras::ops::add(&acc, x)?;
        }
        Ok(vec![acc])
    }
    fn takes_list(&self) -> bool {
        true
    }
    fn get_config(&self) -> Value {
        json!({ "name": self.base.name })
    }
}

fn data(rows: usize, cols: usize, seed: u32) -> Tensor {
    let v: Vec<f32> = (0..rows * cols)
        .map(|i| (((i as u32).wrapping_mul(2654435761u32) ^ seed) % 1000) as f32 / 500.0 - 1.0)
        .collect();
    Tensor::new(v, vec![rows, cols]).unwrap()
}

/// `x @ kernel + bias` by hand.
fn dense_ref(x: &Tensor, w: &[&Variable]) -> Vec<f32> {
    let (k, b) = (w[0].value().to_f32_vec(), w[1].value().to_f32_vec());
    let (n, i) = (x.shape()[0], x.shape()[1]);
    let o = b.len();
    let xv = x.to_f32_vec();
    let mut out = vec![0.0; n * o];
    for r in 0..n {
        for c in 0..o {
            out[r * o + c] = b[c] + (0..i).map(|j| xv[r * i + j] * k[j * o + c]).sum::<f32>();
        }
    }
    out
}

fn close(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() <= 1e-5)
}

#[test]
fn two_inputs_shared_layer_and_a_users_merging_layer() {
    let (a, b) = (Input::named(&[4], "left"), Input::named(&[4], "right"));
    let enc = SharedLayer::new(Dense::new(3).name("encoder"));
    let (ea, eb) = (enc.apply(&a).unwrap(), enc.apply(&b).unwrap());
    let s = Sum::new().apply_list(&[&ea, &eb]).unwrap();
    let out = Dense::new(2).name("head").apply(&s).unwrap();
    let model = Model::new(&[a, b], &[out, ea]).unwrap();
    assert_eq!(model.input_names(), ["left", "right"]);
    assert_eq!(model.output_names(), ["head", "encoder"]);
    let names: Vec<&str> = model.layers().iter().map(|l| l.name()).collect();
    assert_eq!(names, ["left", "right", "encoder", "sum", "head"]);
    // One kernel and bias for the two calls of the encoder.
    assert_eq!(model.count_params(), (4 * 3 + 3) + (3 * 2 + 2));
    let (xa, xb) = (data(5, 4, 1), data(5, 4, 2));
    let ys = model.predict_on_batch(&[xa.clone(), xb.clone()]).unwrap();
    let ew = model.get_layer("encoder").unwrap().layer().weights();
    let (ra, rb) = (dense_ref(&xa, &ew), dense_ref(&xb, &ew));
    assert!(close(&ys[1].to_f32_vec(), &ra));
    let sum: Vec<f32> = ra.iter().zip(&rb).map(|(p, q)| p + q).collect();
    let st = Tensor::new(sum, vec![5, 3]).unwrap();
    assert!(close(&ys[0].to_f32_vec(), &dense_ref(&st, &model.get_layer("head").unwrap().layer().weights())));
    // predict in batches gives the same as one batch.
    let yp =
        model.predict(&[xa, xb], PredictArgs { batch_size: 2, verbose: 0, ..Default::default() }).unwrap();
    assert!(close(&yp[0].to_f32_vec(), &ys[0].to_f32_vec()));
}

#[test]
fn feature_extractor_is_one_line() {
    let x = Input::new(&[6]);
    let h = Dense::new(5).activation("relu").name("hidden").apply(&x).unwrap();
    let y = Dense::new(1).name("out").apply(&h).unwrap();
    let base = Model::new(&[x], &[y]).unwrap();
    let features =
        Model::new(&[base.input().unwrap()], &[base.get_layer("hidden").unwrap().output().unwrap()]).unwrap();
    let xs = data(3, 6, 7);
    let got = features.predict_on_batch(&[xs.clone()]).unwrap().remove(0);
    let want: Vec<f32> = dense_ref(&xs, &base.get_layer("hidden").unwrap().layer().weights())
        .into_iter()
        .map(|v| v.max(0.0))
        .collect();
    assert!(close(&got.to_f32_vec(), &want));
    assert_eq!(features.layers().len(), 2);
    // A layer called twice has no single output.
    let err = {
        let i = Input::new(&[2]);
        let d = SharedLayer::new(Dense::new(2).name("twice"));
        let o = d.apply(&d.apply(&i).unwrap()).unwrap();
        let m = Model::new(&[i], &[o]).unwrap();
        m.get_layer("twice").unwrap().output().unwrap_err()
    };
    assert!(err.to_string().contains("multiple inbound nodes"), "{err}");
}

#[test]
fn nested_functional_and_sequential_models_are_layers() {
    let i = Input::new(&[4]);
    let inner =
        Model::named("inner", &[i.clone()], &[Dense::new(3).name("d_in").apply(&i).unwrap()]).unwrap();
    let mut seq = Sequential::new().with_name("seq");
    seq.add(keras::layers::Input::new(&[3])).unwrap();
    seq.add(Dense::new(2).name("d_seq")).unwrap();
    let x = Input::new(&[4]);
    let h = inner.apply(&x).unwrap();
    let y = seq.apply(&h).unwrap();
    let outer = Model::new(&[x], &[y]).unwrap();
    assert_eq!(
        outer.layers().iter().map(|l| l.class_name()).collect::<Vec<_>>(),
        ["InputLayer", "Functional", "Sequential"]
    );
    assert_eq!(outer.count_params(), 4 * 3 + 3 + 3 * 2 + 2);
    let xs = data(2, 4, 3);
    let got = outer.predict_on_batch(&[xs.clone()]).unwrap().remove(0);
    let all = outer.weights();
    let h = Tensor::new(dense_ref(&xs, &all[0..2]), vec![2, 3]).unwrap();
    assert!(close(&got.to_f32_vec(), &dense_ref(&h, &all[2..4])));
}

#[test]
fn frozen_layers_do_not_train_and_frozen_batch_norm_uses_moving_statistics() {
    keras::utils::set_random_seed(1);
    let x = Input::new(&[4]);
    let h = Dense::new(4).name("frozen").apply(&x).unwrap();
    let h = BatchNormalization::new().name("bn").apply(&h).unwrap();
    let y = Dense::new(1).name("trained").apply(&h).unwrap();
    let mut model = Model::new(&[x], &[y]).unwrap();
    model.get_layer_mut("frozen").unwrap().set_trainable(false);
    model.get_layer_mut("bn").unwrap().set_trainable(false);
    assert_eq!(model.trainable_weights().len(), 2);
    let before = model.get_weights();
    let xs = data(16, 4, 5);
    // A frozen BatchNormalization runs in inference mode even in a training call.
    let t = model.call(&[xs.clone()], true).unwrap().remove(0);
    let i = model.call(&[xs.clone()], false).unwrap().remove(0);
    assert!(close(&t.to_f32_vec(), &i.to_f32_vec()));
    model.compile("sgd", "mse", &[]).unwrap();
    let ys = data(16, 1, 9);
    model.fit(&xs, &ys, FitArgs { epochs: 2, batch_size: 4, verbose: 0, ..Default::default() }).unwrap();
    let after = model.get_weights();
    for k in 0..6 {
        assert_eq!(before[k].to_f32_vec(), after[k].to_f32_vec(), "weight {k} is frozen");
    }
    assert_ne!(before[6].to_f32_vec(), after[6].to_f32_vec(), "the head trains");
    // A frozen model freezes everything in it.
    model.set_trainable(false);
    assert!(model.trainable_weights().is_empty());
}

#[test]
fn masks_flow_along_the_graph_like_in_sequential() {
    keras::utils::set_random_seed(2);
    let ids = Input::typed(&[5], DType::I32, Some("ids"));
    let e = Embedding::new(9, 3).mask_zero(true).name("emb").apply(&ids).unwrap();
    let h = LSTM::new(2).name("lstm").apply(&e).unwrap();
    let model = Model::new(&[ids], &[h]).unwrap();
    let mut seq = Sequential::new();
    seq.add(keras::layers::Input::new(&[5])).unwrap();
    seq.add(Embedding::new(9, 3).mask_zero(true)).unwrap();
    seq.add(LSTM::new(2)).unwrap();
    seq.set_weights(&model.get_weights()).unwrap();
    let x = Tensor::from_i32(vec![1, 2, 0, 0, 0, 3, 4, 5, 6, 0], vec![2, 5]).unwrap();
    let got = model.predict_on_batch(&[x.clone()]).unwrap().remove(0);
    let want = seq.predict_on_batch(x.cast(DType::F32)).unwrap();
    assert!(close(&got.to_f32_vec(), &want.to_f32_vec()));
    // With a variable length, padding changes nothing once masked.
    let ids = Input::batch_shape(&[None, None], DType::I32, None);
    let e = Embedding::new(9, 3).mask_zero(true).apply(&ids).unwrap();
    let var = Model::new(&[ids.clone()], &[LSTM::new(2).apply(&e).unwrap()]).unwrap();
    let mut var = var;
    var.set_weights(&model.get_weights()).unwrap();
    let short = Tensor::from_i32(vec![1, 2], vec![1, 2]).unwrap();
    let padded = Tensor::from_i32(vec![1, 2, 0, 0, 0], vec![1, 5]).unwrap();
    let a = var.predict_on_batch(&[short]).unwrap().remove(0).to_f32_vec();
    let b = var.predict_on_batch(&[padded]).unwrap().remove(0).to_f32_vec();
    assert!(close(&a, &b), "{a:?} vs {b:?}");
    assert!(close(&a, &got.to_f32_vec()[..2]));
}

#[test]
fn fit_and_evaluate_a_single_output_graph() {
    keras::utils::set_random_seed(3);
    let x = Input::new(&[3]);
    let h = Dense::new(8).activation("tanh").apply(&x).unwrap();
    let y = Dense::new(1).apply(&h).unwrap();
    let mut model = Model::new(&[x], &[y]).unwrap();
    model.compile("adam", "mse", &["mae"]).unwrap();
    let xs = data(64, 3, 11);
    let v = xs.to_f32_vec();
    let ys = Tensor::new(v.chunks(3).map(|r| r[0] - 0.5 * r[1]).collect::<Vec<_>>(), vec![64, 1]).unwrap();
    let first =
        model.evaluate(&xs, &ys, keras::EvaluateArgs { verbose: 0, ..Default::default() }).unwrap()["loss"];
    model.fit(&xs, &ys, FitArgs { epochs: 30, batch_size: 16, verbose: 0, ..Default::default() }).unwrap();
    let last =
        model.evaluate(&xs, &ys, keras::EvaluateArgs { verbose: 0, ..Default::default() }).unwrap()["loss"];
    assert!(last < first * 0.5, "loss {first} -> {last}");
}

#[test]
fn save_and_load_in_every_format() {
    keras::utils::set_random_seed(4);
    let (a, b) = (Input::named(&[4], "a"), Input::named(&[3], "b"));
    let enc = SharedLayer::new(Dense::new(3).name("enc"));
    let ea = enc.apply(&a).unwrap();
    let eb = enc.apply(&Dense::new(4).name("lift").apply(&b).unwrap()).unwrap();
    let inner_in = Input::new(&[3]);
    let inner = Model::named(
        "inner",
        &[inner_in.clone()],
        &[BatchNormalization::new().name("inner_bn").apply(&inner_in).unwrap()],
    )
    .unwrap();
    let n = inner.apply(&eb).unwrap();
    let model = Model::named("saved", &[a, b], &[ea, n]).unwrap();
    let xs = [data(3, 4, 1), data(3, 3, 2)];
    let want = model.predict_on_batch(&xs).unwrap();
    let dir = std::env::temp_dir().join(format!("keras_rs_functional_api_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for file in ["m.keras", "m.h5"] {
        let p = dir.join(file);
        model.save(&p).unwrap();
        let back = Functional::load(&p).unwrap();
        assert_eq!(back.name(), "saved");
        assert_eq!(back.get_config(), model.get_config(), "{file}");
        let got = back.predict_on_batch(&xs).unwrap();
        for (g, w) in got.iter().zip(&want) {
            assert!(close(&g.to_f32_vec(), &w.to_f32_vec()), "{file}");
        }
    }
    let p = dir.join("m.weights.h5");
    model.save_weights(&p).unwrap();
    let mut fresh = Functional::from_config(&model.get_config()).unwrap();
    fresh.load_weights(&p).unwrap();
    assert!(close(&fresh.predict_on_batch(&xs).unwrap()[1].to_f32_vec(), &want[1].to_f32_vec()));
    std::fs::remove_dir_all(&dir).ok();
}
