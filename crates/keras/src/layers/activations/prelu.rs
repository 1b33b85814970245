//! `PReLU`: a leaky rectifier whose slopes are learned.

use keras_engine::ops::{self, Unary};
use serde_json::{json, Value};

use crate::constraints::Constraint;
use crate::initializers::Initializer;
use crate::layers::layer::{shape_str, CallContext, Layer, LayerBase, Variable};
use crate::layers::layer_args::{LayerArgs, LayerCfg};
use crate::layers::reshaping::args::{finish, layer_common};
use crate::layers::weight_args::WeightArgs;
use crate::regularizers::Regularizer;
use crate::utils::config_args::{config_args, ConfigArg};
use crate::{keras_bail, Error, Result, Tensor};

/// Keras `keras.layers.PReLU`: `relu(x) - alpha * relu(-x)` with a trainable `alpha` of the
/// input shape without batch, size 1 along `shared_axes` (1-based, as Keras).
pub struct PReLU {
    base: LayerBase,
    args: PReLUArgs,
    alpha: Option<Variable>,
}

config_args! {
    /// PReLU's Keras arguments, in Keras's `get_config()` order.
    pub(crate) struct PReLUArgs in PReLU.args, family LayerArgs {
        /// The slopes' initializer (default zeros).
        alpha_initializer: Initializer = Initializer::Zeros;
            builder alpha_initializer(alpha_initializer: Initializer),
        /// Penalty on the slopes added to the training loss (Keras `alpha_regularizer`).
        alpha_regularizer: Option<Regularizer> = None;
            builder alpha_regularizer(regularizer: Regularizer) => Some(regularizer),
        /// Constraint applied to the slopes after each optimizer update (Keras
        /// `alpha_constraint`).
        alpha_constraint: Option<Constraint> = None;
            builder alpha_constraint(constraint: Constraint) => Some(constraint),
        shared_axes: SharedAxes = SharedAxes(None),
    }
}

/// PReLU's `shared_axes`: `None`, or the axes (Keras turns an int into a one-axis list).
#[derive(Clone, Debug, Default)]
pub(crate) struct SharedAxes(Option<Vec<usize>>);

/// `null`, an int or a list of ints.
impl ConfigArg<LayerArgs> for SharedAxes {
    fn to_config(&self) -> Value {
        json!(self.0)
    }
    fn from_config(src: &mut LayerCfg<'_>, key: &str, default: Option<Self>) -> Result<Self> {
        let axes = match src.cfg.get(key) {
            None | Some(Value::Null) => return Ok(default.unwrap_or_default()),
            Some(Value::Array(a)) => {
                a.iter().map(|v| v.as_u64().map(|x| x as usize)).collect::<Option<Vec<_>>>()
            }
            Some(n) => n.as_u64().map(|a| vec![a as usize]),
        };
        match axes {
            Some(axes) => Ok(SharedAxes(Some(axes))),
            None => keras_bail!(Config, "{}: invalid {key}={}", src.class, src.cfg[key]),
        }
    }
}

impl Default for PReLU {
    fn default() -> Self {
        Self::new()
    }
}

impl PReLU {
    /// A PReLU with zero-initialized slopes, none shared.
    pub fn new() -> Self {
        PReLU { base: LayerBase::new("p_re_lu"), args: PReLUArgs::defaults(), alpha: None }
    }

    /// Axes (1-based, batch excluded) along which one slope is shared (e.g. `[1, 2]` for
    /// per-channel slopes of images).
    pub fn shared_axes(mut self, axes: &[usize]) -> Self {
        if axes.contains(&0) {
            self.base.fail(Error::InvalidArgument(format!(
                "PReLU: `shared_axes` count from 1 (the batch axis cannot be shared). Received: shared_axes={axes:?}"
            )));
        }
        self.args.shared_axes = SharedAxes(Some(axes.to_vec()));
        self
    }

    crate::layers::builders::base_builders!();

    /// Rebuilds from a Keras config.
    pub fn from_config(cfg: &Value) -> Result<Self> {
        let args = PReLUArgs::read_args(&mut LayerCfg::new(cfg, "PReLU"))?;
        let mut l = PReLU::new();
        l.base.apply_config(cfg);
        // The builder's check of the axes is the config's check too.
        if let Some(axes) = args.shared_axes.0.clone() {
            l = l.shared_axes(&axes);
        }
        l.args = args;
        finish(&mut l.base, ()).map(|_| l)
    }

    fn alpha_shape(&self, s: &[Option<usize>]) -> Result<Vec<usize>> {
        if s.len() < 2 {
            keras_bail!(
                Shape,
                "Layer {} expects inputs of rank >= 2, received {}",
                self.base.name,
                shape_str(s)
            );
        }
        let mut shape: Vec<Option<usize>> = s[1..].to_vec();
        for &a in self.args.shared_axes.0.iter().flatten() {
            if a == 0 || a > shape.len() {
                keras_bail!(
                    InvalidArgument,
                    "Layer {}: shared_axes={:?} is out of range for inputs of shape {}",
                    self.base.name,
                    self.args.shared_axes.0,
                    shape_str(s)
                );
            }
            shape[a - 1] = Some(1);
        }
        shape.into_iter().collect::<Option<Vec<usize>>>().ok_or_else(|| {
            Error::Shape(format!(
                "Layer {} needs known non-shared dimensions, received {}",
                self.base.name,
                shape_str(s)
            ))
        })
    }
}

