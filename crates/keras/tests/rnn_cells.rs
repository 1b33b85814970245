//! The generic `RNN` over cells as a user meets it (issue 16): `StackedRNNCells` (and
//! `RNN(vec![cells])`) stepping the built-in cells with the numbers of the fused layers, masks,
//! states, saving; a user-written cell (Keras's `MinimalRNNCell`, with a tanh) registered with
//! `register_rnn_cell`, checked against finite differences, trained, saved and loaded. The
//! stacked cases against Keras's numbers are `tests/fixtures/keras315/layer/rnn_stacked_*`
//! (run by `tests/oracle.rs`; configs by `tests/new_layers.rs`).

mod common;

use common::TempDir;
use keras::layers::{
    CallContext, Dense, GRUCell, Input, LSTMCell, Layer, LayerBase, RnnCell, Shape, SimpleRNNCell,
    StackedRNNCells, Variable, WeightSpec, RNN,
};
use keras::models::{load_model, Sequential};
use keras::optimizers::SGD;
use keras::saving::register_rnn_cell;
use keras::{ops, FitArgs, GradientTape, PredictArgs, Result, Tensor};
use serde_json::{json, Value};

/// Keras's `MinimalRNNCell` (the `RNN` docstring's example), with a tanh:
/// `h = tanh(x W + h_prev U)`.
struct MinimalRNNCell {
    base: LayerBase,
    units: usize,
    kernel: Option<Variable>,
    recurrent_kernel: Option<Variable>,
}

impl MinimalRNNCell {
    fn new(units: usize) -> Self {
        MinimalRNNCell {
            base: LayerBase::new("minimal_rnn_cell"),
            units,
            kernel: None,
            recurrent_kernel: None,
        }
    }
    fn from_config(cfg: &Value) -> Result<Self> {
        let mut c = MinimalRNNCell::new(cfg["units"].as_u64().unwrap_or(1) as usize);
        c.base.apply_config(cfg);
        Ok(c)
    }
}

impl Layer for MinimalRNNCell {
    keras::sublayers!(; kernel, recurrent_kernel);
    common::layer_basics!("MinimalRNNCell");
    fn build(&mut self, shape: &[Option<usize>]) -> Result<()> {
        let features = shape[1].expect("known features");
        self.kernel = Some(self.base.add_weight(WeightSpec::new("kernel", &[features, self.units]))?);
        self.recurrent_kernel =
            Some(self.base.add_weight(WeightSpec::new("recurrent_kernel", &[self.units, self.units]))?);
        self.base.build_input_shape = Some(shape.to_vec());
        self.base.built = true;
        Ok(())
    }
    fn compute_output_shape(&self, s: &[Option<usize>]) -> Result<Shape> {
        Ok(vec![s[0], Some(self.units)])
    }
    fn call(&self, _: &Tensor, _: &mut CallContext) -> Result<Tensor> {
        Err(keras::Error::State("MinimalRNNCell runs inside an RNN".into()))
    }
    fn get_config(&self) -> Value {
        let mut m = self.base.base_config();
        m.insert("units".into(), json!(self.units));
        Value::Object(m)
    }
}

impl RnnCell for MinimalRNNCell {
    fn state_size(&self) -> Vec<usize> {
        vec![self.units]
    }
    fn step(&self, x: &Tensor, states: &[Tensor], _: &mut CallContext) -> Result<(Tensor, Vec<Tensor>)> {
        let h = ops::matmul(x, self.kernel.as_ref().unwrap().value())?;
        let h = ops::add(&h, &ops::matmul(&states[0], self.recurrent_kernel.as_ref().unwrap().value())?)?;
        let out = ops::unary(&h, ops::Unary::Tanh)?;
        Ok((out.clone(), vec![out]))
    }
}

fn register() -> String {
    register_rnn_cell("keras_rs_tests", None, MinimalRNNCell::from_config)
}

fn data(shape: &[usize], seed: u32) -> Tensor {
    let n: usize = shape.iter().product();
    let v =
        (0..n).map(|i| (((i as u32 * 2654435761u32).wrapping_add(seed * 97)) % 1000) as f32 / 500.0 - 1.0);
    Tensor::new(v.collect(), shape.to_vec()).unwrap()
}

