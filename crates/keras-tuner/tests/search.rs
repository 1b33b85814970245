//! Searches over real keras-rs models, as a user runs them: validation data and callbacks
//! reach every trial (EarlyStopping stops trials, TensorBoard gets a run per trial with
//! HParams data), the project directory has keras-tuner's files, the best models come back
//! from their checkpoints with the scores the search saw, summaries have keras-tuner's
//! layout, failed builds are recorded and the search stops after
//! `max_consecutive_failed_trials`, and parallel trials give the sequential results.

mod common;

use common::data;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use keras::callbacks::{EarlyStopping, TensorBoard};
use keras::layers::{Dense, Input};
use keras::models::Sequential;
use keras::optimizers::Adam;
use keras::trainers::Arrays;
use keras::{EvaluateArgs, FitArgs, History, Tensor};
use keras_tuner::json::Json;
use keras_tuner::{
    Error, FitResult, GridSearch, HyperModel, HyperParameters, Hyperband, RandomSearch, SearchArgs,
    TrialStatus,
};

fn build_mlp(hp: &mut HyperParameters) -> keras_tuner::Result<Sequential> {
    let units = hp.int("units", 8, 32).step(8).value()?;
    let lr = hp.float("learning_rate", 1e-3, 3e-2).sampling("log").value()?;
    let mut model = Sequential::new();
    model.add(Input::new(&[4]))?;
    model.add(Dense::new(units as usize).activation("relu"))?;
    model.add(Dense::new(3).activation("softmax"))?;
    model.compile(Adam::new().learning_rate(lr as f32), "sparse_categorical_crossentropy", &["accuracy"])?;
    Ok(model)
}

/// The MLP, recording one value of each fit's History (`record`).
struct Mlp<T> {
    seen: Mutex<Vec<T>>,
    record: fn(&History) -> T,
}

impl<T> Mlp<T> {
    fn new(record: fn(&History) -> T) -> Self {
        Mlp { seen: Mutex::new(Vec::new()), record }
    }
}

/// How many epochs a fit ran.
fn epochs_run(h: &History) -> usize {
    h.epoch.len()
}

/// A fit's best `val_loss`.
fn best_val_loss(h: &History) -> f64 {
    h.history["val_loss"].iter().map(|v| *v as f64).fold(f64::INFINITY, f64::min)
}

