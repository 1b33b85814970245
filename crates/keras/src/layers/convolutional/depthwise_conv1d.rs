//! `DepthwiseConv1D`: one filter bank per input channel over sequences, kernel
//! `(kernel_size, in, depth_multiplier)`, output channel `c * depth_multiplier + m` (the 2-D
//! depthwise kernels with a height of 1).

use keras_engine::ops::{self, ConvPadding};
use serde_json::{json, Map, Value};

use crate::activations::Activation;
use crate::initializers::Initializer;
use crate::layers::convolutional::common::{
    built, check_call_input, check_input_spec, init_arg, insert_nulls, negative_output_error,
    positive_tuple_error, refuse_unsupported, strides_dilation_error, tuple_arg, usize_arg, with_activation,
};
use crate::layers::convolutional::conv2d::{conv_output_len, parse_padding};
use crate::layers::convolutional::depthwise_conv2d::depth_multiplier_error;
use crate::layers::layer::{CallContext, Layer, LayerBase, Shape, Variable};
use crate::layers::reshaping::args::{check_channels_last, finish, known, layer_common};
use crate::{Error, Result, Tensor};

/// Window arguments of the 1-D depthwise and separable layers.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Spatial1D {
    pub(crate) kernel_size: usize,
    pub(crate) strides: usize,
    pub(crate) same: bool,
    pub(crate) dilation_rate: usize,
}

impl Spatial1D {
    pub(crate) fn new(kernel_size: usize) -> Self {
        Spatial1D { kernel_size, strides: 1, same: false, dilation_rate: 1 }
    }

    /// The first invalid argument, if any.
    pub(crate) fn error(&self) -> Option<Error> {
        positive_tuple_error("kernel_size", &[self.kernel_size])
            .or_else(|| positive_tuple_error("strides", &[self.strides]))
            .or_else(|| positive_tuple_error("dilation_rate", &[self.dilation_rate]))
            .or_else(|| strides_dilation_error(&[self.strides], &[self.dilation_rate]))
    }

    /// Reads kernel_size / strides / dilation_rate / padding from a config.
    pub(crate) fn from_config(cfg: &Value, layer: &str) -> Result<Self> {
        let same = match cfg.get("padding").and_then(Value::as_str) {
            Some(p) => parse_padding(p, layer)?,
            None => false,
        };
        Ok(Spatial1D {
            kernel_size: tuple_arg(cfg, "kernel_size", 1, 0, true)?[0],
            strides: tuple_arg(cfg, "strides", 1, 1, true)?[0],
            same,
            dilation_rate: tuple_arg(cfg, "dilation_rate", 1, 1, true)?[0],
        })
    }

    pub(crate) fn padding(&self) -> ConvPadding {
        if self.same {
            ConvPadding::Same
        } else {
            ConvPadding::Valid
        }
    }

    /// Output shape `[batch, steps, channels]` for a 3-D input.
    pub(crate) fn output_shape(&self, layer: &str, s: &[Option<usize>], channels: usize) -> Result<Shape> {
        check_input_spec(layer, s, 3)?;
        let steps = match s[1] {
            None => None,
            Some(d) => match (d > 0)
                .then(|| conv_output_len(d, self.kernel_size, self.strides, self.dilation_rate, self.same))
                .flatten()
            {
                Some(o) => Some(o),
                None => {
                    return Err(negative_output_error(layer, s, &[self.kernel_size], &[self.dilation_rate]))
                }
            },
        };
        Ok(vec![s[0], steps, Some(channels)])
    }

    /// Writes kernel_size, strides, padding, data_format, dilation_rate.
    pub(crate) fn write_config(&self, m: &mut Map<String, Value>) {
        m.insert("kernel_size".into(), json!([self.kernel_size]));
        m.insert("strides".into(), json!([self.strides]));
        m.insert("padding".into(), json!(if self.same { "same" } else { "valid" }));
        m.insert("data_format".into(), json!("channels_last"));
        m.insert("dilation_rate".into(), json!([self.dilation_rate]));
    }

    /// The depthwise step on `(n, steps, c)` with a `(k, c, dm)` kernel, through the 2-D
    /// kernels with a height of 1.
    pub(crate) fn depthwise(
        &self,
        x: &Tensor,
        kernel: &Tensor,
        bias: Option<&Tensor>,
        act: ops::Unary,
    ) -> Result<Tensor> {
        let [n, steps, c] = [x.shape()[0], x.shape()[1], x.shape()[2]];
        let dm = kernel.shape()[2];
        let y = ops::depthwise_conv2d(
            &x.reshape([n, 1, steps, c])?,
            &kernel.reshape([1, self.kernel_size, c, dm])?,
            bias,
            [1, self.strides],
            [1, self.dilation_rate],
            self.padding(),
            act,
        )?;
        let out = y.shape()[2];
        Ok(y.reshape([n, out, c * dm])?)
    }
}

const UNSUPPORTED: [&str; 5] = [
    "depthwise_regularizer",
    "bias_regularizer",
    "activity_regularizer",
    "depthwise_constraint",
    "bias_constraint",
];

