//! `Conv1D`: 1-D convolution over channels-last sequences (the 2-D kernels with a height
//! of 1), with `valid`, `same` and `causal` padding and `groups`.

use keras_engine::ops::{self, ConvPadding};
use serde_json::{json, Value};

use crate::activations::Activation;
use crate::initializers::Initializer;
use crate::layers::convolutional::common::{
    built, check_call_input, check_input_spec, init_arg, insert_nulls, negative_output_error,
    positive_tuple_error, refuse_unsupported, strides_dilation_error, tuple_arg, usize_arg, with_activation,
};
use crate::layers::layer::{shape_str, CallContext, Layer, LayerBase, Shape, Variable};
use crate::layers::reshaping::args::{check_channels_last, finish, known, layer_common};
use crate::{keras_bail, Error, Result, Tensor};

/// Padding of a 1-D convolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Padding1D {
    /// No padding.
    Valid,
    /// TensorFlow "same" (extra padding at the end).
    Same,
    /// Left padding of `dilation_rate * (kernel_size - 1)`: output `t` sees inputs `<= t`.
    Causal,
}

impl Padding1D {
    /// Parses `"valid"`, `"same"` or `"causal"` (case-insensitive, as Keras).
    pub fn parse(p: &str) -> Result<Self> {
        match p.to_lowercase().as_str() {
            "valid" => Ok(Padding1D::Valid),
            "same" => Ok(Padding1D::Same),
            "causal" => Ok(Padding1D::Causal),
            _ => keras_bail!(
                InvalidArgument,
                "The `padding` argument must be a list/tuple or one of {{\"valid\", \"same\", \"causal\"}}. Received: {p}"
            ),
        }
    }

    /// The Keras name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Padding1D::Valid => "valid",
            Padding1D::Same => "same",
            Padding1D::Causal => "causal",
        }
    }
}

const UNSUPPORTED: [&str; 5] = [
    "kernel_regularizer",
    "bias_regularizer",
    "activity_regularizer",
    "kernel_constraint",
    "bias_constraint",
];

/// 1-D convolution layer (Keras `keras.layers.Conv1D`), channels-last, kernel
/// `(kernel_size, in / groups, filters)`.
///
/// ```
/// use keras::layers::Conv1D;
/// let conv = Conv1D::new(16, 3).padding("causal").dilation_rate(2).activation("relu");
/// ```
pub struct Conv1D {
    base: LayerBase,
    filters: usize,
    kernel_size: usize,
    strides: usize,
    padding: Padding1D,
    dilation_rate: usize,
    groups: usize,
    activation: Activation,
    use_bias: bool,
    kernel_initializer: Initializer,
    bias_initializer: Initializer,
    kernel: Option<Variable>,
    bias: Option<Variable>,
}

impl Conv1D {
    /// `filters` output channels, a window of `kernel_size` steps, stride 1, `valid` padding.
    pub fn new(filters: usize, kernel_size: usize) -> Self {
        let mut base = LayerBase::new("conv1d");
        if filters == 0 {
            base.fail(Error::InvalidArgument(
                "Invalid value for argument `filters`. Expected a strictly positive value. Received filters=0.".into(),
            ));
        }
        if let Some(e) = positive_tuple_error("kernel_size", &[kernel_size]) {
            base.fail(e);
        }
        Conv1D {
            base,
            filters,
            kernel_size,
            strides: 1,
            padding: Padding1D::Valid,
            dilation_rate: 1,
            groups: 1,
            activation: Activation::Linear,
            use_bias: true,
            kernel_initializer: Initializer::glorot_uniform(),
            bias_initializer: Initializer::Zeros,
            kernel: None,
            bias: None,
        }
    }

    fn check(&mut self) {
        if let Some(e) = positive_tuple_error("strides", &[self.strides]) {
            self.base.fail(e);
        }
        if let Some(e) = positive_tuple_error("dilation_rate", &[self.dilation_rate]) {
            self.base.fail(e);
        }
        if let Some(e) = strides_dilation_error(&[self.strides], &[self.dilation_rate]) {
            self.base.fail(e);
        }
    }

    /// Stride.
    pub fn strides(mut self, s: usize) -> Self {
        self.strides = s;
        self.check();
        self
    }

    /// Padding: `"valid"`, `"same"` or `"causal"`.
    pub fn padding(mut self, p: &str) -> Self {
        match Padding1D::parse(p) {
            Ok(p) => self.padding = p,
            Err(e) => self.base.fail(e),
        }
        self
    }

    /// Dilation rate.
    pub fn dilation_rate(mut self, d: usize) -> Self {
        self.dilation_rate = d;
        self.check();
        self
    }

    /// Number of channel groups (must divide the filters and the input channels).
    pub fn groups(mut self, g: usize) -> Self {
        self.groups = g;
        if g == 0 {
            self.base.fail(Error::InvalidArgument(
                "Invalid value for argument `groups`. Expected a strictly positive value. Received groups=0."
                    .into(),
            ));
        } else if !self.filters.is_multiple_of(g) {
            self.base.fail(Error::InvalidArgument(format!(
                "The number of filters must be evenly divisible by the number of groups. Received: groups={g}, filters={}.",
                self.filters
            )));
        }
        self
    }

    crate::layers::builders::conv_builders!(kernel);

    crate::layers::builders::base_builders!();

