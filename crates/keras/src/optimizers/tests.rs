//! Unit tests: argument errors, configs, names, variables order, EMA, accumulation, schedules.

use serde_json::json;

use super::schedules::{
    self, CosineDecay, CosineDecayRestarts, ExponentialDecay, InverseTimeDecay, LearningRateSchedule,
    PiecewiseConstantDecay, PolynomialDecay,
};
use super::*;
use crate::layers::Variable;
use crate::{Error, Tensor};

fn var(name: &str, data: Vec<f32>, shape: &[usize]) -> Variable {
    Variable::new(name, "dense", Tensor::new(data, shape.to_vec()).unwrap(), true)
}

fn step(opt: &mut dyn Optimizer, vars: &mut [Variable], grads: &[Vec<f32>]) -> Result<()> {
    let g: Vec<Tensor> = grads
        .iter()
        .zip(vars.iter())
        .map(|(g, v)| Tensor::new(g.clone(), v.shape().to_vec()).unwrap())
        .collect();
    let mut refs: Vec<&mut Variable> = vars.iter_mut().collect();
    opt.apply_gradients(&g, &mut refs)
}

fn msg(e: Error) -> String {
    e.message().to_string()
}

#[test]
fn clip_arguments_are_exclusive() {
    let mut opt = Adam::new().clipnorm(1.0).global_clipnorm(1.0);
    let mut vars = vec![var("kernel", vec![1.0, 2.0], &[2])];
    let e = step(&mut opt, &mut vars, &[vec![0.1, 0.1]]).unwrap_err();
    assert_eq!(
        msg(e),
        "Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. Received: \
         clipnorm=1.0, clipvalue=None, global_clipnorm=1.0"
    );
    // Nothing moved, no step counted.
    assert_eq!(vars[0].value().to_f32_vec(), vec![1.0, 2.0]);
    assert_eq!(opt.iterations(), 0);

    let e = deserialize(&json!({"class_name": "SGD", "config": {"clipvalue": 0.5, "clipnorm": 2}}))
        .err()
        .unwrap();
    assert!(msg(e).starts_with("Only one of `clipnorm`, `clipvalue` and `global_clipnorm`"));
}

#[test]
fn constructor_checks_match_keras() {
    assert_eq!(
        msg(SGD::new().momentum(1.5).check().unwrap_err()),
        "`momentum` must be a float between [0, 1]."
    );
    assert_eq!(
        msg(SGD::new().momentum(-0.1).check().unwrap_err()),
        "`momentum` must be a float between [0, 1]."
    );
    assert_eq!(
        msg(AdamW::new().no_weight_decay().check().unwrap_err()),
        "Argument `weight_decay` must be a float. Received: weight_decay=None"
    );
    let e = deserialize(&json!({"class_name": "AdamW", "config": {"weight_decay": null}}));
    assert!(e.is_err());
    assert_eq!(
        msg(Ftrl::new().l1_regularization_strength(-1.0).check().unwrap_err()),
        "`l1_regularization_strength` needs to be positive or zero. Received: \
         l1_regularization_strength=-1.0."
    );
    assert_eq!(
        msg(Ftrl::new().learning_rate_power(0.5).check().unwrap_err()),
        "`learning_rate_power` needs to be negative or zero. Received: learning_rate_power=0.5."
    );
    assert!(Ftrl::new().initial_accumulator_value(-0.1).check().is_err());
    assert!(Ftrl::new().l2_regularization_strength(-0.1).check().is_err());
    assert!(Ftrl::new().l2_shrinkage_regularization_strength(-0.1).check().is_err());
    assert_eq!(
        msg(Lion::new().beta_1(0.0).check().unwrap_err()),
        "Argument `beta_1` must be in the [0, 1] range. Otherwise, the optimizer degenerates \
         to SignSGD. Received: beta_1=0.0."
    );
    assert_eq!(
        msg(Adam::new().use_ema(true).ema_momentum(1.5).check().unwrap_err()),
        "`ema_momentum` must be in the range [0, 1]. Received: ema_momentum=1.5"
    );
    assert!(Adam::new().use_ema(true).ema_overwrite_frequency(-1).check().is_err());
    assert_eq!(
        msg(Adam::new().gradient_accumulation_steps(1).check().unwrap_err()),
        "`gradient_accumulation_steps` must be an integer >= 2. Received: \
         gradient_accumulation_steps=1"
    );
    // Keras accepts a negative learning rate (no check in BaseOptimizer).
    assert!(SGD::new().learning_rate(-0.1).check().is_ok());
}

