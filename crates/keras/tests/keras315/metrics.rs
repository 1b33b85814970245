//! The metrics added for Keras 3.15: names, configs and their round trips (also through a
//! saved model), every promised error, and the state accessors (Keras's numbers are in the
//! oracle cases).

use keras::layers::{Dense, Input};
use keras::metrics::{
    self, AucArgs, AucCurve, AucSummation, ConfusionCount, Metric, Precision, R2Aggregation, R2Score,
    RateAtRate, RateAtRateKind, Recall, AUC,
};
use keras::models::Sequential;
use keras::trainers::MetricArg;
use keras::Tensor;
use serde_json::json;

fn t(v: Vec<f32>, s: &[usize]) -> Tensor {
    Tensor::new(v, s.to_vec()).unwrap()
}

fn round_trip(m: &dyn Metric) {
    let ser = json!({"class_name": m.class_name(), "config": m.get_config()});
    let back = metrics::deserialize(&ser).unwrap_or_else(|e| panic!("{}: {e}", m.class_name()));
    assert_eq!(back.get_config(), m.get_config(), "{}", m.class_name());
    assert_eq!(back.class_name(), m.class_name());
}

#[test]
fn every_new_metric_round_trips_its_config() {
    let auc = AUC::with_args(AucArgs {
        curve: AucCurve::PrGain,
        summation_method: AucSummation::Minoring,
        thresholds: Some(vec![0.7, 0.2]),
        multi_label: true,
        num_labels: Some(2),
        label_weights: Some(vec![0.5, 1.5]),
        from_logits: true,
        ..Default::default()
    })
    .unwrap();
    assert_eq!(auc.get_config()["thresholds"], json!([0.2, 0.7]));
    assert_eq!(auc.get_config()["num_thresholds"], json!(4));
    let all: Vec<Box<dyn Metric>> = vec![
        Box::new(auc),
        Box::new(ConfusionCount::true_positives(Some(vec![0.1, 0.9])).unwrap()),
        Box::new(ConfusionCount::false_negatives(Some(vec![0.3])).unwrap()),
        Box::new(ConfusionCount::true_negatives(None).unwrap().with_name("tn")),
        Box::new(RateAtRate::new(RateAtRateKind::SensitivityAtSpecificity, 0.4, 30, Some(1)).unwrap()),
        Box::new(RateAtRate::new(RateAtRateKind::RecallAtPrecision, 0.9, 1, None).unwrap()),
        Box::new(R2Score::new().class_aggregation(R2Aggregation::None).num_regressors(3)),
        Box::new(Precision::new(Some(vec![0.2, 0.4]), Some(3), Some(1)).unwrap()),
    ];
    for m in &all {
        round_trip(m.as_ref());
    }
    for name in [
        "TruePositives",
        "FalsePositives",
        "TrueNegatives",
        "FalseNegatives",
        "R2Score",
        "PearsonCorrelation",
        "ConcordanceCorrelation",
        "pearson_correlation",
    ] {
        let m = metrics::get(name).unwrap();
        round_trip(m.as_ref());
    }
    let spec =
        json!({"class_name": "SparseTopKCategoricalAccuracy", "config": {"k": 3, "from_sorted_ids": true}});
    let m = metrics::deserialize(&spec).unwrap();
    assert_eq!(
        m.get_config(),
        json!({"name": "sparse_top_k_categorical_accuracy", "dtype": "float32", "k": 3, "from_sorted_ids": true})
    );
    let ce = json!({"class_name": "SparseCategoricalCrossentropy", "config": {"from_logits": true, "ignore_class": 4, "axis": 1}});
    round_trip(metrics::deserialize(&ce).unwrap().as_ref());
    // Keras writes tensors in configs as `__tensor__` objects (AUC's label_weights).
    let tensor_form = json!({"class_name": "AUC", "config": {"label_weights":
        {"class_name": "__tensor__", "config": {"value": [0.5, 2.0], "dtype": "float32"}}}});
    assert_eq!(metrics::deserialize(&tensor_form).unwrap().get_config()["label_weights"], json!([0.5, 2.0]));
}

