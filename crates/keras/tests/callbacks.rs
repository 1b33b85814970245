//! Callbacks against Keras: scripted logs replayed through the callbacks and compared with
//! what real Keras 3 did on the same logs (tests/fixtures/callbacks, made by
//! make_fixtures.py), plus their behaviour inside `fit`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use keras::callbacks::{
    take_warnings, CSVLogger, Callback, CallbackModel, CallbackParams, EarlyStopping, LambdaCallback,
    LearningRateScheduler, ModelCheckpoint, ReduceLROnPlateau, SaveFreq, TerminateOnNaN,
};
use keras::layers::{Dense, Input};
use keras::models::Sequential;
use keras::optimizers::SGD;
use keras::{FitArgs, Logs, Tensor};
use serde_json::Value;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/callbacks")
}

fn scripted() -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixtures().join("scripted.json")).unwrap()).unwrap()
}

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("keras_rs_cb_{}_{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Dense(1, no bias) on one input, SGD, mse + accuracy, metrics resolved by one step.
fn tiny(lr: f64) -> Sequential {
    let mut m = Sequential::new();
    m.add(Input::new(&[1])).unwrap();
    m.add(Dense::new(1).use_bias(false)).unwrap();
    m.compile(SGD::new().learning_rate(lr), "mse", &["accuracy"]).unwrap();
    let z = Tensor::zeros([1, 1]);
    m.train_on_batch(&z, &z, None).unwrap();
    m.compile_state_mut().unwrap().optimizer.set_learning_rate(lr as f32);
    m
}

fn logs(pairs: &[(&str, f64)]) -> Logs {
    pairs.iter().map(|(k, v)| (k.to_string(), *v as f32)).collect()
}

fn f32s(v: &Value) -> Vec<Option<f32>> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().map(|f| f as f32)).collect()
}

fn apply_early_stopping_kwargs(mut es: EarlyStopping, kw: &Value) -> EarlyStopping {
    for (k, v) in kw.as_object().unwrap() {
        es = match k.as_str() {
            "patience" => es.patience(v.as_u64().unwrap() as usize),
            "restore_best_weights" => es.restore_best_weights(v.as_bool().unwrap()),
            "min_delta" => es.min_delta(v.as_f64().unwrap()),
            "baseline" => es.baseline(v.as_f64().unwrap()),
            "start_from_epoch" => es.start_from_epoch(v.as_u64().unwrap() as usize),
            "monitor" => es.monitor(v.as_str().unwrap()),
            "mode" => es.mode(v.as_str().unwrap()),
            other => panic!("fixture uses an argument this test does not map: {other}"),
        };
    }
    es
}

#[test]
fn early_stopping_matches_keras_on_scripted_logs() {
    let cases = scripted();
    let cases = cases["early_stopping"].as_array().unwrap();
    assert!(cases.len() >= 10);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let key = case["monitor"].as_str().unwrap();
        let mut model = tiny(0.1);
        let mut es = apply_early_stopping_kwargs(EarlyStopping::new(), &case["kwargs"]);
        let mut cm = CallbackModel::new(&mut model);
        es.on_train_begin(&mut cm, &mut Logs::new()).unwrap();
        let mut ran = 0;
        for (epoch, v) in f32s(&case["values"]).into_iter().enumerate() {
            // The weights identify their epoch.
            cm.set_weights(&[Tensor::new(vec![epoch as f32], [1, 1]).unwrap()]).unwrap();
            let mut l = Logs::new();
            l.insert("loss".into(), 1.0);
            if let Some(v) = v {
                l.insert(key.into(), v);
            }
            es.on_epoch_end(epoch, &mut cm, &mut l).unwrap();
            ran += 1;
            if cm.stop_training {
                break;
            }
        }
        es.on_train_end(&mut cm, &mut Logs::new()).unwrap();
        let w = cm.get_weights()[0].to_f32_vec()[0];
        assert_eq!(ran, case["epochs_run"].as_u64().unwrap() as usize, "{name}: epochs run");
        assert_eq!(
            es.stopped_epoch,
            case["stopped_epoch"].as_u64().unwrap() as usize,
            "{name}: stopped_epoch"
        );
        assert_eq!(es.best_epoch, case["best_epoch"].as_u64().unwrap() as usize, "{name}: best_epoch");
        assert_eq!(es.wait, case["wait"].as_u64().unwrap() as usize, "{name}: wait");
        assert_eq!(es.best(), case["best"].as_f64(), "{name}: best");
        assert_eq!(w, case["final_weight_epoch"].as_f64().unwrap() as f32, "{name}: restored weights");
    }
}