#[test]
fn config_errors() {
    let e = deserialize(&json!({"class_name": "Adam", "config": {"foo": 1}})).err().unwrap();
    assert_eq!(msg(e), "Argument(s) not recognized: {'foo': 1}");
    let e = deserialize(&json!({"class_name": "Adam", "config": {"learning_rate": 1}})).err().unwrap();
    assert!(msg(e).starts_with("Argument `learning_rate` should be float"));
    let e = deserialize(&json!({"class_name": "Adam", "config": {"amsgrad": "yes"}}));
    assert!(e.is_err());
    let e = get("adamzz").err().unwrap();
    assert!(msg(e).starts_with("Could not locate class 'adamzz'"));
    assert!(deserialize(&json!(3)).is_err());
    assert!(deserialize(&json!({"config": {}})).is_err());
    // The legacy `decay` argument is ignored, as in Keras 3.
    assert!(deserialize(&json!({"class_name": "SGD", "config": {"decay": 0.1}})).is_ok());
}

#[test]
fn get_is_case_insensitive_with_keras_defaults() {
    for (name, class, lr) in [
        ("sgd", "SGD", 0.01f32),
        ("SGD", "SGD", 0.01),
        ("Adam", "Adam", 0.001),
        ("rmsprop", "RMSprop", 0.001),
        ("adamw", "AdamW", 0.001),
        ("adagrad", "Adagrad", 0.001),
        ("adadelta", "Adadelta", 0.001),
        ("adamax", "Adamax", 0.001),
        ("nadam", "Nadam", 0.001),
        ("ftrl", "Ftrl", 0.001),
        ("lion", "Lion", 0.001),
    ] {
        let o = get(name).unwrap();
        assert_eq!(o.class_name(), class);
        assert_eq!(o.learning_rate(), lr);
        assert_eq!(o.iterations(), 0);
    }
    assert_eq!(get("adamw").unwrap().get_config()["weight_decay"], json!(0.004));
    assert!(get("rmsprop").unwrap().name().starts_with("rm_sprop"));
    assert!(get("adamw").unwrap().name().starts_with("adam_w"));
}

#[test]
fn adam_default_config_matches_keras() {
    let opt = Adam::new().name("adam");
    let want = json!({
        "name": "adam", "learning_rate": 0.0010000000474974513, "weight_decay": null,
        "clipnorm": null, "global_clipnorm": null, "clipvalue": null, "use_ema": false,
        "ema_momentum": 0.99, "ema_overwrite_frequency": null, "loss_scale_factor": null,
        "gradient_accumulation_steps": null, "beta_1": 0.9, "beta_2": 0.999,
        "epsilon": 1e-07, "amsgrad": false
    });
    let got = opt.get_config();
    assert_eq!(got, want);
    let keys: Vec<&String> = got.as_object().unwrap().keys().collect();
    let want_keys: Vec<&String> = want.as_object().unwrap().keys().collect();
    assert_eq!(keys, want_keys);
    // Round trip through the serialized form.
    let back = deserialize(&opt.serialize()).unwrap();
    assert_eq!(back.get_config(), want);
    assert_eq!(opt.serialize()["module"], "keras.optimizers");
}

#[test]
fn sgd_steps_and_variables() {
    let mut opt = SGD::new().learning_rate(0.1).momentum(0.9).name("sgd");
    let mut vars = vec![var("kernel", vec![1.0, 2.0], &[2]), var("bias", vec![0.5], &[1])];
    step(&mut opt, &mut vars, &[vec![1.0, -1.0], vec![2.0]]).unwrap();
    let v0 = vars[0].value().to_f32_vec();
    assert!((v0[0] - 0.9).abs() < 1e-6 && (v0[1] - 2.1).abs() < 1e-6);
    step(&mut opt, &mut vars, &[vec![1.0, -1.0], vec![2.0]]).unwrap();
    // m = 0.9*(-0.1) - 0.1 = -0.19
    assert!((vars[0].value().to_f32_vec()[0] - 0.71).abs() < 1e-6);
    let names: Vec<String> = opt.variables().into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        names,
        ["sgd/iteration", "sgd/learning_rate", "sgd/dense_kernel_momentum", "sgd/dense_bias_momentum"]
    );
    assert_eq!(opt.variables()[0].1.to_i64_vec(), vec![2]);
    assert_eq!(opt.iterations(), 2);
}

