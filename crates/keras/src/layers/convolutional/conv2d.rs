//! `Conv2D`: 2-D convolution over channels-last images.

use std::any::Any;

use keras_engine::ops::{self, Unary};
use serde_json::{json, Value};

use crate::activations::Activation;
use crate::constraints::Constraint;
use crate::initializers::Initializer;
use crate::layers::layer::{shape_str, CallContext, Layer, LayerBase, Shape, Variable};
use crate::regularizers::Regularizer;
use crate::{keras_bail, Error, Result, Tensor};

/// Reads a Keras int-or-pair argument (`3` or `[3, 3]`) from a config.
pub(crate) fn pair_from(v: Option<&Value>, default: [usize; 2]) -> Result<[usize; 2]> {
    match v {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Number(n)) => {
            let k =
                n.as_u64().ok_or_else(|| Error::Config(format!("expected a positive integer, got {n}")))?
                    as usize;
            Ok([k, k])
        }
        Some(Value::Array(a)) if a.len() == 2 => {
            let f = |v: &Value| {
                v.as_u64()
                    .map(|x| x as usize)
                    .ok_or_else(|| Error::Config(format!("expected an integer, got {v}")))
            };
            Ok([f(&a[0])?, f(&a[1])?])
        }
        Some(other) => keras_bail!(Config, "expected an integer or a pair of integers, got {other}"),
    }
}

/// Parses a padding name: `"valid"` or `"same"` (case-insensitive, as Keras).
pub(crate) fn parse_padding(p: &str, layer: &str) -> Result<bool> {
    match p.to_lowercase().as_str() {
        "valid" => Ok(false),
        "same" => Ok(true),
        _ => keras_bail!(
            InvalidArgument,
            "Layer {layer}: the `padding` argument must be one of \"valid\", \"same\". Received: padding={p}"
        ),
    }
}

/// Output length along one axis with TensorFlow's rules, or None when it would be < 1 (or
/// when a size is 0: builders refuse those, this keeps a direct call from dividing by zero).
pub(crate) fn conv_output_len(
    input: usize,
    k: usize,
    stride: usize,
    dilation: usize,
    same: bool,
) -> Option<usize> {
    if k == 0 || stride == 0 || dilation == 0 {
        return None;
    }
    if same {
        return Some(input.div_ceil(stride));
    }
    let eff = dilation.checked_mul(k - 1)?.checked_add(1)?;
    (input >= eff).then(|| (input - eff) / stride + 1)
}

/// 2-D convolution layer (Keras `keras.layers.Conv2D`), channels-last, kernel
/// `(kh, kw, in, filters)`.
///
/// ```
/// use keras::layers::Conv2D;
/// let conv = Conv2D::new(32, [3, 3]).activation("relu").input_shape(&[32, 32, 3]);
/// ```
pub struct Conv2D {
    base: LayerBase,
    filters: usize,
    kernel_size: [usize; 2],
    strides: [usize; 2],
    same: bool,
    dilation_rate: [usize; 2],
    groups: usize,
    activation: Activation,
    use_bias: bool,
    kernel_initializer: Initializer,
    bias_initializer: Initializer,
    kernel_regularizer: Option<Regularizer>,
    bias_regularizer: Option<Regularizer>,
    kernel_constraint: Option<Constraint>,
    bias_constraint: Option<Constraint>,
    kernel: Option<Variable>,
    bias: Option<Variable>,
}

