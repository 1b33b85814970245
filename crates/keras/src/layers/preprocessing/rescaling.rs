//! `Rescaling`: `inputs * scale + offset` (for example pixels 0..255 to [0, 1] or [-1, 1]).

use keras_engine::{ops, DType};
use serde_json::{json, Value};

use crate::layers::layer::{CallContext, Layer, LayerBase};
use crate::layers::layer_args::{LayerArgs, LayerCfg};
use crate::utils::config_args::{config_args, ConfigArg};
use crate::{keras_bail, Error, Result, Tensor};

/// Keras `keras.layers.Rescaling`: multiplies inputs by `scale` and adds `offset`. Both are
/// scalars, or one value per channel (last axis). Integer inputs are cast to float32 first.
///
/// ```
/// use keras::layers::Rescaling;
/// let to_unit = Rescaling::new(1.0 / 255.0);
/// let to_symmetric = Rescaling::new(1.0 / 127.5).offset(-1.0);
/// ```
pub struct Rescaling {
    base: LayerBase,
    args: RescalingArgs,
}

config_args! {
    /// Rescaling's Keras arguments, in the order of its `get_config()`.
    pub(crate) struct RescalingArgs in Rescaling.args, family LayerArgs {
        scale: PerChannel = PerChannel(vec![1.0]),
        /// Adds `offset` after scaling.
        offset: PerChannel = PerChannel(vec![0.0]); builder offset(offset: f64) => PerChannel(vec![offset]),
    }
}

/// A number, or one number per channel (a list); a config writes one value as a number.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct PerChannel(pub(crate) Vec<f64>);

impl ConfigArg<LayerArgs> for PerChannel {
    fn to_config(&self) -> Value {
        match self.0.as_slice() {
            [v] => json!(v),
            v => json!(v),
        }
    }
    fn from_config(src: &mut LayerCfg<'_>, key: &str, default: Option<Self>) -> Result<Self> {
        let class = src.class;
        match src.cfg.get(key) {
            None | Some(Value::Null) => {
                default.ok_or_else(|| Error::Config(format!("{class} config needs `{key}`")))
            }
            Some(Value::Number(n)) => Ok(PerChannel(vec![n.as_f64().unwrap_or(0.0)])),
            Some(Value::Array(a)) if !a.is_empty() => a
                .iter()
                .map(|x| {
                    x.as_f64()
                        .ok_or_else(|| Error::Config(format!("{class} `{key}` must be numbers, got {x}")))
                })
                .collect::<Result<Vec<f64>>>()
                .map(PerChannel),
            Some(other) => {
                keras_bail!(Config, "{class} `{key}` must be a number or a list of numbers, got {other}")
            }
        }
    }
}

impl Rescaling {
    /// `inputs * scale` (offset 0).
    pub fn new(scale: f64) -> Self {
        let args = RescalingArgs { scale: PerChannel(vec![scale]), ..RescalingArgs::defaults() };
        Rescaling { base: LayerBase::new("rescaling"), args }
    }

    /// One scale per channel (last axis).
    pub fn per_channel(scale: &[f64]) -> Self {
        let mut r = Rescaling::new(1.0);
        if scale.is_empty() {
            r.base.fail(Error::InvalidArgument("Rescaling: `scale` must not be an empty list".into()));
        } else {
            r.args.scale = PerChannel(scale.to_vec());
        }
        r
    }

    /// One offset per channel (last axis).
    pub fn offsets(mut self, offset: &[f64]) -> Self {
        if offset.is_empty() {
            self.base.fail(Error::InvalidArgument("Rescaling: `offset` must not be an empty list".into()));
        } else {
            self.args.offset = PerChannel(offset.to_vec());
        }
        self
    }

    crate::layers::builders::base_builders!();

    /// Rebuilds from a Keras config.
    pub fn from_config(cfg: &Value) -> Result<Self> {
        let mut r = Rescaling::new(1.0);
        r.args = RescalingArgs::read_args(&mut LayerCfg::new(cfg, "Rescaling"))?;
        r.base.apply_config(cfg);
        Ok(r)
    }

    /// A per-channel parameter as a tensor broadcastable against inputs of `channels` channels.
    fn param(&self, v: &[f64], channels: usize) -> Result<Tensor> {
        if v.len() == 1 {
            return Ok(Tensor::scalar(v[0] as f32));
        }
        if v.len() != channels {
            keras_bail!(
                Shape,
                "Layer {}: {} per-channel values do not match the {channels} channels of the input",
                self.base.name,
                v.len()
            );
        }
        Ok(Tensor::new(v.iter().map(|&x| x as f32).collect(), [channels])?)
    }
}

impl Layer for Rescaling {
    crate::layers::reshaping::args::layer_common!("Rescaling", false, same_shape);
    fn call(&self, x: &Tensor, _ctx: &mut CallContext) -> Result<Tensor> {
        let x = if x.dtype() == DType::F32 { x.clone() } else { x.cast(DType::F32) };
        let channels = x.shape().last().copied().unwrap_or(1);
        let scaled = ops::mul(&x, &self.param(&self.args.scale.0, channels)?)?;
        if self.args.offset.0.iter().all(|&o| o == 0.0) {
            return Ok(scaled);
        }
        Ok(ops::add(&scaled, &self.param(&self.args.offset.0, channels)?)?)
    }
    crate::layers::reshaping::args::layer_common!(@args_config);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::deserialize;

    #[test]
    fn scales_offsets_and_round_trips_keras_config() {
        crate::backend::clear_session();
        let cfg = json!({
            "name": "rescaling", "trainable": true,
            "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null},
            "scale": 0.00784313725490196, "offset": -1.0
        });
        let l = deserialize(&json!({"class_name": "Rescaling", "config": cfg})).unwrap();
        assert_eq!(l.get_config().to_string(), cfg.to_string());
        let x = Tensor::from_i32(vec![0, 255, 127, 128], [1, 2, 2]).unwrap();
        let y = l.call(&x, &mut CallContext::new(false)).unwrap();
        let want = [-1.0f32, 1.0, 127.0 / 127.5 - 1.0, 128.0 / 127.5 - 1.0];
        for (g, w) in y.as_f32().unwrap().iter().zip(want) {
            assert!((g - w).abs() < 1e-6);
        }
    }

    #[test]
    fn per_channel_values_and_errors() {
        let l = Rescaling::per_channel(&[1.0, 2.0]).offsets(&[0.5, -0.5]);
        let x = Tensor::new(vec![1.0, 1.0, 2.0, 2.0], [2, 2]).unwrap();
        let y = l.call(&x, &mut CallContext::new(false)).unwrap();
        assert_eq!(y.as_f32().unwrap(), &[1.5, 1.5, 2.5, 3.5]);
        let bad = Tensor::new(vec![1.0; 6], [2, 3]).unwrap();
        assert!(matches!(l.call(&bad, &mut CallContext::new(false)), Err(Error::Shape(_))));
        assert!(Rescaling::per_channel(&[]).base().pending_error.is_some());
        assert!(Rescaling::from_config(&json!({"scale": "x"})).is_err());
    }

    #[test]
    fn gradient_is_the_scale() {
        keras_engine::testing::check_grad(
            &[&Tensor::new(vec![0.3, -0.2, 1.5], [1, 3]).unwrap()],
            |t| {
                Rescaling::new(2.0)
                    .offset(1.0)
                    .call(t[0], &mut CallContext::new(true))
                    .map_err(|e| keras_engine::EngineError::new(e.to_string()))
            },
            1e-2,
        );
    }
}
