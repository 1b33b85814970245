//! `Conv2D`: 2-D convolution over images (channels-last or channels-first).

use keras_engine::ops::{self, Unary};
use serde_json::Value;

use crate::layers::convolutional::args::{arr, conv_arg_builders, conv_layer, ConvArgs, ConvForward, Family};
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

conv_layer!(
    /// 2-D convolution layer (Keras `keras.layers.Conv2D`), kernel `(kh, kw, in / groups,
    /// filters)` in either data format.
    ///
    /// ```
    /// use keras::layers::Conv2D;
    /// let conv = Conv2D::new(32, [3, 3]).activation("relu").input_shape(&[32, 32, 3]);
    /// ```
    Conv2D, "Conv2D", "conv2d", Family::Conv, 2
);

impl Conv2D {
    /// `filters` output channels, a `kernel_size` window, stride 1, `valid` padding.
    pub fn new(filters: usize, kernel_size: [usize; 2]) -> Self {
        Conv2D::with_args(ConvArgs::new(Family::Conv, filters, kernel_size.to_vec())).check()
    }

    conv_arg_builders!([usize; 2]);
    conv_arg_builders!(@groups);
    conv_arg_builders!(@weight 0, "kernel", kernel_initializer, kernel_regularizer, kernel_constraint);
}

impl ConvForward for Conv2D {
    fn forward(&self, x: &Tensor, k: &[&Tensor], bias: Option<&Tensor>, act: Unary) -> Result<Tensor> {
        let a = &self.args;
        if a.groups == 1 {
            Ok(ops::conv2d(x, k[0], bias, arr(&a.strides), arr(&a.dilation_rate), a.same(), act)?)
        } else {
            let (s, d) = (arr(&a.strides), arr(&a.dilation_rate));
            Ok(ops::conv2d_ext(x, k[0], bias, s, d, a.engine_padding(), a.groups, act)?)
        }
    }
}
