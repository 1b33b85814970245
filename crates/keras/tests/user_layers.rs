//! User-defined layers and models, written as a user of the crate writes them: a layer with
//! `add_weight`, a layer made of layers, the class registry for saving, and a subclassed
//! model trained and compared with the same model in Keras (fixtures made by
//! `tests/fixtures/user_layers/make_fixtures.py`).

mod common;

use common::{max_diff, TempDir};
use std::path::PathBuf;

use keras::layers::{
    call_sublayer, CallContext, Dense, Input, Layer, LayerBase, Shape, Variable, WeightSpec,
};
use keras::models::{load_model, Sequential, SubclassedModel};
use keras::optimizers::SGD;
use keras::regularizers::Regularizer;
use keras::saving::{inspect_h5, register_keras_serializable};
use keras::{EvaluateArgs, FitArgs, PredictArgs, Result, Tensor};
use serde_json::Value;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/user_layers").join(name)
}

/// `x * scale + offset` over the last axis: a trainable scale (ones, L2 0.01) and a
/// non-trainable offset (zeros). The same layer as `Scale` in make_fixtures.py.
struct Scale {
    base: LayerBase,
    scale: Option<Variable>,
    offset: Option<Variable>,
}

impl Scale {
    fn new() -> Self {
        Scale { base: LayerBase::new("scale"), scale: None, offset: None }
    }

    fn from_config(cfg: &Value) -> Result<Self> {
        let mut s = Scale::new();
        s.base.apply_config(cfg);
        Ok(s)
    }
}

impl Layer for Scale {
    keras::sublayers!(; scale, offset);

    common::layer_basics!("Scale");
    fn build(&mut self, shape: &[Option<usize>]) -> Result<()> {
        let d = shape.last().copied().flatten().unwrap_or(1);
        let l2 = Regularizer::l2(0.01)?;
        self.scale =
            Some(self.base.add_weight(WeightSpec::new("scale", &[d]).initializer("ones").regularizer(l2))?);
        self.offset = Some(
            self.base.add_weight(WeightSpec::new("offset", &[d]).initializer("zeros").trainable(false))?,
        );
        self.base.build_input_shape = Some(shape.to_vec());
        self.base.built = true;
        Ok(())
    }
    fn compute_output_shape(&self, shape: &[Option<usize>]) -> Result<Shape> {
        Ok(shape.to_vec())
    }
    fn call(&self, x: &Tensor, _ctx: &mut CallContext) -> Result<Tensor> {
        let (Some(s), Some(o)) = (&self.scale, &self.offset) else {
            return Err(keras::Error::State(format!("Layer {} is not built", self.name())));
        };
        Ok(keras::ops::add(&keras::ops::mul(x, s.value())?, o.value())?)
    }
    fn get_config(&self) -> Value {
        Value::Object(self.base.base_config())
    }
}

fn register_scale() {
    assert_eq!(register_keras_serializable("keras_rs_test", None, Scale::from_config), "keras_rs_test>Scale");
}

#[test]
fn add_weight_makes_trainable_and_frozen_weights_with_penalties() {
    let mut s = Scale::new();
    s.base.name = "s".into();
    s.build(&[None, Some(3)]).unwrap();
    let paths: Vec<&str> = s.weights().iter().map(|w| w.path()).collect();
    assert_eq!(paths, ["s/scale", "s/offset"]);
    assert_eq!(s.trainable_weights().len(), 1);
    assert_eq!(s.non_trainable_weights()[0].name(), "offset");
    assert_eq!(s.get_weights()[0].to_f32_vec(), vec![1.0; 3]);
    // L2(0.01) of three ones.
    let losses = s.regularization_losses().unwrap();
    assert_eq!(losses.len(), 1);
    assert!((losses[0].item().unwrap() - 0.03).abs() < 1e-7);
    // A frozen layer trains nothing and has no weight penalty (Keras `layer.losses`).
    s.set_trainable(false);
    assert!(s.trainable_weights().is_empty());
    assert!(s.regularization_losses().unwrap().is_empty());

    // Keras orders own weights trainable first, whatever the creation order.
    let base = LayerBase::new("order");
    let frozen = base.add_weight(WeightSpec::new("frozen", &[2]).trainable(false)).unwrap();
    let free = base.add_weight(WeightSpec::new("free", &[2]).constraint("non_neg")).unwrap();
    assert!(free.constraint().is_some());
    struct Two(LayerBase, Variable, Variable);
    impl Layer for Two {
        common::layer_basics!("Two", 0);
        fn own_weights(&self) -> Vec<&Variable> {
            vec![&self.1, &self.2]
        }
        fn compute_output_shape(&self, s: &[Option<usize>]) -> Result<Shape> {
            Ok(s.to_vec())
        }
        fn call(&self, x: &Tensor, _: &mut CallContext) -> Result<Tensor> {
            Ok(x.clone())
        }
        fn get_config(&self) -> Value {
            Value::Object(self.0.base_config())
        }
    }
    let two = Two(base, frozen, free);
    let names: Vec<&str> = two.weights().iter().map(|w| w.name()).collect();
    assert_eq!(names, ["free", "frozen"]);
}

