//! `Identity`: returns its inputs unchanged (Keras uses it where a model needs a layer that does nothing).

use serde_json::Value;

use crate::layers::layer::{CallContext, Layer, LayerBase, Shape};
use crate::layers::reshaping::args::layer_common;
use crate::{Result, Tensor};

/// Keras `keras.layers.Identity`: the output is the input (every input of a list, each with
/// its mask), so a model can keep a slot where no operation happens.
///
/// ```
/// use keras::layers::{CallContext, Identity, Layer};
/// use keras::Tensor;
/// let x = Tensor::new(vec![1.0, -2.0], [1, 2]).unwrap();
/// let y = Identity::new().call(&x, &mut CallContext::new(false)).unwrap();
/// assert_eq!(y.to_f32_vec(), vec![1.0, -2.0]);
/// ```
pub struct Identity {
    base: LayerBase,
}

impl Default for Identity {
    fn default() -> Self {
        Self::new()
    }
}

impl Identity {
    /// An Identity layer.
    pub fn new() -> Self {
        Identity { base: LayerBase::new("identity") }
    }

    crate::layers::builders::base_builders!();

    /// Rebuilds from a Keras config.
    pub fn from_config(cfg: &Value) -> Result<Self> {
        let mut l = Identity::new();
        l.base.apply_config(cfg);
        Ok(l)
    }
}

impl Layer for Identity {
    // Keras builds it at `__init__`, so a saved model records no build_config.
    layer_common!("Identity", false, same_shape, passes_mask);

    fn call(&self, x: &Tensor, _ctx: &mut CallContext) -> Result<Tensor> {
        Ok(x.clone())
    }

    fn call_multi(
        &self,
        inputs: &[Tensor],
        _masks: &[Option<Tensor>],
        _ctx: &mut CallContext,
    ) -> Result<Vec<Tensor>> {
        Ok(inputs.to_vec())
    }

    fn build_multi(&mut self, input_shapes: &[Shape]) -> Result<()> {
        if let [s] = input_shapes {
            return self.build(s);
        }
        self.base.built = true;
        Ok(())
    }

    fn compute_output_shapes(&self, input_shapes: &[Shape]) -> Result<Vec<Shape>> {
        Ok(input_shapes.to_vec())
    }

    fn compute_masks(&self, _inputs: &[Tensor], masks: &[Option<Tensor>]) -> Result<Vec<Option<Tensor>>> {
        Ok(masks.to_vec())
    }

    fn get_config(&self) -> Value {
        Value::Object(self.base.base_config())
    }
}
