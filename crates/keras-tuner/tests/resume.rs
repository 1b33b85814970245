//! A finished search resumed with a larger budget carries on where it stopped: a grid search
//! continues the grid (keras-tuner keeps the grid's position in memory only, so a reloaded
//! Python grid search stops), a random search draws the values it would have drawn.

mod common;

use std::sync::Mutex;

use keras::Tensor;
use keras_tuner::{FitResult, GridSearch, RandomSearch, SearchArgs};

/// Scores `(u - 3)^2`; records the `u` of every trial it runs.
struct Quadratic {
    ran: Mutex<Vec<i64>>,
}

common::objective!(Quadratic, |self, hp, _args| build {
    hp.int("u", 0, 5).value()?;
    hp.boolean("b").value()?;
} fit {
    let u = hp.get("u")?.as_i64().unwrap();
    self.ran.lock().unwrap().push(u);
    Ok(FitResult::Value(((u - 3) * (u - 3)) as f64))
});

fn x() -> Tensor {
    Tensor::new(vec![0.0], [1, 1]).unwrap()
}

fn values(t: &keras_tuner::Tuner<Quadratic>) -> Vec<String> {
    t.trials().iter().map(|t| t.hyperparameters.values().to_json().dumps()).collect()
}

#[test]
fn grid_search_continues_the_grid() {
    let dir = std::env::temp_dir().join(format!("kt_resume_grid_{}", std::process::id()));
    let make = |max: Option<usize>| {
        let mut g =
            GridSearch::new(Quadratic { ran: Mutex::new(Vec::new()) }).directory(&dir).project_name("g");
        if let Some(m) = max {
            g = g.max_trials(m);
        }
        g
    };
    let full = make(None).overwrite(true).build().unwrap();
    full.search(x(), x(), SearchArgs::default().verbose(0)).unwrap();
    let want = values(&full);
    assert_eq!(want.len(), 12);

    let part = make(Some(5)).overwrite(true).build().unwrap();
    part.search(x(), x(), SearchArgs::default().verbose(0)).unwrap();
    assert_eq!(part.trials().len(), 5);
    let rest = make(None).build().unwrap();
    rest.search(x(), x(), SearchArgs::default().verbose(0)).unwrap();
    assert_eq!(rest.hypermodel().ran.lock().unwrap().len(), 7, "only the 7 remaining combinations run");
    let mut got = values(&rest);
    let mut want = want;
    got.sort();
    want.sort();
    assert_eq!(got, want);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn random_search_continues_its_draws() {
    let dir = std::env::temp_dir().join(format!("kt_resume_random_{}", std::process::id()));
    let make = |m: usize| {
        RandomSearch::new(Quadratic { ran: Mutex::new(Vec::new()) })
            .max_trials(m)
            .seed(9)
            .directory(&dir)
            .project_name("r")
    };
    let full = make(6).overwrite(true).build().unwrap();
    full.search(x(), x(), SearchArgs::default().verbose(0)).unwrap();
    let part = make(3).overwrite(true).build().unwrap();
    part.search(x(), x(), SearchArgs::default().verbose(0)).unwrap();
    let rest = make(6).build().unwrap();
    // verbose 1: keras-tuner's progress display (trial tables, times, best so far).
    rest.search(x(), x(), SearchArgs::default().verbose(1)).unwrap();
    assert_eq!(rest.hypermodel().ran.lock().unwrap().len(), 3);
    assert_eq!(values(&rest), values(&full));
    let _ = std::fs::remove_dir_all(&dir);
}
