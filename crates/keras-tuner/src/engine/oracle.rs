//! The oracle (keras-tuner `engine.oracle.Oracle`): it owns the trials, hands out new ones
//! (values chosen by a search [`Algorithm`]), records their results, retries crashed ones,
//! stops after too many consecutive failures, and keeps `oracle.json` and every
//! `trial_<id>/trial.json` on disk so a killed search resumes.

use std::path::{Path, PathBuf};

use super::display::Display;
use super::hyperparameters::{HyperParameter, HyperParameters, Values};
use super::objective::{Direction, Objective};
use super::trial::{Trial, TrialStatus};
use crate::error::{bail, Error, Result};
use crate::json::{self, Json};
use crate::utils::{self, sha256_hex};

/// What an algorithm answers when asked for a new trial's values.
#[derive(Clone, Debug, PartialEq)]
pub enum Populate {
    /// Run a trial with these values.
    Running(Values),
    /// Nothing to run until running trials end (ask again).
    Idle,
    /// The search is over.
    Stopped,
}

/// A search algorithm: how the values of new trials are chosen (keras-tuner's oracle
/// subclasses: `RandomSearchOracle`, `GridSearchOracle`, `BayesianOptimizationOracle`,
/// `HyperbandOracle`). Implement it for a custom search.
pub trait Algorithm: Send {
    /// keras-tuner `populate_space(trial_id)`.
    fn populate_space(&mut self, core: &mut OracleCore, trial_id: &str) -> Result<Populate>;
    /// Called after the base oracle ended a trial.
    fn on_end_trial(&mut self, _core: &mut OracleCore, _trial_id: &str) {}
    /// Extra entries of `oracle.json`.
    fn get_state(&self) -> Vec<(String, Json)> {
        Vec::new()
    }
    /// Reads the extra entries back (the trials are already loaded in `core`).
    fn set_state(&mut self, _core: &OracleCore, _state: &Json) -> Result<()> {
        Ok(())
    }
    /// Value names left out of the duplicate-detection hash.
    fn hash_ignores(&self) -> &'static [&'static str] {
        &[]
    }
}

/// The arguments every oracle takes (keras-tuner `Oracle.__init__`).
#[derive(Clone, Debug)]
pub struct OracleArgs {
    /// The objective.
    pub objective: Objective,
    /// Most trials to create (`None`: no limit).
    pub max_trials: Option<usize>,
    /// A search space to start from (overrides or pre-registers hyperparameters).
    pub hyperparameters: Option<HyperParameters>,
    /// Whether the hypermodel may ask for hyperparameters not in `hyperparameters`.
    pub allow_new_entries: bool,
    /// Whether such new hyperparameters are tuned (else their defaults are used).
    pub tune_new_entries: bool,
    /// Random seed (`None` or 0: drawn, as keras-tuner's `seed or random.randint(1, 10000)`).
    pub seed: Option<i64>,
    /// Retries of a crashed trial before it counts as failed.
    pub max_retries_per_trial: usize,
    /// Consecutive failed trials that stop the search.
    pub max_consecutive_failed_trials: usize,
}

/// The state every oracle shares (keras-tuner's `Oracle` attributes).
#[derive(Debug)]
pub struct OracleCore {
    /// The objective.
    pub objective: Objective,
    /// Most trials.
    pub max_trials: Option<usize>,
    /// The search space.
    pub hyperparameters: HyperParameters,
    /// See [`OracleArgs::allow_new_entries`].
    pub allow_new_entries: bool,
    /// See [`OracleArgs::tune_new_entries`].
    pub tune_new_entries: bool,
    /// Trials in creation order.
    pub(crate) trials: Vec<Trial>,
    /// `tuner_id -> trial_id` of running trials.
    pub(crate) ongoing_trials: Vec<(String, String)>,
    /// Trial ids in start order.
    pub start_order: Vec<String>,
    /// Trial ids in end order.
    pub end_order: Vec<String>,
    run_times: Vec<(String, i64)>,
    retry_queue: Vec<String>,
    tuner_ids: Vec<String>,
    /// The seed.
    pub seed: i64,
    seed_state: i64,
    tried_so_far: Vec<String>,
    id_to_hash: Vec<(String, String)>,
    max_collisions: usize,
    max_retries_per_trial: usize,
    max_consecutive_failed_trials: usize,
    /// Progress printing.
    pub display: Display,
    project_dir: Option<PathBuf>,
    hash_ignores: &'static [&'static str],
}

