//! Element-wise ops: activations and other unary maps, and broadcasting binary arithmetic.

use crate::kernels::fresh::fresh_vec;
use crate::kernels::simd::multiversion;
use rayon::prelude::*;

use crate::autodiff::record;
use crate::ops::special;
use crate::parallel::ELEMENTWISE_PARALLEL_MIN;
use crate::tensor::{LogitsKind, Tensor};
use crate::{bail, Result};

/// A unary element-wise function with a known derivative.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Unary {
    /// Identity.
    Linear,
    /// `max(x, 0)` (derivative 0 at 0, as TensorFlow).
    Relu,
    /// Keras `relu` with `negative_slope`, `max_value`, `threshold`, exactly as Keras composes
    /// it: `clip(x > threshold ? x : 0, 0, max_value) - negative_slope * relu(threshold - x)`,
    /// with TensorFlow's `leaky_relu` when only the slope is set and `relu6` when
    /// `max_value == 6` without threshold (these decide the derivative at kinks).
    ReluParams {
        /// Slope below the threshold.
        negative_slope: f32,
        /// Saturation value (`f32::INFINITY` for none).
        max_value: f32,
        /// Values below it are zeroed (or scaled by the slope).
        threshold: f32,
    },
    /// `1 / (1 + exp(-x))`.
    Sigmoid,
    /// Hyperbolic tangent.
    Tanh,
    /// `x > 0 ? x : alpha * (exp(x) - 1)`.
    Elu(f32),
    /// Scaled ELU with Keras's constants.
    Selu,
    /// `log(1 + exp(x))`.
    Softplus,
    /// `x * sigmoid(x)` (swish).
    Silu,
    /// `exp(x)`.
    Exp,
    /// Natural logarithm.
    Log,
    /// `-x`.
    Neg,
    /// `x * x`.
    Square,
    /// Square root.
    Sqrt,
    /// Absolute value (derivative 0 at 0).
    Abs,
    /// `celu`: `max(x, 0) + alpha * expm1(min(x, 0) / alpha)`.
    Celu(f32),
    /// `gelu`, exact form `x/2 * (1 + erf(x / sqrt(2)))`.
    Gelu,
    /// `gelu` with the tanh approximation
    /// `x/2 * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3)))`.
    GeluTanh,
    /// `hard_sigmoid` (Keras 3): `relu6(x + 3) / 6`.
    HardSigmoid,
    /// `hard_silu` (`hard_swish`): `x * hard_sigmoid(x)`.
    HardSilu,
    /// `hard_tanh`: `clip(x, -1, 1)`.
    HardTanh,
    /// `hard_shrink` with a threshold: `|x| > threshold ? x : 0`.
    HardShrink(f32),
    /// `soft_shrink` with a threshold: `x - threshold`, `x + threshold` or 0.
    SoftShrink(f32),
    /// `log_sigmoid`: `-softplus(-x)`.
    LogSigmoid,
    /// `mish`: `x * tanh(softplus(x))`.
    Mish,
    /// `softsign`: `x / (1 + |x|)`.
    Softsign,
    /// `squareplus` with `b`: `(x + sqrt(x^2 + b)) / 2`.
    Squareplus(f32),
    /// `tanh_shrink`: `x - tanh(x)`.
    TanhShrink,
    /// `sparse_plus`: 0 for `x <= -1`, `(x + 1)^2 / 4` for `-1 < x < 1`, `x` above.
    SparsePlus,
    /// `sparse_sigmoid`: 0 for `x <= -1`, `(x + 1) / 2` for `-1 < x < 1`, 1 above.
    SparseSigmoid,
    /// `threshold`: `x > threshold ? x : default_value`.
    Threshold {
        /// Values at or below it are replaced.
        threshold: f32,
        /// The replacement.
        default_value: f32,
    },
}

/// SELU constants (Keras `keras.activations.selu`).
pub const SELU_ALPHA: f32 = 1.673_263_2;
/// SELU scale.
pub const SELU_SCALE: f32 = 1.050_701;

/// Keras `relu(x, negative_slope, max_value, threshold)` and its derivative, composed as
/// Keras's `ReLU.static_call` composes TensorFlow ops (so kinks follow TensorFlow).
#[inline]
fn relu_params(x: f32, slope: f32, max: f32, th: f32) -> (f32, f32) {
    if slope != 0.0 && max == f32::INFINITY && th == 0.0 {
        return if x > 0.0 { (x, 1.0) } else { (slope * x, slope) };
    }
    let mut clip = max != f32::INFINITY;
    let (mut y, mut d) = if th != 0.0 {
        if x > th {
            (x, 1.0)
        } else {
            (0.0, 0.0)
        }
    } else if max == 6.0 {
        clip = false;
        (x.clamp(0.0, 6.0), if x > 0.0 && x < 6.0 { 1.0 } else { 0.0 })
    } else if x > 0.0 {
        (x, 1.0)
    } else {
        (0.0, 0.0)
    };
    if clip {
        // tf.clip_by_value passes the gradient on the closed interval.
        if !(0.0..=max).contains(&y) {
            d = 0.0;
        }
        y = y.clamp(0.0, max);
    }
    if slope != 0.0 && th - x > 0.0 {
        y -= slope * (th - x);
        d += slope;
    }
    (y, d)
}

