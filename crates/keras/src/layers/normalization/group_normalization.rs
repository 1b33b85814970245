//! `GroupNormalization`: normalizes groups of channels of each sample (one group per channel
//! is instance normalization, a single group is close to layer normalization).

use keras_engine::ops::{self, Unary};
use serde_json::Value;

use crate::layers::layer::{configured, shape_str, CallContext, Layer, LayerBase, Shape, Variable};
use crate::layers::layer_args::LayerCfg;
use crate::layers::reshaping::args::layer_common;
use crate::layers::weight_args::WeightArgs;
use crate::{keras_bail, Error, Result, Tensor};

/// Keras `keras.layers.GroupNormalization`: the channels of `axis` (default the last) are
/// split into `groups` groups; each group of each sample is normalized with its own mean and
/// variance (over the group's channels and every other non-batch axis), then scaled by `gamma`
/// and shifted by `beta` (one per channel). `groups=-1` means one group per channel.
///
/// ```
/// use keras::layers::{CallContext, GroupNormalization, Layer};
/// use keras::Tensor;
/// let mut gn = GroupNormalization::new(2);
/// gn.build(&[None, Some(3), Some(4)]).unwrap();
/// let y = gn.call(&Tensor::ones([1, 3, 4]), &mut CallContext::new(false)).unwrap();
/// assert_eq!(y.shape(), &[1, 3, 4]);
/// ```
pub struct GroupNormalization {
    base: LayerBase,
    args: GroupNormalizationArgs,
    gamma: Option<Variable>,
    beta: Option<Variable>,
}

norm_args! {
    /// GroupNormalization's Keras arguments, in Keras's `get_config()` order.
    pub(crate) struct GroupNormalizationArgs in GroupNormalization.args {
        groups: i64 = 32,
        /// The channel axis (default -1).
        axis: isize = -1; builder axis(axis: isize),
        @epsilon_center_scale,
        @beta_gamma_initializers,
        @beta_gamma_penalties,
    }
}

impl GroupNormalization {
    /// `groups` groups (Keras's default is 32; `-1` for one group per channel), axis -1,
    /// epsilon 1e-3, center and scale.
    pub fn new(groups: i64) -> Self {
        let mut base = LayerBase::new("group_normalization");
        if groups <= 0 && groups != -1 {
            base.fail(Error::InvalidArgument(format!(
                "Received an invalid value for argument `groups`, expected a positive integer (or `-1` for instance normalization). Received: groups={groups}"
            )));
        }
        GroupNormalization {
            base,
            args: GroupNormalizationArgs { groups, ..GroupNormalizationArgs::defaults() },
            gamma: None,
            beta: None,
        }
    }

    /// Added to the variance before the square root.
    pub fn epsilon(mut self, epsilon: f64) -> Self {
        self.args.epsilon = epsilon;
        self
    }

    crate::layers::builders::base_builders!();

    /// Rebuilds from a Keras config.
    pub fn from_config(cfg: &Value) -> Result<Self> {
        let args = GroupNormalizationArgs::read_args(&mut LayerCfg::new(cfg, "GroupNormalization"))?;
        // The constructor's check of `groups` is the config's check too.
        let mut l = GroupNormalization::new(args.groups);
        l.args = args;
        configured(l, cfg)
    }

    /// The channel axis as a position, or Keras's out-of-bounds error.
    fn channel_axis(&self, s: &[Option<usize>]) -> Result<usize> {
        let r = s.len() as isize;
        if self.args.axis >= r || self.args.axis < -r || r < 2 {
            keras_bail!(
                Value,
                "Axis {} is out of bounds for input shape {}. Received: axis={}",
                self.args.axis,
                shape_str(s),
                self.args.axis
            );
        }
        Ok(if self.args.axis < 0 { (self.args.axis + r) as usize } else { self.args.axis as usize })
    }

    /// The number of groups for `dim` channels (`-1`: one per channel) after Keras's checks.
    fn group_count(&self, dim: usize) -> Result<usize> {
        let groups = if self.args.groups == -1 { dim } else { self.args.groups.max(1) as usize };
        if dim < groups {
            keras_bail!(
                Value,
                "Number of groups ({groups}) cannot be more than the number of channels ({dim})."
            );
        }
        if !dim.is_multiple_of(groups) {
            keras_bail!(
                Value,
                "Number of groups ({groups}) must be a multiple of the number of channels ({dim})."
            );
        }
        Ok(groups)
    }
}