    /// Rebuilds from a Keras config.
    pub fn from_config(cfg: &Value) -> Result<Self> {
        check_channels_last(cfg, "Conv1D")?;
        refuse_unsupported(cfg, &UNSUPPORTED, "Conv1D")?;
        let filters = usize_arg(cfg, "filters", None, "Conv1D")?;
        let kernel_size = tuple_arg(cfg, "kernel_size", 1, 0, true)?[0];
        let mut c = Conv1D::new(filters, kernel_size);
        c.base.apply_config(cfg);
        c.strides = tuple_arg(cfg, "strides", 1, 1, true)?[0];
        c.dilation_rate = tuple_arg(cfg, "dilation_rate", 1, 1, true)?[0];
        c.check();
        c = c.groups(usize_arg(cfg, "groups", Some(1), "Conv1D")?);
        if let Some(p) = cfg.get("padding").and_then(Value::as_str) {
            c = c.padding(p);
        }
        c.activation = Activation::from_config(cfg.get("activation").unwrap_or(&Value::Null))?;
        c.use_bias = cfg.get("use_bias").and_then(Value::as_bool).unwrap_or(true);
        c.kernel_initializer = init_arg(cfg, "kernel_initializer", Initializer::glorot_uniform())?;
        c.bias_initializer = init_arg(cfg, "bias_initializer", Initializer::Zeros)?;
        finish(&mut c.base, ())?;
        Ok(c)
    }

    /// The engine padding for an input of `steps` (causal: left pad only).
    fn engine_padding(&self) -> ConvPadding {
        match self.padding {
            Padding1D::Valid => ConvPadding::Valid,
            Padding1D::Same => ConvPadding::Same,
            Padding1D::Causal => {
                ConvPadding::Explicit([[0, 0], [self.dilation_rate * self.kernel_size.saturating_sub(1), 0]])
            }
        }
    }
}

impl Layer for Conv1D {
    layer_common!("Conv1D", true);

    fn build(&mut self, input_shape: &[Option<usize>]) -> Result<()> {
        self.compute_output_shape(input_shape)?;
        let cin = input_shape[2].unwrap_or(0);
        let name = self.base.name.clone();
        self.kernel = Some(Variable::new(
            "kernel",
            &name,
            self.kernel_initializer.initialize(&[self.kernel_size, cin / self.groups, self.filters])?,
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
        let cin = check_input_spec(&self.base.name, s, 3)?;
        if self.groups == 0 || !cin.is_multiple_of(self.groups) {
            keras_bail!(
                InvalidArgument,
                "The number of input channels must be evenly divisible by the number of groups. Received groups={}, but the input has {cin} channels (full input shape is {}).",
                self.groups,
                shape_str(s)
            );
        }
        let steps = match s[1] {
            None => None,
            Some(l) => Some(match self.padding {
                Padding1D::Same | Padding1D::Causal => (l.max(1) - 1) / self.strides.max(1) + 1,
                Padding1D::Valid => {
                    let span = self.dilation_rate * (self.kernel_size.max(1) - 1) + 1;
                    if l < span {
                        return Err(negative_output_error(
                            &self.base.name,
                            s,
                            &[self.kernel_size],
                            &[self.dilation_rate],
                        ));
                    }
                    (l - span) / self.strides.max(1) + 1
                }
            }),
        };
        if s[1] == Some(0) {
            keras_bail!(Shape, "Layer {}: the input has no steps, received {}", self.base.name, shape_str(s));
        }
        Ok(vec![s[0], steps, Some(self.filters)])
    }

    fn call(&self, x: &Tensor, _ctx: &mut CallContext) -> Result<Tensor> {
        let kernel = built(&self.kernel, &self.base.name)?;
        check_call_input(&self.base.name, x, 3, kernel.shape()[1] * self.groups)?;
        self.compute_output_shape(&known(x.shape()))?;
        let [n, steps, c] = [x.shape()[0], x.shape()[1], x.shape()[2]];
        let x4 = x.reshape([n, 1, steps, c])?;
        let k4 = kernel.value().reshape([1, self.kernel_size, c / self.groups, self.filters])?;
        let bias = self.bias.as_ref().map(|b| b.value());
        let y = with_activation(&self.activation, |act| {
            Ok(ops::conv2d_ext(
                &x4,
                &k4,
                bias,
                [1, self.strides],
                [1, self.dilation_rate],
                self.engine_padding(),
                self.groups,
                act,
            )?)
        })?;
        let out = y.shape()[2];
        Ok(y.reshape([n, out, self.filters])?)
    }

    fn own_weights(&self) -> Vec<&Variable> {
        self.kernel.iter().chain(self.bias.iter()).collect()
    }

    fn own_weights_mut(&mut self) -> Vec<&mut Variable> {
        self.kernel.iter_mut().chain(self.bias.iter_mut()).collect()
    }

    fn get_config(&self) -> Value {
        let mut m = self.base.base_config();
        m.insert("filters".into(), json!(self.filters));
        m.insert("kernel_size".into(), json!([self.kernel_size]));
        m.insert("strides".into(), json!([self.strides]));
        m.insert("padding".into(), json!(self.padding.as_str()));
        m.insert("data_format".into(), json!("channels_last"));
        m.insert("dilation_rate".into(), json!([self.dilation_rate]));
        m.insert("groups".into(), json!(self.groups));
        m.insert("activation".into(), self.activation.to_config());
        m.insert("use_bias".into(), json!(self.use_bias));
        m.insert("kernel_initializer".into(), self.kernel_initializer.to_config());
        m.insert("bias_initializer".into(), self.bias_initializer.to_config());
        insert_nulls(&mut m, &UNSUPPORTED);
        Value::Object(m)
    }
}
