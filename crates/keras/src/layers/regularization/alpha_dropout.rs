//! `AlphaDropout`: dropout that keeps the self-normalising statistics of SELU activations.

use keras_engine::{ops, Tensor as ETensor};
use serde_json::Value;

use super::noise::{check_unit_interval, concrete_noise_shape, dropout_methods, LayerRng};
use crate::layers::layer::{CallContext, Layer, LayerBase};
use crate::layers::layer_args::{LayerArgs, LayerCfg};
use crate::utils::config_args::config_args;
use crate::{keras_bail, Result, Tensor};

/// Keras `keras.layers.AlphaDropout`: while training, dropped inputs are set to
/// `-alpha * scale` (SELU's negative saturation) and the result is mapped by `a * x + b` so
/// mean and variance are kept; the identity at inference. `noise_shape` (with `None` for
/// "same as the input") lets the mask broadcast.
pub struct AlphaDropout {
    base: LayerBase,
    args: AlphaDropoutArgs,
    rng: LayerRng,
}

config_args! {
    /// AlphaDropout's Keras arguments, in Keras's `get_config()` order.
    pub(crate) struct AlphaDropoutArgs in AlphaDropout.args, family LayerArgs {
        rate: f32,
        seed: Option<u64> = None,
        /// The mask shape (`None` entries take the input's size), e.g. `[None, Some(1), None]`.
        noise_shape: Option<Vec<Option<usize>>> = None;
            builder noise_shape(shape: &[Option<usize>]) => Some(shape.to_vec()),
    }
}

impl AlphaDropout {
    /// Alpha dropout with drop probability `rate` in `[0, 1]` (1 fails when training).
    pub fn new(rate: f32) -> Self {
        let mut base = LayerBase::new("alpha_dropout");
        check_unit_interval(&mut base, rate, "rate");
        AlphaDropout {
            base,
            args: AlphaDropoutArgs { rate, ..AlphaDropoutArgs::defaults() },
            rng: LayerRng::new(None),
        }
    }

    crate::layers::builders::name_builder!();

    dropout_methods!("AlphaDropout", AlphaDropoutArgs);
}

impl Layer for AlphaDropout {
    crate::layers::reshaping::args::layer_common!("AlphaDropout", false, same_shape, args_config);
    fn call(&self, x: &Tensor, ctx: &mut CallContext) -> Result<Tensor> {
        let rate = self.args.rate;
        if !ctx.training || rate <= 0.0 {
            return Ok(x.clone());
        }
        if rate >= 1.0 {
            keras_bail!(
                InvalidArgument,
                "Layer {}: AlphaDropout with rate={} keeps nothing (0.0 cannot be raised to a negative power)",
                self.base.name,
                rate
            );
        }
        let noise_shape = concrete_noise_shape(&self.base.name, &self.args.noise_shape, x.shape())?;
        const ALPHA: f64 = 1.673_263_242_354_377_3;
        const SCALE: f64 = 1.050_700_987_355_480_5;
        let alpha_p = -ALPHA * SCALE;
        let rate = rate as f64;
        let a = ((1.0 - rate) * (1.0 + rate * alpha_p * alpha_p)).powf(-0.5);
        let b = -a * alpha_p * rate;
        let n: usize = noise_shape.iter().product();
        let kept: Vec<f32> =
            self.rng.with(|r| (0..n).map(|_| if r.uniform_f64() >= rate { 1.0 } else { 0.0 }).collect());
        // a * (x * kept + alpha_p * (1 - kept)) + b = x * (a * kept) + (a * alpha_p * (1 - kept) + b)
        let mul: Vec<f32> = kept.iter().map(|&k| (a * k as f64) as f32).collect();
        let add: Vec<f32> = kept.iter().map(|&k| (a * alpha_p * (1.0 - k as f64) + b) as f32).collect();
        let y = ops::mul(x, &ETensor::new(mul, noise_shape.clone())?)?;
        Ok(ops::add(&y, &ETensor::new(add, noise_shape)?)?)
    }
}
