//! A user's own `train_step` and `test_step` (Keras's `Model.train_step` override), written as
//! a user would: a small GAN whose step updates a discriminator and then a generator, each
//! with its own optimizer, drives `fit`, `evaluate`, `train_on_batch` and the callbacks.
//!
//! The updates are checked against finite differences of the two losses: with plain SGD a
//! variable moves by `-learning_rate * dL/dw`, so `(before - after) / learning_rate` must be
//! the numerical gradient of the loss the step says it minimised.

use std::any::Any;

use keras::layers::{CallContext, Dense, Input};
use keras::losses::{BinaryCrossentropy, Loss};
use keras::metrics::{Mean, Metric};
use keras::models::Sequential;
use keras::optimizers::SGD;
use keras::trainers::{self, minimize, Arrays, Network, TrainModel};
use keras::utils::Batch;
use keras::{EvaluateArgs, FitArgs, Logs, Result, Tensor};

const LATENT: usize = 2;
const LR: f32 = 0.1;

/// The noise of step `step` (deterministic, so the test can replay the step).
fn noise(step: usize, n: usize) -> Tensor {
    let v: Vec<f32> = (0..n * LATENT).map(|i| (((i + 7 * step) as f32) * 0.37).sin()).collect();
    Tensor::new(v, [n, LATENT]).unwrap()
}

fn labels(value: f32, n: usize) -> Tensor {
    Tensor::new(vec![value; n], [n, 1]).unwrap()
}

fn sequential(input: usize, hidden: usize, out_activation: &str) -> Sequential {
    let mut m = Sequential::new();
    m.add(Input::new(&[input])).unwrap();
    m.add(Dense::new(hidden).activation("tanh")).unwrap();
    m.add(Dense::new(1).activation(out_activation)).unwrap();
    m
}

/// Keras's GAN example in Rust: `train_step` trains the discriminator on fake (label 1) and
/// real (label 0) samples, then the generator to make the discriminator say "real".
struct Gan {
    generator: Sequential,
    discriminator: Sequential,
    d_loss: Mean,
    g_loss: Mean,
    steps: usize,
}

impl Gan {
    fn new() -> Self {
        keras::utils::set_random_seed(3);
        let mut generator = sequential(LATENT, 3, "linear");
        let mut discriminator = sequential(1, 3, "sigmoid");
        // Each network gets its own optimizer (the loss given to compile is not used).
        generator.compile(SGD::new().learning_rate(LR), "mse", &[]).unwrap();
        discriminator.compile(SGD::new().learning_rate(LR), "binary_crossentropy", &[]).unwrap();
        Gan { generator, discriminator, d_loss: Mean::new("d_loss"), g_loss: Mean::new("g_loss"), steps: 0 }
    }

    /// The discriminator's inputs and labels for a step: generated samples, then real ones.
    fn d_batch(&self, real: &Tensor, z: &Tensor) -> Result<(Tensor, Tensor)> {
        let n = real.shape()[0];
        let fake = self.generator.predict_on_batch(z)?;
        let x = Tensor::concat_rows(&[fake, real.clone()])?;
        let y = Tensor::concat_rows(&[labels(1.0, n), labels(0.0, n)])?;
        Ok((x, y))
    }
}

