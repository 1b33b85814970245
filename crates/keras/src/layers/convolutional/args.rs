//! `ConvArgs`: the one declaration of the Keras arguments every convolution layer shares
//! (filters, kernel_size, strides, padding, data_format, dilation_rate, groups,
//! depth_multiplier, output_padding, activation, use_bias and the initializers,
//! regularizers and constraints of each weight), from which [`config_args!`] writes the
//! config writer and reader; [`Convolution`] adds the layer's [`Family`], Keras's
//! validation, the output-shape rule, the weights and the `channels_first` layout. The
//! layers keep only their forward step ([`ConvForward`]); [`conv_arg_builders!`] writes
//! their builder methods and [`conv_layer!`] their `Layer` implementation.

use std::ops::{Deref, DerefMut};

use keras_engine::ops::{self, ConvPadding, Unary};
use serde_json::{Map, Value};

use crate::activations::Activation;
use crate::constraints::Constraint;
use crate::initializers::Initializer;
use crate::layers::convolutional::common::{
    negative_output_error, positive_tuple_error, strides_dilation_error,
};
use crate::layers::convolutional::conv1d::Padding1D;
use crate::layers::convolutional::conv2d::{conv_output_len, parse_padding};
use crate::layers::data_format::DataFormat;
use crate::layers::layer::{shape_str, LayerBase, Shape, Variable};
use crate::layers::layer_args::{LayerArgs, LayerCfg, SizeTuple};
use crate::layers::weight_args::WeightArgs;
use crate::regularizers::Regularizer;
use crate::utils::config_args::{config_args, ConfigArg};
use crate::utils::python_repr::py_dims;
use crate::{keras_bail, Error, Result, Tensor};

/// An engine convolution with a fused inference epilogue (`ops::conv2d_inference`,
/// `ops::depthwise_conv2d_inference`).
pub(crate) type InferenceConv = fn(
    &Tensor,
    &Tensor,
    Option<&Tensor>,
    [usize; 2],
    [usize; 2],
    ConvPadding,
    &ops::ConvEpilogue,
) -> keras_engine::Result<Tensor>;

/// Which Keras base class a layer follows: it decides the config keys and the weights.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Family {
    /// `BaseConv`: `filters`, `groups`, one `kernel (*k, in / groups, filters)`.
    Conv,
    /// `BaseConvTranspose`: `filters`, `output_padding`, one `kernel (*k, filters, in)`.
    Transpose,
    /// `BaseDepthwiseConv`: `depth_multiplier`, one `kernel (*k, in, depth_multiplier)`.
    Depthwise,
    /// `BaseSeparableConv`: `depth_multiplier`, `filters`, `depthwise_kernel` and
    /// `pointwise_kernel`.
    Separable,
}

impl Family {
    /// The config prefixes of the weights (`{prefix}_initializer` etc.) and their variable
    /// names.
    fn weights(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Family::Conv | Family::Transpose => &[("kernel", "kernel")],
            Family::Depthwise => &[("depthwise", "kernel")],
            Family::Separable => &[("depthwise", "depthwise_kernel"), ("pointwise", "pointwise_kernel")],
        }
    }

    /// Whether the layers of this family take the Keras argument `key` (a [`ConvArgs`]
    /// field): their configs write and read only those.
    pub(crate) fn takes(self, key: &str) -> bool {
        let weight = ["_initializer", "_regularizer", "_constraint"].iter().find_map(|s| key.strip_suffix(s));
        match (key, weight) {
            ("depth_multiplier", _) => matches!(self, Family::Depthwise | Family::Separable),
            ("filters", _) => self != Family::Depthwise,
            ("output_padding", _) => self == Family::Transpose,
            ("groups", _) => self == Family::Conv,
            (_, Some(prefix @ ("kernel" | "depthwise" | "pointwise"))) => {
                self.weights().iter().any(|(p, _)| *p == prefix)
            }
            _ => true,
        }
    }

    /// `cfg` without the keys of the other families (ignored, as before their declaration).
    fn own_config(self, cfg: &Value) -> Value {
        match cfg {
            Value::Object(m) => Value::Object(
                m.iter().filter(|(k, _)| self.takes(k)).map(|(k, v)| (k.clone(), v.clone())).collect(),
            ),
            other => other.clone(),
        }
    }
}

/// A size argument given to a builder: an integer for the 1-D layers, an array for the
/// others.
pub(crate) trait SizeArg<const N: usize> {
    /// The sizes, one per spatial axis.
    fn into_tuple(self) -> SizeTuple<N>;
}

impl SizeArg<1> for usize {
    fn into_tuple(self) -> SizeTuple<1> {
        SizeTuple([self])
    }
}

impl<const N: usize> SizeArg<N> for [usize; N] {
    fn into_tuple(self) -> SizeTuple<N> {
        SizeTuple(self)
    }
}

