//! `DepthwiseConv2D`: one filter bank per input channel, kernel
//! `(kh, kw, in, depth_multiplier)`, output channel `c * depth_multiplier + m`.

use keras_engine::ops::{self, ConvPadding};
use serde_json::{json, Value};

use crate::activations::Activation;
use crate::initializers::Initializer;
use crate::layers::convolutional::common::{
    built, check_call_input, check_input_spec, init_arg, insert_nulls, negative_output_error,
    positive_tuple_error, refuse_unsupported, strides_dilation_error, tuple_arg, usize_arg, with_activation,
};
use crate::layers::convolutional::conv2d::{conv_output_len, parse_padding};
use crate::layers::layer::{CallContext, Layer, LayerBase, Shape, Variable};
use crate::layers::reshaping::args::{check_channels_last, finish, layer_common};
use crate::{Error, Result, Tensor};

/// Spatial arguments shared by the depthwise and separable layers.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SpatialArgs {
    pub(crate) kernel_size: [usize; 2],
    pub(crate) strides: [usize; 2],
    pub(crate) same: bool,
    pub(crate) dilation_rate: [usize; 2],
}

impl SpatialArgs {
    pub(crate) fn new(kernel_size: [usize; 2]) -> Self {
        SpatialArgs { kernel_size, strides: [1, 1], same: false, dilation_rate: [1, 1] }
    }

    /// The first invalid argument, if any.
    pub(crate) fn error(&self) -> Option<Error> {
        positive_tuple_error("kernel_size", &self.kernel_size)
            .or_else(|| positive_tuple_error("strides", &self.strides))
            .or_else(|| positive_tuple_error("dilation_rate", &self.dilation_rate))
            .or_else(|| strides_dilation_error(&self.strides, &self.dilation_rate))
    }

    /// Reads kernel_size / strides / dilation_rate / padding from a config.
    pub(crate) fn from_config(cfg: &Value, layer: &str) -> Result<Self> {
        let k = tuple_arg(cfg, "kernel_size", 2, 0, true)?;
        let s = tuple_arg(cfg, "strides", 2, 1, true)?;
        let d = tuple_arg(cfg, "dilation_rate", 2, 1, true)?;
        let same = match cfg.get("padding").and_then(Value::as_str) {
            Some(p) => parse_padding(p, layer)?,
            None => false,
        };
        Ok(SpatialArgs {
            kernel_size: [k[0], k[1]],
            strides: [s[0], s[1]],
            same,
            dilation_rate: [d[0], d[1]],
        })
    }

    pub(crate) fn padding(&self) -> ConvPadding {
        if self.same {
            ConvPadding::Same
        } else {
            ConvPadding::Valid
        }
    }

    /// Output shape `[batch, oh, ow, channels]` for a 4-D input.
    pub(crate) fn output_shape(&self, layer: &str, s: &[Option<usize>], channels: usize) -> Result<Shape> {
        check_input_spec(layer, s, 4)?;
        let mut out = vec![s[0]];
        for i in 0..2 {
            out.push(match s[i + 1] {
                None => None,
                Some(d) => {
                    let o = (d > 0 && !self.kernel_size.contains(&0) && !self.strides.contains(&0))
                        .then(|| {
                            conv_output_len(
                                d,
                                self.kernel_size[i],
                                self.strides[i],
                                self.dilation_rate[i],
                                self.same,
                            )
                        })
                        .flatten();
                    match o {
                        Some(o) => Some(o),
                        None => {
                            return Err(negative_output_error(
                                layer,
                                s,
                                &self.kernel_size,
                                &self.dilation_rate,
                            ))
                        }
                    }
                }
            });
        }
        out.push(Some(channels));
        Ok(out)
    }

    /// Writes kernel_size, strides, padding, data_format, dilation_rate.
    pub(crate) fn write_config(&self, m: &mut serde_json::Map<String, Value>) {
        m.insert("kernel_size".into(), json!(self.kernel_size));
        m.insert("strides".into(), json!(self.strides));
        m.insert("padding".into(), json!(if self.same { "same" } else { "valid" }));
        m.insert("data_format".into(), json!("channels_last"));
        m.insert("dilation_rate".into(), json!(self.dilation_rate));
    }
}

/// Keras's error for `depth_multiplier = 0`.
pub(crate) fn depth_multiplier_error(dm: usize) -> Option<Error> {
    (dm == 0).then(|| {
        Error::InvalidArgument(
            "Invalid value for argument `depth_multiplier`. Expected a strictly positive value. Received depth_multiplier=0."
                .into(),
        )
    })
}

const UNSUPPORTED: [&str; 5] = [
    "depthwise_regularizer",
    "bias_regularizer",
    "activity_regularizer",
    "depthwise_constraint",
    "bias_constraint",
];

