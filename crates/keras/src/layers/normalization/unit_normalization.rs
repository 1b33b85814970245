//! `UnitNormalization`: scales each sample to an L2 norm of 1 over the given axes.

use keras_engine::ops::{self, Unary};
use serde_json::{json, Value};

use crate::layers::layer::{shape_str, CallContext, Layer, LayerBase, Shape};
use crate::layers::reshaping::args::{known, layer_common};
use crate::{keras_bail, Error, Result, Tensor};

/// Keras's `epsilon` of `ops.normalize` in this layer: norms below it are clipped.
const EPSILON: f32 = 1e-12;

/// Reads Keras's `axis` argument: an int (kept as an int in the config) or a list of ints.
pub(crate) fn axis_arg(cfg: &Value, default: isize, what: &str) -> Result<(Vec<isize>, bool)> {
    match cfg.get("axis") {
        None => Ok((vec![default], true)),
        Some(Value::Number(n)) if n.as_i64().is_some() => Ok((vec![n.as_i64().unwrap_or(-1) as isize], true)),
        Some(Value::Array(a)) => {
            let axes = a.iter().map(|v| v.as_i64().map(|x| x as isize)).collect::<Option<Vec<isize>>>();
            match axes {
                Some(axes) => Ok((axes, false)),
                None => Err(Error::Config(format!("{what}. Received: axis={}", json!(a)))),
            }
        }
        Some(other) => Err(Error::Config(format!("{what}. Received: axis={other}"))),
    }
}

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
    axis: Vec<isize>,
    axis_is_int: bool,
}

impl Default for UnitNormalization {
    fn default() -> Self {
        Self::new()
    }
}

impl UnitNormalization {
    /// Normalizes over the last axis.
    pub fn new() -> Self {
        UnitNormalization { base: LayerBase::new("unit_normalization"), axis: vec![-1], axis_is_int: true }
    }

    /// Normalize over one axis.
    pub fn axis(mut self, axis: isize) -> Self {
        self.axis = vec![axis];
        self.axis_is_int = true;
        self
    }

    /// Normalize over several axes together.
    pub fn axes(mut self, axes: &[isize]) -> Self {
        self.axis = axes.to_vec();
        self.axis_is_int = false;
        self
    }

    crate::layers::builders::base_builders!();

    /// Rebuilds from a Keras config.
    pub fn from_config(cfg: &Value) -> Result<Self> {
        let (axis, is_int) =
            axis_arg(cfg, -1, "Invalid value for `axis` argument: expected an int or a list/tuple of ints")?;
        let mut l = UnitNormalization::new();
        l.axis = axis;
        l.axis_is_int = is_int;
        l.base.apply_config(cfg);
        Ok(l)
    }

    fn resolved_axes(&self, s: &[Option<usize>]) -> Result<Vec<usize>> {
        for &a in &self.axis {
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
        ops::normalize_axes(&self.axis, s.len()).map_err(|e| {
            Error::InvalidArgument(format!(
                "Layer {}: invalid axis={}: {e}",
                self.base.name,
                self.axis_json()
            ))
        })
    }

    fn axis_json(&self) -> Value {
        if self.axis_is_int {
            json!(self.axis[0])
        } else {
            json!(self.axis)
        }
    }
}

impl Layer for UnitNormalization {
    // Keras builds it at `__init__`: no build_config in a saved model.
    layer_common!("UnitNormalization", false, passes_mask);

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

    fn get_config(&self) -> Value {
        let mut m = self.base.base_config();
        m.insert("axis".into(), self.axis_json());
        Value::Object(m)
    }
}
