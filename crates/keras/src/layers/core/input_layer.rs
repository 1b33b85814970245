//! `InputLayer` / `Input`: declares the input shape of a model.

use serde_json::{json, Value};

use crate::layers::layer::{CallContext, Layer, LayerBase, Shape};
use crate::layers::layer_args::{insert_before, LayerArgs, LayerCfg};
use crate::utils::config_args::{config_args, ConfigArg};
use crate::{keras_bail, DType, Error, Result, Tensor};

/// The entry point of a model (Keras `keras.layers.InputLayer`, made by `keras.Input`).
pub struct InputLayer {
    base: LayerBase,
    args: InputLayerArgs,
}

config_args! {
    /// InputLayer's Keras arguments read from and written to its config.
    #[derive(Clone, Debug)]
    pub(crate) struct InputLayerArgs in InputLayer.args, family LayerArgs {
        /// The shape including the batch dimension.
        batch_shape: BatchShape,
        /// Sets the dtype (Keras `keras.Input(dtype=...)`).
        dtype: DType = DType::F32; builder dtype(dtype: DType),
        /// Keras's sparse inputs (`tf.SparseTensor`); keras-rs tensors are dense.
        sparse: Unsupported = Unsupported,
        /// Keras's ragged inputs (`tf.RaggedTensor`); keras-rs tensors are rectangular.
        ragged: Unsupported = Unsupported,
        /// Keras's optional inputs (that may be `None`); keras-rs feeds every input.
        optional: Unsupported = Unsupported,
    }
}

/// A boolean InputLayer argument for a kind of input keras-rs does not have: written as
/// `false`; a config that sets it to `true` is refused with a clear error instead of loading a
/// model that would then behave differently from Keras's.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Unsupported;

impl ConfigArg<LayerArgs> for Unsupported {
    fn to_config(&self) -> Value {
        Value::Bool(false)
    }
    fn from_config(src: &mut LayerCfg<'_>, key: &str, _default: Option<Self>) -> Result<Self> {
        match src.cfg.get(key) {
            None | Some(Value::Null) | Some(Value::Bool(false)) => Ok(Unsupported),
            Some(Value::Bool(true)) => {
                keras_bail!(Config, "InputLayer `{key}=True` is not supported: keras-rs has no {key} inputs")
            }
            Some(v) => keras_bail!(Config, "InputLayer `{key}` must be a boolean, got {v}"),
        }
    }
}

/// A batch shape (`None` for an unknown dimension), read from `batch_shape` or Keras 2's
/// `batch_input_shape`.
#[derive(Clone, Debug, Default)]
pub(crate) struct BatchShape(Shape);

impl ConfigArg<LayerArgs> for BatchShape {
    fn to_config(&self) -> Value {
        json!(self.0)
    }
    fn from_config(src: &mut LayerCfg<'_>, key: &str, _default: Option<Self>) -> Result<Self> {
        let dims = src
            .cfg
            .get(key)
            .or_else(|| src.cfg.get("batch_input_shape"))
            .and_then(Value::as_array)
            .ok_or_else(|| Error::Config(format!("{} config needs `{key}`", src.class)))?;
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
        Ok(BatchShape(batch_shape))
    }
}

/// A dtype, written by its Keras name; missing or `null` is the default (float32).
impl ConfigArg<LayerArgs> for DType {
    fn to_config(&self) -> Value {
        Value::from(dtype_name(*self))
    }
    fn from_config(src: &mut LayerCfg<'_>, key: &str, default: Option<Self>) -> Result<Self> {
        match src.cfg.get(key) {
            None | Some(Value::Null) => Ok(default.unwrap_or(DType::F32)),
            Some(v) => dtype_from_config(v),
        }
    }
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
        let args = InputLayerArgs { batch_shape: BatchShape(batch_shape), ..InputLayerArgs::defaults() };
        InputLayer { base, args }
    }

    /// The input dtype.
    pub fn input_dtype(&self) -> DType {
        self.args.dtype
    }

    /// The shape including the batch dimension (`[None, 28, 28, 1]`).
    pub fn batch_shape(&self) -> &[Option<usize>] {
        &self.args.batch_shape.0
    }

    crate::layers::builders::name_builder!();

    /// Rebuilds an InputLayer from its Keras config (`batch_shape` or legacy `batch_input_shape`).
    pub fn from_config(cfg: &Value) -> Result<Self> {
        let args = InputLayerArgs::read_args(&mut LayerCfg::new(cfg, "InputLayer"))?;
        let mut base = LayerBase::new("input_layer");
        base.apply_config(cfg);
        base.input_shape = None;
        base.built = true;
        Ok(InputLayer { base, args })
    }
}

/// The Keras name of a dtype (`float32`, `int32`, `int64`).
pub(crate) fn dtype_name(d: DType) -> &'static str {
    d.name()
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
        Ok(self.args.batch_shape.0.clone())
    }
    fn call(&self, x: &Tensor, _ctx: &mut CallContext) -> Result<Tensor> {
        Ok(x.clone())
    }
    fn get_config(&self) -> Value {
        let mut m = serde_json::Map::new();
        self.args.write_args(&mut m);
        // Keras writes the name between `ragged` and `optional`.
        insert_before(&mut m, "optional", "name", json!(self.base.name));
        Value::Object(m)
    }
}