#[test]
fn bad_arguments_are_errors() {
    let e = AUC::new(1, false).unwrap_err();
    assert!(
        e.to_string()
            .contains("Argument `num_thresholds` must be an integer > 1. Received: num_thresholds=1"),
        "{e}"
    );
    let e = AucCurve::parse("AP").unwrap_err();
    assert!(e.to_string().contains("Invalid AUC curve value: \"AP\""), "{e}");
    let e = AucSummation::parse("riemann").unwrap_err();
    assert!(e.to_string().contains("Invalid AUC summation method value: \"riemann\""), "{e}");
    let e = AUC::with_args(AucArgs { num_labels: Some(3), ..Default::default() }).unwrap_err();
    assert!(e.to_string().contains("`num_labels` is needed only when `multi_label` is True."), "{e}");
    let mut ml = AUC::with_args(AucArgs { multi_label: true, ..Default::default() }).unwrap();
    let e = ml.update_state(&t(vec![1.0; 4], &[4]), &t(vec![0.5; 4], &[4]), None).unwrap_err();
    assert!(e.to_string().contains("`y_pred` must have rank 2 when `multi_label=True`"), "{e}");
    for (kind, arg) in [
        (RateAtRateKind::SensitivityAtSpecificity, "specificity"),
        (RateAtRateKind::SpecificityAtSensitivity, "sensitivity"),
        (RateAtRateKind::PrecisionAtRecall, "recall"),
        (RateAtRateKind::RecallAtPrecision, "precision"),
    ] {
        let e = RateAtRate::new(kind, 1.5, 200, None).unwrap_err();
        assert!(
            e.to_string()
                .contains(&format!("Argument `{arg}` must be in the range [0, 1]. Received: {arg}=1.5")),
            "{e}"
        );
        let e = RateAtRate::new(kind, 0.5, 0, None).unwrap_err();
        assert!(e.to_string().contains("Argument `num_thresholds` must be an integer > 0"), "{e}");
    }
    assert!(ConfusionCount::true_positives(Some(vec![-0.1])).is_err());
    let e = R2Aggregation::parse(Some("median")).unwrap_err();
    assert!(e.to_string().contains("Invalid value for argument `class_aggregation`"), "{e}");
    let neg = json!({"class_name": "R2Score", "config": {"num_regressors": -1}});
    assert!(metrics::deserialize(&neg).err().unwrap().to_string().contains("num_regressors"));
    let e = R2Score::new().update_state(&t(vec![1.0; 4], &[4]), &t(vec![1.0; 8], &[4, 2]), None).unwrap_err();
    assert!(
        e.to_string().contains("Incompatible shapes") || e.to_string().contains("R2Score expects 2D inputs"),
        "{e}"
    );
    let e = R2Score::new()
        .update_state(&t(vec![1.0; 8], &[2, 2, 2]), &t(vec![1.0; 8], &[2, 2, 2]), None)
        .unwrap_err();
    assert!(e.to_string().contains("R2Score expects 2D inputs"), "{e}");
    let mut p = Precision::new(None, None, Some(0)).unwrap();
    let e = p.update_state(&t(vec![1.0; 3], &[3]), &t(vec![0.5; 3], &[3]), None).unwrap_err();
    assert!(e.to_string().contains("When class_id is provided, y_pred must be a 2D array"), "{e}");
    let missing = json!({"class_name": "PrecisionAtRecall", "config": {}});
    assert!(metrics::deserialize(&missing).err().unwrap().to_string().contains("recall"));
    let f16 = json!({"class_name": "AUC", "config": {"dtype": "float16"}});
    assert!(metrics::deserialize(&f16).is_err());
    let mut cc = ConfusionCount::true_positives(None).unwrap();
    assert!(cc.update_state(&t(vec![1.0; 3], &[3]), &t(vec![1.0; 4], &[4]), None).is_err());
}

#[test]
fn precision_and_recall_expose_their_counts() {
    let mut p = Precision::new(Some(vec![0.3, 0.6]), None, None).unwrap();
    let mut r = Recall::new(Some(vec![0.3, 0.6]), None, None).unwrap();
    let y = t(vec![1.0, 0.0, 1.0, 1.0, 0.0], &[5]);
    let yp = t(vec![0.9, 0.5, 0.4, 0.1, 0.2], &[5]);
    let w = t(vec![1.0, 2.0, 1.0, 1.0, 1.0], &[5]);
    p.update_state(&y, &yp, Some(&w)).unwrap();
    r.update_state(&y, &yp, Some(&w)).unwrap();
    assert_eq!(p.thresholds(), &[0.3, 0.6]);
    assert_eq!(p.true_positives(), &[2.0, 1.0]);
    assert_eq!(p.false_positives(), &[2.0, 0.0]);
    assert_eq!(r.true_positives(), &[2.0, 1.0]);
    assert_eq!(r.false_negatives(), &[1.0, 2.0]);
    assert_eq!(p.results(), vec![0.5, 1.0]);
    let names: Vec<String> = p.variables().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["true_positives", "false_positives"]);
}

#[test]
fn metric_objects_survive_a_saved_model() {
    keras::utils::set_random_seed(2);
    let mut m = Sequential::new();
    m.add(Input::new(&[3])).unwrap();
    m.add(Dense::new(1).activation("sigmoid")).unwrap();
    let auc = AUC::with_args(AucArgs {
        curve: AucCurve::Pr,
        num_thresholds: 17,
        from_logits: false,
        ..Default::default()
    })
    .unwrap();
    let objs: Vec<MetricArg> = vec![
        MetricArg::Object(Box::new(auc.with_name("pr_auc"))),
        MetricArg::Object(Box::new(
            RateAtRate::new(RateAtRateKind::PrecisionAtRecall, 0.3, 40, None).unwrap(),
        )),
        MetricArg::Object(Box::new(ConfusionCount::false_positives(Some(vec![0.25, 0.75])).unwrap())),
    ];
    m.compile_with("adam", "binary_crossentropy", objs).unwrap();
    let x = t((0..24).map(|i| (i as f32 * 0.37).sin()).collect(), &[8, 3]);
    let y = t(vec![1.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 0.0], &[8, 1]);
    let logs = m.evaluate(&x, &y, keras::EvaluateArgs::default().verbose(0)).unwrap();
    let path = std::env::temp_dir().join(format!("keras315_metrics_{}.keras", std::process::id()));
    m.save(&path).unwrap();
    let mut back = Sequential::load(&path).unwrap();
    std::fs::remove_file(&path).ok();
    let cfg = back.compile_state().unwrap().metrics_config().to_vec();
    assert_eq!(cfg[0]["config"]["num_thresholds"], json!(17));
    assert_eq!(cfg[0]["config"]["curve"], json!("PR"));
    assert_eq!(cfg[1]["config"]["recall"], json!(0.3));
    assert_eq!(cfg[2]["config"]["thresholds"], json!([0.25, 0.75]));
    let again = back.evaluate(&x, &y, keras::EvaluateArgs::default().verbose(0)).unwrap();
    assert_eq!(format!("{logs:?}"), format!("{again:?}"));
}
