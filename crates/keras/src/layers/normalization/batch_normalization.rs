//! `BatchNormalization`: normalizes with batch statistics in training and moving statistics
//! at inference.

use keras_engine::ops;
use serde_json::{json, Value};

use crate::initializers::Initializer;
use crate::layers::layer::{configured, shape_str, CallContext, Layer, LayerBase, Shape, Variable};
use crate::layers::layer_args::{LayerArgs, LayerCfg};
use crate::layers::reshaping::args::layer_common;
use crate::layers::weight_args::WeightArgs;
use crate::utils::config_args::ConfigArg;
use crate::{keras_bail, Error, Result, Tensor};

/// Keras `keras.layers.BatchNormalization` over the feature axis `axis` (default -1).
///
/// In training (and while trainable) it normalizes with the batch mean and biased variance
/// and reports `moving = moving * momentum + batch * (1 - momentum)` for `moving_mean` and
/// `moving_variance` through [`CallContext::updates`]; otherwise it uses the moving
/// statistics. Weights, in Keras order: `gamma` (if `scale`), `beta` (if `center`),
/// `moving_mean`, `moving_variance` (the last two non-trainable).
///
/// ```
/// use keras::layers::BatchNormalization;
/// let bn = BatchNormalization::new().momentum(0.9).epsilon(1e-5);
/// ```
pub struct BatchNormalization {
    base: LayerBase,
    args: BatchNormalizationArgs,
    gamma: Option<Variable>,
    beta: Option<Variable>,
    moving_mean: Option<Variable>,
    moving_variance: Option<Variable>,
}

norm_args! {
    /// BatchNormalization's Keras arguments, in Keras's `get_config()` order.
    pub(crate) struct BatchNormalizationArgs in BatchNormalization.args {
        /// The feature axis (negative counts from the end).
        axis: FeatureAxis = FeatureAxis(-1); builder axis(axis: isize) => FeatureAxis(axis),
        momentum: f64 = 0.99,
        @epsilon_center_scale,
        @beta_gamma_initializers,
        /// `moving_mean`'s initializer (zeros).
        moving_mean_initializer: Initializer = Initializer::Zeros;
            builder moving_mean_initializer(initializer: Initializer),
        /// `moving_variance`'s initializer (ones).
        moving_variance_initializer: Initializer = Initializer::Ones;
            builder moving_variance_initializer(initializer: Initializer),
        @beta_gamma_penalties,
        synchronized: bool = false,
        /// Batch renormalization, refused when true.
        renorm: bool = false,
        renorm_clipping: Value = Value::Null,
        renorm_momentum: f64 = 0.99,
    }
}

/// BatchNormalization's `axis`: an int (a one-element list, as older configs write it, is
/// read too).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct FeatureAxis(isize);

impl ConfigArg<LayerArgs> for FeatureAxis {
    fn to_config(&self) -> Value {
        json!(self.0)
    }
    fn from_config(src: &mut LayerCfg<'_>, key: &str, default: Option<Self>) -> Result<Self> {
        let axis = match src.cfg.get(key) {
            None => return Ok(default.unwrap_or_default()),
            Some(Value::Array(a)) if a.len() == 1 => a[0].as_i64(),
            Some(v) => v.as_i64(),
        };
        match axis {
            Some(a) => Ok(FeatureAxis(a as isize)),
            None => keras_bail!(
                Config,
                "{}: `{key}` must be an integer, received {key}={}",
                src.class,
                src.cfg[key]
            ),
        }
    }
}

impl Default for BatchNormalization {
    fn default() -> Self {
        Self::new()
    }
}

impl BatchNormalization {
    /// Keras defaults: axis -1, momentum 0.99, epsilon 1e-3, center and scale.
    pub fn new() -> Self {
        BatchNormalization {
            base: LayerBase::new("batch_normalization"),
            args: BatchNormalizationArgs::defaults(),
            gamma: None,
            beta: None,
            moving_mean: None,
            moving_variance: None,
        }
    }

    /// Weight of the old moving statistics in each update (in `[0, 1]`).
    pub fn momentum(mut self, m: f64) -> Self {
        if !(0.0..=1.0).contains(&m) {
            self.base.fail(Error::InvalidArgument(format!(
                "Layer {}: `momentum` must be in [0, 1]. Received: momentum={m}",
                self.base.name
            )));
        }
        self.args.momentum = m;
        self
    }

