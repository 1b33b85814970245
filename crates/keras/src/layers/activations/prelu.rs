//! `PReLU`: a leaky rectifier whose slopes are learned.

use keras_engine::ops::{self, Unary};
use serde_json::{json, Value};

use crate::initializers::Initializer;
use crate::layers::layer::{shape_str, CallContext, Layer, LayerBase, Variable};
use crate::layers::reshaping::args::{finish, layer_common};
use crate::{keras_bail, Error, Result, Tensor};

/// Keras `keras.layers.PReLU`: `relu(x) - alpha * relu(-x)` with a trainable `alpha` of the
/// input shape without batch, size 1 along `shared_axes` (1-based, as Keras).
pub struct PReLU {
    base: LayerBase,
    alpha_initializer: Initializer,
    shared_axes: Option<Vec<usize>>,
    alpha: Option<Variable>,
}

impl Default for PReLU {
    fn default() -> Self {
        Self::new()
    }
}

impl PReLU {
    /// A PReLU with zero-initialized slopes, none shared.
    pub fn new() -> Self {
        PReLU {
            base: LayerBase::new("p_re_lu"),
            alpha_initializer: Initializer::Zeros,
            shared_axes: None,
            alpha: None,
        }
    }

    /// Axes (1-based, batch excluded) along which one slope is shared (e.g. `[1, 2]` for
    /// per-channel slopes of images).
    pub fn shared_axes(mut self, axes: &[usize]) -> Self {
        if axes.contains(&0) {
            self.base.fail(Error::InvalidArgument(format!(
                "PReLU: `shared_axes` count from 1 (the batch axis cannot be shared). Received: shared_axes={axes:?}"
            )));
        }
        self.shared_axes = Some(axes.to_vec());
        self
    }

    crate::setters::setters! {
        /// The slopes' initializer (default zeros).
        alpha_initializer: Initializer,
    }

    /// `input_shape` (without batch) for the first layer of a Sequential model.
    pub fn input_shape(mut self, shape: &[usize]) -> Self {
        self.base.input_shape = Some(shape.to_vec());
        self
    }

    crate::layers::builders::name_builder!();

    /// Rebuilds from a Keras config.
    pub fn from_config(cfg: &Value) -> Result<Self> {
        let mut l = PReLU::new();
        l.base.apply_config(cfg);
        if let Some(v) = cfg.get("alpha_initializer") {
            l.alpha_initializer = Initializer::from_config(v)?;
        }
        match cfg.get("shared_axes") {
            None | Some(Value::Null) => {}
            Some(Value::Number(n)) => {
                let a = n.as_u64().ok_or_else(|| Error::Config(format!("PReLU: invalid shared_axes={n}")))?;
                l = l.shared_axes(&[a as usize]);
            }
            Some(Value::Array(a)) => {
                let axes = a
                    .iter()
                    .map(|v| v.as_u64().map(|x| x as usize))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| Error::Config(format!("PReLU: invalid shared_axes={}", json!(a))))?;
                l = l.shared_axes(&axes);
            }
            Some(other) => keras_bail!(Config, "PReLU: invalid shared_axes={other}"),
        }
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
        for &a in self.shared_axes.iter().flatten() {
            if a == 0 || a > shape.len() {
                keras_bail!(
                    InvalidArgument,
                    "Layer {}: shared_axes={:?} is out of range for inputs of shape {}",
                    self.base.name,
                    self.shared_axes,
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
    layer_common!("PReLU", true, same_shape);

    fn build(&mut self, input_shape: &[Option<usize>]) -> Result<()> {
        // A builder error also stops a direct build (not only `Sequential::add`).
        crate::layers::layer::check_pending(self)?;
        let shape = self.alpha_shape(input_shape)?;
        let name = self.base.name.clone();
        self.alpha = Some(Variable::new("alpha", &name, self.alpha_initializer.initialize(&shape)?, true));
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

    fn own_weights(&self) -> Vec<&Variable> {
        self.alpha.iter().collect()
    }

    fn own_weights_mut(&mut self) -> Vec<&mut Variable> {
        self.alpha.iter_mut().collect()
    }

    fn get_config(&self) -> Value {
        let mut m = self.base.base_config();
        m.insert("alpha_initializer".into(), self.alpha_initializer.to_config());
        m.insert("alpha_regularizer".into(), Value::Null);
        m.insert("alpha_constraint".into(), Value::Null);
        m.insert("shared_axes".into(), self.shared_axes.as_ref().map_or(Value::Null, |a| json!(a)));
        Value::Object(m)
    }
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
}