impl Conv2D {
    /// `filters` output channels, a `kernel_size` window, stride 1, `valid` padding.
    pub fn new(filters: usize, kernel_size: [usize; 2]) -> Self {
        let mut base = LayerBase::new("conv2d");
        if filters == 0 {
            base.fail(Error::InvalidArgument(
                "Invalid value for argument `filters`. Expected a strictly positive value. Received filters=0.".into(),
            ));
        }
        if kernel_size.contains(&0) {
            base.fail(Error::InvalidArgument(format!(
                "The `kernel_size` argument must be a tuple of 2 positive integers. Received kernel_size={kernel_size:?}"
            )));
        }
        Conv2D {
            base,
            filters,
            kernel_size,
            strides: [1, 1],
            same: false,
            dilation_rate: [1, 1],
            groups: 1,
            activation: Activation::Linear,
            use_bias: true,
            kernel_initializer: Initializer::glorot_uniform(),
            bias_initializer: Initializer::Zeros,
            kernel_regularizer: None,
            bias_regularizer: None,
            kernel_constraint: None,
            bias_constraint: None,
            kernel: None,
            bias: None,
        }
    }

    /// Strides.
    pub fn strides(mut self, s: [usize; 2]) -> Self {
        if s.contains(&0) {
            self.base.fail(Error::InvalidArgument(format!(
                "The `strides` argument must be a tuple of 2 positive integers. Received strides={s:?}"
            )));
        }
        self.strides = s;
        self.check_strides_dilation();
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
    pub fn dilation_rate(mut self, d: [usize; 2]) -> Self {
        if d.contains(&0) {
            self.base.fail(Error::InvalidArgument(format!(
                "The `dilation_rate` argument must be a tuple of 2 positive integers. Received dilation_rate={d:?}"
            )));
        }
        self.dilation_rate = d;
        self.check_strides_dilation();
        self
    }

    fn check_strides_dilation(&mut self) {
        if self.strides.iter().any(|&s| s > 1) && self.dilation_rate.iter().any(|&d| d > 1) {
            self.base.fail(Error::InvalidArgument(format!(
                "`strides > 1` not supported in conjunction with `dilation_rate > 1`. Received: strides={:?} and dilation_rate={:?}",
                self.strides, self.dilation_rate
            )));
        }
    }

    /// Number of channel groups: input channels and filters split into `g` independent
    /// convolutions (kernel `(kh, kw, in / g, filters)`); `g` must divide both.
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

    /// Penalty of the kernel added to the training loss (Keras `kernel_regularizer`).
    pub fn kernel_regularizer(mut self, r: Regularizer) -> Self {
        self.kernel_regularizer = Some(r);
        self
    }

    /// Penalty of the bias added to the training loss (Keras `bias_regularizer`).
    pub fn bias_regularizer(mut self, r: Regularizer) -> Self {
        self.bias_regularizer = Some(r);
        self
    }

    /// Penalty of the layer's output added to the loss (Keras `activity_regularizer`).
    pub fn activity_regularizer(mut self, r: Regularizer) -> Self {
        self.base.activity_regularizer = Some(r);
        self
    }

    /// Constraint applied to the kernel after each optimizer update (Keras `kernel_constraint`).
    pub fn kernel_constraint(mut self, c: Constraint) -> Self {
        self.kernel_constraint = Some(c);
        self
    }

    /// Constraint applied to the bias after each optimizer update (Keras `bias_constraint`).
    pub fn bias_constraint(mut self, c: Constraint) -> Self {
        self.bias_constraint = Some(c);
        self
    }

    crate::layers::builders::base_builders!();

    /// Rebuilds from a Keras config.
    pub fn from_config(cfg: &Value) -> Result<Self> {
        let filters = cfg
            .get("filters")
            .and_then(Value::as_u64)
            .ok_or_else(|| Error::Config("Conv2D config needs `filters`".into()))?;
        let kernel_size = pair_from(cfg.get("kernel_size"), [0, 0])?;
        let mut c = Conv2D::new(filters as usize, kernel_size);
        c.base.apply_config(cfg);
        match cfg.get("groups") {
            None | Some(Value::Null) => {}
            Some(v) => match v.as_u64() {
                Some(g) => c = c.groups(g as usize),
                None => keras_bail!(Config, "Conv2D: `groups` must be a positive integer, received {v}"),
            },
        }
        if cfg.get("data_format").and_then(Value::as_str).is_some_and(|f| f != "channels_last") {
            keras_bail!(Config, "Conv2D: only data_format=\"channels_last\" is supported");
        }
        c = c
            .strides(pair_from(cfg.get("strides"), [1, 1])?)
            .dilation_rate(pair_from(cfg.get("dilation_rate"), [1, 1])?);
        if let Some(p) = cfg.get("padding").and_then(Value::as_str) {
            c = c.padding(p);
        }
        c.activation = Activation::from_config(cfg.get("activation").unwrap_or(&Value::Null))?;
        c.use_bias = cfg.get("use_bias").and_then(Value::as_bool).unwrap_or(true);
        if let Some(v) = cfg.get("kernel_initializer") {
            c.kernel_initializer = Initializer::from_config(v)?;
        }
        if let Some(v) = cfg.get("bias_initializer") {
            c.bias_initializer = Initializer::from_config(v)?;
        }
        let get = |k: &str| cfg.get(k).unwrap_or(&Value::Null);
        c.kernel_regularizer = Regularizer::from_config(get("kernel_regularizer"))?;
        c.bias_regularizer = Regularizer::from_config(get("bias_regularizer"))?;
        c.kernel_constraint = Constraint::from_config(get("kernel_constraint"))?;
        c.bias_constraint = Constraint::from_config(get("bias_constraint"))?;
        c.base.apply_activity_config(cfg)?;
        if let Some(e) = c.base.pending_error.take() {
            return Err(e);
        }
        Ok(c)
    }
}

impl Layer for Conv2D {
    fn class_name(&self) -> &'static str {
        "Conv2D"
    }
    fn base(&self) -> &LayerBase {
        &self.base
    }
    fn base_mut(&mut self) -> &mut LayerBase {
        &mut self.base
    }
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn build(&mut self, input_shape: &[Option<usize>]) -> Result<()> {
        // A builder error (`Conv2D::new(8, [0, 3])`) also stops a direct build.
        crate::layers::layer::check_pending(self)?;
        self.compute_output_shape(input_shape)?;
        let cin = input_shape[3].expect("checked by compute_output_shape");
        if self.groups == 0 || !cin.is_multiple_of(self.groups) {
            keras_bail!(
                InvalidArgument,
                "The number of input channels must be evenly divisible by the number of groups. Received groups={}, but the input has {cin} channels (full input shape is {}).",
                self.groups,
                shape_str(input_shape)
            );
        }
        let name = self.base.name.clone();
        let [kh, kw] = self.kernel_size;
        self.kernel = Some(
            Variable::new(
                "kernel",
                &name,
                self.kernel_initializer.initialize(&[kh, kw, cin / self.groups, self.filters])?,
                true,
            )
            .with_regularizer(self.kernel_regularizer.clone())
            .with_constraint(self.kernel_constraint.clone()),
        );
        self.bias = if self.use_bias {
            Some(
                Variable::new("bias", &name, self.bias_initializer.initialize(&[self.filters])?, true)
                    .with_regularizer(self.bias_regularizer.clone())
                    .with_constraint(self.bias_constraint.clone()),
            )
        } else {
            None
        };
        self.base.build_input_shape = Some(input_shape.to_vec());
        self.base.built = true;
        Ok(())
    }

