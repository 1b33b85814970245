//! Weight and activity regularizers (`keras.regularizers`): penalties added to the training
//! loss. A layer's `kernel_regularizer` / `bias_regularizer` penalise its weights (see
//! [`crate::layers::Layer::regularization_losses`]); an `activity_regularizer` penalises its
//! outputs during every call (collected in [`crate::layers::CallContext::losses`]).
//!
//! ```
//! use keras::regularizers::Regularizer;
//! use keras::Tensor;
//!
//! let r = Regularizer::l2(0.1).unwrap();
//! let w = Tensor::new(vec![1.0, -2.0], [2]).unwrap();
//! assert!((r.call(&w).unwrap().item().unwrap() - 0.5).abs() < 1e-6);
//! assert_eq!(r.to_config()["class_name"], "L2");
//! ```

use keras_engine::ops::{self, Unary};
use serde_json::{json, Value};

use crate::utils::python_repr::py_float_json;
use crate::{keras_bail, Error, Result, Tensor};

/// Which Gram matrix [`Regularizer::Orthogonal`] penalises.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrthogonalMode {
    /// Rows should be orthogonal (`W W^T`).
    Rows,
    /// Columns should be orthogonal (`W^T W`).
    Columns,
}

impl OrthogonalMode {
    /// Keras's name (`"rows"`, `"columns"`).
    pub fn as_str(&self) -> &'static str {
        match self {
            OrthogonalMode::Rows => "rows",
            OrthogonalMode::Columns => "columns",
        }
    }

    /// Parses `"rows"` / `"columns"`.
    pub fn parse(mode: &str) -> Result<Self> {
        match mode {
            "rows" => Ok(OrthogonalMode::Rows),
            "columns" => Ok(OrthogonalMode::Columns),
            _ => keras_bail!(
                InvalidArgument,
                "Invalid value for argument `mode`. Expected one of {{\"rows\", \"columns\"}}. Received: mode={mode}"
            ),
        }
    }
}

/// A Keras regularizer: a scalar penalty of a tensor.
#[derive(Clone, Debug, PartialEq)]
pub enum Regularizer {
    /// `l1 * sum(|x|)` (Keras `L1`, default `l1=0.01`).
    L1 {
        /// The L1 factor.
        l1: f32,
    },
    /// `l2 * sum(x^2)` (Keras `L2`, default `l2=0.01`).
    L2 {
        /// The L2 factor.
        l2: f32,
    },
    /// `l1 * sum(|x|) + l2 * sum(x^2)` (Keras `L1L2`, defaults 0).
    L1L2 {
        /// The L1 factor.
        l1: f32,
        /// The L2 factor.
        l2: f32,
    },
    /// Keras `OrthogonalRegularizer`: `factor * 0.5 * mean over pairs i<j of |<v_i, v_j>|`
    /// for the L2-normalised rows (or columns) `v` of a rank-2 tensor.
    Orthogonal {
        /// The factor (default 0.01).
        factor: f32,
        /// Rows or columns (default rows).
        mode: OrthogonalMode,
    },
}

/// Keras `validate_float_arg`: a finite, non-negative number.
fn validate(value: f32, name: &str) -> Result<f32> {
    if !value.is_finite() || value < 0.0 {
        keras_bail!(
            InvalidArgument,
            "Invalid value for argument {name}: expected a non-negative float.Received: {name}={value}"
        );
    }
    Ok(value)
}

impl Regularizer {
    /// `L1(l1)`; `l1` must be finite and >= 0.
    pub fn l1(l1: f32) -> Result<Self> {
        Ok(Regularizer::L1 { l1: validate(l1, "l1")? })
    }
    /// `L2(l2)`; `l2` must be finite and >= 0.
    pub fn l2(l2: f32) -> Result<Self> {
        Ok(Regularizer::L2 { l2: validate(l2, "l2")? })
    }
    /// `L1L2(l1, l2)`; both must be finite and >= 0.
    pub fn l1_l2(l1: f32, l2: f32) -> Result<Self> {
        Ok(Regularizer::L1L2 { l1: validate(l1, "l1")?, l2: validate(l2, "l2")? })
    }
    /// `OrthogonalRegularizer(factor, mode)`; `factor` must be finite and >= 0.
    pub fn orthogonal(factor: f32, mode: OrthogonalMode) -> Result<Self> {
        Ok(Regularizer::Orthogonal { factor: validate(factor, "factor")?, mode })
    }