/// Depthwise 2-D convolution layer (Keras `keras.layers.DepthwiseConv2D`), channels-last.
///
/// ```
/// use keras::layers::DepthwiseConv2D;
/// let dw = DepthwiseConv2D::new([3, 3]).depth_multiplier(2).padding("same");
/// ```
pub struct DepthwiseConv2D {
    base: LayerBase,
    depth_multiplier: usize,
    args: SpatialArgs,
    activation: Activation,
    use_bias: bool,
    depthwise_initializer: Initializer,
    bias_initializer: Initializer,
    kernel: Option<Variable>,
    bias: Option<Variable>,
}

impl DepthwiseConv2D {
    /// A `kernel_size` window, depth multiplier 1, stride 1, `valid` padding.
    pub fn new(kernel_size: [usize; 2]) -> Self {
        let mut d = DepthwiseConv2D {
            base: LayerBase::new("depthwise_conv2d"),
            depth_multiplier: 1,
            args: SpatialArgs::new(kernel_size),
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

    /// Strides.
    pub fn strides(mut self, s: [usize; 2]) -> Self {
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
    pub fn dilation_rate(mut self, d: [usize; 2]) -> Self {
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
        check_channels_last(cfg, "DepthwiseConv2D")?;
        refuse_unsupported(cfg, &UNSUPPORTED, "DepthwiseConv2D")?;
        let mut d = DepthwiseConv2D::new([1, 1]);
        d.base.apply_config(cfg);
        d.args = SpatialArgs::from_config(cfg, &d.base.name)?;
        d.depth_multiplier = usize_arg(cfg, "depth_multiplier", Some(1), "DepthwiseConv2D")?;
        d.check();
        d.activation = Activation::from_config(cfg.get("activation").unwrap_or(&Value::Null))?;
        d.use_bias = cfg.get("use_bias").and_then(Value::as_bool).unwrap_or(true);
        d.depthwise_initializer = init_arg(cfg, "depthwise_initializer", Initializer::glorot_uniform())?;
        d.bias_initializer = init_arg(cfg, "bias_initializer", Initializer::Zeros)?;
        finish(&mut d.base, ())?;
        Ok(d)
    }
}

impl Layer for DepthwiseConv2D {
    layer_common!("DepthwiseConv2D", true);

    fn build(&mut self, input_shape: &[Option<usize>]) -> Result<()> {
        // A builder error (`Conv2D::new(8, [0, 3])`) also stops a direct build.

        crate::layers::layer::check_pending(self)?;
        self.compute_output_shape(input_shape)?;
        let cin = input_shape[3].unwrap_or(0);
        let name = self.base.name.clone();
        let [kh, kw] = self.args.kernel_size;
        self.kernel = Some(Variable::new(
            "kernel",
            &name,
            self.depthwise_initializer.initialize(&[kh, kw, cin, self.depth_multiplier])?,
            true,
        ));
        self.bias = if self.use_bias {
            Some(Variable::new(
                "bias",
                &name,
                self.bias_initializer.initialize(&[cin * self.depth_multiplier])?,
                true,
            ))
        } else {
            None
        };
        self.base.build_input_shape = Some(input_shape.to_vec());
        self.base.built = true;
        Ok(())
    }

    fn compute_output_shape(&self, s: &[Option<usize>]) -> Result<Shape> {
        let c = s.get(3).copied().flatten().unwrap_or(0);
        self.args.output_shape(&self.base.name, s, c * self.depth_multiplier)
    }

    fn call(&self, x: &Tensor, _ctx: &mut CallContext) -> Result<Tensor> {
        let kernel = built(&self.kernel, &self.base.name)?;
        check_call_input(&self.base.name, x, 4, kernel.shape()[2])?;
        self.compute_output_shape(&crate::layers::reshaping::args::known(x.shape()))?;
        let bias = self.bias.as_ref().map(|b| b.value());
        with_activation(&self.activation, |act| {
            Ok(ops::depthwise_conv2d(
                x,
                kernel.value(),
                bias,
                self.args.strides,
                self.args.dilation_rate,
                self.args.padding(),
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

impl DepthwiseConv2D {
    /// Whether the layer pads nothing itself (`padding="valid"`).
    pub(crate) fn valid_padding(&self) -> bool {
        self.args.padding() == ConvPadding::Valid
    }

    /// The layer's call with `pad` and `epilogue` fused into the convolution, for
    /// inference; `None` where its own activation is not linear or it pads itself after a
    /// ZeroPadding2D (see [`super::Conv2D`]'s counterpart).
    pub(crate) fn call_fused_inference(
        &self,
        x: &Tensor,
        pad: Option<[[usize; 2]; 2]>,
        epilogue: &ops::ConvEpilogue,
    ) -> Option<Result<Tensor>> {
        if self.activation != Activation::Linear || (pad.is_some() && !self.valid_padding()) {
            return None;
        }
        let padding = pad.map_or(self.args.padding(), ConvPadding::Explicit);
        let kernel = self.kernel.as_ref()?;
        let bias = self.bias.as_ref().map(|b| b.value());
        let (s, d) = (self.args.strides, self.args.dilation_rate);
        Some(
            ops::depthwise_conv2d_inference(x, kernel.value(), bias, s, d, padding, epilogue)
                .map_err(Error::from),
        )
    }
}