impl Layer for GroupNormalization {
    layer_common!("GroupNormalization", true, passes_mask, args_config);

    fn build(&mut self, input_shape: &[Option<usize>]) -> Result<()> {
        crate::layers::layer::check_pending(self)?;
        let a = self.channel_axis(input_shape)?;
        let Some(dim) = input_shape[a] else {
            keras_bail!(
                Value,
                "Axis {} of input tensor should have a defined dimension but the layer received an input with shape {}.",
                self.args.axis,
                shape_str(input_shape)
            );
        };
        // Keras resolves `groups=-1` to the channel count when it builds.
        self.args.groups = self.group_count(dim)? as i64;
        let name = self.base.name.clone();
        let a = &self.args;
        let gamma = WeightArgs::of(&a.gamma_initializer, &a.gamma_regularizer, &a.gamma_constraint);
        let beta = WeightArgs::of(&a.beta_initializer, &a.beta_regularizer, &a.beta_constraint);
        self.gamma = if a.scale { Some(gamma.variable("gamma", &name, &[dim])?) } else { None };
        self.beta = if a.center { Some(beta.variable("beta", &name, &[dim])?) } else { None };
        self.base.build_input_shape = Some(input_shape.to_vec());
        self.base.built = true;
        Ok(())
    }

    fn compute_output_shape(&self, s: &[Option<usize>]) -> Result<Shape> {
        self.channel_axis(s)?;
        Ok(s.to_vec())
    }

    fn call(&self, x: &Tensor, _ctx: &mut CallContext) -> Result<Tensor> {
        let Some(built) = &self.base.build_input_shape else {
            keras_bail!(State, "Layer {} is not built", self.base.name);
        };
        let shape = x.shape().to_vec();
        let a = self.channel_axis(&crate::layers::reshaping::args::known(&shape))?;
        let want = built.get(a).copied().flatten();
        if x.rank() != built.len() || Some(shape[a]) != want {
            keras_bail!(
                Shape,
                "Input 0 of layer \"{}\" is incompatible with the layer: expected axis {} of input shape to have value {}, but received input with shape {:?}",
                self.base.name,
                self.args.axis,
                want.unwrap_or(0),
                shape
            );
        }
        let dim = shape[a];
        let g = self.group_count(dim)?;
        // (.., C, ..) -> (.., G, C / G, ..); statistics over every axis but batch and G.
        let mut grouped = shape.clone();
        grouped[a] = dim / g;
        grouped.insert(a, g);
        let xg = x.reshape(grouped.clone())?;
        let axes: Vec<isize> = (1..grouped.len()).filter(|&i| i != a).map(|i| i as isize).collect();
        let mean = ops::mean_axes(&xg, &axes, true)?;
        // tf.nn.moments: the variance around a constant (stop_gradient) mean.
        let diff = ops::sub(&xg, &mean.detach())?;
        let var = ops::mean_axes(&ops::unary(&diff, Unary::Square)?, &axes, true)?;
        let mut bshape = vec![1; grouped.len()];
        bshape[a] = g;
        bshape[a + 1] = dim / g;
        let std = ops::unary(&ops::add(&var, &Tensor::scalar(self.args.epsilon as f32))?, Unary::Sqrt)?;
        let mut inv = ops::div(&Tensor::scalar(1.0), &std)?;
        if let Some(gamma) = &self.gamma {
            inv = ops::mul(&inv, &gamma.value().reshape(bshape.clone())?)?;
        }
        let mut res = ops::mul(&ops::unary(&mean, Unary::Neg)?, &inv)?;
        if let Some(beta) = &self.beta {
            res = ops::add(&res, &beta.value().reshape(bshape)?)?;
        }
        let y = ops::add(&ops::mul(&xg, &inv)?, &res)?;
        Ok(y.reshape(shape)?)
    }

    crate::sublayers!(; gamma, beta);
}