#[test]
fn rmsprop_slot_order_follows_keras_groups() {
    let mut opt = RMSprop::new().momentum(0.9).centered(true).name("rms");
    let mut vars = vec![var("a", vec![1.0], &[1]), var("b", vec![1.0, 1.0], &[2])];
    step(&mut opt, &mut vars, &[vec![1.0], vec![1.0, 1.0]]).unwrap();
    let names: Vec<String> = opt.variables().into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        names,
        [
            "rms/iteration",
            "rms/learning_rate",
            "rms/dense_a_velocity",
            "rms/dense_b_velocity",
            "rms/dense_a_momentum",
            "rms/dense_b_momentum",
            "rms/dense_a_average_gradient",
            "rms/dense_b_average_gradient"
        ]
    );
}

#[test]
fn apply_errors() {
    let mut opt = Adam::new();
    let mut vars = [var("k", vec![1.0, 2.0], &[2])];
    // No gradients: a no-op.
    let mut refs: Vec<&mut Variable> = vars.iter_mut().collect();
    opt.apply_gradients(&[], &mut refs).unwrap();
    assert_eq!(opt.iterations(), 0);
    // Count mismatch.
    let g = Tensor::new(vec![1.0, 1.0], vec![2]).unwrap();
    let mut refs: Vec<&mut Variable> = vars.iter_mut().collect();
    assert!(opt.apply_gradients(&[g.clone(), g.clone()], &mut refs).is_err());
    // Shape mismatch.
    let bad = Tensor::new(vec![1.0, 1.0, 1.0], vec![3]).unwrap();
    assert!(matches!(opt.apply_gradients(&[bad], &mut refs), Err(Error::Shape(_))));
    opt.apply_gradients(&[g], &mut refs).unwrap();
    // Other variables than the ones it was built with.
    let mut other = vec![var("k", vec![1.0, 2.0, 3.0], &[3])];
    let e = step(&mut opt, &mut other, &[vec![1.0, 1.0, 1.0]]).unwrap_err();
    assert!(msg(e).contains("Unknown variable"));
}

#[test]
fn learning_rate_setters() {
    let mut opt = SGD::new();
    opt.set_learning_rate(0.5);
    assert_eq!(Optimizer::learning_rate(&opt), 0.5);
    assert_eq!(opt.get_config()["learning_rate"], json!(0.5));
    let mut s = SGD::new().learning_rate_schedule(ExponentialDecay::new(0.1, 2, 0.5));
    assert!(s.try_set_learning_rate(0.1).is_err());
    assert!(s.variables().iter().all(|(n, _)| !n.ends_with("learning_rate")));
}

#[test]
fn weight_decay_and_exclusion() {
    let mut opt = SGD::new().learning_rate(0.1).weight_decay(0.5).exclude_from_weight_decay(&["bias"]);
    let mut vars = vec![var("kernel", vec![1.0], &[1]), var("bias", vec![1.0], &[1])];
    step(&mut opt, &mut vars, &[vec![0.0], vec![0.0]]).unwrap();
    assert!((vars[0].value().to_f32_vec()[0] - 0.95).abs() < 1e-7);
    assert_eq!(vars[1].value().to_f32_vec()[0], 1.0);
}

