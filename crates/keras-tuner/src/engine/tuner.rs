//! The tuner (keras-tuner `engine.base_tuner.BaseTuner` and `engine.tuner.Tuner`): it asks
//! the oracle for trials, builds and trains a model per trial with the search's data and
//! callbacks (plus a checkpoint of the best epoch and TensorBoard HParams data), reports the
//! metrics back, and keeps the project directory a killed search resumes from.
//!
//! Trials may run on several threads (`n_parallel`). Each execution of a trial seeds the
//! thread's random generator from the tuner seed, the trial id and the execution number,
//! so a trial trains the same way whichever thread runs it: random and grid searches give
//! the same trials and scores in parallel as sequentially. Bayesian optimization and
//! Hyperband choose later trials from the results in hand, so in parallel they may choose
//! differently, as in keras-tuner.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

use keras::callbacks::{Callback, CallbackRef, TensorBoard};
use keras::trainers::Arrays;

use super::hypermodel::{FitResult, HyperModel};
use super::hyperparameters::{HpValue, HyperParameters};
use super::oracle::Oracle;
use super::search_args::SearchArgs;
use super::trial::{Trial, TrialStatus};
use super::tuner_utils::{self, SaveBestEpoch};
use crate::error::{bail, Error, Result};
use crate::json::Json;
use crate::model::TunableModel;
use crate::tensorboard::{trial_hparams, HParamsCallback};
use crate::utils::{self, sha256};

/// Options shared by every tuner (keras-tuner `Tuner` / `BaseTuner` arguments).
#[derive(Clone, Debug)]
pub(crate) struct TunerArgs {
    pub directory: PathBuf,
    pub project_name: String,
    pub overwrite: bool,
    pub executions_per_trial: usize,
    pub max_model_size: Option<usize>,
    pub tuner_id: String,
    pub n_parallel: usize,
    pub hyperband: bool,
}

impl Default for TunerArgs {
    fn default() -> Self {
        TunerArgs {
            directory: PathBuf::from("."),
            project_name: "untitled_project".into(),
            overwrite: false,
            executions_per_trial: 1,
            max_model_size: None,
            tuner_id: std::env::var("KERASTUNER_TUNER_ID").unwrap_or_else(|_| "tuner0".into()),
            n_parallel: 1,
            hyperband: false,
        }
    }
}

/// A tuner: made by [`RandomSearch`](crate::RandomSearch), [`GridSearch`](crate::GridSearch),
/// [`BayesianOptimization`](crate::BayesianOptimization) or [`Hyperband`](crate::Hyperband).
pub struct Tuner<H: HyperModel> {
    hypermodel: H,
    oracle: Mutex<Oracle>,
    opts: TunerArgs,
    project_dir: PathBuf,
}

impl<H: HyperModel> std::fmt::Debug for Tuner<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tuner").field("project_dir", &self.project_dir).finish_non_exhaustive()
    }
}

/// The seed of one execution of one trial.
fn trial_seed(seed: i64, trial_id: &str, execution: usize) -> u64 {
    let h = sha256(format!("{seed}/{trial_id}/{execution}").as_bytes());
    u64::from_le_bytes(h[..8].try_into().expect("8 bytes"))
}

const MAX_ACTIVATION_BUILDS: usize = 1000;

impl<H: HyperModel> Tuner<H> {
    pub(crate) fn create(hypermodel: H, mut oracle: Oracle, opts: TunerArgs) -> Result<Tuner<H>> {
        if opts.executions_per_trial == 0 {
            bail!(Value, "`executions_per_trial` must be at least 1.");
        }
        if opts.n_parallel == 0 {
            bail!(Value, "`n_parallel` must be at least 1.");
        }
        let project_dir = opts.directory.join(&opts.project_name);
        if opts.overwrite && project_dir.exists() {
            std::fs::remove_dir_all(&project_dir)
                .map_err(|e| Error::Io(format!("Cannot remove {}: {e}", project_dir.display())))?;
        }
        std::fs::create_dir_all(&project_dir)
            .map_err(|e| Error::Io(format!("Cannot create {}: {e}", project_dir.display())))?;
        oracle.set_project_dir(project_dir.clone());
        let tuner = Tuner { hypermodel, oracle: Mutex::new(oracle), opts, project_dir };
        let tuner_file = tuner.tuner_fname();
        if !tuner.opts.overwrite && tuner_file.exists() {
            println!("Reloading Tuner from {}", tuner_file.display());
            tuner.lock().reload()?;
        } else {
            tuner.populate_initial_space()?;
        }
        Ok(tuner)
    }

    fn lock(&self) -> MutexGuard<'_, Oracle> {
        self.oracle.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn tuner_fname(&self) -> PathBuf {
        self.project_dir.join(format!("{}.json", self.opts.tuner_id))
    }

