//! Tuning a Functional hypermodel: `build` returns a `keras::models::Functional` (a graph with
//! a tuned skip connection), and the search trains, checkpoints and restores it.

mod common;

use common::data;
use keras::layers::{Add, Dense};
use keras::models::{Functional, Model, SymbolicCall};
use keras::optimizers::Adam;
use keras::{EvaluateArgs, Input};
use keras_tuner::{HpValue, HyperParameters, RandomSearch, SearchArgs, TrialStatus};

/// `x -> Dense(units) -> [+ Dense(units)(h) when `residual`] -> Dense(3, softmax)`.
fn build(hp: &mut HyperParameters) -> keras_tuner::Result<Functional> {
    let units = hp.int("units", 8, 24).step(8).value()? as usize;
    let residual = hp.boolean("residual").value()?;
    let x = Input::new(&[4]);
    let mut h = Dense::new(units).activation("relu").apply(&x)?;
    if residual {
        let g = Dense::new(units).activation("relu").apply(&h)?;
        h = Add::new().apply_list(&[&h, &g])?;
    }
    let y = Dense::new(3).activation("softmax").apply(&h)?;
    let mut model = Model::new(&[x], &[y])?;
    model.compile(Adam::new().learning_rate(0.02), "sparse_categorical_crossentropy", &["accuracy"])?;
    Ok(model)
}

#[test]
fn a_functional_hypermodel_is_tuned_checkpointed_and_restored() {
    let dir = std::env::temp_dir().join(format!("kt_functional_{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (x, y) = data(96, 1);
    let (xv, yv) = data(48, 2);
    let tuner = RandomSearch::new(build)
        .objective("val_accuracy")
        .max_trials(4)
        .seed(5)
        .directory(&dir)
        .project_name("graph")
        .build()
        .unwrap();
    tuner
        .search(&x, &y, SearchArgs::default().epochs(3).batch_size(16).verbose(0).validation_data(&xv, &yv))
        .unwrap();
    let trials = tuner.trials();
    assert_eq!(trials.len(), 4);
    assert!(trials.iter().all(|t| t.status == TrialStatus::Completed));
    for t in &trials {
        assert!(dir
            .join("graph")
            .join(format!("trial_{}", t.trial_id))
            .join("checkpoint.weights.h5")
            .is_file());
    }
    // The best model is a Functional model restored from its checkpoint: it scores what the
    // search recorded for it.
    let best = tuner.get_best_trials(1)[0].clone();
    let mut models = tuner.get_best_models(1).unwrap();
    let logs = models[0].evaluate(&xv, &yv, EvaluateArgs::default().verbose(0).batch_size(16)).unwrap();
    assert!((logs["accuracy"] as f64 - best.score.unwrap()).abs() < 1e-6, "{logs:?} vs {:?}", best.score);
    let residual = best.hyperparameters.values().get("residual").cloned();
    let has_add = models[0].layers().iter().any(|l| l.class_name() == "Add");
    assert_eq!(residual, Some(HpValue::Bool(has_add)));
    let _ = std::fs::remove_dir_all(&dir);
}