#[test]
fn add_weight_reports_bad_arguments() {
    let base = LayerBase::new("bad");
    let msg = |spec: WeightSpec| base.add_weight(spec).unwrap_err().to_string();
    assert!(msg(WeightSpec::new("w", &[2]).initializer("nope"))
        .contains("Could not interpret initializer identifier: nope"));
    assert!(msg(WeightSpec::new("w", &[2]).regularizer("nope")).contains("Could not interpret regularizer"));
    assert!(msg(WeightSpec::new("w", &[2]).constraint("nope")).contains("Could not interpret constraint"));
    assert!(msg(WeightSpec::new("w", &[2]).dtype("complex64")).contains("Invalid dtype: complex64"));
    assert!(msg(WeightSpec::new("count", &[]).dtype("int64")).contains("cannot be trainable"));
    assert!(msg(WeightSpec::new("a/b", &[2])).contains("without '/'"));
    let count = base.add_weight(WeightSpec::new("count", &[]).dtype("int64").trainable(false)).unwrap();
    assert_eq!(count.value().dtype(), keras::DType::I64);
    // The default initializer of a float weight is glorot_uniform: not all zeros.
    let w = base.add_weight(WeightSpec::new("w", &[4, 4])).unwrap();
    assert!(w.value().to_f32_vec().iter().any(|v| *v != 0.0));
}

/// A layer made of layers: a Dense, a nested composite, and a list of heads.
struct Inner {
    base: LayerBase,
    dense: Dense,
    scale: Scale,
}

impl Layer for Inner {
    keras::sublayers!(dense, scale);

    common::layer_basics!("Inner");
    fn build(&mut self, shape: &[Option<usize>]) -> Result<()> {
        self.dense.build(shape)?;
        self.scale.build(&self.dense.compute_output_shape(shape)?)?;
        self.base.built = true;
        Ok(())
    }
    fn compute_output_shape(&self, shape: &[Option<usize>]) -> Result<Shape> {
        self.dense.compute_output_shape(shape)
    }
    fn call(&self, x: &Tensor, ctx: &mut CallContext) -> Result<Tensor> {
        // As Keras's `self.scale(self.dense(x))`: each sub-layer's activity penalty counts.
        let h = call_sublayer(&self.dense, x, ctx)?;
        call_sublayer(&self.scale, &h, ctx)
    }
    fn get_config(&self) -> Value {
        Value::Object(self.base.base_config())
    }
}

struct Block {
    base: LayerBase,
    first: Dense,
    inner: Inner,
    heads: Vec<Dense>,
    gain: Option<Variable>,
}

impl Block {
    fn new(name: &str) -> Self {
        Block {
            base: LayerBase::named(name),
            first: Dense::new(5).activation("relu").name("first"),
            inner: Inner {
                base: LayerBase::named("inner"),
                dense: Dense::new(4).name("in_dense"),
                scale: Scale::new(),
            },
            heads: vec![Dense::new(2).name("head_a"), Dense::new(2).name("head_b")],
            gain: None,
        }
    }
}

impl Layer for Block {
    keras::sublayers!(first, inner, [heads]; gain);

