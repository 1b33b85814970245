//! Helpers of the Keras tuner (keras-tuner `engine.tuner_utils`): the callback that keeps a
//! trial's best epoch as its checkpoint, and the reduction of what `fit` returned (histories,
//! values, metric dicts, one per execution) to the metrics and step reported to the oracle.

use std::path::PathBuf;

use keras::callbacks::{Callback, CallbackModel};
use keras::{History, Logs};

use super::hypermodel::FitResult;
use super::objective::Objective;
use crate::error::{bail, Error, Result};

/// Saves the model's weights at the end of each epoch that improves the objective (every
/// epoch when the objective cannot be read from the logs), keras-tuner `SaveBestEpoch`. One
/// instance spans all executions of a trial, so the checkpoint is the best epoch of all.
pub struct SaveBestEpoch {
    objective: Objective,
    filepath: PathBuf,
    best_value: f64,
}

impl SaveBestEpoch {
    /// Checkpoints to `filepath`.
    pub fn new(objective: Objective, filepath: PathBuf) -> Self {
        let best_value = match objective.direction {
            super::objective::Direction::Max => f64::NEG_INFINITY,
            super::objective::Direction::Min => f64::INFINITY,
        };
        SaveBestEpoch { objective, filepath, best_value }
    }
}

fn logs_pairs(logs: &Logs) -> Vec<(String, f64)> {
    logs.iter().map(|(k, v)| (k.clone(), *v as f64)).collect()
}

impl Callback for SaveBestEpoch {
    fn on_epoch_end(
        &mut self,
        _epoch: usize,
        model: &mut CallbackModel,
        logs: &mut Logs,
    ) -> keras::Result<()> {
        let logs = logs_pairs(logs);
        if !self.objective.has_value(&logs) {
            return model.save_weights(&self.filepath);
        }
        let current = self.objective.get_value(&logs).unwrap_or(f64::NAN);
        if self.objective.better_than(current, self.best_value) {
            self.best_value = current;
            model.save_weights(&self.filepath)?;
        }
        Ok(())
    }
}

/// `_get_best_value_and_best_epoch_from_history`: the metrics at the objective's best epoch
/// (a multi-objective's combined value added under its name) and that epoch's index.
fn best_epoch(history: &History, objective: &Objective) -> Result<(Vec<(String, f64)>, usize)> {
    let n = history.history.values().map(Vec::len).max().unwrap_or(0);
    let mut epochs: Vec<Vec<(String, f64)>> = (0..n)
        .map(|e| {
            history.history.iter().filter_map(|(k, v)| v.get(e).map(|x| (k.clone(), *x as f64))).collect()
        })
        .collect();
    if epochs.is_empty() {
        bail!(Value, "The history of the trial has no epochs: `fit` trained for 0 epochs.");
    }
    let mut best = 0;
    for e in 0..epochs.len() {
        let value = objective.get_value(&epochs[e]).filter(|_| objective.has_value(&epochs[e])).ok_or_else(|| {
            let keys: Vec<&str> = epochs[e].iter().map(|(k, _)| k.as_str()).collect();
            Error::Value(format!(
                "The objective '{}' is not among the metrics `fit` logged ({keys:?}); compile the metric or pass validation data.",
                objective.name
            ))
        })?;
        if !epochs[e].iter().any(|(k, _)| *k == objective.name) {
            epochs[e].push((objective.name.clone(), value));
        }
        let best_value =
            epochs[best].iter().find(|(k, _)| *k == objective.name).map_or(f64::NAN, |(_, v)| *v);
        if objective.better_than(value, best_value) {
            best = e;
        }
    }
    Ok((epochs.swap_remove(best), best))
}

