//! Hyperband (keras-tuner `Hyperband` / `HyperbandOracle`; Li et al., JMLR 2018): brackets
//! of successive halving, from the most aggressive (many models, 1 epoch each, the best
//! `1/factor` continued for `factor` times more epochs, ...) to plain random search at
//! `max_epochs`. A continued trial is a new trial with `tuner/trial_id` naming the trial
//! whose best checkpoint it starts from, `tuner/initial_epoch` and `tuner/epochs`.
//!
//! Sizes, epochs and the order trials are handed out follow keras-tuner 1.4 exactly,
//! including its float arithmetic (`math.log(max_epochs, factor)`), so the schedules equal
//! keras-tuner's (tests/hyperband_schedule.rs checks them against keras-tuner's output).

use crate::engine::hypermodel::HyperModel;
use crate::engine::hyperparameters::{HpValue, Values};
use crate::engine::objective::Direction;
use crate::engine::oracle::{Algorithm, Oracle, OracleCore, Populate};
use crate::engine::trial::TrialStatus;
use crate::engine::tuner::Tuner;
use crate::error::{bail, Error, Result};
use crate::json::Json;

use super::{common_methods, Common};

#[derive(Clone, Debug, PartialEq)]
struct RoundEntry {
    past_id: Option<String>,
    id: String,
}

#[derive(Clone, Debug, PartialEq)]
struct Bracket {
    bracket_num: i64,
    rounds: Vec<Vec<RoundEntry>>,
}

/// keras-tuner `HyperbandOracle`.
#[derive(Clone, Debug)]
pub struct HyperbandOracle {
    /// `None`: iterate forever (keras-tuner's `float("inf")`).
    hyperband_iterations: Option<i64>,
    max_epochs: i64,
    min_epochs: i64,
    factor: i64,
    current_iteration: i64,
    current_bracket: i64,
    brackets: Vec<Bracket>,
}

/// `int ** int` as Python computes it (exact), as a float.
fn pow(factor: i64, k: i64) -> f64 {
    if k < 0 {
        return 1.0 / pow(factor, -k);
    }
    let mut v: f64 = 1.0;
    for _ in 0..k {
        v *= factor as f64;
    }
    v
}

impl HyperbandOracle {
    /// Checks `factor >= 2` and `max_epochs >= 1` and starts the first bracket.
    pub fn new(max_epochs: i64, factor: i64, hyperband_iterations: Option<i64>) -> Result<Self> {
        if factor < 2 {
            bail!(Value, "factor needs to be a int larger than 1.");
        }
        if max_epochs < 1 {
            bail!(Value, "max_epochs needs to be at least 1, received {max_epochs}.");
        }
        let mut o = HyperbandOracle {
            hyperband_iterations: hyperband_iterations.filter(|&i| i != 0),
            max_epochs,
            min_epochs: 1,
            factor,
            current_iteration: 0,
            current_bracket: 0,
            brackets: Vec::new(),
        };
        o.current_bracket = o.num_brackets() - 1;
        o.start_new_bracket();
        Ok(o)
    }

    fn num_brackets(&self) -> i64 {
        let mut epochs = self.max_epochs as f64;
        let mut brackets = 0;
        while epochs >= self.min_epochs as f64 {
            epochs /= self.factor as f64;
            brackets += 1;
        }
        brackets
    }

    /// `_get_size`: trials in a round, so that every bracket costs about the same.
    fn size(&self, bracket_num: i64, round_num: i64) -> usize {
        let log = (self.max_epochs as f64).ln() / (self.factor as f64).ln();
        let bracket0_end_size = (1.0 + log).ceil();
        let bracket_end_size = bracket0_end_size / (bracket_num + 1) as f64;
        (bracket_end_size * pow(self.factor, bracket_num - round_num)).ceil() as usize
    }

    /// `_get_epochs`: the epochs a round trains to.
    fn epochs(&self, bracket_num: i64, round_num: i64) -> i64 {
        (self.max_epochs as f64 / pow(self.factor, bracket_num - round_num)).ceil() as i64
    }

    fn start_new_bracket(&mut self) {
        let rounds = (0..=self.current_bracket.max(0)).map(|_| Vec::new()).collect();
        self.brackets.push(Bracket { bracket_num: self.current_bracket, rounds });
    }

    fn increment_bracket_num(&mut self) {
        self.current_bracket -= 1;
        if self.current_bracket < 0 {
            self.current_bracket = self.num_brackets() - 1;
            self.current_iteration += 1;
        }
    }

