//! `Activation`: applies an activation function as a layer.

use serde_json::Value;

use crate::activations::Activation as ActivationFn;
use crate::layers::layer::{CallContext, Layer, LayerBase};
use crate::{Result, Tensor};

/// Keras `keras.layers.Activation`.
pub struct Activation {
    base: LayerBase,
    activation: ActivationFn,
}

impl Activation {
    /// An activation layer from a Keras name (`"softmax"`).
    pub fn new(name: &str) -> Self {
        let mut base = LayerBase::new("activation");
        let activation = match ActivationFn::from_name(name) {
            Ok(a) => a,
            Err(e) => {
                base.fail(e);
                ActivationFn::Linear
            }
        };
        Activation { base, activation }
    }

    /// An activation layer from an activation object.
    pub fn from_fn(activation: ActivationFn) -> Self {
        Activation { base: LayerBase::new("activation"), activation }
    }

    crate::layers::builders::name_builder!();
    /// Rebuilds from a Keras config.
    pub fn from_config(cfg: &Value) -> Result<Self> {
        let a = crate::layers::reshaping::args::required(cfg, "activation", "Activation")?;
        let mut l = Activation::from_fn(ActivationFn::from_config(a)?);
        l.base.apply_config(cfg);
        Ok(l)
    }
}

impl Layer for Activation {
    crate::layers::reshaping::args::layer_common!("Activation", false, same_shape, passes_mask);
    fn call(&self, x: &Tensor, _ctx: &mut CallContext) -> Result<Tensor> {
        self.activation.apply(x)
    }
    fn get_config(&self) -> Value {
        let mut m = self.base.base_config();
        m.insert("activation".into(), self.activation.to_config());
        Value::Object(m)
    }
}

impl Activation {
    /// The element-wise function this layer applies, if it is one (softmax is not), for
    /// fusing into a convolution at inference.
    pub(crate) fn elementwise(&self) -> Option<keras_engine::ops::Unary> {
        self.activation.unary()
    }
}
