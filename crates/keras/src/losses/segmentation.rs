//! Image-segmentation losses: `Dice` and `Tversky` (`keras.losses.dice` / `tversky`), reduced
//! over `axis` (every axis by default, giving one value for the whole batch).

use serde_json::{json, Value};

use super::classes::{common_builders, wrap_inputs};
use super::kernels::{axes_op, broadcast_values, EPSILON};
use super::{Loss, Reduction};
use crate::{Result, Tensor};

/// `y_true` broadcast to `y_pred` after Keras's `squeeze_or_expand_to_same_rank`.
fn targets(y_true: &Tensor, y_pred: &Tensor) -> Result<(Vec<f32>, Tensor)> {
    let (t, p) = wrap_inputs(y_true, y_pred)?;
    Ok((broadcast_values(&t, p.shape())?, p))
}

/// `keras.losses.dice(y_true, y_pred, axis)`: `1 - 2 sum(y_true * y_pred) / (sum(y_true) +
/// sum(y_pred) + eps)` over `axis` (`None`: every axis).
pub fn dice(y_true: &Tensor, y_pred: &Tensor, axis: Option<&[isize]>) -> Result<Tensor> {
    let (t, p) = targets(y_true, y_pred)?;
    axes_op(&t, &p, axis, |tr, pr, grad| {
        let inter: f32 = tr.iter().zip(pr).map(|(a, b)| a * b).sum();
        let den = tr.iter().sum::<f32>() + pr.iter().sum::<f32>() + EPSILON;
        if let Some(g) = grad {
            for j in 0..pr.len() {
                g[j] = -(2.0 * tr[j] * den - 2.0 * inter) / (den * den);
            }
        }
        1.0 - 2.0 * inter / den
    })
}

/// `keras.losses.tversky(y_true, y_pred, alpha, beta, axis)`: `1 - TP / (TP + alpha * FP +
/// beta * FN + eps)` over `axis`, with Keras's `FP = sum((1 - y_pred) * y_true)` and
/// `FN = sum(y_pred * (1 - y_true))`.
pub fn tversky(
    y_true: &Tensor,
    y_pred: &Tensor,
    alpha: f64,
    beta: f64,
    axis: Option<&[isize]>,
) -> Result<Tensor> {
    let (t, p) = targets(y_true, y_pred)?;
    let (a, b) = (alpha as f32, beta as f32);
    axes_op(&t, &p, axis, move |tr, pr, grad| {
        let inter: f32 = tr.iter().zip(pr).map(|(t, p)| t * p).sum();
        let fp: f32 = tr.iter().zip(pr).map(|(t, p)| (1.0 - p) * t).sum();
        let fneg: f32 = tr.iter().zip(pr).map(|(t, p)| p * (1.0 - t)).sum();
        let den = inter + fp * a + fneg * b + EPSILON;
        if let Some(g) = grad {
            for j in 0..pr.len() {
                let dden = tr[j] - a * tr[j] + b * (1.0 - tr[j]);
                g[j] = -(tr[j] * den - inter * dden) / (den * den);
            }
        }
        1.0 - inter / den
    })
}

/// Keras's `axis` argument of Dice / Tversky: `None`, an integer, or a list.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum AxisArg {
    All,
    One(isize),
    Many(Vec<isize>),
}

impl AxisArg {
    fn axes(&self) -> Option<Vec<isize>> {
        match self {
            AxisArg::All => None,
            AxisArg::One(a) => Some(vec![*a]),
            AxisArg::Many(v) => Some(v.clone()),
        }
    }

    fn to_config(&self) -> Value {
        match self {
            AxisArg::All => Value::Null,
            AxisArg::One(a) => json!(a),
            AxisArg::Many(v) => json!(v),
        }
    }