#[test]
fn ema_tracks_and_finalizes() {
    let mut opt = SGD::new().learning_rate(1.0).use_ema(true).ema_momentum(0.5).name("e");
    let mut vars = vec![var("k", vec![0.0], &[1])];
    step(&mut opt, &mut vars, &[vec![-1.0]]).unwrap(); // var 1, avg 1 (first step: momentum 0)
    step(&mut opt, &mut vars, &[vec![-1.0]]).unwrap(); // var 2, avg 0.5*1 + 0.5*2 = 1.5
    let vs = opt.variables();
    assert_eq!(vs[2].0, "e/dense_k_average");
    assert_eq!(vs[2].1.to_f32_vec(), vec![1.5]);
    let mut refs: Vec<&mut Variable> = vars.iter_mut().collect();
    opt.finalize_variable_values(&mut refs).unwrap();
    assert_eq!(vars[0].value().to_f32_vec(), vec![1.5]);

    let mut opt = SGD::new().learning_rate(1.0).use_ema(true).ema_momentum(0.5).ema_overwrite_frequency(2);
    let mut vars = vec![var("k", vec![0.0], &[1])];
    step(&mut opt, &mut vars, &[vec![-1.0]]).unwrap();
    step(&mut opt, &mut vars, &[vec![-1.0]]).unwrap();
    assert_eq!(vars[0].value().to_f32_vec(), vec![1.5]);
}

#[test]
fn gradient_accumulation() {
    let mut opt = SGD::new().learning_rate(1.0).gradient_accumulation_steps(2).name("acc");
    let mut vars = vec![var("k", vec![0.0], &[1])];
    step(&mut opt, &mut vars, &[vec![1.0]]).unwrap();
    assert_eq!(vars[0].value().to_f32_vec(), vec![0.0]);
    assert_eq!(opt.iterations(), 0);
    step(&mut opt, &mut vars, &[vec![3.0]]).unwrap();
    assert_eq!(vars[0].value().to_f32_vec(), vec![-2.0]);
    assert_eq!(opt.iterations(), 1);
    let names: Vec<String> = opt.variables().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["acc/iteration", "acc/learning_rate", "acc/dense_k_gradient_accumulator"]);
    assert_eq!(opt.variables()[0].1.to_i64_vec(), vec![2]);
}

#[test]
fn loss_scale_factor_unscales() {
    let mut opt = SGD::new().learning_rate(1.0).loss_scale_factor(4.0);
    let mut vars = vec![var("k", vec![0.0], &[1])];
    step(&mut opt, &mut vars, &[vec![2.0]]).unwrap();
    assert_eq!(vars[0].value().to_f32_vec(), vec![-0.5]);
}

#[test]
fn set_variables_round_trip() {
    let mut a = Nadam::new();
    let mut vars = vec![var("k", vec![1.0, 2.0], &[2])];
    step(&mut a, &mut vars, &[vec![0.5, -0.5]]).unwrap();
    let saved: Vec<Tensor> = a.variables().into_iter().map(|(_, t)| t).collect();
    let mut b = Nadam::new();
    assert!(b.set_variables(&saved).is_err()); // not built yet
    b.build(&[&vars[0]]).unwrap();
    b.set_variables(&saved).unwrap();
    let mut vars_b = vars.clone();
    step(&mut a, &mut vars, &[vec![0.1, 0.2]]).unwrap();
    step(&mut b, &mut vars_b, &[vec![0.1, 0.2]]).unwrap();
    assert_eq!(vars[0].value().to_f32_vec(), vars_b[0].value().to_f32_vec());
    assert_eq!(b.iterations(), 2);
}

