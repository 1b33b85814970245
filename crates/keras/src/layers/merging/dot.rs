//! `Dot`: the batch-wise dot product of two inputs along chosen axes.

use serde_json::{json, Value};

use crate::layers::layer::{LayerBase, Shape};
use crate::layers::layer_args::{LayerArgs, LayerCfg};
use crate::layers::merging::base_merge::merge_layer_impl;
use crate::utils::config_args::{config_args, ConfigArg};
use crate::utils::python_repr::{py_shape, py_shapes};
use crate::{keras_bail, ops, Result, Tensor};

/// Keras `keras.layers.Dot`: for `x (batch, ...)` and `y (batch, ...)`, sums `x * y` over
/// `axes[0]` of `x` and `axes[1]` of `y` (Keras `batch_dot`). The output shape is `x`'s shape
/// without the summed axis followed by `y`'s without batch and summed axis, `(batch, 1)` when
/// nothing else is left. With `normalize`, both inputs are L2-normalized along their axes
/// first (cosine similarity). The output has no mask.
///
/// ```
/// use keras::layers::{CallContext, Dot, Layer};
/// use keras::Tensor;
///
/// let dot = Dot::new(1);
/// let x = Tensor::new(vec![1.0, 2.0, 3.0, 4.0], [2, 2]).unwrap();
/// let y = Tensor::new(vec![5.0, 6.0, 7.0, 8.0], [2, 2]).unwrap();
/// let out = dot.call_multi(&[x, y], &[None, None], &mut CallContext::new(false)).unwrap();
/// assert_eq!(out[0].shape(), &[2, 1]);
/// assert_eq!(out[0].to_f32_vec(), vec![17.0, 53.0]);
/// ```
pub struct Dot {
    base: LayerBase,
    build_shapes: Option<Vec<Shape>>,
    args: DotArgs,
}

config_args! {
    /// Dot's Keras arguments, in Keras's `get_config()` order.
    pub(crate) struct DotArgs in Dot.args, family LayerArgs {
        axes: Axes,
        /// L2-normalizes both inputs along the dot axes first (the output is the cosine similarity).
        normalize: bool = false; builder normalize(normalize: bool),
    }
}

impl Default for Axes {
    /// The last axis of both inputs.
    fn default() -> Self {
        Axes::Both(-1)
    }
}

/// An int, or a list of two ints.
impl ConfigArg<LayerArgs> for Axes {
    fn to_config(&self) -> Value {
        match *self {
            Axes::Both(a) => json!(a),
            Axes::Pair(a, b) => json!([a, b]),
        }
    }
    fn from_config(src: &mut LayerCfg<'_>, key: &str, _default: Option<Self>) -> Result<Self> {
        Ok(match src.cfg.get(key) {
            Some(Value::Number(n)) if n.is_i64() => Axes::Both(n.as_i64().unwrap_or(-1)),
            Some(Value::Array(a)) => {
                if a.len() != 2 {
                    keras_bail!(
                        Config,
                        "Invalid format for argument `{key}`: it should contain two elements. Received: {key}={}",
                        Value::Array(a.clone())
                    );
                }
                match (a[0].as_i64(), a[1].as_i64()) {
                    (Some(x), Some(y)) => Axes::Pair(x, y),
                    _ => keras_bail!(
                        Config,
                        "Invalid format for argument `{key}`: list elements should be integers. Received: {key}={}",
                        Value::Array(a.clone())
                    ),
                }
            }
            Some(v) => keras_bail!(
                Config,
                "Invalid type for argument `{key}`: it should be a list or an int. Received: {key}={v}"
            ),
            None => keras_bail!(Config, "{} config needs `{key}`", src.class),
        })
    }
}

/// `axes` as Keras takes it: one integer for both inputs, or one per input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Axes {
    /// The same axis of both inputs (negative counts from the end).
    Both(i64),
    /// `(axis of x, axis of y)`.
    Pair(i64, i64),
}

impl Dot {
    /// A dot product over `axis` of both inputs.
    pub fn new(axis: i64) -> Self {
        Dot {
            base: LayerBase::new("dot"),
            build_shapes: None,
            args: DotArgs { axes: Axes::Both(axis), normalize: false },
        }
    }

    /// A dot product over `axes.0` of the first input and `axes.1` of the second.
    pub fn with_axes(axes: (i64, i64)) -> Self {
        let mut d = Dot::new(-1);
        d.args.axes = Axes::Pair(axes.0, axes.1);
        d
    }

    crate::layers::builders::name_builder!();

    /// The axes as given.
    pub fn axes(&self) -> Axes {
        self.args.axes
    }

    /// The axes resolved for ranks `r1`, `r2` (Keras: negative axes modulo the rank).
    fn resolve(&self, r1: usize, r2: usize, shapes: &[Shape]) -> Result<(usize, usize)> {
        let fix = |a: i64, r: usize| -> Result<usize> {
            let r = r as i64;
            if r == 0 || a >= r || a < -r {
                keras_bail!(
                    InvalidArgument,
                    "Dot: axis {a} is out of range for inputs of shapes {}",
                    py_shapes(shapes)
                );
            }
            Ok(a.rem_euclid(r) as usize)
        };
        match self.args.axes {
            Axes::Both(a) => Ok((fix(a, r1)?, fix(a, r2)?)),
            Axes::Pair(a, b) => Ok((fix(a, r1)?, fix(b, r2)?)),
        }
    }

