//! `TimeDistributed`: applies a layer to every timestep.

use serde_json::Value;

use crate::layers::layer::{shape_str, CallContext, Layer, LayerBase, Shape};
use crate::{keras_bail, Result, Tensor};

/// Applies the wrapped layer to every temporal slice of a `(batch, time, ...)` input (Keras
/// `keras.layers.TimeDistributed`), sharing its weights over time.
///
/// ```
/// use keras::layers::{Dense, Layer, TimeDistributed};
/// let mut td = TimeDistributed::new(Dense::new(8));
/// td.build(&[None, Some(10), Some(16)]).unwrap();
/// assert_eq!(td.compute_output_shape(&[None, Some(10), Some(16)]).unwrap(), vec![None, Some(10), Some(8)]);
/// ```
pub struct TimeDistributed {
    base: LayerBase,
    layer: Box<dyn Layer>,
}

impl TimeDistributed {
    /// Wraps `layer`.
    pub fn new<L: Layer>(layer: L) -> Self {
        Self::from_boxed(Box::new(layer))
    }

    /// Wraps an already boxed layer.
    pub fn from_boxed(layer: Box<dyn Layer>) -> Self {
        let mut base = LayerBase::new("time_distributed");
        if let Err(e) = crate::layers::layer::check_pending(layer.as_ref()) {
            base.fail(e);
        }
        TimeDistributed { base, layer }
    }

    crate::layers::builders::base_builders!();

    /// The wrapped layer.
    pub fn layer(&self) -> &dyn Layer {
        self.layer.as_ref()
    }

    /// Rebuilds the wrapper from its Keras config.
    pub fn from_config(cfg: &Value) -> Result<Self> {
        let inner = crate::layers::reshaping::args::required(cfg, "layer", "TimeDistributed")?;
        let mut td = TimeDistributed::from_boxed(crate::layers::deserialize(inner)?);
        td.base.apply_config(cfg);
        Ok(td)
    }

    fn check_rank(&self, input_shape: &[Option<usize>]) -> Result<()> {
        if input_shape.len() < 3 {
            keras_bail!(
                Shape,
                "`TimeDistributed` Layer should be passed an `input_shape` with at least 3 dimensions, received: {}",
                shape_str(input_shape)
            );
        }
        Ok(())
    }
}

impl Layer for TimeDistributed {
    crate::layers::layer::layer_base_methods!("TimeDistributed");

    fn build(&mut self, input_shape: &[Option<usize>]) -> Result<()> {
        // A builder error also stops a direct build (not only `Sequential::add`).
        crate::layers::layer::check_pending(self)?;
        self.check_rank(input_shape)?;
        let mut child = vec![input_shape[0]];
        child.extend_from_slice(&input_shape[2..]);
        self.layer.build(&child)?;
        self.base.build_input_shape = Some(input_shape.to_vec());
        self.base.built = true;
        crate::layers::assign_paths(self, "");
        Ok(())
    }

    fn compute_output_shape(&self, input_shape: &[Option<usize>]) -> Result<Shape> {
        self.check_rank(input_shape)?;
        let mut child = vec![input_shape[0]];
        child.extend_from_slice(&input_shape[2..]);
        let out = self.layer.compute_output_shape(&child)?;
        let mut s = vec![input_shape[0], input_shape[1]];
        s.extend_from_slice(&out[1..]);
        Ok(s)
    }

    fn call(&self, x: &Tensor, ctx: &mut CallContext) -> Result<Tensor> {
        let shape = x.shape();
        if shape.len() < 3 {
            keras_bail!(
                Shape,
                "Layer {} expects inputs of rank >= 3 (batch, time, ...), received shape {shape:?}",
                self.base.name
            );
        }
        let (b, t) = (shape[0], shape[1]);
        let mut flat = vec![b * t];
        flat.extend_from_slice(&shape[2..]);
        let y = self.layer.call(&x.reshape(flat)?, ctx)?;
        let mut out = vec![b, t];
        out.extend_from_slice(&y.shape()[1..]);
        Ok(y.reshape(out)?)
    }

    fn compute_mask(&self, _x: &Tensor, mask: Option<&Tensor>) -> Result<Option<Tensor>> {
        Ok(mask.cloned())
    }

    crate::sublayers!(layer);

    fn get_config(&self) -> Value {
        let mut m = self.base.base_config();
        m.insert("layer".into(), self.layer.serialize());
        Value::Object(m)
    }
}
