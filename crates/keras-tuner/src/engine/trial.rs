//! `Trial` (keras-tuner `engine.trial`): one set of hyperparameter values, its metrics,
//! score and status, saved as `trial_<id>/trial.json`.

use std::path::Path;

use super::hyperparameters::HyperParameters;
use super::metrics_tracking::MetricsTracker;
use crate::error::{bail, Result};
use crate::json::{self, Json};
use crate::utils;

/// Where a trial stands (keras-tuner `TrialStatus`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrialStatus {
    /// May run / is running.
    Running,
    /// The oracle is waiting on running trials before it can create one.
    Idle,
    /// Crashed or invalid results; retried up to `max_retries_per_trial` times.
    Invalid,
    /// The oracle has finished: the search stops.
    Stopped,
    /// Finished normally.
    Completed,
    /// Failed for good.
    Failed,
}

impl TrialStatus {
    /// keras-tuner's string (`"COMPLETED"`).
    pub fn as_str(&self) -> &'static str {
        match self {
            TrialStatus::Running => "RUNNING",
            TrialStatus::Idle => "IDLE",
            TrialStatus::Invalid => "INVALID",
            TrialStatus::Stopped => "STOPPED",
            TrialStatus::Completed => "COMPLETED",
            TrialStatus::Failed => "FAILED",
        }
    }

    /// Parses [`TrialStatus::as_str`].
    pub fn parse(s: &str) -> Result<TrialStatus> {
        Ok(match s {
            "RUNNING" => TrialStatus::Running,
            "IDLE" => TrialStatus::Idle,
            "INVALID" => TrialStatus::Invalid,
            "STOPPED" => TrialStatus::Stopped,
            "COMPLETED" => TrialStatus::Completed,
            "FAILED" => TrialStatus::Failed,
            _ => bail!(Value, "Unknown status {s}"),
        })
    }
}

/// One trial.
#[derive(Clone, Debug)]
pub struct Trial {
    /// Its id (`"00"`, `"0001"`: zero-padded to the width of `max_trials`).
    pub trial_id: String,
    /// The space and the trial's values.
    pub hyperparameters: HyperParameters,
    /// Reported metrics.
    pub metrics: MetricsTracker,
    /// The objective's best value, once completed.
    pub score: Option<f64>,
    /// The step of that value.
    pub best_step: Option<i64>,
    /// Status.
    pub status: TrialStatus,
    /// The error message of a failed or invalid run.
    pub message: Option<String>,
}

impl Trial {
    /// A new running trial.
    pub fn new(hyperparameters: HyperParameters, trial_id: String, status: TrialStatus) -> Trial {
        Trial {
            trial_id,
            hyperparameters,
            metrics: MetricsTracker::new(),
            score: None,
            best_step: Some(0),
            status,
            message: None,
        }
    }

    /// `Trial.summary()` as text: id, hyperparameter values, score, message.
    pub fn summary(&self) -> String {
        let mut s = format!("Trial {} summary\nHyperparameters:\n", self.trial_id);
        s.push_str(&self.display_hyperparameters());
        if let Some(score) = self.score {
            s.push_str(&format!("Score: {}\n", json::python_float_repr(score)));
        }
        if let Some(m) = &self.message {
            s.push_str(m);
            s.push('\n');
        }
        s
    }

    /// One `name: value` line per value, or `default configuration`.
    pub fn display_hyperparameters(&self) -> String {
        let values = self.hyperparameters.values();
        if values.is_empty() {
            return "default configuration\n".into();
        }
        values.iter().map(|(k, v)| format!("{k}: {v}\n")).collect()
    }

    /// keras-tuner's `get_state()` (the content of `trial.json`).
    pub fn get_state(&self) -> Json {
        Json::obj([
            ("trial_id", Json::str(&self.trial_id)),
            ("hyperparameters", self.hyperparameters.get_config()),
            ("metrics", self.metrics.get_config()),
            ("score", self.score.map_or(Json::Null, Json::Float)),
            ("best_step", self.best_step.map_or(Json::Null, Json::Int)),
            ("status", Json::str(self.status.as_str())),
            ("message", self.message.clone().map_or(Json::Null, Json::Str)),
        ])
    }

    /// Reads [`Trial::get_state`].
    pub fn from_state(state: &Json) -> Result<Trial> {
        let what = "trial.json";
        let trial_id = match state.req("trial_id", what)? {
            Json::Str(s) => s.clone(),
            Json::Int(i) => i.to_string(),
            _ => bail!(Value, "{what}: bad trial_id"),
        };
        let hyperparameters = HyperParameters::from_config(state.req("hyperparameters", what)?)?;
        let metrics = match state.get("metrics") {
            Some(m) => MetricsTracker::from_config(m)?,
            None => MetricsTracker::new(),
        };
        let status = TrialStatus::parse(state.req("status", what)?.as_str().unwrap_or(""))?;
        Ok(Trial {
            trial_id,
            hyperparameters,
            metrics,
            score: state.get("score").and_then(Json::as_f64),
            best_step: state.get("best_step").and_then(Json::as_i64),
            status,
            message: state.get("message").and_then(Json::as_str).map(str::to_string),
        })
    }

    /// Writes `trial.json` atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        utils::save_json(path, &self.get_state())
    }

    /// Reads a `trial.json`.
    pub fn load(path: &Path) -> Result<Trial> {
        Trial::from_state(&json::load(path)?)
    }
}