#[test]
fn reduce_lr_on_plateau_matches_keras_rates() {
    let cases = scripted();
    for case in cases["reduce_lr"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let key = case["monitor"].as_str().unwrap();
        let mut model = tiny(case["initial_lr"].as_f64().unwrap());
        let mut cb = ReduceLROnPlateau::new();
        for (k, v) in case["kwargs"].as_object().unwrap() {
            cb = match k.as_str() {
                "patience" => cb.patience(v.as_u64().unwrap() as usize),
                "factor" => cb.factor(v.as_f64().unwrap()),
                "cooldown" => cb.cooldown(v.as_u64().unwrap() as usize),
                "min_lr" => cb.min_lr(v.as_f64().unwrap()),
                "min_delta" => cb.min_delta(v.as_f64().unwrap()),
                "monitor" => cb.monitor(v.as_str().unwrap()),
                other => panic!("unmapped argument {other}"),
            };
        }
        let mut cm = CallbackModel::new(&mut model);
        cb.on_train_begin(&mut cm, &mut Logs::new()).unwrap();
        let want = f32s(&case["lr_after_epoch"]);
        let want_logged = f32s(&case["logged_learning_rate"]);
        for (epoch, v) in f32s(&case["values"]).into_iter().enumerate() {
            let mut l = logs(&[("loss", 1.0)]);
            l.insert(key.into(), v.unwrap());
            cb.on_epoch_end(epoch, &mut cm, &mut l).unwrap();
            assert_eq!(Some(l["learning_rate"]), want_logged[epoch], "{name}: logged lr at epoch {epoch}");
            assert_eq!(Some(cm.learning_rate().unwrap()), want[epoch], "{name}: lr after epoch {epoch}");
        }
    }
}

#[test]
fn model_checkpoint_paths_match_python_format() {
    let dir = tmpdir("ckpt_paths");
    let cases = scripted();
    for case in cases["checkpoint_paths"].as_array().unwrap() {
        let template = case["template"].as_str().unwrap();
        let mut model = tiny(0.1);
        let path = dir.join(template);
        let mut cb = ModelCheckpoint::new(&path).save_weights_only(template.ends_with(".weights.h5"));
        cb.set_params(&CallbackParams { verbose: 0, epochs: 10, steps: Some(1), validation: true });
        let l: Logs = case["logs"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_f64().unwrap() as f32))
            .collect();
        let mut cm = CallbackModel::new(&mut model);
        cb.on_train_begin(&mut cm, &mut Logs::new()).unwrap();
        let epoch = case["epoch"].as_u64().unwrap() as usize;
        cb.on_epoch_begin(epoch, &mut cm, &mut Logs::new()).unwrap();
        cb.on_epoch_end(epoch, &mut cm, &mut l.clone()).unwrap();
        let want = dir.join(case["path"].as_str().unwrap());
        assert_eq!(cb.saved, vec![want.clone()], "{template}");
        assert!(want.is_file(), "{} was not written", want.display());
    }
}

