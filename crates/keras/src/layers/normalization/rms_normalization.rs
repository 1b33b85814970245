//! `RMSNormalization`: `x * rsqrt(mean(square(x), axis) + epsilon) * scale`.

use keras_engine::ops;
use serde_json::Value;

use crate::initializers::Initializer;
use crate::layers::layer::{shape_str, CallContext, Layer, LayerBase, Shape, Variable};
use crate::layers::layer_args::{Axis, LayerArgs, LayerCfg};
use crate::layers::reshaping::args::layer_common;
use crate::layers::weight_args::WeightArgs;
use crate::utils::config_args::config_args;
use crate::{keras_bail, Error, Result, Tensor};

/// Keras `keras.layers.RMSNormalization` (Zhang & Sennrich, 2019): each slice along `axis` is
/// divided by its root mean square, then multiplied by the learned `scale` (shaped like the
/// normalized axes, initialized to ones). There is no centering and no offset.
///
/// As in Keras, `scale` multiplies the normalized input with NumPy broadcasting (aligned on
/// the trailing axes), so a normalized axis other than the last ones works only where its
/// size lines up with the trailing axes; otherwise the call is Keras's shape error.
///
/// ```
/// use keras::layers::{CallContext, Layer, RMSNormalization};
/// use keras::Tensor;
///
/// let mut norm = RMSNormalization::new();
/// norm.build(&[None, Some(4)])?;
/// let x = Tensor::new(vec![1.0, 2.0, 3.0, 4.0], [1, 4])?;
/// let y = norm.call(&x, &mut CallContext::new(false))?;
/// let rms = (30.0f32 / 4.0 + 1e-6).sqrt();
/// assert!((y.to_f32_vec()[3] - 4.0 / rms).abs() < 1e-6);
/// # Ok::<(), keras::Error>(())
/// ```
pub struct RMSNormalization {
    base: LayerBase,
    args: RMSNormalizationArgs,
    scale: Option<Variable>,
}

config_args! {
    /// RMSNormalization's Keras arguments.
    pub(crate) struct RMSNormalizationArgs in RMSNormalization.args, family LayerArgs {
        axis: Axis = Axis::one(-1),
        /// Added to the mean square before the square root (default 1e-6).
        epsilon: f64 = 1e-6; builder epsilon(epsilon: f64),
    }
}

impl Default for RMSNormalization {
    fn default() -> Self {
        Self::new()
    }
}

impl RMSNormalization {
    /// Keras defaults: the last axis, epsilon 1e-6.
    pub fn new() -> Self {
        RMSNormalization {
            base: LayerBase::new("rms_normalization"),
            args: RMSNormalizationArgs::defaults(),
            scale: None,
        }
    }

    axis_builders!();

    crate::layers::builders::base_builders!();

    /// Rebuilds the layer from its Keras config.
    pub fn from_config(cfg: &Value) -> Result<Self> {
        let mut l = RMSNormalization::new();
        l.args = RMSNormalizationArgs::read_args(&mut LayerCfg::new(cfg, "RMSNormalization"))?;
        l.base.apply_config(cfg);
        Ok(l)
    }

    /// The normalized axes of an input of `s`'s rank, in Keras's order (the list sorted as
    /// given, negative axes counted from the end), or Keras's out-of-bounds error.
    fn axes_for(&self, s: &[Option<usize>]) -> Result<Vec<usize>> {
        let mut given = self.args.axis.axes.clone();
        given.sort_unstable();
        let rank = s.len() as isize;
        given
            .iter()
            .map(|&a| {
                if a >= rank || a < -rank {
                    keras_bail!(
                        Value,
                        "Axis {a} is out of bounds for input shape {}. Received: axis={}",
                        shape_str(s),
                        crate::utils::config_args::ConfigArg::<LayerArgs>::to_config(&self.args.axis)
                    );
                }
                Ok(if a < 0 { (a + rank) as usize } else { a as usize })
            })
            .collect()
    }
}

impl Layer for RMSNormalization {
    layer_common!("RMSNormalization", true);

    fn build(&mut self, input_shape: &[Option<usize>]) -> Result<()> {
        // A builder error also stops a direct build (not only `Sequential::add`).
        crate::layers::layer::check_pending(self)?;
        let axes = self.axes_for(input_shape)?;
        let shape =
            axes.iter().map(|&a| input_shape[a]).collect::<Option<Vec<usize>>>().ok_or_else(|| {
                Error::Shape(format!(
                    "Layer {}: the normalized axes must be defined, received input_shape={}",
                    self.base.name,
                    shape_str(input_shape)
                ))
            })?;
        let name = self.base.name.clone();
        self.scale = Some(WeightArgs::new(Initializer::Ones).variable("scale", &name, &shape)?);
        // Keras keeps the axis as a sorted list once built, and writes it so.
        let mut sorted = self.args.axis.axes.clone();
        sorted.sort_unstable();
        self.args.axis = Axis::list(&sorted);
        self.base.build_input_shape = Some(input_shape.to_vec());
        self.base.built = true;
        Ok(())
    }

    fn compute_output_shape(&self, s: &[Option<usize>]) -> Result<Shape> {
        self.axes_for(s)?;
        Ok(s.to_vec())
    }

    fn call(&self, x: &Tensor, _ctx: &mut CallContext) -> Result<Tensor> {
        let scale = self
            .scale
            .as_ref()
            .ok_or_else(|| Error::State(format!("Layer {} is not built", self.base.name)))?;
        let known: Vec<Option<usize>> = x.shape().iter().map(|&d| Some(d)).collect();
        let axes: Vec<isize> = self.axes_for(&known)?.into_iter().map(|a| a as isize).collect();
        let mean_square = ops::mean_axes(&ops::unary(x, ops::Unary::Square)?, &axes, true)?;
        let rms = ops::unary(
            &ops::add(&mean_square, &Tensor::scalar(self.args.epsilon as f32))?,
            ops::Unary::Sqrt,
        )?;
        let normalized = ops::div(x, &rms)?;
        ops::mul(&normalized, scale.value()).map_err(|e| {
            Error::Shape(format!(
                "Layer {}: the scale of shape {:?} does not broadcast against the input of shape {:?} \
                 (Keras multiplies with NumPy broadcasting, aligned on the trailing axes): {e}",
                self.base.name,
                scale.shape(),
                x.shape()
            ))
        })
    }

    crate::sublayers!(; scale);

    crate::layers::reshaping::args::layer_common!(@args_config);
}