config_args! {
    /// Every Keras argument of the `N`-D convolution layers, in Keras's `get_config()` order:
    /// each family's keys come in this order, and a layer writes and reads those its family
    /// takes ([`Family::takes`]).
    #[derive(Clone)]
    pub(crate) struct ConvArgs<const N: usize>, family LayerArgs {
        pub(crate) depth_multiplier: usize = 1,
        /// 0 in the depthwise family, which has none (required in the others).
        pub(crate) filters: usize = 0,
        pub(crate) kernel_size: SizeTuple<N>,
        pub(crate) strides: SizeTuple<N> = SizeTuple([1; N]),
        /// `causal` only for `Conv1D`, as Keras.
        pub(crate) padding: Padding1D = Padding1D::Valid,
        pub(crate) output_padding: Option<SizeTuple<N>> = None,
        pub(crate) data_format: DataFormat = DataFormat::default(),
        pub(crate) dilation_rate: SizeTuple<N> = SizeTuple([1; N]),
        pub(crate) groups: usize = 1,
        pub(crate) activation: Activation = Activation::Linear,
        pub(crate) use_bias: bool = true,
        pub(crate) kernel_initializer: Initializer = Initializer::glorot_uniform(),
        pub(crate) depthwise_initializer: Initializer = Initializer::glorot_uniform(),
        pub(crate) pointwise_initializer: Initializer = Initializer::glorot_uniform(),
        pub(crate) bias_initializer: Initializer = Initializer::Zeros,
        pub(crate) kernel_regularizer: Option<Regularizer> = None,
        pub(crate) depthwise_regularizer: Option<Regularizer> = None,
        pub(crate) pointwise_regularizer: Option<Regularizer> = None,
        pub(crate) bias_regularizer: Option<Regularizer> = None,
        pub(crate) activity_regularizer: InBase = InBase,
        pub(crate) kernel_constraint: Option<Constraint> = None,
        pub(crate) depthwise_constraint: Option<Constraint> = None,
        pub(crate) pointwise_constraint: Option<Constraint> = None,
        pub(crate) bias_constraint: Option<Constraint> = None,
    }
}

/// An argument the layer's [`LayerBase`] holds (`activity_regularizer`): declared for its
/// place in the config, written `null` (the layer writes the value over it, keeping the
/// place) and read by the base (`apply_activity_config`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct InBase;

impl ConfigArg<LayerArgs> for InBase {
    fn to_config(&self) -> Value {
        Value::Null
    }
    fn from_config(_src: &mut LayerCfg<'_>, _key: &str, _default: Option<Self>) -> Result<Self> {
        Ok(InBase)
    }
}

/// `"valid"`, `"same"` or (`Conv1D` only, and the ConvLSTM layers never) `"causal"`, any
/// case; written lowercase.
impl ConfigArg<LayerArgs> for Padding1D {
    fn to_config(&self) -> Value {
        Value::from(self.as_str())
    }
    fn from_config(src: &mut LayerCfg<'_>, key: &str, default: Option<Self>) -> Result<Self> {
        match src.cfg.get(key) {
            None | Some(Value::Null) => Ok(default.unwrap_or(Padding1D::Valid)),
            // The ConvLSTM layers: Keras's `standardize_padding` words, as their builder.
            Some(Value::String(p)) if src.class.starts_with("ConvLSTM") => Padding1D::parse_for(p, false),
            Some(Value::String(p)) => {
                let layer = src.cfg.get("name").and_then(Value::as_str).unwrap_or(src.class);
                conv_padding(p, src.class == "Conv1D", layer)
            }
            Some(other) => keras_bail!(Config, "{}: `{key}` must be a string, received {other}", src.class),
        }
    }
}

/// A convolution padding of layer `layer`: `causal` only where `causal` (`Conv1D`), else
/// `valid` or `same` with [`parse_padding`]'s message naming the layer.
fn conv_padding(p: &str, causal: bool, layer: &str) -> Result<Padding1D> {
    if causal {
        Padding1D::parse(p)
    } else if parse_padding(p, layer)? {
        Ok(Padding1D::Same)
    } else {
        Ok(Padding1D::Valid)
    }
}

/// A convolution layer's [`Family`] and Keras arguments (reached through `Deref`), with
/// what the family decides: validation, config keys, output shape, weights.
#[derive(Clone)]
pub(crate) struct Convolution<const N: usize> {
    pub(crate) family: Family,
    pub(crate) args: ConvArgs<N>,
}

impl<const N: usize> Deref for Convolution<N> {
    type Target = ConvArgs<N>;
    fn deref(&self) -> &ConvArgs<N> {
        &self.args
    }
}

impl<const N: usize> DerefMut for Convolution<N> {
    fn deref_mut(&mut self) -> &mut ConvArgs<N> {
        &mut self.args
    }
}

