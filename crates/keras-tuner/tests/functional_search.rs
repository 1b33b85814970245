//! Tuning a Functional model with two inputs and two outputs: the search's `x` and `y` are
//! lists (or maps by name), validation data too, the objective is one output's metric under
//! Keras's log name, and the best model comes back from its checkpoint with the score the
//! search recorded.

mod common;

use std::path::PathBuf;

use keras::layers::{Concatenate, Dense};
use keras::models::{Functional, Model, SymbolicCall};
use keras::optimizers::Adam;
use keras::trainers::{Arrays, CompileArgs, MetricArg, Metrics};
use keras::{EvaluateArgs, Input, Tensor};
use keras_tuner::json::Json;
use keras_tuner::{Direction, HyperParameters, Objective, RandomSearch, SearchArgs, TrialStatus};

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("keras_tuner_functional_{name}_{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// Two inputs (4 and 2 features); targets: a class from the first, a value from the second.
fn data(n: usize, seed: u64) -> (Vec<Tensor>, Vec<Tensor>) {
    let mut s = seed;
    let mut next = || {
        s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((s >> 40) as f32) / (1u64 << 24) as f32 * 2.0 - 1.0
    };
    let a: Vec<f32> = (0..n * 4).map(|_| next()).collect();
    let b: Vec<f32> = (0..n * 2).map(|_| next()).collect();
    let cls: Vec<i32> = (0..n).map(|i| (a[i * 4] + a[i * 4 + 1] > 0.0) as i32).collect();
    let reg: Vec<f32> = (0..n).map(|i| b[i * 2] - 0.5 * b[i * 2 + 1]).collect();
    (
        vec![Tensor::new(a, [n, 4]).unwrap(), Tensor::new(b, [n, 2]).unwrap()],
        vec![Tensor::from_i32(cls, [n]).unwrap(), Tensor::new(reg, [n, 1]).unwrap()],
    )
}

fn build(hp: &mut HyperParameters) -> keras_tuner::Result<Functional> {
    let units = hp.int("units", 4, 16).step(4).value()?;
    let lr = hp.float("learning_rate", 1e-2, 3e-2).sampling("log").value()?;
    let a = Input::named(&[4], "a");
    let b = Input::named(&[2], "b");
    let h = Concatenate::new().apply_list(&[&a, &b])?;
    let h = Dense::new(units as usize).activation("relu").apply(&h)?;
    let cls = Dense::new(2).activation("softmax").name("cls").apply(&h)?;
    let reg = Dense::new(1).name("reg").apply(&h)?;
    let mut model = Model::new(&[a, b], &[cls, reg])?;
    let metrics =
        Metrics::Map([("cls".to_string(), vec![MetricArg::from("accuracy")])].into_iter().collect());
    let args = CompileArgs::new(Adam::new().learning_rate(lr as f32))
        .loss(["sparse_categorical_crossentropy", "mse"])
        .metrics(metrics);
    model.compile_args(args)?;
    Ok(model)
}

#[test]
fn random_search_tunes_a_two_input_two_output_functional_model() {
    let dir = tmp("two_heads");
    let (x, y) = data(64, 1);
    let (xv, yv) = data(32, 2);
    let tuner = RandomSearch::new(build)
        // keras-tuner cannot infer the direction of an output's metric ("cls_accuracy" is no
        // Keras metric name), so it is given, as in Python.
        .objective(Objective::new("val_cls_accuracy", Direction::Max))
        .max_trials(3)
        .seed(5)
        .directory(&dir)
        .project_name("two_heads")
        .build()
        .unwrap();
    let args = SearchArgs::default().epochs(3).batch_size(16).verbose(0).validation_data(&xv[..], &yv[..]);
    tuner.search(&x[..], &y[..], args).unwrap();

    let trials = tuner.trials();
    assert_eq!(trials.len(), 3);
    for t in &trials {
        assert_eq!(t.status, TrialStatus::Completed, "{:?}", t.message);
        let bc = dir.join("two_heads").join(format!("trial_{}", t.trial_id)).join("build_config.json");
        assert_eq!(
            keras_tuner::json::load(&bc).unwrap().dumps(),
            "{\"input_shape\": null}",
            "Keras's get_build_config() of a Functional model"
        );
        let state = keras_tuner::json::load(&bc.with_file_name("trial.json")).unwrap();
        let obs = state.get("metrics").unwrap().get("metrics").unwrap();
        assert!(obs.get("val_cls_accuracy").is_some() && obs.get("val_reg_loss").is_some());
        assert_eq!(obs.get("val_cls_accuracy").unwrap().get("direction").and_then(Json::as_str), Some("max"));
    }

    // The best model comes back from its checkpoint and scores what the search recorded.
    let best = tuner.get_best_trials(1)[0].clone();
    let mut models = tuner.get_best_models(1).unwrap();
    let logs =
        models[0].evaluate(&xv[..], &yv[..], EvaluateArgs::default().verbose(0).batch_size(16)).unwrap();
    let acc = logs["cls_accuracy"] as f64;
    assert!((acc - best.score.unwrap()).abs() < 1e-6, "{logs:?} vs {:?}", best.score);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_output_metric_needs_an_explicit_direction_as_in_keras_tuner() {
    let e =
        RandomSearch::new(build).objective("val_cls_accuracy").directory(tmp("dir")).build().err().unwrap();
    assert!(e.to_string().contains("Could not infer optimization direction"), "{e}");
}

#[test]
fn maps_by_input_and_output_name_work_as_search_data() {
    let dir = tmp("maps");
    let (x, y) = data(32, 3);
    let by_name = |names: [&str; 2], ts: &[Tensor]| {
        Arrays::Map(names.iter().map(|n| n.to_string()).zip(ts.iter().cloned()).collect())
    };
    let tuner = RandomSearch::new(build)
        .objective("val_loss")
        .max_trials(1)
        .seed(1)
        .directory(&dir)
        .project_name("maps")
        .build()
        .unwrap();
    let args = SearchArgs::default()
        .epochs(1)
        .batch_size(16)
        .verbose(0)
        .validation_data(by_name(["a", "b"], &x), by_name(["cls", "reg"], &y));
    tuner.search(by_name(["a", "b"], &x), by_name(["cls", "reg"], &y), args).unwrap();
    assert_eq!(tuner.trials()[0].status, TrialStatus::Completed, "{:?}", tuner.trials()[0].message);
    // A wrong input name fails the trial with the model's error, not a panic.
    let bad = RandomSearch::new(build)
        .max_trials(1)
        .max_consecutive_failed_trials(1)
        .objective("loss")
        .directory(&dir)
        .project_name("bad")
        .build()
        .unwrap();
    let e = bad.search(
        by_name(["a", "nope"], &x),
        by_name(["cls", "reg"], &y),
        SearchArgs::default().epochs(1).verbose(0),
    );
    assert!(e.is_err(), "a search whose every trial fails must report it");
    let _ = std::fs::remove_dir_all(&dir);
}
