//! Bayesian optimization (keras-tuner `BayesianOptimization`): after `num_initial_points`
//! random trials, each trial's values minimise the lower confidence bound
//! `mu(x) - beta * sigma(x)` of a Gaussian process fitted to the trials so far, with every
//! hyperparameter embedded in `[0, 1]` by its cumulative probability (`value_to_prob`).
//! Running trials are "hallucinated" at a pessimistic `mu + sigma`, so parallel workers do
//! not all pick the same point. The acquisition is minimised from 50 random starts by a
//! projected L-BFGS with analytic gradients (keras-tuner: scipy's L-BFGS-B with finite
//! differences).
//!
//! Submodules:
//! - `gaussian_process`: The Gaussian process keras-tuner's Bayesian optimization fits (scikit-learn's `GaussianProcessRegressor(kernel=Matern(nu=2.5), n_restarts_optimizer=20, normalize_y=True, alpha=alpha)`)
//! - `optimize`: Box-constrained minimisation with gradients

pub mod gaussian_process;
pub mod optimize;

use gaussian_process::GaussianProcess;

use crate::engine::hypermodel::HyperModel;
use crate::engine::hyperparameters::{HyperParameter, Values};
use crate::engine::objective::Direction;
use crate::engine::oracle::{Algorithm, Oracle, OracleCore, Populate};
use crate::engine::trial::TrialStatus;
use crate::engine::tuner::Tuner;
use crate::error::{bail, Result};
use crate::json::Json;
use crate::utils::PyRandom;

use super::{common_methods, Common};

const NUM_RESTARTS: usize = 50;

/// keras-tuner `BayesianOptimizationOracle`.
#[derive(Clone, Debug)]
pub struct BayesianOptimizationOracle {
    num_initial_points: Option<usize>,
    alpha: f64,
    beta: f64,
    gp: Option<GaussianProcess>,
}

impl BayesianOptimizationOracle {
    /// keras-tuner's defaults: `alpha = 1e-4`, `beta = 2.6`, `num_initial_points = None`
    /// (3 times the number of hyperparameters, at least 3).
    pub fn new(num_initial_points: Option<usize>, alpha: f64, beta: f64) -> Result<Self> {
        if !(alpha.is_finite() && alpha >= 0.0) {
            bail!(Value, "`alpha` must be a non-negative number, received {alpha}.");
        }
        if !beta.is_finite() {
            bail!(Value, "`beta` must be a finite number, received {beta}.");
        }
        Ok(BayesianOptimizationOracle { num_initial_points, alpha, beta, gp: None })
    }

    fn nonfixed(core: &OracleCore) -> Vec<HyperParameter> {
        core.hyperparameters.space().iter().filter(|h| !h.is_fixed()).cloned().collect()
    }

    /// keras-tuner `_vectorize_trials`: each trial's values as probabilities; scores framed
    /// for minimisation; running trials at the current model's `mu + sigma`.
    fn vectorize(&self, core: &OracleCore) -> (Vec<Vec<f64>>, Vec<f64>) {
        let space = Self::nonfixed(core);
        let (mut xs, mut ys) = (Vec::new(), Vec::new());
        let ongoing: Vec<&str> = core.ongoing_trial_ids().collect();
        for t in core.trials() {
            let hps = &t.hyperparameters;
            let vector: Vec<f64> = space
                .iter()
                .map(|hp| {
                    let v = if hps.is_active_hp(hp) { hps.values().get(hp.name()).cloned() } else { None };
                    let v = v.unwrap_or_else(|| hp.default_value());
                    let p = hp.value_to_prob(&v);
                    if p.is_finite() {
                        p
                    } else {
                        0.0
                    }
                })
                .collect();
            let score = if ongoing.contains(&t.trial_id.as_str()) {
                match &self.gp {
                    Some(gp) => {
                        let (m, s) = gp.predict(&vector);
                        m + s
                    }
                    None => 1.0, // an unfitted regressor's prior: mean 0, std 1
                }
            } else if t.status == TrialStatus::Completed {
                let s = t.score.unwrap_or(f64::NAN);
                if core.objective.direction == Direction::Max {
                    -s
                } else {
                    s
                }
            } else {
                continue;
            };
            xs.push(vector);
            ys.push(if score.is_finite() { score } else { 0.0 }); // np.nan_to_num(posinf=0, neginf=0)
        }
        (xs, ys)
    }