#[test]
fn csv_logger_writes_keras_bytes() {
    let dir = tmpdir("csv");
    let a = |v: f64| v as f32 as f64;
    let with_val = vec![
        logs(&[
            ("loss", a(1.3489801)),
            ("accuracy", a(0.28333333)),
            ("val_loss", a(1.2053930)),
            ("val_accuracy", a(0.45)),
            ("learning_rate", a(0.01)),
        ]),
        logs(&[
            ("loss", a(1e-5)),
            ("accuracy", 1.0),
            ("val_loss", 2.0),
            ("val_accuracy", 0.5),
            ("learning_rate", a(0.01)),
        ]),
    ];
    let no_val = vec![
        logs(&[("loss", a(1.3489801)), ("accuracy", a(0.28333333))]),
        logs(&[("loss", a(1.2053930)), ("accuracy", a(0.45))]),
    ];
    let val_later =
        vec![logs(&[("loss", a(1.3489801))]), logs(&[("loss", a(1.2053930)), ("val_loss", a(0.45))])];
    let run = |file: &str, mk: &dyn Fn(PathBuf) -> CSVLogger, epochs: &[Logs], runs: usize| {
        let path = dir.join(file);
        let mut model = tiny(0.1);
        for _ in 0..runs {
            let mut cb = mk(path.clone());
            let mut cm = CallbackModel::new(&mut model);
            cb.on_train_begin(&mut cm, &mut Logs::new()).unwrap();
            for (e, l) in epochs.iter().enumerate() {
                cb.on_epoch_end(e, &mut cm, &mut l.clone()).unwrap();
            }
            cb.on_train_end(&mut cm, &mut Logs::new()).unwrap();
        }
        let got = std::fs::read(&path).unwrap();
        let want = std::fs::read(fixtures().join(file)).unwrap();
        assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(&want), "{file}");
    };
    run("csv_with_val.csv", &|p| CSVLogger::new(p), &with_val, 1);
    run("csv_no_val.csv", &|p| CSVLogger::new(p), &no_val, 1);
    run("csv_val_later.csv", &|p| CSVLogger::new(p), &val_later, 1);
    run("csv_semicolon_append.csv", &|p| CSVLogger::new(p).separator(';').append(true), &with_val, 2);
}

fn data() -> (Tensor, Tensor) {
    let x: Vec<f32> = (0..32).map(|i| (i as f32 / 16.0) - 1.0).collect();
    let y: Vec<f32> = x.iter().map(|v| 2.0 * v + 0.5).collect();
    (Tensor::new(x, [32, 1]).unwrap(), Tensor::new(y, [32, 1]).unwrap())
}

fn regressor() -> Sequential {
    keras::utils::set_random_seed(3);
    let mut m = Sequential::new();
    m.add(Input::new(&[1])).unwrap();
    m.add(Dense::new(4).activation("tanh")).unwrap();
    m.add(Dense::new(1)).unwrap();
    m.compile(SGD::new().learning_rate(0.05), "mse", &["mae"]).unwrap();
    m
}

/// Records every hook call.
#[derive(Default)]
struct Recorder {
    calls: Vec<String>,
    params: Option<CallbackParams>,
    epoch_logs: Vec<Logs>,
    batch_logs: Vec<Logs>,
}

impl Callback for Recorder {
    fn set_params(&mut self, p: &CallbackParams) {
        self.params = Some(p.clone());
    }
    fn on_train_begin(&mut self, _: &mut CallbackModel, _: &mut Logs) -> keras::Result<()> {
        self.calls.push("train_begin".into());
        Ok(())
    }
    fn on_train_end(&mut self, _: &mut CallbackModel, _: &mut Logs) -> keras::Result<()> {
        self.calls.push("train_end".into());
        Ok(())
    }
    fn on_epoch_begin(&mut self, e: usize, _: &mut CallbackModel, _: &mut Logs) -> keras::Result<()> {
        self.calls.push(format!("epoch_begin {e}"));
        Ok(())
    }
    fn on_epoch_end(&mut self, e: usize, _: &mut CallbackModel, l: &mut Logs) -> keras::Result<()> {
        self.calls.push(format!("epoch_end {e}"));
        self.epoch_logs.push(l.clone());
        Ok(())
    }
    fn on_batch_begin(&mut self, b: usize, _: &mut CallbackModel, _: &mut Logs) -> keras::Result<()> {
        self.calls.push(format!("batch_begin {b}"));
        Ok(())
    }
    fn on_batch_end(&mut self, b: usize, _: &mut CallbackModel, l: &mut Logs) -> keras::Result<()> {
        self.calls.push(format!("batch_end {b}"));
        self.batch_logs.push(l.clone());
        Ok(())
    }
    fn on_test_begin(&mut self, _: &mut CallbackModel, _: &mut Logs) -> keras::Result<()> {
        self.calls.push("test_begin".into());
        Ok(())
    }
    fn on_test_end(&mut self, _: &mut CallbackModel, _: &mut Logs) -> keras::Result<()> {
        self.calls.push("test_end".into());
        Ok(())
    }
    fn on_test_batch_end(&mut self, b: usize, _: &mut CallbackModel, _: &mut Logs) -> keras::Result<()> {
        self.calls.push(format!("test_batch_end {b}"));
        Ok(())
    }
    fn on_predict_begin(&mut self, _: &mut CallbackModel, _: &mut Logs) -> keras::Result<()> {
        self.calls.push("predict_begin".into());
        Ok(())
    }
    fn on_predict_batch_end(
        &mut self,
        b: usize,
        out: &Tensor,
        _: &mut CallbackModel,
        _: &mut Logs,
    ) -> keras::Result<()> {
        self.calls.push(format!("predict_batch_end {b} {:?}", out.shape()));
        Ok(())
    }
    fn on_predict_end(&mut self, _: &mut CallbackModel, _: &mut Logs) -> keras::Result<()> {
        self.calls.push("predict_end".into());
        Ok(())
    }
}