    pub(crate) fn from_config(v: Option<&Value>) -> Result<AxisArg> {
        Ok(match v {
            None | Some(Value::Null) => AxisArg::All,
            Some(Value::Number(n)) if n.as_i64().is_some() => AxisArg::One(n.as_i64().unwrap_or(-1) as isize),
            Some(Value::Array(a)) if a.iter().all(|x| x.as_i64().is_some()) => {
                AxisArg::Many(a.iter().filter_map(Value::as_i64).map(|x| x as isize).collect())
            }
            Some(other) => crate::keras_bail!(
                Config,
                "`axis` must be None, an integer or a list of integers. Received: axis={other}"
            ),
        })
    }
}

/// The `axis` builders of Dice and Tversky (an `axis: AxisArg` field; Keras's default
/// `axis=None` reduces over every axis but the batch).
macro_rules! axis_builders {
    () => {
        /// Reduces over one axis (Keras `axis=1`), one value per remaining position.
        pub fn axis(mut self, axis: isize) -> Self {
            self.axis = AxisArg::One(axis);
            self
        }
        /// Reduces over several axes (Keras `axis=(1, 2)`).
        pub fn axes(mut self, axes: &[isize]) -> Self {
            self.axis = AxisArg::Many(axes.to_vec());
            self
        }
        pub(crate) fn axis_arg(mut self, axis: AxisArg) -> Self {
            self.axis = axis;
            self
        }
    };
}

/// `keras.losses.Dice(reduction="sum_over_batch_size", name="dice", axis=None)`.
///
/// ```
/// use keras::losses::{Dice, Loss};
/// use keras::Tensor;
/// let y = Tensor::new(vec![1.0, 0.0, 1.0, 1.0], [2, 2]).unwrap();
/// // A perfect prediction: 1 - 2 * 3 / (3 + 3 + eps) = 0.
/// assert!(Dice::new().compute(&y, &y, None).unwrap().item().unwrap().abs() < 1e-6);
/// ```
#[derive(Clone, Debug)]
pub struct Dice {
    name: String,
    reduction: Reduction,
    axis: AxisArg,
}

impl Dice {
    /// Keras defaults (`axis=None`: one value over every axis).
    pub fn new() -> Self {
        Dice { name: "dice".into(), reduction: Reduction::SumOverBatchSize, axis: AxisArg::All }
    }
    axis_builders!();
}
common_builders!(Dice, "dice");

impl Loss for Dice {
    crate::losses::classes::loss_base_methods!("Dice");
    fn call(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
        dice(y_true, y_pred, self.axis.axes().as_deref())
    }
    fn get_config(&self) -> Value {
        json!({"name": self.name, "reduction": self.reduction.to_config(), "axis": self.axis.to_config()})
    }
}

/// `keras.losses.Tversky(alpha=0.5, beta=0.5, reduction="sum_over_batch_size",
/// name="tversky", axis=None)`.
#[derive(Clone, Debug)]
pub struct Tversky {
    name: String,
    reduction: Reduction,
    alpha: f64,
    beta: f64,
    axis: AxisArg,
}

impl Tversky {
    /// Keras defaults (`alpha=0.5`, `beta=0.5`: the Dice loss up to its epsilon).
    pub fn new() -> Self {
        Tversky {
            name: "tversky".into(),
            reduction: Reduction::SumOverBatchSize,
            alpha: 0.5,
            beta: 0.5,
            axis: AxisArg::All,
        }
    }
    crate::setters::setters! {
        /// Weight of Keras's false-positive term.
        alpha: f64,
        /// Weight of Keras's false-negative term.
        beta: f64,
    }
    axis_builders!();
}
common_builders!(Tversky, "tversky");

impl Loss for Tversky {
    crate::losses::classes::loss_base_methods!("Tversky");
    fn call(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
        tversky(y_true, y_pred, self.alpha, self.beta, self.axis.axes().as_deref())
    }
    fn get_config(&self) -> Value {
        json!({
            "name": self.name,
            "reduction": self.reduction.to_config(),
            "alpha": self.alpha,
            "beta": self.beta,
            "axis": self.axis.to_config(),
        })
    }
}
