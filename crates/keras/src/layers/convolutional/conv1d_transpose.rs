//! `Conv1DTranspose`: transposed 1-D convolution over channels-last sequences, kernel
//! `(kernel_size, filters, in)` (the 2-D kernels with a height of 1).

use keras_engine::ops;
use serde_json::{json, Value};

use crate::activations::Activation;
use crate::initializers::Initializer;
use crate::layers::convolutional::common::{
    built, check_call_input, check_input_spec, init_arg, insert_nulls, positive_tuple_error,
    refuse_unsupported, strides_dilation_error, tuple_arg, usize_arg, with_activation,
};
use crate::layers::convolutional::conv2d::parse_padding;
use crate::layers::layer::{CallContext, Layer, LayerBase, Shape, Variable};
use crate::layers::reshaping::args::{check_channels_last, finish, int_tuple, layer_common};
use crate::{Error, Result, Tensor};

const UNSUPPORTED: [&str; 5] = [
    "kernel_regularizer",
    "bias_regularizer",
    "activity_regularizer",
    "kernel_constraint",
    "bias_constraint",
];

/// Transposed 1-D convolution layer (Keras `keras.layers.Conv1DTranspose`). Output steps:
/// `in * stride + max(k - stride, 0)` for `valid`, `in * stride` for `same`, or
/// `(in - 1) * stride + k - 2 * pad + output_padding` when `output_padding` is set.
///
/// ```
/// use keras::layers::Conv1DTranspose;
/// let up = Conv1DTranspose::new(8, 3).strides(2).padding("same");
/// ```
pub struct Conv1DTranspose {
    base: LayerBase,
    filters: usize,
    kernel_size: usize,
    strides: usize,
    same: bool,
    output_padding: Option<usize>,
    dilation_rate: usize,
    activation: Activation,
    use_bias: bool,
    kernel_initializer: Initializer,
    bias_initializer: Initializer,
    kernel: Option<Variable>,
    bias: Option<Variable>,
}

impl Conv1DTranspose {
    /// `filters` output channels, a window of `kernel_size` steps, stride 1, `valid` padding.
    pub fn new(filters: usize, kernel_size: usize) -> Self {
        let mut base = LayerBase::new("conv1d_transpose");
        if filters == 0 {
            base.fail(Error::InvalidArgument(
                "Invalid value for argument `filters`. Expected a strictly positive value. Received filters=0.".into(),
            ));
        }
        if let Some(e) = positive_tuple_error("kernel_size", &[kernel_size]) {
            base.fail(e);
        }
        Conv1DTranspose {
            base,
            filters,
            kernel_size,
            strides: 1,
            same: false,
            output_padding: None,
            dilation_rate: 1,
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
        if let Some(op) = self.output_padding {
            if op >= self.strides {
                self.base.fail(Error::InvalidArgument(format!(
                    "`output_padding` must be strictly less than `strides` for all dimensions. At dimension 0, `output_padding` is {op} but `strides` is {}. Received: output_padding=({op},), strides=({},)",
                    self.strides, self.strides
                )));
            }
        }
    }

    /// Stride.
    pub fn strides(mut self, s: usize) -> Self {
        self.strides = s;
        self.check();
        self
    }

    /// Padding: `"valid"` or `"same"`.
    pub fn padding(mut self, p: &str) -> Self {
        match parse_padding(p, &self.base.name) {
            Ok(same) => self.same = same,
            Err(e) => self.base.fail(e),
        }
        self
    }

    /// Extra steps at the end of the output (must be below the stride).
    pub fn output_padding(mut self, p: usize) -> Self {
        self.output_padding = Some(p);
        self.check();
        self
    }

    /// Dilation rate.
    pub fn dilation_rate(mut self, d: usize) -> Self {
        self.dilation_rate = d;
        self.check();
        self
    }

    crate::layers::builders::conv_builders!(kernel);

    crate::layers::builders::base_builders!();

    /// Rebuilds from a Keras config.
    pub fn from_config(cfg: &Value) -> Result<Self> {
        const C: &str = "Conv1DTranspose";
        check_channels_last(cfg, C)?;
        refuse_unsupported(cfg, &UNSUPPORTED, C)?;
        let filters = usize_arg(cfg, "filters", None, C)?;
        let k = tuple_arg(cfg, "kernel_size", 1, 0, true)?[0];
        let mut c = Conv1DTranspose::new(filters, k);
        c.base.apply_config(cfg);
        c.strides = tuple_arg(cfg, "strides", 1, 1, true)?[0];
        c.dilation_rate = tuple_arg(cfg, "dilation_rate", 1, 1, true)?[0];
        c.output_padding = match cfg.get("output_padding") {
            None | Some(Value::Null) => None,
            Some(v) => Some(int_tuple(v, 1, "output_padding", true)?[0]),
        };
        c.check();
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
}

impl Layer for Conv1DTranspose {
    layer_common!("Conv1DTranspose", true);

    fn build(&mut self, input_shape: &[Option<usize>]) -> Result<()> {
        // A builder error also stops a direct build (not only `Sequential::add`).
        crate::layers::layer::check_pending(self)?;
        self.compute_output_shape(input_shape)?;
        let cin = input_shape[2].unwrap_or(0);
        let name = self.base.name.clone();
        self.kernel = Some(Variable::new(
            "kernel",
            &name,
            self.kernel_initializer.initialize(&[self.kernel_size, self.filters, cin])?,
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
        check_input_spec(&self.base.name, s, 3)?;
        let steps = s[1].map(|d| {
            ops::conv_transpose_output_len(
                d,
                self.kernel_size,
                self.strides,
                self.dilation_rate,
                self.same,
                self.output_padding,
            )
        });
        Ok(vec![s[0], steps, Some(self.filters)])
    }

    fn call(&self, x: &Tensor, _ctx: &mut CallContext) -> Result<Tensor> {
        let kernel = built(&self.kernel, &self.base.name)?;
        check_call_input(&self.base.name, x, 3, kernel.shape()[2])?;
        let [n, steps, c] = [x.shape()[0], x.shape()[1], x.shape()[2]];
        let bias = self.bias.as_ref().map(|b| b.value());
        let y = with_activation(&self.activation, |act| {
            Ok(ops::conv2d_transpose(
                &x.reshape([n, 1, steps, c])?,
                &kernel.value().reshape([1, self.kernel_size, self.filters, c])?,
                bias,
                [1, self.strides],
                [1, self.dilation_rate],
                self.same,
                // The unit height axis keeps its size: stride 1, kernel 1, no extra padding.
                self.output_padding.map(|p| [0, p]),
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
        m.insert("padding".into(), json!(if self.same { "same" } else { "valid" }));
        m.insert("output_padding".into(), json!(self.output_padding.map(|p| [p])));
        m.insert("data_format".into(), json!("channels_last"));
        m.insert("dilation_rate".into(), json!([self.dilation_rate]));
        m.insert("activation".into(), self.activation.to_config());
        m.insert("use_bias".into(), json!(self.use_bias));
        m.insert("kernel_initializer".into(), self.kernel_initializer.to_config());
        m.insert("bias_initializer".into(), self.bias_initializer.to_config());
        insert_nulls(&mut m, &UNSUPPORTED);
        Value::Object(m)
    }
}