    common::layer_basics!("Block");
    fn build(&mut self, shape: &[Option<usize>]) -> Result<()> {
        self.first.build(shape)?;
        let s = self.first.compute_output_shape(shape)?;
        self.inner.build(&s)?;
        let s = self.inner.compute_output_shape(&s)?;
        for h in &mut self.heads {
            h.build(&s)?;
        }
        self.gain = Some(self.base.add_weight(WeightSpec::new("gain", &[]).initializer("ones"))?);
        self.base.build_input_shape = Some(shape.to_vec());
        self.base.built = true;
        Ok(())
    }
    fn compute_output_shape(&self, shape: &[Option<usize>]) -> Result<Shape> {
        let s = self.inner.compute_output_shape(&self.first.compute_output_shape(shape)?)?;
        self.heads[0].compute_output_shape(&s)
    }
    fn call(&self, x: &Tensor, ctx: &mut CallContext) -> Result<Tensor> {
        let h = self.inner.call(&self.first.call(x, ctx)?, ctx)?;
        let mut y = self.heads[0].call(&h, ctx)?;
        for head in &self.heads[1..] {
            y = keras::ops::add(&y, &head.call(&h, ctx)?)?;
        }
        let gain = self.gain.as_ref().ok_or_else(|| keras::Error::State("not built".into()))?;
        Ok(keras::ops::mul(&y, gain.value())?)
    }
    fn get_config(&self) -> Value {
        Value::Object(self.base.base_config())
    }
}

fn block_model() -> Sequential {
    let mut m = Sequential::new().with_name("holder");
    m.add(Input::new(&[3])).unwrap();
    m.add(Block::new("block")).unwrap();
    m
}

#[test]
fn composite_layers_expose_nested_weights_paths_and_trainability() {
    let mut m = block_model();
    let paths: Vec<String> = m.weights().iter().map(|w| w.path().to_string()).collect();
    let block = m.layers()[0].as_any().downcast_ref::<Block>().unwrap();
    let scale = format!("block/inner/{}", block.inner.scale.name());
    assert_eq!(
        paths,
        [
            "block/gain".to_string(),
            "block/first/kernel".into(),
            "block/first/bias".into(),
            "block/inner/in_dense/kernel".into(),
            "block/inner/in_dense/bias".into(),
            format!("{scale}/scale"),
            format!("{scale}/offset"),
            "block/head_a/kernel".into(),
            "block/head_a/bias".into(),
            "block/head_b/kernel".into(),
            "block/head_b/bias".into(),
        ]
    );
    assert_eq!(m.count_params(), 1 + (3 * 5 + 5) + (5 * 4 + 4) + 4 + 4 + 2 * (4 * 2 + 2));
    // One non-trainable weight (the nested Scale's offset); one regularized weight.
    assert_eq!(m.trainable_weights().len(), 10);
    assert_eq!(m.losses().unwrap().len(), 1);
    // Freezing a sub-layer freezes what is below it, nothing else.
    let block = m.get_layer_mut("block").unwrap();
    block.sublayers_mut()[1].set_trainable(false);
    assert_eq!(m.trainable_weights().len(), 1 + 2 + 4);
    assert!(m.losses().unwrap().is_empty());

    // Training moves only trainable weights.
    m.compile(SGD::new().learning_rate(0.1), "mse", &[]).unwrap();
    let before = m.get_weights();
    let x = Tensor::new((0..24).map(|i| (i as f32 * 0.37).sin()).collect::<Vec<_>>(), [8, 3]).unwrap();
    let y = Tensor::new((0..16).map(|i| (i as f32 * 0.11).cos()).collect::<Vec<_>>(), [8, 2]).unwrap();
    m.fit(&x, &y, FitArgs::default().epochs(1).verbose(0)).unwrap();
    let after = m.get_weights();
    let moved: Vec<bool> = before.iter().zip(&after).map(|(a, b)| max_diff(a, b) > 0.0).collect();
    assert_eq!(moved, [true, true, true, false, false, false, false, true, true, true, true]);
}

