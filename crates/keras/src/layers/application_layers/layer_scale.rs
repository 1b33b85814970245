//! `LayerScale` (ConvNeXt): a learned per-channel scale.

use serde_json::Value;

use crate::layers::layer::{CallContext, Layer, LayerBase, Variable};
use crate::layers::layer_args::{LayerArgs, LayerCfg};
use crate::utils::config_args::config_args;
use crate::{ops, Error, Result, Tensor};

/// Keras's ConvNeXt `LayerScale(init_values, projection_dim)`: `x * gamma` with a trainable
/// `gamma` of shape `(projection_dim,)` starting at `init_values` (Keras names the weight
/// `variable`, as it is made by an unnamed `add_weight`).
pub struct LayerScale {
    base: LayerBase,
    args: LayerScaleArgs,
    gamma: Option<Variable>,
}

config_args! {
    /// LayerScale's Keras arguments, in Keras's `get_config()` order.
    pub(crate) struct LayerScaleArgs, family LayerArgs {
        init_values: f32,
        projection_dim: usize,
    }
}

impl LayerScale {
    /// A scale of `projection_dim` channels starting at `init_values`.
    pub fn new(init_values: f32, projection_dim: usize) -> Self {
        let args = LayerScaleArgs { init_values, projection_dim };
        LayerScale { base: LayerBase::new("layer_scale"), args, gamma: None }
    }

    crate::layers::builders::name_builder!();

    /// Rebuilds from a Keras config.
    pub fn from_config(cfg: &Value) -> Result<Self> {
        let args = LayerScaleArgs::read_args(&mut LayerCfg::new(cfg, "LayerScale"))?;
        let mut l = LayerScale { base: LayerBase::new("layer_scale"), args, gamma: None };
        l.base.apply_config(cfg);
        Ok(l)
    }
}

impl Layer for LayerScale {
    crate::layers::reshaping::args::layer_common!("LayerScale", true, same_shape, args_config);
    fn build(&mut self, input_shape: &[Option<usize>]) -> Result<()> {
        let gamma = Tensor::full(vec![self.args.projection_dim], self.args.init_values);
        self.gamma = Some(Variable::new("variable", &self.base.name, gamma, true));
        self.base.build_input_shape = Some(input_shape.to_vec());
        self.base.built = true;
        Ok(())
    }
    fn call(&self, x: &Tensor, _ctx: &mut CallContext) -> Result<Tensor> {
        let g = self
            .gamma
            .as_ref()
            .ok_or_else(|| Error::State(format!("Layer {} is not built", self.base.name)))?;
        Ok(ops::mul(x, g.value())?)
    }
    crate::sublayers!(; gamma);
    fn serialize(&self) -> Value {
        super::serialize_app_layer(self, "keras.src.applications.convnext")
    }
}