impl<const N: usize> Convolution<N> {
    /// Keras's defaults: stride 1, `valid`, the global
    /// [`image_data_format`](crate::config::image_data_format), no dilation, one group, linear,
    /// a bias, Glorot-uniform kernels and zero bias.
    pub(crate) fn new(family: Family, filters: usize, kernel_size: SizeTuple<N>) -> Self {
        Convolution { family, args: ConvArgs { filters, kernel_size, ..ConvArgs::defaults() } }
    }

    /// The number of spatial axes.
    pub(crate) fn rank(&self) -> usize {
        N
    }

    /// The first invalid argument, with Keras's message, if any.
    pub(crate) fn error(&self) -> Option<Error> {
        let positive = |what: &str, v: usize| {
            (v == 0).then(|| {
                Error::InvalidArgument(format!(
                    "Invalid value for argument `{what}`. Expected a strictly positive value. Received {what}=0."
                ))
            })
        };
        let f = self.family;
        let filters = if f == Family::Depthwise { None } else { positive("filters", self.filters) };
        let dm = if matches!(f, Family::Depthwise | Family::Separable) {
            positive("depth_multiplier", self.depth_multiplier)
        } else {
            None
        };
        filters
            .or(dm)
            .or_else(|| positive_tuple_error("kernel_size", &self.kernel_size))
            .or_else(|| positive_tuple_error("strides", &self.strides))
            .or_else(|| positive_tuple_error("dilation_rate", &self.dilation_rate))
            // Keras 3.15 refuses strides > 1 with dilation > 1 in BaseConv and
            // BaseConvTranspose only; its depthwise and separable layers compute that case
            // (checked against Keras: cases depthwise_conv2d_strided_dilated and
            // separable_conv1d_strided_dilated).
            .or_else(|| match f {
                Family::Conv | Family::Transpose => strides_dilation_error(&self.strides, &self.dilation_rate),
                Family::Depthwise | Family::Separable => None,
            })
            .or_else(|| if f == Family::Conv { self.groups_error() } else { None })
            .or_else(|| {
                let op = self.output_padding.as_ref()?;
                let i = (0..N).find(|&i| op[i] >= self.strides[i])?;
                Some(Error::InvalidArgument(format!(
                    "`output_padding` must be strictly less than `strides` for all dimensions. At dimension {i}, `output_padding` is {} but `strides` is {}. Received: output_padding={}, strides={}",
                    op[i],
                    self.strides[i],
                    py_dims(op),
                    py_dims(&self.strides)
                )))
            })
    }

    fn groups_error(&self) -> Option<Error> {
        if self.groups == 0 {
            return positive_groups_error();
        }
        (!self.filters.is_multiple_of(self.groups)).then(|| {
            Error::InvalidArgument(format!(
                "The number of filters must be evenly divisible by the number of groups. Received: groups={}, filters={}.",
                self.groups, self.filters
            ))
        })
    }

    /// Sets the padding by Keras name (`causal` only for `Conv1D`, as Keras).
    pub(crate) fn set_padding(&mut self, p: &str, layer: &str) -> Result<()> {
        self.args.padding = conv_padding(p, self.family == Family::Conv && N == 1, layer)?;
        Ok(())
    }

    /// Sets the layout by Keras name (case-insensitive, as `standardize_data_format`).
    pub(crate) fn set_data_format(&mut self, f: &str) -> Result<()> {
        self.args.data_format = DataFormat::parse(f)?;
        Ok(())
    }

    /// Reads a Keras config of `class` (and its name, trainable flag, input shape and
    /// activity regularizer into `base`), refusing what Keras refuses (the builders' checks).
    pub(crate) fn from_config(
        cfg: &Value,
        family: Family,
        class: &str,
        base: &mut LayerBase,
    ) -> Result<Self> {
        let args = ConvArgs::read_args(&mut LayerCfg::new(&family.own_config(cfg), class))?;
        if family.takes("filters") && cfg.get("filters").is_none_or(Value::is_null) {
            keras_bail!(Config, "{class} config needs `filters`");
        }
        base.apply_config(cfg);
        base.apply_activity_config(cfg)?;
        let conv = Convolution { family, args };
        match conv.error() {
            Some(e) => Err(e),
            None => Ok(conv),
        }
    }

    /// The Keras config, key order included.
    pub(crate) fn to_config(&self, base: &LayerBase) -> Value {
        let mut m: Map<String, Value> = base.base_config();
        let mut args = Map::new();
        self.args.write_args(&mut args);
        m.extend(args.into_iter().filter(|(k, _)| self.family.takes(k)));
        // In place: after `dtype` when the base config wrote it (Keras merges the dicts).
        let activity = base.activity_regularizer.as_ref().map_or(Value::Null, Regularizer::to_config);
        m.insert("activity_regularizer".into(), activity);
        Value::Object(m)
    }