    fn compute_output_shape(&self, s: &[Option<usize>]) -> Result<Shape> {
        if s.len() != 4 {
            keras_bail!(
                Shape,
                "Input 0 of layer \"{}\" is incompatible with the layer: expected ndim=4, found ndim={}. Full shape received: {}",
                self.base.name,
                s.len(),
                shape_str(s)
            );
        }
        if s[3].is_none() {
            keras_bail!(
                Shape,
                "Layer {}: the channel dimension of the inputs should be defined, received {}",
                self.base.name,
                shape_str(s)
            );
        }
        let mut out = vec![s[0]];
        for i in 0..2 {
            out.push(match s[i + 1] {
                None => None,
                Some(d) => match conv_output_len(d, self.kernel_size[i], self.strides[i], self.dilation_rate[i], self.same) {
                    Some(o) => Some(o),
                    None => keras_bail!(
                        Shape,
                        "Computed output size would be negative in layer {}. Received `inputs shape={}`, `kernel shape=({}, {}, {}, {})`, `dilation_rate={:?}`.",
                        self.base.name,
                        shape_str(s),
                        self.kernel_size[0],
                        self.kernel_size[1],
                        s[3].unwrap_or(0),
                        self.filters,
                        self.dilation_rate
                    ),
                },
            });
        }
        out.push(Some(self.filters));
        Ok(out)
    }

