//! `Dropout`: zeroes a fraction of inputs during training and rescales the rest.

use keras_engine::{ops, with_global_rng, Rng, Tensor as ETensor};
use serde_json::Value;

use super::noise::{concrete_noise_shape, dropout_methods, LayerRng};
use crate::layers::layer::{CallContext, Layer, LayerBase};
use crate::layers::layer_args::{LayerArgs, LayerCfg};
use crate::utils::config_args::config_args;
use crate::{Error, Result, Tensor};

/// Keras `keras.layers.Dropout`: in training, each element is kept with probability
/// `1 - rate` and scaled by `1 / (1 - rate)`; at inference it is the identity.
pub struct Dropout {
    base: LayerBase,
    args: DropoutArgs,
    rng: LayerRng,
}

config_args! {
    /// Dropout's Keras arguments, in Keras's `get_config()` order.
    pub(crate) struct DropoutArgs in Dropout.args, family LayerArgs {
        rate: f32,
        seed: Option<u64> = None,
        /// The shape of the keep/drop mask, broadcast over the input (`None` = the input's size):
        /// `[None, Some(1), Some(1), Some(1)]` drops whole samples (EfficientNet's stochastic
        /// depth).
        noise_shape: Option<Vec<Option<usize>>> = None;
            builder noise_shape(shape: &[Option<usize>]) => Some(shape.to_vec()),
    }
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
        Dropout { base, args: DropoutArgs { rate, ..DropoutArgs::defaults() }, rng: LayerRng::new(None) }
    }

    crate::layers::builders::name_builder!();

    /// `input_shape` (without batch) for the first layer of a Sequential model.
    pub fn input_shape(mut self, shape: &[usize]) -> Self {
        self.base.input_shape = Some(shape.to_vec());
        self
    }

    dropout_methods!("Dropout", DropoutArgs);
}

impl Layer for Dropout {
    crate::layers::reshaping::args::layer_common!("Dropout", false, same_shape, passes_mask, args_config);
    fn call(&self, x: &Tensor, ctx: &mut CallContext) -> Result<Tensor> {
        let rate = self.args.rate;
        if !ctx.training || rate == 0.0 {
            return Ok(x.clone());
        }
        let keep = 1.0 - rate;
        let scale = 1.0 / keep;
        let noise_shape = concrete_noise_shape(&self.base.name, &self.args.noise_shape, x.shape())?;
        let n: usize = noise_shape.iter().product();
        if x.device().is_cuda() && self.args.seed.is_none() && self.args.noise_shape.is_none() {
            // The device generator (its counter advances on the GPU, so a captured training
            // step draws a fresh mask at every replay); its stream is seeded from the global
            // generator.
            let stream = with_global_rng(|r| r.next_u64());
            return Ok(ops::fused::dropout(x, rate, stream)?);
        }
        // Drawn in parallel blocks of jumped xoshiro256++ streams (`ops::keep_flags`).
        let make = |r: &mut Rng| -> Vec<bool> { ops::keep_flags(r, n, keep) };
        let flags = self.rng.with(make);
        if n == x.numel() {
            // A mask of the input's size: one byte a flag, and an in-place backward pass.
            return Ok(ops::dropout_with_mask(x, flags, scale)?);
        }
        // The mask has the noise shape and broadcasts over the input.
        let mask: Vec<f32> = flags.iter().map(|&k| if k { scale } else { 0.0 }).collect();
        let mask = ETensor::new(mask, noise_shape)?;
        Ok(ops::mul(x, &mask)?)
    }
}