#[test]
fn fit_calls_hooks_in_keras_order() {
    let (x, y) = data();
    let mut m = regressor();
    let mut rec = Recorder::default();
    let args = FitArgs::default()
        .epochs(2)
        .batch_size(16)
        .verbose(0)
        .shuffle(false)
        .validation_data(&x, &y)
        .validation_freq(2)
        .callback(&mut rec);
    let h = m.fit(&x, &y, args).unwrap();
    let want = [
        "train_begin",
        "epoch_begin 0",
        "batch_begin 0",
        "batch_end 0",
        "batch_begin 1",
        "batch_end 1",
        "epoch_end 0",
        "epoch_begin 1",
        "batch_begin 0",
        "batch_end 0",
        "batch_begin 1",
        "batch_end 1",
        "test_begin",
        "test_batch_end 0",
        "test_batch_end 1",
        "test_end",
        "epoch_end 1",
        "train_end",
    ];
    assert_eq!(rec.calls, want);
    assert_eq!(rec.params, Some(CallbackParams { verbose: 0, epochs: 2, steps: Some(2), validation: true }));
    // Epoch logs are what History records.
    assert_eq!(rec.epoch_logs[1]["loss"], h.history["loss"][1]);
    assert_eq!(rec.epoch_logs[1]["val_mae"], h.history["val_mae"][0]);
    assert!(!rec.epoch_logs[0].contains_key("val_loss"));
    // The last batch's running mean is the epoch's value.
    assert_eq!(rec.batch_logs[3]["loss"], h.history["loss"][1]);

    let mut rec = Recorder::default();
    m.predict(&x, keras::PredictArgs::default().batch_size(20).verbose(0).callback(&mut rec)).unwrap();
    assert_eq!(
        rec.calls,
        ["predict_begin", "predict_batch_end 0 [20, 1]", "predict_batch_end 1 [12, 1]", "predict_end"]
    );
    let mut rec = Recorder::default();
    m.evaluate(&x, &y, keras::EvaluateArgs::default().batch_size(32).verbose(0).callback(&mut rec)).unwrap();
    assert_eq!(rec.calls, ["test_begin", "test_batch_end 0", "test_end"]);
}

#[test]
fn learning_rate_scheduler_and_reduce_lr_log_the_rate() {
    let (x, y) = data();
    let mut m = regressor();
    let mut sched = LearningRateScheduler::new(|epoch, lr| if epoch == 0 { lr } else { lr * 0.5 });
    let h = m.fit(&x, &y, FitArgs::default().epochs(3).verbose(0).callback(&mut sched)).unwrap();
    let lrs: Vec<f32> = h.history["learning_rate"].clone();
    assert_eq!(
        lrs,
        vec![0.05f32, (0.05f32 as f64 * 0.5) as f32, ((0.05f32 as f64 * 0.5) as f32 as f64 * 0.5) as f32]
    );
    assert_eq!(m.compile_state().unwrap().optimizer.learning_rate(), lrs[2]);
}