fn close(a: &[f32], b: &[f32], tol: f32, what: &str) {
    assert_eq!(a.len(), b.len(), "{what}");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!((x - y).abs() <= tol * (1.0 + y.abs()), "{what}[{i}]: {x} vs {y}");
    }
}

/// Saves `model` as `<name>.keras`, loads it back and checks that both predict the same on
/// `x`; returns the loaded model.
fn reload_predicts_the_same(model: &Sequential, x: &Tensor, name: &str) -> Sequential {
    let dir = TempDir::new(name);
    let path = dir.join(&format!("{name}.keras"));
    model.save(&path).unwrap();
    let restored = load_model(&path).unwrap().into_sequential().unwrap();
    assert_eq!(
        model.predict(x, PredictArgs::default().verbose(0)).unwrap().to_f32_vec(),
        restored.predict(x, PredictArgs::default().verbose(0)).unwrap().to_f32_vec()
    );
    restored
}

#[test]
fn stacked_cells_step_with_the_numbers_of_the_fused_layers() {
    // One LSTMCell in a stack is stepped; the same cell alone runs the fused op: same numbers,
    // with a mask (a masked step keeps the previous output and states).
    let x = data(&[3, 5, 2], 1);
    let mask =
        Tensor::new(vec![1., 1., 0., 1., 0., 1., 0., 0., 0., 0., 1., 1., 1., 1., 1.], vec![3, 5]).unwrap();
    let cells: Vec<Box<dyn RnnCell>> = vec![Box::new(LSTMCell::new(4))];
    let mut stacked = RNN::new(cells).return_sequences(true).return_state(true);
    let mut fused = RNN::new(LSTMCell::new(4)).return_sequences(true).return_state(true);
    let shape = [None, Some(5), Some(2)];
    stacked.build(&shape).unwrap();
    fused.build(&shape).unwrap();
    fused.set_weights(&stacked.get_weights()).unwrap();
    let mut ctx = CallContext::new(false);
    for m in [None, Some(&mask)] {
        let a = stacked.call_outputs(&x, m, &mut ctx).unwrap();
        let b = fused.call_outputs(&x, m, &mut ctx).unwrap();
        assert_eq!(a.len(), 3);
        for (i, (p, q)) in a.iter().zip(&b).enumerate() {
            assert_eq!(p.shape(), q.shape());
            close(&p.to_f32_vec(), &q.to_f32_vec(), 1e-5, &format!("output {i}"));
        }
    }
    // Two cells: the states are every cell's, in order.
    let cells: Vec<Box<dyn RnnCell>> = vec![Box::new(LSTMCell::new(4)), Box::new(GRUCell::new(3))];
    let mut two = RNN::new(cells).return_state(true);
    two.build(&shape).unwrap();
    let outs = two.call_outputs(&x, None, &mut ctx).unwrap();
    let shapes: Vec<&[usize]> = outs.iter().map(|t| t.shape()).collect();
    assert_eq!(shapes, vec![&[3, 3][..], &[3, 4], &[3, 4], &[3, 3]]);
    assert_eq!(outs[0].to_f32_vec(), outs[3].to_f32_vec(), "the output is the last cell's h");
    let out_shapes = two.compute_output_shapes(&[shape.to_vec()]).unwrap();
    assert_eq!(
        out_shapes,
        vec![vec![None, Some(3)], vec![None, Some(4)], vec![None, Some(4)], vec![None, Some(3)]]
    );
    // Explicit initial states, then the wrong number of them.
    let init: Vec<Tensor> = [4, 4, 3].iter().map(|&n| data(&[3, n], n as u32)).collect();
    let with = two.call_with_state(&x, &init, None, &mut ctx).unwrap();
    assert_ne!(with[0].to_f32_vec(), outs[0].to_f32_vec());
    let e = two.call_with_state(&x, &init[..2], None, &mut ctx).unwrap_err().to_string();
    assert!(e.contains("expects 3 initial state tensor(s)"), "{e}");
}