/// `1 / sqrt(2)`.
const FRAC_1_SQRT_2: f64 = std::f64::consts::FRAC_1_SQRT_2;
/// `sqrt(2 / pi)`, the tanh-approximate gelu's scale.
const SQRT_2_OVER_PI: f64 = 0.797_884_560_802_865_4;
/// The cubic coefficient of the tanh-approximate gelu.
const GELU_COEFF: f64 = 0.044_715;
/// Where TensorFlow's float32 tanh (Eigen's rational approximation) returns exactly +-1:
/// Eigen clamps its input to +-7.905311. Saturating there too makes the tanh-approximate gelu
/// and its gradient exactly 0 (or x, and 1) in the tails, as Keras gives.
const TANH_F32_SATURATION: f64 = 7.905_311_107_635_498;

/// `tanh` as TensorFlow's float32 kernel saturates it.
fn tanh_tf_f32(z: f64) -> f64 {
    if z.abs() >= TANH_F32_SATURATION {
        z.signum()
    } else {
        z.tanh()
    }
}

/// Softplus `log(1 + exp(x))`, stable for large `|x|`.
#[inline]
fn softplus(x: f32) -> f32 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

#[inline]
fn sigmoid(x: f32) -> f32 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

impl Unary {
    /// `f(x)`.
    #[inline]
    pub fn apply(self, x: f32) -> f32 {
        match self {
            Unary::Linear => x,
            Unary::Relu => {
                if x > 0.0 {
                    x
                } else {
                    0.0
                }
            }
            Unary::ReluParams { negative_slope, max_value, threshold } => {
                relu_params(x, negative_slope, max_value, threshold).0
            }
            Unary::Sigmoid => sigmoid(x),
            Unary::Tanh => x.tanh(),
            Unary::Elu(a) => {
                if x > 0.0 {
                    x
                } else {
                    a * x.exp_m1()
                }
            }
            Unary::Selu => {
                if x > 0.0 {
                    SELU_SCALE * x
                } else {
                    SELU_SCALE * SELU_ALPHA * x.exp_m1()
                }
            }
            Unary::Softplus => softplus(x),
            Unary::Silu => x * sigmoid(x),
            Unary::Exp => x.exp(),
            Unary::Log => x.ln(),
            Unary::Neg => -x,
            Unary::Square => x * x,
            Unary::Sqrt => x.sqrt(),
            Unary::Abs => x.abs(),
            Unary::Celu(a) => x.max(0.0) + a * (x.min(0.0) / a).exp_m1(),
            Unary::Gelu => {
                let x = x as f64;
                (0.5 * x * special::erfc(-x * FRAC_1_SQRT_2)) as f32
            }
            Unary::GeluTanh => {
                let x = x as f64;
                (0.5 * x * (1.0 + tanh_tf_f32(SQRT_2_OVER_PI * (x + GELU_COEFF * x * x * x)))) as f32
            }
            Unary::HardSigmoid => (x + 3.0).clamp(0.0, 6.0) / 6.0,
            Unary::HardSilu => x * ((x + 3.0).clamp(0.0, 6.0) / 6.0),
            Unary::HardTanh => x.clamp(-1.0, 1.0),
            Unary::HardShrink(t) => {
                if x.abs() > t {
                    x
                } else {
                    0.0
                }
            }
            Unary::SoftShrink(t) => {
                if x > t {
                    x - t
                } else if x < -t {
                    x + t
                } else {
                    0.0
                }
            }
            Unary::LogSigmoid => -softplus(-x),
            Unary::Mish => x * softplus(x).tanh(),
            Unary::Softsign => x / (1.0 + x.abs()),
            Unary::Squareplus(b) => (x + (x * x + b).sqrt()) / 2.0,
            Unary::TanhShrink => x - x.tanh(),
            Unary::SparsePlus => {
                if x <= -1.0 {
                    0.0
                } else if x < 1.0 {
                    0.25 * (x + 1.0) * (x + 1.0)
                } else {
                    x
                }
            }
            Unary::SparseSigmoid => {
                if x <= -1.0 {
                    0.0
                } else if x >= 1.0 {
                    1.0
                } else {
                    0.5 * (x + 1.0)
                }
            }
            Unary::Threshold { threshold, default_value } => {
                if x > threshold {
                    x
                } else {
                    default_value
                }
            }
        }
    }

