//! `CustomScaleLayer` (InceptionResNetV2): `inputs[0] + inputs[1] * scale`.

use serde_json::Value;

use crate::layers::layer::{CallContext, Layer, LayerBase, Shape};
use crate::layers::layer_args::{LayerArgs, LayerCfg};
use crate::layers::merging::base_merge::{elementwise_output_shape, not_a_list};
use crate::utils::config_args::config_args;
use crate::{keras_bail, ops, Result, Tensor};

/// Keras's InceptionResNetV2 `CustomScaleLayer(scale)`: called on `[shortcut, residual]`,
/// returns `shortcut + residual * scale`.
pub struct CustomScaleLayer {
    base: LayerBase,
    args: CustomScaleLayerArgs,
    build_shapes: Option<Vec<Shape>>,
}

config_args! {
    /// CustomScaleLayer's Keras arguments.
    pub(crate) struct CustomScaleLayerArgs, family LayerArgs {
        scale: f32,
    }
}

impl CustomScaleLayer {
    /// The residual scale.
    pub fn new(scale: f32) -> Self {
        CustomScaleLayer {
            base: LayerBase::new("custom_scale_layer"),
            args: CustomScaleLayerArgs { scale },
            build_shapes: None,
        }
    }

    crate::layers::builders::name_builder!();

    /// Rebuilds from a Keras config.
    pub fn from_config(cfg: &Value) -> Result<Self> {
        let args = CustomScaleLayerArgs::read_args(&mut LayerCfg::new(cfg, "CustomScaleLayer"))?;
        let mut l = CustomScaleLayer::new(args.scale);
        l.base.apply_config(cfg);
        Ok(l)
    }

    fn output_shape(&self, shapes: &[Shape]) -> Result<Shape> {
        if shapes.len() != 2 {
            keras_bail!(
                InvalidArgument,
                "Layer \"{}\" expects 2 inputs ([shortcut, residual]), but it received {} input tensors",
                self.base.name,
                shapes.len()
            );
        }
        elementwise_output_shape(shapes)
    }
}

impl Layer for CustomScaleLayer {
    crate::layers::layer::layer_base_methods!("CustomScaleLayer");
    fn takes_list(&self) -> bool {
        true
    }
    fn compute_output_shape(&self, _s: &[Option<usize>]) -> Result<Shape> {
        not_a_list("CustomScaleLayer")
    }
    fn call(&self, _x: &Tensor, _ctx: &mut CallContext) -> Result<Tensor> {
        not_a_list("CustomScaleLayer")
    }
    fn build_multi(&mut self, shapes: &[Shape]) -> Result<()> {
        self.output_shape(shapes)?;
        self.build_shapes = Some(shapes.to_vec());
        self.base.built = true;
        Ok(())
    }
    fn compute_output_shapes(&self, shapes: &[Shape]) -> Result<Vec<Shape>> {
        Ok(vec![self.output_shape(shapes)?])
    }
    fn call_multi(
        &self,
        inputs: &[Tensor],
        _masks: &[Option<Tensor>],
        _ctx: &mut CallContext,
    ) -> Result<Vec<Tensor>> {
        let shapes: Vec<Shape> = inputs.iter().map(crate::layers::merging::base_merge::known).collect();
        self.output_shape(&shapes)?;
        Ok(vec![ops::add(&inputs[0], &ops::mul(&inputs[1], &Tensor::scalar(self.args.scale))?)?])
    }
    fn compute_masks(&self, inputs: &[Tensor], _masks: &[Option<Tensor>]) -> Result<Vec<Option<Tensor>>> {
        let _ = inputs;
        Ok(vec![None])
    }
    crate::layers::reshaping::args::layer_common!(@args_config);
    fn serialize(&self) -> Value {
        let mut v = super::serialize_app_layer(self, "keras.src.applications.inception_resnet_v2");
        if let (Some(shapes), Value::Object(m)) = (&self.build_shapes, &mut v) {
            m.insert("build_config".into(), serde_json::json!({ "input_shape": shapes }));
        }
        v
    }
}
