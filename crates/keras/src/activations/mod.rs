//! Keras activation functions (`keras.activations`), by object or by their Keras string names.

use keras_engine::ops::{self, Unary};
use serde_json::Value;

use crate::{keras_bail, Result, Tensor};

/// An activation function. `Activation::from_name("relu")` accepts the same strings as Keras.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Activation {
    /// `linear` (identity; also `None` in Keras).
    Linear,
    /// `relu`.
    Relu,
    /// `sigmoid`.
    Sigmoid,
    /// `tanh`.
    Tanh,
    /// `softmax` over the last axis.
    Softmax,
    /// `elu` with `alpha` (1.0 for the string `"elu"`).
    Elu(f32),
    /// `selu`.
    Selu,
    /// `softplus`.
    Softplus,
    /// `silu`, also named `swish`.
    Silu,
    /// `exponential`.
    Exponential,
    /// `relu6`: `min(max(x, 0), 6)`.
    Relu6,
    /// `leaky_relu` with `negative_slope` (0.2 for the string `"leaky_relu"`).
    LeakyRelu(f32),
    /// `relu` with non-default arguments (`keras.activations.relu(x, negative_slope,
    /// max_value, threshold)`); serializes as `"relu"`, like Keras.
    ReluWith {
        /// Slope below the threshold.
        negative_slope: f32,
        /// Saturation value (`None` for none).
        max_value: Option<f32>,
        /// Values at or below it are zeroed (or scaled by the slope).
        threshold: f32,
    },
    /// `celu` with `alpha` (1.0 for the string).
    Celu(f32),
    /// `gelu`: the exact erf form, or the tanh approximation with `approximate: true`
    /// (the string `"gelu"` is exact, as `keras.activations.gelu`).
    Gelu {
        /// Use the tanh approximation.
        approximate: bool,
    },
    /// `hard_sigmoid` (Keras 3): `relu6(x + 3) / 6`.
    HardSigmoid,
    /// `hard_silu`, also named `hard_swish`: `x * hard_sigmoid(x)`.
    HardSilu,
    /// `hard_tanh`: `clip(x, -1, 1)`.
    HardTanh,
    /// `hard_shrink` with `threshold` (0.5 for the string).
    HardShrink(f32),
    /// `soft_shrink` with `threshold` (0.5 for the string).
    SoftShrink(f32),
    /// `log_sigmoid`.
    LogSigmoid,
    /// `log_softmax` over the last axis.
    LogSoftmax,
    /// `mish`: `x * tanh(softplus(x))`.
    Mish,
    /// `softsign`: `x / (1 + |x|)`.
    Softsign,
    /// `squareplus` with `b` (4 for the string).
    Squareplus(f32),
    /// `tanh_shrink`: `x - tanh(x)`.
    TanhShrink,
    /// `sparse_plus`.
    SparsePlus,
    /// `sparse_sigmoid`.
    SparseSigmoid,
    /// `threshold(x, threshold, default_value)` (no string form: its arguments have no
    /// defaults).
    Threshold {
        /// Values at or below it are replaced.
        threshold: f32,
        /// The replacement.
        default_value: f32,
    },
    /// `glu(x, axis)`: `a * sigmoid(b)` for the halves `a`, `b` of `x` along `axis` (-1 for
    /// the string).
    Glu {
        /// The axis to split (its length must be even).
        axis: isize,
    },
    /// `sparsemax(x, axis)`: Euclidean projection onto the simplex along `axis` (-1 for the
    /// string).
    Sparsemax {
        /// The axis to normalize.
        axis: isize,
    },
    /// `softmax(x, axis)` with an `axis` other than the default: one axis, or a tuple of axes
    /// normalized together (`keras.activations.softmax(x, axis=(1, 2))`). Serializes as
    /// `"softmax"`, like Keras.
    SoftmaxAxes(Axes),
    /// `log_softmax(x, axis)` over one axis or a tuple of axes (see
    /// [`Activation::SoftmaxAxes`]).
    LogSoftmaxAxes(Axes),
}

/// Linear, as Keras's `activations.get(None)`.
impl Default for Activation {
    fn default() -> Self {
        Activation::Linear
    }
}