#[test]
fn early_stopping_in_fit_stops_and_restores_best_weights() {
    let (x, y) = data();
    let mut m = regressor();
    // A learning rate that makes training diverge after the first epochs.
    m.compile_state_mut().unwrap().optimizer.set_learning_rate(1.5);
    let weights: Arc<Mutex<Vec<Vec<Tensor>>>> = Arc::default();
    struct Snap(Arc<Mutex<Vec<Vec<Tensor>>>>);
    impl Callback for Snap {
        fn on_epoch_end(&mut self, _: usize, m: &mut CallbackModel, _: &mut Logs) -> keras::Result<()> {
            self.0.lock().unwrap().push(m.get_weights());
            Ok(())
        }
    }
    let mut snap = Snap(weights.clone());
    let mut es = EarlyStopping::new().monitor("loss").patience(2).restore_best_weights(true);
    let h = m
        .fit(
            &x,
            &y,
            FitArgs::default().epochs(30).verbose(0).shuffle(false).callback(&mut snap).callback(&mut es),
        )
        .unwrap();
    let losses = &h.history["loss"];
    let best = (0..losses.len()).min_by(|&a, &b| losses[a].total_cmp(&losses[b])).unwrap();
    assert!(
        es.stopped_epoch > 0 && es.stopped_epoch < 29,
        "stopped at {}; losses {losses:?}",
        es.stopped_epoch
    );
    assert_eq!(h.epoch.len(), es.stopped_epoch + 1);
    assert_eq!(es.stopped_epoch, best + 2);
    assert_eq!(es.best_epoch, best);
    let snaps = weights.lock().unwrap();
    for (got, want) in m.get_weights().iter().zip(&snaps[best]) {
        assert_eq!(got.to_f32_vec(), want.to_f32_vec());
    }
}

#[test]
fn terminate_on_nan_stops_after_the_batch_or_fails() {
    let (x, _) = data();
    let y = Tensor::new(vec![f32::NAN; 32], [32, 1]).unwrap();
    let mut m = regressor();
    let mut rec = Recorder::default();
    let h = m
        .fit(
            &x,
            &y,
            FitArgs::default()
                .epochs(5)
                .batch_size(8)
                .verbose(0)
                .callback(&mut TerminateOnNaN::new())
                .callback(&mut rec),
        )
        .unwrap();
    assert_eq!(h.epoch, vec![0]);
    assert_eq!(rec.calls.iter().filter(|c| c.starts_with("batch_end")).count(), 1);
    let mut m = regressor();
    let e = m
        .fit(
            &x,
            &y,
            FitArgs::default().epochs(5).verbose(0).callback(&mut TerminateOnNaN::new().raise_error(true)),
        )
        .unwrap_err();
    assert!(e.message().contains("NaN or Inf loss encountered at batch 0"), "{e}");
}

#[test]
fn lambda_callback_sees_epochs_and_batches() {
    let (x, y) = data();
    let mut m = regressor();
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let (s1, s2, s3) = (seen.clone(), seen.clone(), seen.clone());
    let cb = LambdaCallback::new()
        .on_train_begin(move |_| {
            s1.lock().unwrap().push("begin".into());
            Ok(())
        })
        .on_train_batch_end(move |b, l| {
            s2.lock().unwrap().push(format!("b{b}:{}", l.contains_key("loss")));
            Ok(())
        })
        .on_epoch_end(move |e, l| {
            s3.lock().unwrap().push(format!("e{e}:{}", l.contains_key("mae")));
            Ok(())
        });
    m.fit(&x, &y, FitArgs::default().epochs(2).batch_size(16).verbose(0).callback_boxed(Box::new(cb)))
        .unwrap();
    assert_eq!(
        *seen.lock().unwrap(),
        ["begin", "b0:true", "b1:true", "e0:true", "b0:true", "b1:true", "e1:true"]
    );
}

