//! `Conv3D`: 3-D convolution over channels-last volumes `(batch, d, h, w, channels)`, with
//! `groups` (the engine's `conv3d`).

use keras_engine::ops;
use serde_json::{json, Value};

use crate::activations::Activation;
use crate::initializers::Initializer;
use crate::layers::convolutional::common::{
    built, check_call_input, check_input_spec, init_arg, insert_nulls, negative_output_error,
    positive_tuple_error, refuse_unsupported, strides_dilation_error, tuple_arg, usize_arg, with_activation,
};
use crate::layers::convolutional::conv2d::{conv_output_len, parse_padding};
use crate::layers::layer::{shape_str, CallContext, Layer, LayerBase, Shape, Variable};
use crate::layers::reshaping::args::{check_channels_last, finish, known, layer_common};
use crate::{keras_bail, Error, Result, Tensor};

const UNSUPPORTED: [&str; 5] = [
    "kernel_regularizer",
    "bias_regularizer",
    "activity_regularizer",
    "kernel_constraint",
    "bias_constraint",
];

/// 3-D convolution layer (Keras `keras.layers.Conv3D`), channels-last, kernel
/// `(kd, kh, kw, in / groups, filters)`.
///
/// ```
/// use keras::layers::Conv3D;
/// let conv = Conv3D::new(8, [3, 3, 3]).padding("same").activation("relu");
/// ```
pub struct Conv3D {
    base: LayerBase,
    filters: usize,
    kernel_size: [usize; 3],
    strides: [usize; 3],
    same: bool,
    dilation_rate: [usize; 3],
    groups: usize,
    activation: Activation,
    use_bias: bool,
    kernel_initializer: Initializer,
    bias_initializer: Initializer,
    kernel: Option<Variable>,
    bias: Option<Variable>,
}

impl Conv3D {
    /// `filters` output channels, a `kernel_size` window, stride 1, `valid` padding.
    pub fn new(filters: usize, kernel_size: [usize; 3]) -> Self {
        let mut base = LayerBase::new("conv3d");
        if filters == 0 {
            base.fail(Error::InvalidArgument(
                "Invalid value for argument `filters`. Expected a strictly positive value. Received filters=0.".into(),
            ));
        }
        if let Some(e) = positive_tuple_error("kernel_size", &kernel_size) {
            base.fail(e);
        }
        Conv3D {
            base,
            filters,
            kernel_size,
            strides: [1; 3],
            same: false,
            dilation_rate: [1; 3],
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
        if let Some(e) = positive_tuple_error("strides", &self.strides) {
            self.base.fail(e);
        }
        if let Some(e) = positive_tuple_error("dilation_rate", &self.dilation_rate) {
            self.base.fail(e);
        }
        if let Some(e) = strides_dilation_error(&self.strides, &self.dilation_rate) {
            self.base.fail(e);
        }
    }

    /// Strides.
    pub fn strides(mut self, s: [usize; 3]) -> Self {
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

    /// Dilation rate.
    pub fn dilation_rate(mut self, d: [usize; 3]) -> Self {
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
        const C: &str = "Conv3D";
        check_channels_last(cfg, C)?;
        refuse_unsupported(cfg, &UNSUPPORTED, C)?;
        let filters = usize_arg(cfg, "filters", None, C)?;
        let k = tuple_arg(cfg, "kernel_size", 3, 0, true)?;
        let mut c = Conv3D::new(filters, [k[0], k[1], k[2]]);
        c.base.apply_config(cfg);
        let s = tuple_arg(cfg, "strides", 3, 1, true)?;
        let d = tuple_arg(cfg, "dilation_rate", 3, 1, true)?;
        c.strides = [s[0], s[1], s[2]];
        c.dilation_rate = [d[0], d[1], d[2]];
        c.check();
        c = c.groups(usize_arg(cfg, "groups", Some(1), C)?);
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

impl Layer for Conv3D {
    layer_common!("Conv3D", true);

    fn build(&mut self, input_shape: &[Option<usize>]) -> Result<()> {
        // A builder error also stops a direct build (not only `Sequential::add`).
        crate::layers::layer::check_pending(self)?;
        self.compute_output_shape(input_shape)?;
        let cin = input_shape[4].unwrap_or(0);
        let name = self.base.name.clone();
        let [kd, kh, kw] = self.kernel_size;
        self.kernel = Some(Variable::new(
            "kernel",
            &name,
            self.kernel_initializer.initialize(&[kd, kh, kw, cin / self.groups, self.filters])?,
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
        let cin = check_input_spec(&self.base.name, s, 5)?;
        if self.groups == 0 || !cin.is_multiple_of(self.groups) {
            keras_bail!(
                InvalidArgument,
                "The number of input channels must be evenly divisible by the number of groups. Received groups={}, but the input has {cin} channels (full input shape is {}).",
                self.groups,
                shape_str(s)
            );
        }
        let mut out = vec![s[0]];
        for i in 0..3 {
            out.push(match s[i + 1] {
                None => None,
                Some(d) => match (d > 0)
                    .then(|| {
                        conv_output_len(
                            d,
                            self.kernel_size[i],
                            self.strides[i],
                            self.dilation_rate[i],
                            self.same,
                        )
                    })
                    .flatten()
                {
                    Some(o) => Some(o),
                    None => {
                        return Err(negative_output_error(
                            &self.base.name,
                            s,
                            &self.kernel_size,
                            &self.dilation_rate,
                        ))
                    }
                },
            });
        }
        out.push(Some(self.filters));
        Ok(out)
    }

    fn call(&self, x: &Tensor, _ctx: &mut CallContext) -> Result<Tensor> {
        let kernel = built(&self.kernel, &self.base.name)?;
        check_call_input(&self.base.name, x, 5, kernel.shape()[3] * self.groups)?;
        self.compute_output_shape(&known(x.shape()))?;
        let bias = self.bias.as_ref().map(|b| b.value());
        with_activation(&self.activation, |act| {
            Ok(ops::conv3d(
                x,
                kernel.value(),
                bias,
                self.strides,
                self.dilation_rate,
                self.same,
                self.groups,
                act,
            )?)
        })
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
        m.insert("kernel_size".into(), json!(self.kernel_size));
        m.insert("strides".into(), json!(self.strides));
        m.insert("padding".into(), json!(if self.same { "same" } else { "valid" }));
        m.insert("data_format".into(), json!("channels_last"));
        m.insert("dilation_rate".into(), json!(self.dilation_rate));
        m.insert("groups".into(), json!(self.groups));
        m.insert("activation".into(), self.activation.to_config());
        m.insert("use_bias".into(), json!(self.use_bias));
        m.insert("kernel_initializer".into(), self.kernel_initializer.to_config());
        m.insert("bias_initializer".into(), self.bias_initializer.to_config());
        insert_nulls(&mut m, &UNSUPPORTED);
        Value::Object(m)
    }
}