    /// `f'(x)` given `x` and `y = f(x)`.
    #[inline]
    pub fn derivative(self, x: f32, y: f32) -> f32 {
        match self {
            Unary::Linear => 1.0,
            Unary::Relu => {
                if x > 0.0 {
                    1.0
                } else {
                    0.0
                }
            }
            Unary::ReluParams { negative_slope, max_value, threshold } => {
                relu_params(x, negative_slope, max_value, threshold).1
            }
            Unary::Sigmoid => y * (1.0 - y),
            Unary::Tanh => 1.0 - y * y,
            Unary::Elu(a) => {
                if x > 0.0 {
                    1.0
                } else {
                    a * x.exp()
                }
            }
            Unary::Selu => {
                if x > 0.0 {
                    SELU_SCALE
                } else {
                    SELU_SCALE * SELU_ALPHA * x.exp()
                }
            }
            Unary::Softplus => sigmoid(x),
            Unary::Silu => {
                let s = sigmoid(x);
                s * (1.0 + x * (1.0 - s))
            }
            Unary::Exp => y,
            Unary::Log => 1.0 / x,
            Unary::Neg => -1.0,
            Unary::Square => 2.0 * x,
            Unary::Sqrt => 0.5 / y,
            Unary::Abs => {
                if x > 0.0 {
                    1.0
                } else if x < 0.0 {
                    -1.0
                } else {
                    0.0
                }
            }
            // tf.maximum / tf.minimum send the gradient to `x` on ties, so 2 at x == 0.
            Unary::Celu(a) => (if x >= 0.0 { 1.0 } else { 0.0 }) + if x <= 0.0 { (x / a).exp() } else { 0.0 },
            Unary::Gelu => {
                let x = x as f64;
                let pdf = (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt();
                (0.5 * special::erfc(-x * FRAC_1_SQRT_2) + x * pdf) as f32
            }
            Unary::GeluTanh => {
                let x = x as f64;
                let t = tanh_tf_f32(SQRT_2_OVER_PI * (x + GELU_COEFF * x * x * x));
                (0.5 * (1.0 + t)
                    + 0.5 * x * (1.0 - t * t) * SQRT_2_OVER_PI * (1.0 + 3.0 * GELU_COEFF * x * x))
                    as f32
            }
            Unary::HardSigmoid => {
                if x > -3.0 && x < 3.0 {
                    1.0 / 6.0
                } else {
                    0.0
                }
            }
            Unary::HardSilu => {
                let slope = if x > -3.0 && x < 3.0 { 1.0 / 6.0 } else { 0.0 };
                (x + 3.0).clamp(0.0, 6.0) / 6.0 + x * slope
            }
            Unary::HardTanh => {
                if (-1.0..=1.0).contains(&x) {
                    1.0
                } else {
                    0.0
                }
            }
            Unary::HardShrink(t) | Unary::SoftShrink(t) => {
                if x.abs() > t {
                    1.0
                } else {
                    0.0
                }
            }
            Unary::LogSigmoid => sigmoid(-x),
            Unary::Mish => {
                let t = softplus(x).tanh();
                t + x * (1.0 - t * t) * sigmoid(x)
            }
            Unary::Softsign => {
                let d = 1.0 + x.abs();
                1.0 / (d * d)
            }
            Unary::Squareplus(b) => 0.5 * (1.0 + x / (x * x + b).sqrt()),
            Unary::TanhShrink => {
                let t = x.tanh();
                t * t
            }
            Unary::SparsePlus => {
                if x <= -1.0 {
                    0.0
                } else if x < 1.0 {
                    0.5 * (x + 1.0)
                } else {
                    1.0
                }
            }
            Unary::SparseSigmoid => {
                if x > -1.0 && x < 1.0 {
                    0.5
                } else {
                    0.0
                }
            }
            Unary::Threshold { threshold, .. } => {
                if x > threshold {
                    1.0
                } else {
                    0.0
                }
            }
        }
    }

    /// `f'(x)` from the output alone, for functions where that is possible. Lets fused ops
    /// (Dense, Conv2D with an activation) skip keeping the pre-activation.
    #[inline]
    pub fn derivative_from_output(self, y: f32) -> Option<f32> {
        Some(match self {
            Unary::Linear => 1.0,
            Unary::Relu => {
                if y > 0.0 {
                    1.0
                } else {
                    0.0
                }
            }
            Unary::Sigmoid => y * (1.0 - y),
            Unary::Tanh => 1.0 - y * y,
            Unary::Elu(a) if a > 0.0 => {
                if y > 0.0 {
                    1.0
                } else {
                    y + a
                }
            }
            Unary::Selu => {
                if y > 0.0 {
                    SELU_SCALE
                } else {
                    y + SELU_SCALE * SELU_ALPHA
                }
            }
            Unary::Exp => y,
            // relu6(x + 3) / 6: slope 1/6 exactly where the output is strictly inside (0, 1),
            // which is TensorFlow's relu6 gradient convention at the kinks too.
            Unary::HardSigmoid => {
                if y > 0.0 && y < 1.0 {
                    1.0 / 6.0
                } else {
                    0.0
                }
            }
            _ => return None,
        })
    }

    /// Applies `f` in place, with the common cases as tight loops the compiler vectorizes.
    pub fn apply_slice(self, xs: &mut [f32]) {
        match self {
            Unary::Linear => {}
            Unary::Relu => relu_slice(xs),
            Unary::ReluParams { negative_slope, max_value, threshold }
                if negative_slope == 0.0 && threshold == 0.0 && max_value == 6.0 =>
            {
                relu6_slice(xs)
            }
            f => xs.iter_mut().for_each(|v| *v = f.apply(*v)),
        }
    }

    /// `dy *= f'(x)` recovered from the outputs `y` (see [`Unary::derivative_from_output`]);
    /// returns false (and leaves `dy` alone) when `f` has no such form.
    pub fn backward_from_output_slice(self, dy: &mut [f32], y: &[f32]) -> bool {
        match self {
            Unary::Linear => {}
            Unary::Relu => dy.iter_mut().zip(y).for_each(|(g, &y)| *g = if y > 0.0 { *g } else { 0.0 }),
            Unary::Tanh => dy.iter_mut().zip(y).for_each(|(g, &y)| *g *= 1.0 - y * y),
            Unary::Sigmoid => dy.iter_mut().zip(y).for_each(|(g, &y)| *g *= y * (1.0 - y)),
            f if f.invertible_derivative() => {
                dy.iter_mut().zip(y).for_each(|(g, &y)| *g *= f.derivative_from_output(y).unwrap_or(0.0))
            }
            _ => return false,
        }
        true
    }

    /// True when [`Unary::derivative_from_output`] is available.
    pub fn invertible_derivative(self) -> bool {
        self.derivative_from_output(0.5).is_some()
    }
}

/// Elements per piece of the parallel [`map_f32`] and [`zip_f32`] (64 KiB of output).
const PIECE: usize = 1 << 14;

/// Applies `f` to every element, in parallel for large buffers.
///
/// The parallel path writes pieces of [`PIECE`] elements into the output's uninitialised
/// storage ([`fresh_vec`]), each piece in a plain loop the compiler vectorises. A rayon
/// `par_iter().map().collect()` pushes element by element through its collect consumer (a
/// bounds check each, no vector code): `ops::add` of two 10 MB tensors took 1.3 ms on two
/// threads against 0.6 ms for a one-thread copy of the bytes (BENCHMARKS.md, nineteenth
/// session). Every element gets `f` of its inputs either way: the same bits.
pub(crate) fn map_f32(x: &[f32], f: impl Fn(f32) -> f32 + Sync + Send) -> Vec<f32> {
    if x.len() >= ELEMENTWISE_PARALLEL_MIN {
        fresh_vec(x.len(), |out| {
            out.chunks(PIECE).into_par_iter().zip(x.par_chunks(PIECE)).for_each(|(out, x)| {
                // SAFETY: the loop writes every element of the piece (`out` and `x` have the
                // same length: both are the same piece of equally long buffers).
                unsafe { out.init_with(|out| out.iter_mut().zip(x).for_each(|(o, &v)| _ = o.write(f(v)))) };
            })
        })
    } else {
        x.iter().map(|&v| f(v)).collect()
    }
}

/// `f` applied to every element: the enum is matched once, so the common activations run
/// as tight loops the compiler vectorizes (a match per element does not).
pub(crate) fn map_unary(xs: &[f32], f: Unary) -> Vec<f32> {
    match f {
        Unary::Linear => xs.to_vec(),
        Unary::Relu => map_f32(xs, |v| if v > 0.0 { v } else { 0.0 }),
        // relu6 (`ReLU(max_value=6)`, MobileNet's activation): `relu_params`' own formula.
        Unary::ReluParams { negative_slope, max_value, threshold }
            if negative_slope == 0.0 && threshold == 0.0 && max_value == 6.0 =>
        {
            map_f32(xs, |v| v.clamp(0.0, 6.0))
        }
        Unary::Sigmoid => map_f32(xs, sigmoid),
        Unary::Tanh => map_f32(xs, f32::tanh),
        f => map_f32(xs, |v| f.apply(v)),
    }
}

multiversion! {
    /// `max(x, 0)` in place, with [`Unary::apply`]'s formula (NaN and -0 give 0).
    fn relu_slice(xs: &mut [f32]) {
        for v in xs.iter_mut() {
            *v = if *v > 0.0 { *v } else { 0.0 };
        }
    }
}

multiversion! {
    /// `clamp(x, 0, 6)` in place (relu6, MobileNet's activation), as [`map_unary`].
    fn relu6_slice(xs: &mut [f32]) {
        for v in xs.iter_mut() {
            *v = v.clamp(0.0, 6.0);
        }
    }
}

/// `out[i] = f(a[i], b[i])` for `i < min(a.len(), b.len())`; in parallel for large buffers
/// as [`map_f32`].
pub(crate) fn zip_f32(a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> f32 + Sync + Send) -> Vec<f32> {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    if n >= ELEMENTWISE_PARALLEL_MIN {
        fresh_vec(n, |out| {
            let pieces = out.chunks(PIECE).into_par_iter().zip(a.par_chunks(PIECE)).zip(b.par_chunks(PIECE));
            pieces.for_each(|((out, a), b)| {
                // SAFETY: the loop writes every element of the piece (`out`, `a` and `b` are
                // the same piece of buffers of length `n`).
                unsafe {
                    out.init_with(|out| {
                        out.iter_mut().zip(a).zip(b).for_each(|((o, &x), &y)| _ = o.write(f(x, y)))
                    })
                };
            })
        })
    } else {
        a.iter().zip(b).map(|(&x, &y)| f(x, y)).collect()
    }
}

/// `y = f(x)` element-wise (differentiable). Sigmoid outputs remember their logits.
pub fn unary(x: &Tensor, f: Unary) -> Result<Tensor> {
    #[cfg(feature = "cuda")]
    if let Some(d) = crate::tensor::cuda_of("unary", &[x])? {
        return crate::cuda::ops::unary(d, x, f);
    }
    let xs = x.as_f32()?;
    let out = Tensor::from_f32_unchecked(map_unary(xs, f), x.shape().to_vec());
    let out = if f == Unary::Sigmoid { out.with_logits(LogitsKind::Sigmoid, x) } else { out };
    record(
        out,
        &[x],
        Box::new(move |g, out, inputs| {
            let xs = inputs[0].as_f32()?;
            let ys = out.as_f32()?;
            let gs = g.as_f32()?;
            let data: Vec<f32> =
                xs.iter().zip(ys).zip(gs).map(|((&x, &y), &g)| g * f.derivative(x, y)).collect();
            Ok(vec![Some(Tensor::from_f32_unchecked(data, inputs[0].shape().to_vec()))])
        }),
    )
}

/// Numpy broadcasting of two shapes.
pub fn broadcast_shapes(a: &[usize], b: &[usize]) -> Result<Vec<usize>> {
    let n = a.len().max(b.len());
    let mut out = vec![0; n];
    for i in 0..n {
        let da = if i + a.len() >= n { a[i + a.len() - n] } else { 1 };
        let db = if i + b.len() >= n { b[i + b.len() - n] } else { 1 };
        out[i] = if da == db || db == 1 {
            da
        } else if da == 1 {
            db
        } else {
            bail!("shapes {:?} and {:?} cannot be broadcast together", a, b);
        };
    }
    Ok(out)
}

/// Strides (in elements) of `shape` viewed inside `out_shape`, 0 along broadcast axes.
fn broadcast_strides(shape: &[usize], out_shape: &[usize]) -> Vec<usize> {
    let n = out_shape.len();
    let mut strides = vec![0; n];
    let mut s = 1;
    for i in (0..shape.len()).rev() {
        let oi = i + n - shape.len();
        strides[oi] = if shape[i] == 1 { 0 } else { s };
        s *= shape[i];
    }
    strides
}

/// Calls `f(out_index, offset_in_a)` for every element of `out_shape`, where `a` is broadcast.
fn for_each_broadcast(out_shape: &[usize], a_shape: &[usize], mut f: impl FnMut(usize, usize)) {
    let strides = broadcast_strides(a_shape, out_shape);
    let total: usize = out_shape.iter().product();
    let n = out_shape.len();
    let mut idx = vec![0usize; n];
    let mut off = 0usize;
    for o in 0..total {
        f(o, off);
        // Increment the multi-index.
        let mut d = n;
        while d > 0 {
            d -= 1;
            idx[d] += 1;
            off += strides[d];
            if idx[d] < out_shape[d] {
                break;
            }
            off -= strides[d] * idx[d];
            idx[d] = 0;
        }
    }
}

/// Expands `x` to `out_shape` (a copy of the values, broadcast).
/// `x` expanded to `out_shape`: borrowed when no expansion is needed.
pub(crate) fn broadcast_to_vec<'a>(
    x: &'a [f32],
    x_shape: &[usize],
    out_shape: &[usize],
) -> std::borrow::Cow<'a, [f32]> {
    use std::borrow::Cow;
    if x_shape == out_shape {
        return Cow::Borrowed(x);
    }
    let total: usize = out_shape.iter().product();
    if x.len() == 1 {
        return Cow::Owned(vec![x[0]; total]);
    }
    let mut out = vec![0.0; total];
    for_each_broadcast(out_shape, x_shape, |o, a| out[o] = x[a]);
    Cow::Owned(out)
}

