//! `ActivityRegularization`: the identity, adding an L1/L2 penalty of its input to the loss.

use serde_json::Value;

use crate::layers::layer::{configured, CallContext, Layer, LayerBase};
use crate::layers::layer_args::{LayerArgs, LayerCfg};
use crate::regularizers::Regularizer;
use crate::utils::config_args::config_args;
use crate::{Result, Tensor};

/// Keras `keras.layers.ActivityRegularization`: returns its input unchanged and adds
/// `l1 * sum(|x|) + l2 * sum(x^2)` to the model's loss on every call.
///
/// ```
/// use keras::layers::{ActivityRegularization, Layer};
/// let l = ActivityRegularization::new(0.01, 0.0);
/// assert_eq!(l.get_config()["l1"], 0.01);
/// ```
pub struct ActivityRegularization {
    base: LayerBase,
    args: ActivityRegularizationArgs,
}

config_args! {
    /// ActivityRegularization's Keras arguments, in Keras's `get_config()` order.
    pub(crate) struct ActivityRegularizationArgs, family LayerArgs {
        /// The L1 factor.
        l1: f32 = 0.0,
        /// The L2 factor.
        l2: f32 = 0.0,
    }
}

impl ActivityRegularization {
    /// The penalty factors (both finite and >= 0; Keras defaults 0.0).
    pub fn new(l1: f32, l2: f32) -> Self {
        let mut base = LayerBase::new("activity_regularization");
        match Regularizer::l1_l2(l1, l2) {
            Ok(r) => base.activity_regularizer = Some(r),
            Err(e) => base.fail(e),
        }
        ActivityRegularization { base, args: ActivityRegularizationArgs { l1, l2 } }
    }

    crate::layers::builders::name_builder!();

    /// Rebuilds from a Keras config.
    pub fn from_config(cfg: &Value) -> Result<Self> {
        let a = ActivityRegularizationArgs::read_args(&mut LayerCfg::new(cfg, "ActivityRegularization"))?;
        configured(ActivityRegularization::new(a.l1, a.l2), cfg)
    }
}

impl Layer for ActivityRegularization {
    crate::layers::reshaping::args::layer_common!("ActivityRegularization", false, same_shape);
    /// The identity; the model records the penalty through the layer's activity regularizer.
    fn call(&self, x: &Tensor, _ctx: &mut CallContext) -> Result<Tensor> {
        Ok(x.clone())
    }
    fn get_config(&self) -> Value {
        let mut m = self.base.base_config();
        m.shift_remove("activity_regularizer");
        self.args.write_args(&mut m);
        Value::Object(m)
    }
}