impl TrainModel for Gan {
    fn name(&self) -> &str {
        "gan"
    }
    /// `predict` runs the generator.
    fn network(&self) -> &dyn Network {
        self.generator.network()
    }
    fn train_step(&mut self, batch: Batch) -> Result<Logs> {
        let real = batch.x.as_tensor()?.clone();
        let n = real.shape()[0];
        let z = noise(self.steps, n);
        self.steps += 1;
        let bce = BinaryCrossentropy::new();
        // 1. The discriminator, with its optimizer.
        let (x, y) = self.d_batch(&real, &z)?;
        let (d_net, d_compiled) = self.discriminator.parts_mut()?;
        let (d_loss, ()) = minimize(d_net, d_compiled.optimizer.as_mut(), |net, ctx| {
            let p = net.forward(std::slice::from_ref(&x), ctx)?;
            Ok((bce.compute(&y, &p[0], None)?, ()))
        })?;
        // 2. The generator, through the (frozen for this update) discriminator.
        let disc = self.discriminator.network();
        let (g_net, g_compiled) = self.generator.parts_mut()?;
        let (g_loss, ()) = minimize(g_net, g_compiled.optimizer.as_mut(), |net, ctx| {
            let fake = net.forward(std::slice::from_ref(&z), ctx)?;
            let p = disc.forward(&fake, &mut CallContext::new(false))?;
            Ok((bce.compute(&labels(0.0, n), &p[0], None)?, ()))
        })?;
        self.d_loss.update_state_value(d_loss.item()?, 1.0);
        self.g_loss.update_state_value(g_loss.item()?, 1.0);
        Ok(self.metrics_result())
    }
    /// Evaluation reports how well the discriminator tells real from generated samples.
    fn test_step(&mut self, batch: Batch) -> Result<Logs> {
        let real = batch.x.as_tensor()?.clone();
        let z = noise(1000, real.shape()[0]);
        let (x, y) = self.d_batch(&real, &z)?;
        let p = self.discriminator.predict_on_batch(&x)?;
        self.d_loss.update_state_value(BinaryCrossentropy::new().compute(&y, &p, None)?.item()?, 1.0);
        Ok(Logs::from([("d_loss".to_string(), self.d_loss.result())]))
    }
    fn reset_metrics(&mut self) {
        self.d_loss.reset_state();
        self.g_loss.reset_state();
    }
    fn metrics_result(&self) -> Logs {
        Logs::from([
            ("d_loss".to_string(), self.d_loss.result()),
            ("g_loss".to_string(), self.g_loss.result()),
        ])
    }
    fn named_weights(&self) -> Vec<(String, Tensor)> {
        let mut w = self.generator.network_weights();
        w.extend(self.discriminator.network_weights());
        w
    }
    fn set_weights(&mut self, values: &[Tensor]) -> Result<()> {
        let n = self.generator.weights().len();
        self.generator.set_weights(&values[..n])?;
        self.discriminator.set_weights(&values[n..])
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

trait NetworkWeights {
    fn network_weights(&self) -> Vec<(String, Tensor)>;
}

impl NetworkWeights for Sequential {
    fn network_weights(&self) -> Vec<(String, Tensor)> {
        self.weights().iter().map(|v| (v.path().to_string(), v.value().clone())).collect()
    }
}

fn real_data(n: usize) -> Tensor {
    Tensor::new((0..n).map(|i| 1.5 + 0.1 * (i as f32).cos()).collect(), [n, 1]).unwrap()
}

/// Central differences of `loss` over every weight of `model`, in `weights()` order.
fn numeric_grads(model: &mut Sequential, loss: &dyn Fn(&Sequential) -> f32) -> Vec<Vec<f32>> {
    let base = model.get_weights();
    let eps = 1e-2;
    let mut out = Vec::new();
    for (i, w) in base.iter().enumerate() {
        let mut g = Vec::new();
        for j in 0..w.numel() {
            let mut at = |d: f32| {
                let mut ws = base.clone();
                let mut v = ws[i].to_f32_vec();
                v[j] += d;
                ws[i] = Tensor::new(v, ws[i].shape().to_vec()).unwrap();
                model.set_weights(&ws).unwrap();
                loss(model)
            };
            g.push((at(eps) - at(-eps)) / (2.0 * eps));
        }
        out.push(g);
    }
    model.set_weights(&base).unwrap();
    out
}

fn check_sgd_step(what: &str, before: &[Tensor], after: &[Tensor], grads: &[Vec<f32>]) {
    let mut worst = 0f32;
    for ((b, a), g) in before.iter().zip(after).zip(grads) {
        for ((b, a), g) in b.to_f32_vec().iter().zip(a.to_f32_vec()).zip(g) {
            let step = (b - a) / LR;
            assert!(
                (step - g).abs() <= 2e-3 + 2e-2 * g.abs(),
                "{what}: update/lr {step} vs numeric gradient {g}"
            );
            worst = worst.max((step - g).abs());
        }
    }
    eprintln!("{what}: max |update/lr - numeric gradient| = {worst:e}");
}

#[test]
fn train_on_batch_runs_the_override_and_each_optimizer_minimises_its_loss() {
    let mut gan = Gan::new();
    let real = real_data(6);
    let z = noise(0, 6);
    let bce = BinaryCrossentropy::new();
    // The discriminator loss and its numerical gradients at the starting weights.
    let (dx, dy) = gan.d_batch(&real, &z).unwrap();
    let d_loss =
        |d: &Sequential| bce.compute(&dy, &d.predict_on_batch(&dx).unwrap(), None).unwrap().item().unwrap();
    let d_loss0 = d_loss(&gan.discriminator);
    let (g0, d0) = (gan.generator.get_weights(), gan.discriminator.get_weights());
    let d_grads = numeric_grads(&mut gan.discriminator, &d_loss);

    let logs = trainers::trainer::train_on_batch(&mut gan, Arrays::from(&real), None, None).unwrap();
    assert_eq!(logs.keys().collect::<Vec<_>>(), vec!["d_loss", "g_loss"]);
    // The reported loss is the one minimised, before the update.
    assert!((logs["d_loss"] - d_loss0).abs() < 1e-5, "{} vs {d_loss0}", logs["d_loss"]);
    // The discriminator moved by -lr * dL_D/dw (and nothing else touched it).
    let (g1, d1) = (gan.generator.get_weights(), gan.discriminator.get_weights());
    check_sgd_step("discriminator", &d0, &d1, &d_grads);
    // The generator moved by -lr * dL_G/dw, L_G judged by the updated discriminator.
    gan.generator.set_weights(&g0).unwrap();
    let g_loss = |g: &Sequential| {
        let p = gan.discriminator.predict_on_batch(g.predict_on_batch(&z).unwrap()).unwrap();
        bce.compute(&labels(0.0, 6), &p, None).unwrap().item().unwrap()
    };
    let mut generator = gan.generator;
    let g_loss0 = g_loss(&generator);
    let g_grads = numeric_grads(&mut generator, &g_loss);
    assert!((logs["g_loss"] - g_loss0).abs() < 1e-5, "{} vs {g_loss0}", logs["g_loss"]);
    check_sgd_step("generator", &g0, &g1, &g_grads);
}

#[test]
fn fit_and_evaluate_use_the_overrides_with_their_logs() {
    let mut gan = Gan::new();
    let real = real_data(20);
    let seen = std::rc::Rc::new(std::cell::RefCell::new(Vec::<Logs>::new()));
    let s = seen.clone();
    let cb = keras::callbacks::LambdaCallback::new().on_train_batch_end(move |_, logs| {
        s.borrow_mut().push(logs.clone());
        Ok(())
    });
    let history = trainers::trainer::fit(
        &mut gan,
        Arrays::from(&real),
        None,
        FitArgs::default()
            .epochs(3)
            .batch_size(8)
            .shuffle(false)
            .verbose(0)
            .validation_data(real.slice_rows(0, 4).unwrap(), Tensor::zeros([4, 1]))
            .callback_boxed(Box::new(cb)),
    )
    .unwrap();
    // 3 batches a epoch, the step's own logs at every batch and in the History.
    assert_eq!(gan.steps, 9);
    assert_eq!(seen.borrow().len(), 9);
    assert!(seen.borrow().iter().all(|l| l.keys().collect::<Vec<_>>() == vec!["d_loss", "g_loss"]));
    assert_eq!(history.history.keys().collect::<Vec<_>>(), vec!["d_loss", "g_loss", "val_d_loss"]);
    // Epoch logs are the model's metrics at the end of the epoch: the mean of its 3 steps.
    let last3: Vec<f32> = seen.borrow()[6..].iter().map(|l| l["g_loss"]).collect();
    assert_eq!(seen.borrow()[8]["g_loss"], history.history["g_loss"][2]);
    assert!(last3.iter().all(|v| v.is_finite()));
    let logs =
        trainers::trainer::evaluate(&mut gan, Arrays::from(&real), None, EvaluateArgs::default().verbose(0))
            .unwrap();
    assert_eq!(logs.keys().collect::<Vec<_>>(), vec!["d_loss"]);
    // predict runs the model's network (the generator).
    let out =
        trainers::trainer::predict(&gan, Arrays::from(noise(5, 4)), keras::PredictArgs::default().verbose(0))
            .unwrap();
    assert_eq!(out[0].to_f32_vec(), gan.generator.predict_on_batch(noise(5, 4)).unwrap().to_f32_vec());
}

#[test]
fn a_model_without_compile_state_and_without_its_own_step_is_refused() {
    // The default train_step needs compile(): a clear error, not a panic.
    struct Bare(Sequential);
    impl TrainModel for Bare {
        fn name(&self) -> &str {
            "bare"
        }
        fn network(&self) -> &dyn Network {
            self.0.network()
        }
        fn named_weights(&self) -> Vec<(String, Tensor)> {
            Vec::new()
        }
        fn set_weights(&mut self, _: &[Tensor]) -> Result<()> {
            Ok(())
        }
        fn as_any(&self) -> &dyn Any {
            self
        }
        fn as_any_mut(&mut self) -> &mut dyn Any {
            self
        }
    }
    let mut m = Bare(sequential(1, 2, "linear"));
    let e = trainers::trainer::fit(
        &mut m,
        Arrays::from(Tensor::ones([4, 1])),
        Some(Arrays::from(Tensor::ones([4, 1]))),
        FitArgs::default().verbose(0),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("You must call `compile()` before using the model 'bare'"), "{e}");
}
