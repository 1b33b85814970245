//! `InputLayer` / `Input`: declares the input shape of a model.

use std::any::Any;

use serde_json::{json, Value};

use crate::layers::layer::{CallContext, Layer, LayerBase, Shape};
use crate::{keras_bail, Error, Result, Tensor};

/// The entry point of a model (Keras `keras.layers.InputLayer`, made by `keras.Input`).
pub struct InputLayer {
    base: LayerBase,
    batch_shape: Shape,
}

impl InputLayer {
    /// An input of `shape` (without the batch dimension).
    pub fn new(shape: &[usize]) -> Self {
        let mut batch_shape = vec![None];
        batch_shape.extend(shape.iter().map(|&d| Some(d)));
        let mut base = LayerBase::new("input_layer");
        base.built = true;
        InputLayer { base, batch_shape }
    }

    /// The shape including the batch dimension (`[None, 28, 28, 1]`).
    pub fn batch_shape(&self) -> &[Option<usize>] {
        &self.batch_shape
    }

    /// Sets the layer name.
    pub fn name(mut self, name: &str) -> Self {
        self.base.name = name.to_string();
        self
    }

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
        let mut base = LayerBase::new("input_layer");
        base.apply_config(cfg);
        base.input_shape = None;
        base.built = true;
        Ok(InputLayer { base, batch_shape })
    }
}

/// `keras.Input(shape)`: an input declaration for a model.
pub fn input(shape: &[usize]) -> InputLayer {
    InputLayer::new(shape)
}

impl Layer for InputLayer {
    fn class_name(&self) -> &'static str {
        "InputLayer"
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
    fn compute_output_shape(&self, _input_shape: &[Option<usize>]) -> Result<Shape> {
        Ok(self.batch_shape.clone())
    }
    fn call(&self, x: &Tensor, _ctx: &mut CallContext) -> Result<Tensor> {
        Ok(x.clone())
    }
    fn get_config(&self) -> Value {
        json!({
            "batch_shape": self.batch_shape,
            "dtype": "float32",
            "sparse": false,
            "ragged": false,
            "name": self.base.name,
            "optional": false,
        })
    }
}
