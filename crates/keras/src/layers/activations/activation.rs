//! `Activation`: applies an activation function as a layer.

use serde_json::Value;

use crate::activations::Activation as ActivationFn;
use crate::layers::layer::{CallContext, Layer, LayerBase};
use crate::layers::layer_args::{LayerArgs, LayerCfg};
use crate::utils::config_args::config_args;
use crate::{Result, Tensor};

/// Keras `keras.layers.Activation`.
pub struct Activation {
    base: LayerBase,
    args: ActivationArgs,
}

config_args! {
    /// Activation's Keras arguments.
    pub(crate) struct ActivationArgs, family LayerArgs {
        activation: ActivationFn,
    }
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
        Activation { base, args: ActivationArgs { activation } }
    }

    /// An activation layer from an activation object.
    pub fn from_fn(activation: ActivationFn) -> Self {
        Activation { base: LayerBase::new("activation"), args: ActivationArgs { activation } }
    }

    crate::layers::builders::name_builder!();
    /// Rebuilds from a Keras config.
    pub fn from_config(cfg: &Value) -> Result<Self> {
        let args = ActivationArgs::read_args(&mut LayerCfg::new(cfg, "Activation"))?;
        let mut l = Activation::from_fn(args.activation);
        l.base.apply_config(cfg);
        Ok(l)
    }
}

impl Layer for Activation {
    crate::layers::reshaping::args::layer_common!("Activation", false, same_shape, passes_mask, args_config);
    fn call(&self, x: &Tensor, _ctx: &mut CallContext) -> Result<Tensor> {
        self.args.activation.apply(x)
    }
}

impl Activation {
    /// The element-wise function this layer applies, if it is one (softmax is not), for
    /// fusing into a convolution at inference.
    pub(crate) fn elementwise(&self) -> Option<keras_engine::ops::Unary> {
        self.args.activation.unary()
    }
}