    fn call(&self, x: &Tensor, _ctx: &mut CallContext) -> Result<Tensor> {
        let kernel = self
            .kernel
            .as_ref()
            .ok_or_else(|| Error::State(format!("Layer {} is not built", self.base.name)))?;
        let cin = kernel.shape()[2] * self.groups;
        if x.rank() != 4 || x.shape()[3] != cin {
            keras_bail!(
                Shape,
                "Input 0 of layer \"{}\" is incompatible with the layer: expected axis -1 of input shape to have value {cin} (ndim=4), but received input with shape {:?}",
                self.base.name,
                x.shape()
            );
        }
        let bias = self.bias.as_ref().map(|b| b.value());
        let fused = self.activation.fusable();
        let act = fused.unwrap_or(Unary::Linear);
        let y = if self.groups == 1 {
            ops::conv2d(x, kernel.value(), bias, self.strides, self.dilation_rate, self.same, act)?
        } else {
            let padding = if self.same { ops::ConvPadding::Same } else { ops::ConvPadding::Valid };
            ops::conv2d_ext(
                x,
                kernel.value(),
                bias,
                self.strides,
                self.dilation_rate,
                padding,
                self.groups,
                act,
            )?
        };
        match fused {
            Some(_) => Ok(y),
            None => self.activation.apply(&y),
        }
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
        let reg = |r: &Option<Regularizer>| r.as_ref().map_or(Value::Null, Regularizer::to_config);
        let con = |c: &Option<Constraint>| c.as_ref().map_or(Value::Null, Constraint::to_config);
        m.insert("kernel_regularizer".into(), reg(&self.kernel_regularizer));
        m.insert("bias_regularizer".into(), reg(&self.bias_regularizer));
        // When set, the base config already placed it after `dtype` (Keras merges the dicts).
        m.insert("activity_regularizer".into(), reg(&self.base.activity_regularizer));
        m.insert("kernel_constraint".into(), con(&self.kernel_constraint));
        m.insert("bias_constraint".into(), con(&self.bias_constraint));
        Value::Object(m)
    }
}

impl Conv2D {
    /// Whether the layer pads nothing itself (`padding="valid"`).
    pub(crate) fn valid_padding(&self) -> bool {
        !self.same
    }

    /// The layer's call with `pad` (a ZeroPadding2D before it, when its own padding is
    /// `valid`) and `epilogue` (a folded BatchNormalization, an activation) fused into the
    /// convolution, for inference; `None` where the layer cannot take them (its own
    /// activation is not linear, it is grouped, or it pads itself). Used by the Functional
    /// graph's inference fusion (models/functional/inference_fusion.rs).
    pub(crate) fn call_fused_inference(
        &self,
        x: &Tensor,
        pad: Option<[[usize; 2]; 2]>,
        epilogue: &ops::ConvEpilogue,
    ) -> Option<Result<Tensor>> {
        if self.groups != 1 || self.activation != Activation::Linear || (pad.is_some() && self.same) {
            return None;
        }
        let padding = match pad {
            Some(p) => ops::ConvPadding::Explicit(p),
            None if self.same => ops::ConvPadding::Same,
            None => ops::ConvPadding::Valid,
        };
        let kernel = self.kernel.as_ref()?;
        let bias = self.bias.as_ref().map(|b| b.value());
        let (s, d) = (self.strides, self.dilation_rate);
        Some(ops::conv2d_inference(x, kernel.value(), bias, s, d, padding, epilogue).map_err(Error::from))
    }
}