fn set_in<T>(list: &mut Vec<(String, T)>, k: &str, v: T) {
    match list.iter_mut().find(|(kk, _)| kk == k) {
        Some(e) => e.1 = v,
        None => list.push((k.to_string(), v)),
    }
}

impl OracleCore {
    fn new(o: OracleArgs) -> Result<OracleCore> {
        let hyperparameters = match o.hyperparameters {
            Some(h) if !h.space().is_empty() => h,
            _ => {
                if !o.tune_new_entries {
                    bail!(Value, "If you set `tune_new_entries=False`, you mustspecify the search space via the `hyperparameters` argument.");
                }
                if !o.allow_new_entries {
                    bail!(Value, "If you set `allow_new_entries=False`, you mustspecify the search space via the `hyperparameters` argument.");
                }
                HyperParameters::new()
            }
        };
        let seed = match o.seed {
            Some(s) if s != 0 => s,
            _ => (utils::now_secs().to_bits() % 10_000) as i64 + 1,
        };
        Ok(OracleCore {
            objective: o.objective,
            max_trials: o.max_trials,
            hyperparameters,
            allow_new_entries: o.allow_new_entries,
            tune_new_entries: o.tune_new_entries,
            trials: Vec::new(),
            ongoing_trials: Vec::new(),
            start_order: Vec::new(),
            end_order: Vec::new(),
            run_times: Vec::new(),
            retry_queue: Vec::new(),
            tuner_ids: Vec::new(),
            seed,
            seed_state: seed,
            tried_so_far: Vec::new(),
            id_to_hash: Vec::new(),
            max_collisions: 20,
            max_retries_per_trial: o.max_retries_per_trial,
            max_consecutive_failed_trials: o.max_consecutive_failed_trials,
            display: Display::default(),
            project_dir: None,
            hash_ignores: &[],
        })
    }

    /// All trials, in creation order.
    pub fn trials(&self) -> &[Trial] {
        &self.trials
    }

    /// The trial with this id.
    pub fn get_trial(&self, trial_id: &str) -> Result<&Trial> {
        self.trials
            .iter()
            .find(|t| t.trial_id == trial_id)
            .ok_or_else(|| Error::Key(format!("no trial '{trial_id}'")))
    }

    fn trial_mut(&mut self, trial_id: &str) -> Result<&mut Trial> {
        self.trials
            .iter_mut()
            .find(|t| t.trial_id == trial_id)
            .ok_or_else(|| Error::Key(format!("no trial '{trial_id}'")))
    }

    /// Ids of the running trials.
    pub fn ongoing_trial_ids(&self) -> impl Iterator<Item = &str> {
        self.ongoing_trials.iter().map(|(_, t)| t.as_str())
    }

    /// True when some trial is running.
    pub fn has_ongoing(&self) -> bool {
        !self.ongoing_trials.is_empty()
    }

    /// keras-tuner `_compute_values_hash`: sha256 of `name=value` over sorted names.
    pub fn compute_values_hash(&self, values: &Values) -> String {
        let mut keys: Vec<&str> =
            values.iter().map(|(k, _)| k).filter(|k| !self.hash_ignores.contains(k)).collect();
        keys.sort_unstable();
        let s: String =
            keys.iter().map(|k| format!("{k}={}", values.get(k).expect("key from values"))).collect();
        sha256_hex(&s)[..32].to_string()
    }

    /// keras-tuner `_random_values`: one draw per active hyperparameter, each from
    /// `random.Random(seed_state)` with `seed_state` incremented, retried while the values
    /// duplicate an earlier trial's; `None` after 20 collisions (space exhausted).
    pub fn random_values(&mut self) -> Option<Values> {
        let mut collisions = 0;
        loop {
            let mut values = Values::new();
            for hp in self.hyperparameters.space() {
                if hp.conditions().iter().all(|c| c.is_active(&values)) {
                    values.insert(hp.name(), hp.random_sample(self.seed_state));
                    self.seed_state += 1;
                }
            }
            let hash = self.compute_values_hash(&values);
            if self.tried_so_far.contains(&hash) {
                collisions += 1;
                if collisions > self.max_collisions {
                    return None;
                }
                continue;
            }
            return Some(values);
        }
    }