    /// The channel axis of an input of `ndim` axes.
    fn channel_axis(&self, ndim: usize) -> usize {
        self.data_format.channel_axis(ndim)
    }

    /// Keras's input-spec checks; returns the number of input channels.
    pub(crate) fn check_input_spec(&self, layer: &str, s: &[Option<usize>]) -> Result<usize> {
        let ndim = self.rank() + 2;
        if s.len() != ndim {
            keras_bail!(
                Shape,
                "Input 0 of layer \"{layer}\" is incompatible with the layer: expected ndim={ndim}, found ndim={}. Full shape received: {}",
                s.len(),
                shape_str(s)
            );
        }
        match s[self.channel_axis(ndim)] {
            Some(c) if c > 0 => Ok(c),
            _ => keras_bail!(
                Shape,
                "Layer {layer}: the channel dimension of the inputs should be defined and positive, received {}",
                shape_str(s)
            ),
        }
    }

    /// Checks a call input against the channels the layer was built for.
    pub(crate) fn check_call_input(&self, layer: &str, x: &Tensor, channels: usize) -> Result<()> {
        let ndim = self.rank() + 2;
        let axis = self.channel_axis(ndim);
        if x.rank() != ndim || x.shape()[axis] != channels {
            let name = if self.data_format == DataFormat::ChannelsFirst {
                "1".to_string()
            } else {
                "-1".to_string()
            };
            keras_bail!(
                Shape,
                "Input 0 of layer \"{layer}\" is incompatible with the layer: expected axis {name} of input shape to have value {channels} (ndim={ndim}), but received input with shape {:?}",
                x.shape()
            );
        }
        Ok(())
    }

    /// The output shape (Keras `compute_output_shape`), in the layer's layout.
    pub(crate) fn output_shape(&self, layer: &str, s: &[Option<usize>]) -> Result<Shape> {
        let cin = self.check_input_spec(layer, s)?;
        if self.family == Family::Conv && (self.groups == 0 || !cin.is_multiple_of(self.groups)) {
            keras_bail!(
                InvalidArgument,
                "The number of input channels must be evenly divisible by the number of groups. Received groups={}, but the input has {cin} channels (full input shape is {}).",
                self.groups,
                shape_str(s)
            );
        }
        let last = self.data_format.shape_to_last(s);
        let same = self.padding != Padding1D::Valid;
        let mut out = vec![last[0]];
        for (i, d) in last[1..=self.rank()].iter().enumerate() {
            let (k, st, dil) = (self.kernel_size[i], self.strides[i], self.dilation_rate[i]);
            out.push(match d {
                None => None,
                Some(d) if self.family == Family::Transpose => Some(ops::conv_transpose_output_len(
                    *d,
                    k,
                    st,
                    dil,
                    same,
                    self.output_padding.as_ref().map(|p| p[i]),
                )),
                Some(d) => match (*d > 0).then(|| conv_output_len(*d, k, st, dil, same)).flatten() {
                    Some(o) => Some(o),
                    None => {
                        return Err(negative_output_error(layer, s, &self.kernel_size, &self.dilation_rate))
                    }
                },
            });
        }
        out.push(Some(if self.family == Family::Depthwise {
            cin * self.depth_multiplier
        } else {
            self.filters
        }));
        Ok(self.data_format.shape_from_last(&out))
    }

    /// Creates the kernels and the bias for an input of `cin` channels, with Keras's names,
    /// shapes (independent of `data_format`), regularizers and constraints.
    pub(crate) fn weights(&self, layer: &str, cin: usize) -> Result<(Vec<Variable>, Option<Variable>)> {
        let k = &self.kernel_size;
        let with = |tail: [usize; 2]| k.iter().copied().chain(tail).collect::<Vec<usize>>();
        let dm = self.depth_multiplier;
        let shapes = match self.family {
            Family::Conv => vec![with([cin / self.groups.max(1), self.filters])],
            Family::Transpose => vec![with([self.filters, cin])],
            Family::Depthwise => vec![with([cin, dm])],
            Family::Separable => {
                let ones = vec![1; self.rank()];
                vec![with([cin, dm]), ones.into_iter().chain([cin * dm, self.filters]).collect()]
            }
        };
        let kernels = self
            .family
            .weights()
            .iter()
            .zip(shapes)
            .map(|((prefix, name), shape)| self.weight_args(prefix).variable(name, layer, &shape))
            .collect::<Result<_>>()?;
        let units = if self.family == Family::Depthwise { cin * dm } else { self.filters };
        let bias = if self.use_bias {
            Some(self.weight_args("bias").variable("bias", layer, &[units])?)
        } else {
            None
        };
        Ok((kernels, bias))
    }

