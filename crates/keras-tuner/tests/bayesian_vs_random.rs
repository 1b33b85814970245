//! Bayesian optimization beats random search on a function with a known optimum: the
//! Branin function (minimum 0.397887) as a hypermodel whose "training" evaluates it, over 10
//! seeds, 25 trials each (6 random initial points, as keras-tuner's default for 2
//! hyperparameters). The test prints both averages.

mod common;

use keras::Tensor;
use keras_tuner::{BayesianOptimization, FitResult, RandomSearch, SearchArgs, Tuner};

fn branin(x1: f64, x2: f64) -> f64 {
    use std::f64::consts::PI;
    let (a, b, c, r, s, t) = (1.0, 5.1 / (4.0 * PI * PI), 5.0 / PI, 6.0, 10.0, 1.0 / (8.0 * PI));
    a * (x2 - b * x1 * x1 + c * x1 - r).powi(2) + s * (1.0 - t) * x1.cos() + s
}

struct Branin;
common::objective!(Branin, |self, hp, _args| build {
    hp.float("x1", -5.0, 10.0).value()?;
    hp.float("x2", 0.0, 15.0).value()?;
} fit {
    let x1 = hp.get("x1")?.as_f64().unwrap();
    let x2 = hp.get("x2")?.as_f64().unwrap();
    Ok(FitResult::Value(branin(x1, x2)))
});

const TRIALS: usize = 25;

fn best(t: Tuner<Branin>) -> f64 {
    let x = Tensor::new(vec![0.0], [1, 1]).unwrap();
    t.search(&x, &x, SearchArgs::default().verbose(0)).unwrap();
    assert_eq!(t.trials().len(), TRIALS);
    t.get_best_trials(1)[0].score.unwrap()
}

#[test]
fn bayesian_optimization_beats_random_search_on_branin() {
    let dir = std::env::temp_dir().join(format!("kt_branin_{}", std::process::id()));
    let (mut bayes, mut random) = (Vec::new(), Vec::new());
    // keras-tuner's seeds draw from `seed_state = seed + draws`, so nearby seeds share most
    // of their draws: seeds 1000 apart give independent runs.
    for seed in (1..=10).map(|i| 1000 * i) {
        let b = BayesianOptimization::new(Branin)
            .max_trials(TRIALS)
            .seed(seed)
            .directory(&dir)
            .project_name(&format!("bo{seed}"))
            .overwrite(true)
            .build()
            .unwrap();
        bayes.push(best(b));
        let r = RandomSearch::new(Branin)
            .max_trials(TRIALS)
            .seed(seed)
            .directory(&dir)
            .project_name(&format!("rs{seed}"))
            .overwrite(true)
            .build()
            .unwrap();
        random.push(best(r));
    }
    let _ = std::fs::remove_dir_all(&dir);
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    println!("Branin, best after {TRIALS} trials (optimum 0.397887), seeds 1000, 2000, ..., 10000");
    println!(
        "  BayesianOptimization: mean {:.4}  {:?}",
        mean(&bayes),
        bayes.iter().map(|v| (v * 1e4).round() / 1e4).collect::<Vec<_>>()
    );
    println!(
        "  RandomSearch:         mean {:.4}  {:?}",
        mean(&random),
        random.iter().map(|v| (v * 1e4).round() / 1e4).collect::<Vec<_>>()
    );
    assert!(mean(&bayes) < mean(&random));
    assert!(bayes.iter().all(|v| *v >= 0.397887 - 1e-6));
}