    /// Resolves a Keras string identifier (`"l1"`, `"l2"`, `"l1_l2"`, `"L1L2"`,
    /// `"orthogonal_regularizer"`, ...) to the class with its default arguments.
    pub fn from_name(name: &str) -> Result<Self> {
        Ok(match name {
            "l1" | "L1" => Regularizer::L1 { l1: 0.01 },
            "l2" | "L2" => Regularizer::L2 { l2: 0.01 },
            "l1_l2" | "l1l2" | "L1L2" => Regularizer::L1L2 { l1: 0.0, l2: 0.0 },
            "orthogonal_regularizer" | "OrthogonalRegularizer" => {
                Regularizer::Orthogonal { factor: 0.01, mode: OrthogonalMode::Rows }
            }
            other => keras_bail!(InvalidArgument, "Could not interpret regularizer identifier: {other}"),
        })
    }

    /// Reads a regularizer from a string name or its serialized form
    /// (`{"class_name": "L2", "config": {"l2": 0.01}}`). `null` gives `None`.
    pub fn from_config(v: &Value) -> Result<Option<Self>> {
        let (class, cfg) = match Identifier::read(v, "regularizer")? {
            Identifier::Null => return Ok(None),
            Identifier::Name(s) => return Self::from_name(s).map(Some),
            Identifier::Object(class, cfg) => (class, cfg),
        };
        let num = |k: &str, d: f32| -> Result<f32> {
            match cfg.get(k) {
                None | Some(Value::Null) => Ok(d),
                Some(x) => x.as_f64().map(|x| x as f32).ok_or_else(|| {
                    Error::Config(format!("regularizer argument `{k}` must be a number, got {x}"))
                }),
            }
        };
        let r = match Self::from_name(class)? {
            Regularizer::L1 { .. } => Self::l1(num("l1", 0.01)?)?,
            Regularizer::L2 { .. } => Self::l2(num("l2", 0.01)?)?,
            Regularizer::L1L2 { .. } => Self::l1_l2(num("l1", 0.0)?, num("l2", 0.0)?)?,
            Regularizer::Orthogonal { .. } => {
                let mode = OrthogonalMode::parse(cfg.get("mode").and_then(Value::as_str).unwrap_or("rows"))?;
                Self::orthogonal(num("factor", 0.01)?, mode)?
            }
        };
        Ok(Some(r))
    }

    /// The Keras class name.
    pub fn class_name(&self) -> &'static str {
        match self {
            Regularizer::L1 { .. } => "L1",
            Regularizer::L2 { .. } => "L2",
            Regularizer::L1L2 { .. } => "L1L2",
            Regularizer::Orthogonal { .. } => "OrthogonalRegularizer",
        }
    }

    /// `get_config()`.
    pub fn get_config(&self) -> Value {
        match self {
            Regularizer::L1 { l1 } => json!({ "l1": py_float_json(*l1) }),
            Regularizer::L2 { l2 } => json!({ "l2": py_float_json(*l2) }),
            Regularizer::L1L2 { l1, l2 } => json!({ "l1": py_float_json(*l1), "l2": py_float_json(*l2) }),
            Regularizer::Orthogonal { factor, mode } => {
                json!({ "factor": py_float_json(*factor), "mode": mode.as_str() })
            }
        }
    }

    /// The serialized form Keras writes into layer configs.
    pub fn to_config(&self) -> Value {
        json!({
            "module": "keras.regularizers",
            "class_name": self.class_name(),
            "config": self.get_config(),
            "registered_name": null,
        })
    }

    /// The penalty of `x` as a differentiable scalar tensor.
    pub fn call(&self, x: &Tensor) -> Result<Tensor> {
        let l1 = |x: &Tensor, f: f32| -> Result<Tensor> {
            Ok(ops::scale(&ops::sum_all(&ops::unary(x, Unary::Abs)?)?, f)?)
        };
        let l2 = |x: &Tensor, f: f32| -> Result<Tensor> {
            Ok(ops::scale(&ops::sum_all(&ops::unary(x, Unary::Square)?)?, f)?)
        };
        match self {
            Regularizer::L1 { l1: f } => l1(x, *f),
            Regularizer::L2 { l2: f } => l2(x, *f),
            Regularizer::L1L2 { l1: a, l2: b } => {
                let mut r = Tensor::scalar(0.0);
                if *a != 0.0 {
                    r = ops::add(&r, &l1(x, *a)?)?;
                }
                if *b != 0.0 {
                    r = ops::add(&r, &l2(x, *b)?)?;
                }
                Ok(r)
            }
            Regularizer::Orthogonal { factor, mode } => orthogonal_penalty(x, *factor, *mode),
        }
    }
}