impl<T: Send> HyperModel for Mlp<T> {
    type Model = Sequential;
    fn build(&self, hp: &mut HyperParameters) -> keras_tuner::Result<Sequential> {
        build_mlp(hp)
    }
    fn fit(
        &self,
        _hp: &mut HyperParameters,
        model: &mut Sequential,
        x: &Arrays,
        y: &Arrays,
        args: FitArgs<'_>,
    ) -> keras_tuner::Result<FitResult> {
        let h = model.fit(x, y, args)?;
        self.seen.lock().unwrap().push((self.record)(&h));
        Ok(FitResult::History(h))
    }
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("kt_search_{}_{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(files_under(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn random_search_end_to_end() {
    let dir = tmp("e2e");
    let (x, y) = data(96, 1);
    let (xv, yv) = data(48, 2);
    let tb_dir = dir.join("tb");
    let tuner = RandomSearch::new(Mlp::new(epochs_run))
        .objective("val_accuracy")
        .max_trials(3)
        .seed(3)
        .directory(&dir)
        .project_name("mlp")
        .build()
        .unwrap();
    assert_eq!(
        tuner.search_space_summary_string(),
        "Search space summary\nDefault search space size: 2\nunits (Int)\n{'default': None, 'conditions': [], 'min_value': 8, 'max_value': 32, 'step': 8, 'sampling': 'linear'}\nlearning_rate (Float)\n{'default': 0.001, 'conditions': [], 'min_value': 0.001, 'max_value': 0.03, 'step': None, 'sampling': 'log'}\n"
    );
    let tb = tb_dir.clone();
    let args = SearchArgs::default()
        .epochs(30)
        .batch_size(16)
        .verbose(0)
        .validation_data(&xv, &yv)
        // Stops as soon as the training loss fails to improve by 10: after two epochs.
        .callback(|| EarlyStopping::new().monitor("loss").min_delta(10.0).patience(0))
        .callback(move || TensorBoard::new(tb.clone()));
    tuner.search(&x, &y, args).unwrap();

    // EarlyStopping ran inside every trial.
    assert_eq!(*tuner.hypermodel().seen.lock().unwrap(), vec![2, 2, 2]);
    let trials = tuner.trials();
    assert_eq!(trials.len(), 3);
    let project = dir.join("mlp");
    for name in ["oracle.json", "tuner0.json"] {
        assert!(project.join(name).is_file(), "{name}");
    }
    for t in &trials {
        assert_eq!(t.status, TrialStatus::Completed);
        let td = project.join(format!("trial_{}", t.trial_id));
        for f in ["trial.json", "checkpoint.weights.h5", "build_config.json"] {
            assert!(td.join(f).is_file(), "{f}");
        }
        let state = keras_tuner::json::load(&td.join("trial.json")).unwrap();
        assert_eq!(state.get("status").and_then(Json::as_str), Some("COMPLETED"));
        assert_eq!(state.get("score").and_then(Json::as_f64), t.score);
        let obs = state.get("metrics").unwrap().get("metrics").unwrap().get("val_accuracy").unwrap();
        assert_eq!(obs.get("direction").and_then(Json::as_str), Some("max"));
        assert_eq!(
            keras_tuner::json::load(&td.join("build_config.json")).unwrap().dumps(),
            "{\"input_shape\": [null, 4]}"
        );
        // A TensorBoard run per trial, with the HParams session data.
        let run = tb_dir.join(&t.trial_id).join("execution0");
        let events: Vec<u8> = files_under(&run)
            .iter()
            .filter(|p| p.parent() == Some(run.as_path()))
            .flat_map(|p| std::fs::read(p).unwrap())
            .collect();
        let has = |s: &str| events.windows(s.len()).any(|w| w == s.as_bytes());
        assert!(has("_hparams_/session_start_info") && has("_hparams_/session_end_info"));
        assert!(run.join("train").is_dir() && run.join("validation").is_dir());
    }
    assert_eq!(trials.iter().map(|t| t.trial_id.as_str()).collect::<Vec<_>>(), ["0", "1", "2"]); // width of str(max_trials)

    // The best model is the best trial's checkpoint: it scores what the search recorded.
    let best = tuner.get_best_trials(1)[0].clone();
    let mut models = tuner.get_best_models(1).unwrap();
    let logs = models[0].evaluate(&xv, &yv, EvaluateArgs::default().verbose(0).batch_size(16)).unwrap();
    assert!((logs["accuracy"] as f64 - best.score.unwrap()).abs() < 1e-6, "{logs:?} vs {:?}", best.score);
    assert_eq!(tuner.get_best_hyperparameters(1)[0].values(), best.hyperparameters.values());

    let summary = tuner.results_summary_string(2);
    let head = format!(
        "Results summary\nResults in {}\nShowing 2 best trials\nObjective(name=\"val_accuracy\", direction=\"max\")\n\nTrial {} summary\nHyperparameters:\nunits: ",
        project.display(),
        best.trial_id
    );
    assert!(summary.starts_with(&head), "{summary}");
    assert_eq!(summary.matches("Score: ").count(), 2);

    // Running the same program again resumes: nothing left to do, nothing rerun.
    let again = RandomSearch::new(Mlp::new(epochs_run))
        .objective("val_accuracy")
        .max_trials(3)
        .seed(3)
        .directory(&dir)
        .project_name("mlp")
        .build()
        .unwrap();
    again.search(&x, &y, SearchArgs::default().epochs(2).verbose(0).validation_data(&xv, &yv)).unwrap();
    assert!(again.hypermodel().seen.lock().unwrap().is_empty());
    assert_eq!(again.trials().len(), 3);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Builds fail for units >= 16: a failed build is a failed trial (after its retry), and two
/// failed trials in a row stop the search.
#[test]
fn failed_builds_are_recorded_until_max_consecutive_failures() {
    let dir = tmp("fail");
    let (x, _) = data(32, 3);
    let y = Tensor::new(vec![0.5; 32], [32, 1]).unwrap();
    let build = |hp: &mut HyperParameters| -> keras_tuner::Result<Sequential> {
        let units = hp.int("units", 8, 32).step(8).value()?;
        if units >= 16 {
            return Err(Error::Value(format!("no room for {units} units")));
        }
        let mut model = Sequential::new();
        model.add(Input::new(&[4]))?;
        model.add(Dense::new(units as usize))?;
        model.add(Dense::new(1))?;
        model.compile("sgd", "mse", &[])?;
        Ok(model)
    };
    let tuner = GridSearch::new(build)
        .objective("loss")
        .max_retries_per_trial(1)
        .max_consecutive_failed_trials(2)
        .directory(&dir)
        .project_name("p")
        .build()
        .unwrap();
    let e = tuner.search(&x, &y, SearchArgs::default().epochs(1).verbose(0)).unwrap_err();
    assert!(matches!(e, Error::Runtime(_)));
    assert!(
        e.to_string().starts_with(
            "Number of consecutive failures exceeded the limit of 2.\nValueError: no room for 24 units"
        ),
        "{e}"
    );
    let trials = tuner.trials();
    let status: Vec<_> = trials.iter().map(|t| t.status).collect();
    assert_eq!(status, [TrialStatus::Completed, TrialStatus::Failed, TrialStatus::Failed]);
    assert_eq!(trials[1].message.as_deref(), Some("ValueError: no room for 16 units"));
    let oracle = keras_tuner::json::load(&dir.join("p").join("oracle.json")).unwrap();
    assert_eq!(oracle.get("run_times").unwrap().dumps(), "{\"0000\": 1, \"0001\": 2, \"0002\": 2}");
    assert!(tuner.results_summary_string(3).contains("ValueError: no room for 16 units"));
    let _ = std::fs::remove_dir_all(&dir);
}

fn run_random(n_parallel: usize, dir: &Path) -> Vec<(String, String, Option<f64>)> {
    let (x, y) = data(64, 5);
    let (xv, yv) = data(32, 6);
    let tuner = RandomSearch::new(build_mlp)
        .objective("val_loss")
        .max_trials(4)
        .seed(11)
        .n_parallel(n_parallel)
        .directory(dir)
        .project_name(&format!("p{n_parallel}"))
        .build()
        .unwrap();
    tuner
        .search(&x, &y, SearchArgs::default().epochs(3).batch_size(16).verbose(0).validation_data(&xv, &yv))
        .unwrap();
    tuner
        .trials()
        .iter()
        .map(|t| (t.trial_id.clone(), t.hyperparameters.values().to_json().dumps(), t.score))
        .collect()
}

#[test]
fn parallel_trials_give_the_sequential_results() {
    let dir = tmp("parallel");
    let seq = run_random(1, &dir);
    let par = run_random(2, &dir);
    assert_eq!(seq.len(), 4);
    assert_eq!(seq, par);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn hyperband_continues_trials_from_their_checkpoints() {
    let dir = tmp("hyperband");
    let (x, y) = data(64, 7);
    let (xv, yv) = data(32, 8);
    let tuner = Hyperband::new(build_mlp)
        .objective("val_accuracy")
        .max_epochs(4)
        .factor(2)
        .seed(5)
        .directory(&dir)
        .project_name("hb")
        .build()
        .unwrap();
    tuner.search(&x, &y, SearchArgs::default().batch_size(16).verbose(0).validation_data(&xv, &yv)).unwrap();
    let trials = tuner.trials();
    assert!(
        trials.iter().all(|t| t.status == TrialStatus::Completed),
        "{:?}",
        trials.iter().map(|t| &t.message).collect::<Vec<_>>()
    );
    let continued: Vec<_> =
        trials.iter().filter(|t| t.hyperparameters.values().contains("tuner/trial_id")).collect();
    assert!(!continued.is_empty());
    for t in continued {
        // A continued trial keeps its predecessor's values and trains on from its epochs.
        let prev_id = t.hyperparameters.values().get("tuner/trial_id").unwrap().to_string();
        let prev = trials.iter().find(|p| p.trial_id == prev_id).unwrap();
        for k in ["units", "learning_rate"] {
            assert_eq!(t.hyperparameters.values().get(k), prev.hyperparameters.values().get(k));
        }
        assert_eq!(
            t.hyperparameters.values().get("tuner/initial_epoch"),
            prev.hyperparameters.values().get("tuner/epochs")
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `executions_per_trial` trains each trial from two initialisations (different ones) and
/// reports the mean of their best epochs.
#[test]
fn executions_are_averaged() {
    let dir = tmp("executions");
    let (x, y) = data(48, 9);
    let (xv, yv) = data(24, 10);
    let tuner = RandomSearch::new(Mlp::new(best_val_loss))
        .objective("val_loss")
        .max_trials(2)
        .executions_per_trial(2)
        .seed(4)
        .directory(&dir)
        .project_name("p")
        .build()
        .unwrap();
    tuner.search(&x, &y, SearchArgs::default().epochs(3).verbose(0).validation_data(&xv, &yv)).unwrap();
    let bests = tuner.hypermodel().seen.lock().unwrap().clone();
    assert_eq!(bests.len(), 4);
    for (k, t) in tuner.trials().iter().enumerate() {
        assert_ne!(bests[2 * k], bests[2 * k + 1], "the executions start from different initialisations");
        assert_eq!(t.score, Some((bests[2 * k] + bests[2 * k + 1]) / 2.0));
    }
    let _ = std::fs::remove_dir_all(&dir);
}
