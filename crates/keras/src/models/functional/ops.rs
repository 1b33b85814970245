//! Keras operations recorded as graph nodes (`keras.ops.not_equal(x, 0)` or `x + 3.0` on a
//! symbolic tensor becomes a `NotEqual` or `Add` node of module `keras.src.ops.numpy`). They
//! have no weights and are not layers of the model (`model.layers` skips them, as Keras's
//! does), but `summary()` lists them, as Keras's does.

use serde_json::{json, Value};

use super::symbolic::{call_symbolic, KerasTensor, LayerSlot};
use crate::layers::{CallContext, CallKwargs, Layer, LayerBase, Shape};
use crate::{keras_bail, ops, DType, Result, Tensor};

/// An element-wise operation of a tensor with a scalar: a comparison (`NotEqual`, `Equal`,
/// `Greater`, `GreaterEqual`, `Less`, `LessEqual`; the result is 1 where true, 0 elsewhere
/// (Keras's booleans), as int32), or arithmetic (`Add`, `Subtract`, `Multiply`, `TrueDivide`;
/// differentiable, float32). An arithmetic operation may also combine two tensors (`x + y`
/// on two symbolic tensors, as ConvNeXt's residual `inputs + x`): then it has no scalar.
pub(crate) struct OpLayer {
    base: LayerBase,
    class: &'static str,
    /// The scalar operand; `None` for an operation of two tensors.
    scalar: Option<f64>,
}

const CLASSES: [(&str, &str); 10] = [
    ("NotEqual", "not_equal"),
    ("Equal", "equal"),
    ("Greater", "greater"),
    ("GreaterEqual", "greater_equal"),
    ("Less", "less"),
    ("LessEqual", "less_equal"),
    ("Add", "add"),
    ("Subtract", "subtract"),
    ("Multiply", "multiply"),
    ("TrueDivide", "true_divide"),
];

/// The arithmetic operations (the others compare).
const ARITHMETIC: [&str; 4] = ["Add", "Subtract", "Multiply", "TrueDivide"];

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
            [v] => Some(v.as_f64().ok_or_else(|| {
                crate::Error::Config(format!(
                    "Operation {class} needs a number as its second argument, got {v}"
                ))
            })?),
            // Two tensors (`x + y`): the node's arguments are both tensors.
            [] if ARITHMETIC.contains(&class) => None,
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

    /// A new operation node's layer, with Keras's automatic name (`add`, `add_1`, ...).
    fn new(class: &'static str, scalar: Option<f64>) -> OpLayer {
        let snake = CLASSES.iter().find(|(c, _)| *c == class).map_or("operation", |(_, s)| s);
        let mut base = LayerBase::new(snake);
        base.built = true;
        OpLayer { base, class, scalar }
    }

    fn is_arithmetic(&self) -> bool {
        ARITHMETIC.contains(&self.class)
    }

    /// A copy (operations have no weights).
    pub(crate) fn duplicate(&self) -> OpLayer {
        OpLayer { base: self.base.clone(), class: self.class, scalar: self.scalar }
    }

    /// The output dtype of an operation layer, `None` for other layers.
    pub(crate) fn output_dtype(layer: &dyn Layer) -> Option<DType> {
        let op = layer.as_any().downcast_ref::<OpLayer>()?;
        Some(if op.is_arithmetic() { DType::F32 } else { DType::I32 })
    }
}