    /// The initializer, regularizer and constraint of the weight whose config prefix is
    /// `prefix` (`kernel`, `depthwise`, `pointwise` or `bias`).
    fn weight_args(&self, prefix: &str) -> WeightArgs {
        let a = &self.args;
        match prefix {
            "kernel" => WeightArgs::of(&a.kernel_initializer, &a.kernel_regularizer, &a.kernel_constraint),
            "depthwise" => {
                WeightArgs::of(&a.depthwise_initializer, &a.depthwise_regularizer, &a.depthwise_constraint)
            }
            "pointwise" => {
                WeightArgs::of(&a.pointwise_initializer, &a.pointwise_regularizer, &a.pointwise_constraint)
            }
            _ => WeightArgs::of(&a.bias_initializer, &a.bias_regularizer, &a.bias_constraint),
        }
    }

    /// The input channels a built first kernel expects.
    pub(crate) fn built_channels(&self, kernel: &Variable) -> usize {
        let r = self.rank();
        match self.family {
            Family::Conv => kernel.shape()[r] * self.groups,
            Family::Transpose => kernel.shape()[r + 1],
            Family::Depthwise | Family::Separable => kernel.shape()[r],
        }
    }

    /// Runs `f` on the channels-last view of `x` and returns its result in the layer's
    /// layout (two differentiable transposes for `channels_first`).
    pub(crate) fn in_channels_last(
        &self,
        x: &Tensor,
        f: impl FnOnce(&Tensor) -> Result<Tensor>,
    ) -> Result<Tensor> {
        self.data_format.map_call(x, f)
    }

    /// Whether the layer pads nothing itself (`padding="valid"`).
    pub(crate) fn valid_padding(&self) -> bool {
        self.engine_padding() == ConvPadding::Valid
    }

    /// Whether the layer's data format is channels last.
    pub(crate) fn channels_last(&self) -> bool {
        self.data_format == DataFormat::ChannelsLast
    }

    /// For inference fusion (models/functional/inference_fusion.rs): the padding of the
    /// fused convolution, with `pad` (a ZeroPadding2D before it) as its own when it pads
    /// nothing itself; `None` where the layer cannot take an epilogue (its activation is not
    /// linear, it is grouped or channels-first) or the pad.
    pub(crate) fn fused_padding(&self, pad: Option<[[usize; 2]; 2]>) -> Option<ConvPadding> {
        if self.groups > 1
            || self.activation != Activation::Linear
            || self.data_format != DataFormat::ChannelsLast
        {
            return None;
        }
        match pad {
            Some(p) => self.valid_padding().then_some(ConvPadding::Explicit(p)),
            None => Some(self.engine_padding()),
        }
    }

    /// A 2-D layer's call with `pad` and `epilogue` fused into `conv` (the engine's
    /// `conv2d_inference` or `depthwise_conv2d_inference`), for inference; `None` where the
    /// layer cannot take them (see [`Self::fused_padding`]) or is not built.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn call_fused_inference(
        &self,
        layer: &str,
        x: &Tensor,
        kernel: Option<&Variable>,
        bias: Option<&Variable>,
        pad: Option<[[usize; 2]; 2]>,
        epilogue: &ops::ConvEpilogue,
        conv: InferenceConv,
    ) -> Option<Result<Tensor>> {
        let padding = self.fused_padding(pad)?;
        let kernel = kernel?;
        if let Err(e) = self.check_call_input(layer, x, self.built_channels(kernel)) {
            return Some(Err(e));
        }
        let bias = bias.map(|b| b.value());
        let (s, d) = (arr(&self.strides), arr(&self.dilation_rate));
        Some(conv(x, kernel.value(), bias, s, d, padding, epilogue).map_err(Error::from))
    }

    /// The engine padding (`causal`: `dilation * (k - 1)` zeros before the steps of the
    /// height-1 image a 1-D layer runs on).
    pub(crate) fn engine_padding(&self) -> ConvPadding {
        match self.padding {
            Padding1D::Valid => ConvPadding::Valid,
            Padding1D::Same => ConvPadding::Same,
            Padding1D::Causal => ConvPadding::Explicit([
                [0, 0],
                [self.dilation_rate[0] * self.kernel_size[0].saturating_sub(1), 0],
            ]),
        }
    }

    /// Whether the padding is `same`.
    pub(crate) fn same(&self) -> bool {
        self.padding == Padding1D::Same
    }

    /// The strides of a 1-D layer run as a height-1 image.
    pub(crate) fn strides_2d(&self) -> [usize; 2] {
        if self.rank() == 1 {
            [1, self.strides[0]]
        } else {
            arr(&self.strides)
        }
    }

    /// The dilation of a 1-D layer run as a height-1 image.
    pub(crate) fn dilation_2d(&self) -> [usize; 2] {
        if self.rank() == 1 {
            [1, self.dilation_rate[0]]
        } else {
            arr(&self.dilation_rate)
        }
    }

    /// The depthwise step on a channels-last input with a `(*k, c, dm)` kernel (a 1-D
    /// layer runs on a height-1 image).
    pub(crate) fn depthwise(
        &self,
        x: &Tensor,
        kernel: &Tensor,
        bias: Option<&Tensor>,
        act: Unary,
    ) -> Result<Tensor> {
        if self.rank() == 2 {
            return Ok(ops::depthwise_conv2d(
                x,
                kernel,
                bias,
                self.strides_2d(),
                self.dilation_2d(),
                self.engine_padding(),
                act,
            )?);
        }
        let [n, steps, c] = [x.shape()[0], x.shape()[1], x.shape()[2]];
        let dm = kernel.shape()[2];
        let y = ops::depthwise_conv2d(
            &x.reshape([n, 1, steps, c])?,
            &kernel.reshape([1, self.kernel_size[0], c, dm])?,
            bias,
            self.strides_2d(),
            self.dilation_2d(),
            self.engine_padding(),
            act,
        )?;
        let out = y.shape()[2];
        Ok(y.reshape([n, out, c * dm])?)
    }
}

