//! The class registry open to user layers (Keras `keras.saving.register_keras_serializable`).
//!
//! A registered layer is saved as Keras saves a registered class (`"module"`, `"class_name"`,
//! `"registered_name": "package>name"`) and rebuilt from its config by the function given at
//! registration, so a model file holding user layers loads back, in keras-rs and in Python
//! Keras with the same class registered. The registry is process-wide, like Keras's
//! `GLOBAL_CUSTOM_OBJECTS`.

use std::any::TypeId;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};

use serde_json::Value;

use crate::layers::{Layer, RnnCell};
use crate::{keras_bail, Result};

type FromConfig = Arc<dyn Fn(&Value) -> Result<Box<dyn Layer>> + Send + Sync>;
type CellFromConfig = Arc<dyn Fn(&Value) -> Result<Box<dyn RnnCell>> + Send + Sync>;

#[derive(Clone)]
struct Entry {
    registered_name: String,
    module: String,
    from_config: FromConfig,
}

#[derive(Default)]
struct Registry {
    by_name: HashMap<String, Entry>,
    by_type: HashMap<TypeId, String>,
    /// Registered classes that are RNN cells, rebuilt as cells (`RNN(cell=...)`).
    cells: HashMap<String, CellFromConfig>,
}

fn registry() -> &'static RwLock<Registry> {
    static R: OnceLock<RwLock<Registry>> = OnceLock::new();
    R.get_or_init(Default::default)
}

/// The Python-style module of a Rust type: its path without the type name, `.`-separated
/// (`my_crate::layers::Scale` -> `my_crate.layers`).
fn module_of(type_name: &str) -> String {
    let path = type_name.split('<').next().unwrap_or(type_name);
    match path.rsplit_once("::") {
        Some((module, _)) => module.replace("::", "."),
        None => "builtins".to_string(),
    }
}

fn short_name(type_name: &str) -> &str {
    let path = type_name.split('<').next().unwrap_or(type_name);
    path.rsplit("::").next().unwrap_or(path)
}

/// Registers the user layer `L` under `"package>name"` (Keras
/// `@keras.saving.register_keras_serializable(package, name)`), with the function that
/// rebuilds it from its `get_config()`. `name` defaults to the type's name (`Scale` for
/// `my_crate::Scale`), as Keras defaults to the class name. Registering a name again
/// replaces the earlier class, as in Keras. Returns the registered name.
///
/// The config given to `from_config` is the one the layer's [`Layer::get_config`] wrote
/// (read `name` and `trainable` back with [`crate::layers::LayerBase::apply_config`]).
///
/// ```
/// use keras::layers::{CallContext, Layer, LayerBase, Shape};
/// use keras::saving::register_keras_serializable;
/// use keras::{Result, Tensor};
/// use serde_json::{json, Value};
///
/// struct Double {
///     base: LayerBase,
/// }
///
/// impl Double {
///     fn from_config(cfg: &Value) -> Result<Self> {
///         let mut base = LayerBase::new("double");
///         base.apply_config(cfg);
///         Ok(Double { base })
///     }
/// }
///
/// impl Layer for Double {
///     fn class_name(&self) -> &'static str { "Double" }
///     fn base(&self) -> &LayerBase { &self.base }
///     fn base_mut(&mut self) -> &mut LayerBase { &mut self.base }
///     fn as_any(&self) -> &dyn std::any::Any { self }
///     fn compute_output_shape(&self, s: &[Option<usize>]) -> Result<Shape> { Ok(s.to_vec()) }
///     fn call(&self, x: &Tensor, _: &mut CallContext) -> Result<Tensor> { Ok(keras::ops::scale(x, 2.0)?) }
///     fn get_config(&self) -> Value { Value::Object(self.base.base_config()) }
/// }
///
/// assert_eq!(register_keras_serializable("my_package", None, Double::from_config), "my_package>Double");
/// let saved = Double::from_config(&json!({"name": "twice"})).unwrap().serialize();
/// assert_eq!(saved["registered_name"], "my_package>Double");
/// let restored = keras::layers::deserialize(&saved).unwrap();
/// assert_eq!(restored.name(), "twice");
/// ```
pub fn register_keras_serializable<L: Layer>(
    package: &str,
    name: Option<&str>,
    from_config: fn(&Value) -> Result<L>,
) -> String {
    let type_name = std::any::type_name::<L>();
    let class = name.unwrap_or_else(|| short_name(type_name));
    let registered_name = format!("{package}>{class}");
    let entry = Entry {
        registered_name: registered_name.clone(),
        module: module_of(type_name),
        from_config: Arc::new(move |cfg| Ok(Box::new(from_config(cfg)?) as Box<dyn Layer>)),
    };
    let mut r = registry().write().unwrap_or_else(|e| e.into_inner());
    if let Some(old) = r.by_type.insert(TypeId::of::<L>(), registered_name.clone()) {
        if old != registered_name {
            r.by_name.remove(&old);
        }
    }
    r.by_type.retain(|t, n| *n != registered_name || *t == TypeId::of::<L>());
    r.by_name.insert(registered_name.clone(), entry);
    r.cells.remove(&registered_name);
    registered_name
}