#[test]
fn schedules_values_and_configs() {
    let e = ExponentialDecay::new(0.1, 2, 0.5);
    assert!((e.call(0) - 0.1).abs() < 1e-8);
    assert!((e.call(1) - 0.1 * 0.5f32.sqrt()).abs() < 1e-7);
    assert!((e.clone().staircase(true).call(3) - 0.05).abs() < 1e-8);
    assert_eq!(
        schedules::serialize(&e),
        json!({"module": "keras.optimizers.schedules", "class_name": "ExponentialDecay",
               "config": {"initial_learning_rate": 0.1, "decay_steps": 2, "decay_rate": 0.5,
                          "staircase": false, "name": "ExponentialDecay"},
               "registered_name": null})
    );
    let p = PiecewiseConstantDecay::new(&[2, 4], &[1.0, 0.5, 0.1]).unwrap();
    assert_eq!([p.call(2), p.call(3), p.call(5)], [1.0, 0.5, 0.1]);
    assert!(PiecewiseConstantDecay::new(&[2], &[1.0]).is_err());
    let poly = PolynomialDecay::new(1.0, 10).end_learning_rate(0.0);
    assert!((poly.call(5) - 0.5).abs() < 1e-7 && poly.call(20) == 0.0);
    assert!((poly.clone().cycle(true).call(15) - 0.25).abs() < 1e-6);
    let inv = InverseTimeDecay::new(1.0, 1, 0.5);
    assert!((inv.call(2) - 0.5).abs() < 1e-7);
    let cos = CosineDecay::new(1.0, 10);
    assert!((cos.call(5) - 0.5).abs() < 1e-6 && cos.call(10).abs() < 1e-6);
    let warm = CosineDecay::new(0.0, 10).warmup(1.0, 4);
    assert!((warm.call(2) - 0.5).abs() < 1e-6 && (warm.call(4) - 1.0).abs() < 1e-6);
    let r = CosineDecayRestarts::new(1.0, 10);
    assert!((r.call(10) - 1.0).abs() < 1e-6 && (r.call(20) - 0.5).abs() < 1e-5);
    let r1 = CosineDecayRestarts::new(1.0, 10).t_mul(1.0).m_mul(0.5);
    assert!((r1.call(10) - 0.5).abs() < 1e-6);
    for s in [
        Box::new(e) as Box<dyn LearningRateSchedule>,
        Box::new(p),
        Box::new(poly),
        Box::new(inv),
        Box::new(warm),
        Box::new(r),
    ] {
        let ser = schedules::serialize(s.as_ref());
        let back = schedules::deserialize(&ser).unwrap();
        assert_eq!(schedules::serialize(back.as_ref()), ser);
        assert_eq!(back.call(3), s.call(3));
    }
    let bad = json!({"class_name": "ExponentialDecay",
                     "config": {"initial_learning_rate": 0.1, "decay_steps": 0, "decay_rate": 0.5}});
    assert_eq!(
        msg(schedules::deserialize(&bad).unwrap_err()),
        "Argument `decay_steps` must be > 0. Received: decay_steps=0"
    );
    assert!(schedules::deserialize(&json!({"class_name": "Nope", "config": {}})).is_err());
}

/// Every schedule's config, as text: Keras's key order, integers kept as integers, and the
/// reader's errors (missing argument, wrong type, leftover key).
#[test]
fn schedule_configs_keep_keras_key_order_and_errors() {
    let cases: Vec<(Box<dyn LearningRateSchedule>, &str)> = vec![
        (
            Box::new(ExponentialDecay::new(0.1, 2, 0.5).staircase(true)),
            r#"{"initial_learning_rate":0.1,"decay_steps":2,"decay_rate":0.5,"staircase":true,"name":"ExponentialDecay"}"#,
        ),
        (
            Box::new(PiecewiseConstantDecay::new(&[2, 4], &[1.0, 0.5, 0.1]).unwrap()),
            r#"{"boundaries":[2,4],"values":[1.0,0.5,0.1],"name":"PiecewiseConstant"}"#,
        ),
        (
            Box::new(PolynomialDecay::new(1.0, 10).end_learning_rate(0.0).power(2.0).cycle(true)),
            r#"{"initial_learning_rate":1.0,"decay_steps":10,"end_learning_rate":0.0,"power":2.0,"cycle":true,"name":"PolynomialDecay"}"#,
        ),
        (
            Box::new(InverseTimeDecay::new(1.0, 1, 0.5)),
            r#"{"initial_learning_rate":1.0,"decay_steps":1,"decay_rate":0.5,"staircase":false,"name":"InverseTimeDecay"}"#,
        ),
        (
            Box::new(CosineDecay::new(1.0, 10).alpha(0.1)),
            r#"{"initial_learning_rate":1.0,"decay_steps":10,"alpha":0.1,"name":"CosineDecay","warmup_target":null,"warmup_steps":0}"#,
        ),
        (
            Box::new(CosineDecay::new(0.0, 10).warmup(1.0, 4)),
            r#"{"initial_learning_rate":0.0,"decay_steps":10,"alpha":0.0,"name":"CosineDecay","warmup_target":1.0,"warmup_steps":4}"#,
        ),
        (
            Box::new(CosineDecayRestarts::new(1.0, 10).t_mul(1.0).m_mul(0.5).alpha(0.2)),
            r#"{"initial_learning_rate":1.0,"first_decay_steps":10,"t_mul":1.0,"m_mul":0.5,"alpha":0.2,"name":"SGDRDecay"}"#,
        ),
    ];
    for (s, want) in cases {
        assert_eq!(s.get_config().to_string(), want, "{}", s.class_name());
        let back = schedules::deserialize(&schedules::serialize(s.as_ref())).unwrap();
        assert_eq!(back.get_config().to_string(), want, "{}", s.class_name());
    }
    let de = |cfg: Value| {
        msg(schedules::deserialize(&json!({"class_name": "CosineDecay", "config": cfg})).unwrap_err())
    };
    assert_eq!(de(json!({"decay_steps": 10})), "missing required argument: 'initial_learning_rate'");
    assert_eq!(
        de(json!({"initial_learning_rate": 1.0, "decay_steps": 10, "alpha": "x"})),
        "Argument `alpha` must be a number. Received: alpha=\"x\""
    );
    assert_eq!(
        de(json!({"initial_learning_rate": 1.0, "decay_steps": 10, "foo": 1})),
        "CosineDecay.__init__() got unexpected keyword argument(s) 'foo'"
    );
    let ok = schedules::deserialize(&json!({"class_name": "CosineDecay",
        "config": {"initial_learning_rate": 1.0, "decay_steps": 10, "warmup_target": null, "name": 3}}))
    .unwrap();
    assert_eq!(ok.get_config()["name"], json!("CosineDecay"));
}

