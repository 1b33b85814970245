//! `UnitNormalization`: scales each sample to an L2 norm of 1 over the given axes.

use keras_engine::ops::{self, Unary};
use serde_json::Value;

use crate::layers::layer::{shape_str, CallContext, Layer, LayerBase, Shape};
use crate::layers::layer_args::{Axis, LayerArgs, LayerCfg};
use crate::layers::reshaping::args::{known, layer_common};
use crate::utils::config_args::{config_args, ConfigArg};
use crate::{keras_bail, Error, Result, Tensor};

/// Keras's `epsilon` of `ops.normalize` in this layer: norms below it are clipped.
const EPSILON: f32 = 1e-12;

/// Keras `keras.layers.UnitNormalization`: `x / max(||x||_2, 1e-12)` over `axis` (default the
/// last one), computed as Keras does (`x * min(rsqrt(sum(x^2)), 1e12)`).
///
/// ```
/// use keras::layers::{CallContext, Layer, UnitNormalization};
/// use keras::Tensor;
/// let x = Tensor::new(vec![3.0, 4.0], [1, 2]).unwrap();
/// let y = UnitNormalization::new().call(&x, &mut CallContext::new(false)).unwrap();
/// assert_eq!(y.to_f32_vec(), vec![0.6, 0.8]);
/// ```
pub struct UnitNormalization {
    base: LayerBase,
    args: UnitNormalizationArgs,
}

config_args! {
    /// UnitNormalization's Keras arguments.
    pub(crate) struct UnitNormalizationArgs, family LayerArgs {
        axis: Axis = Axis::one(-1),
    }
}

impl Default for UnitNormalization {
    fn default() -> Self {
        Self::new()
    }
}

impl UnitNormalization {
    /// Normalizes over the last axis.
    pub fn new() -> Self {
        UnitNormalization {
            base: LayerBase::new("unit_normalization"),
            args: UnitNormalizationArgs::defaults(),
        }
    }

    axis_builders!();

    crate::layers::builders::base_builders!();

    /// Rebuilds from a Keras config.
    pub fn from_config(cfg: &Value) -> Result<Self> {
        let args = UnitNormalizationArgs::read_args(&mut LayerCfg::new(cfg, "UnitNormalization"))?;
        let mut l = UnitNormalization { base: LayerBase::new("unit_normalization"), args };
        l.base.apply_config(cfg);
        Ok(l)
    }

    fn resolved_axes(&self, s: &[Option<usize>]) -> Result<Vec<usize>> {
        for &a in &self.args.axis.axes {
            let r = s.len() as isize;
            if a >= r || a < -r {
                keras_bail!(
                    Value,
                    "Axis {} is out of bounds for input shape {}.",
                    self.axis_json(),
                    shape_str(s)
                );
            }
        }
        ops::normalize_axes(&self.args.axis.axes, s.len()).map_err(|e| {
            Error::InvalidArgument(format!(
                "Layer {}: invalid axis={}: {e}",
                self.base.name,
                self.axis_json()
            ))
        })
    }

    fn axis_json(&self) -> Value {
        self.args.axis.to_config()
    }
}

impl Layer for UnitNormalization {
    // Keras builds it at `__init__`: no build_config in a saved model.
    layer_common!("UnitNormalization", false, passes_mask, args_config);

    fn compute_output_shape(&self, s: &[Option<usize>]) -> Result<Shape> {
        self.resolved_axes(s)?;
        Ok(s.to_vec())
    }

    fn call(&self, x: &Tensor, _ctx: &mut CallContext) -> Result<Tensor> {
        let axes = self.resolved_axes(&known(x.shape()))?;
        let mut s = ops::unary(x, Unary::Square)?;
        for &a in &axes {
            s = ops::sum_axis(&s, a as isize, true)?;
        }
        // min(rsqrt(s), 1 / eps) as rsqrt(max(s, eps^2)): same values, and the clipped
        // entries get a zero (not NaN) gradient through the square sum.
        let floor = Tensor::scalar(EPSILON * EPSILON);
        let inv = ops::div(&Tensor::scalar(1.0), &ops::unary(&ops::maximum(&s, &floor)?, Unary::Sqrt)?)?;
        Ok(ops::mul(x, &inv)?)
    }
}