    fn remove_completed_brackets(&mut self) {
        let brackets = std::mem::take(&mut self.brackets);
        self.brackets = brackets
            .into_iter()
            .filter(|b| {
                let last = b.rounds.len() - 1;
                b.rounds[last].len() != self.size(b.bracket_num, last as i64)
            })
            .collect();
    }

    fn random_trial(&mut self, core: &mut OracleCore, trial_id: &str, bracket: usize) -> Populate {
        let bracket_num = self.brackets[bracket].bracket_num;
        match core.random_values() {
            Some(mut values) => {
                values.insert("tuner/epochs", self.epochs(bracket_num, 0));
                values.insert("tuner/initial_epoch", 0i64);
                values.insert("tuner/bracket", self.current_bracket);
                values.insert("tuner/round", 0i64);
                self.brackets[bracket].rounds[0].push(RoundEntry { past_id: None, id: trial_id.to_string() });
                Populate::Running(values)
            }
            None if core.has_ongoing() => Populate::Idle,
            None => Populate::Stopped,
        }
    }
}

impl Algorithm for HyperbandOracle {
    fn populate_space(&mut self, core: &mut OracleCore, trial_id: &str) -> Result<Populate> {
        self.remove_completed_brackets();
        for b in 0..self.brackets.len() {
            let bracket_num = self.brackets[b].bracket_num;
            if self.brackets[b].rounds[0].len() < self.size(bracket_num, 0) {
                return Ok(self.random_trial(core, trial_id, b));
            }
            for round_num in 1..self.brackets[b].rounds.len() {
                let size = self.size(bracket_num, round_num as i64);
                let past_size = self.size(bracket_num, round_num as i64 - 1);
                let round = &self.brackets[b].rounds[round_num];
                let past = &self.brackets[b].rounds[round_num - 1];
                let selected: Vec<&str> = round.iter().filter_map(|e| e.past_id.as_deref()).collect();
                let mut candidates: Vec<&crate::engine::trial::Trial> = past
                    .iter()
                    .filter(|e| !selected.contains(&e.id.as_str()))
                    .filter_map(|e| core.get_trial(&e.id).ok())
                    .filter(|t| t.status == TrialStatus::Completed)
                    .collect();
                if candidates.len() + size > past_size {
                    // Python's stable `sorted(key=score, reverse=...)`.
                    let score = |t: &&crate::engine::trial::Trial| t.score.unwrap_or(f64::NAN);
                    match core.objective.direction {
                        Direction::Min => candidates.sort_by(|a, b| score(a).total_cmp(&score(b))),
                        Direction::Max => candidates.sort_by(|a, b| score(b).total_cmp(&score(a))),
                    }
                    let best = candidates[0];
                    let best_id = best.trial_id.clone();
                    let mut values: Values = best.hyperparameters.values().clone();
                    values.insert("tuner/trial_id", HpValue::Str(best_id.clone()));
                    values.insert("tuner/epochs", self.epochs(bracket_num, round_num as i64));
                    values.insert("tuner/initial_epoch", self.epochs(bracket_num, round_num as i64 - 1));
                    values.insert("tuner/bracket", self.current_bracket);
                    values.insert("tuner/round", round_num as i64);
                    self.brackets[b].rounds[round_num]
                        .push(RoundEntry { past_id: Some(best_id), id: trial_id.to_string() });
                    return Ok(Populate::Running(values));
                }
            }
        }
        let last_iteration = self.hyperband_iterations.is_some_and(|n| self.current_iteration + 1 == n);
        if self.current_bracket == 0 && last_iteration {
            return Ok(if core.has_ongoing() { Populate::Idle } else { Populate::Stopped });
        }
        self.increment_bracket_num();
        self.start_new_bracket();
        let last = self.brackets.len() - 1;
        Ok(self.random_trial(core, trial_id, last))
    }

