//! The oracles hand out the same trials as keras-tuner 1.4.8 for the same space and seed:
//! ids, values (Python's `random.Random` draws reproduced), conditional values, and the
//! grid's order. Reference: fixtures/oracles.json (tools/tuner/make_fixtures.py).

use keras_tuner::json::Json;
use keras_tuner::tuners::gridsearch::GridSearchOracle;
use keras_tuner::tuners::randomsearch::RandomSearchOracle;
use keras_tuner::{Algorithm, Direction, HpValue, HyperParameters, Objective, Oracle, TrialStatus};

fn fixture() -> Json {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/oracles.json");
    Json::parse(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn score(values: &keras_tuner::Values) -> f64 {
    values.get("units").and_then(HpValue::as_f64).unwrap_or(0.0) / 64.0
        + values.get("lr").and_then(HpValue::as_f64).unwrap_or(0.0)
}

fn drive(
    algo: Box<dyn Algorithm>,
    space: &Json,
    max_trials: Option<usize>,
    seed: i64,
    n: usize,
) -> Vec<Json> {
    let hp = HyperParameters::from_config(space).unwrap();
    let options = keras_tuner::engine::oracle::OracleArgs {
        objective: Objective::new("score", Direction::Min),
        max_trials,
        hyperparameters: Some(hp),
        allow_new_entries: true,
        tune_new_entries: true,
        seed: Some(seed),
        max_retries_per_trial: 0,
        max_consecutive_failed_trials: 3,
    };
    let mut oracle = Oracle::new(options, algo).unwrap();
    let mut out = Vec::new();
    for _ in 0..n {
        let mut t = oracle.create_trial("tuner0").unwrap();
        if t.status != TrialStatus::Running {
            out.push(Json::obj([("status", Json::str(t.status.as_str()))]));
            break;
        }
        oracle.update_trial(&t.trial_id, &[("score".into(), score(t.hyperparameters.values()))], 0).unwrap();
        t.status = TrialStatus::Completed;
        oracle.end_trial(&t).unwrap();
        out.push(Json::obj([
            ("trial_id", Json::str(&t.trial_id)),
            ("values", t.hyperparameters.values().to_json()),
        ]));
    }
    out
}

#[test]
fn random_search_draws_keras_tuners_values() {
    let f = fixture();
    for seed in [1, 42, 7777] {
        let want = f.get(&format!("random_{seed}")).unwrap().as_array().unwrap();
        let got = drive(Box::new(RandomSearchOracle), f.get("space").unwrap(), Some(12), seed, 13);
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(want) {
            assert_eq!(g.dumps(), w.dumps(), "seed {seed}");
        }
    }
}

#[test]
fn grid_search_visits_keras_tuners_order() {
    let f = fixture();
    let want = f.get("grid").unwrap().as_array().unwrap();
    let got = drive(Box::new(GridSearchOracle::default()), f.get("grid_space").unwrap(), None, 1, 100);
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(want) {
        assert_eq!(g.dumps(), w.dumps());
    }
}