/// A Keras `axis` argument that may be a tuple: up to eight axes, kept inline so that
/// [`Activation`] stays `Copy`. Negative axes count from the end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Axes {
    len: u8,
    axes: [i8; 8],
}

impl Axes {
    /// The axes (`&[-1]`, `&[1, 2]`). At least one and at most eight, each in
    /// `[-128, 127]` and distinct; the rank is checked when the activation is applied.
    pub fn new(axes: &[isize]) -> Result<Axes> {
        if axes.is_empty() || axes.len() > 8 {
            keras_bail!(InvalidArgument, "`axis` must name between 1 and 8 axes. Received: axis={axes:?}");
        }
        let mut out = [0i8; 8];
        for (i, &a) in axes.iter().enumerate() {
            out[i] = i8::try_from(a).map_err(|_| {
                crate::Error::InvalidArgument(format!("axis {a} is out of range. Received: axis={axes:?}"))
            })?;
        }
        Ok(Axes { len: axes.len() as u8, axes: out })
    }

    /// The axes as given.
    pub fn to_vec(&self) -> Vec<isize> {
        self.axes[..self.len as usize].iter().map(|&a| a as isize).collect()
    }
}

/// Reads an `axis` argument: an integer or a list of integers.
fn axes_from_json(name: &str, v: &Value) -> Result<Axes> {
    let ints: Option<Vec<isize>> = match v {
        Value::Number(n) => n.as_i64().map(|a| vec![a as isize]),
        Value::Array(a) => a.iter().map(|x| x.as_i64().map(|v| v as isize)).collect(),
        _ => None,
    };
    match ints {
        Some(list) => Axes::new(&list),
        None => keras_bail!(
            InvalidArgument,
            "activation {name}: `axis` must be an integer or a list of integers, got {v}"
        ),
    }
}

/// Resolves `axes` against a rank: non-negative, in range, without repeats.
fn normalize_axes(axes: &[isize], rank: usize) -> Result<Vec<usize>> {
    let mut out: Vec<usize> = Vec::with_capacity(axes.len());
    for &a in axes {
        let n = ops::normalize_axis(a, rank).map_err(|_| {
            crate::Error::InvalidArgument(format!(
                "axis {a} is out of bounds for a tensor of rank {rank}. Received: axis={axes:?}"
            ))
        })?;
        if out.contains(&n) {
            keras_bail!(InvalidArgument, "repeated axis {a} in axis={axes:?}");
        }
        out.push(n);
    }
    Ok(out)
}

/// Softmax or log-softmax over several axes at once, as `keras.ops.softmax(x, axis=tuple)`:
/// the normalized axes are moved last, flattened into one, normalized, and moved back.
fn over_axes(x: &Tensor, axes: &[isize], log: bool) -> Result<Tensor> {
    let ax = normalize_axes(axes, x.rank())?;
    if ax.len() == 1 {
        let a = ax[0] as isize;
        return Ok(if log { ops::log_softmax(x, a)? } else { ops::softmax(x, a)? });
    }
    let keep: Vec<usize> = (0..x.rank()).filter(|d| !ax.contains(d)).collect();
    let perm: Vec<usize> = keep.iter().chain(&ax).copied().collect();
    let moved = ops::transpose(x, &perm)?;
    let mut flat: Vec<usize> = keep.iter().map(|&d| x.shape()[d]).collect();
    flat.push(ax.iter().map(|&d| x.shape()[d]).product());
    let y = moved.reshape(flat)?;
    let y = if log { ops::log_softmax(&y, -1)? } else { ops::softmax(&y, -1)? };
    let y = y.reshape(moved.shape().to_vec())?;
    let mut inverse = vec![0usize; perm.len()];
    for (i, &p) in perm.iter().enumerate() {
        inverse[p] = i;
    }
    Ok(ops::transpose(&y, &inverse)?)
}

/// `keras.activations.softmax(x, axis)` where `axis` is one axis or a tuple of axes
/// normalized together (differentiable).
///
/// ```
/// use keras::Tensor;
/// let x = Tensor::new(vec![1.0, 2.0, 3.0, 4.0], [1, 2, 2]).unwrap();
/// let y = keras::activations::softmax(&x, &[1, 2]).unwrap();
/// let total: f32 = y.to_f32_vec().iter().sum();
/// assert!((total - 1.0).abs() < 1e-6);
/// ```
pub fn softmax(x: &Tensor, axis: &[isize]) -> Result<Tensor> {
    over_axes(x, axis, false)
}

