//! `GaussianNoise` (additive) and `GaussianDropout` (multiplicative) noise layers, active
//! only while training.

use keras_engine::{ops, Tensor as ETensor};
use serde_json::Value;

use super::noise::{check_unit_interval, LayerRng};
use crate::layers::layer::{CallContext, Layer, LayerBase};
use crate::layers::layer_args::{LayerArgs, LayerCfg};
use crate::utils::config_args::config_args;
use crate::{keras_bail, Result, Tensor};

/// `n` standard normal draws from the layer's generator, each mapped by `f`. The draws come
/// from the engine's ziggurat (a table lookup and a multiply for most draws, where Box-Muller
/// pays a logarithm, a square root and a cosine each), so the noise costs little next to the
/// layer it follows.
fn standard_normal(rng: &LayerRng, n: usize, f: impl Fn(f32) -> f32) -> Result<Vec<f32>> {
    let mut z = keras_engine::alloc::try_filled(n, 0.0f32)?;
    rng.with(|r| r.fill_standard_normal_f32(&mut z));
    z.iter_mut().for_each(|v| *v = f(*v));
    Ok(z)
}

/// A noise layer active only while training, declared once for `GaussianNoise` and
/// `GaussianDropout`: one `f32` argument in `[0, 1]` (`$arg`) and a seed, declared in `$Args`;
/// the struct, its constructor, builders, getter, `from_config` and `Layer` impl around its
/// training `call`.
macro_rules! gaussian_layer {
    (
        $(#[$doc:meta])*
        $ty:ident($Args:ident), $class:literal, $snake:literal, $arg:ident,
        new: $new_doc:literal,
        getter: $get_doc:literal,
        fn call(&$self:ident, $x:ident: &Tensor) -> Result<Tensor> $call:block
    ) => {
        $(#[$doc])*
        pub struct $ty {
            base: LayerBase,
            args: $Args,
            rng: LayerRng,
        }

        config_args! {
            #[doc = concat!($class, "'s Keras arguments, in Keras's `get_config()` order.")]
            pub(crate) struct $Args, family LayerArgs {
                $arg: f32,
                seed: Option<u64> = None,
            }
        }

        impl $ty {
            #[doc = $new_doc]
            pub fn new($arg: f32) -> Self {
                let mut base = LayerBase::new($snake);
                check_unit_interval(&mut base, $arg, stringify!($arg));
                $ty { base, args: $Args { $arg, seed: None }, rng: LayerRng::new(None) }
            }

            /// A fixed seed for this layer's noise (otherwise the global generator).
            pub fn seed(mut self, seed: u64) -> Self {
                self.args.seed = Some(seed);
                self.rng = LayerRng::new(Some(seed));
                self
            }

            crate::layers::builders::name_builder!();

            #[doc = $get_doc]
            pub fn $arg(&self) -> f32 {
                self.args.$arg
            }

            /// Rebuilds from a Keras config.
            pub fn from_config(cfg: &Value) -> Result<Self> {
                let args = $Args::read_args(&mut LayerCfg::new(cfg, $class))?;
                let mut l = $ty::new(args.$arg);
                l.rng = LayerRng::new(args.seed);
                l.args = args;
                $crate::layers::layer::configured(l, cfg)
            }
        }

        impl Layer for $ty {
            $crate::layers::reshaping::args::layer_common!($class, false, same_shape);
            fn call(&$self, $x: &Tensor, ctx: &mut CallContext) -> Result<Tensor> {
                if !ctx.training || $self.args.$arg <= 0.0 {
                    return Ok($x.clone());
                }
                $call
            }
            $crate::layers::reshaping::args::layer_common!(@args_config);
        }
    };
}

gaussian_layer! {
    /// Keras `keras.layers.GaussianNoise`: adds `N(0, stddev^2)` noise while training; the
    /// identity at inference. `stddev` must be in `[0, 1]`.
    GaussianNoise(GaussianNoiseArgs), "GaussianNoise", "gaussian_noise", stddev,
    new: "Additive noise of standard deviation `stddev`.",
    getter: "The noise standard deviation.",
    fn call(&self, x: &Tensor) -> Result<Tensor> {
        let std = self.args.stddev;
        let noise = standard_normal(&self.rng, x.numel(), |z| std * z)?;
        Ok(ops::add(x, &ETensor::new(noise, x.shape().to_vec())?)?)
    }
}

gaussian_layer! {
    /// Keras `keras.layers.GaussianDropout`: multiplies by `N(1, rate / (1 - rate))` noise while
    /// training; the identity at inference. `rate` must be in `[0, 1]` (1 fails when training).
    GaussianDropout(GaussianDropoutArgs), "GaussianDropout", "gaussian_dropout", rate,
    new: "Multiplicative noise for drop probability `rate`.",
    getter: "The drop rate.",
    fn call(&self, x: &Tensor) -> Result<Tensor> {
        let rate = self.args.rate;
        if rate >= 1.0 {
            keras_bail!(
                InvalidArgument,
                "Layer {}: GaussianDropout with rate={} divides by zero (stddev = sqrt(rate / (1 - rate)))",
                self.base.name,
                rate
            );
        }
        let std = (rate as f64 / (1.0 - rate as f64)).sqrt() as f32;
        let noise = standard_normal(&self.rng, x.numel(), |z| 1.0 + std * z)?;
        Ok(ops::mul(x, &ETensor::new(noise, x.shape().to_vec())?)?)
    }
}