/// Keras's error for `groups = 0`.
fn positive_groups_error() -> Option<Error> {
    Some(Error::InvalidArgument(
        "Invalid value for argument `groups`. Expected a strictly positive value. Received groups=0.".into(),
    ))
}

/// The first `N` entries of a size vector as an array (the rank is fixed by the layer).
pub(crate) fn arr<const N: usize>(v: &[usize]) -> [usize; N] {
    std::array::from_fn(|i| v.get(i).copied().unwrap_or(1))
}

/// The forward step of a convolution layer on a channels-last input, with the activation
/// the engine fuses (`Unary::Linear` when it cannot).
pub(crate) trait ConvForward {
    /// `x` channels-last, `kernels` in [`Family::weights`] order.
    fn forward(&self, x: &Tensor, kernels: &[&Tensor], bias: Option<&Tensor>, act: Unary) -> Result<Tensor>;
}

/// The builder methods of the arguments every convolution layer shares (the layer has
/// `base: LayerBase` and `args: Convolution<N>`). `$size` is the type of a size argument
/// (`usize` for the 1-D layers, `[usize; N]` otherwise).
macro_rules! conv_arg_builders {
    ($size:ty) => {
        /// Strides of the window (Keras `strides`; positive, and 1 wherever
        /// `dilation_rate` is above 1).
        pub fn strides(mut self, s: $size) -> Self {
            self.args.strides = $crate::layers::convolutional::args::SizeArg::into_tuple(s);
            self.check()
        }

        /// Padding by Keras name: `"valid"` or `"same"` (`Conv1D` also `"causal"`),
        /// case-insensitive.
        pub fn padding(mut self, p: &str) -> Self {
            if let Err(e) = self.args.set_padding(p, &self.base.name) {
                self.base.fail(e);
            }
            self
        }

        /// Dilation rate of the window (Keras `dilation_rate`; positive).
        pub fn dilation_rate(mut self, d: $size) -> Self {
            self.args.dilation_rate = $crate::layers::convolutional::args::SizeArg::into_tuple(d);
            self.check()
        }

        /// Layout of the inputs and outputs: `"channels_last"` (the default,
        /// `(batch, ..., channels)`) or `"channels_first"` (`(batch, channels, ...)`). The
        /// kernel layout does not depend on it (as Keras).
        pub fn data_format(mut self, f: &str) -> Self {
            if let Err(e) = self.args.set_data_format(f) {
                self.base.fail(e);
            }
            self
        }

        /// Activation by Keras name.
        pub fn activation(mut self, name: &str) -> Self {
            self.base.accept(&mut self.args.activation, $crate::activations::Activation::from_name(name));
            self
        }

        crate::setters::setters! {
            /// Activation by object.
            with_activation(args.activation): $crate::activations::Activation,
            /// Whether to add a bias.
            use_bias(args.use_bias): bool,
            /// Bias initializer.
            bias_initializer(args.bias_initializer): $crate::initializers::Initializer,
            /// Penalty of the bias added to the training loss (Keras `bias_regularizer`).
            bias_regularizer(args.bias_regularizer): $crate::regularizers::Regularizer => Some,
            /// Constraint applied to the bias after each optimizer update (Keras
            /// `bias_constraint`).
            bias_constraint(args.bias_constraint): $crate::constraints::Constraint => Some,
            /// Penalty of the layer's output added to the loss (Keras `activity_regularizer`).
            activity_regularizer(base.activity_regularizer): $crate::regularizers::Regularizer => Some,
        }

        $crate::layers::builders::base_builders!();

        /// Records the first invalid argument (reported by `build` or `Sequential::add`).
        fn check(mut self) -> Self {
            if let Some(e) = self.args.error() {
                self.base.fail(e);
            }
            self
        }
    };
    (@weight $what:literal, $init:ident, $reg:ident, $con:ident) => {
        #[doc = concat!("Initializer of the ", $what, " (Keras `", stringify!($init), "`).")]
        pub fn $init(mut self, i: $crate::initializers::Initializer) -> Self {
            self.args.$init = i;
            self
        }

        #[doc = concat!("Penalty of the ", $what, " added to the training loss (Keras `", stringify!($reg), "`).")]
        pub fn $reg(mut self, r: $crate::regularizers::Regularizer) -> Self {
            self.args.$reg = Some(r);
            self
        }

        #[doc = concat!("Constraint applied to the ", $what, " after each optimizer update (Keras `", stringify!($con), "`).")]
        pub fn $con(mut self, c: $crate::constraints::Constraint) -> Self {
            self.args.$con = Some(c);
            self
        }
    };
    (@groups) => {
        /// Number of channel groups: input channels and filters split into `g` independent
        /// convolutions (kernel `(*kernel_size, in / g, filters)`); `g` must divide both.
        pub fn groups(mut self, g: usize) -> Self {
            self.args.groups = g;
            self.check()
        }
    };
    (@depth_multiplier) => {
        /// Depthwise output channels per input channel (Keras `depth_multiplier`).
        pub fn depth_multiplier(mut self, dm: usize) -> Self {
            self.args.depth_multiplier = dm;
            self.check()
        }
    };
    (@output_padding $size:ty) => {
        /// Extra output steps at the end of each spatial axis (each must be below its
        /// stride; Keras `output_padding`).
        pub fn output_padding(mut self, p: $size) -> Self {
            self.args.output_padding = Some($crate::layers::convolutional::args::SizeArg::into_tuple(p));
            self.check()
        }
    };
}
pub(crate) use conv_arg_builders;

