//! `StochasticDepth` (ConvNeXt): drops a whole residual branch per sample in training.

use keras_engine::{with_global_rng, Rng};
use serde_json::Value;

use crate::layers::layer::{configured, CallContext, Layer, LayerBase};
use crate::layers::layer_args::{LayerArgs, LayerCfg};
use crate::utils::config_args::config_args;
use crate::{ops, Error, Result, Tensor};

/// Keras's ConvNeXt `StochasticDepth(drop_path_rate)`: in training each sample's input is
/// kept with probability `1 - drop_path_rate` (and divided by it) or zeroed
/// (`floor(keep_prob + uniform)` per sample); the identity at inference.
pub struct StochasticDepth {
    base: LayerBase,
    args: StochasticDepthArgs,
    seeded: std::sync::Mutex<Option<Rng>>,
}

config_args! {
    /// StochasticDepth's Keras arguments.
    pub(crate) struct StochasticDepthArgs, family LayerArgs {
        drop_path_rate: f32,
    }
}

impl StochasticDepth {
    /// Drops each sample's branch with probability `drop_path_rate` in `[0, 1]`.
    pub fn new(drop_path_rate: f32) -> Self {
        let mut base = LayerBase::new("stochastic_depth");
        if !(0.0..=1.0).contains(&drop_path_rate) {
            base.fail(Error::InvalidArgument(format!(
                "StochasticDepth: `drop_path_rate` should be within [0, 1]. Received: drop_path_rate={drop_path_rate}"
            )));
        }
        StochasticDepth {
            base,
            args: StochasticDepthArgs { drop_path_rate },
            seeded: std::sync::Mutex::new(None),
        }
    }

    /// A fixed seed for the per-sample draws (otherwise the global generator).
    pub fn seed(self, seed: u64) -> Self {
        StochasticDepth { seeded: std::sync::Mutex::new(Some(Rng::new(seed))), ..self }
    }

    crate::layers::builders::name_builder!();

    /// Rebuilds from a Keras config.
    pub fn from_config(cfg: &Value) -> Result<Self> {
        let args = StochasticDepthArgs::read_args(&mut LayerCfg::new(cfg, "StochasticDepth"))?;
        // The constructor's check is the config's check too.
        configured(StochasticDepth::new(args.drop_path_rate), cfg)
    }
}

impl Layer for StochasticDepth {
    crate::layers::reshaping::args::layer_common!("StochasticDepth", true, same_shape, args_config);
    fn call(&self, x: &Tensor, ctx: &mut CallContext) -> Result<Tensor> {
        if !ctx.training || x.rank() == 0 {
            return Ok(x.clone());
        }
        let keep = 1.0 - self.args.drop_path_rate;
        let n = x.shape()[0];
        let draw = |r: &mut Rng| -> Vec<f32> { (0..n).map(|_| (keep + r.uniform_f32()).floor()).collect() };
        let kept = {
            let mut guard = self.seeded.lock().unwrap_or_else(|e| e.into_inner());
            match guard.as_mut() {
                Some(r) => draw(r),
                None => with_global_rng(draw),
            }
        };
        let mut shape = vec![1; x.rank()];
        shape[0] = n;
        let mask = Tensor::new(kept, shape)?;
        Ok(ops::mul(&ops::div(x, &Tensor::scalar(keep))?, &mask)?)
    }
    fn serialize(&self) -> Value {
        super::serialize_app_layer(self, "keras.src.applications.convnext")
    }
}
