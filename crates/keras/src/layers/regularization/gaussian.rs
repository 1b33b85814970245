//! `GaussianNoise` (additive) and `GaussianDropout` (multiplicative) noise layers, active
//! only while training.

use std::any::Any;

use keras_engine::{ops, Tensor as ETensor};
use serde_json::Value;

use super::noise::{check_unit_interval, req_f32, take_pending, LayerRng};
use crate::layers::layer::{CallContext, Layer, LayerBase, Shape};
use crate::regularizers::py_float;
use crate::{keras_bail, Result, Tensor};

/// Keras `keras.layers.GaussianNoise`: adds `N(0, stddev^2)` noise while training; the
/// identity at inference. `stddev` must be in `[0, 1]`.
pub struct GaussianNoise {
    base: LayerBase,
    stddev: f32,
    rng: LayerRng,
}

impl GaussianNoise {
    /// Additive noise of standard deviation `stddev`.
    pub fn new(stddev: f32) -> Self {
        let mut base = LayerBase::new("gaussian_noise");
        check_unit_interval(&mut base, stddev, "stddev");
        GaussianNoise { base, stddev, rng: LayerRng::new(None) }
    }

    /// A fixed seed for this layer's noise (otherwise the global generator).
    pub fn seed(mut self, seed: u64) -> Self {
        self.rng = LayerRng::new(Some(seed));
        self
    }

    /// Sets the layer name.
    pub fn name(mut self, name: &str) -> Self {
        self.base.rename(name);
        self
    }

    /// The noise standard deviation.
    pub fn stddev(&self) -> f32 {
        self.stddev
    }

    /// Rebuilds from a Keras config.
    pub fn from_config(cfg: &Value) -> Result<Self> {
        let mut l = GaussianNoise::new(req_f32(cfg, "stddev", "GaussianNoise")?);
        l.rng = LayerRng::new(cfg.get("seed").and_then(Value::as_u64));
        l.base.apply_config(cfg);
        take_pending(&mut l.base)?;
        Ok(l)
    }
}

impl Layer for GaussianNoise {
    fn class_name(&self) -> &'static str {
        "GaussianNoise"
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
    fn records_build_config(&self) -> bool {
        false
    }
    fn compute_output_shape(&self, s: &[Option<usize>]) -> Result<Shape> {
        Ok(s.to_vec())
    }
    fn call(&self, x: &Tensor, ctx: &mut CallContext) -> Result<Tensor> {
        if !ctx.training || self.stddev <= 0.0 {
            return Ok(x.clone());
        }
        let std = self.stddev as f64;
        let n = x.numel();
        let noise: Vec<f32> = self.rng.with(|r| (0..n).map(|_| (std * r.normal_f64()) as f32).collect());
        Ok(ops::add(x, &ETensor::new(noise, x.shape().to_vec())?)?)
    }
    fn get_config(&self) -> Value {
        let mut m = self.base.base_config();
        m.insert("stddev".into(), py_float(self.stddev));
        m.insert("seed".into(), self.rng.seed_json());
        Value::Object(m)
    }
}

/// Keras `keras.layers.GaussianDropout`: multiplies by `N(1, rate / (1 - rate))` noise while
/// training; the identity at inference. `rate` must be in `[0, 1]` (1 fails when training).
pub struct GaussianDropout {
    base: LayerBase,
    rate: f32,
    rng: LayerRng,
}

impl GaussianDropout {
    /// Multiplicative noise for drop probability `rate`.
    pub fn new(rate: f32) -> Self {
        let mut base = LayerBase::new("gaussian_dropout");
        check_unit_interval(&mut base, rate, "rate");
        GaussianDropout { base, rate, rng: LayerRng::new(None) }
    }

    /// A fixed seed for this layer's noise (otherwise the global generator).
    pub fn seed(mut self, seed: u64) -> Self {
        self.rng = LayerRng::new(Some(seed));
        self
    }

    /// Sets the layer name.
    pub fn name(mut self, name: &str) -> Self {
        self.base.rename(name);
        self
    }

    /// The drop rate.
    pub fn rate(&self) -> f32 {
        self.rate
    }

    /// Rebuilds from a Keras config.
    pub fn from_config(cfg: &Value) -> Result<Self> {
        let mut l = GaussianDropout::new(req_f32(cfg, "rate", "GaussianDropout")?);
        l.rng = LayerRng::new(cfg.get("seed").and_then(Value::as_u64));
        l.base.apply_config(cfg);
        take_pending(&mut l.base)?;
        Ok(l)
    }
}

impl Layer for GaussianDropout {
    fn class_name(&self) -> &'static str {
        "GaussianDropout"
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
    fn records_build_config(&self) -> bool {
        false
    }
    fn compute_output_shape(&self, s: &[Option<usize>]) -> Result<Shape> {
        Ok(s.to_vec())
    }
    fn call(&self, x: &Tensor, ctx: &mut CallContext) -> Result<Tensor> {
        if !ctx.training || self.rate <= 0.0 {
            return Ok(x.clone());
        }
        if self.rate >= 1.0 {
            keras_bail!(
                InvalidArgument,
                "Layer {}: GaussianDropout with rate={} divides by zero (stddev = sqrt(rate / (1 - rate)))",
                self.base.name,
                self.rate
            );
        }
        let std = (self.rate as f64 / (1.0 - self.rate as f64)).sqrt();
        let n = x.numel();
        let noise: Vec<f32> =
            self.rng.with(|r| (0..n).map(|_| (1.0 + std * r.normal_f64()) as f32).collect());
        Ok(ops::mul(x, &ETensor::new(noise, x.shape().to_vec())?)?)
    }
    fn get_config(&self) -> Value {
        let mut m = self.base.base_config();
        m.insert("rate".into(), py_float(self.rate));
        m.insert("seed".into(), self.rng.seed_json());
        Value::Object(m)
    }
}
