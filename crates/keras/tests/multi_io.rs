//! Training with several inputs and outputs, written as a user would: a hand-made two-input,
//! two-output network implements the public `Network` and `TrainModel` traits, and `fit`,
//! `evaluate`, `predict` and the `*_on_batch` steps drive it with lists and maps of arrays,
//! per-output losses, loss weights, metrics and sample weights. The numbers are Keras's
//! (`tests/fixtures/multiio`, made by its `make_fixtures.py` from the same model in Keras 3.15),
//! and every error promised for bad data has a test.

mod common;

use std::any::Any;
use std::path::PathBuf;

use keras::layers::{CallContext, Dense, Layer, LayerBase, Shape, Variable};
use keras::models::SymbolicCall;
use keras::trainers::{self, Arrays, CompileArgs, Compiled, LossArg, Losses, Metrics, Network, TrainModel};
use keras::utils::{Batch, Sequence};
use keras::Input;
use keras::{optimizers, EvaluateArgs, FitArgs, Logs, PredictArgs, Result, Tensor};
use serde_json::Value;

/// `a -> Dense(4, relu)`, `b -> Dense(4, tanh)`, added, then `reg = Dense(1)` and
/// `cls = Dense(3, softmax)`: the Keras model of the fixtures, by hand.
struct TwoIo {
    dense_a: Dense,
    dense_b: Dense,
    reg: Dense,
    cls: Dense,
    built: bool,
}

fn named(mut d: Dense, name: &str) -> Dense {
    d.base_mut().name = name.to_string();
    d
}

impl TwoIo {
    fn new(units: usize, n_cls: usize) -> Self {
        TwoIo {
            dense_a: named(Dense::new(units).activation("relu"), "dense_a"),
            dense_b: named(Dense::new(units).activation("tanh"), "dense_b"),
            reg: named(Dense::new(1), "reg"),
            cls: named(Dense::new(n_cls).activation("softmax"), "cls"),
            built: false,
        }
    }

    fn layers(&self) -> [&Dense; 4] {
        [&self.dense_a, &self.dense_b, &self.reg, &self.cls]
    }
}

impl Network for TwoIo {
    fn name(&self) -> &str {
        "two_io"
    }
    fn input_names(&self) -> Vec<String> {
        vec!["a".into(), "b".into()]
    }
    fn output_names(&self) -> Vec<String> {
        vec!["reg".into(), "cls".into()]
    }
    fn prepare(&mut self, xs: &[Tensor]) -> Result<()> {
        if xs.len() != 2 {
            return Err(keras::Error::Value(format!("two_io takes 2 inputs, got {}", xs.len())));
        }
        if !self.built {
            self.dense_a.build(&[None, Some(xs[0].shape()[1])])?;
            self.dense_b.build(&[None, Some(xs[1].shape()[1])])?;
            let units = self.dense_a.compute_output_shape(&[None, Some(xs[0].shape()[1])])?;
            self.reg.build(&units)?;
            self.cls.build(&units)?;
            self.built = true;
        }
        Ok(())
    }
    fn forward(&self, xs: &[Tensor], ctx: &mut CallContext) -> Result<Vec<Tensor>> {
        let ha = self.dense_a.call(&xs[0], ctx)?;
        let hb = self.dense_b.call(&xs[1], ctx)?;
        let h = keras::ops::add(&ha, &hb)?;
        Ok(vec![self.reg.call(&h, ctx)?, self.cls.call(&h, ctx)?])
    }
    fn variables_mut(&mut self) -> Vec<(&mut Variable, bool)> {
        let mut out = Vec::new();
        for l in [&mut self.dense_a, &mut self.dense_b, &mut self.reg, &mut self.cls] {
            out.extend(l.weights_mut().into_iter().map(|v| {
                let t = v.trainable();
                (v, t)
            }));
        }
        out
    }
}

/// The network plus its compile state: what `fit` drives.
struct HandModel {
    net: TwoIo,
    compiled: Option<Compiled>,
}