#[test]
fn schedule_is_evaluated_before_the_step() {
    let mut opt = SGD::new().learning_rate_schedule(PiecewiseConstantDecay::new(&[0], &[1.0, 0.5]).unwrap());
    let mut vars = vec![var("k", vec![0.0], &[1])];
    assert_eq!(Optimizer::learning_rate(&opt), 1.0);
    step(&mut opt, &mut vars, &[vec![1.0]]).unwrap();
    assert_eq!(vars[0].value().to_f32_vec(), vec![-1.0]);
    assert_eq!(Optimizer::learning_rate(&opt), 0.5);
    step(&mut opt, &mut vars, &[vec![1.0]]).unwrap();
    assert_eq!(vars[0].value().to_f32_vec(), vec![-1.5]);
}

#[test]
fn lion_sign_of_zero_is_zero() {
    let mut opt = Lion::new().learning_rate(1.0);
    let mut vars = vec![var("k", vec![1.0, 1.0], &[2])];
    step(&mut opt, &mut vars, &[vec![0.0, 2.0]]).unwrap();
    assert_eq!(vars[0].value().to_f32_vec(), vec![1.0, 0.0]);
}

/// Keras 3.15: `LossScaleOptimizer(SGD(0.1), initial_scale=4.0, dynamic_growth_steps=2)` on
/// `w=[1, 2]` with the (scaled) gradients `[1,1], [1,1], [inf,1], [1,1]`.
#[test]
fn loss_scale_optimizer_matches_keras() {
    let mut opt = LossScaleOptimizer::new(SGD::new().learning_rate(0.1))
        .initial_scale(4.0)
        .dynamic_growth_steps(2)
        .name("loss_scale_optimizer");
    let mut vars = vec![var("w", vec![1.0, 2.0], &[2])];
    let names: Vec<String> = opt.variables().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names[..2], ["loss_scale_optimizer/iteration", "loss_scale_optimizer/learning_rate"]);
    // (w, iterations, step_counter, dynamic_scale) after each step, from Keras.
    let expected: [([f32; 2], u64, i64, f32); 4] = [
        ([0.975, 1.975], 1, 1, 4.0),
        ([0.95000005, 1.95], 2, 0, 8.0),
        ([0.95000005, 1.95], 2, 0, 4.0),
        ([0.9250001, 1.9250001], 3, 1, 4.0),
    ];
    let grads = [[1.0, 1.0], [1.0, 1.0], [f32::INFINITY, 1.0], [1.0, 1.0]];
    for (g, (w, it, counter, scale)) in grads.iter().zip(expected) {
        step(&mut opt, &mut vars, &[g.to_vec()]).unwrap();
        assert_eq!(vars[0].value().to_f32_vec(), w);
        assert_eq!(opt.iterations(), it);
        assert_eq!(opt.step_counter(), counter);
        assert_eq!(opt.dynamic_scale(), scale);
    }
    let v = opt.variables();
    let names: Vec<&str> = v.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "loss_scale_optimizer/iteration",
            "loss_scale_optimizer/learning_rate",
            "loss_scale_optimizer/step_counter",
            "loss_scale_optimizer/dynamic_scale",
            &format!("{}/iteration", opt.inner_optimizer().name()),
            &format!("{}/learning_rate", opt.inner_optimizer().name()),
        ]
    );
    assert_eq!(v[0].1.to_i64_vec(), vec![0]);
    assert_eq!(v[2].1.to_i64_vec(), vec![1]);
    assert_eq!(v[3].1.to_f32_vec(), vec![4.0]);
    assert_eq!(v[4].1.to_i64_vec(), vec![3]);
    // A NaN gradient skips the step too.
    step(&mut opt, &mut vars, &[vec![f32::NAN, 0.0]]).unwrap();
    assert_eq!(vars[0].value().to_f32_vec(), [0.9250001, 1.9250001]);
    assert_eq!((opt.iterations(), opt.step_counter(), opt.dynamic_scale()), (3, 0, 2.0));
}