    /// keras-tuner `_vector_to_values`.
    fn vector_to_values(core: &OracleCore, vector: &[f64]) -> Values {
        let mut values = Values::new();
        let mut i = 0;
        for hp in core.hyperparameters.space() {
            let value = match hp {
                HyperParameter::Fixed(f) => f.value.clone(),
                _ => {
                    let v = hp.prob_to_value(vector[i]);
                    i += 1;
                    v
                }
            };
            if hp.conditions().iter().all(|c| c.is_active(&values)) {
                values.insert(hp.name(), value);
            }
        }
        values
    }

    fn random(core: &mut OracleCore) -> Populate {
        match core.random_values() {
            Some(v) => Populate::Running(v),
            None => Populate::Stopped,
        }
    }
}

impl Algorithm for BayesianOptimizationOracle {
    fn populate_space(&mut self, core: &mut OracleCore, _trial_id: &str) -> Result<Populate> {
        let completed = core.trials().iter().filter(|t| t.status == TrialStatus::Completed).count();
        let dims = core.hyperparameters.space().len();
        let initial = self.num_initial_points.filter(|&n| n > 0).unwrap_or((3 * dims).max(3));
        let d = Self::nonfixed(core).len();
        if completed < initial || d == 0 {
            return Ok(Self::random(core));
        }
        let (x, y) = self.vectorize(core);
        let gp = GaussianProcess::fit(&x, &y, self.alpha, core.seed);
        // The starting points: fresh for every trial, the same after a resume.
        let mut rng = PyRandom::new(
            core.seed.wrapping_mul(1_000_003).wrapping_add(core.trials().len() as i64).unsigned_abs(),
        );
        let (lo, hi) = (vec![0.0; d], vec![1.0; d]);
        let beta = self.beta;
        let mut best: Option<(Vec<f64>, f64)> = None;
        for _ in 0..NUM_RESTARTS {
            let x0: Vec<f64> = (0..d).map(|_| rng.random()).collect();
            let mut acq = |v: &[f64]| {
                let (m, s, dm, ds) = gp.predict_with_grad(v, true);
                (m - beta * s, dm.iter().zip(&ds).map(|(a, b)| a - beta * b).collect())
            };
            let m = optimize::minimize(&mut acq, &x0, &lo, &hi);
            if m.f.is_finite() && best.as_ref().is_none_or(|(_, f)| m.f < *f) {
                best = Some((m.x, m.f));
            }
        }
        self.gp = Some(gp);
        match best {
            Some((x, _)) => Ok(Populate::Running(Self::vector_to_values(core, &x))),
            None => Ok(Self::random(core)),
        }
    }

    fn get_state(&self) -> Vec<(String, Json)> {
        vec![
            (
                "num_initial_points".into(),
                self.num_initial_points.map_or(Json::Null, |n| Json::Int(n as i64)),
            ),
            ("alpha".into(), Json::Float(self.alpha)),
            ("beta".into(), Json::Float(self.beta)),
        ]
    }

    fn set_state(&mut self, _core: &OracleCore, state: &Json) -> Result<()> {
        self.num_initial_points =
            state.get("num_initial_points").and_then(Json::as_i64).map(|n| n.max(0) as usize);
        if let Some(a) = state.get("alpha").and_then(Json::as_f64) {
            self.alpha = a;
        }
        if let Some(b) = state.get("beta").and_then(Json::as_f64) {
            self.beta = b;
        }
        self.gp = None;
        Ok(())
    }
}

/// The Bayesian optimization tuner (max_trials 10 by default).
pub struct BayesianOptimization<H: HyperModel> {
    hypermodel: H,
    common: Common,
    num_initial_points: Option<usize>,
    alpha: f64,
    beta: f64,
}

impl<H: HyperModel> BayesianOptimization<H> {
    /// Bayesian optimization over `hypermodel`'s space.
    pub fn new(hypermodel: H) -> Self {
        BayesianOptimization {
            hypermodel,
            common: Common::new(Some(10)),
            num_initial_points: None,
            alpha: 1e-4,
            beta: 2.6,
        }
    }

    crate::setters::setters! {
        /// Most trials to run (default 10).
        max_trials(common.max_trials): usize => Some,
        /// Random trials before the Gaussian process is used (default: 3 per hyperparameter).
        num_initial_points: usize => Some,
        /// Noise added to the kernel's diagonal (default 1e-4).
        alpha: f64,
        /// Exploration weight of the confidence bound (default 2.6).
        beta: f64,
    }
    common_methods!();

    /// Checks the arguments, creates or reloads the project, and populates the search space.
    pub fn build(self) -> Result<Tuner<H>> {
        let algo = BayesianOptimizationOracle::new(self.num_initial_points, self.alpha, self.beta)?;
        let oracle = Oracle::new(self.common.oracle_options()?, Box::new(algo))?;
        Tuner::create(self.hypermodel, oracle, self.common.tuner)
    }
}
