//! Layers that Keras defines inside its application sources rather than in `keras.layers`
//! (`keras/src/applications/convnext.py`, `inception_resnet_v2.py`). Saved application
//! models name them with the application module and a `registered_name`, so they serialize
//! the same way here and the registry loads them by class name.
//!
//! Submodules:
//! - `custom_scale_layer`: `CustomScaleLayer` (InceptionResNetV2)
//! - `layer_scale`: `LayerScale` (ConvNeXt)
//! - `stochastic_depth`: `StochasticDepth` (ConvNeXt)

mod custom_scale_layer;
mod layer_scale;
mod stochastic_depth;

pub use custom_scale_layer::CustomScaleLayer;
pub use layer_scale::LayerScale;
pub use stochastic_depth::StochasticDepth;

use serde_json::{json, Map, Value};

use crate::layers::layer::Layer;

/// The serialized form of an application-defined layer: its Python module and
/// `registered_name` as Keras writes them.
pub(crate) fn serialize_app_layer(layer: &dyn Layer, module: &str) -> Value {
    let mut m = Map::new();
    m.insert("module".into(), json!(module));
    m.insert("class_name".into(), json!(layer.class_name()));
    m.insert("config".into(), layer.get_config());
    m.insert("registered_name".into(), json!(layer.class_name()));
    if let Some(shape) = &layer.base().build_input_shape {
        if layer.records_build_config() {
            m.insert("build_config".into(), json!({ "input_shape": shape }));
        }
    }
    Value::Object(m)
}
