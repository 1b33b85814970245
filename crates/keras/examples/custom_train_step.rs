//! A custom layer and a custom `train_step`, on the shipped Fashion-MNIST images.
//!
//! * `Linear` is a user layer (Keras's guide "Making new layers and models via subclassing"):
//!   it makes its kernel and bias with `add_weight` when it is built, and its `call` is
//!   `x @ w + b`. It is used in a Functional model like any built-in layer.
//! * `CustomFit` wraps that model and overrides `train_step` and `test_step` (Keras's guide
//!   "Customizing what happens in `fit()`"): the step computes the loss itself, here the
//!   crossentropy plus a penalty on the squared logits' mean (keeping them small, which
//!   `compile` cannot express), takes the gradient step with `minimize`, and tracks its own
//!   metrics (`loss`, `crossentropy`, `accuracy`), which `fit` prints and records in History.
//!
//! ```text
//! cargo run --release -p keras --example custom_train_step [-- --epochs N --batch-size N]
//! ```

mod common;

use common::arg;
use std::any::Any;

use keras::layers::{Activation, CallContext, Flatten, Layer, LayerBase, Shape, Variable, WeightSpec};
use keras::losses::{Loss, SparseCategoricalCrossentropy};
use keras::metrics::{Mean, MeanMetricWrapper, Metric, MetricFn};
use keras::models::{Functional, Model, SymbolicCall};
use keras::optimizers::Adam;
use keras::trainers::{minimize, trainer, Arrays, Network, TrainModel};
use keras::utils::Batch;
use keras::{EvaluateArgs, FitArgs, Input, Logs, Result, Tensor};
use serde_json::{json, Value};

/// A dense layer written by a user: `x @ w + b`, weights made by `add_weight`.
struct Linear {
    base: LayerBase,
    units: usize,
    w: Option<Variable>,
    b: Option<Variable>,
}

impl Linear {
    fn new(units: usize, name: &str) -> Self {
        Linear { base: LayerBase::new(name), units, w: None, b: None }
    }
}

impl Layer for Linear {
    keras::sublayers!(; w, b);

    fn class_name(&self) -> &'static str {
        "Linear"
    }
    fn base(&self) -> &LayerBase {
        &self.base
    }
    fn base_mut(&mut self) -> &mut LayerBase {
        &mut self.base
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn build(&mut self, shape: &[Option<usize>]) -> Result<()> {
        let d = shape.last().copied().flatten().unwrap_or(1);
        self.w =
            Some(self.base.add_weight(WeightSpec::new("w", &[d, self.units]).initializer("glorot_uniform"))?);
        self.b = Some(self.base.add_weight(WeightSpec::new("b", &[self.units]).initializer("zeros"))?);
        self.base.build_input_shape = Some(shape.to_vec());
        self.base.built = true;
        Ok(())
    }
    fn compute_output_shape(&self, shape: &[Option<usize>]) -> Result<Shape> {
        let mut out = shape.to_vec();
        if let Some(last) = out.last_mut() {
            *last = Some(self.units);
        }
        Ok(out)
    }
    fn call(&self, x: &Tensor, _ctx: &mut CallContext) -> Result<Tensor> {
        let (Some(w), Some(b)) = (&self.w, &self.b) else {
            return Err(keras::Error::State(format!("Layer {} is not built", self.name())));
        };
        Ok(keras::ops::add(&keras::ops::linalg::matmul(x, w.value())?, b.value())?)
    }
    fn get_config(&self) -> Value {
        let mut cfg = self.base.base_config();
        cfg.insert("units".into(), json!(self.units));
        Value::Object(cfg)
    }
}

/// How much the mean squared logit adds to the loss.
const LOGIT_PENALTY: f32 = 1e-3;

/// The model with its own training and evaluation steps.
struct CustomFit {
    model: Functional,
    loss_tracker: Mean,
    crossentropy: Mean,
    accuracy: MeanMetricWrapper,
}

impl CustomFit {
    /// The loss of a batch: crossentropy of the softmax of the logits, plus the penalty.
    /// Returns `(total, crossentropy, probabilities)`.
    fn loss(
        net: &dyn Network,
        x: &Tensor,
        y: &Tensor,
        ctx: &mut CallContext,
    ) -> Result<(Tensor, Tensor, Tensor)> {
        let logits = net.forward(std::slice::from_ref(x), ctx)?.swap_remove(0);
        let ce = SparseCategoricalCrossentropy::new().from_logits(true).compute(y, &logits, None)?;
        let penalty = keras::ops::reduce::mean_all(&keras::ops::mul(&logits, &logits)?)?;
        let total = keras::ops::add(&ce, &keras::ops::scale(&penalty, LOGIT_PENALTY)?)?;
        let probs = Activation::new("softmax").call(&logits, &mut CallContext::new(false))?;
        Ok((total, ce, probs))
    }

