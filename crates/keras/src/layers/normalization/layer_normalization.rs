//! `LayerNormalization`: normalizes each sample over the given axes.

use keras_engine::ops;
use serde_json::{json, Value};

use crate::layers::layer::{configured, shape_str, CallContext, Layer, LayerBase, Shape, Variable};
use crate::layers::layer_args::{Axis, LayerCfg};
use crate::layers::reshaping::args::layer_common;
use crate::layers::weight_args::WeightArgs;
use crate::{keras_bail, Error, Result, Tensor};

/// Keras `keras.layers.LayerNormalization` over `axis` (default the last one): each slice
/// along those axes is normalized with its own mean and variance, then scaled by `gamma`
/// and shifted by `beta` (shaped like those axes). With the deprecated `rms_scaling=True`
/// (kept for Keras files that use it) the input is only divided by `sqrt(variance + epsilon)`
/// and scaled by `gamma`, without centering and without `beta`, exactly as Keras computes it.
pub struct LayerNormalization {
    base: LayerBase,
    args: LayerNormalizationArgs,
    gamma: Option<Variable>,
    beta: Option<Variable>,
}

norm_args! {
    /// LayerNormalization's Keras arguments, in Keras's `get_config()` order.
    pub(crate) struct LayerNormalizationArgs in LayerNormalization.args {
        /// An int or a list (Keras writes a list once the layer is built).
        axis: Axis = Axis::one(-1),
        @epsilon_center_scale,
        /// Keras's deprecated `rms_scaling`: scale by `rsqrt(variance + epsilon)` and `gamma`
        /// only (no mean subtraction, no `beta`; `gamma` exists even with `scale=False`).
        rms_scaling: bool = false; builder rms_scaling(rms_scaling: bool),
        @beta_gamma_initializers,
        @beta_gamma_penalties,
    }
}

impl Default for LayerNormalization {
    fn default() -> Self {
        Self::new()
    }
}

impl LayerNormalization {
    /// Keras defaults: axis -1, epsilon 1e-3, center and scale.
    pub fn new() -> Self {
        LayerNormalization {
            base: LayerBase::new("layer_normalization"),
            args: LayerNormalizationArgs::defaults(),
            gamma: None,
            beta: None,
        }
    }

    axis_builders!();

    epsilon_builder!();

    crate::layers::builders::base_builders!();

    /// Rebuilds from a Keras config.
    pub fn from_config(cfg: &Value) -> Result<Self> {
        let args = LayerNormalizationArgs::read_args(&mut LayerCfg::new(cfg, "LayerNormalization"))?;
        // The builders' checks are the config's checks too.
        let mut l = LayerNormalization::new().epsilon(args.epsilon);
        if args.axis.is_list {
            l = l.axes(&args.axis.axes);
        }
        l.args = args;
        configured(l, cfg)
    }

    /// The normalized axes, resolved and sorted, or an error naming the layer.
    fn resolved_axes(&self, s: &[Option<usize>]) -> Result<Vec<usize>> {
        ops::normalize_axes(&self.args.axis.axes, s.len()).map_err(|e| {
            Error::InvalidArgument(format!(
                "Layer {}: invalid axis={:?} for inputs of shape {}: {e}",
                self.base.name,
                self.args.axis.axes,
                shape_str(s)
            ))
        })
    }
}

impl LayerNormalization {
    /// Keras's `rms_scaling` branch: `x * rsqrt(var(x) + epsilon) * gamma`.
    fn rms_scaled(&self, x: &Tensor, axes: &[usize]) -> Result<Tensor> {
        let axes: Vec<isize> = axes.iter().map(|&a| a as isize).collect();
        let mean = ops::mean_axes(x, &axes, true)?;
        // tf.nn.moments: the variance around a constant (stop_gradient) mean.
        let diff = ops::sub(x, &mean.detach())?;
        let var = ops::mean_axes(&ops::unary(&diff, ops::Unary::Square)?, &axes, true)?;
        let std = ops::unary(&ops::add(&var, &Tensor::scalar(self.args.epsilon as f32))?, ops::Unary::Sqrt)?;
        let mut y = ops::mul(x, &ops::div(&Tensor::scalar(1.0), &std)?)?;
        if let Some(gamma) = &self.gamma {
            let mut bshape = vec![1; x.rank()];
            for &a in &axes {
                bshape[a as usize] = x.shape()[a as usize];
            }
            y = ops::mul(&y, &gamma.value().reshape(bshape)?)?;
        }
        Ok(y)
    }
}

impl Layer for LayerNormalization {
    layer_common!("LayerNormalization", true);