impl Layer for PReLU {
    layer_common!("PReLU", true, same_shape, args_config);

    fn build(&mut self, input_shape: &[Option<usize>]) -> Result<()> {
        // A builder error also stops a direct build (not only `Sequential::add`).
        crate::layers::layer::check_pending(self)?;
        let shape = self.alpha_shape(input_shape)?;
        let name = self.base.name.clone();
        let a = &self.args;
        let alpha = WeightArgs::of(&a.alpha_initializer, &a.alpha_regularizer, &a.alpha_constraint);
        self.alpha = Some(alpha.variable("alpha", &name, &shape)?);
        self.base.build_input_shape = Some(input_shape.to_vec());
        self.base.built = true;
        Ok(())
    }

    fn call(&self, x: &Tensor, _ctx: &mut CallContext) -> Result<Tensor> {
        let alpha = self
            .alpha
            .as_ref()
            .ok_or_else(|| Error::State(format!("Layer {} is not built", self.base.name)))?;
        if x.rank() != alpha.shape().len() + 1
            || ops::broadcast_shapes(&x.shape()[1..], alpha.shape()).ok().as_deref() != Some(&x.shape()[1..])
        {
            keras_bail!(
                Shape,
                "Input 0 of layer \"{}\" is incompatible with the layer: alpha has shape {:?}, received input with shape {:?}",
                self.base.name,
                alpha.shape(),
                x.shape()
            );
        }
        let pos = ops::unary(x, Unary::Relu)?;
        let neg = ops::unary(&ops::unary(x, Unary::Neg)?, Unary::Relu)?;
        Ok(ops::sub(&pos, &ops::mul(alpha.value(), &neg)?)?)
    }

    crate::sublayers!(; alpha);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::layer::check_pending;
    use keras_engine::testing::check_grad;

    #[test]
    fn prelu_shapes_grads_and_errors() {
        let mut l = PReLU::new().shared_axes(&[1]);
        l.build(&[None, Some(3), Some(2)]).unwrap();
        assert_eq!(l.weights()[0].shape(), &[1, 2]);
        l.set_weights(&[Tensor::new(vec![0.1, 0.5], [1, 2]).unwrap()]).unwrap();
        let x =
            Tensor::new(vec![-1.0, 2.0, 3.0, -4.0, -0.5, 0.7, 1.0, -2.0, 0.3, 0.2, -0.1, -0.9], [2, 3, 2])
                .unwrap();
        let y = l.call(&x, &mut CallContext::new(false)).unwrap();
        assert_eq!(&y.as_f32().unwrap()[..4], &[-0.1, 2.0, 3.0, -2.0]);
        let alpha = Tensor::new(vec![0.1, 0.5], [1, 2]).unwrap();
        check_grad(
            &[&x, &alpha],
            |v| {
                let pos = ops::unary(v[0], Unary::Relu)?;
                let neg = ops::unary(&ops::unary(v[0], Unary::Neg)?, Unary::Relu)?;
                ops::sub(&pos, &ops::mul(v[1], &neg)?)
            },
            1e-2,
        );
        let cfg = l.get_config();
        assert_eq!(cfg["shared_axes"], json!([1]));
        assert_eq!(PReLU::from_config(&cfg).unwrap().get_config(), cfg);
        assert!(check_pending(&PReLU::new().shared_axes(&[0])).is_err());
        assert!(PReLU::new().shared_axes(&[3]).build(&[None, Some(3), Some(2)]).is_err());
        assert!(PReLU::new().build(&[None]).is_err());
        assert!(l.call(&Tensor::zeros([2, 3, 5]), &mut CallContext::new(false)).is_err());
    }

    #[test]
    fn slope_regularizer_and_constraint_round_trip() {
        let l = PReLU::new()
            .alpha_regularizer(Regularizer::l2(0.01).unwrap())
            .alpha_constraint(Constraint::NonNeg);
        let cfg = l.get_config();
        assert!(cfg["alpha_regularizer"].is_object() && cfg["alpha_constraint"].is_object(), "{cfg}");
        assert_eq!(PReLU::from_config(&cfg).unwrap().get_config(), cfg);
        assert!(
            PReLU::from_config(&json!({"shared_axes": 2})).unwrap().get_config()["shared_axes"] == json!([2])
        );
        assert!(PReLU::from_config(&json!({"shared_axes": "x"})).is_err());
        assert!(PReLU::from_config(&json!({"shared_axes": [0]})).is_err());
    }
}