impl Layer for OpLayer {
    crate::layers::layer::layer_base_methods!(|l| l.class);
    fn records_build_config(&self) -> bool {
        false
    }
    fn compute_output_shape(&self, input_shape: &[Option<usize>]) -> Result<Shape> {
        Ok(input_shape.to_vec())
    }
    fn call(&self, x: &Tensor, _ctx: &mut CallContext) -> Result<Tensor> {
        let Some(scalar) = self.scalar else {
            keras_bail!(InvalidArgument, "Operation {} takes two tensors, got one", self.base.name);
        };
        // Python's float becomes the tensor's float32, as Keras's `x + 3.0` computes.
        let s = scalar as f32;
        if self.is_arithmetic() {
            let x = if x.dtype() == DType::F32 { x.clone() } else { x.cast(DType::F32) };
            let s = Tensor::scalar(s);
            return Ok(match self.class {
                "Add" => ops::add(&x, &s)?,
                "Subtract" => ops::sub(&x, &s)?,
                "Multiply" => ops::mul(&x, &s)?,
                _ => ops::div(&x, &s)?,
            });
        }
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
    fn call_multi(
        &self,
        inputs: &[Tensor],
        masks: &[Option<Tensor>],
        ctx: &mut CallContext,
    ) -> Result<Vec<Tensor>> {
        match (self.scalar, inputs) {
            (None, [a, b]) => {
                let a = if a.dtype() == DType::F32 { a.clone() } else { a.cast(DType::F32) };
                let b = if b.dtype() == DType::F32 { b.clone() } else { b.cast(DType::F32) };
                Ok(vec![match self.class {
                    "Add" => ops::add(&a, &b)?,
                    "Subtract" => ops::sub(&a, &b)?,
                    "Multiply" => ops::mul(&a, &b)?,
                    _ => ops::div(&a, &b)?,
                }])
            }
            (None, _) => keras_bail!(
                InvalidArgument,
                "Operation {} takes two tensors, got {}",
                self.base.name,
                inputs.len()
            ),
            (Some(_), [x]) => Ok(vec![self.call_masked(x, masks.first().and_then(Option::as_ref), ctx)?]),
            (Some(_), _) => keras_bail!(
                InvalidArgument,
                "Operation {} takes one tensor, got {}",
                self.base.name,
                inputs.len()
            ),
        }
    }
    fn build_multi(&mut self, input_shapes: &[Shape]) -> Result<()> {
        self.compute_output_shapes(input_shapes).map(|_| ())
    }
    fn compute_output_shapes(&self, input_shapes: &[Shape]) -> Result<Vec<Shape>> {
        match (self.scalar, input_shapes) {
            (None, [a, b]) => Ok(vec![broadcast_shapes(&self.base.name, a, b)?]),
            (Some(_), [x]) => Ok(vec![x.clone()]),
            _ => {
                keras_bail!(InvalidArgument, "Operation {} got {} inputs", self.base.name, input_shapes.len())
            }
        }
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

/// NumPy broadcasting of two symbolic shapes (an unknown size meets anything).
fn broadcast_shapes(name: &str, a: &[Option<usize>], b: &[Option<usize>]) -> Result<Shape> {
    let n = a.len().max(b.len());
    let at = |s: &[Option<usize>], i: usize| if i + s.len() >= n { s[i + s.len() - n] } else { Some(1) };
    (0..n)
        .map(|i| match (at(a, i), at(b, i)) {
            (Some(1), d) | (d, Some(1)) => Ok(d),
            (Some(x), Some(y)) if x != y => {
                keras_bail!(InvalidArgument, "Operation {name}: cannot broadcast shapes {a:?} and {b:?}")
            }
            (Some(x), _) | (_, Some(x)) => Ok(Some(x)),
            (None, None) => Ok(None),
        })
        .collect()
}

/// Whether a layer is an operation node (left out of `model.layers`).
pub(crate) fn is_op_layer(layer: &dyn Layer) -> bool {
    layer.as_any().is::<OpLayer>()
}

/// Records `class(x, scalar)` as an operation node (Keras's arithmetic on a `KerasTensor`).
fn scalar_op(x: &KerasTensor, class: &'static str, scalar: f64) -> Result<KerasTensor> {
    let slot = LayerSlot::new(Box::new(OpLayer::new(class, Some(scalar))));
    let mut outs =
        call_symbolic(&slot, std::slice::from_ref(x), false, CallKwargs::new(), vec![json!(scalar)])?;
    Ok(outs.swap_remove(0))
}

/// Records `class(x, y)` of two tensors as an operation node (Keras's `x + y` on symbolic
/// tensors).
fn tensor_op(x: &KerasTensor, y: &KerasTensor, class: &'static str) -> Result<KerasTensor> {
    let slot = LayerSlot::new(Box::new(OpLayer::new(class, None)));
    let mut outs = call_symbolic(&slot, &[x.clone(), y.clone()], false, CallKwargs::new(), Vec::new())?;
    Ok(outs.swap_remove(0))
}

impl KerasTensor {
    /// `x + y` on two symbolic tensors (NumPy broadcasting): Keras records an `Add` operation
    /// node (named `add`, `add_1`, ..., the names the `Add` layer also counts with), which
    /// `model.layers` leaves out. ConvNeXt's residual connections are such nodes.
    ///
    /// ```
    /// use keras::layers::Rescaling;
    /// use keras::models::{Model, SymbolicCall};
    /// use keras::{Input, PredictArgs, Tensor};
    ///
    /// let x = Input::new(&[2]);
    /// let y = x.add(&Rescaling::new(2.0).apply(&x)?)?;
    /// let model = Model::new(&[x], &[y])?;
    /// assert_eq!(model.layers().len(), 2); // the input and the Rescaling
    /// let out = model.predict(&Tensor::new(vec![1.0, -2.0], [1, 2])?, PredictArgs::default().verbose(0))?;
    /// assert_eq!(out[0].to_f32_vec(), vec![3.0, -6.0]);
    /// # Ok::<(), keras::Error>(())
    /// ```
    pub fn add(&self, other: &KerasTensor) -> Result<KerasTensor> {
        tensor_op(self, other, "Add")
    }

    /// `x + c` on a symbolic tensor: Keras records an `Add` operation node (named `add`,
    /// `add_1`, ...), which `model.layers` leaves out and `summary()` shows. It saves and loads
    /// with Keras's config.
    ///
    /// ```
    /// use keras::layers::ReLU;
    /// use keras::models::{Model, SymbolicCall};
    /// use keras::{Input, PredictArgs, Tensor};
    ///
    /// // MobileNetV3's hard sigmoid: ReLU6(x + 3) / 6.
    /// let x = Input::new(&[3]);
    /// let y = ReLU::new().max_value(6.0).apply(&x.add_scalar(3.0)?)?.multiply_scalar(1.0 / 6.0)?;
    /// let model = Model::new(&[x], &[y])?;
    /// assert_eq!(model.layers().len(), 2); // the input and the ReLU
    /// let out = model.predict(&Tensor::new(vec![-4.0, 0.0, 4.0], [1, 3])?, PredictArgs::default().verbose(0))?;
    /// assert_eq!(out[0].to_f32_vec(), vec![0.0, 0.5, 1.0]);
    /// # Ok::<(), keras::Error>(())
    /// ```
    pub fn add_scalar(&self, c: f64) -> Result<KerasTensor> {
        scalar_op(self, "Add", c)
    }

    /// `x - c` (a `Subtract` operation node).
    pub fn subtract_scalar(&self, c: f64) -> Result<KerasTensor> {
        scalar_op(self, "Subtract", c)
    }

    /// `x * c` (a `Multiply` operation node).
    pub fn multiply_scalar(&self, c: f64) -> Result<KerasTensor> {
        scalar_op(self, "Multiply", c)
    }

    /// `x / c` (a `TrueDivide` operation node).
    pub fn divide_scalar(&self, c: f64) -> Result<KerasTensor> {
        scalar_op(self, "TrueDivide", c)
    }
}