impl HandModel {
    fn new() -> Self {
        HandModel { net: TwoIo::new(4, 3), compiled: None }
    }
    fn compile(&mut self, args: CompileArgs) -> Result<()> {
        self.compiled = Some(Compiled::from_args(args, &self.net.output_names())?);
        Ok(())
    }
}

impl TrainModel for HandModel {
    fn name(&self) -> &str {
        "two_io"
    }
    fn built(&self) -> bool {
        self.net.built
    }
    fn network(&self) -> &dyn Network {
        &self.net
    }
    fn parts_mut(&mut self) -> Result<(&mut dyn Network, &mut Compiled)> {
        match self.compiled.as_mut() {
            Some(c) => Ok((&mut self.net, c)),
            None => Err(keras::Error::State("not compiled".into())),
        }
    }
    fn compiled(&self) -> Option<&Compiled> {
        self.compiled.as_ref()
    }
    fn compiled_mut(&mut self) -> Option<&mut Compiled> {
        self.compiled.as_mut()
    }
    fn named_weights(&self) -> Vec<(String, Tensor)> {
        self.net
            .layers()
            .iter()
            .flat_map(|l| l.weights())
            .map(|v| (v.path().to_string(), v.value().clone()))
            .collect()
    }
    fn set_weights(&mut self, values: &[Tensor]) -> Result<()> {
        let mut vars = self.net.variables_mut();
        if vars.len() != values.len() {
            return Err(keras::Error::Value(format!(
                "expected {} weights, got {}",
                vars.len(),
                values.len()
            )));
        }
        for ((v, _), t) in vars.iter_mut().zip(values) {
            v.assign(t)?;
        }
        Ok(())
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

fn dir(case: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/multiio").join(case)
}

struct Case {
    dir: PathBuf,
    json: Value,
}

impl Case {
    fn load(name: &str) -> Case {
        let dir = dir(name);
        let json = serde_json::from_str(&std::fs::read_to_string(dir.join("case.json")).unwrap()).unwrap();
        Case { dir, json }
    }
    fn file(&self, f: &Value) -> Tensor {
        keras::io::npy::read(self.dir.join(f["file"].as_str().unwrap())).unwrap()
    }
    fn array(&self, key: &str) -> Tensor {
        self.file(&self.json["arrays"][key])
    }
    fn data(&self, split: &str) -> ([Tensor; 2], [Tensor; 2]) {
        let a = |k: &str| self.array(&format!("{k}_{split}"));
        ([a("x_a"), a("x_b")], [a("y_reg"), a("y_cls")])
    }
    fn tol(&self) -> (f32, f32) {
        let t = &self.json["tolerance"];
        (t["rtol"].as_f64().unwrap() as f32, t["atol"].as_f64().unwrap() as f32)
    }
}

fn close(what: &str, got: f32, want: f32, (rtol, atol): (f32, f32)) {
    assert!((got - want).abs() <= atol + rtol * want.abs(), "{what}: got {got}, Keras {want}");
}

fn close_tensor(what: &str, got: &Tensor, want: &Tensor, tol: (f32, f32)) -> f32 {
    assert_eq!(got.shape(), want.shape(), "{what} shape");
    let mut worst = 0f32;
    for (i, (g, w)) in got.to_f32_vec().iter().zip(want.to_f32_vec()).enumerate() {
        close(&format!("{what}[{i}]"), *g, w, tol);
        worst = worst.max((g - w).abs());
    }
    worst
}

/// The compile arguments a case describes (dicts stay dicts, lists stay lists).
fn compile_args(c: &Value) -> CompileArgs {
    let lr = c["optimizer"]["learning_rate"].as_f64().unwrap() as f32;
    let opt: Box<dyn optimizers::Optimizer> = match c["optimizer"]["class_name"].as_str().unwrap() {
        "SGD" => Box::new(optimizers::SGD::new().learning_rate(lr)),
        _ => Box::new(optimizers::Adam::new().learning_rate(lr)),
    };
    let mut args = CompileArgs::new(opt);
    args = match &c["loss"] {
        Value::String(s) => args.loss(s.as_str()),
        Value::Object(m) => args.loss(Losses::Map(
            m.iter().map(|(k, v)| (k.clone(), Some(LossArg::from(v.as_str().unwrap())))).collect(),
        )),
        other => panic!("loss {other}"),
    };
    if let Value::Object(m) = &c["loss_weights"] {
        let w: std::collections::BTreeMap<String, f32> =
            m.iter().map(|(k, v)| (k.clone(), v.as_f64().unwrap() as f32)).collect();
        args = args.loss_weights(w);
    }
    let metrics = |v: &Value| -> Metrics {
        let names = |l: &Value| l.as_array().unwrap().iter().map(|m| m.as_str().unwrap().into()).collect();
        match v {
            Value::Object(m) => Metrics::Map(m.iter().map(|(k, l)| (k.clone(), names(l))).collect()),
            Value::Array(l) => Metrics::PerOutput(l.iter().map(names).collect()),
            other => panic!("metrics {other}"),
        }
    };
    if !c["metrics"].is_null() {
        args = args.metrics(metrics(&c["metrics"]));
    }
    if !c["weighted_metrics"].is_null() {
        args = args.weighted_metrics(metrics(&c["weighted_metrics"]));
    }
    args
}

/// Fits the hand-made model as the case's Keras run did and compares History, the logs of
/// every batch, the final weights, `evaluate` and `predict`.
fn check_case(name: &str, make: &dyn Fn(CompileArgs) -> Box<dyn TrainModel>) {
    let case = Case::load(name);
    let tol = case.tol();
    let mut model = make(compile_args(&case.json["compile"]));
    let model = model.as_mut();
    let (x, y) = case.data("train");
    let (vx, vy) = case.data("val");
    let fit = &case.json["fit"];
    let use_dict = fit["use_dict"].as_bool().unwrap();
    let as_x = |x: &[Tensor; 2]| -> Arrays {
        if use_dict {
            Arrays::from([("a", &x[0]), ("b", &x[1])])
        } else {
            Arrays::from([&x[0], &x[1]])
        }
    };
    let as_y = |y: &[Tensor; 2]| -> Arrays {
        if use_dict {
            Arrays::from([("reg", &y[0]), ("cls", &y[1])])
        } else {
            Arrays::from([&y[0], &y[1]])
        }
    };
    // Build, then load Keras's initial weights (in `model.weights` order).
    model.prepare_inputs(&as_x(&x)).unwrap();
    let weights = case.json["weights"].as_array().unwrap();
    let initial: Vec<Tensor> = weights.iter().map(|w| case.file(&w["initial"])).collect();
    let paths: Vec<String> = model.named_weights().into_iter().map(|(p, _)| p).collect();
    let want_paths: Vec<&str> = weights.iter().map(|w| w["path"].as_str().unwrap()).collect();
    assert_eq!(paths, want_paths);
    model.set_weights(&initial).unwrap();

    let per_batch = std::rc::Rc::new(std::cell::RefCell::new(Vec::<Logs>::new()));
    let pb = per_batch.clone();
    let recorder = keras::callbacks::LambdaCallback::new().on_train_batch_end(move |_, logs| {
        pb.borrow_mut().push(logs.clone());
        Ok(())
    });
    let mut args = FitArgs::default()
        .epochs(fit["epochs"].as_u64().unwrap() as usize)
        .batch_size(fit["batch_size"].as_u64().unwrap() as usize)
        .shuffle(false)
        .verbose(0)
        .validation_data(as_x(&vx), as_y(&vy))
        .callback_boxed(Box::new(recorder));
    if fit["sample_weight"].as_bool().unwrap() {
        args = args.sample_weight(case.array("sample_weight"));
    }
    let history = trainers::trainer::fit(model, as_x(&x), Some(as_y(&y)), args).unwrap();

    let want_history = case.json["history"].as_object().unwrap();
    let got_keys: Vec<&String> = history.history.keys().collect();
    let want_keys: Vec<&String> = want_history.keys().collect();
    assert_eq!(got_keys, want_keys, "History keys");
    for (k, vs) in want_history {
        for (e, v) in vs.as_array().unwrap().iter().enumerate() {
            close(&format!("history[{k}][{e}]"), history.history[k][e], v.as_f64().unwrap() as f32, tol);
        }
    }
    let want_batches = case.json["per_batch_logs"].as_array().unwrap();
    let got_batches = per_batch.borrow();
    assert_eq!(got_batches.len(), want_batches.len());
    for (got, want) in got_batches.iter().zip(want_batches) {
        let want = want["logs"].as_object().unwrap();
        assert_eq!(got.keys().collect::<Vec<_>>(), want.keys().collect::<Vec<_>>());
        for (k, v) in want {
            close(&format!("batch logs {k}"), got[k], v.as_f64().unwrap() as f32, tol);
        }
    }
    let mut worst = 0f32;
    for ((path, got), w) in model.named_weights().iter().zip(weights) {
        worst = worst.max(close_tensor(&format!("final {path}"), got, &case.file(&w["final"]), tol));
    }
    let logs =
        trainers::trainer::evaluate(model, as_x(&vx), Some(as_y(&vy)), EvaluateArgs::default().verbose(0))
            .unwrap();
    let want_eval = case.json["evaluate"].as_object().unwrap();
    assert_eq!(logs.keys().collect::<Vec<_>>(), want_eval.keys().collect::<Vec<_>>());
    for (k, v) in want_eval {
        close(&format!("evaluate[{k}]"), logs[k], v.as_f64().unwrap() as f32, tol);
    }
    let pred =
        trainers::trainer::predict(&*model, as_x(&vx), PredictArgs::default().verbose(0).batch_size(4))
            .unwrap();
    assert_eq!(pred.len(), 2);
    worst = worst.max(close_tensor("pred reg", &pred[0], &case.array("pred_reg"), tol));
    worst = worst.max(close_tensor("pred cls", &pred[1], &case.array("pred_cls"), tol));
    eprintln!("{name}: max abs diff of weights and predictions vs Keras {worst:e}");
}

fn hand_made(args: CompileArgs) -> Box<dyn TrainModel> {
    let mut m = HandModel::new();
    m.compile(args).unwrap();
    Box::new(m)
}

/// A user's `Add` (the merging layers come with their own issue): the element-wise sum of
/// its inputs, as Keras's `Add`.
struct Sum {
    base: LayerBase,
}

impl Layer for Sum {
    common::layer_basics!("Add");
    fn build_multi(&mut self, _: &[Shape]) -> Result<()> {
        self.base.built = true;
        Ok(())
    }
    fn compute_output_shape(&self, s: &[Option<usize>]) -> Result<Shape> {
        Ok(s.to_vec())
    }
    fn compute_output_shapes(&self, shapes: &[Shape]) -> Result<Vec<Shape>> {
        Ok(vec![shapes[0].clone()])
    }
    fn call(&self, x: &Tensor, _: &mut CallContext) -> Result<Tensor> {
        Ok(x.clone())
    }
    fn call_multi(&self, xs: &[Tensor], _: &[Option<Tensor>], _: &mut CallContext) -> Result<Vec<Tensor>> {
        Ok(vec![keras::ops::add(&xs[0], &xs[1])?])
    }
    fn takes_list(&self) -> bool {
        true
    }
    fn get_config(&self) -> Value {
        serde_json::json!({ "name": self.base.name })
    }
}

/// The fixtures' Keras model through the Functional API.
fn functional(args: CompileArgs) -> Box<dyn TrainModel> {
    let (a, b) = (Input::named(&[3], "a"), Input::named(&[2], "b"));
    let ha = Dense::new(4).activation("relu").name("dense_a").apply(&a).unwrap();
    let hb = Dense::new(4).activation("tanh").name("dense_b").apply(&b).unwrap();
    let h = Sum { base: LayerBase::new("add") }.apply_list(&[&ha, &hb]).unwrap();
    let reg = Dense::new(1).name("reg").apply(&h).unwrap();
    let cls = Dense::new(3).activation("softmax").name("cls").apply(&h).unwrap();
    let mut m = keras::Model::named("two_io", &[a, b], &[reg, cls]).unwrap();
    m.compile_args(args).unwrap();
    Box::new(m)
}

#[test]
fn functional_dicts_sgd_matches_keras() {
    check_case("dict_sgd", &functional);
}

#[test]
fn functional_lists_adam_sample_weights_match_keras() {
    check_case("list_adam", &functional);
}

#[test]
fn functional_fit_predict_take_lists_and_maps() {
    let case = Case::load("dict_sgd");
    let (x, y) = case.data("train");
    let mut boxed = functional(compile_args(&case.json["compile"]));
    let m: &mut keras::Model = boxed.as_any_mut().downcast_mut().unwrap();
    let h = m
        .fit(
            [("b", &x[1]), ("a", &x[0])],
            [("cls", &y[1]), ("reg", &y[0])],
            FitArgs::default().verbose(0).epochs(1),
        )
        .unwrap();
    assert_eq!(
        h.history.keys().collect::<Vec<_>>(),
        vec!["cls_accuracy", "cls_loss", "loss", "reg_loss", "reg_mae"]
    );
    let by_list = m.predict([&x[0], &x[1]], PredictArgs::default().verbose(0)).unwrap();
    let by_map = m.predict([("a", &x[0]), ("b", &x[1])], PredictArgs::default().verbose(0)).unwrap();
    assert_eq!(by_list[1].to_f32_vec(), by_map[1].to_f32_vec());
    let e = m.predict(&x[0], PredictArgs::default().verbose(0)).unwrap_err().to_string();
    assert!(
        e.contains("expects 2 named input(s) with keys ['a', 'b'], but it received 1 input tensors"),
        "{e}"
    );
}

#[test]
fn dicts_sgd_matches_keras() {
    check_case("dict_sgd", &hand_made);
}

#[test]
fn lists_adam_sample_weights_match_keras() {
    check_case("list_adam", &hand_made);
}

fn ready_model(args: CompileArgs) -> (HandModel, [Tensor; 2], [Tensor; 2]) {
    let case = Case::load("dict_sgd");
    let (x, y) = case.data("train");
    let mut m = HandModel::new();
    m.compile(args).unwrap();
    (m, x, y)
}

fn err<T: std::fmt::Debug>(r: Result<T>) -> String {
    r.expect_err("expected an error").to_string()
}

#[test]
fn wrong_number_of_arrays_and_unknown_names_are_keras_errors() {
    let (mut m, x, y) = ready_model(CompileArgs::new("sgd").loss("mse"));
    let fit = |m: &mut HandModel, x: Arrays, y: Arrays| {
        trainers::trainer::fit(m, x, Some(y), FitArgs::default().verbose(0))
    };
    // One array for two inputs.
    let e = err(fit(&mut m, Arrays::from(&x[0]), Arrays::from([&y[0], &y[1]])));
    assert!(
        e.contains("expects 2 named input(s) with keys ['a', 'b'], but it received 1 input tensors"),
        "{e}"
    );
    // Three arrays.
    let e = err(fit(&mut m, Arrays::from([&x[0], &x[1], &x[1]]), Arrays::from([&y[0], &y[1]])));
    assert!(e.contains("but it received 3 input tensors"), "{e}");
    // A map without input "b".
    let e = err(fit(&mut m, Arrays::from([("a", &x[0]), ("zz", &x[1])]), Arrays::from([&y[0], &y[1]])));
    assert!(
        e.contains("Missing data for input \"b\". You passed a data dictionary with keys ['a', 'zz']"),
        "{e}"
    );
    // A map with an extra input.
    let e = err(fit(
        &mut m,
        Arrays::from([("a", &x[0]), ("b", &x[1]), ("c", &x[1])]),
        Arrays::from([&y[0], &y[1]]),
    ));
    assert!(e.contains("Unknown input name(s) ['c']"), "{e}");
    // Targets: one array, three arrays, an unknown output, a missing output.
    let e = err(fit(&mut m, Arrays::from([&x[0], &x[1]]), Arrays::from(&y[0])));
    assert!(e.contains("The model has 2 output(s) ['reg', 'cls'], but `y` has 1 array"), "{e}");
    let e = err(fit(&mut m, Arrays::from([&x[0], &x[1]]), Arrays::from([&y[0], &y[1], &y[1]])));
    assert!(e.contains("but `y` has 3 arrays"), "{e}");
    let e = err(fit(&mut m, Arrays::from([&x[0], &x[1]]), Arrays::from([("reg", &y[0]), ("zz", &y[1])])));
    assert!(e.contains("Unknown output name(s) ['zz'] in `y`"), "{e}");
    let e = err(fit(&mut m, Arrays::from([&x[0], &x[1]]), Arrays::from([("reg", &y[0])])));
    assert!(e.contains("Missing `y` for output \"cls\""), "{e}");
    // Nothing was trained by the failed calls.
    assert!(m.compiled.as_ref().unwrap().optimizer.iterations() == 0);
}

#[test]
fn mismatched_batch_sizes_are_keras_errors() {
    let (mut m, x, y) = ready_model(CompileArgs::new("sgd").loss("mse"));
    let short = x[1].slice_rows(0, 7).unwrap();
    let e = err(trainers::trainer::fit(
        &mut m,
        Arrays::from([&x[0], &short]),
        Some(Arrays::from([&y[0], &y[1]])),
        FitArgs::default().verbose(0),
    ));
    let n = x[0].shape()[0];
    assert!(
        e.contains(&format!(
            "Data cardinality is ambiguous. Make sure all arrays contain the same number of samples.'x' sizes: {n}, 7\n'y' sizes: {n}, {n}\n"
        )),
        "{e}"
    );
    let short_y = y[1].slice_rows(0, 7).unwrap();
    let e = err(trainers::trainer::evaluate(
        &mut m,
        Arrays::from([&x[0], &x[1]]),
        Some(Arrays::from([&y[0], &short_y])),
        EvaluateArgs::default().verbose(0),
    ));
    assert!(e.contains(&format!("'y' sizes: {n}, 7")), "{e}");
    // A batch of a Sequence whose arrays disagree.
    let e = err(trainers::trainer::train_on_batch(
        &mut m,
        Arrays::from([&x[0], &x[1]]),
        Some(Arrays::from([&y[0], &y[1]])),
        Some(Arrays::from(Tensor::ones([3]))),
    ));
    assert!(e.contains("'sample_weight' sizes: 3"), "{e}");
}

#[test]
fn sample_weight_shapes_follow_keras() {
    let (mut m, x, y) = ready_model(CompileArgs::new("sgd").loss("mse"));
    let n = x[0].shape()[0];
    let xs = || Some(Arrays::from([&y[0], &y[1]]));
    // One 2-d array for several outputs.
    let e = err(trainers::trainer::train_on_batch(
        &mut m,
        Arrays::from([&x[0], &x[1]]),
        xs(),
        Some(Arrays::from(Tensor::ones([n, 3]))),
    ));
    assert!(
        e.contains(
            "when providing a single `sample_weight` array, it should only have one scalar score per sample"
        ),
        "{e}"
    );
    // A list with the wrong number of arrays.
    let e = err(trainers::trainer::train_on_batch(
        &mut m,
        Arrays::from([&x[0], &x[1]]),
        xs(),
        Some(Arrays::from(vec![Tensor::ones([n])])),
    ));
    assert!(e.contains("You should provide one `sample_weight` array per output in `y`"), "{e}");
    // Per-output weights by name: zero weight on `cls` leaves only the `reg` loss.
    let zero = Tensor::zeros([n]);
    let one = Tensor::ones([n]);
    let logs = trainers::trainer::test_on_batch(
        &mut m,
        Arrays::from([&x[0], &x[1]]),
        xs(),
        Some(Arrays::from([("reg", &one), ("cls", &zero)])),
    )
    .unwrap();
    assert_eq!(logs["cls_loss"], 0.0);
    assert!((logs["loss"] - logs["reg_loss"]).abs() < 1e-6);
}

#[test]
fn compile_lists_and_maps_are_checked_against_the_outputs() {
    let names = vec!["reg".to_string(), "cls".to_string()];
    let c = |a: CompileArgs| Compiled::from_args(a, &names).map(|_| ());
    let e = err(c(CompileArgs::new("sgd").loss(Losses::from([("reg", "mse"), ("zz", "mse")]))));
    assert!(
        e.contains("Expected keys ['reg', 'cls'] in loss dict, but found loss.keys()=['reg', 'zz']"),
        "{e}"
    );
    let e = err(c(CompileArgs::new("sgd").loss(Losses::from([("reg", "mse")]))));
    assert!(e.contains("but found loss.keys()=['reg']"), "{e}");
    let e = err(c(CompileArgs::new("sgd").loss(vec!["mse"])));
    assert!(
        e.contains("Expected 2 losses (one per output ['reg', 'cls']), but `loss` is a list of 1"),
        "{e}"
    );
    let e = err(c(CompileArgs::new("sgd").loss(["mse", "mse"]).loss_weights([1.0])));
    assert!(e.contains("`loss_weights` must match the number of losses, got 2 losses and 1 weights."), "{e}");
    let e = err(c(CompileArgs::new("sgd").loss("mse").loss_weights([("zz", 1.0)])));
    assert!(e.contains("Unknown output name 'zz' in `loss_weights`"), "{e}");
    let e = err(c(CompileArgs::new("sgd").loss("mse").metrics(["mae"])));
    assert!(e.contains("Invalid `metrics`. `metrics` should contain metrics objects and either be a dict or a list matching the output names of the functional model ['reg', 'cls'] or match the output structure of the model: ['X', 'X']."), "{e}");
    let e = err(c(CompileArgs::new("sgd").loss("mse").metrics([("zz", "mae")])));
    assert!(e.contains("Invalid `metrics`"), "{e}");
    let e = err(c(CompileArgs::new("sgd").loss("mse").metrics(vec![vec!["mae"], vec!["no_such_metric"]])));
    assert!(e.to_lowercase().contains("no_such_metric"), "{e}");
    let e = err(c(CompileArgs::new("sgd").loss(["mse", "no_such_loss"])));
    assert!(e.contains("no_such_loss"), "{e}");
    // Accepted forms, with the compile config Keras would store.
    let ok = Compiled::from_args(
        CompileArgs::new("sgd").loss([Some("mse"), None]).metrics([("cls", "accuracy")]).loss_weights([2.0]),
        &names,
    )
    .unwrap();
    assert_eq!(ok.loss_config(), &serde_json::json!(["mse", null]));
    assert_eq!(ok.outputs_with_loss(), &[true, false]);
    assert_eq!(ok.metrics_config_value(), &serde_json::json!({"cls": "accuracy"}));
    assert_eq!(ok.loss_weights_config(), &serde_json::json!([2.0]));
    // One loss: no per-output trackers, metric names prefixed by output.
    assert_eq!(ok.log_names(), vec!["loss", "cls_accuracy"]);
}

#[test]
fn an_output_without_a_loss_needs_no_target() {
    let (mut m, x, y) =
        ready_model(CompileArgs::new(optimizers::SGD::new().learning_rate(0.1)).loss([Some("mse"), None]));
    // `y` for the outputs that have a loss only, as a list or a map.
    let l1 = trainers::trainer::test_on_batch(
        &mut m,
        Arrays::from([&x[0], &x[1]]),
        Some(Arrays::from(vec![y[0].clone()])),
        None,
    )
    .unwrap();
    let l2 = trainers::trainer::test_on_batch(
        &mut m,
        Arrays::from([&x[0], &x[1]]),
        Some(Arrays::from([("reg", &y[0])])),
        None,
    )
    .unwrap();
    assert_eq!(l1.keys().collect::<Vec<_>>(), vec!["loss"]);
    assert_eq!(l1["loss"], l2["loss"]);
    // The loss is the mse of `reg` alone.
    let pred = trainers::trainer::predict_on_batch(&m, Arrays::from([&x[0], &x[1]])).unwrap();
    let d: Vec<f32> =
        pred[0].to_f32_vec().iter().zip(y[0].to_f32_vec()).map(|(p, t)| (p - t) * (p - t)).collect();
    let mse = d.iter().sum::<f32>() / d.len() as f32;
    assert!((l1["loss"] - mse).abs() < 1e-5, "{} vs {mse}", l1["loss"]);
}

/// A `Sequence` whose batches hold two inputs (a map) and two targets (a list).
struct TwoIoBatches {
    x: [Tensor; 2],
    y: [Tensor; 2],
    batch: usize,
}

impl Sequence for TwoIoBatches {
    fn len(&self) -> usize {
        self.x[0].shape()[0].div_ceil(self.batch)
    }
    fn get_batch(&self, i: usize) -> Result<Batch> {
        let n = self.x[0].shape()[0];
        let (s, e) = (i * self.batch, ((i + 1) * self.batch).min(n));
        let rows = |t: &Tensor| t.slice_rows(s, e);
        Ok(Batch::new(
            Arrays::from([("b", rows(&self.x[1])?), ("a", rows(&self.x[0])?)]),
            Arrays::from(vec![rows(&self.y[0])?, rows(&self.y[1])?]),
        ))
    }
}

#[test]
fn sequences_yield_several_inputs_and_targets() {
    let args = || {
        CompileArgs::new(optimizers::SGD::new().learning_rate(0.05))
            .loss(Losses::from([("reg", "mse"), ("cls", "categorical_crossentropy")]))
            .metrics(Metrics::from([("cls", "accuracy")]))
    };
    let (mut a, x, y) = ready_model(args());
    let (mut b, _, _) = ready_model(args());
    a.prepare_inputs(&Arrays::from([&x[0], &x[1]])).unwrap();
    b.prepare_inputs(&Arrays::from([&x[0], &x[1]])).unwrap();
    let w: Vec<Tensor> = a.named_weights().into_iter().map(|(_, t)| t).collect();
    b.set_weights(&w).unwrap();
    let mut seq = TwoIoBatches { x: x.clone(), y: y.clone(), batch: 8 };
    let ha =
        trainers::trainer::fit_sequence(&mut a, &mut seq, FitArgs::default().epochs(2).verbose(0)).unwrap();
    let hb = trainers::trainer::fit(
        &mut b,
        Arrays::from([&x[0], &x[1]]),
        Some(Arrays::from([&y[0], &y[1]])),
        FitArgs::default().epochs(2).batch_size(8).shuffle(false).verbose(0),
    )
    .unwrap();
    assert_eq!(ha.history.keys().collect::<Vec<_>>(), vec!["cls_accuracy", "cls_loss", "loss", "reg_loss"]);
    for (k, v) in &hb.history {
        for (e, (ga, gb)) in ha.history[k].iter().zip(v).enumerate() {
            assert!((ga - gb).abs() < 1e-6, "{k}[{e}]: {ga} vs {gb}");
        }
    }
    // Evaluate and predict on the same sequence.
    let logs =
        trainers::trainer::evaluate_sequence(&mut a, &mut seq, EvaluateArgs::default().verbose(0)).unwrap();
    assert!(logs.contains_key("cls_accuracy"));
    let mut data = trainers::SequenceAdapter::new(&mut seq).unwrap();
    let out = trainers::trainer::predict_adapter(&a, &mut data, 0, &|_| Ok(()), Vec::new()).unwrap();
    assert_eq!(out[0].shape(), &[x[0].shape()[0], 1]);
    assert_eq!(out[1].shape(), &[x[0].shape()[0], 3]);
}