    /// The project directory (`directory/project_name`).
    pub fn project_dir(&self) -> &Path {
        &self.project_dir
    }

    /// The hypermodel.
    pub fn hypermodel(&self) -> &H {
        &self.hypermodel
    }

    /// Runs `f` on the oracle (trials, scores, state).
    pub fn with_oracle<R>(&self, f: impl FnOnce(&Oracle) -> R) -> R {
        f(&self.lock())
    }

    fn build_model(&self, hp: &mut HyperParameters) -> Result<H::Model> {
        if self.hypermodel.tunable() {
            self.hypermodel.build(hp)
        } else {
            self.hypermodel.build(&mut hp.copy())
        }
    }

    /// Builds the hypermodel until every conditional scope has been active once, so the
    /// space holds every branch's hyperparameters (keras-tuner `_activate_all_conditions`).
    fn populate_initial_space(&self) -> Result<()> {
        let mut hp = self.lock().core.get_space();
        self.hypermodel.declare_hyperparameters(&mut hp)?;
        self.lock().core.update_space(&hp)?;
        let mut never: Vec<Vec<crate::engine::conditions::Condition>> = Vec::new();
        let mut once: Vec<Vec<crate::engine::conditions::Condition>> = Vec::new();
        let mut hp = self.lock().core.get_space();
        for _ in 0..MAX_ACTIVATION_BUILDS {
            keras::backend::clear_session();
            drop(self.build_model(&mut hp)?);
            self.lock().core.update_space(&hp)?;
            for c in &hp.active_scopes {
                if !once.contains(c) {
                    once.push(c.clone());
                }
                never.retain(|n| n != c);
            }
            for c in &hp.inactive_scopes {
                if !once.contains(c) && !never.contains(c) {
                    never.push(c.clone());
                }
            }
            let Some(conditions) = never.first().cloned() else { return Ok(()) };
            hp = self.lock().core.get_space();
            for c in &conditions {
                hp.values_mut().insert(c.name.clone(), c.values[0].clone());
            }
            let seed = self.lock().core.seed;
            hp.ensure_active_values(seed);
        }
        bail!(Runtime, "Could not activate every conditional scope of the hypermodel after {MAX_ACTIVATION_BUILDS} builds.")
    }

    /// Searches (keras-tuner `search(x, y, **fit_kwargs)`): runs trials until the oracle
    /// stops (max_trials reached, space exhausted, Hyperband done). Each trial trains with
    /// `args` (validation data, callbacks, epochs). Errors: an empty search space, a fatal
    /// error from the hypermodel, `max_consecutive_failed_trials` failed trials in a row.
    /// `x` and `y` are what `fit` takes: one array, a list per input/output or a map by name.
    pub fn search(&self, x: impl Into<Arrays>, y: impl Into<Arrays>, args: SearchArgs) -> Result<()> {
        let (x, y) = (&x.into(), &y.into());
        {
            let mut o = self.lock();
            o.core.display.verbose = args.verbose;
            if o.core.hyperparameters.space().is_empty() {
                bail!(
                    Value,
                    "The search space is empty: the hypermodel registered no hyperparameter. Ask `hp` for values in `build` (hp.int, hp.float, hp.choice, hp.boolean, hp.fixed) or pass `hyperparameters`."
                );
            }
        }
        let stop = AtomicBool::new(false);
        if self.opts.n_parallel == 1 {
            return self.worker(&self.opts.tuner_id, x, y, &args, &stop);
        }
        let results: Vec<Result<()>> = std::thread::scope(|s| {
            let handles: Vec<_> = (1..self.opts.n_parallel)
                .map(|i| {
                    let id = format!("{}-{i}", self.opts.tuner_id);
                    let (args, stop) = (&args, &stop);
                    s.spawn(move || self.worker(&id, x, y, args, stop))
                })
                .collect();
            // The first worker runs on the calling thread. On the program's main thread that
            // thread is also the engine pool's thread 0 (`keras_engine::parallel`), which
            // takes part in parallel kernels only while it runs some itself: left waiting
            // for the workers, it would leave them one pool thread fewer.
            let first = self.worker(&self.opts.tuner_id, x, y, &args, &stop);
            std::iter::once(first)
                .chain(handles.into_iter().map(|h| {
                    h.join().unwrap_or_else(|_| Err(Error::Runtime("a search worker panicked".into())))
                }))
                .collect()
        });
        results.into_iter().collect::<Result<Vec<()>>>().map(|_| ())
    }

