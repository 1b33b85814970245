//! Hyperband hands out the same trials as keras-tuner 1.4.8's HyperbandOracle: bracket,
//! round, epochs, initial epoch, and whether a trial continues an earlier one, for every
//! schedule in the reference file (fixtures/hyperband_schedule.json, a copy of
//! shared/oracle/tuner/hyperband_schedule.json; `KERAS_TUNER_SCHEDULES` names another).
//! The search runs through the whole tuner: the fit arguments each trial receives are
//! checked against the schedule too. Prints `PASS <max_epochs>_<factor>` or
//! `FAIL <max_epochs>_<factor>: <why>` per schedule.

mod common;

use std::path::Path;
use std::sync::Mutex;

use keras::Tensor;
use keras_tuner::json::Json;
use keras_tuner::{FitResult, HpValue, Hyperband, SearchArgs};

/// Records the `(initial_epoch, epochs)` each trial's fit receives.
struct Objective {
    fits: Mutex<Vec<(usize, usize)>>,
}

common::objective!(Objective, |self, hp, args| build {
    hp.int("u", 0, 10000).value()?;
} fit {
    self.fits.lock().unwrap().push((args.initial_epoch, args.epochs));
    let u = hp.get("u")?.as_i64().unwrap();
    Ok(FitResult::Metrics(vec![("val_loss".into(), ((u * 7919) % 1000) as f64 / 1000.0)]))
});

fn check(key: &str, want: &[Json], dir: &Path) -> Result<(), String> {
    let (max_epochs, factor) = key.split_once('_').ok_or("bad key")?;
    let (max_epochs, factor): (i64, i64) =
        (max_epochs.parse().map_err(|_| "bad max_epochs")?, factor.parse().map_err(|_| "bad factor")?);
    let hm = Objective { fits: Mutex::new(Vec::new()) };
    let tuner = Hyperband::new(hm)
        .objective("val_loss")
        .max_epochs(max_epochs)
        .factor(factor)
        .hyperband_iterations(1)
        .seed(7)
        .directory(dir)
        .project_name(key)
        .overwrite(true)
        .build()
        .map_err(|e| e.to_string())?;
    let x = Tensor::new(vec![0.0], [1, 1]).unwrap();
    tuner.search(&x, &x, SearchArgs::default().verbose(0)).map_err(|e| e.to_string())?;
    let trials = tuner.trials();
    let fits = tuner.hypermodel().fits.lock().unwrap().clone();
    if trials.len() != want.len() {
        return Err(format!("{} trials, keras-tuner has {}", trials.len(), want.len()));
    }
    for (i, (t, w)) in trials.iter().zip(want).enumerate() {
        let v = t.hyperparameters.values();
        let int = |k: &str| v.get(k).and_then(HpValue::as_i64);
        let got = (
            int("tuner/bracket"),
            int("tuner/round"),
            int("tuner/epochs"),
            int("tuner/initial_epoch"),
            v.contains("tuner/trial_id"),
        );
        let exp = (
            w.get("bracket").and_then(Json::as_i64),
            w.get("round").and_then(Json::as_i64),
            w.get("epochs").and_then(Json::as_i64),
            w.get("initial_epoch").and_then(Json::as_i64),
            w.get("continues").and_then(Json::as_bool).unwrap_or(false),
        );
        if got != exp {
            return Err(format!("trial {i}: (bracket, round, epochs, initial_epoch, continues) = {got:?}, keras-tuner {exp:?}"));
        }
        let fit = (exp.3.unwrap_or(0) as usize, exp.2.unwrap_or(0) as usize);
        if fits.get(i) != Some(&fit) {
            return Err(format!(
                "trial {i}: fit got (initial_epoch, epochs) {:?}, want {fit:?}",
                fits.get(i)
            ));
        }
    }
    Ok(())
}

#[test]
fn hyperband_schedules_equal_keras_tuners() {
    let path = std::env::var("KERAS_TUNER_SCHEDULES").unwrap_or_else(|_| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/hyperband_schedule.json").into()
    });
    let data = Json::parse(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let schedules = data.get("schedules").and_then(Json::as_object).expect("schedules");
    let dir = std::env::temp_dir().join(format!("kt_schedules_{}", std::process::id()));
    let mut failed = 0;
    for (key, want) in schedules {
        match check(key, want.as_array().unwrap_or(&[]), &dir) {
            Ok(()) => println!("PASS {key}"),
            Err(why) => {
                println!("FAIL {key}: {why}");
                failed += 1;
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(!schedules.is_empty());
    assert_eq!(failed, 0, "{failed} of {} schedules differ from keras-tuner's", schedules.len());
}