    fn record_values(&mut self, trial_id: &str) -> Result<()> {
        let seed = self.seed_state;
        let trial = self.trial_mut(trial_id)?;
        trial.hyperparameters.ensure_active_values(seed);
        let values = trial.hyperparameters.values().clone();
        let new_hash = self.compute_values_hash(&values);
        if !self.tried_so_far.contains(&new_hash) {
            self.tried_so_far.push(new_hash.clone());
        }
        let old = self.id_to_hash.iter().find(|(k, _)| k == trial_id).map(|(_, h)| h.clone());
        if old.as_deref() != Some(new_hash.as_str()) {
            set_in(&mut self.id_to_hash, trial_id, new_hash);
            if let Some(old) = old {
                self.tried_so_far.retain(|h| *h != old);
            }
        }
        Ok(())
    }

    /// keras-tuner `update_space`: adds hyperparameters a trial registered.
    pub fn update_space(&mut self, hps: &HyperParameters) -> Result<()> {
        let new: Vec<HyperParameter> = hps
            .space()
            .iter()
            .filter(|h| !self.hyperparameters.exists(h.name(), h.conditions()))
            .cloned()
            .collect();
        if !new.is_empty() && !self.allow_new_entries {
            let names: Vec<&str> = new.iter().map(|h| h.name()).collect();
            bail!(Runtime, "`allow_new_entries` is `False`, but found new entries {names:?}");
        }
        if !self.tune_new_entries {
            return Ok(());
        }
        self.hyperparameters.merge(&new, true)
    }

    /// The search space (a copy with no values).
    pub fn get_space(&self) -> HyperParameters {
        self.hyperparameters.copy()
    }

    /// keras-tuner `get_best_trials`: completed trials by score (best first), then, if too
    /// few, the others in creation order.
    pub fn get_best_trials(&self, num_trials: usize) -> Vec<&Trial> {
        let mut done: Vec<&Trial> =
            self.trials.iter().filter(|t| t.status == TrialStatus::Completed).collect();
        let key = |t: &&Trial| t.score.unwrap_or(f64::NAN);
        match self.objective.direction {
            Direction::Min => done.sort_by(|a, b| key(a).total_cmp(&key(b))),
            Direction::Max => done.sort_by(|a, b| key(b).total_cmp(&key(a))),
        }
        if done.len() < num_trials {
            done.extend(self.trials.iter().filter(|t| t.status != TrialStatus::Completed));
        }
        done.truncate(num_trials);
        done
    }

    /// Trials left before `max_trials` (`None` without a limit).
    pub fn remaining_trials(&self) -> Option<usize> {
        self.max_trials.map(|m| m.saturating_sub(self.trials.len()))
    }

    fn trial_dir(&self, trial_id: &str) -> Option<PathBuf> {
        self.project_dir.as_ref().map(|d| d.join(format!("trial_{trial_id}")))
    }

    fn save_trial(&self, trial_id: &str) -> Result<()> {
        if let Some(dir) = self.trial_dir(trial_id) {
            self.get_trial(trial_id)?.save(&dir.join("trial.json"))?;
        }
        Ok(())
    }

    fn check_consecutive_failures(&self) -> Result<()> {
        let mut n = 0;
        for id in &self.end_order {
            let t = self.get_trial(id)?;
            if t.status == TrialStatus::Failed {
                n += 1;
            } else {
                n = 0;
            }
            if n == self.max_consecutive_failed_trials {
                bail!(
                    Runtime,
                    "Number of consecutive failures exceeded the limit of {}.\n{}",
                    self.max_consecutive_failed_trials,
                    t.message.clone().unwrap_or_default()
                );
            }
        }
        Ok(())
    }

    fn run_times(&self, id: &str) -> i64 {
        self.run_times.iter().find(|(k, _)| k == id).map_or(0, |(_, n)| *n)
    }
}

/// An oracle: the shared state and a search algorithm.
pub struct Oracle {
    pub(crate) core: OracleCore,
    pub(crate) algo: Box<dyn Algorithm>,
}

impl std::fmt::Debug for Oracle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Oracle").field("core", &self.core).finish_non_exhaustive()
    }
}