    fn build(&mut self, input_shape: &[Option<usize>]) -> Result<()> {
        // A builder error also stops a direct build (not only `Sequential::add`).
        crate::layers::layer::check_pending(self)?;
        let axes = self.resolved_axes(input_shape)?;
        let shape =
            axes.iter().map(|&a| input_shape[a]).collect::<Option<Vec<usize>>>().ok_or_else(|| {
                Error::Shape(format!(
                    "Layer {}: the normalized axes {:?} must be defined, received {}",
                    self.base.name,
                    self.args.axis.axes,
                    shape_str(input_shape)
                ))
            })?;
        let name = self.base.name.clone();
        let a = &self.args;
        self.gamma = if a.scale || a.rms_scaling {
            let gamma = WeightArgs::of(&a.gamma_initializer, &a.gamma_regularizer, &a.gamma_constraint);
            Some(gamma.variable("gamma", &name, &shape)?)
        } else {
            None
        };
        self.beta = if a.center && !a.rms_scaling {
            let beta = WeightArgs::of(&a.beta_initializer, &a.beta_regularizer, &a.beta_constraint);
            Some(beta.variable("beta", &name, &shape)?)
        } else {
            None
        };
        self.base.build_input_shape = Some(input_shape.to_vec());
        self.base.built = true;
        Ok(())
    }

    fn compute_output_shape(&self, s: &[Option<usize>]) -> Result<Shape> {
        self.resolved_axes(s)?;
        Ok(s.to_vec())
    }

    fn call(&self, x: &Tensor, _ctx: &mut CallContext) -> Result<Tensor> {
        if !self.base.built {
            keras_bail!(State, "Layer {} is not built", self.base.name);
        }
        let known: Vec<Option<usize>> = x.shape().iter().map(|&d| Some(d)).collect();
        let axes = self.resolved_axes(&known)?;
        let want: Vec<usize> = axes.iter().map(|&a| x.shape()[a]).collect();
        if let Some(w) = self.gamma.as_ref().or(self.beta.as_ref()) {
            if w.shape() != want.as_slice() {
                keras_bail!(
                    Shape,
                    "Input 0 of layer \"{}\" is incompatible with the layer: normalized axes of shape {want:?}, weights of shape {:?} (input shape {:?})",
                    self.base.name,
                    w.shape(),
                    x.shape()
                );
            }
        }
        if self.args.rms_scaling {
            return self.rms_scaled(x, &axes);
        }
        let gamma = self.gamma.as_ref().map(Variable::value);
        let beta = self.beta.as_ref().map(Variable::value);
        Ok(ops::layer_norm(x, &self.args.axis.axes, gamma, beta, self.args.epsilon as f32)?)
    }

    crate::sublayers!(; gamma, beta);

    fn get_config(&self) -> Value {
        let mut m = self.base.base_config();
        self.args.write_args(&mut m);
        // Keras turns an int axis into a list when the layer is built.
        if self.base.built {
            m.insert("axis".into(), json!(self.args.axis.axes));
        }
        Value::Object(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::layer::check_pending;

    #[test]
    fn normalizes_rows_and_checks_arguments() {
        let mut ln = LayerNormalization::new();
        ln.build(&[None, Some(4)]).unwrap();
        let x = Tensor::new(vec![1.0, 2.0, 3.0, 4.0, 0.0, 0.0, 0.0, 8.0], [2, 4]).unwrap();
        let y = ln.call(&x, &mut CallContext::new(false)).unwrap();
        let row: f32 = y.as_f32().unwrap()[..4].iter().sum();
        assert!(row.abs() < 1e-5);
        assert_eq!(ln.get_config()["axis"], json!([-1]));
        assert!(ln.call(&Tensor::zeros([2, 3]), &mut CallContext::new(false)).is_err());
        let mut multi = LayerNormalization::from_config(&json!({"axis": [1, 2], "center": false})).unwrap();
        multi.build(&[None, Some(2), Some(3)]).unwrap();
        assert_eq!(multi.weights().len(), 1);
        assert_eq!(multi.weights()[0].shape(), &[2, 3]);
        assert!(LayerNormalization::new().axis(2).build(&[None, Some(3)]).is_err());
        assert!(LayerNormalization::new().axes(&[1, 1]).build(&[None, Some(3)]).is_err());
        assert!(check_pending(&LayerNormalization::new().axes(&[])).is_err());
        assert!(check_pending(&LayerNormalization::new().epsilon(-1.0)).is_err());
        let mut rms = LayerNormalization::from_config(&json!({"rms_scaling": true})).unwrap();
        rms.build(&[None, Some(3)]).unwrap();
        assert_eq!(rms.weights().len(), 1, "rms_scaling has gamma only");
        assert_eq!(rms.get_config()["rms_scaling"], json!(true));
        assert!(LayerNormalization::from_config(&json!({"axis": "last"})).is_err());
        let cfg = ln.get_config();
        assert_eq!(LayerNormalization::from_config(&cfg).unwrap().args.axis.axes, vec![-1]);
    }
}
