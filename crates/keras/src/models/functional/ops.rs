//! Keras operations recorded as graph nodes (`keras.ops.not_equal(x, 0)` on a symbolic tensor
//! becomes a `NotEqual` node of module `keras.src.ops.numpy`). They have no weights and are
//! not layers of the model (`model.layers` skips them, as Keras's does).

use std::any::Any;

use serde_json::{json, Value};

use crate::layers::{CallContext, Layer, LayerBase, Shape};
use crate::{keras_bail, DType, Result, Tensor};

/// An element-wise comparison of a tensor with a scalar (`NotEqual`, `Equal`, `Greater`,
/// `GreaterEqual`, `Less`, `LessEqual`); the result is 1 where true, 0 elsewhere (Keras's
/// booleans), as int32.
pub(crate) struct OpLayer {
    base: LayerBase,
    class: &'static str,
    scalar: f64,
}

const CLASSES: [(&str, &str); 6] = [
    ("NotEqual", "not_equal"),
    ("Equal", "equal"),
    ("Greater", "greater"),
    ("GreaterEqual", "greater_equal"),
    ("Less", "less"),
    ("LessEqual", "less_equal"),
];

impl OpLayer {
    /// Whether `class` (with `module`) names an operation this runtime knows.
    pub(crate) fn is_op(class: &str, module: Option<&str>) -> bool {
        module.is_some_and(|m| m.starts_with("keras.src.ops")) && CLASSES.iter().any(|(c, _)| *c == class)
    }

    /// An operation from its serialized form and the non-tensor arguments of its node.
    pub(crate) fn from_node(class: &str, cfg: &Value, extra_args: &[Value]) -> Result<OpLayer> {
        let Some((class, snake)) = CLASSES.iter().find(|(c, _)| *c == class).copied() else {
            keras_bail!(Config, "Unknown operation class '{class}'");
        };
        let scalar = match extra_args {
            [v] => v.as_f64().ok_or_else(|| {
                crate::Error::Config(format!(
                    "Operation {class} needs a number as its second argument, got {v}"
                ))
            })?,
            _ => keras_bail!(
                Config,
                "Operation {class} takes a tensor and a scalar, got {} extra arguments",
                extra_args.len()
            ),
        };
        let mut base = LayerBase::new(snake);
        if let Some(n) = cfg.get("name").and_then(Value::as_str) {
            base.name = n.to_string();
        }
        base.built = true;
        Ok(OpLayer { base, class, scalar })
    }

    /// A copy (operations have no weights).
    pub(crate) fn duplicate(&self) -> OpLayer {
        OpLayer { base: self.base.clone(), class: self.class, scalar: self.scalar }
    }

    /// The output dtype of an operation layer, `None` for other layers.
    pub(crate) fn output_dtype(layer: &dyn Layer) -> Option<DType> {
        layer.as_any().downcast_ref::<OpLayer>().map(|_| DType::I32)
    }
}

impl Layer for OpLayer {
    fn class_name(&self) -> &'static str {
        self.class
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
    fn records_build_config(&self) -> bool {
        false
    }
    fn compute_output_shape(&self, input_shape: &[Option<usize>]) -> Result<Shape> {
        Ok(input_shape.to_vec())
    }
    fn call(&self, x: &Tensor, _ctx: &mut CallContext) -> Result<Tensor> {
        let s = self.scalar as f32;
        let f: fn(f32, f32) -> bool = match self.class {
            "NotEqual" => |a, b| a != b,
            "Equal" => |a, b| a == b,
            "Greater" => |a, b| a > b,
            "GreaterEqual" => |a, b| a >= b,
            "Less" => |a, b| a < b,
            _ => |a, b| a <= b,
        };
        let vals: Vec<i32> = x.to_f32_vec().into_iter().map(|a| i32::from(f(a, s))).collect();
        Ok(Tensor::from_i32(vals, x.shape().to_vec())?)
    }
    fn get_config(&self) -> Value {
        json!({ "name": self.base.name })
    }
    fn serialize(&self) -> Value {
        json!({
            "module": "keras.src.ops.numpy",
            "class_name": self.class,
            "config": self.get_config(),
            "registered_name": self.class,
        })
    }
}

/// Whether a layer is an operation node (left out of `model.layers`).
pub(crate) fn is_op_layer(layer: &dyn Layer) -> bool {
    layer.as_any().is::<OpLayer>()
}