#[test]
fn loss_scale_optimizer_config_round_trip_and_state() {
    let opt =
        LossScaleOptimizer::new(Adam::new().learning_rate(0.5)).initial_scale(8.0).dynamic_growth_steps(3);
    let cfg = opt.get_config();
    let keys: Vec<&str> = cfg.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["name", "inner_optimizer", "initial_scale", "dynamic_growth_steps"]);
    assert_eq!(cfg["initial_scale"], 8.0);
    assert_eq!(cfg["dynamic_growth_steps"], 3);
    assert_eq!(cfg["inner_optimizer"]["class_name"], "Adam");
    assert!(cfg.get("learning_rate").is_none());
    let back = deserialize(&opt.serialize()).unwrap();
    assert_eq!(back.class_name(), "LossScaleOptimizer");
    assert_eq!(back.get_config(), cfg);
    assert_eq!(back.learning_rate(), 0.5);
    assert_eq!(back.loss_scale(), Some(8.0));
    // Learning rate delegates to the inner optimizer.
    let mut opt = opt;
    opt.set_learning_rate(0.25);
    assert_eq!(opt.inner_optimizer().learning_rate(), 0.25);
    // The state round-trips through set_variables.
    let mut a = LossScaleOptimizer::new(Adam::new()).initial_scale(8.0).dynamic_growth_steps(1);
    let mut vars = vec![var("k", vec![1.0, 2.0], &[2])];
    step(&mut a, &mut vars, &[vec![0.5, -0.5]]).unwrap();
    let saved: Vec<Tensor> = a.variables().into_iter().map(|(_, t)| t).collect();
    let mut b = LossScaleOptimizer::from_config(&a.get_config()).unwrap();
    assert!(b.set_variables(&saved).is_err()); // not built yet
    b.build(&[&vars[0]]).unwrap();
    b.set_variables(&saved).unwrap();
    assert_eq!(b.dynamic_scale(), 16.0);
    let mut vars_b = vars.clone();
    step(&mut a, &mut vars, &[vec![0.1, 0.2]]).unwrap();
    step(&mut b, &mut vars_b, &[vec![0.1, 0.2]]).unwrap();
    assert_eq!(vars[0].value().to_f32_vec(), vars_b[0].value().to_f32_vec());
    assert_eq!((b.iterations(), b.dynamic_scale()), (2, 32.0));
    // The inner optimizer's own loss scaling is turned off, as Keras does.
    let w = LossScaleOptimizer::new(SGD::new().loss_scale_factor(4.0));
    assert_eq!(w.inner_optimizer().get_config()["loss_scale_factor"], serde_json::Value::Null);
}