    fn record(&mut self, total: &Tensor, ce: &Tensor, y: &Tensor, probs: &Tensor) -> Result<()> {
        self.loss_tracker.update_state_value(total.item()?, 1.0);
        self.crossentropy.update_state_value(ce.item()?, 1.0);
        self.accuracy.update_state(y, probs, None)
    }
}

impl TrainModel for CustomFit {
    fn name(&self) -> &str {
        self.model.name()
    }
    fn network(&self) -> &dyn Network {
        self.model.network()
    }
    fn train_step(&mut self, batch: Batch) -> Result<Logs> {
        let x = batch.x.as_tensor()?.clone();
        let y =
            batch.y.as_ref().ok_or_else(|| keras::Error::Value("fit needs y".into()))?.as_tensor()?.clone();
        // The optimizer given to compile() takes the step; the compiled loss is not used.
        let (net, compiled) = self.model.parts_mut()?;
        let (total, (ce, probs)) = minimize(net, compiled.optimizer.as_mut(), |net, ctx| {
            let (total, ce, probs) = CustomFit::loss(net, &x, &y, ctx)?;
            Ok((total, (ce.detach(), probs.detach())))
        })?;
        self.record(&total, &ce, &y, &probs)?;
        Ok(self.metrics_result())
    }
    fn test_step(&mut self, batch: Batch) -> Result<Logs> {
        let x = batch.x.as_tensor()?.clone();
        let y = batch
            .y
            .as_ref()
            .ok_or_else(|| keras::Error::Value("evaluate needs y".into()))?
            .as_tensor()?
            .clone();
        let (total, ce, probs) = CustomFit::loss(self.model.network(), &x, &y, &mut CallContext::new(false))?;
        self.record(&total, &ce, &y, &probs)?;
        Ok(self.metrics_result())
    }
    fn reset_metrics(&mut self) {
        self.loss_tracker.reset_state();
        self.crossentropy.reset_state();
        self.accuracy.reset_state();
    }
    fn metrics_result(&self) -> Logs {
        Logs::from([
            ("loss".to_string(), self.loss_tracker.result()),
            ("crossentropy".to_string(), self.crossentropy.result()),
            ("accuracy".to_string(), self.accuracy.result()),
        ])
    }
    fn named_weights(&self) -> Vec<(String, Tensor)> {
        self.model.weights().iter().map(|v| (v.path().to_string(), v.value().clone())).collect()
    }
    fn set_weights(&mut self, values: &[Tensor]) -> Result<()> {
        self.model.set_weights(values)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

fn main() -> Result<()> {
    let epochs = arg("--epochs", 3);
    let batch_size = arg("--batch-size", 64);
    keras::utils::set_random_seed(1);

    let ((x_train, y_train), (x_test, y_test)) = keras::datasets::fashion_mnist::load_data()?;
    let scale = |x: &Tensor| -> Result<Tensor> {
        let n = x.shape()[0];
        Ok(Tensor::new(x.as_f32()?.iter().map(|p| p / 255.0).collect(), [n, 28, 28])?)
    };
    let (x_train, x_test) = (scale(&x_train)?, scale(&x_test)?);

    // A Functional model of user layers; it outputs logits.
    let pixels = Input::named(&[28, 28], "pixels");
    let h = Flatten::new().apply(&pixels)?;
    let h = Linear::new(128, "hidden").apply(&h)?;
    let h = Activation::new("relu").apply(&h)?;
    let logits = Linear::new(10, "logits").apply(&h)?;
    let mut model = Model::named("custom_fit", &[pixels], &[logits])?;
    model.compile(Adam::new(), "sparse_categorical_crossentropy", &[])?;
    model.summary();

    let mut custom = CustomFit {
        model,
        loss_tracker: Mean::new("loss"),
        crossentropy: Mean::new("crossentropy"),
        accuracy: MeanMetricWrapper::new(MetricFn::SparseCategoricalAccuracy).with_name("accuracy"),
    };
    let history = trainer::fit(
        &mut custom,
        Arrays::from(&x_train),
        Some(Arrays::from(&y_train)),
        FitArgs::default().epochs(epochs).batch_size(batch_size).validation_split(0.1),
    )?;
    println!("\nHistory (the custom step's metrics):\n{history}");
    let logs = trainer::evaluate(
        &mut custom,
        Arrays::from(&x_test),
        Some(Arrays::from(&y_test)),
        EvaluateArgs::default().verbose(0),
    )?;
    println!(
        "Test: loss {:.4}, crossentropy {:.4}, accuracy {:.4}",
        logs["loss"], logs["crossentropy"], logs["accuracy"]
    );
    Ok(())
}