    epsilon_builder!();

    crate::layers::builders::base_builders!();

    /// Rebuilds from a Keras config. Batch renormalization (`renorm: true`) is refused.
    pub fn from_config(cfg: &Value) -> Result<Self> {
        const C: &str = "BatchNormalization";
        let args = BatchNormalizationArgs::read_args(&mut LayerCfg::new(cfg, C))?;
        if args.renorm {
            keras_bail!(Config, "{C}: batch renormalization (renorm=True) is not supported by keras-rs");
        }
        // The builders' checks are the config's checks too.
        let mut l = BatchNormalization::new().momentum(args.momentum).epsilon(args.epsilon);
        l.args = args;
        configured(l, cfg)
    }

    /// The feature axis resolved against `rank`.
    fn resolved_axis(&self, rank: usize) -> Result<usize> {
        let (r, axis) = (rank as isize, self.args.axis.0);
        if axis >= r || axis < -r {
            keras_bail!(
                InvalidArgument,
                "Layer {}: axis {axis} is out of bounds for inputs of rank {rank}. Received: axis={axis}",
                self.base.name
            );
        }
        Ok(if axis < 0 { (axis + r) as usize } else { axis as usize })
    }
}

impl Layer for BatchNormalization {
    layer_common!("BatchNormalization", true, args_config);

    fn build(&mut self, input_shape: &[Option<usize>]) -> Result<()> {
        // A builder error also stops a direct build (not only `Sequential::add`).
        crate::layers::layer::check_pending(self)?;
        let ax = self.resolved_axis(input_shape.len())?;
        let Some(c) = input_shape[ax] else {
            keras_bail!(
                Shape,
                "Layer {}: the feature axis {} of the inputs must be defined, received {}",
                self.base.name,
                self.args.axis.0,
                shape_str(input_shape)
            );
        };
        let name = self.base.name.clone();
        let var = |n: &str, init: &Initializer, trainable: bool| -> Result<Variable> {
            Ok(Variable::new(n, &name, init.initialize(&[c])?, trainable))
        };
        let a = &self.args;
        let gamma = WeightArgs::of(&a.gamma_initializer, &a.gamma_regularizer, &a.gamma_constraint);
        let beta = WeightArgs::of(&a.beta_initializer, &a.beta_regularizer, &a.beta_constraint);
        self.gamma = if a.scale { Some(gamma.variable("gamma", &name, &[c])?) } else { None };
        self.beta = if a.center { Some(beta.variable("beta", &name, &[c])?) } else { None };
        self.moving_mean = Some(var("moving_mean", &a.moving_mean_initializer, false)?);
        self.moving_variance = Some(var("moving_variance", &a.moving_variance_initializer, false)?);
        self.base.build_input_shape = Some(input_shape.to_vec());
        self.base.built = true;
        Ok(())
    }

    fn compute_output_shape(&self, s: &[Option<usize>]) -> Result<Shape> {
        self.resolved_axis(s.len())?;
        Ok(s.to_vec())
    }

    fn call(&self, x: &Tensor, ctx: &mut CallContext) -> Result<Tensor> {
        let (Some(mm), Some(mv)) = (&self.moving_mean, &self.moving_variance) else {
            keras_bail!(State, "Layer {} is not built", self.base.name);
        };
        let c = mm.shape()[0];
        let ax = self.resolved_axis(x.rank())?;
        if x.shape()[ax] != c {
            keras_bail!(
                Shape,
                "Input 0 of layer \"{}\" is incompatible with the layer: expected axis {} of input shape to have value {c}, but received input with shape {:?}",
                self.base.name,
                self.args.axis.0,
                x.shape()
            );
        }
        let gamma = self.gamma.as_ref().map(Variable::value);
        let beta = self.beta.as_ref().map(Variable::value);
        let eps = self.args.epsilon as f32;
        if ctx.training && self.trainable() {
            let (y, mean, var) = ops::batch_norm_train(x, ax as isize, gamma, beta, eps)?;
            let (keep, take) = (self.args.momentum as f32, (1.0 - self.args.momentum) as f32);
            for (v, batch) in [(mm, &mean), (mv, &var)] {
                let old = v.value().as_f32()?;
                let new: Vec<f32> = old.iter().zip(batch.iter()).map(|(o, b)| o * keep + b * take).collect();
                ctx.updates.push((v.path().to_string(), Tensor::new(new, vec![c])?));
            }
            Ok(y)
        } else {
            let (mean, var) = (mm.value().as_f32()?, mv.value().as_f32()?);
            Ok(ops::batch_norm_inference(x, ax as isize, mean, var, gamma, beta, eps)?)
        }
    }