/// `keras.activations.log_softmax(x, axis)` over one axis or a tuple of axes.
pub fn log_softmax(x: &Tensor, axis: &[isize]) -> Result<Tensor> {
    over_axes(x, axis, true)
}

impl Activation {
    /// Resolves a Keras name (`"relu"`, `"swish"`, ...). `None`/`""` in Keras means linear.
    pub fn from_name(name: &str) -> Result<Activation> {
        Ok(match name {
            "linear" | "" | "None" => Activation::Linear,
            "relu" => Activation::Relu,
            "sigmoid" => Activation::Sigmoid,
            "tanh" => Activation::Tanh,
            "softmax" => Activation::Softmax,
            "elu" => Activation::Elu(1.0),
            "selu" => Activation::Selu,
            "softplus" => Activation::Softplus,
            "silu" | "swish" => Activation::Silu,
            "exponential" => Activation::Exponential,
            "relu6" => Activation::Relu6,
            "leaky_relu" => Activation::LeakyRelu(0.2),
            "celu" => Activation::Celu(1.0),
            "gelu" => Activation::Gelu { approximate: false },
            "hard_sigmoid" => Activation::HardSigmoid,
            "hard_silu" | "hard_swish" => Activation::HardSilu,
            "hard_tanh" => Activation::HardTanh,
            "hard_shrink" => Activation::HardShrink(0.5),
            "soft_shrink" => Activation::SoftShrink(0.5),
            "log_sigmoid" => Activation::LogSigmoid,
            "log_softmax" => Activation::LogSoftmax,
            "mish" => Activation::Mish,
            "softsign" => Activation::Softsign,
            "squareplus" => Activation::Squareplus(4.0),
            "tanh_shrink" => Activation::TanhShrink,
            "sparse_plus" => Activation::SparsePlus,
            "sparse_sigmoid" => Activation::SparseSigmoid,
            "glu" => Activation::Glu { axis: -1 },
            "sparsemax" => Activation::Sparsemax { axis: -1 },
            other => {
                keras_bail!(InvalidArgument, "Could not interpret activation function identifier: {other}")
            }
        })
    }