impl Oracle {
    /// An oracle for `algo`.
    pub fn new(options: OracleArgs, algo: Box<dyn Algorithm>) -> Result<Oracle> {
        let mut core = OracleCore::new(options)?;
        core.hash_ignores = algo.hash_ignores();
        Ok(Oracle { core, algo })
    }

    /// The shared state.
    pub fn core(&self) -> &OracleCore {
        &self.core
    }

    /// The objective.
    pub fn objective(&self) -> &Objective {
        &self.core.objective
    }

    pub(crate) fn set_project_dir(&mut self, dir: PathBuf) {
        self.core.project_dir = Some(dir);
    }

    fn trial_id_for(&self, n: usize) -> String {
        let width = match self.core.max_trials {
            Some(m) => m.to_string().len(),
            None => 4, // len(str(None))
        };
        format!("{n:0width$}")
    }

    /// keras-tuner `create_trial(tuner_id)`: the trial this tuner runs next (its running one,
    /// a trial waiting for a retry, a new one), or one with status `Idle` / `Stopped`.
    pub fn create_trial(&mut self, tuner_id: &str) -> Result<Trial> {
        if let Some((_, id)) = self.core.ongoing_trials.iter().find(|(t, _)| t == tuner_id) {
            return Ok(self.core.get_trial(id)?.clone());
        }
        if !self.core.tuner_ids.iter().any(|t| t == tuner_id) {
            self.core.tuner_ids.push(tuner_id.to_string());
        }
        if let Some(id) = self.core.retry_queue.pop() {
            let trial = self.core.trial_mut(&id)?;
            trial.status = TrialStatus::Running;
            let trial = trial.clone();
            self.core.ongoing_trials.push((tuner_id.to_string(), id));
            self.save()?;
            self.display_begin(&trial);
            return Ok(trial);
        }
        let trial_id = self.trial_id_for(self.core.trials.len());
        let populate = match self.core.max_trials {
            Some(m) if self.core.trials.len() >= m => Populate::Stopped,
            _ => self.algo.populate_space(&mut self.core, &trial_id)?,
        };
        let mut hps = self.core.hyperparameters.copy();
        let status = match populate {
            Populate::Running(values) => {
                hps.set_values(values);
                TrialStatus::Running
            }
            Populate::Idle => TrialStatus::Idle,
            Populate::Stopped => TrialStatus::Stopped,
        };
        let trial = Trial::new(hps, trial_id.clone(), status);
        match status {
            TrialStatus::Running => {
                self.core.trials.push(trial);
                self.core.record_values(&trial_id)?;
                self.core.ongoing_trials.push((tuner_id.to_string(), trial_id.clone()));
                self.core.start_order.push(trial_id.clone());
                self.core.save_trial(&trial_id)?;
                self.save()?;
                let trial = self.core.get_trial(&trial_id)?.clone();
                self.display_begin(&trial);
                Ok(trial)
            }
            TrialStatus::Stopped => {
                self.core.tuner_ids.retain(|t| t != tuner_id);
                Ok(trial)
            }
            _ => Ok(trial),
        }
    }

    fn display_begin(&mut self, trial: &Trial) {
        let best = self.core.get_best_trials(1).first().map(|t| (*t).clone());
        let n = self.core.trials.len();
        self.core.display.on_trial_begin(trial, n, best.as_ref());
    }

    /// keras-tuner `update_trial`: records the metrics a trial reported at `step`. Every
    /// objective metric must be among them.
    pub fn update_trial(&mut self, trial_id: &str, metrics: &[(String, f64)], step: i64) -> Result<()> {
        let missing: Vec<&str> = self
            .core
            .objective
            .required_names()
            .into_iter()
            .filter(|n| !metrics.iter().any(|(k, _)| k == n))
            .collect();
        if !missing.is_empty() {
            let found: Vec<&str> = metrics.iter().map(|(k, _)| k.as_str()).collect();
            bail!(
                Value,
                "Objective value missing in metrics reported to the Oracle, expected: {missing:?}, found: dict_keys({found:?})"
            );
        }
        let objective = self.core.objective.clone();
        let trial = self.core.trial_mut(trial_id)?;
        for (name, value) in metrics {
            if !trial.metrics.exists(name) {
                trial.metrics.register(name, objective.direction_of(name))?;
            }
            trial.metrics.update(name, *value, step);
        }
        self.core.save_trial(trial_id)
    }