/// Keras `l2_normalize`: `x * rsqrt(max(sum(x^2, axis), 1e-12))`.
fn l2_normalize(x: &Tensor, axis: isize) -> Result<Tensor> {
    let sq = ops::sum_axis(&ops::unary(x, Unary::Square)?, axis, true)?;
    // max(sq, 1e-12) = relu(sq - 1e-12) + 1e-12.
    let eps = Tensor::scalar(1e-12);
    let clipped = ops::add(&ops::unary(&ops::sub(&sq, &eps)?, Unary::Relu)?, &eps)?;
    Ok(ops::div(x, &ops::unary(&clipped, Unary::Sqrt)?)?)
}

fn orthogonal_penalty(x: &Tensor, factor: f32, mode: OrthogonalMode) -> Result<Tensor> {
    if x.rank() != 2 {
        keras_bail!(
            InvalidArgument,
            "Inputs to OrthogonalRegularizer must have rank 2. Received: inputs.shape={:?}",
            x.shape()
        );
    }
    let (product, size) = match mode {
        OrthogonalMode::Rows => {
            let n = l2_normalize(x, 1)?;
            (ops::matmul(&n, &ops::transpose(&n, &[1, 0])?)?, x.shape()[0])
        }
        OrthogonalMode::Columns => {
            let n = l2_normalize(x, 0)?;
            (ops::matmul(&ops::transpose(&n, &[1, 0])?, &n)?, x.shape()[1])
        }
    };
    let mut mask = vec![1.0f32; size * size];
    for i in 0..size {
        mask[i * size + i] = 0.0;
    }
    let off = ops::mul(&product, &Tensor::new(mask, [size, size])?)?;
    let num_pairs = size as f32 * (size as f32 - 1.0) / 2.0;
    let total = ops::sum_all(&ops::unary(&off, Unary::Abs)?)?;
    Ok(ops::scale(&total, factor * 0.5 / num_pairs)?)
}

