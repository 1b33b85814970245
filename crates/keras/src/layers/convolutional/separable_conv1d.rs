//! `SeparableConv1D`: a depthwise 1-D convolution followed by a pointwise (size 1)
//! convolution. Weights `depthwise_kernel (k, in, depth_multiplier)`,
//! `pointwise_kernel (1, in * depth_multiplier, filters)`, `bias (filters)`.

use keras_engine::ops::{self, Unary};
use serde_json::{json, Value};

use crate::activations::Activation;
use crate::initializers::Initializer;
use crate::layers::convolutional::common::{
    built, check_call_input, init_arg, insert_nulls, refuse_unsupported, usize_arg, with_activation,
};
use crate::layers::convolutional::conv2d::parse_padding;
use crate::layers::convolutional::depthwise_conv1d::Spatial1D;
use crate::layers::convolutional::depthwise_conv2d::depth_multiplier_error;
use crate::layers::layer::{CallContext, Layer, LayerBase, Shape, Variable};
use crate::layers::reshaping::args::{check_channels_last, finish, known, layer_common};
use crate::{Error, Result, Tensor};

const UNSUPPORTED: [&str; 7] = [
    "depthwise_regularizer",
    "pointwise_regularizer",
    "bias_regularizer",
    "activity_regularizer",
    "depthwise_constraint",
    "pointwise_constraint",
    "bias_constraint",
];

/// Depthwise-separable 1-D convolution layer (Keras `keras.layers.SeparableConv1D`).
///
/// ```
/// use keras::layers::SeparableConv1D;
/// let sep = SeparableConv1D::new(32, 3).padding("same").activation("relu");
/// ```
pub struct SeparableConv1D {
    base: LayerBase,
    depth_multiplier: usize,
    filters: usize,
    args: Spatial1D,
    activation: Activation,
    use_bias: bool,
    depthwise_initializer: Initializer,
    pointwise_initializer: Initializer,
    bias_initializer: Initializer,
    depthwise_kernel: Option<Variable>,
    pointwise_kernel: Option<Variable>,
    bias: Option<Variable>,
}

impl SeparableConv1D {
    /// `filters` output channels, a depthwise window of `kernel_size` steps, depth multiplier
    /// 1, stride 1, `valid` padding.
    pub fn new(filters: usize, kernel_size: usize) -> Self {
        let mut s = SeparableConv1D {
            base: LayerBase::new("separable_conv1d"),
            depth_multiplier: 1,
            filters,
            args: Spatial1D::new(kernel_size),
            activation: Activation::Linear,
            use_bias: true,
            depthwise_initializer: Initializer::glorot_uniform(),
            pointwise_initializer: Initializer::glorot_uniform(),
            bias_initializer: Initializer::Zeros,
            depthwise_kernel: None,
            pointwise_kernel: None,
            bias: None,
        };
        s.check();
        s
    }

    fn check(&mut self) {
        if self.filters == 0 {
            self.base.fail(Error::InvalidArgument(
                "Invalid value for argument `filters`. Expected a strictly positive value. Received filters=0.".into(),
            ));
        }
        if let Some(e) = depth_multiplier_error(self.depth_multiplier).or_else(|| self.args.error()) {
            self.base.fail(e);
        }
    }

    /// Depthwise output channels per input channel.
    pub fn depth_multiplier(mut self, dm: usize) -> Self {
        self.depth_multiplier = dm;
        self.check();
        self
    }

    /// Stride of the depthwise step.
    pub fn strides(mut self, s: usize) -> Self {
        self.args.strides = s;
        self.check();
        self
    }

    /// Padding: `"valid"` or `"same"`.
    pub fn padding(mut self, p: &str) -> Self {
        match parse_padding(p, &self.base.name) {
            Ok(same) => self.args.same = same,
            Err(e) => self.base.fail(e),
        }
        self
    }

    /// Dilation rate of the depthwise step.
    pub fn dilation_rate(mut self, d: usize) -> Self {
        self.args.dilation_rate = d;
        self.check();
        self
    }

    crate::layers::builders::conv_builders!();

    /// Depthwise kernel initializer.
    pub fn depthwise_initializer(mut self, i: Initializer) -> Self {
        self.depthwise_initializer = i;
        self
    }

    /// Pointwise kernel initializer.
    pub fn pointwise_initializer(mut self, i: Initializer) -> Self {
        self.pointwise_initializer = i;
        self
    }

    crate::layers::builders::base_builders!();