#[test]
fn a_nested_layer_s_activity_penalty_joins_the_loss() {
    let x = Tensor::new(vec![0.5, -1.0, 2.0, 1.5, 0.0, -0.5], [2, 3]).unwrap();
    let mut inner = Inner {
        base: LayerBase::named("inner"),
        dense: Dense::new(4).activity_regularizer(Regularizer::l1(0.1).unwrap()),
        scale: Scale::new(),
    };
    inner.build(&[None, Some(3)]).unwrap();
    let mut ctx = CallContext::new(true);
    inner.call(&x, &mut ctx).unwrap();
    assert_eq!(ctx.losses.len(), 1);
    let mut plain = CallContext::new(true);
    let dense_out = inner.dense.call(&x, &mut plain).unwrap();
    let l1: f32 = dense_out.to_f32_vec().iter().map(|v| v.abs()).sum::<f32>() * 0.1;
    assert!((ctx.losses[0].item().unwrap() - l1).abs() < 1e-5);
}

#[test]
fn composite_layers_save_and_load_at_keras_paths() {
    let dir = TempDir::new("composite_layers_save_and_load_at_keras_paths");
    let m = block_model();
    let path = dir.join("block.weights.h5");
    m.save_weights(&path).unwrap();
    let layout = inspect_h5(&std::fs::read(&path).unwrap()).unwrap();
    let datasets: Vec<&str> = layout.datasets.iter().map(|d| d.path.as_str()).collect();
    assert_eq!(
        datasets,
        [
            "layers/block/first/vars/0",
            "layers/block/first/vars/1",
            "layers/block/heads/dense/vars/0",
            "layers/block/heads/dense/vars/1",
            "layers/block/heads/dense_1/vars/0",
            "layers/block/heads/dense_1/vars/1",
            "layers/block/inner/dense/vars/0",
            "layers/block/inner/dense/vars/1",
            "layers/block/inner/scale/vars/0",
            "layers/block/inner/scale/vars/1",
            "layers/block/vars/0",
        ]
    );
    let mut fresh = block_model();
    assert!(fresh.get_weights().iter().zip(m.get_weights()).any(|(a, b)| max_diff(a, &b) > 0.0));
    fresh.load_weights(&path).unwrap();
    for (a, b) in fresh.get_weights().iter().zip(m.get_weights()) {
        assert_eq!(max_diff(a, &b), 0.0);
    }
    // Legacy .h5: weights named by their nested paths, loaded back by position.
    let legacy = dir.join("block_legacy.h5");
    m.save(&legacy).unwrap();
    let mut other = block_model();
    other.load_weights(&legacy).unwrap();
    for (a, b) in other.get_weights().iter().zip(m.get_weights()) {
        assert_eq!(max_diff(a, &b), 0.0);
    }
    // The whole model does not load: Block is not registered (Keras's error).
    let e = load_model(&legacy).unwrap_err().to_string();
    assert!(e.contains("Unknown layer class 'Block'") || e.contains("Block"), "{e}");
    let keras_file = dir.join("block.keras");
    m.save(&keras_file).unwrap();
    let e = load_model(&keras_file).unwrap_err().to_string();
    assert!(e.contains("Could not locate class 'Block'"), "{e}");
}

#[test]
fn a_composite_layer_loads_keras_s_weights_file_and_predicts_like_keras() {
    // The same Block written in Keras (make_fixtures.py), with fixed weights: Keras's file
    // layout, weight order and nested paths are ours.
    let mut m = block_model();
    m.load_weights(fixture("block.weights.h5")).unwrap();
    let x = keras::io::npy::read(fixture("net_x.npy")).unwrap();
    let want = keras::io::npy::read(fixture("block_pred.npy")).unwrap();
    let got = m.predict(&x, PredictArgs::default().verbose(0)).unwrap();
    let d = max_diff(&got, &want);
    eprintln!("composite Block vs Keras: max abs diff {d:e}");
    assert!(d < 1e-5, "max abs diff {d}");
}

#[test]
fn a_sequential_with_a_registered_user_layer_loads_keras_files() {
    register_scale();
    let x = keras::io::npy::read(fixture("net_x.npy")).unwrap();
    let want = keras::io::npy::read(fixture("seq_scale_pred.npy")).unwrap();
    for file in ["seq_scale.keras", "seq_scale.h5"] {
        let m = Sequential::load(fixture(file)).unwrap();
        assert_eq!(m.layers()[1].class_name(), "Scale");
        let got = m.predict(&x, PredictArgs::default().verbose(0)).unwrap();
        let d = max_diff(&got, &want);
        eprintln!("{file} vs Keras: max abs diff {d:e}");
        assert!(d < 1e-5, "{file}: max abs diff {d}");
    }
}

