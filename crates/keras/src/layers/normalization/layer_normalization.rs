//! `LayerNormalization`: normalizes each sample over the given axes.

use keras_engine::ops;
use serde_json::{json, Value};

use crate::initializers::Initializer;
use crate::layers::layer::{shape_str, CallContext, Layer, LayerBase, Shape, Variable};
use crate::layers::reshaping::args::{bool_arg, finish, layer_common};
use crate::layers::weight_args::{write_weight_args, WeightArgs};
use crate::{keras_bail, Error, Result, Tensor};

use super::shared_config::{
    beta_gamma, read_beta_gamma, read_epsilon_center_scale, write_epsilon_center_scale,
};

/// Keras `keras.layers.LayerNormalization` over `axis` (default the last one): each slice
/// along those axes is normalized with its own mean and variance, then scaled by `gamma`
/// and shifted by `beta` (shaped like those axes). With the deprecated `rms_scaling=True`
/// (kept for Keras files that use it) the input is only divided by `sqrt(variance + epsilon)`
/// and scaled by `gamma`, without centering and without `beta`, exactly as Keras computes it.
pub struct LayerNormalization {
    base: LayerBase,
    axis: Vec<isize>,
    axis_is_int: bool,
    epsilon: f64,
    center: bool,
    scale: bool,
    rms_scaling: bool,
    beta_args: WeightArgs,
    gamma_args: WeightArgs,
    gamma: Option<Variable>,
    beta: Option<Variable>,
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
            axis: vec![-1],
            axis_is_int: true,
            epsilon: 1e-3,
            center: true,
            scale: true,
            rms_scaling: false,
            beta_args: WeightArgs::new(Initializer::Zeros),
            gamma_args: WeightArgs::new(Initializer::Ones),
            gamma: None,
            beta: None,
        }
    }

    /// Normalize over one axis.
    pub fn axis(mut self, axis: isize) -> Self {
        self.axis = vec![axis];
        self.axis_is_int = true;
        self
    }

    /// Normalize over several axes.
    pub fn axes(mut self, axes: &[isize]) -> Self {
        if axes.is_empty() {
            self.base.fail(Error::InvalidArgument(format!(
                "Layer {}: `axis` must name at least one axis. Received: axis=[]",
                self.base.name
            )));
        }
        self.axis = axes.to_vec();
        self.axis_is_int = false;
        self
    }

    crate::setters::setters! {
        /// Keras's deprecated `rms_scaling`: scale by `rsqrt(variance + epsilon)` and `gamma`
        /// only (no mean subtraction, no `beta`; `gamma` exists even with `scale=False`).
        rms_scaling: bool,
    }

    crate::layers::builders::base_builders!();

    /// Rebuilds from a Keras config.
    pub fn from_config(cfg: &Value) -> Result<Self> {
        const C: &str = "LayerNormalization";
        let mut l = LayerNormalization::new();
        match cfg.get("axis") {
            None => {}
            Some(Value::Number(n)) if n.as_i64().is_some() => l = l.axis(n.as_i64().unwrap_or(-1) as isize),
            Some(Value::Array(a)) => {
                let axes = a
                    .iter()
                    .map(|v| v.as_i64().map(|x| x as isize))
                    .collect::<Option<Vec<isize>>>()
                    .ok_or_else(|| {
                    Error::Config(format!("{C}: `axis` must hold integers, received axis={}", json!(a)))
                })?;
                l = l.axes(&axes);
            }
            Some(other) => keras_bail!(
                Config,
                "Expected an int or a list/tuple of ints for the argument 'axis', but received: {other}"
            ),
        }
        l = l.rms_scaling(bool_arg(cfg, "rms_scaling", false, C)?);
        let (epsilon, center, scale) = read_epsilon_center_scale(cfg, C)?;
        l = l.epsilon(epsilon).center(center).scale(scale);
        l.base.apply_config(cfg);
        (l.beta_args, l.gamma_args) = read_beta_gamma(cfg)?;
        finish(&mut l.base, ()).map(|_| l)
    }

    /// The normalized axes, resolved and sorted, or an error naming the layer.
    fn resolved_axes(&self, s: &[Option<usize>]) -> Result<Vec<usize>> {
        ops::normalize_axes(&self.axis, s.len()).map_err(|e| {
            Error::InvalidArgument(format!(
                "Layer {}: invalid axis={:?} for inputs of shape {}: {e}",
                self.base.name,
                self.axis,
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
        let std = ops::unary(&ops::add(&var, &Tensor::scalar(self.epsilon as f32))?, ops::Unary::Sqrt)?;
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

norm_options!(LayerNormalization { epsilon, beta_gamma });

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
                    self.axis,
                    shape_str(input_shape)
                ))
            })?;
        let name = self.base.name.clone();
        self.gamma = if self.scale || self.rms_scaling {
            Some(self.gamma_args.variable("gamma", &name, &shape)?)
        } else {
            None
        };
        self.beta = if self.center && !self.rms_scaling {
            Some(self.beta_args.variable("beta", &name, &shape)?)
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
        if self.rms_scaling {
            return self.rms_scaled(x, &axes);
        }
        let gamma = self.gamma.as_ref().map(Variable::value);
        let beta = self.beta.as_ref().map(Variable::value);
        Ok(ops::layer_norm(x, &self.axis, gamma, beta, self.epsilon as f32)?)
    }

    fn own_weights(&self) -> Vec<&Variable> {
        self.gamma.iter().chain(self.beta.iter()).collect()
    }

    fn own_weights_mut(&mut self) -> Vec<&mut Variable> {
        self.gamma.iter_mut().chain(self.beta.iter_mut()).collect()
    }

    fn get_config(&self) -> Value {
        let mut m = self.base.base_config();
        // Keras turns an int axis into a list when the layer is built.
        let axis = if self.axis_is_int && !self.base.built { json!(self.axis[0]) } else { json!(self.axis) };
        m.insert("axis".into(), axis);
        write_epsilon_center_scale(&mut m, self.epsilon, self.center, self.scale);
        m.insert("rms_scaling".into(), json!(self.rms_scaling));
        write_weight_args(&mut m, beta_gamma(&self.beta_args, &self.gamma_args).into_iter(), None);
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
        assert_eq!(LayerNormalization::from_config(&cfg).unwrap().axis, vec![-1]);
    }
}