#[test]
fn model_checkpoint_in_fit_best_only_threshold_and_batches() {
    let (x, y) = data();
    let dir = tmpdir("ckpt_fit");
    let mut m = regressor();
    let mut best = ModelCheckpoint::new(dir.join("best.keras")).monitor("val_loss").save_best_only(true);
    let mut every = ModelCheckpoint::new(dir.join("w-{epoch:02d}-{batch}.weights.h5"))
        .save_weights_only(true)
        .save_freq(SaveFreq::Batches(3));
    // A threshold no epoch beats: nothing is saved.
    let mut never =
        ModelCheckpoint::new(dir.join("never.keras")).save_best_only(true).initial_value_threshold(0.0);
    let h = m
        .fit(
            &x,
            &y,
            FitArgs::default()
                .epochs(3)
                .batch_size(8)
                .verbose(0)
                .validation_data(&x, &y)
                .callback(&mut best)
                .callback(&mut every)
                .callback(&mut never),
        )
        .unwrap();
    let vl = &h.history["val_loss"];
    let improving = (0..3).filter(|&e| (0..e).all(|p| vl[e] < vl[p])).count();
    assert_eq!(best.saved.len(), improving, "val_loss {vl:?}");
    assert_eq!(best.best(), Some(vl.iter().cloned().fold(f32::INFINITY, f32::min) as f64));
    // 4 batches per epoch, a save every 3 batches: epoch 1 batch 3, epoch 2 batch 2, epoch 3 batch 1 and 4.
    let names: Vec<String> =
        every.saved.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
    assert_eq!(names, ["w-01-3.weights.h5", "w-02-2.weights.h5", "w-03-1.weights.h5", "w-03-4.weights.h5"]);
    assert!(never.saved.is_empty() && !dir.join("never.keras").exists());
    // The best model loads back with the weights of its epoch.
    let loaded = keras::saving::load_model(dir.join("best.keras")).unwrap();
    assert_eq!(loaded.get_weights().len(), m.get_weights().len());
}

#[test]
fn bad_arguments_fail_before_training() {
    let (x, y) = data();
    let dir = tmpdir("bad");
    let cases: Vec<(Box<dyn Callback>, &str)> = vec![
        (Box::new(EarlyStopping::new().mode("mni")), "mode 'mni' is unknown"),
        (Box::new(ReduceLROnPlateau::new().factor(1.0)), "factor >= 1.0"),
        (Box::new(ModelCheckpoint::new(dir.join("m.txt"))), "must end in `.keras`"),
        (
            Box::new(ModelCheckpoint::new(dir.join("m.keras")).save_weights_only(true)),
            "must end in `.weights.h5`",
        ),
        (Box::new(ModelCheckpoint::new(dir.join("m-{val_acc:.2f}.keras"))), "uses the field `val_acc`"),
        (Box::new(ModelCheckpoint::new(dir.join("m-{epoch:.2q}.keras"))), "invalid format spec"),
        (Box::new(ModelCheckpoint::new(dir.join("m-{epoch.keras"))), "Single '{'"),
        (Box::new(ModelCheckpoint::new("/proc/keras_rs_no/m.keras")), "cannot create directory"),
        (Box::new(ModelCheckpoint::new(dir.clone().join("d.keras")).mode("up")), "mode 'up'"),
        (Box::new(CSVLogger::new("/proc/keras_rs_no/log.csv")), "CSVLogger cannot write"),
        (Box::new(keras::callbacks::TensorBoard::new("/proc/keras_rs_no/logs")), "TensorBoard cannot create"),
    ];
    for (cb, msg) in cases {
        let mut m = regressor();
        let before = m.get_weights();
        let e = m.fit(&x, &y, FitArgs::default().epochs(2).verbose(0).callback_boxed(cb)).unwrap_err();
        assert!(e.message().contains(msg), "expected '{msg}' in: {e}");
        assert_eq!(m.compile_state().unwrap().optimizer.iterations(), 0, "{msg}: trained before failing");
        for (a, b) in m.get_weights().iter().zip(&before) {
            assert_eq!(a.to_f32_vec(), b.to_f32_vec());
        }
    }
    // A directory where the checkpoint file should be.
    std::fs::create_dir_all(dir.join("isdir.keras")).unwrap();
    let mut m = regressor();
    let e = m
        .fit(
            &x,
            &y,
            FitArgs::default().verbose(0).callback(&mut ModelCheckpoint::new(dir.join("isdir.keras"))),
        )
        .unwrap_err();
    assert!(e.message().contains("non-directory filepath"), "{e}");
}