    /// `keras.activations.<name>(x, **params)`: the function `name` with keyword arguments
    /// from a JSON object (`{"negative_slope": 0.1}`; `null` or `{}` for none). Unknown
    /// arguments and invalid values (a negative `squareplus` `b`, a zero `celu` alpha) are
    /// errors naming the function, the argument and the value.
    pub fn with_params(name: &str, params: &Value) -> Result<Activation> {
        let empty = serde_json::Map::new();
        let p = match params {
            Value::Null => &empty,
            Value::Object(o) => o,
            other => {
                keras_bail!(InvalidArgument, "activation {name}: parameters must be an object, got {other}")
            }
        };
        let allowed: &[&str] = match name {
            "relu" => &["negative_slope", "max_value", "threshold"],
            "leaky_relu" => &["negative_slope"],
            "elu" | "celu" => &["alpha"],
            "gelu" => &["approximate"],
            "squareplus" => &["b"],
            "hard_shrink" | "soft_shrink" => &["threshold"],
            "threshold" => &["threshold", "default_value"],
            "glu" | "sparsemax" | "softmax" | "log_softmax" => &["axis"],
            _ => &[],
        };
        if let Some(k) = p.keys().find(|k| !allowed.contains(&k.as_str())) {
            keras_bail!(InvalidArgument, "activation {name} got an unexpected keyword argument '{k}'");
        }
        let num = |key: &str, default: Option<f32>| -> Result<f32> {
            match p.get(key) {
                None | Some(Value::Null) => match default {
                    Some(d) => Ok(d),
                    None => keras_bail!(InvalidArgument, "activation {name} needs the argument `{key}`"),
                },
                Some(Value::Number(n)) => Ok(n.as_f64().unwrap_or(f64::NAN) as f32),
                Some(other) => {
                    keras_bail!(InvalidArgument, "activation {name}: `{key}` must be a number, got {other}")
                }
            }
        };
        let finite = |key: &str, v: f32| -> Result<f32> {
            if v.is_finite() {
                Ok(v)
            } else {
                keras_bail!(InvalidArgument, "activation {name}: `{key}` must be finite, got {v}")
            }
        };
        Ok(match name {
            "relu" => {
                let negative_slope = finite("negative_slope", num("negative_slope", Some(0.0))?)?;
                let threshold = finite("threshold", num("threshold", Some(0.0))?)?;
                let max_value = match p.get("max_value") {
                    None | Some(Value::Null) => None,
                    Some(_) => Some(num("max_value", None)?),
                };
                if let Some(m) = max_value {
                    if m.is_nan() {
                        keras_bail!(
                            InvalidArgument,
                            "activation relu: `max_value` must be a number, got {m}"
                        );
                    }
                }
                if negative_slope == 0.0 && max_value.is_none() && threshold == 0.0 {
                    Activation::Relu
                } else {
                    Activation::ReluWith { negative_slope, max_value, threshold }
                }
            }
            "leaky_relu" => {
                Activation::LeakyRelu(finite("negative_slope", num("negative_slope", Some(0.2))?)?)
            }
            "elu" => Activation::Elu(finite("alpha", num("alpha", Some(1.0))?)?),
            "celu" => {
                let a = finite("alpha", num("alpha", Some(1.0))?)?;
                if a == 0.0 {
                    keras_bail!(InvalidArgument, "activation celu: `alpha` must be non-zero, got alpha={a}");
                }
                Activation::Celu(a)
            }
            "gelu" => match p.get("approximate") {
                None | Some(Value::Null) => Activation::Gelu { approximate: false },
                Some(Value::Bool(b)) => Activation::Gelu { approximate: *b },
                Some(other) => keras_bail!(
                    InvalidArgument,
                    "activation gelu: `approximate` must be a boolean, got {other}"
                ),
            },
            "squareplus" => {
                let b = finite("b", num("b", Some(4.0))?)?;
                if b < 0.0 {
                    keras_bail!(
                        InvalidArgument,
                        "activation squareplus: `b` must be non-negative, got b={b}"
                    );
                }
                Activation::Squareplus(b)
            }
            "hard_shrink" => Activation::HardShrink(finite("threshold", num("threshold", Some(0.5))?)?),
            "soft_shrink" => Activation::SoftShrink(finite("threshold", num("threshold", Some(0.5))?)?),
            "threshold" => Activation::Threshold {
                threshold: num("threshold", None)?,
                default_value: num("default_value", None)?,
            },
            "softmax" | "log_softmax" => {
                let axes = match p.get("axis") {
                    None | Some(Value::Null) => None,
                    Some(v) => Some(axes_from_json(name, v)?),
                };
                match (name, axes) {
                    (_, Some(a)) if a.to_vec() != [-1] => {
                        if name == "softmax" {
                            Activation::SoftmaxAxes(a)
                        } else {
                            Activation::LogSoftmaxAxes(a)
                        }
                    }
                    ("softmax", _) => Activation::Softmax,
                    _ => Activation::LogSoftmax,
                }
            }
            "glu" | "sparsemax" => {
                let axis = match p.get("axis") {
                    None | Some(Value::Null) => -1,
                    Some(v) => match v.as_i64() {
                        Some(a) => a as isize,
                        None => keras_bail!(
                            InvalidArgument,
                            "activation {name}: `axis` must be an integer, got {v}"
                        ),
                    },
                };
                if name == "glu" {
                    Activation::Glu { axis }
                } else {
                    Activation::Sparsemax { axis }
                }
            }
            other => Activation::from_name(other)?,
        })
    }

    /// Reads an activation from a layer config value (a string, null, or a serialized function).
    pub fn from_config(v: &Value) -> Result<Activation> {
        match v {
            Value::Null => Ok(Activation::Linear),
            Value::String(s) => Activation::from_name(s),
            Value::Object(o) => match o.get("config") {
                Some(Value::String(s)) => Activation::from_name(s),
                _ => match o.get("class_name").and_then(Value::as_str) {
                    Some(name) if name != "function" => Activation::from_name(name),
                    _ => keras_bail!(Config, "cannot read activation {v}"),
                },
            },
            _ => keras_bail!(Config, "cannot read activation {v}"),
        }
    }