#[test]
fn loss_scale_optimizer_config_errors() {
    let inner = SGD::new().serialize();
    let bad = |extra: serde_json::Value| {
        let mut cfg = json!({"name": "lso", "inner_optimizer": inner.clone()});
        for (k, v) in extra.as_object().unwrap() {
            cfg[k] = v.clone();
        }
        msg(LossScaleOptimizer::from_config(&cfg).unwrap_err())
    };
    assert_eq!(
        bad(json!({"dynamic": false})),
        "LossScaleOptimizer no longer supports `dynamic=False`. Instead, simply set `loss_scale_factor` \
         directly on the `inner_optimizer`."
    );
    assert_eq!(
        bad(json!({"clipnorm": 1.0})),
        "LossScaleOptimizer does not support `clipnorm`. Instead, set `clipnorm` on the `inner_optimizer`."
    );
    assert_eq!(
        bad(json!({"learning_rate": 0.1})),
        "LossScaleOptimizer does not support arguments: `learning_rate`."
    );
    assert!(bad(json!({"initial_scale": "big"})).contains("initial_scale"));
    assert!(bad(json!({"dynamic_growth_steps": 1.5})).contains("dynamic_growth_steps"));
    assert!(bad(json!({"dynamic_growth_steps": null})).contains("dynamic_growth_steps"));
    // Old files list the base arguments at their defaults: accepted.
    assert!(LossScaleOptimizer::from_config(&json!({
        "name": "lso", "inner_optimizer": inner, "initial_scale": 2.0, "dynamic_growth_steps": 5,
        "dynamic": true, "use_ema": false, "ema_momentum": 0.99, "clipnorm": null
    }))
    .is_ok());
    assert!(msg(LossScaleOptimizer::from_config(&json!({"name": "lso"})).unwrap_err())
        .contains("inner_optimizer"));
    assert!(LossScaleOptimizer::from_config(
        &json!({"inner_optimizer": {"class_name": "Nope", "config": {}}})
    )
    .is_err());
    assert!(LossScaleOptimizer::try_new("nope").is_err());
    // Mismatched gradients are an error, not a panic.
    let mut opt = LossScaleOptimizer::new(SGD::new());
    let mut vars = [var("k", vec![1.0], &[1])];
    let mut refs: Vec<&mut Variable> = vars.iter_mut().collect();
    assert!(opt.apply_gradients(&[], &mut refs).is_err());
}

/// Trains two copies of one small model for 3 steps, one compiled with `plain`, one with
/// `scaled`, and asserts the same logged losses and weights, bit for bit.
fn assert_trains_like(
    plain: impl crate::trainers::compile::IntoOptimizer,
    scaled: impl crate::trainers::compile::IntoOptimizer,
) {
    use crate::layers::{Dense, Input};
    use crate::models::Sequential;
    let make = || {
        let mut m = Sequential::new();
        m.add(Input::new(&[3])).unwrap();
        m.add(Dense::new(2)).unwrap();
        m
    };
    let (mut a, mut b) = (make(), make());
    b.set_weights(&a.get_weights()).unwrap();
    a.compile(plain, "mse", &[]).unwrap();
    b.compile(scaled, "mse", &[]).unwrap();
    let x = Tensor::new((0..12).map(|i| i as f32 * 0.1).collect(), vec![4, 3]).unwrap();
    let y = Tensor::new((0..8).map(|i| 1.0 - i as f32 * 0.2).collect(), vec![4, 2]).unwrap();
    for _ in 0..3 {
        let la = a.train_on_batch(x.clone(), y.clone(), None).unwrap();
        let lb = b.train_on_batch(x.clone(), y.clone(), None).unwrap();
        assert_eq!(la.get("loss"), lb.get("loss")); // the logged loss is unscaled
    }
    for (wa, wb) in a.get_weights().iter().zip(b.get_weights()) {
        assert_eq!(wa.to_f32_vec(), wb.to_f32_vec());
    }
}

/// The train step scales the loss and the optimizer unscales the gradients: with a power of
/// two scale, one step is exactly the inner optimizer's step.
#[test]
fn loss_scale_optimizer_train_step_scales_the_loss() {
    assert_trains_like(
        SGD::new().learning_rate(0.1),
        LossScaleOptimizer::new(SGD::new().learning_rate(0.1)).initial_scale(1024.0),
    );
}

/// Keras multiplies the loss by `loss_scale_factor` in the train step and divides the
/// gradients by it in `apply`: training equals training without it (a power of two keeps
/// the bits). Before, keras-rs only divided, so steps were 4x too small.
#[test]
fn loss_scale_factor_scales_the_loss_in_the_train_step() {
    assert_trains_like(SGD::new().learning_rate(0.1), SGD::new().learning_rate(0.1).loss_scale_factor(4.0));
}