#[test]
fn stacked_cells_save_and_load_with_keras_layout() {
    let cells: Vec<Box<dyn RnnCell>> =
        vec![Box::new(SimpleRNNCell::new(3)), Box::new(LSTMCell::new(2).unit_forget_bias(false))];
    let mut model = Sequential::new();
    model.add(Input::new(&[4, 3])).unwrap();
    model.add(RNN::new(cells).name("stack").go_backwards(true)).unwrap();
    model.add(Dense::new(1)).unwrap();
    let paths: Vec<String> = model.weights().iter().map(|w| w.path().to_string()).collect();
    assert!(paths[0].ends_with("stack/stacked_rnn_cells/simple_rnn_cell/kernel"), "{paths:?}");
    let cfg = model.layers()[0].get_config();
    assert_eq!(cfg["cell"]["class_name"], "StackedRNNCells");
    assert_eq!(cfg["cell"]["config"]["cells"][1]["class_name"], "LSTMCell");
    assert_eq!(cfg["cell"]["config"]["cells"][1]["config"]["unit_forget_bias"], false);
    assert_eq!(cfg["cell"]["config"]["cells"][1]["build_config"]["input_shape"], json!([null, 3]));
    let x = data(&[2, 4, 3], 3);
    reload_predicts_the_same(&model, &x, "stacked");
}

#[test]
fn user_cell_gradients_match_finite_differences() {
    let mut rnn = RNN::with_cell(MinimalRNNCell::new(3)).return_sequences(true);
    rnn.build(&[None, Some(4), Some(2)]).unwrap();
    let x = data(&[2, 4, 2], 5);
    let cot = data(&[2, 4, 3], 6);
    let loss = |rnn: &RNN, x: &Tensor| -> f64 {
        let y = rnn.call(x, &mut CallContext::new(false)).unwrap();
        y.to_f32_vec().iter().zip(cot.to_f32_vec()).map(|(a, b)| (*a as f64) * (b as f64)).sum()
    };
    let tape = GradientTape::new();
    let xw = tape.watch(&x);
    let y = rnn.call(&xw, &mut CallContext::new(false)).unwrap();
    let mut sources = vec![&xw];
    let weights = rnn.weights();
    sources.extend(weights.iter().map(|w| w.value()));
    let grads = tape.gradient_with(&y, &cot, &sources).unwrap();
    drop(tape);
    let eps = 1e-2f32;
    // Input.
    let g = grads[0].as_ref().unwrap().to_f32_vec();
    for i in 0..x.numel() {
        let mut p = x.to_f32_vec();
        p[i] += eps;
        let mut m = x.to_f32_vec();
        m[i] -= eps;
        let fd = (loss(&rnn, &Tensor::new(p, x.shape().to_vec()).unwrap())
            - loss(&rnn, &Tensor::new(m, x.shape().to_vec()).unwrap()))
            / (2.0 * eps as f64);
        assert!((g[i] as f64 - fd).abs() < 2e-3 * (1.0 + fd.abs()), "d/dx[{i}]: {} vs {fd}", g[i]);
    }
    // Each weight.
    let values = rnn.get_weights();
    for (wi, v) in values.iter().enumerate() {
        let g = grads[wi + 1].as_ref().unwrap().to_f32_vec();
        for i in 0..v.numel() {
            let shifted = |d: f32| {
                let mut all = values.clone();
                let mut e = v.to_f32_vec();
                e[i] += d;
                all[wi] = Tensor::new(e, v.shape().to_vec()).unwrap();
                all
            };
            let mut r = RNN::with_cell(MinimalRNNCell::new(3)).return_sequences(true);
            r.build(&[None, Some(4), Some(2)]).unwrap();
            r.set_weights(&shifted(eps)).unwrap();
            let up = loss(&r, &x);
            r.set_weights(&shifted(-eps)).unwrap();
            let down = loss(&r, &x);
            let fd = (up - down) / (2.0 * eps as f64);
            assert!((g[i] as f64 - fd).abs() < 2e-3 * (1.0 + fd.abs()), "weight {wi}[{i}]: {} vs {fd}", g[i]);
        }
    }
}

