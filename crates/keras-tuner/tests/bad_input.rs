//! Bad input gets a clear error, never a panic: an empty search space, min greater than max,
//! an unknown objective, a Choice of mixed types, bad sampling arguments, broken project files.

mod common;

use keras::trainers::Arrays;
use keras::{FitArgs, Tensor};
use keras_tuner::{
    BayesianOptimization, Error, FitResult, HpValue, HyperModel, HyperParameters, Hyperband, RandomSearch,
    SearchArgs,
};

/// A hypermodel that runs `space` in build and reports `x` as the score.
struct Space<F: Fn(&mut HyperParameters) -> keras_tuner::Result<()> + Sync>(F);
impl<F: Fn(&mut HyperParameters) -> keras_tuner::Result<()> + Sync> HyperModel for Space<F> {
    type Model = ();
    fn build(&self, hp: &mut HyperParameters) -> keras_tuner::Result<()> {
        (self.0)(hp)?;
        Ok(())
    }
    fn fit(
        &self,
        _: &mut HyperParameters,
        _: &mut (),
        _: &Arrays,
        _: &Arrays,
        _: FitArgs<'_>,
    ) -> keras_tuner::Result<FitResult> {
        Ok(FitResult::Value(1.0))
    }
}

/// Reports `loss` only.
struct ReportsLoss;
common::objective!(ReportsLoss, |self, hp, _args| build {
    hp.int("u", 0, 100).value()?;
} fit {
    Ok(FitResult::Metrics(vec![("loss".into(), 1.0)]))
});

fn dir(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("kt_bad_{}_{name}", std::process::id()))
}

fn x() -> Tensor {
    Tensor::new(vec![0.0], [1, 1]).unwrap()
}

#[test]
fn empty_search_space() {
    let t = RandomSearch::new(Space(|_hp: &mut HyperParameters| Ok(())))
        .directory(dir("empty"))
        .overwrite(true)
        .build()
        .unwrap();
    let e = t.search(x(), x(), SearchArgs::default().verbose(0)).unwrap_err();
    assert!(matches!(e, Error::Value(_)) && e.to_string().contains("search space is empty"), "{e}");
}

#[test]
fn min_greater_than_max() {
    let mut hp = HyperParameters::new();
    let e = hp.int("units", 10, 1).value().unwrap_err();
    assert_eq!(
        e.to_string(),
        "For HyperParameters.Int(name='units'), min_value 10 is greater than the max_value 1."
    );
    let e = hp.float("lr", 0.1, 0.01).value().unwrap_err();
    assert_eq!(
        e.to_string(),
        "For HyperParameters.Float(name='lr'), min_value 0.1 is greater than the max_value 0.01."
    );
    // The same error surfaces when the tuner builds the hypermodel.
    let e = RandomSearch::new(Space(|hp: &mut HyperParameters| hp.int("u", 5, 2).value().map(|_| ())))
        .directory(dir("minmax"))
        .overwrite(true)
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("greater than the max_value"));
}

#[test]
fn unknown_objective() {
    let e = RandomSearch::new(Space(|hp: &mut HyperParameters| hp.int("u", 0, 2).value().map(|_| ())))
        .objective("val_my_score")
        .directory(dir("obj"))
        .build()
        .unwrap_err();
    assert!(matches!(e, Error::Value(_)));
    assert!(e.to_string().contains(
        "Could not infer optimization direction (\"min\" or \"max\") for unknown metric \"val_my_score\""
    ));
    // A dict without the objective stops the search (keras-tuner's FatalValueError).
    let t = RandomSearch::new(ReportsLoss)
        .objective("val_loss")
        .max_consecutive_failed_trials(2)
        .directory(dir("obj2"))
        .overwrite(true)
        .build()
        .unwrap();
    let e = t.search(x(), x(), SearchArgs::default().verbose(0)).unwrap_err();
    assert!(matches!(e, Error::Fatal(_)), "{e}");
    assert!(e.to_string().contains("to have the specified objective, val_loss"), "{e}");
}

#[test]
fn mixed_type_choice() {
    let mut hp = HyperParameters::new();
    let e = hp.choice_values("c", vec![HpValue::Int(1), HpValue::Str("a".into())]).value().unwrap_err();
    assert!(matches!(e, Error::Type(_)));
    assert_eq!(
        e.to_string(),
        "A `Choice` can contain only one type of value, found values: [1, 'a'] with types {<class 'int'>, <class 'str'>}."
    );
    assert!(hp.choice_values("c", vec![]).value().is_err());
    assert!(hp.choice("c", ["a", "b"]).default("z").value().is_err());
    assert!(hp.choice("c", ["a", "b"]).ordered(true).value().is_err());
}

#[test]
fn bad_sampling_and_steps() {
    let mut hp = HyperParameters::new();
    assert!(hp.float("a", 0.0, 1.0).sampling("log").value().is_err());
    assert!(hp.float("b", 0.0, 1.0).sampling("cubic").value().is_err());
    assert!(hp.int("c", 1, 100).sampling("log").step(1).value().is_err());
    assert!(hp.int("d", 1, 100).step(0).value().is_err());
    assert!(hp.float("e", 0.0, f64::NAN).value().is_err());
    assert!(hp.float("f", 0.0, 1.0).step(-0.1).value().is_err());
    assert!(Hyperband::new(Space(|_: &mut HyperParameters| Ok(())))
        .factor(1)
        .directory(dir("f"))
        .build()
        .is_err());
    assert!(BayesianOptimization::new(Space(|_: &mut HyperParameters| Ok(())))
        .alpha(-1.0)
        .directory(dir("a"))
        .build()
        .is_err());
}

#[test]
fn broken_project_files_are_errors() {
    let d = dir("broken");
    let make = || {
        RandomSearch::new(Space(|hp: &mut HyperParameters| hp.int("u", 0, 100).value().map(|_| ())))
            .directory(&d)
            .project_name("p")
            .max_trials(2)
    };
    let t = make().overwrite(true).build().unwrap();
    t.search(x(), x(), SearchArgs::default().verbose(0)).unwrap();
    let oracle = d.join("p").join("oracle.json");
    for bad in ["", "{", "[1, 2]", "{\"ongoing_trials\": 3}", "{\"ongoing_trials\": {\"tuner0\": \"77\"}}"] {
        std::fs::write(&oracle, bad).unwrap();
        let e = make().build().unwrap_err();
        assert!(matches!(e, Error::Runtime(_) | Error::Value(_)), "{bad}: {e}");
    }
    std::fs::write(d.join("p").join("trial_0").join("trial.json"), "{\"trial_id\": 1}").unwrap_or(());
}

#[test]
fn corrupt_hyperband_state_is_an_error() {
    let d = dir("hb_state");
    let make = || {
        Hyperband::new(Space(|hp: &mut HyperParameters| hp.int("u", 0, 100).value().map(|_| ())))
            .max_epochs(3)
            .directory(&d)
            .project_name("p")
    };
    let t = make().overwrite(true).build().unwrap();
    t.search(x(), x(), SearchArgs::default().verbose(0)).unwrap();
    let path = d.join("p").join("oracle.json");
    let good = std::fs::read_to_string(&path).unwrap();
    for (from, to) in [
        ("\"bracket_num\": 0", "\"bracket_num\": -1"),
        ("\"current_bracket\": 0", "\"current_bracket\": -5"),
        ("\"factor\": 3", "\"factor\": 1"),
    ] {
        assert!(good.contains(from), "{from}");
        std::fs::write(&path, good.replace(from, to)).unwrap();
        assert!(make().build().is_err(), "{to}");
    }
    let _ = std::fs::remove_dir_all(&d);
}
