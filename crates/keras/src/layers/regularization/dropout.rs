//! `Dropout`: zeroes a fraction of inputs during training and rescales the rest.

use keras_engine::{ops, with_global_rng, Rng, Tensor as ETensor};
use serde_json::{json, Value};

use crate::layers::layer::{CallContext, Layer, LayerBase};
use crate::{Error, Result, Tensor};

/// Keras `keras.layers.Dropout`: in training, each element is kept with probability
/// `1 - rate` and scaled by `1 / (1 - rate)`; at inference it is the identity.
pub struct Dropout {
    base: LayerBase,
    rate: f32,
    noise_shape: Option<Vec<Option<usize>>>,
    seed: Option<u64>,
    seeded: std::sync::Mutex<Option<Rng>>,
}

impl Dropout {
    /// Dropout with `rate` in `[0, 1)`.
    pub fn new(rate: f32) -> Self {
        let mut base = LayerBase::new("dropout");
        if !(0.0..1.0).contains(&rate) || rate.is_nan() {
            base.fail(Error::InvalidArgument(format!(
                "Invalid value received for argument `rate`. Expected a float value between 0 and 1. Received: rate={rate}"
            )));
        }
        Dropout { base, rate, noise_shape: None, seed: None, seeded: std::sync::Mutex::new(None) }
    }

    /// The shape of the keep/drop mask, broadcast over the input (`None` = the input's size):
    /// `[None, Some(1), Some(1), Some(1)]` drops whole samples (EfficientNet's stochastic
    /// depth).
    pub fn noise_shape(mut self, shape: &[Option<usize>]) -> Self {
        self.noise_shape = Some(shape.to_vec());
        self
    }

    crate::layers::builders::name_builder!();

    /// `input_shape` (without batch) for the first layer of a Sequential model.
    pub fn input_shape(mut self, shape: &[usize]) -> Self {
        self.base.input_shape = Some(shape.to_vec());
        self
    }

    /// Keras `_get_concrete_noise_shape`: `None` entries take the input's size; every other
    /// entry must be 1 or the input's size.
    fn concrete_noise_shape(&self, shape: &[usize]) -> Result<Vec<usize>> {
        let Some(ns) = &self.noise_shape else {
            return Ok(shape.to_vec());
        };
        let ok =
            ns.len() == shape.len() && ns.iter().zip(shape).all(|(n, &s)| n.is_none_or(|n| n == 1 || n == s));
        if !ok {
            return Err(Error::Shape(format!(
                "Layer {}: noise_shape {:?} cannot be broadcast to the input shape {:?}",
                self.base.name, ns, shape
            )));
        }
        Ok(ns.iter().zip(shape).map(|(n, &s)| n.unwrap_or(s)).collect())
    }

    /// A fixed seed for this layer's masks (otherwise the global generator).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self.seeded = std::sync::Mutex::new(Some(Rng::new(seed)));
        self
    }

    /// The drop rate.
    pub fn rate(&self) -> f32 {
        self.rate
    }

    /// Rebuilds from a Keras config.
    pub fn from_config(cfg: &Value) -> Result<Self> {
        let rate = cfg
            .get("rate")
            .and_then(Value::as_f64)
            .ok_or_else(|| Error::Config("Dropout config needs `rate`".into()))?;
        let mut d = Dropout::new(rate as f32);
        if let Some(s) = cfg.get("seed").and_then(Value::as_u64) {
            d = d.seed(s);
        }
        match cfg.get("noise_shape") {
            None | Some(Value::Null) => {}
            Some(Value::Array(a)) => {
                let dims = a
                    .iter()
                    .map(|v| match v {
                        Value::Null => Ok(None),
                        v => v.as_u64().map(|x| Some(x as usize)).ok_or_else(|| {
                            Error::Config(format!(
                                "Dropout config: noise_shape entries must be integers or null, got {v}"
                            ))
                        }),
                    })
                    .collect::<Result<Vec<_>>>()?;
                d.noise_shape = Some(dims);
            }
            Some(v) => {
                return Err(Error::Config(format!("Dropout config: noise_shape must be a list, got {v}")))
            }
        }
        d.base.apply_config(cfg);
        d.base.take_pending()?;
        Ok(d)
    }
}

impl Layer for Dropout {
    crate::layers::reshaping::args::layer_common!("Dropout", false, same_shape, passes_mask);
    fn call(&self, x: &Tensor, ctx: &mut CallContext) -> Result<Tensor> {
        if !ctx.training || self.rate == 0.0 {
            return Ok(x.clone());
        }
        let keep = 1.0 - self.rate;
        let scale = 1.0 / keep;
        let noise_shape = self.concrete_noise_shape(x.shape())?;
        let n: usize = noise_shape.iter().product();
        if x.device().is_cuda() && self.seed.is_none() && self.noise_shape.is_none() {
            // The device generator (its counter advances on the GPU, so a captured training
            // step draws a fresh mask at every replay); its stream is seeded from the global
            // generator.
            let stream = with_global_rng(|r| r.next_u64());
            return Ok(ops::fused::dropout(x, self.rate, stream)?);
        }
        // Drawn in parallel blocks of jumped xoshiro256++ streams (`ops::keep_flags`).
        let make = |r: &mut Rng| -> Vec<bool> { ops::keep_flags(r, n, keep) };
        let flags = {
            let mut guard = self.seeded.lock().unwrap_or_else(|e| e.into_inner());
            match guard.as_mut() {
                Some(r) => make(r),
                None => with_global_rng(make),
            }
        };
        if n == x.numel() {
            // A mask of the input's size: one byte a flag, and an in-place backward pass.
            return Ok(ops::dropout_with_mask(x, flags, scale)?);
        }
        // The mask has the noise shape and broadcasts over the input.
        let mask: Vec<f32> = flags.iter().map(|&k| if k { scale } else { 0.0 }).collect();
        let mask = ETensor::new(mask, noise_shape)?;
        Ok(ops::mul(x, &mask)?)
    }
    fn get_config(&self) -> Value {
        let mut m = self.base.base_config();
        m.insert("rate".into(), crate::regularizers::py_float(self.rate));
        m.insert("seed".into(), self.seed.map(Value::from).unwrap_or(Value::Null));
        m.insert("noise_shape".into(), json!(self.noise_shape));
        Value::Object(m)
    }
}