#[test]
fn user_cell_trains_saves_and_loads() {
    let registered = register();
    assert_eq!(registered, "keras_rs_tests>MinimalRNNCell");
    let build = || {
        let mut m = Sequential::new();
        m.add(Input::new(&[5, 2])).unwrap();
        m.add(RNN::with_cell(MinimalRNNCell::new(4))).unwrap();
        m.add(Dense::new(1)).unwrap();
        m
    };
    let mut model = build();
    let x = data(&[16, 5, 2], 8);
    let y = data(&[16, 1], 9);
    model.compile(SGD::new().learning_rate(0.1), "mse", &[]).unwrap();
    let h = model.fit(&x, &y, FitArgs::default().epochs(5).batch_size(8).shuffle(false).verbose(0)).unwrap();
    let losses = &h.history["loss"];
    assert!(losses[4] < losses[0], "training lowers the loss: {losses:?}");
    let cfg = model.layers()[0].serialize();
    assert_eq!(cfg["config"]["cell"]["registered_name"], "keras_rs_tests>MinimalRNNCell");
    assert_eq!(cfg["config"]["cell"]["class_name"], "MinimalRNNCell");
    let restored = reload_predicts_the_same(&model, &x, "user_cell");
    assert_eq!(restored.layers()[0].weights()[0].path(), model.layers()[0].weights()[0].path());

    // A user cell inside a stack with a built-in one.
    let cells: Vec<Box<dyn RnnCell>> = vec![Box::new(MinimalRNNCell::new(3)), Box::new(GRUCell::new(2))];
    let mut m = Sequential::new();
    m.add(Input::new(&[5, 2])).unwrap();
    m.add(RNN::new(StackedRNNCells::new(cells)).return_sequences(true)).unwrap();
    reload_predicts_the_same(&m, &x, "user_stack");
}

#[test]
fn bad_cells_give_errors_not_panics() {
    // An unknown cell class: Keras's "Could not locate class".
    let cfg = json!({
        "name": "rnn", "return_sequences": false, "return_state": false, "go_backwards": false,
        "stateful": false, "unroll": false, "zero_output_for_mask": false,
        "cell": {"module": "my_cells", "class_name": "NoSuchCell", "config": {"units": 2}, "registered_name": "nope>NoSuchCell"}
    });
    let e = RNN::from_config(&cfg).err().unwrap().to_string();
    assert!(e.contains("Could not locate class 'NoSuchCell'"), "{e}");
    // An empty stack.
    let mut empty = RNN::new(Vec::<Box<dyn RnnCell>>::new());
    let e = empty.build(&[None, Some(3), Some(2)]).unwrap_err().to_string();
    assert!(e.contains("at least one cell"), "{e}");
    // Wrong input rank and wrong number of states.
    let cells: Vec<Box<dyn RnnCell>> = vec![Box::new(SimpleRNNCell::new(2))];
    let mut rnn = RNN::new(cells);
    let e = rnn.build(&[None, Some(3)]).unwrap_err().to_string();
    assert!(e.contains("expected ndim>=3"), "{e}");
    let stack = StackedRNNCells::new(vec![Box::new(SimpleRNNCell::new(2))]);
    let e =
        stack.step(&Tensor::zeros(vec![1, 2]), &[], &mut CallContext::new(false)).unwrap_err().to_string();
    assert!(e.contains("expects 1 state tensor(s)"), "{e}");
    // A cell's bad argument surfaces at build.
    let cells: Vec<Box<dyn RnnCell>> = vec![Box::new(LSTMCell::new(2).dropout(1.5))];
    let e = RNN::new(cells).build(&[None, Some(3), Some(2)]).unwrap_err().to_string();
    assert!(e.contains("dropout"), "{e}");
    // Calling a cell on its own.
    let mut c = GRUCell::new(2);
    c.build(&[None, Some(3)]).unwrap();
    assert!(c.call(&Tensor::zeros(vec![1, 3]), &mut CallContext::new(false)).is_err());
    let (out, st) = c
        .step(&Tensor::zeros(vec![1, 3]), &[Tensor::zeros(vec![1, 2])], &mut CallContext::new(false))
        .unwrap();
    assert_eq!((out.shape(), st.len()), (&[1, 2][..], 1));
}
