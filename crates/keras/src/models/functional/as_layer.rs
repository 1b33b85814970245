//! A Functional model used as a layer of another model (Keras: models nest).

use std::any::Any;

use serde_json::Value;

use super::config;
use super::graph::{trainable_flags, Graph};
use crate::layers::{CallContext, Layer, LayerBase, Shape, Variable};
use crate::{keras_bail, Result, Tensor};

/// A Functional model's graph is a layer of other models (Keras: models nest). The
/// compile state stays with the [`super::Functional`] (Keras ignores a nested model's).
impl Layer for Graph {
    fn class_name(&self) -> &'static str {
        "Functional"
    }
    fn base(&self) -> &LayerBase {
        &self.base
    }
    fn base_mut(&mut self) -> &mut LayerBase {
        &mut self.base
    }
    fn build(&mut self, _input_shape: &[Option<usize>]) -> Result<()> {
        Ok(())
    }
    fn build_multi(&mut self, _input_shapes: &[Shape]) -> Result<()> {
        Ok(())
    }
    fn compute_output_shape(&self, input_shape: &[Option<usize>]) -> Result<Shape> {
        Ok(self.compute_output_shapes(&[input_shape.to_vec()])?.remove(0))
    }
    fn compute_output_shapes(&self, input_shapes: &[Shape]) -> Result<Vec<Shape>> {
        let expected = self.input_shapes();
        self.check_input_count(input_shapes.len())?;
        for (i, (got, want)) in input_shapes.iter().zip(&expected).enumerate() {
            let ok = got.len() == want.len()
                && got.iter().zip(want).skip(1).all(|(g, w)| w.is_none() || g.is_none() || g == w);
            if !ok {
                keras_bail!(
                    Shape,
                    "Input {i} of layer \"{}\" is incompatible with the layer: expected shape={}, found shape={}",
                    self.name(),
                    crate::layers::layer::shape_str(want),
                    crate::layers::layer::shape_str(got)
                );
            }
        }
        let batch = input_shapes.first().and_then(|s| s.first().copied()).flatten();
        Ok(self
            .output_shapes()
            .into_iter()
            .map(|mut s| {
                if let Some(d) = s.first_mut() {
                    *d = batch;
                }
                s
            })
            .collect())
    }
    fn call(&self, x: &Tensor, ctx: &mut CallContext) -> Result<Tensor> {
        Ok(self.run(std::slice::from_ref(x), &[], ctx)?.0.remove(0))
    }
    fn call_outputs(&self, x: &Tensor, mask: Option<&Tensor>, ctx: &mut CallContext) -> Result<Vec<Tensor>> {
        Ok(self.run(std::slice::from_ref(x), &[mask.cloned()], ctx)?.0)
    }
    fn call_multi(
        &self,
        inputs: &[Tensor],
        masks: &[Option<Tensor>],
        ctx: &mut CallContext,
    ) -> Result<Vec<Tensor>> {
        Ok(self.run(inputs, masks, ctx)?.0)
    }
    fn compute_mask(&self, x: &Tensor, mask: Option<&Tensor>) -> Result<Option<Tensor>> {
        Ok(self.compute_masks(std::slice::from_ref(x), &[mask.cloned()])?.remove(0))
    }
    fn compute_masks(&self, inputs: &[Tensor], masks: &[Option<Tensor>]) -> Result<Vec<Option<Tensor>>> {
        // The masks come out of a forward pass in inference mode (Keras computes them the
        // same way, through the graph).
        let mut ctx = CallContext::new(false);
        Ok(self.run(inputs, masks, &mut ctx)?.1)
    }
    fn takes_list(&self) -> bool {
        self.inputs.len() > 1
    }
    fn weights(&self) -> Vec<&Variable> {
        Graph::weights(self)
    }
    fn weights_mut(&mut self) -> Vec<&mut Variable> {
        self.layers.iter_mut().flat_map(|l| l.weights_mut()).collect()
    }
    fn before_training_step(&mut self) -> Result<()> {
        self.layers.iter_mut().try_for_each(|l| l.before_training_step())
    }
    fn trainable_weights(&self) -> Vec<&Variable> {
        let mut flags = Vec::new();
        for l in &self.layers {
            trainable_flags(l.as_ref(), self.base.trainable, &mut flags);
        }
        Graph::weights(self).into_iter().zip(flags).filter(|(_, t)| *t).map(|(w, _)| w).collect()
    }
    fn set_trainable(&mut self, trainable: bool) {
        self.base.trainable = trainable;
        for l in self.layers.iter_mut() {
            l.set_trainable(trainable);
        }
    }
    fn regularization_losses(&self) -> Result<Vec<Tensor>> {
        let mut out = Vec::new();
        if self.trainable() {
            for l in &self.layers {
                out.extend(l.regularization_losses()?);
            }
        }
        Ok(out)
    }
    fn get_config(&self) -> Value {
        config::get_config(self)
    }
    fn serialize(&self) -> Value {
        config::serialize(self)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