#[test]
fn a_sequential_with_a_registered_user_layer_round_trips() {
    let dir = TempDir::new("a_sequential_with_a_registered_user_layer_round_trips");
    register_scale();
    let mut m = Sequential::new().with_name("mine");
    m.add(Input::new(&[3])).unwrap();
    m.add(Dense::new(4).activation("tanh")).unwrap();
    m.add(Scale::new()).unwrap();
    m.add(Dense::new(2)).unwrap();
    m.compile("adam", "mse", &[]).unwrap();
    let x = keras::io::npy::read(fixture("net_x.npy")).unwrap();
    let y = keras::io::npy::read(fixture("net_y.npy")).unwrap();
    m.fit(&x, &y, FitArgs::default().epochs(2).verbose(0)).unwrap();
    let want = m.predict(&x, PredictArgs::default().verbose(0)).unwrap();

    let cfg = m.get_config();
    let saved = &cfg["layers"][2];
    assert_eq!(saved["class_name"], "Scale");
    assert_eq!(saved["registered_name"], "keras_rs_test>Scale");
    assert!(saved["module"].is_null());

    for file in ["mine.keras", "mine.h5"] {
        let path = dir.join(file);
        m.save(&path).unwrap();
        let back = Sequential::load(&path).unwrap();
        assert_eq!(max_diff(&back.predict(&x, PredictArgs::default().verbose(0)).unwrap(), &want), 0.0);
    }
    let wpath = dir.join("mine.weights.h5");
    m.save_weights(&wpath).unwrap();
    let mut fresh = Sequential::from_config(&cfg).unwrap();
    fresh.load_weights(&wpath).unwrap();
    assert_eq!(max_diff(&fresh.predict(&x, PredictArgs::default().verbose(0)).unwrap(), &want), 0.0);
}

#[test]
fn an_unregistered_class_in_a_file_is_keras_s_error() {
    let e = load_model(fixture("seq_unregistered.keras")).unwrap_err().to_string();
    assert!(e.contains("Could not locate class 'Shift'"), "{e}");
    assert!(e.contains("register_keras_serializable"), "{e}");
    let e = load_model(fixture("seq_unregistered.h5")).unwrap_err().to_string();
    assert!(e.contains("Unknown layer: 'keras_rs_other>Shift'"), "{e}");
}

/// The subclassed model of make_fixtures.py: Dense(4, tanh) -> Scale -> Dense(2).
struct Net {
    base: LayerBase,
    hidden: Dense,
    scale: Scale,
    out: Dense,
}

impl Net {
    fn new() -> Self {
        Net {
            base: LayerBase::named("net"),
            hidden: Dense::new(4).activation("tanh").name("dense"),
            scale: Scale::new(),
            out: Dense::new(2).name("dense_1"),
        }
    }
}

impl Layer for Net {
    keras::sublayers!(hidden, scale, out);

    common::layer_basics!("Net");
    fn build(&mut self, shape: &[Option<usize>]) -> Result<()> {
        self.hidden.build(shape)?;
        let s = self.hidden.compute_output_shape(shape)?;
        self.scale.build(&s)?;
        self.out.build(&s)
    }
    fn compute_output_shape(&self, shape: &[Option<usize>]) -> Result<Shape> {
        self.out.compute_output_shape(&self.hidden.compute_output_shape(shape)?)
    }
    fn call(&self, x: &Tensor, ctx: &mut CallContext) -> Result<Tensor> {
        self.out.call(&self.scale.call(&self.hidden.call(x, ctx)?, ctx)?, ctx)
    }
    fn get_config(&self) -> Value {
        Value::Object(self.base.base_config())
    }
}

fn read_json(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixture(name)).unwrap()).unwrap()
}

