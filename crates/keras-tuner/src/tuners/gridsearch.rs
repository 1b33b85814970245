//! Grid search (keras-tuner `GridSearch`): every combination of values, in order, the
//! defaults first; the last hyperparameter changes fastest, and a hyperparameter under a
//! conditional scope changes before its parent. Floats without a step, and log-sampled
//! integers without one, contribute 10 evenly spread values.

use crate::engine::hypermodel::HyperModel;
use crate::engine::hyperparameters::{HpValue, HyperParameter, Values};
use crate::engine::oracle::{Algorithm, Oracle, OracleCore, Populate};
use crate::engine::trial::TrialStatus;
use crate::engine::tuner::Tuner;
use crate::error::Result;
use crate::json::Json;

use super::{common_methods, Common};

/// keras-tuner `GridSearchOracle`.
#[derive(Debug, Default)]
pub struct GridSearchOracle {
    /// Trial ids in ascending order of their values (keras-tuner's linked list).
    ordered_ids: Vec<String>,
    /// Trials whose next combination is still to be tried.
    populate_next: Vec<String>,
}

/// A hyperparameter's values with its default first.
fn ordered_values(hp: &HyperParameter) -> Vec<HpValue> {
    let d = hp.default_value();
    let mut v = vec![d.clone()];
    v.extend(hp.values().into_iter().filter(|x| *x != d));
    v
}

impl GridSearchOracle {
    /// keras-tuner `_compare`: -1, 0 or 1 by the first hyperparameter whose values differ.
    fn compare(core: &OracleCore, a: &Values, b: &Values) -> i32 {
        for hp in core.hyperparameters.space() {
            let Some(va) = a.get(hp.name()) else { continue };
            let vb = b.get(hp.name());
            if Some(va) == vb {
                continue;
            }
            let list = ordered_values(hp);
            let ia = list.iter().position(|x| x == va).unwrap_or(usize::MAX);
            let ib = vb.and_then(|vb| list.iter().position(|x| x == vb)).unwrap_or(usize::MAX);
            return if ia < ib { -1 } else { 1 };
        }
        0
    }

    /// keras-tuner `_get_next_combination`.
    fn next_combination(core: &OracleCore, values: &Values) -> Option<Values> {
        let mut hps = core.get_space();
        hps.set_values(values.clone());
        let space = hps.space().to_vec();
        let mut bumped = false;
        for hp in space.iter().rev() {
            let name = hp.name();
            if hps.is_active_hp(hp) {
                let list = ordered_values(hp);
                if let Some(value) = hps.values().get(name) {
                    if Some(value) != list.last() {
                        let next = list.iter().position(|x| x == value).map_or(0, |i| i + 1);
                        hps.values_mut().insert(name, list[next].clone());
                        bumped = true;
                        break;
                    }
                }
            }
            hps.values_mut().insert(name, hp.default_value());
        }
        hps.ensure_active_values(core.seed);
        bumped.then(|| hps.values().clone())
    }
}

impl Algorithm for GridSearchOracle {
    fn populate_space(&mut self, core: &mut OracleCore, trial_id: &str) -> Result<Populate> {
        let mut values = None;
        if core.start_order.is_empty() {
            self.ordered_ids.push(trial_id.to_string());
            let space = core.get_space();
            let v: Values = space
                .space()
                .iter()
                .filter(|hp| space.is_active_hp(hp))
                .map(|hp| (hp.name().to_string(), hp.default_value()))
                .collect();
            values = Some(v);
            self.populate_next.push(trial_id.to_string());
        }
        while values.is_none() && !self.populate_next.is_empty() {
            let old = self.populate_next.remove(0);
            let Ok(old_trial) = core.get_trial(&old) else { continue };
            let Some(new_values) = Self::next_combination(core, old_trial.hyperparameters.values()) else {
                continue;
            };
            let pos = self.ordered_ids.iter().position(|i| *i == old);
            if let Some(next_id) = pos.and_then(|p| self.ordered_ids.get(p + 1)) {
                if let Ok(next) = core.get_trial(next_id) {
                    if Self::compare(core, &new_values, next.hyperparameters.values()) >= 0 {
                        continue;
                    }
                }
            }
            match pos {
                Some(p) => self.ordered_ids.insert(p + 1, trial_id.to_string()),
                None => self.ordered_ids.push(trial_id.to_string()),
            }
            values = Some(new_values);
        }
        if let Some(v) = values {
            return Ok(Populate::Running(v));
        }
        if core.has_ongoing() {
            return Ok(Populate::Idle);
        }
        Ok(Populate::Stopped)
    }

    fn on_end_trial(&mut self, _core: &mut OracleCore, trial_id: &str) {
        self.populate_next.push(trial_id.to_string());
    }

    /// keras-tuner keeps the grid's position in memory only (a reloaded Python grid search
    /// stops); here it is rebuilt from the trials: their order by value, and every ended
    /// trial queued to propose its next combination.
    fn set_state(&mut self, core: &OracleCore, _state: &Json) -> Result<()> {
        let mut ids: Vec<&crate::engine::trial::Trial> =
            core.trials().iter().filter(|t| core.start_order.contains(&t.trial_id)).collect();
        // The order `compare` defines, as a key (a total order, which sorting needs).
        ids.sort_by_cached_key(|t| {
            let v = t.hyperparameters.values();
            core.hyperparameters
                .space()
                .iter()
                .map(|hp| {
                    v.get(hp.name())
                        .and_then(|x| ordered_values(hp).iter().position(|y| y == x))
                        .unwrap_or(usize::MAX)
                })
                .collect::<Vec<usize>>()
        });
        self.ordered_ids = ids.iter().map(|t| t.trial_id.clone()).collect();
        self.populate_next = core
            .end_order
            .iter()
            .filter(|id| core.get_trial(id).is_ok_and(|t| t.status != TrialStatus::Running))
            .cloned()
            .collect();
        Ok(())
    }
}

/// The grid search tuner (no `max_trials` limit by default: the grid's size).
pub struct GridSearch<H: HyperModel> {
    hypermodel: H,
    common: Common,
}

impl<H: HyperModel> GridSearch<H> {
    /// A grid search over `hypermodel`'s space.
    pub fn new(hypermodel: H) -> Self {
        GridSearch { hypermodel, common: Common::new(None) }
    }

    crate::setters::setters! {
        /// Most trials to run (default: the whole grid).
        max_trials(common.max_trials): usize => Some,
    }
    common_methods!();

    /// Checks the arguments, creates or reloads the project, and populates the search space.
    pub fn build(self) -> Result<Tuner<H>> {
        let oracle = Oracle::new(self.common.oracle_options()?, Box::new(GridSearchOracle::default()))?;
        Tuner::create(self.hypermodel, oracle, self.common.tuner)
    }
}