/// Depthwise 1-D convolution layer (Keras `keras.layers.DepthwiseConv1D`), channels-last.
///
/// ```
/// use keras::layers::DepthwiseConv1D;
/// let dw = DepthwiseConv1D::new(3).depth_multiplier(2).padding("same");
/// ```
pub struct DepthwiseConv1D {
    base: LayerBase,
    depth_multiplier: usize,
    args: Spatial1D,
    activation: Activation,
    use_bias: bool,
    depthwise_initializer: Initializer,
    bias_initializer: Initializer,
    kernel: Option<Variable>,
    bias: Option<Variable>,
}

impl DepthwiseConv1D {
    /// A window of `kernel_size` steps, depth multiplier 1, stride 1, `valid` padding.
    pub fn new(kernel_size: usize) -> Self {
        let mut d = DepthwiseConv1D {
            base: LayerBase::new("depthwise_conv1d"),
            depth_multiplier: 1,
            args: Spatial1D::new(kernel_size),
            activation: Activation::Linear,
            use_bias: true,
            depthwise_initializer: Initializer::glorot_uniform(),
            bias_initializer: Initializer::Zeros,
            kernel: None,
            bias: None,
        };
        d.check();
        d
    }

    fn check(&mut self) {
        if let Some(e) = depth_multiplier_error(self.depth_multiplier).or_else(|| self.args.error()) {
            self.base.fail(e);
        }
    }

    /// Output channels per input channel.
    pub fn depth_multiplier(mut self, dm: usize) -> Self {
        self.depth_multiplier = dm;
        self.check();
        self
    }

    /// Stride.
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

    /// Dilation rate.
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

    crate::layers::builders::base_builders!();

    /// Rebuilds from a Keras config.
    pub fn from_config(cfg: &Value) -> Result<Self> {
        const C: &str = "DepthwiseConv1D";
        check_channels_last(cfg, C)?;
        refuse_unsupported(cfg, &UNSUPPORTED, C)?;
        let mut d = DepthwiseConv1D::new(1);
        d.base.apply_config(cfg);
        d.args = Spatial1D::from_config(cfg, &d.base.name)?;
        d.depth_multiplier = usize_arg(cfg, "depth_multiplier", Some(1), C)?;
        d.check();
        d.activation = Activation::from_config(cfg.get("activation").unwrap_or(&Value::Null))?;
        d.use_bias = cfg.get("use_bias").and_then(Value::as_bool).unwrap_or(true);
        d.depthwise_initializer = init_arg(cfg, "depthwise_initializer", Initializer::glorot_uniform())?;
        d.bias_initializer = init_arg(cfg, "bias_initializer", Initializer::Zeros)?;
        finish(&mut d.base, ())?;
        Ok(d)
    }
}

impl Layer for DepthwiseConv1D {
    layer_common!("DepthwiseConv1D", true);

    fn build(&mut self, input_shape: &[Option<usize>]) -> Result<()> {
        // A builder error also stops a direct build (not only `Sequential::add`).
        crate::layers::layer::check_pending(self)?;
        self.compute_output_shape(input_shape)?;
        let cin = input_shape[2].unwrap_or(0);
        let name = self.base.name.clone();
        let dm = self.depth_multiplier;
        self.kernel = Some(Variable::new(
            "kernel",
            &name,
            self.depthwise_initializer.initialize(&[self.args.kernel_size, cin, dm])?,
            true,
        ));
        self.bias = if self.use_bias {
            Some(Variable::new("bias", &name, self.bias_initializer.initialize(&[cin * dm])?, true))
        } else {
            None
        };
        self.base.build_input_shape = Some(input_shape.to_vec());
        self.base.built = true;
        Ok(())
    }

    fn compute_output_shape(&self, s: &[Option<usize>]) -> Result<Shape> {
        let c = s.get(2).copied().flatten().unwrap_or(0);
        self.args.output_shape(&self.base.name, s, c * self.depth_multiplier)
    }

    fn call(&self, x: &Tensor, _ctx: &mut CallContext) -> Result<Tensor> {
        let kernel = built(&self.kernel, &self.base.name)?;
        check_call_input(&self.base.name, x, 3, kernel.shape()[1])?;
        self.compute_output_shape(&known(x.shape()))?;
        let bias = self.bias.as_ref().map(|b| b.value());
        with_activation(&self.activation, |act| self.args.depthwise(x, kernel.value(), bias, act))
    }

    fn own_weights(&self) -> Vec<&Variable> {
        self.kernel.iter().chain(self.bias.iter()).collect()
    }

    fn own_weights_mut(&mut self) -> Vec<&mut Variable> {
        self.kernel.iter_mut().chain(self.bias.iter_mut()).collect()
    }

    fn get_config(&self) -> Value {
        let mut m = self.base.base_config();
        m.insert("depth_multiplier".into(), json!(self.depth_multiplier));
        self.args.write_config(&mut m);
        m.insert("activation".into(), self.activation.to_config());
        m.insert("use_bias".into(), json!(self.use_bias));
        m.insert("depthwise_initializer".into(), self.depthwise_initializer.to_config());
        m.insert("bias_initializer".into(), self.bias_initializer.to_config());
        insert_nulls(&mut m, &UNSUPPORTED);
        Value::Object(m)
    }
}
