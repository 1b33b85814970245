//! `Pipeline`: a list of layers applied in order, as one layer.

use serde_json::{json, Value};

use crate::layers::layer::{CallContext, Layer, LayerBase, Shape};
use crate::{keras_bail, Result, Tensor};

/// Keras `keras.layers.Pipeline`: applies its layers in order (each with the call's
/// `training`), typically an image augmentation pipeline. It is a plain layer, not a model:
/// its config is `{"layers": [serialized layers], "name": ...}` and the layers' weights are
/// saved under `layers/<layer>` as Keras saves them.
///
/// ```
/// use keras::layers::{AutoContrast, CallContext, Layer, Pipeline, RandomFlip, Rescaling};
/// let p = Pipeline::new(vec![Box::new(AutoContrast::new()), Box::new(Rescaling::new(1.0 / 255.0))]);
/// let x = keras::Tensor::new(vec![10.0, 20.0, 30.0, 50.0], [1, 2, 2, 1]).unwrap();
/// let y = p.call(&x, &mut CallContext::new(false)).unwrap().to_f32_vec();
/// assert_eq!((y[0], y[3]), (0.0, 1.0));
/// assert_eq!(p.layers().len(), 2);
/// assert_eq!(p.get_config()["layers"][1]["class_name"], "Rescaling");
/// ```
pub struct Pipeline {
    base: LayerBase,
    layers: Vec<Box<dyn Layer>>,
}

impl Pipeline {
    /// The layers, applied in order.
    pub fn new(layers: Vec<Box<dyn Layer>>) -> Self {
        Pipeline { base: LayerBase::new("pipeline"), layers }
    }

    /// The layers of the pipeline (Keras's `layers` property).
    pub fn layers(&self) -> &[Box<dyn Layer>] {
        &self.layers
    }

    crate::layers::builders::name_builder!();

    /// Rebuilds from a Keras config: `layers` must be a list of serialized layers.
    pub fn from_config(cfg: &Value) -> Result<Self> {
        let Some(items) = cfg.get("layers").and_then(Value::as_array) else {
            keras_bail!(
                Config,
                "`Pipeline` config must contain a `layers` key mapping to a list of serialized layers. \
                 Received config with layers={}.",
                cfg.get("layers").map_or("None".to_string(), |v| v.to_string())
            );
        };
        let layers = items.iter().map(crate::layers::deserialize).collect::<Result<Vec<_>>>()?;
        let mut l = Pipeline::new(layers);
        if let Some(name) = cfg.get("name").and_then(Value::as_str) {
            l.base.rename(name);
        }
        Ok(l)
    }
}

impl Layer for Pipeline {
    crate::layers::layer::layer_base_methods!("Pipeline");
    fn build(&mut self, input_shape: &[Option<usize>]) -> Result<()> {
        let mut s = input_shape.to_vec();
        for l in &mut self.layers {
            if !l.built() {
                l.build(&s)?;
            }
            s = l.compute_output_shape(&s)?;
        }
        self.base.built = true;
        self.base.build_input_shape = Some(input_shape.to_vec());
        Ok(())
    }
    fn compute_output_shape(&self, s: &[Option<usize>]) -> Result<Shape> {
        self.layers.iter().try_fold(s.to_vec(), |s, l| l.compute_output_shape(&s))
    }
    fn call(&self, x: &Tensor, ctx: &mut CallContext) -> Result<Tensor> {
        let mut y = x.clone();
        for l in &self.layers {
            y = l.call(&y, ctx)?;
        }
        Ok(y)
    }
    crate::sublayers!([layers]);
    fn get_config(&self) -> Value {
        let layers: Vec<Value> = self.layers.iter().map(|l| l.serialize()).collect();
        json!({"layers": layers, "name": self.base.name})
    }
}
