//! The optimizers added for Keras 3.15 (Adafactor, Lamb, Muon, ScheduleFreeAdamW) in files
//! Keras wrote, by name and config, and `exclude_from_weight_decay` with variables
//! (per-step numbers against Keras are in the oracle cases).

use std::path::PathBuf;

use keras::layers::Variable;
use keras::models::Sequential;
use keras::optimizers::{self, Adafactor, Adam, Lamb, Muon, Optimizer, ScheduleFreeAdamW};
use keras::Tensor;
use serde_json::json;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/saving").join(name)
}

fn npy(name: &str) -> Tensor {
    keras::io::npy::read(fixture(name)).unwrap()
}

#[test]
fn keras_files_compiled_with_the_new_optimizers_load_and_keep_training() {
    for name in ["adafactor", "lamb", "muon", "schedule_free_adamw"] {
        let mut m = Sequential::load(fixture(&format!("keras3_{name}.keras")))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let opt = &m.compile_state().unwrap().optimizer;
        assert_eq!(opt.iterations(), 2, "{name}");
        let (x, y) = (npy(&format!("keras3_{name}_x.npy")), npy(&format!("keras3_{name}_y.npy")));
        m.train_on_batch(&x, &y, None).unwrap();
        let got = m.get_weights()[0].to_f32_vec();
        let want = npy(&format!("keras3_{name}_after.npy")).to_f32_vec();
        for (i, (a, b)) in got.iter().zip(&want).enumerate() {
            assert!((a - b).abs() <= 2e-5 * (1.0 + b.abs()), "{name}: kernel[{i}] {a} vs Keras {b}");
        }
        // And saves back with the same optimizer variables.
        let path = std::env::temp_dir().join(format!("keras315_{name}_{}.keras", std::process::id()));
        m.save(&path).unwrap();
        let back = Sequential::load(&path).unwrap();
        std::fs::remove_file(&path).ok();
        let (a, b) = (
            m.compile_state().unwrap().optimizer.variables(),
            back.compile_state().unwrap().optimizer.variables(),
        );
        assert_eq!(a.len(), b.len(), "{name}");
        for ((na, ta), (nb, tb)) in a.iter().zip(&b) {
            assert_eq!((na, ta.to_f32_vec()), (nb, tb.to_f32_vec()), "{name}");
        }
    }
}

#[test]
fn names_configs_and_errors() {
    for (s, class) in [
        ("adafactor", "Adafactor"),
        ("Lamb", "Lamb"),
        ("muon", "Muon"),
        ("schedulefreeadamw", "ScheduleFreeAdamW"),
    ] {
        let o = optimizers::get(s).unwrap();
        assert_eq!(o.class_name(), class);
        let back = optimizers::deserialize(&o.serialize()).unwrap();
        assert_eq!(back.get_config(), o.get_config());
    }
    assert_eq!(Muon::new().get_config()["weight_decay"], json!(0.004));
    assert_eq!(Muon::new().get_config()["adam_lr_ratio"], json!(1));
    assert_eq!(ScheduleFreeAdamW::new().get_config()["learning_rate"], json!(0.0024999999441206455));
    let c = Adafactor::new().relative_step(false).clip_threshold(0.5).get_config();
    assert_eq!((c["relative_step"].clone(), c["clip_threshold"].clone()), (json!(false), json!(0.5)));
    let e = ScheduleFreeAdamW::new().warmup_steps(-1).check().unwrap_err();
    assert!(e.to_string().contains("warmup_steps"), "{e}");
    let bad = json!({"class_name": "Muon", "config": {"exclude_layers": "dense"}});
    assert!(optimizers::deserialize(&bad).is_err());
    let unknown = json!({"class_name": "Lamb", "config": {"beta_3": 0.1}});
    assert!(optimizers::deserialize(&unknown).is_err());
    let mut lamb = Lamb::new();
    let mut v = Variable::new("w", "dense", Tensor::new(vec![1.0, 2.0], [2]).unwrap(), true);
    lamb.apply_gradients(&[Tensor::new(vec![0.1, 0.1], [2]).unwrap()], &mut [&mut v]).unwrap();
    let built = lamb.exclude_variables_from_weight_decay(&[]);
    assert!(built.check().is_err());
}

#[test]
fn exclude_from_weight_decay_by_variable_and_by_name() {
    let make =
        |name: &str, path: &str| Variable::new(name, path, Tensor::new(vec![1.0, -2.0], [2]).unwrap(), true);
    let (mut a, mut b, mut c) = (make("kernel", "dense"), make("bias", "dense"), make("kernel", "out"));
    let zero = Tensor::zeros([2]);
    // Zero gradients: only weight decay moves the variables.
    let mut opt = Adam::new()
        .learning_rate(0.5)
        .weight_decay(0.1)
        .exclude_variables_from_weight_decay(&[&a])
        .exclude_from_weight_decay(&["bias"]);
    opt.apply_gradients(&[zero.clone(), zero.clone(), zero], &mut [&mut a, &mut b, &mut c]).unwrap();
    assert_eq!(a.value().to_f32_vec(), vec![1.0, -2.0]);
    assert_eq!(b.value().to_f32_vec(), vec![1.0, -2.0]);
    assert_eq!(c.value().to_f32_vec(), vec![1.0 - 0.05, -2.0 + 0.1]);
}