    /// The Keras name this activation serializes to.
    pub fn name(&self) -> &'static str {
        match self {
            Activation::Linear => "linear",
            Activation::Relu => "relu",
            Activation::Sigmoid => "sigmoid",
            Activation::Tanh => "tanh",
            Activation::Softmax => "softmax",
            Activation::Elu(_) => "elu",
            Activation::Selu => "selu",
            Activation::Softplus => "softplus",
            Activation::Silu => "silu",
            Activation::Exponential => "exponential",
            Activation::Relu6 => "relu6",
            Activation::LeakyRelu(_) => "leaky_relu",
            Activation::ReluWith { .. } => "relu",
            Activation::Celu(_) => "celu",
            Activation::Gelu { .. } => "gelu",
            Activation::HardSigmoid => "hard_sigmoid",
            Activation::HardSilu => "hard_silu",
            Activation::HardTanh => "hard_tanh",
            Activation::HardShrink(_) => "hard_shrink",
            Activation::SoftShrink(_) => "soft_shrink",
            Activation::LogSigmoid => "log_sigmoid",
            Activation::LogSoftmax => "log_softmax",
            Activation::Mish => "mish",
            Activation::Softsign => "softsign",
            Activation::Squareplus(_) => "squareplus",
            Activation::TanhShrink => "tanh_shrink",
            Activation::SparsePlus => "sparse_plus",
            Activation::SparseSigmoid => "sparse_sigmoid",
            Activation::Threshold { .. } => "threshold",
            Activation::Glu { .. } => "glu",
            Activation::Sparsemax { .. } => "sparsemax",
            Activation::SoftmaxAxes(_) => "softmax",
            Activation::LogSoftmaxAxes(_) => "log_softmax",
        }
    }

    /// The config value (`"relu"`).
    pub fn to_config(&self) -> Value {
        Value::String(self.name().to_string())
    }

    /// The engine's element-wise function, where this activation is one (not softmax).
    pub fn unary(&self) -> Option<Unary> {
        Some(match self {
            Activation::Linear => Unary::Linear,
            Activation::Relu => Unary::Relu,
            Activation::Sigmoid => Unary::Sigmoid,
            Activation::Tanh => Unary::Tanh,
            Activation::Softmax => return None,
            Activation::Elu(a) => Unary::Elu(*a),
            Activation::Selu => Unary::Selu,
            Activation::Softplus => Unary::Softplus,
            Activation::Silu => Unary::Silu,
            Activation::Exponential => Unary::Exp,
            Activation::Relu6 => Unary::ReluParams { negative_slope: 0.0, max_value: 6.0, threshold: 0.0 },
            Activation::LeakyRelu(s) => {
                Unary::ReluParams { negative_slope: *s, max_value: f32::INFINITY, threshold: 0.0 }
            }
            Activation::ReluWith { negative_slope, max_value, threshold } => Unary::ReluParams {
                negative_slope: *negative_slope,
                max_value: max_value.unwrap_or(f32::INFINITY),
                threshold: *threshold,
            },
            Activation::Celu(a) => Unary::Celu(*a),
            Activation::Gelu { approximate: false } => Unary::Gelu,
            Activation::Gelu { approximate: true } => Unary::GeluTanh,
            Activation::HardSigmoid => Unary::HardSigmoid,
            Activation::HardSilu => Unary::HardSilu,
            Activation::HardTanh => Unary::HardTanh,
            Activation::HardShrink(t) => Unary::HardShrink(*t),
            Activation::SoftShrink(t) => Unary::SoftShrink(*t),
            Activation::LogSigmoid => Unary::LogSigmoid,
            Activation::LogSoftmax => return None,
            Activation::Glu { .. } | Activation::Sparsemax { .. } => return None,
            Activation::SoftmaxAxes(_) | Activation::LogSoftmaxAxes(_) => return None,
            Activation::Mish => Unary::Mish,
            Activation::Softsign => Unary::Softsign,
            Activation::Squareplus(b) => Unary::Squareplus(*b),
            Activation::TanhShrink => Unary::TanhShrink,
            Activation::SparsePlus => Unary::SparsePlus,
            Activation::SparseSigmoid => Unary::SparseSigmoid,
            Activation::Threshold { threshold, default_value } => {
                Unary::Threshold { threshold: *threshold, default_value: *default_value }
            }
        })
    }

    /// The element-wise function to fuse into a Dense/Conv epilogue, when it can be fused
    /// (derivative recoverable from the output). Sigmoid is not fused: its output must
    /// remember its logits for crossentropy (oracle README note 11).
    pub fn fusable(&self) -> Option<Unary> {
        match self.unary() {
            Some(Unary::Sigmoid) => None,
            Some(u) if u.invertible_derivative() => Some(u),
            _ => None,
        }
    }

    /// Applies the activation (differentiable).
    pub fn apply(&self, x: &Tensor) -> Result<Tensor> {
        Ok(match self {
            Activation::Linear => x.clone(),
            Activation::Softmax => ops::softmax(x, -1)?,
            Activation::LogSoftmax => ops::log_softmax(x, -1)?,
            Activation::Glu { axis } => ops::glu(x, *axis)?,
            Activation::Sparsemax { axis } => ops::sparsemax(x, *axis)?,
            Activation::SoftmaxAxes(a) => softmax(x, &a.to_vec())?,
            Activation::LogSoftmaxAxes(a) => log_softmax(x, &a.to_vec())?,
            other => ops::unary(x, other.unary().expect("element-wise"))?,
        })
    }
}