/// Registers the user RNN cell `C` (a [`RnnCell`]) under `"package>name"`, as
/// [`register_keras_serializable`] registers a layer (Keras registers a cell class with the same
/// `@register_keras_serializable`): a model whose `RNN` (or `StackedRNNCells`) holds the cell
/// then saves it with its registered name and loads it back through `from_config`. Returns the
/// registered name. See [`RnnCell`] for a whole cell.
pub fn register_rnn_cell<C: RnnCell>(
    package: &str,
    name: Option<&str>,
    from_config: fn(&Value) -> Result<C>,
) -> String {
    let registered_name = register_keras_serializable(package, name, from_config);
    let mut r = registry().write().unwrap_or_else(|e| e.into_inner());
    r.cells.insert(
        registered_name.clone(),
        Arc::new(move |cfg| Ok(Box::new(from_config(cfg)?) as Box<dyn RnnCell>)),
    );
    registered_name
}

/// Rebuilds a cell registered with [`register_rnn_cell`]; `None` when no cell is registered
/// under that name.
pub(crate) fn deserialize_registered_cell(
    registered_name: &str,
    config: &Value,
) -> Option<Result<Box<dyn RnnCell>>> {
    let f = {
        let r = registry().read().unwrap_or_else(|e| e.into_inner());
        r.cells.get(registered_name)?.clone()
    };
    Some(f(config))
}

/// The registered name of a layer's class (`"package>name"`), or `None` when its class was
/// not registered (Keras `get_registered_name` returns the class name then).
pub fn get_registered_name(layer: &dyn Layer) -> Option<String> {
    let r = registry().read().unwrap_or_else(|e| e.into_inner());
    r.by_type.get(&layer.as_any().type_id()).cloned()
}

/// Whether a class is registered under `registered_name`.
pub fn is_registered(registered_name: &str) -> bool {
    registry().read().unwrap_or_else(|e| e.into_inner()).by_name.contains_key(registered_name)
}

/// `(module, registered_name)` of a registered layer class (by its `TypeId`), for its
/// serialized form.
pub(crate) fn serialized_names(type_id: TypeId) -> Option<(String, String)> {
    let r = registry().read().unwrap_or_else(|e| e.into_inner());
    let name = r.by_type.get(&type_id)?;
    let e = r.by_name.get(name)?;
    Some((e.module.clone(), e.registered_name.clone()))
}

/// The module a layer written outside keras-rs reports when its class is not registered
/// (Python writes `cls.__module__`).
pub(crate) fn module_of_type(type_name: &str) -> String {
    module_of(type_name)
}

/// Rebuilds a registered layer from `registered_name` and its config; `None` when nothing
/// is registered under that name.
pub(crate) fn deserialize_registered(
    registered_name: &str,
    config: &Value,
) -> Option<Result<Box<dyn Layer>>> {
    let f = {
        let r = registry().read().unwrap_or_else(|e| e.into_inner());
        r.by_name.get(registered_name)?.from_config.clone()
    };
    // The registry lock is released: a user `from_config` may deserialize nested layers.
    Some(f(config))
}

/// Keras's error for a class that is neither built in nor registered.
pub(crate) fn could_not_locate(class: &str, full_config: &Value) -> Result<Box<dyn Layer>> {
    keras_bail!(
        Config,
        "Could not locate class '{class}'. Make sure custom classes and functions are decorated with \
         `@keras.saving.register_keras_serializable()`. If they are already decorated, make sure they are all \
         imported so that the decorator is run before trying to load them. Full object config: {full_config}"
    )
}

/// Keras's error (legacy `.h5` configs) for a layer class it cannot find.
pub(crate) fn unknown_legacy_layer(class: &str) -> Result<Box<dyn Layer>> {
    keras_bail!(
        Config,
        "Unknown layer: '{class}'. Please ensure you are using a `keras.utils.custom_object_scope` and that \
         this object is included in the scope. See \
         https://www.tensorflow.org/guide/keras/save_and_serialize#registering_the_custom_object for details."
    )
}