    fn hash_ignores(&self) -> &'static [&'static str] {
        &["tuner/epochs", "tuner/initial_epoch", "tuner/bracket", "tuner/round"]
    }

    fn get_state(&self) -> Vec<(String, Json)> {
        let brackets = self
            .brackets
            .iter()
            .map(|b| {
                Json::obj([
                    ("bracket_num", Json::Int(b.bracket_num)),
                    (
                        "rounds",
                        Json::Array(
                            b.rounds
                                .iter()
                                .map(|r| {
                                    Json::Array(
                                        r.iter()
                                            .map(|e| {
                                                Json::obj([
                                                    (
                                                        "past_id",
                                                        e.past_id.clone().map_or(Json::Null, Json::Str),
                                                    ),
                                                    ("id", Json::Str(e.id.clone())),
                                                ])
                                            })
                                            .collect(),
                                    )
                                })
                                .collect(),
                        ),
                    ),
                ])
            })
            .collect();
        vec![
            (
                "hyperband_iterations".into(),
                self.hyperband_iterations.map_or(Json::Float(f64::INFINITY), Json::Int),
            ),
            ("max_epochs".into(), Json::Int(self.max_epochs)),
            ("min_epochs".into(), Json::Int(self.min_epochs)),
            ("factor".into(), Json::Int(self.factor)),
            ("brackets".into(), Json::Array(brackets)),
            ("current_bracket".into(), Json::Int(self.current_bracket)),
            ("current_iteration".into(), Json::Int(self.current_iteration)),
        ]
    }

    fn set_state(&mut self, _core: &OracleCore, state: &Json) -> Result<()> {
        let what = "oracle.json (Hyperband)";
        let int = |k: &str| -> Result<i64> {
            state
                .req(k, what)?
                .as_i64()
                .ok_or_else(|| Error::Value(format!("{what}: '{k}' must be an integer")))
        };
        self.hyperband_iterations = match state.req("hyperband_iterations", what)? {
            Json::Float(f) if f.is_infinite() => None,
            j => Some(j.as_i64().ok_or_else(|| Error::Value(format!("{what}: bad hyperband_iterations")))?),
        };
        self.max_epochs = int("max_epochs")?;
        self.min_epochs = int("min_epochs")?;
        self.factor = int("factor")?;
        if self.factor < 2 || self.max_epochs < 1 {
            bail!(Value, "{what}: factor must be at least 2 and max_epochs at least 1");
        }
        self.current_bracket = int("current_bracket")?;
        if self.current_bracket < 0 {
            bail!(Value, "{what}: current_bracket must not be negative");
        }
        self.current_iteration = int("current_iteration")?;
        let mut brackets = Vec::new();
        for b in state.req("brackets", what)?.as_array().unwrap_or(&[]) {
            let bracket_num = b.req("bracket_num", what)?.as_i64().unwrap_or(0);
            let mut rounds = Vec::new();
            for r in b.req("rounds", what)?.as_array().unwrap_or(&[]) {
                let mut entries = Vec::new();
                for e in r.as_array().unwrap_or(&[]) {
                    let id = e.req("id", what)?.as_str().unwrap_or_default().to_string();
                    let past_id = e.get("past_id").and_then(Json::as_str).map(str::to_string);
                    entries.push(RoundEntry { past_id, id });
                }
                rounds.push(entries);
            }
            if bracket_num < 0 || rounds.len() as i64 != bracket_num + 1 {
                bail!(Value, "{what}: bracket {bracket_num} must have {} rounds", bracket_num + 1);
            }
            brackets.push(Bracket { bracket_num, rounds });
        }
        self.brackets = brackets;
        Ok(())
    }
}

/// The Hyperband tuner.
pub struct Hyperband<H: HyperModel> {
    hypermodel: H,
    common: Common,
    max_epochs: i64,
    factor: i64,
    hyperband_iterations: Option<i64>,
}

impl<H: HyperModel> Hyperband<H> {
    /// Hyperband over `hypermodel`'s space (max_epochs 100, factor 3, 1 iteration).
    pub fn new(hypermodel: H) -> Self {
        let mut common = Common::new(None);
        common.tuner.hyperband = true;
        Hyperband { hypermodel, common, max_epochs: 100, factor: 3, hyperband_iterations: Some(1) }
    }

    crate::setters::setters! {
        /// Most epochs one model trains (default 100).
        max_epochs: i64,
        /// The reduction factor of models and epochs between rounds (default 3).
        factor: i64,
        /// Full Hyperband iterations (default 1; 0: no limit).
        hyperband_iterations: i64 => Some,
    }
    common_methods!();

    /// Checks the arguments, creates or reloads the project, and populates the search space.
    pub fn build(self) -> Result<Tuner<H>> {
        let algo = HyperbandOracle::new(self.max_epochs, self.factor, self.hyperband_iterations)?;
        let oracle = Oracle::new(self.common.oracle_options()?, Box::new(algo))?;
        Tuner::create(self.hypermodel, oracle, self.common.tuner)
    }
}