/// `validate_trial_results` for one execution's result.
pub(crate) fn validate(result: &FitResult, objective: &Objective, func: &str) -> Result<()> {
    match result {
        FitResult::Value(_) => Ok(()),
        FitResult::Metrics(m) if objective.is_default() && !m.iter().any(|(k, _)| *k == objective.name) => bail!(
            Fatal,
            "Expected the return value of {func} to be a single float when `objective` is left unspecified. Recevied return value: {m:?}."
        ),
        FitResult::History(_) if objective.is_default() => bail!(
            Fatal,
            "Expected the return value of {func} to be a single float when `objective` is left unspecified. Recevied return value: a History."
        ),
        FitResult::Metrics(m) => {
            if !m.iter().any(|(k, _)| *k == objective.name) && !objective.has_value(m) {
                bail!(
                    Fatal,
                    "Expected the returned dictionary from {func} to have the specified objective, {}, as one of the keys. Received: {m:?}.",
                    objective.name
                );
            }
            Ok(())
        }
        FitResult::History(_) => Ok(()),
    }
}

/// `convert_to_metrics_dict` over the executions: per-execution metrics, averaged
/// (`np.mean` per name over the executions that reported it).
pub(crate) fn to_metrics(results: &[FitResult], objective: &Objective) -> Result<Vec<(String, f64)>> {
    let mut per: Vec<Vec<(String, f64)>> = Vec::new();
    for r in results {
        per.push(match r {
            FitResult::Value(v) => vec![(objective.name.clone(), *v)],
            FitResult::Metrics(m) => {
                let mut m = m.clone();
                // A multi-objective's combined value, when the dict holds its parts only.
                if !m.iter().any(|(k, _)| *k == objective.name) && objective.has_value(&m) {
                    let v = objective.get_value(&m).unwrap_or(f64::NAN);
                    m.push((objective.name.clone(), v));
                }
                m
            }
            FitResult::History(h) => best_epoch(h, objective)?.0,
        });
    }
    let mut names: Vec<String> = Vec::new();
    for m in &per {
        for (k, _) in m {
            if !names.contains(k) {
                names.push(k.clone());
            }
        }
    }
    Ok(names
        .into_iter()
        .map(|k| {
            let vals: Vec<f64> =
                per.iter().filter_map(|m| m.iter().find(|(n, _)| *n == k).map(|(_, v)| *v)).collect();
            let mean = vals.iter().sum::<f64>() / vals.len() as f64;
            (k, mean)
        })
        .collect())
}

/// `get_best_step`: the best epoch index of each history (0 for values and dicts), averaged
/// over executions and truncated.
pub(crate) fn best_step(results: &[FitResult], objective: &Objective) -> Result<i64> {
    let mut steps = Vec::new();
    for r in results {
        steps.push(match r {
            FitResult::History(h) => best_epoch(h, objective)?.1 as f64,
            _ => 0.0,
        });
    }
    if steps.is_empty() {
        return Ok(0);
    }
    Ok((steps.iter().sum::<f64>() / steps.len() as f64) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::objective::Direction;

    fn history(rows: &[(&str, &[f32])]) -> History {
        let mut h = History::default();
        for (k, v) in rows {
            h.history.insert(k.to_string(), v.to_vec());
        }
        h.epoch = (0..rows[0].1.len()).collect();
        h
    }

    #[test]
    fn best_epoch_of_single_and_multi_objectives() {
        let h = history(&[("val_loss", &[0.5, 0.2, 0.3]), ("val_accuracy", &[0.5, 0.6, 0.9])]);
        let o = Objective::new("val_loss", Direction::Min);
        let (m, e) = best_epoch(&h, &o).unwrap();
        assert_eq!(e, 1);
        assert_eq!(m.iter().find(|(k, _)| k == "val_loss").unwrap().1, 0.2f32 as f64);
        // multi: val_loss - val_accuracy: -0.0, -0.4, -0.6 -> epoch 2.
        let multi = Objective::multi(vec![o, Objective::new("val_accuracy", Direction::Max)]);
        let (m, e) = best_epoch(&h, &multi).unwrap();
        assert_eq!(e, 2);
        assert!(m.iter().any(|(k, _)| k == "multi_objective"));
        let r = [FitResult::History(h.clone()), FitResult::Value(1.0)];
        assert_eq!(best_step(&r, &multi).unwrap(), 1);
    }
}