#[test]
fn missing_monitor_key_warns_once() {
    let (x, y) = data();
    let mut m = regressor();
    take_warnings();
    let mut es = EarlyStopping::new(); // val_loss, but no validation data
    let mut rl = ReduceLROnPlateau::new();
    m.fit(&x, &y, FitArgs::default().epochs(4).verbose(0).callback(&mut es).callback(&mut rl)).unwrap();
    let w = take_warnings();
    assert_eq!(
        w,
        [
            "Early stopping conditioned on metric `val_loss` which is not available. Available metrics are: loss,mae",
            "Learning rate reduction is conditioned on metric `val_loss` which is not available. Available metrics are: learning_rate,loss,mae.",
        ]
    );
    assert_eq!(es.stopped_epoch, 0);
    // Auto mode cannot tell the direction of an unknown metric: Keras's error.
    let mut m = regressor();
    let e = m
        .fit(
            &x,
            &y,
            FitArgs::default().epochs(1).verbose(0).callback(&mut EarlyStopping::new().monitor("custom")),
        )
        .unwrap_err();
    assert!(e.message().contains("isn't able to automatically determine"), "{e}");
}

/// A one-shot HTTP server on 127.0.0.1 that records the raw requests it gets; `delay`
/// makes it wait before answering.
fn http_server(
    requests: usize,
    delay: std::time::Duration,
) -> (String, std::thread::JoinHandle<Vec<String>>) {
    use std::io::{Read, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let root = format!("http://{}", l.local_addr().unwrap());
    let h = std::thread::spawn(move || {
        let mut got = Vec::new();
        for _ in 0..requests {
            let (mut s, _) = l.accept().unwrap();
            s.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            // Read headers, then Content-Length bytes of body.
            loop {
                let n = s.read(&mut chunk).unwrap();
                buf.extend_from_slice(&chunk[..n]);
                let text = String::from_utf8_lossy(&buf).to_string();
                if let Some(end) = text.find("\r\n\r\n") {
                    let len: usize = text
                        .lines()
                        .find_map(|l| l.strip_prefix("Content-Length: "))
                        .map(|v| v.trim().parse().unwrap())
                        .unwrap_or(0);
                    if buf.len() >= end + 4 + len || n == 0 {
                        break;
                    }
                }
                if n == 0 {
                    break;
                }
            }
            std::thread::sleep(delay);
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
            got.push(String::from_utf8_lossy(&buf).to_string());
        }
        got
    });
    (root, h)
}

#[test]
fn remote_monitor_posts_keras_payloads() {
    use keras::callbacks::RemoteMonitor;
    let (x, y) = data();
    // Form-encoded (Keras's default) and JSON, with a custom header.
    let (root, server) = http_server(4, std::time::Duration::ZERO);
    let mut form = RemoteMonitor::new().root(&root).header("X-Run", "7");
    let mut json = RemoteMonitor::new().root(&root).path("/j").send_as_json(true);
    take_warnings();
    let mut m = regressor();
    let h = m
        .fit(&x, &y, FitArgs::default().epochs(2).verbose(0).callback(&mut form).callback(&mut json))
        .unwrap();
    let reqs = server.join().unwrap();
    assert!(take_warnings().is_empty());
    assert_eq!(reqs.len(), 4);
    let payload = |e: usize| {
        format!(
            "{{\"epoch\": {e}, \"loss\": {}, \"mae\": {}}}",
            keras::callbacks::python_float_repr(h.history["loss"][e] as f64),
            keras::callbacks::python_float_repr(h.history["mae"][e] as f64)
        )
    };
    let form_req = &reqs[0];
    assert!(form_req.starts_with("POST /publish/epoch/end/ HTTP/1.1\r\n"), "{form_req}");
    assert!(form_req.contains("Content-Type: application/x-www-form-urlencoded\r\n"));
    assert!(form_req.contains("X-Run: 7\r\n"));
    let body = form_req.split("\r\n\r\n").nth(1).unwrap();
    let encoded: String = payload(0)
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => (b as char).to_string(),
            b' ' => "+".into(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    assert_eq!(body, format!("data={encoded}"));
    let json_req = &reqs[3];
    assert!(
        json_req.starts_with("POST /j HTTP/1.1\r\n")
            && json_req.contains("Content-Type: application/json\r\n")
    );
    assert_eq!(json_req.split("\r\n\r\n").nth(1).unwrap(), payload(1));
}

#[test]
fn remote_monitor_down_or_slow_server_only_warns() {
    use keras::callbacks::RemoteMonitor;
    let (x, y) = data();
    // Down: a port nobody listens on any more.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let down = format!("http://127.0.0.1:{port}");
    // Slow: answers long after the monitor's timeout.
    let (slow, server) = http_server(2, std::time::Duration::from_secs(2));
    take_warnings();
    let mut m = regressor();
    let timeout = std::time::Duration::from_millis(200);
    let h = m
        .fit(
            &x,
            &y,
            FitArgs::default()
                .epochs(2)
                .verbose(0)
                .callback(&mut RemoteMonitor::new().root(&down).timeout(timeout))
                .callback(&mut RemoteMonitor::new().root(&slow).timeout(timeout)),
        )
        .unwrap();
    assert_eq!(h.epoch, vec![0, 1]);
    let w = take_warnings();
    assert_eq!(
        w.iter().filter(|m| **m == format!("Could not reach RemoteMonitor root server at {down}")).count(),
        2
    );
    assert_eq!(
        w.iter().filter(|m| **m == format!("Could not reach RemoteMonitor root server at {slow}")).count(),
        2
    );
    server.join().unwrap();
}

#[test]
fn backup_and_restore_survives_an_interrupted_save() {
    use keras::callbacks::BackupAndRestore;
    let (x, y) = data();
    let dir = tmpdir("backup");
    let backup = dir.join("b");
    let mut m = regressor();
    let mut b = BackupAndRestore::new(&backup).delete_checkpoint(false);
    m.fit(&x, &y, FitArgs::default().epochs(2).verbose(0).callback(&mut b)).unwrap();
    let saved = m.get_weights();
    // A save interrupted after the new weights were written but before the new metadata:
    // the latest weights no longer match the metadata, the previous ones do.
    std::fs::rename(backup.join("latest.weights.h5"), backup.join("previous.weights.h5")).unwrap();
    m.fit(&x, &y, FitArgs::default().epochs(1).verbose(0)).unwrap();
    m.save_weights(backup.join("latest.weights.h5")).unwrap();
    let mut fresh = regressor();
    let mut b = BackupAndRestore::new(&backup).delete_checkpoint(false);
    let mut cm = CallbackModel::new(&mut fresh);
    b.on_train_begin(&mut cm, &mut Logs::new()).unwrap();
    assert_eq!(cm.initial_epoch, Some(2));
    for (a, w) in cm.get_weights().iter().zip(&saved) {
        assert_eq!(a.to_f32_vec(), w.to_f32_vec());
    }
    // Resuming past the end trains nothing more and returns an empty History.
    let h = fresh.fit(&x, &y, FitArgs::default().epochs(2).verbose(0).callback(&mut b)).unwrap();
    assert!(h.epoch.is_empty());
    // No weights match the metadata: a clear error, not silently mixed state.
    std::fs::remove_file(backup.join("previous.weights.h5")).unwrap();
    std::fs::write(backup.join("latest.weights.h5"), b"garbage").unwrap();
    let mut fresh = regressor();
    let e = fresh
        .fit(&x, &y, FitArgs::default().epochs(3).verbose(0).callback(&mut BackupAndRestore::new(&backup)))
        .unwrap_err();
    assert!(e.message().contains("no weights file"), "{e}");
}