/// `keras.activations.get`: resolves a name to an activation.
pub fn get(name: &str) -> Result<Activation> {
    Activation::from_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_over_a_tuple_of_axes() {
        use keras_engine::testing::check_grad;
        use serde_json::json;
        let x = Tensor::new((0..24).map(|v| (v as f32 * 0.37).sin()).collect(), [2, 3, 4]).unwrap();
        let a = Activation::with_params("softmax", &json!({"axis": [0, 2]})).unwrap();
        assert_eq!(a.name(), "softmax");
        let y = a.apply(&x).unwrap().to_f32_vec();
        // Each slice x[:, j, :] sums to one.
        for j in 0..3 {
            let s: f32 =
                (0..2).flat_map(|i| (0..4).map(move |k| (i, k))).map(|(i, k)| y[i * 12 + j * 4 + k]).sum();
            assert!((s - 1.0).abs() < 1e-6, "{s}");
        }
        let l = log_softmax(&x, &[0, 2]).unwrap().to_f32_vec();
        for (a, b) in l.iter().zip(&y) {
            assert!((a.exp() - b).abs() < 1e-6);
        }
        check_grad(
            &[&x],
            |t| softmax(t[0], &[2, 0]).map_err(|e| keras_engine::EngineError::new(e.to_string())),
            1e-2,
        );
        check_grad(
            &[&x],
            |t| log_softmax(t[0], &[1, 2]).map_err(|e| keras_engine::EngineError::new(e.to_string())),
            1e-2,
        );
        assert_eq!(Activation::with_params("softmax", &json!({"axis": -1})).unwrap(), Activation::Softmax);
        assert_eq!(softmax(&x, &[1]).unwrap().to_f32_vec(), ops::softmax(&x, 1).unwrap().to_f32_vec());
    }

    #[test]
    fn names_round_trip_and_aliases() {
        for n in
            ["linear", "relu", "sigmoid", "tanh", "softmax", "elu", "selu", "softplus", "silu", "exponential"]
        {
            assert_eq!(Activation::from_name(n).unwrap().name(), n);
        }
        assert_eq!(Activation::from_name("swish").unwrap(), Activation::Silu);
        assert!(Activation::from_name("nope").is_err());
        assert_eq!(Activation::from_config(&Value::Null).unwrap(), Activation::Linear);
    }

    #[test]
    fn keras3_names_and_defaults() {
        for n in [
            "relu6",
            "leaky_relu",
            "celu",
            "gelu",
            "hard_sigmoid",
            "hard_silu",
            "hard_tanh",
            "hard_shrink",
            "soft_shrink",
            "log_sigmoid",
            "log_softmax",
            "mish",
            "softsign",
            "squareplus",
            "tanh_shrink",
            "sparse_plus",
            "sparse_sigmoid",
        ] {
            let a = Activation::from_name(n).unwrap();
            assert_eq!(a.name(), n);
            assert_eq!(Activation::from_config(&a.to_config()).unwrap(), a);
        }
        assert_eq!(Activation::from_name("hard_swish").unwrap(), Activation::HardSilu);
        assert_eq!(Activation::from_name("leaky_relu").unwrap(), Activation::LeakyRelu(0.2));
        assert_eq!(Activation::from_name("gelu").unwrap(), Activation::Gelu { approximate: false });
        assert!(Activation::from_name("threshold").is_err());
    }

    #[test]
    fn activation_glu_and_sparsemax() {
        use serde_json::json;
        for n in ["glu", "sparsemax"] {
            let a = Activation::from_name(n).unwrap();
            assert_eq!(a.name(), n);
            assert_eq!(Activation::from_config(&a.to_config()).unwrap(), a);
            assert!(a.unary().is_none() && a.fusable().is_none());
        }
        assert_eq!(Activation::with_params("glu", &json!({"axis": 0})).unwrap(), Activation::Glu { axis: 0 });
        assert_eq!(
            Activation::with_params("sparsemax", &json!({})).unwrap(),
            Activation::Sparsemax { axis: -1 }
        );
        assert!(Activation::with_params("glu", &json!({"axis": 0.5})).is_err());
        assert!(Activation::with_params("sparsemax", &json!({"beta": 1})).is_err());
        let x = Tensor::new(vec![1.0, -2.0, 0.0, 3.0], [1, 4]).unwrap();
        let g = Activation::from_name("glu").unwrap().apply(&x).unwrap();
        assert_eq!(g.shape(), &[1, 2]);
        assert!((g.as_f32().unwrap()[0] - 0.5).abs() < 1e-6);
        assert!(Activation::Glu { axis: -1 }.apply(&Tensor::new(vec![1.0; 3], [1, 3]).unwrap()).is_err());
        let s = Activation::Sparsemax { axis: -1 }.apply(&Tensor::new(vec![1.0, 2.0, 3.0], [1, 3]).unwrap());
        assert_eq!(s.unwrap().as_f32().unwrap(), &[0.0, 0.0, 1.0]);
    }

    #[test]
    fn with_params_reads_keyword_arguments_and_rejects_bad_ones() {
        use serde_json::json;
        let a = Activation::with_params("relu", &json!({"negative_slope": 0.1, "max_value": 2.0})).unwrap();
        assert_eq!(a, Activation::ReluWith { negative_slope: 0.1, max_value: Some(2.0), threshold: 0.0 });
        assert_eq!(Activation::with_params("relu", &json!({})).unwrap(), Activation::Relu);
        assert_eq!(
            Activation::with_params("gelu", &json!({"approximate": true})).unwrap(),
            Activation::Gelu { approximate: true }
        );
        assert_eq!(
            Activation::with_params("squareplus", &json!({"b": 2})).unwrap(),
            Activation::Squareplus(2.0)
        );
        let t =
            Activation::with_params("threshold", &json!({"threshold": 0.5, "default_value": -1.0})).unwrap();
        let x = Tensor::new(vec![0.2, 0.7], [2]).unwrap();
        assert_eq!(t.apply(&x).unwrap().as_f32().unwrap(), &[-1.0, 0.7]);
        for (name, params) in [
            ("squareplus", json!({"b": -1.0})),
            ("celu", json!({"alpha": 0.0})),
            ("relu", json!({"slope": 0.1})),
            ("gelu", json!({"approximate": 1})),
            ("threshold", json!({"threshold": 0.5})),
            ("tanh", json!({"alpha": 1.0})),
            ("relu", json!([1])),
        ] {
            let e = Activation::with_params(name, &params).unwrap_err();
            assert!(e.to_string().contains(name), "{e}");
        }
        for bad in [json!({"axis": [1, 1]}), json!({"axis": 3}), json!({"axis": "a"}), json!({"axis": []})] {
            let r = Activation::with_params("softmax", &bad).and_then(|a| a.apply(&Tensor::zeros([2, 2, 2])));
            assert!(r.is_err(), "{bad}");
        }
        let ls = Activation::LogSoftmax.apply(&Tensor::new(vec![0.0, 0.0], [1, 2]).unwrap()).unwrap();
        assert!((ls.as_f32().unwrap()[0] - (0.5f32).ln()).abs() < 1e-6);
    }
}