    fn worker(
        &self,
        tuner_id: &str,
        x: &Arrays,
        y: &Arrays,
        args: &SearchArgs,
        stop: &AtomicBool,
    ) -> Result<()> {
        loop {
            if stop.load(Ordering::SeqCst) {
                return Ok(());
            }
            let trial = self.lock().create_trial(tuner_id);
            let mut trial = match trial {
                Ok(t) => t,
                Err(e) => {
                    stop.store(true, Ordering::SeqCst);
                    return Err(e);
                }
            };
            match trial.status {
                TrialStatus::Stopped => return Ok(()),
                TrialStatus::Idle => {
                    std::thread::sleep(std::time::Duration::from_millis(10));
                    continue;
                }
                _ => {}
            }
            if let Err(e) = self.try_run_and_update_trial(&mut trial, x, y, args) {
                stop.store(true, Ordering::SeqCst);
                return Err(e);
            }
            let mut o = self.lock();
            let ended = o.end_trial(&trial);
            let saved = utils::save_json(&self.tuner_fname(), &Json::object());
            drop(o);
            if let Err(e) = ended.and(saved) {
                stop.store(true, Ordering::SeqCst);
                return Err(e);
            }
        }
    }

    /// Runs one trial; sets its status (`Completed`, `Invalid`, `Failed`) and message. Only
    /// a fatal error is returned.
    fn try_run_and_update_trial(
        &self,
        trial: &mut Trial,
        x: &Arrays,
        y: &Arrays,
        args: &SearchArgs,
    ) -> Result<()> {
        let out = catch_unwind(AssertUnwindSafe(|| self.run_and_update_trial(trial, x, y, args)));
        let err = match out {
            Ok(Ok(())) => {
                trial.status = TrialStatus::Completed;
                return Ok(());
            }
            Ok(Err(Error::Fatal(m))) => return Err(Error::Fatal(m)),
            Ok(Err(e)) => e,
            Err(p) => {
                let what = p
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "unknown panic".into());
                Error::Runtime(format!("the trial panicked: {what}"))
            }
        };
        trial.status =
            if matches!(err, Error::FailedTrial(_)) { TrialStatus::Failed } else { TrialStatus::Invalid };
        let message = format!("{}: {}", err.kind(), err.message());
        if args.verbose > 0 {
            eprintln!("Trial {} failed: {message}", trial.trial_id);
        }
        trial.message = Some(message);
        Ok(())
    }

    fn run_and_update_trial(
        &self,
        trial: &mut Trial,
        x: &Arrays,
        y: &Arrays,
        args: &SearchArgs,
    ) -> Result<()> {
        let results = self.run_trial(trial, x, y, args)?;
        let objective = self.lock().core.objective.clone();
        for r in &results {
            tuner_utils::validate(r, &objective, "Tuner.run_trial()")?;
        }
        let metrics = tuner_utils::to_metrics(&results, &objective)?;
        let step = tuner_utils::best_step(&results, &objective)?;
        self.lock().update_trial(&trial.trial_id, &metrics, step)
    }

    fn checkpoint_fname(&self, trial_id: &str) -> PathBuf {
        self.project_dir.join(format!("trial_{trial_id}")).join("checkpoint.weights.h5")
    }

    /// keras-tuner `Tuner.run_trial` (and Hyperband's): `executions_per_trial` builds and
    /// fits, each from a fresh initialisation, with the search's callbacks, a TensorBoard
    /// run per execution and the best-epoch checkpoint.
    fn run_trial(
        &self,
        trial: &mut Trial,
        x: &Arrays,
        y: &Arrays,
        args: &SearchArgs,
    ) -> Result<Vec<FitResult>> {
        let trial_dir = self.project_dir.join(format!("trial_{}", trial.trial_id));
        std::fs::create_dir_all(&trial_dir)
            .map_err(|e| Error::Io(format!("Cannot create {}: {e}", trial_dir.display())))?;
        let (objective, seed) = {
            let o = self.lock();
            (o.core.objective.clone(), o.core.seed)
        };
        let mut save_best = SaveBestEpoch::new(objective.clone(), self.checkpoint_fname(&trial.trial_id));
        let mut results = Vec::new();
        for execution in 0..self.opts.executions_per_trial {
            let (mut fit_args, mut callbacks) = args.fit_args();
            let values = trial.hyperparameters.values().clone();
            if self.opts.hyperband {
                if let Some(e) = values.get("tuner/epochs").and_then(HpValue::as_i64) {
                    fit_args.epochs = e.max(0) as usize;
                    fit_args.initial_epoch =
                        values.get("tuner/initial_epoch").and_then(HpValue::as_i64).unwrap_or(0).max(0)
                            as usize;
                }
            }
            let mut extra: Vec<Box<dyn Callback>> = Vec::new();
            for cb in callbacks.iter_mut() {
                if let Some(tb) = cb.as_mut().as_any_mut().downcast_mut::<TensorBoard>() {
                    let logdir = tb.log_dir.join(&trial.trial_id).join(format!("execution{execution}"));
                    tb.log_dir = logdir.clone();
                    extra.push(Box::new(HParamsCallback::new(
                        logdir,
                        trial_hparams(&trial.hyperparameters),
                        &trial.trial_id,
                    )));
                }
            }
            callbacks.extend(extra);
            let fit_args =
                fit_args.callbacks(callbacks.into_iter().map(CallbackRef::Owned)).callback(&mut save_best);
            keras::utils::set_random_seed(trial_seed(seed, &trial.trial_id, execution));
            keras::backend::clear_session();
            let mut model = self.try_build(&mut trial.hyperparameters)?;
            if self.opts.hyperband {
                if let Some(prev) = values.get("tuner/trial_id") {
                    model.load_weights(&self.checkpoint_fname(&prev.to_string()))?;
                }
            }
            let result = self.hypermodel.fit(&mut trial.hyperparameters, &mut model, x, y, fit_args)?;
            if let Some(cfg) = model.build_config() {
                utils::save_json(&trial_dir.join("build_config.json"), &cfg)?;
            }
            tuner_utils::validate(&result, &objective, "HyperModel.fit()")?;
            results.push(result);
        }
        Ok(results)
    }

    fn try_build(&self, hp: &mut HyperParameters) -> Result<H::Model> {
        let model = self.build_model(hp)?;
        if let Some(max) = self.opts.max_model_size {
            let size = model.count_params();
            if size > max {
                bail!(FailedTrial, "Oversized model: {size} parameters. Skip model.");
            }
        }
        Ok(model)
    }

    /// The best trials' hyperparameters, best first (keras-tuner `get_best_hyperparameters`).
    pub fn get_best_hyperparameters(&self, num_trials: usize) -> Vec<HyperParameters> {
        self.lock().core.get_best_trials(num_trials).into_iter().map(|t| t.hyperparameters.copy()).collect()
    }

    /// The best trials, best first (the oracle's `get_best_trials`).
    pub fn get_best_trials(&self, num_trials: usize) -> Vec<Trial> {
        self.lock().core.get_best_trials(num_trials).into_iter().cloned().collect()
    }

    /// Every trial, in creation order.
    pub fn trials(&self) -> Vec<Trial> {
        self.lock().core.trials().to_vec()
    }

    /// Trials left before `max_trials` (`None` without a limit).
    pub fn remaining_trials(&self) -> Option<usize> {
        self.lock().core.remaining_trials()
    }

    /// The search space (keras-tuner `oracle.get_space()`).
    pub fn get_space(&self) -> HyperParameters {
        self.lock().core.get_space()
    }

    /// The best models, best first, each rebuilt and restored from its trial's best
    /// checkpoint (keras-tuner `get_best_models`).
    pub fn get_best_models(&self, num_models: usize) -> Result<Vec<H::Model>> {
        let trials = self.get_best_trials(num_models);
        let mut models = Vec::new();
        for t in trials {
            keras::backend::clear_session();
            let mut hp = t.hyperparameters.copy();
            let mut model = self.try_build(&mut hp)?;
            let path = self.checkpoint_fname(&t.trial_id);
            if !path.exists() {
                bail!(
                    Value,
                    "Trial {} has no checkpoint ({}): its model never finished an epoch.",
                    t.trial_id,
                    path.display()
                );
            }
            model.load_weights(&path)?;
            models.push(model);
        }
        Ok(models)
    }

    /// keras-tuner's `search_space_summary()` text.
    pub fn search_space_summary_string(&self) -> String {
        let hp = self.get_space();
        let mut s = format!("Search space summary\nDefault search space size: {}\n", hp.space().len());
        for p in hp.space() {
            let mut cfg = p.config();
            if let Json::Object(v) = &mut cfg {
                v.retain(|(k, _)| k != "name");
            }
            s.push_str(&format!("{} ({})\n{}\n", p.name(), p.class_name(), cfg.py_repr()));
        }
        s
    }

    /// Prints [`Tuner::search_space_summary_string`].
    pub fn search_space_summary(&self) {
        print!("{}", self.search_space_summary_string());
    }

    /// keras-tuner's `results_summary(num_trials)` text: the project, the objective, and the
    /// best trials with their values and scores.
    pub fn results_summary_string(&self, num_trials: usize) -> String {
        let o = self.lock();
        let mut s = format!(
            "Results summary\nResults in {}\nShowing {num_trials} best trials\n{}\n",
            self.project_dir.display(),
            o.core.objective
        );
        for t in o.core.get_best_trials(num_trials) {
            s.push('\n');
            s.push_str(&t.summary());
        }
        s
    }

    /// Prints [`Tuner::results_summary_string`].
    pub fn results_summary(&self, num_trials: usize) {
        print!("{}", self.results_summary_string(num_trials));
    }
}