    crate::sublayers!(; gamma, beta, moving_mean, moving_variance);
}

impl BatchNormalization {
    /// The layer at inference as a per-channel map over the last axis of a rank-`rank`
    /// input, for folding into the convolution before it; `None` where the layer
    /// normalizes another axis or is not built.
    pub(crate) fn inference_norm(&self, rank: usize) -> Option<Result<ops::ChannelNorm>> {
        if self.resolved_axis(rank).ok()? + 1 != rank {
            return None;
        }
        let (mm, mv) = (self.moving_mean.as_ref()?, self.moving_variance.as_ref()?);
        fn vals(v: Option<&Variable>) -> keras_engine::Result<Option<&[f32]>> {
            v.map(|v| v.value().as_f32()).transpose()
        }
        Some((|| {
            let (gamma, beta) = (vals(self.gamma.as_ref())?, vals(self.beta.as_ref())?);
            let (mean, var) = (mm.value().as_f32()?, mv.value().as_f32()?);
            Ok(ops::ChannelNorm::new(mean, var, gamma, beta, self.args.epsilon as f32)?)
        })())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::layer::check_pending;

    #[test]
    fn training_updates_moving_statistics_and_inference_uses_them() {
        let mut bn = BatchNormalization::new().momentum(0.5).axis(1);
        bn.build(&[None, Some(2), Some(2)]).unwrap();
        let names: Vec<&str> = bn.weights().iter().map(|w| w.name()).collect();
        assert_eq!(names, ["gamma", "beta", "moving_mean", "moving_variance"]);
        assert_eq!(bn.trainable_weights().len(), 2);
        let x = Tensor::new(vec![1.0, 3.0, 0.0, 0.0, 3.0, 5.0, 2.0, 2.0], [2, 2, 2]).unwrap();
        let mut ctx = CallContext::new(true);
        bn.call(&x, &mut ctx).unwrap();
        assert_eq!(ctx.updates.len(), 2);
        // Channel 0 holds 1, 3, 3, 5 (mean 3, biased variance 2); channel 1 holds 0, 0, 2, 2.
        assert_eq!(ctx.updates[0].0, format!("{}/moving_mean", Layer::name(&bn)));
        assert_eq!(ctx.updates[0].1.as_f32().unwrap(), &[1.5, 0.5]);
        assert_eq!(ctx.updates[1].1.as_f32().unwrap(), &[1.5, 1.0]);
        let mut inf = CallContext::new(false);
        let y = bn.call(&x, &mut inf).unwrap();
        assert!(inf.updates.is_empty());
        assert!((y.as_f32().unwrap()[0] - 1.0 / 1.001f32.sqrt()).abs() < 1e-6);
        bn.set_trainable(false);
        let mut frozen = CallContext::new(true);
        bn.call(&x, &mut frozen).unwrap();
        assert!(frozen.updates.is_empty());
    }

    #[test]
    fn errors_and_config() {
        assert!(check_pending(&BatchNormalization::new().momentum(1.5)).is_err());
        assert!(check_pending(&BatchNormalization::new().epsilon(0.0)).is_err());
        assert!(BatchNormalization::new().axis(3).build(&[None, Some(2)]).is_err());
        assert!(BatchNormalization::new().build(&[None, None]).is_err());
        assert!(BatchNormalization::from_config(&json!({"renorm": true})).is_err());
        assert!(BatchNormalization::from_config(&json!({"momentum": -0.1})).is_err());
        let mut bn = BatchNormalization::new().center(false);
        bn.build(&[None, Some(3)]).unwrap();
        assert_eq!(bn.weights().len(), 3);
        assert!(bn.call(&Tensor::zeros([2, 4]), &mut CallContext::new(false)).is_err());
        let cfg = bn.get_config();
        let keys: Vec<&str> = cfg.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys[3..6], ["axis", "momentum", "epsilon"]);
        assert_eq!(*keys.last().unwrap(), "renorm_momentum");
        assert_eq!(BatchNormalization::from_config(&cfg).unwrap().get_config(), cfg);
    }
}