    /// Rebuilds from a Keras config.
    pub fn from_config(cfg: &Value) -> Result<Self> {
        const C: &str = "SeparableConv1D";
        check_channels_last(cfg, C)?;
        refuse_unsupported(cfg, &UNSUPPORTED, C)?;
        let filters = usize_arg(cfg, "filters", None, C)?;
        let mut s = SeparableConv1D::new(filters, 1);
        s.base.apply_config(cfg);
        s.args = Spatial1D::from_config(cfg, &s.base.name)?;
        s.depth_multiplier = usize_arg(cfg, "depth_multiplier", Some(1), C)?;
        s.check();
        s.activation = Activation::from_config(cfg.get("activation").unwrap_or(&Value::Null))?;
        s.use_bias = cfg.get("use_bias").and_then(Value::as_bool).unwrap_or(true);
        s.depthwise_initializer = init_arg(cfg, "depthwise_initializer", Initializer::glorot_uniform())?;
        s.pointwise_initializer = init_arg(cfg, "pointwise_initializer", Initializer::glorot_uniform())?;
        s.bias_initializer = init_arg(cfg, "bias_initializer", Initializer::Zeros)?;
        finish(&mut s.base, ())?;
        Ok(s)
    }
}

impl Layer for SeparableConv1D {
    layer_common!("SeparableConv1D", true);

    fn build(&mut self, input_shape: &[Option<usize>]) -> Result<()> {
        // A builder error also stops a direct build (not only `Sequential::add`).
        crate::layers::layer::check_pending(self)?;
        self.compute_output_shape(input_shape)?;
        let cin = input_shape[2].unwrap_or(0);
        let name = self.base.name.clone();
        let dm = self.depth_multiplier;
        self.depthwise_kernel = Some(Variable::new(
            "depthwise_kernel",
            &name,
            self.depthwise_initializer.initialize(&[self.args.kernel_size, cin, dm])?,
            true,
        ));
        self.pointwise_kernel = Some(Variable::new(
            "pointwise_kernel",
            &name,
            self.pointwise_initializer.initialize(&[1, cin * dm, self.filters])?,
            true,
        ));
        self.bias = if self.use_bias {
            Some(Variable::new("bias", &name, self.bias_initializer.initialize(&[self.filters])?, true))
        } else {
            None
        };
        self.base.build_input_shape = Some(input_shape.to_vec());
        self.base.built = true;
        Ok(())
    }

    fn compute_output_shape(&self, s: &[Option<usize>]) -> Result<Shape> {
        self.args.output_shape(&self.base.name, s, self.filters)
    }

    fn call(&self, x: &Tensor, _ctx: &mut CallContext) -> Result<Tensor> {
        let dk = built(&self.depthwise_kernel, &self.base.name)?;
        let pk = built(&self.pointwise_kernel, &self.base.name)?;
        check_call_input(&self.base.name, x, 3, dk.shape()[1])?;
        self.compute_output_shape(&known(x.shape()))?;
        let mid = self.args.depthwise(x, dk.value(), None, Unary::Linear)?;
        let [n, steps, cm] = [mid.shape()[0], mid.shape()[1], mid.shape()[2]];
        let bias = self.bias.as_ref().map(|b| b.value());
        let y = with_activation(&self.activation, |act| {
            Ok(ops::conv2d(
                &mid.reshape([n, 1, steps, cm])?,
                &pk.value().reshape([1, 1, cm, self.filters])?,
                bias,
                [1, 1],
                [1, 1],
                false,
                act,
            )?)
        })?;
        Ok(y.reshape([n, steps, self.filters])?)
    }

    fn own_weights(&self) -> Vec<&Variable> {
        self.depthwise_kernel.iter().chain(self.pointwise_kernel.iter()).chain(self.bias.iter()).collect()
    }

    fn own_weights_mut(&mut self) -> Vec<&mut Variable> {
        self.depthwise_kernel
            .iter_mut()
            .chain(self.pointwise_kernel.iter_mut())
            .chain(self.bias.iter_mut())
            .collect()
    }

    fn get_config(&self) -> Value {
        let mut m = self.base.base_config();
        m.insert("depth_multiplier".into(), json!(self.depth_multiplier));
        m.insert("filters".into(), json!(self.filters));
        self.args.write_config(&mut m);
        m.insert("activation".into(), self.activation.to_config());
        m.insert("use_bias".into(), json!(self.use_bias));
        m.insert("depthwise_initializer".into(), self.depthwise_initializer.to_config());
        m.insert("pointwise_initializer".into(), self.pointwise_initializer.to_config());
        m.insert("bias_initializer".into(), self.bias_initializer.to_config());
        insert_nulls(&mut m, &UNSUPPORTED);
        Value::Object(m)
    }
}