/// Sums `g` (of shape `g_shape`) down to `shape`, the inverse of broadcasting.
pub fn sum_to_shape(g: &Tensor, shape: &[usize]) -> Result<Tensor> {
    if g.shape() == shape {
        return Ok(g.clone());
    }
    #[cfg(feature = "cuda")]
    if let Some(d) = crate::tensor::cuda_of("sum_to_shape", &[g])? {
        return crate::cuda::ops::sum_to_shape(d, g, shape);
    }
    let gs = g.as_f32()?;
    let n: usize = shape.iter().product();
    let mut out = vec![0.0f32; n];
    if n == 1 {
        out[0] = gs.iter().sum();
    } else {
        for_each_broadcast(g.shape(), shape, |o, a| out[a] += gs[o]);
    }
    Ok(Tensor::from_f32_unchecked(out, shape.to_vec()))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
}

fn binary(a: &Tensor, b: &Tensor, op: BinOp) -> Result<Tensor> {
    #[cfg(feature = "cuda")]
    if let Some(d) = crate::tensor::cuda_of("arithmetic", &[a, b])? {
        use crate::cuda::ops::Bin;
        let op = match op {
            BinOp::Add => Bin::Add,
            BinOp::Sub => Bin::Sub,
            BinOp::Mul => Bin::Mul,
            BinOp::Div => Bin::Div,
        };
        return crate::cuda::ops::binary(d, a, b, op);
    }
    let out_shape = broadcast_shapes(a.shape(), b.shape())?;
    let av = a.as_f32()?;
    let bv = b.as_f32()?;
    let f = move |x: f32, y: f32| match op {
        BinOp::Add => x + y,
        BinOp::Sub => x - y,
        BinOp::Mul => x * y,
        BinOp::Div => x / y,
    };
    let data = if a.shape() == b.shape() {
        zip_f32(av, bv, f)
    } else if bv.len() == 1 && a.shape() == out_shape.as_slice() {
        let y = bv[0];
        map_f32(av, move |x| f(x, y))
    } else if av.len() == 1 && b.shape() == out_shape.as_slice() {
        let x = av[0];
        map_f32(bv, move |y| f(x, y))
    } else {
        let ab = broadcast_to_vec(av, a.shape(), &out_shape);
        let bb = broadcast_to_vec(bv, b.shape(), &out_shape);
        zip_f32(&ab, &bb, f)
    };
    let out = Tensor::from_f32_unchecked(data, out_shape.clone());
    record(
        out,
        &[a, b],
        Box::new(move |g, _out, inputs| {
            let (a, b) = (&inputs[0], &inputs[1]);
            let ga = || -> Result<Tensor> {
                let full = match op {
                    BinOp::Add | BinOp::Sub => g.clone(),
                    BinOp::Mul => {
                        let bb = broadcast_to_vec(b.as_f32()?, b.shape(), g.shape());
                        Tensor::from_f32_unchecked(
                            zip_f32(g.as_f32()?, &bb, |g, y| g * y),
                            g.shape().to_vec(),
                        )
                    }
                    BinOp::Div => {
                        let bb = broadcast_to_vec(b.as_f32()?, b.shape(), g.shape());
                        Tensor::from_f32_unchecked(
                            zip_f32(g.as_f32()?, &bb, |g, y| g / y),
                            g.shape().to_vec(),
                        )
                    }
                };
                sum_to_shape(&full, a.shape())
            };
            let gb = || -> Result<Tensor> {
                let full = match op {
                    BinOp::Add => g.clone(),
                    BinOp::Sub => {
                        Tensor::from_f32_unchecked(map_f32(g.as_f32()?, |v| -v), g.shape().to_vec())
                    }
                    BinOp::Mul => {
                        let ab = broadcast_to_vec(a.as_f32()?, a.shape(), g.shape());
                        Tensor::from_f32_unchecked(
                            zip_f32(g.as_f32()?, &ab, |g, x| g * x),
                            g.shape().to_vec(),
                        )
                    }
                    BinOp::Div => {
                        let ab = broadcast_to_vec(a.as_f32()?, a.shape(), g.shape());
                        let bb = broadcast_to_vec(b.as_f32()?, b.shape(), g.shape());
                        let gs = g.as_f32()?;
                        let data = (0..gs.len()).map(|i| -gs[i] * ab[i] / (bb[i] * bb[i])).collect();
                        Tensor::from_f32_unchecked(data, g.shape().to_vec())
                    }
                };
                sum_to_shape(&full, b.shape())
            };
            Ok(vec![
                if a.tracks_grad() { Some(ga()?) } else { None },
                if b.tracks_grad() { Some(gb()?) } else { None },
            ])
        }),
    )
}