#[test]
fn a_subclassed_model_trains_like_keras() {
    let dir = TempDir::new("a_subclassed_model_trains_like_keras");
    let reference = read_json("net.json");
    let x = keras::io::npy::read(fixture("net_x.npy")).unwrap();
    let y = keras::io::npy::read(fixture("net_y.npy")).unwrap();
    let mut model = SubclassedModel::new(Net::new());
    model.build(&[None, Some(3)]).unwrap();
    let paths: Vec<String> = model.weights().iter().map(|w| format!("net/{}", w.path())).collect();
    let scale_name = model.layer().scale.name().to_string();
    let want_paths: Vec<String> = reference["paths"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().replace("net/scale/", &format!("net/{scale_name}/")))
        .collect();
    assert_eq!(paths, want_paths);
    // Keras's weights file of the same model loads: the layout matches.
    model.load_weights(fixture("net_initial.weights.h5")).unwrap();
    model.compile(SGD::new().learning_rate(0.1), "mse", &[]).unwrap();
    let eval = |m: &mut SubclassedModel<Net>| {
        m.evaluate(&x, &y, EvaluateArgs::default().batch_size(8).verbose(0)).unwrap()["loss"]
    };
    let before = eval(&mut model);
    assert!((before - reference["evaluate_before"].as_f64().unwrap() as f32).abs() < 1e-5, "{before}");
    let h = model.fit(&x, &y, FitArgs::default().epochs(1).batch_size(8).shuffle(false).verbose(0)).unwrap();
    let loss = h.history["loss"][0];
    let want = reference["loss"][0].as_f64().unwrap() as f32;
    eprintln!("subclassed fit loss {loss} vs Keras {want}; evaluate before {before}");
    assert!((loss - want).abs() < 1e-5, "loss {loss} vs Keras {want}");
    let after = eval(&mut model);
    assert!((after - reference["evaluate_after"].as_f64().unwrap() as f32).abs() < 1e-5, "{after}");
    assert!(after < before);

    // The trained weights are Keras's trained weights.
    let mut keras_trained = SubclassedModel::new(Net::new());
    keras_trained.build(&[None, Some(3)]).unwrap();
    keras_trained.load_weights(fixture("net_trained.weights.h5")).unwrap();
    for (a, b) in model.get_weights().iter().zip(keras_trained.get_weights()) {
        let d = max_diff(a, &b);
        eprintln!("subclassed trained weight vs Keras: max abs diff {d:e}");
        assert!(d < 1e-5, "max abs diff {d}");
    }

    // save_weights writes Keras's layout and loads back exactly.
    let path = dir.join("net.weights.h5");
    model.save_weights(&path).unwrap();
    let ours = inspect_h5(&std::fs::read(&path).unwrap()).unwrap();
    let theirs = inspect_h5(&std::fs::read(fixture("net_trained.weights.h5")).unwrap()).unwrap();
    let names = |l: &keras::saving::H5Layout| l.datasets.iter().map(|d| d.path.clone()).collect::<Vec<_>>();
    assert_eq!(names(&ours), names(&theirs));
    let mut fresh = SubclassedModel::new(Net::new());
    fresh.build(&[None, Some(3)]).unwrap();
    fresh.load_weights(&path).unwrap();
    let args = || PredictArgs::default().verbose(0);
    assert_eq!(max_diff(&fresh.predict(&x, args()).unwrap(), &model.predict(&x, args()).unwrap()), 0.0);
}

#[test]
fn a_subclassed_model_reports_misuse() {
    let dir = TempDir::new("a_subclassed_model_reports_misuse");
    let x = Tensor::new(vec![0.0; 6], [2, 3]).unwrap();
    let mut model = SubclassedModel::new(Net::new());
    let e = model.predict(&x, PredictArgs::default()).unwrap_err().to_string();
    assert!(e.contains("has not been built"), "{e}");
    let e = model.fit(&x, &x, FitArgs::default()).unwrap_err().to_string();
    assert!(e.contains("compile()"), "{e}");
    assert!(model.save_weights(dir.join("unbuilt.weights.h5")).is_err());
    model.call(&x, false).unwrap();
    let wrong = Tensor::new(vec![0.0; 8], [2, 4]).unwrap();
    let e = model.predict(&wrong, PredictArgs::default()).unwrap_err().to_string();
    assert!(e.contains("incompatible"), "{e}");
    let e = model.load_weights(fixture("seq_scale.h5")).unwrap_err().to_string();
    assert!(e.contains("legacy"), "{e}");
    // A weights file of another model is refused, and nothing is assigned.
    let before = model.get_weights();
    assert!(model.load_weights(dir.join("missing.weights.h5")).is_err());
    assert!(model.set_weights(&before[..2]).is_err());
    assert_eq!(model.get_weights().len(), before.len());
}