/// What Keras's `get` (of a regularizer or a constraint) reads: `null`, a name, or a
/// serialized object's class name and config.
pub(crate) enum Identifier<'a> {
    /// `null`: none.
    Null,
    /// A string name.
    Name(&'a str),
    /// `{"class_name": ..., "config": ...}` (a missing config is `{}`).
    Object(&'a str, Value),
}

impl<'a> Identifier<'a> {
    /// Reads `v`; any other JSON value is "Could not interpret {what} identifier: {v}".
    pub(crate) fn read(v: &'a Value, what: &str) -> Result<Self> {
        Ok(match v {
            Value::Null => Identifier::Null,
            Value::String(s) => Identifier::Name(s),
            Value::Object(o) => Identifier::Object(
                o.get("class_name").and_then(Value::as_str).unwrap_or(""),
                o.get("config").cloned().unwrap_or(json!({})),
            ),
            _ => keras_bail!(Config, "Could not interpret {what} identifier: {v}"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::t;
    use keras_engine::GradientTape;

    #[test]
    fn l1_l2_values_and_gradients() {
        let x = t(vec![1.0, -2.0, 0.5, 0.0], &[2, 2]).requiring_grad();
        let tape = GradientTape::new();
        let r = Regularizer::l1_l2(0.1, 0.2).unwrap();
        let p = r.call(&x).unwrap();
        // 0.1 * 3.5 + 0.2 * 5.25
        assert!((p.item().unwrap() - (0.35 + 1.05)).abs() < 1e-6);
        let g = tape.gradient(&p, &[&x]).unwrap()[0].clone().unwrap().to_f32_vec();
        let want = [0.1 + 0.4, -0.1 - 0.8, 0.1 + 0.2, 0.0];
        for (a, b) in g.iter().zip(want) {
            assert!((a - b).abs() < 1e-6, "{g:?}");
        }
        assert!((Regularizer::l1(0.5).unwrap().call(&x).unwrap().item().unwrap() - 1.75).abs() < 1e-6);
        assert!((Regularizer::l2(0.5).unwrap().call(&x).unwrap().item().unwrap() - 2.625).abs() < 1e-6);
        assert_eq!(Regularizer::l1_l2(0.0, 0.0).unwrap().call(&x).unwrap().item().unwrap(), 0.0);
    }

    #[test]
    fn invalid_factors_are_rejected() {
        assert!(Regularizer::l1(-0.1).is_err());
        assert!(Regularizer::l2(f32::NAN).is_err());
        assert!(Regularizer::l1_l2(0.1, -1.0).is_err());
        assert!(Regularizer::orthogonal(-1.0, OrthogonalMode::Rows).is_err());
        assert!(OrthogonalMode::parse("diag").is_err());
        assert!(Regularizer::from_name("l3").is_err());
        assert!(Regularizer::from_config(&json!({"class_name": "L2", "config": {"l2": -1}})).is_err());
        assert!(Regularizer::from_config(&json!(3)).is_err());
        let o = Regularizer::orthogonal(1.0, OrthogonalMode::Rows).unwrap();
        assert!(o.call(&Tensor::zeros(vec![2, 2, 2])).is_err());
    }

    #[test]
    fn configs_and_names() {
        let r = Regularizer::from_name("l2").unwrap();
        assert_eq!(
            r.to_config(),
            json!({"module": "keras.regularizers", "class_name": "L2", "config": {"l2": 0.01}, "registered_name": null})
        );
        assert_eq!(Regularizer::from_name("l1_l2").unwrap().get_config(), json!({"l1": 0.0, "l2": 0.0}));
        assert_eq!(Regularizer::from_name("l1").unwrap(), Regularizer::L1 { l1: 0.01 });
        for r in [
            Regularizer::l1(0.3).unwrap(),
            Regularizer::l2(0.02).unwrap(),
            Regularizer::l1_l2(0.1, 0.2).unwrap(),
            Regularizer::orthogonal(0.5, OrthogonalMode::Columns).unwrap(),
        ] {
            assert_eq!(Regularizer::from_config(&r.to_config()).unwrap(), Some(r));
        }
        assert_eq!(
            Regularizer::orthogonal(0.5, OrthogonalMode::Columns).unwrap().get_config(),
            json!({"factor": 0.5, "mode": "columns"})
        );
        assert_eq!(Regularizer::from_config(&Value::Null).unwrap(), None);
    }

    #[test]
    fn orthogonal_penalty_values() {
        // Rows (1, 0), (1, 1)/sqrt2, (0, 1): dots 1/sqrt2, 0, 1/sqrt2 over 3 pairs.
        let x = t(vec![2.0, 0.0, 1.0, 1.0, 0.0, 3.0], &[3, 2]);
        let r = Regularizer::orthogonal(0.3, OrthogonalMode::Rows).unwrap();
        let want = 0.3 * 0.5 * (2.0 * 2.0 * std::f32::consts::FRAC_1_SQRT_2) / 3.0;
        assert!((r.call(&x).unwrap().item().unwrap() - want).abs() < 1e-6);
        // Columns of the same matrix: (2,1,0)/sqrt5 and (0,1,3)/sqrt10, one pair.
        let c = Regularizer::orthogonal(0.3, OrthogonalMode::Columns).unwrap();
        let want = 0.3 * 0.5 * 2.0 * (1.0 / (5.0f32.sqrt() * 10.0f32.sqrt()));
        assert!((c.call(&x).unwrap().item().unwrap() - want).abs() < 1e-6);
        // Orthogonal rows give no penalty.
        let id = t(vec![1.0, 0.0, 0.0, 1.0], &[2, 2]);
        assert_eq!(r.call(&id).unwrap().item().unwrap(), 0.0);
    }
}

#[cfg(test)]
mod model_tests;
