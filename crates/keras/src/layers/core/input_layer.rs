//! `InputLayer` / `Input`: declares the input shape of a model.

use serde_json::{json, Value};

use crate::layers::layer::{CallContext, Layer, LayerBase, Shape};
use crate::{keras_bail, DType, Error, Result, Tensor};

/// The entry point of a model (Keras `keras.layers.InputLayer`, made by `keras.Input`).
pub struct InputLayer {
    base: LayerBase,
    batch_shape: Shape,
    /// The dtype of the input (`float32`, or `int32` for token ids).
    dtype: DType,
}

impl InputLayer {
    /// An input of `shape` (without the batch dimension).
    pub fn new(shape: &[usize]) -> Self {
        let mut batch_shape = vec![None];
        batch_shape.extend(shape.iter().map(|&d| Some(d)));
        Self::with_batch_shape(batch_shape)
    }

    /// An input of `batch_shape` (batch dimension included; `None` for unknown dimensions,
    /// as in `keras.Input(batch_shape=...)`).
    pub fn with_batch_shape(batch_shape: Shape) -> Self {
        let mut base = LayerBase::new("input_layer");
        base.built = true;
        InputLayer { base, batch_shape, dtype: DType::F32 }
    }

    crate::setters::setters! {
        /// Sets the dtype (Keras `keras.Input(dtype=...)`).
        dtype: DType,
    }

    /// The input dtype.
    pub fn input_dtype(&self) -> DType {
        self.dtype
    }

    /// The shape including the batch dimension (`[None, 28, 28, 1]`).
    pub fn batch_shape(&self) -> &[Option<usize>] {
        &self.batch_shape
    }

    crate::layers::builders::name_builder!();

    /// Rebuilds an InputLayer from its Keras config (`batch_shape` or legacy `batch_input_shape`).
    pub fn from_config(cfg: &Value) -> Result<Self> {
        let dims = cfg
            .get("batch_shape")
            .or_else(|| cfg.get("batch_input_shape"))
            .and_then(Value::as_array)
            .ok_or_else(|| Error::Config("InputLayer config needs `batch_shape`".into()))?;
        let mut batch_shape = Vec::new();
        for d in dims {
            batch_shape.push(match d {
                Value::Null => None,
                v => {
                    Some(v.as_u64().ok_or_else(|| {
                        Error::Config(format!("bad dimension {v} in InputLayer batch_shape"))
                    })? as usize)
                }
            });
        }
        if batch_shape.is_empty() {
            keras_bail!(Config, "InputLayer batch_shape must have a batch dimension");
        }
        let dtype = match cfg.get("dtype") {
            None | Some(Value::Null) => DType::F32,
            Some(v) => dtype_from_config(v)?,
        };
        let mut base = LayerBase::new("input_layer");
        base.apply_config(cfg);
        base.input_shape = None;
        base.built = true;
        Ok(InputLayer { base, batch_shape, dtype })
    }
}

/// The Keras name of a dtype (`float32`, `int32`, `int64`).
pub(crate) fn dtype_name(d: DType) -> &'static str {
    match d {
        DType::F32 => "float32",
        DType::I32 => "int32",
        DType::I64 => "int64",
    }
}

/// A dtype from a config: a name (`"int32"`) or a DTypePolicy object. Integer and boolean
/// inputs map to the engine's integer types, every float type to float32.
pub(crate) fn dtype_from_config(v: &Value) -> Result<DType> {
    let name = match v {
        Value::String(s) => s.as_str(),
        Value::Object(_) => v.pointer("/config/name").and_then(Value::as_str).unwrap_or("float32"),
        _ => keras_bail!(Config, "bad dtype {v} in InputLayer config"),
    };
    Ok(match name {
        "float16" | "bfloat16" | "float32" | "float64" | "mixed_float16" | "mixed_bfloat16" => DType::F32,
        "int8" | "uint8" | "int16" | "uint16" | "int32" | "uint32" | "bool" => DType::I32,
        "int64" | "uint64" => DType::I64,
        other => keras_bail!(Config, "Unsupported input dtype '{other}'"),
    })
}

/// `keras.Input(shape)`: an input declaration for a model.
pub fn input(shape: &[usize]) -> InputLayer {
    InputLayer::new(shape)
}

impl Layer for InputLayer {
    crate::layers::layer::layer_base_methods!("InputLayer");
    fn records_build_config(&self) -> bool {
        false
    }
    fn compute_output_shape(&self, _input_shape: &[Option<usize>]) -> Result<Shape> {
        Ok(self.batch_shape.clone())
    }
    fn call(&self, x: &Tensor, _ctx: &mut CallContext) -> Result<Tensor> {
        Ok(x.clone())
    }
    fn get_config(&self) -> Value {
        json!({
            "batch_shape": self.batch_shape,
            "dtype": dtype_name(self.dtype),
            "sparse": false,
            "ragged": false,
            "name": self.base.name,
            "optional": false,
        })
    }
}