    /// keras-tuner `end_trial`: takes the trial's final status, scores a completed one,
    /// queues an invalid one for a retry or marks it failed, and saves. An error after
    /// `max_consecutive_failed_trials` failures in a row (after saving).
    pub fn end_trial(&mut self, trial: &Trial) -> Result<()> {
        let id = trial.trial_id.clone();
        {
            let t = self.core.trial_mut(&id)?;
            t.hyperparameters = trial.hyperparameters.copy_with_values();
            t.status = trial.status;
            t.message = trial.message.clone();
        }
        let space_result = self.core.update_space(&trial.hyperparameters);
        let objective = self.core.objective.clone();
        {
            let t = self.core.trial_mut(&id)?;
            if t.status == TrialStatus::Completed {
                let score = t.metrics.get_best_value(&objective.name).ok().flatten();
                t.score = score;
                t.best_step = t.metrics.get_best_step(&objective.name).ok().flatten();
                if score.is_none_or(f64::is_nan) {
                    t.status = TrialStatus::Invalid;
                }
            }
        }
        self.core.record_values(&id)?;
        let n = self.core.run_times(&id) + 1;
        set_in(&mut self.core.run_times, &id, n);
        let mut failures = Ok(());
        if !self.retry(&id)? {
            self.core.end_order.push(id.clone());
            failures = self.core.check_consecutive_failures();
        }
        self.algo.on_end_trial(&mut self.core, &id);
        self.core.ongoing_trials.retain(|(_, t)| *t != id);
        self.core.save_trial(&id)?;
        self.save()?;
        let best = self.core.get_best_trials(1).first().and_then(|t| t.score);
        let t = self.core.get_trial(&id)?.clone();
        let name = self.core.objective.name.clone();
        self.core.display.on_trial_end(&t, &name, best);
        space_result?;
        failures
    }

    fn retry(&mut self, id: &str) -> Result<bool> {
        let max_runs = self.core.max_retries_per_trial as i64 + 1;
        let runs = self.core.run_times(id);
        let t = self.core.trial_mut(id)?;
        if t.status != TrialStatus::Invalid {
            return Ok(false);
        }
        if runs >= max_runs {
            t.status = TrialStatus::Failed;
            return Ok(false);
        }
        if self.core.display.verbose > 0 {
            println!("Trial {id} failed {runs} times. {} retries left.", max_runs - runs);
        }
        self.core.retry_queue.push(id.to_string());
        Ok(true)
    }

    /// `oracle.json`'s content.
    pub fn get_state(&self) -> Json {
        let c = &self.core;
        let strs = |v: &[String]| Json::Array(v.iter().map(|s| Json::Str(s.clone())).collect());
        let mut state = Json::obj([
            (
                "ongoing_trials",
                Json::Object(
                    c.ongoing_trials.iter().map(|(k, v)| (k.clone(), Json::Str(v.clone()))).collect(),
                ),
            ),
            ("hyperparameters", c.hyperparameters.get_config()),
            ("start_order", strs(&c.start_order)),
            ("end_order", strs(&c.end_order)),
            (
                "run_times",
                Json::Object(c.run_times.iter().map(|(k, v)| (k.clone(), Json::Int(*v))).collect()),
            ),
            ("retry_queue", strs(&c.retry_queue)),
            ("seed", Json::Int(c.seed)),
            ("seed_state", Json::Int(c.seed_state)),
            ("tried_so_far", strs(&c.tried_so_far)),
            (
                "id_to_hash",
                Json::Object(c.id_to_hash.iter().map(|(k, v)| (k.clone(), Json::Str(v.clone()))).collect()),
            ),
            ("display", c.display.get_state()),
        ]);
        for (k, v) in self.algo.get_state() {
            state.set(&k, v);
        }
        state
    }

