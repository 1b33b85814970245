//! `Flatten`: collapses every axis after the batch into one.

use std::any::Any;

use serde_json::{json, Value};

use crate::layers::layer::{CallContext, Layer, LayerBase, Shape};
use crate::{Result, Tensor};

/// Flattens the input without touching the batch axis (Keras `keras.layers.Flatten`).
pub struct Flatten {
    base: LayerBase,
}

impl Default for Flatten {
    fn default() -> Self {
        Self::new()
    }
}

impl Flatten {
    /// A Flatten layer.
    pub fn new() -> Self {
        Flatten { base: LayerBase::new("flatten") }
    }

    /// Rebuilds from a Keras config.
    pub fn from_config(cfg: &Value) -> Result<Self> {
        let mut f = Flatten::new();
        f.base.apply_config(cfg);
        Ok(f)
    }

    /// Sets the layer name.
    pub fn name(mut self, name: &str) -> Self {
        self.base.rename(name);
        self
    }

    /// `input_shape` (without batch) for the first layer of a Sequential model.
    pub fn input_shape(mut self, shape: &[usize]) -> Self {
        self.base.input_shape = Some(shape.to_vec());
        self
    }
}

impl Layer for Flatten {
    fn class_name(&self) -> &'static str {
        "Flatten"
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
    fn compute_output_shape(&self, s: &[Option<usize>]) -> Result<Shape> {
        let rest: Option<usize> = s.iter().skip(1).try_fold(1usize, |a, d| d.map(|d| a * d));
        Ok(vec![s.first().copied().flatten(), rest])
    }
    fn call(&self, x: &Tensor, _ctx: &mut CallContext) -> Result<Tensor> {
        let n = x.shape().first().copied().unwrap_or(1);
        let rest: usize = x.shape().iter().skip(1).product();
        Ok(x.reshape([n, rest])?)
    }
    fn get_config(&self) -> Value {
        let mut m = self.base.base_config();
        m.insert("data_format".into(), json!("channels_last"));
        Value::Object(m)
    }
}
