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
            other => {
                keras_bail!(InvalidArgument, "Could not interpret activation function identifier: {other}")
            }
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
}