/// The struct and `Layer` implementation of a convolution layer: `base`, `args`, the
/// built `kernels` and `bias`; build, output shape, call (through [`ConvForward`], in
/// channels-last order), weights and config are the shared ones.
///
/// `conv_layer!(/// doc\n Conv2D, "Conv2D", "conv2d", Conv, [usize; 2], 2; /// new's doc\n new)`:
/// the [`Family`] variant picks `new`'s arguments (no `filters` for `Depthwise`) and the
/// family's builders beside the shared [`conv_arg_builders!`]; `[usize; 2]` is the type of
/// a size argument and `2` the rank.
macro_rules! conv_layer {
    (@new Depthwise $size:ty, $(#[$new_doc:meta])*) => {
        $(#[$new_doc])*
        pub fn new(kernel_size: $size) -> Self {
            use $crate::layers::convolutional::args::{Convolution, Family, SizeArg};
            Self::with_args(Convolution::new(Family::Depthwise, 0, SizeArg::into_tuple(kernel_size))).check()
        }
    };
    (@new $family:ident $size:ty, $(#[$new_doc:meta])*) => {
        $(#[$new_doc])*
        pub fn new(filters: usize, kernel_size: $size) -> Self {
            use $crate::layers::convolutional::args::{Convolution, Family, SizeArg};
            Self::with_args(Convolution::new(Family::$family, filters, SizeArg::into_tuple(kernel_size))).check()
        }
    };
    (@builders Conv $size:ty) => {
        $crate::layers::convolutional::args::conv_arg_builders!(@groups);
        $crate::layers::convolutional::args::conv_layer!(@builders kernel);
    };
    (@builders Transpose $size:ty) => {
        $crate::layers::convolutional::args::conv_arg_builders!(@output_padding $size);
        $crate::layers::convolutional::args::conv_layer!(@builders kernel);
    };
    (@builders Depthwise $size:ty) => {
        $crate::layers::convolutional::args::conv_arg_builders!(@depth_multiplier);
        $crate::layers::convolutional::args::conv_layer!(@builders depthwise);
    };
    (@builders Separable $size:ty) => {
        $crate::layers::convolutional::args::conv_arg_builders!(@depth_multiplier);
        $crate::layers::convolutional::args::conv_layer!(@builders depthwise);
        $crate::layers::convolutional::args::conv_arg_builders!(
            @weight "pointwise kernel", pointwise_initializer, pointwise_regularizer, pointwise_constraint
        );
    };
    (@builders kernel) => {
        $crate::layers::convolutional::args::conv_arg_builders!(
            @weight "kernel", kernel_initializer, kernel_regularizer, kernel_constraint
        );
    };
    (@builders depthwise) => {
        $crate::layers::convolutional::args::conv_arg_builders!(
            @weight "depthwise kernel", depthwise_initializer, depthwise_regularizer, depthwise_constraint
        );
    };
    (
        $(#[$doc:meta])* $ty:ident, $class:literal, $default_name:literal, $family:ident, $size:ty, $rank:literal;
        $(#[$new_doc:meta])* new
    ) => {
        $(#[$doc])*
        pub struct $ty {
            base: $crate::layers::LayerBase,
            args: $crate::layers::convolutional::args::Convolution<$rank>,
            kernels: Vec<$crate::layers::layer::Variable>,
            bias: Option<$crate::layers::layer::Variable>,
        }

        impl $ty {
            $crate::layers::convolutional::args::conv_layer!(@new $family $size, $(#[$new_doc])*);

            $crate::layers::convolutional::args::conv_arg_builders!($size);
            $crate::layers::convolutional::args::conv_layer!(@builders $family $size);

            fn with_args(args: $crate::layers::convolutional::args::Convolution<$rank>) -> Self {
                $ty { base: $crate::layers::LayerBase::new($default_name), args, kernels: Vec::new(), bias: None }
            }

            /// Rebuilds from a Keras config.
            pub fn from_config(cfg: &serde_json::Value) -> $crate::Result<Self> {
                let mut base = $crate::layers::LayerBase::new($default_name);
                let args = $crate::layers::convolutional::args::Convolution::<$rank>::from_config(
                    cfg,
                    $crate::layers::convolutional::args::Family::$family,
                    $class,
                    &mut base,
                )?;
                Ok($ty { base, args, kernels: Vec::new(), bias: None })
            }
        }

        impl $crate::layers::Layer for $ty {
            $crate::layers::reshaping::args::layer_common!($class, true);

            fn build(&mut self, input_shape: &[Option<usize>]) -> $crate::Result<()> {
                // A builder error also stops a direct build (not only `Sequential::add`).
                $crate::layers::layer::check_pending(self)?;
                let cin = self.args.check_input_spec(&self.base.name, input_shape)?;
                self.compute_output_shape(input_shape)?;
                let (kernels, bias) = self.args.weights(&self.base.name, cin)?;
                self.kernels = kernels;
                self.bias = bias;
                self.base.build_input_shape = Some(input_shape.to_vec());
                self.base.built = true;
                Ok(())
            }

            fn compute_output_shape(&self, s: &[Option<usize>]) -> $crate::Result<$crate::layers::Shape> {
                self.args.output_shape(&self.base.name, s)
            }

            fn call(
                &self,
                x: &$crate::Tensor,
                _ctx: &mut $crate::layers::CallContext,
            ) -> $crate::Result<$crate::Tensor> {
                let Some(first) = self.kernels.first() else {
                    return Err($crate::Error::State(format!("Layer {} is not built", self.base.name)));
                };
                self.args.check_call_input(&self.base.name, x, self.args.built_channels(first))?;
                self.compute_output_shape(&$crate::layers::reshaping::args::known(x.shape()))?;
                let kernels: Vec<&$crate::Tensor> = self.kernels.iter().map(|k| k.value()).collect();
                let bias = self.bias.as_ref().map(|b| b.value());
                self.args.in_channels_last(x, |xl| {
                    $crate::layers::convolutional::common::with_activation(&self.args.activation, |act| {
                        $crate::layers::convolutional::args::ConvForward::forward(self, xl, &kernels, bias, act)
                    })
                })
            }

            $crate::sublayers!(; kernels, bias);

            fn get_config(&self) -> serde_json::Value {
                self.args.to_config(&self.base)
            }
        }
    };
}
pub(crate) use conv_layer;

/// Writes, inside the `impl` of a 2-D convolution made by [`conv_layer!`], the methods the
/// Functional graph's inference fusion (models/functional/inference_fusion.rs) calls:
/// `valid_padding` and `call_fused_inference` with `$op`, the engine's fused inference
/// convolution of that layer.
macro_rules! fused_inference_methods {
    ($op:path) => {
        /// Whether the layer pads nothing itself (`padding="valid"`).
        pub(crate) fn valid_padding(&self) -> bool {
            self.args.valid_padding()
        }

        /// The layer's call with `pad` (a ZeroPadding2D before it, when its own padding is
        /// `valid`) and `epilogue` (a folded BatchNormalization, an activation) fused into
        /// the convolution, for inference; `None` where the layer cannot take them (its own
        /// activation is not linear, it is grouped or channels-first, or it pads itself).
        pub(crate) fn call_fused_inference(
            &self,
            x: &$crate::Tensor,
            pad: Option<[[usize; 2]; 2]>,
            epilogue: &keras_engine::ops::ConvEpilogue,
        ) -> Option<$crate::Result<$crate::Tensor>> {
            let (kernel, bias) = (self.kernels.first(), self.bias.as_ref());
            self.args.call_fused_inference(&self.base.name, x, kernel, bias, pad, epilogue, $op)
        }
    };
}
pub(crate) use fused_inference_methods;