/// `a + b` with broadcasting.
pub fn add(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    binary(a, b, BinOp::Add)
}

/// `a - b` with broadcasting.
pub fn sub(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    binary(a, b, BinOp::Sub)
}

/// `a * b` with broadcasting.
pub fn mul(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    binary(a, b, BinOp::Mul)
}

/// `a / b` with broadcasting.
pub fn div(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    binary(a, b, BinOp::Div)
}

/// `a * s` for a scalar `s`.
pub fn scale(a: &Tensor, s: f32) -> Result<Tensor> {
    mul(a, &Tensor::scalar(s))
}

/// `prev + g` for two gradients of one shape, reusing `prev`'s buffer when unshared.
pub(crate) fn add_same_shape_consuming(mut prev: Tensor, g: &Tensor) -> Result<Tensor> {
    if prev.shape() != g.shape() {
        bail!("cannot accumulate gradients of shapes {:?} and {:?}", prev.shape(), g.shape());
    }
    #[cfg(feature = "cuda")]
    if let Some(d) = crate::tensor::cuda_of("add", &[&prev, g])? {
        return crate::cuda::ops::add_consuming(d, prev, g);
    }
    let gs = g.as_f32()?;
    // `f32_mut` copies `prev` first if it shares its buffer (with `g` too), so `gs` stays valid.
    let p = prev.f32_mut()?;
    if p.len() >= ELEMENTWISE_PARALLEL_MIN {
        p.par_chunks_mut(PIECE)
            .zip(gs.par_chunks(PIECE))
            .for_each(|(p, g)| p.iter_mut().zip(g).for_each(|(a, b)| *a += b));
    } else {
        p.iter_mut().zip(gs).for_each(|(a, b)| *a += b);
    }
    Ok(prev)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::check_grad;

    #[test]
    fn broadcasting_shapes() {
        assert_eq!(broadcast_shapes(&[2, 3], &[3]).unwrap(), vec![2, 3]);
        assert_eq!(broadcast_shapes(&[2, 1], &[1, 4]).unwrap(), vec![2, 4]);
        assert!(broadcast_shapes(&[2, 3], &[2]).is_err());
    }

    #[test]
    fn large_element_wise_ops_give_each_elements_own_result() {
        // Past the parallel threshold and not a whole number of pieces, with NaN, infinities,
        // signed zeros and subnormals among the values: the parallel pieces must give every
        // element exactly what the scalar operation gives.
        let n = 3 * ELEMENTWISE_PARALLEL_MIN + PIECE / 2 + 77;
        let special = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, -0.0, 0.0, 1e-40, -3e-39];
        let val = |i: usize, s: f32| {
            if i.is_multiple_of(97) {
                special[(i / 97) % special.len()]
            } else {
                (i as f32 * s).sin() * 3.0
            }
        };
        let av: Vec<f32> = (0..n).map(|i| val(i, 0.37)).collect();
        let bv: Vec<f32> = (0..n).map(|i| val(i + 13, 0.11)).collect();
        let (a, b) = (Tensor::new(av.clone(), [n]).unwrap(), Tensor::new(bv.clone(), [n]).unwrap());
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        type Case = (fn(&Tensor, &Tensor) -> Result<Tensor>, fn(f32, f32) -> f32);
        let cases: [Case; 4] =
            [(add, |x, y| x + y), (sub, |x, y| x - y), (mul, |x, y| x * y), (div, |x, y| x / y)];
        for (op, f) in cases {
            let want: Vec<f32> = av.iter().zip(&bv).map(|(&x, &y)| f(x, y)).collect();
            assert_eq!(bits(op(&a, &b).unwrap().as_f32().unwrap()), bits(&want));
        }
        let want: Vec<f32> = av.iter().map(|&x| x * 0.5).collect();
        assert_eq!(bits(scale(&a, 0.5).unwrap().as_f32().unwrap()), bits(&want));
        let want: Vec<f32> = av.iter().zip(&bv).map(|(&x, &y)| x + y).collect();
        let summed = add_same_shape_consuming(a.clone(), &b).unwrap();
        assert_eq!(bits(summed.as_f32().unwrap()), bits(&want));
        assert_eq!(bits(a.as_f32().unwrap()), bits(&av), "a shared buffer is copied, not summed into");
    }

    #[test]
    fn binary_values_and_grads() {
        let a = Tensor::new(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [2, 3]).unwrap();
        let b = Tensor::new(vec![0.5, -1.0, 2.0], [3]).unwrap();
        let c = Tensor::new(vec![2.0, 3.0], [2, 1]).unwrap();
        assert_eq!(add(&a, &b).unwrap().as_f32().unwrap(), &[1.5, 1.0, 5.0, 4.5, 4.0, 8.0]);
        assert_eq!(mul(&a, &c).unwrap().as_f32().unwrap(), &[2.0, 4.0, 6.0, 12.0, 15.0, 18.0]);
        for op in [add, sub, mul, div] {
            check_grad(&[&a, &b], |t| op(t[0], t[1]), 1e-2);
            check_grad(&[&a, &c], |t| op(t[0], t[1]), 1e-2);
        }
    }

    #[test]
    fn unary_grads_match_finite_differences() {
        let x = Tensor::new(vec![-2.1, -0.7, -0.1, 0.3, 0.9, 2.4], [2, 3]).unwrap();
        for f in [
            Unary::Relu,
            Unary::Sigmoid,
            Unary::Tanh,
            Unary::Elu(1.0),
            Unary::Elu(0.5),
            Unary::Selu,
            Unary::Softplus,
            Unary::Silu,
            Unary::Exp,
            Unary::Square,
            Unary::Neg,
            Unary::ReluParams { negative_slope: 0.1, max_value: 2.0, threshold: 0.5 },
            Unary::ReluParams { negative_slope: 0.1, max_value: 2.75, threshold: -0.2 },
            Unary::ReluParams { negative_slope: 0.2, max_value: f32::INFINITY, threshold: 0.0 },
            Unary::ReluParams { negative_slope: 0.0, max_value: 6.0, threshold: 0.0 },
            Unary::Celu(1.0),
            Unary::Celu(0.7),
            Unary::Gelu,
            Unary::GeluTanh,
            Unary::HardSigmoid,
            Unary::HardSilu,
            Unary::HardTanh,
            Unary::HardShrink(0.5),
            Unary::SoftShrink(0.5),
            Unary::LogSigmoid,
            Unary::Mish,
            Unary::Softsign,
            Unary::Squareplus(4.0),
            Unary::TanhShrink,
            Unary::SparsePlus,
            Unary::SparseSigmoid,
            Unary::Threshold { threshold: 0.1, default_value: -2.0 },
        ] {
            check_grad(&[&x], |t| unary(t[0], f), 1e-2);
            if let Some(d) = f.derivative_from_output(f.apply(0.3)) {
                assert!((d - f.derivative(0.3, f.apply(0.3))).abs() < 1e-5, "{f:?}");
            }
        }
    }

    #[test]
    fn relu_params_follow_keras_composition_and_tf_kinks() {
        let f = |x: f32, s: f32, m: f32, t: f32| relu_params(x, s, m, t);
        // Negative threshold: values between it and 0 are clipped to 0.
        assert_eq!(f(-0.1, 0.1, 2.75, -0.2), (0.0, 0.0));
        assert_eq!(f(3.0, 0.1, 2.75, -0.2), (2.75, 0.0));
        assert_eq!(f(2.75, 0.1, 2.75, -0.2), (2.75, 1.0));
        assert!((f(-1.2, 0.1, 2.75, -0.2).0 + 0.1).abs() < 1e-6);
        // relu6 and leaky_relu kinks as TensorFlow.
        assert_eq!(f(6.0, 0.0, 6.0, 0.0), (6.0, 0.0));
        assert_eq!(f(0.0, 0.0, 6.0, 0.0), (0.0, 0.0));
        assert_eq!(f(0.0, 0.2, f32::INFINITY, 0.0), (0.0, 0.2));
    }

    #[test]
    fn approximate_gelu_saturates_where_tensorflows_float32_tanh_does() {
        // Keras (TensorFlow) at x = -5 / 5: gradient exactly 0 / 1, values exactly 0 / x.
        for (x, y, dy) in [(-5.0f32, 0.0f32, 0.0f32), (5.0, 5.0, 1.0), (-10.0, 0.0, 0.0)] {
            assert_eq!(Unary::GeluTanh.apply(x), y, "gelu({x})");
            assert_eq!(Unary::GeluTanh.derivative(x, y), dy, "gelu'({x})");
        }
        // Inside the range the smooth formula stays (Keras: -5.4240545e-06 at -4.8).
        let d = Unary::GeluTanh.derivative(-4.8, 0.0);
        assert!((d + 5.424_054_5e-6).abs() < 1e-7, "{d}");
    }

    #[test]
    fn new_activation_values() {
        let close = |a: f32, b: f32| (a - b).abs() < 1e-6;
        assert!(close(Unary::Gelu.apply(1.0), 0.841_344_7));
        assert!(close(Unary::GeluTanh.apply(1.0), 0.841_192));
        assert_eq!(Unary::HardSigmoid.apply(-3.0), 0.0);
        assert_eq!(Unary::HardSigmoid.derivative(3.0, 1.0), 0.0);
        assert!(close(Unary::LogSigmoid.apply(-100.0), -100.0));
        assert!(close(Unary::Mish.apply(1.0), 0.865_098_4));
        assert!(close(Unary::Squareplus(4.0).apply(0.0), 1.0));
        assert_eq!(Unary::Celu(1.0).derivative(0.0, 0.0), 2.0);
        assert_eq!(Unary::HardTanh.derivative(1.0, 1.0), 1.0);
    }

    #[test]
    fn sigmoid_remembers_logits() {
        let x = Tensor::new(vec![0.0, 1.0], [2]).unwrap();
        let y = unary(&x, Unary::Sigmoid).unwrap();
        let (kind, logits) = y.keras_logits().unwrap();
        assert_eq!(kind, LogitsKind::Sigmoid);
        assert_eq!(logits.id(), x.id());
    }
}