    fn set_state(&mut self, state: &Json) -> Result<()> {
        let what = "oracle.json";
        let strs = |k: &str| -> Result<Vec<String>> {
            Ok(state
                .req(k, what)?
                .as_array()
                .ok_or_else(|| Error::Value(format!("{what}: '{k}' must be a list")))?
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect())
        };
        let pairs = |k: &str| -> Result<Vec<(String, Json)>> {
            Ok(json::expect_object(state.req(k, what)?, what)?.to_vec())
        };
        let c = &mut self.core;
        c.ongoing_trials = pairs("ongoing_trials")?
            .into_iter()
            .filter_map(|(k, v)| Some((k, v.as_str()?.to_string())))
            .collect();
        for (_, id) in &c.ongoing_trials {
            if !c.trials.iter().any(|t| t.trial_id == *id) {
                bail!(Key, "ongoing trial '{id}' has no trial.json");
            }
        }
        c.hyperparameters = HyperParameters::from_config(state.req("hyperparameters", what)?)?;
        c.start_order = strs("start_order")?;
        c.end_order = strs("end_order")?;
        c.run_times = pairs("run_times")?.into_iter().filter_map(|(k, v)| Some((k, v.as_i64()?))).collect();
        c.retry_queue = strs("retry_queue")?;
        c.seed =
            state.req("seed", what)?.as_i64().ok_or_else(|| Error::Value(format!("{what}: bad seed")))?;
        c.seed_state = state
            .req("seed_state", what)?
            .as_i64()
            .ok_or_else(|| Error::Value(format!("{what}: bad seed_state")))?;
        c.tried_so_far = strs("tried_so_far")?;
        c.id_to_hash = pairs("id_to_hash")?
            .into_iter()
            .filter_map(|(k, v)| Some((k, v.as_str()?.to_string())))
            .collect();
        if let Some(d) = state.get("display") {
            c.display.set_state(d);
        }
        self.algo.set_state(&self.core, state)
    }

    /// Writes `oracle.json` (atomically).
    pub fn save(&self) -> Result<()> {
        if let Some(dir) = &self.core.project_dir {
            utils::save_json(&dir.join("oracle.json"), &self.get_state())?;
        }
        Ok(())
    }

    /// Reloads the trials and `oracle.json` from the project directory; running trials of
    /// the interrupted search are queued for a retry (with the metrics of the interrupted
    /// run cleared), and trial files the oracle never recorded (a kill between the two
    /// writes of `create_trial`) are set aside so their id is handed out again.
    pub fn reload(&mut self) -> Result<()> {
        let dir =
            self.core.project_dir.clone().ok_or_else(|| Error::Runtime("no project directory".into()))?;
        let mut trials = Vec::new();
        for entry in
            std::fs::read_dir(&dir).map_err(|e| Error::Io(format!("Cannot read {}: {e}", dir.display())))?
        {
            let entry = entry.map_err(|e| Error::Io(e.to_string()))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let file = entry.path().join("trial.json");
            if name.starts_with("trial_") && file.is_file() {
                trials.push(Trial::load(&file)?);
            }
        }
        trials.sort_by(|a, b| (a.trial_id.len(), &a.trial_id).cmp(&(b.trial_id.len(), &b.trial_id)));
        self.core.trials = trials;
        let state = json::load(&dir.join("oracle.json"))?;
        self.set_state(&state).map_err(|e| {
            Error::Runtime(format!(
                "Error reloading `Oracle` from existing project. If you did not mean to reload from an existing project, change the `project_name` or pass `overwrite=True` when creating the `Tuner`. Found existing project at: {} ({e})",
                dir.display()
            ))
        })?;
        let known = self.core.start_order.clone();
        self.core.trials.retain(|t| known.contains(&t.trial_id));
        let ongoing = std::mem::take(&mut self.core.ongoing_trials);
        for (_, id) in ongoing {
            let t = self.core.trial_mut(&id)?;
            t.metrics = Default::default();
            t.score = None;
            self.core.retry_queue.push(id);
        }
        Ok(())
    }
}

impl HyperParameters {
    /// `copy()`: the space and values, without scope bookkeeping.
    pub fn copy(&self) -> HyperParameters {
        let mut h = HyperParameters::new();
        h.merge_space_raw(self.space());
        h.set_values(self.values().clone());
        h
    }

    pub(crate) fn copy_with_values(&self) -> HyperParameters {
        self.copy()
    }
}

/// Reads `dir/oracle.json` if present (for tools that inspect a project).
pub fn read_oracle_json(dir: &Path) -> Result<Json> {
    json::load(&dir.join("oracle.json"))
}