    /// Keras `Dot.build` validation, `batch_dot`'s checks and `compute_output_shape`.
    fn output_shape(&self, shapes: &[Shape]) -> Result<Shape> {
        let [s1, s2] = shapes else {
            keras_bail!(
                InvalidArgument,
                "A `Dot` layer should be called on a list of 2 inputs. Received: input_shape={}",
                py_shapes(shapes)
            );
        };
        let (a0, a1) = self.resolve(s1.len(), s2.len(), shapes)?;
        if s1[a0] != s2[a1] {
            let d = |v: Option<usize>| v.map_or("None".to_string(), |v| v.to_string());
            keras_bail!(
                InvalidArgument,
                "Incompatible input shapes: axis values {} (at axis {a0}) != {} (at axis {a1}). Full input shapes: {}, {}",
                d(s1[a0]),
                d(s2[a1]),
                py_shape(s1),
                py_shape(s2)
            );
        }
        if s1.len() < 2 || s2.len() < 2 {
            keras_bail!(
                InvalidArgument,
                "Cannot do batch_dot on inputs with rank < 2. Received inputs with shapes {} and {}.",
                py_shape(s1),
                py_shape(s2)
            );
        }
        if let (Some(b1), Some(b2)) = (s1[0], s2[0]) {
            if b1 != b2 {
                keras_bail!(
                    InvalidArgument,
                    "Cannot do batch_dot on inputs with different batch sizes. Received inputs with shapes {} and {}.",
                    py_shape(s1),
                    py_shape(s2)
                );
            }
        }
        if a0 == 0 || a1 == 0 {
            keras_bail!(
                InvalidArgument,
                "Cannot perform batch_dot over axis 0. If your inputs are not batched, add a dummy batch dimension to your inputs using keras.ops.expand_dims(x, 0)"
            );
        }
        let mut out: Shape = s1.iter().enumerate().filter(|&(i, _)| i != a0).map(|(_, d)| *d).collect();
        out.extend(s2.iter().enumerate().filter(|&(i, _)| i != a1 && i != 0).map(|(_, d)| *d));
        if out.len() == 1 {
            out.push(Some(1));
        }
        Ok(out)
    }

    fn merge(&self, inputs: &[Tensor], _masks: &[Option<Tensor>]) -> Result<Tensor> {
        let (x, y) = (&inputs[0], &inputs[1]);
        let shapes: Vec<Shape> = inputs.iter().map(crate::layers::merging::base_merge::known).collect();
        let (a0, a1) = self.resolve(x.rank(), y.rank(), &shapes)?;
        let (x, y) = if self.args.normalize {
            (l2_normalize(x, a0)?, l2_normalize(y, a1)?)
        } else {
            (x.clone(), y.clone())
        };
        // batch_dot as one einsum: batch letter `a`, contracted letter `z`.
        let letters: Vec<char> = "bcdefghijklmnopqrstuvwxy".chars().collect();
        if x.rank() + y.rank() > letters.len() {
            keras_bail!(InvalidArgument, "Dot: inputs of ranks {} and {} are too large", x.rank(), y.rank());
        }
        let mut next = 0;
        let mut sx = String::new();
        let mut out = String::from("a");
        for i in 0..x.rank() {
            let c = match i {
                0 => 'a',
                i if i == a0 => 'z',
                _ => {
                    next += 1;
                    letters[next - 1]
                }
            };
            sx.push(c);
            if c != 'a' && c != 'z' {
                out.push(c);
            }
        }
        let mut sy = String::new();
        for i in 0..y.rank() {
            let c = match i {
                0 => 'a',
                i if i == a1 => 'z',
                _ => {
                    next += 1;
                    letters[next - 1]
                }
            };
            sy.push(c);
            if c != 'a' && c != 'z' {
                out.push(c);
            }
        }
        let r = ops::einsum(&format!("{sx},{sy}->{out}"), &x, &y)?;
        if r.rank() == 1 {
            let n = r.shape()[0];
            return Ok(r.reshape(vec![n, 1])?);
        }
        Ok(r)
    }

    fn output_mask(&self, _inputs: &[Tensor], _masks: &[Option<Tensor>]) -> Result<Option<Tensor>> {
        Ok(None)
    }
}

/// Keras `ops.normalize(x, axis, order=2)`: `x * min(rsqrt(sum(x^2)), 1 / epsilon)`.
fn l2_normalize(x: &Tensor, axis: usize) -> Result<Tensor> {
    let sq = ops::mul(x, x)?;
    let s = ops::sum_axis(&sq, axis as isize, true)?;
    let inv = ops::div(&Tensor::scalar(1.0), &ops::unary(&s, ops::Unary::Sqrt)?)?;
    let inv = ops::minimum(&inv, &Tensor::scalar(1.0 / 1e-7))?;
    Ok(ops::mul(x, &inv)?)
}

merge_layer_impl!(Dot, "Dot", DotArgs = Dot::new(-1);
    /// Rebuilds from a Keras config (`axes` an integer or a pair).
);
