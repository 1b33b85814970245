//! Saving and loading Functional models: `.keras` (config with `inbound_nodes`, Keras 3
//! weights layout with nested models under `layers/<class>/layers/...`), legacy `.h5`
//! (Keras 3 and tf.keras 2.x configs, `model_weights/<layer>/...`) and `.weights.h5`.

use std::path::Path;

use serde_json::Value;

use super::compile_config::{compile_config, compile_functional_from_config};
use super::h5::{self, Reader};
use super::layout::{layer_groups, unique, VarGroup};
use super::legacy_h5::{
    join, legacy_model_json, model_from_root, model_root, set_list_attr, set_version_attrs, trainable_first,
    training_config_attr,
};
use super::weights_h5::{self, to_tree, WeightsTarget};
use super::zip::Archive;
use super::{atomic, ends_with, limits, load_by_extension, path_str, shielded, warn, with_file};
use crate::backend::to_snake_case;
use crate::layers::Layer;
use crate::layers::Variable;
use crate::models::functional::graph::trainable_flags;
use crate::models::Functional;
use crate::trainers::Compiled;
use crate::{keras_bail, Result, Tensor};

/// The layers Keras's saving walks for a model: a Functional model's `layers` (input
/// layers included, operations left out), a Sequential model's (no input layer).
fn model_layers(layer: &dyn Layer) -> Option<Vec<&dyn Layer>> {
    let inner = crate::models::functional::graph::nested_layers(layer)?;
    Some(inner.into_iter().filter(|l| !crate::models::functional::ops::is_op_layer(*l)).collect())
}

/// The variable groups of a model's `layers` under `prefix` (`layers`, or
/// `layers/functional/layers` for a nested model).
fn layers_groups(layers: &[&dyn Layer], prefix: &str, mut offset: usize, out: &mut Vec<VarGroup>) {
    let mut used = std::collections::HashMap::new();
    for &layer in layers {
        let key = unique(to_snake_case(layer.class_name()), &mut used);
        let path = format!("{prefix}/{key}");
        let n = layer.weights().len();
        if let Some(inner) = model_layers(layer) {
            out.push(VarGroup {
                path: format!("{path}/vars"),
                name: layer.name().to_string(),
                weights: vec![],
            });
            layers_groups(&inner, &format!("{path}/layers"), offset, out);
        } else {
            layer_groups(layer, &path, offset, out);
        }
        offset += n;
    }
}

/// Every variable group of a Functional model (without the optimizer), in save order.
pub(crate) fn model_groups(model: &Functional) -> Vec<VarGroup> {
    let mut out = vec![VarGroup { path: "vars".into(), name: model.name().to_string(), weights: vec![] }];
    layers_groups(&model.layers(), "layers", 0, &mut out);
    out
}

impl WeightsTarget for Functional {
    fn var_groups(&self) -> Vec<VarGroup> {
        model_groups(self)
    }
    fn all_weights(&self) -> Vec<&Variable> {
        self.weights()
    }
    fn compile_state(&self) -> Option<&Compiled> {
        Functional::compile_state(self)
    }
    fn compile_state_mut(&mut self) -> Option<&mut Compiled> {
        Functional::compile_state_mut(self)
    }
    fn assign_weights(&mut self, values: Vec<(usize, Tensor)>) -> Result<()> {
        Functional::assign_weights(self, values)
    }
}

/// Reads the Keras 3 weights tree into `model` ([`weights_h5::load_tree`] without
/// `skip_mismatch`): everything is read and checked, then assigned (the optimizer state too,
/// when compiled and of the same size).
fn load_tree(model: &mut Functional, r: &Reader) -> Result<()> {
    weights_h5::load_tree(model, r, false)
}

/// `serialize_keras_object(model)` with its compile config.
pub(crate) fn model_json(model: &Functional) -> Value {
    let mut v = crate::models::functional::config::serialize(&model.graph);
    if let Some(c) = model.compile_state() {
        v["compile_config"] = compile_config(c);
    }
    v
}

/// Rebuilds a model from a serialized Functional (or Sequential, turned into a graph)
/// config, bounding each layer's parameters by the weights file size.
pub(crate) fn model_from_config_checked(cfg: &Value, weights_bytes: usize) -> Result<Functional> {
    let class = cfg.get("class_name").and_then(Value::as_str).unwrap_or("");
    if class == "Sequential" {
        return Functional::from_sequential(super::model_from_config_checked(cfg, weights_bytes)?);
    }
    if !crate::models::functional::is_functional_class(class) {
        keras_bail!(
            Config,
            "Could not locate class '{}'. Make sure custom classes are registered: this file holds a model of a \
             class keras-rs does not know.",
            if class.is_empty() { "unknown" } else { class }
        );
    }
    let inner = limits::checked_model_config(cfg)?;
    let mut budget = limits::ParamBudget::new(weights_bytes);
    crate::models::functional::config::from_config_with(inner, &mut |layer, shapes| {
        for s in shapes {
            limits::check_shape(s)?;
        }
        match shapes.first() {
            Some(s) => budget.take(layer, s),
            None => Ok(()),
        }
    })
}

fn keras_to_bytes(model: &Functional) -> Result<Vec<u8>> {
    let weights = to_tree(model).to_bytes()?;
    super::keras_zip::archive_bytes(&model_json(model), &weights, &model.layers())
}

/// Compiles a loaded model from its saved compile config (losses, loss weights and metrics
/// per output included). A config keras-rs cannot apply leaves the model uncompiled, with a
/// warning: the architecture and weights still load, so it predicts.
fn compile_loaded(model: &mut Functional, cc: &Value) -> Result<()> {
    if let Err(e) = compile_functional_from_config(model, cc) {
        model.clear_compile_state();
        warn(format!(
            "The saved compile config could not be applied ({e}); the model is loaded uncompiled. Compile it \
             manually to train it."
        ));
    }
    Ok(())
}

pub(crate) fn keras_from_bytes(bytes: &[u8], compile: bool) -> Result<Functional> {
    let zip = Archive::new(bytes)?;
    let cfg = Value::Object(super::keras_zip::read_config(&zip)?);
    if !zip.contains("model.weights.h5") {
        keras_bail!(Io, "Expected a model.weights.h5 file in the archive.");
    }
    let weights = zip.read("model.weights.h5", h5::usize_limit(h5::MAX_FILE_BYTES))?;
    let reader = Reader::from_bytes(weights, "model.weights.h5")?;
    let mut model = model_from_config_checked(&cfg, reader.len())?;
    if compile {
        if let Some(cc) = cfg.get("compile_config").filter(|c| !c.is_null()) {
            compile_loaded(&mut model, cc)?;
        }
    }
    load_tree(&mut model, &reader)?;
    let names: Vec<String> = model.layers().iter().map(|l| l.name().to_string()).collect();
    for name in names {
        let read = super::assets::reader(&zip, &name);
        model.get_layer_mut(&name)?.load_assets(&read)?;
    }
    Ok(model)
}

/// Keras `_legacy_weights` of a layer: its trainable weights first, then the others, as
/// indices into `layer.weights()` (nested models by their own layers' flags).
fn legacy_order(layer: &dyn Layer) -> Vec<usize> {
    let mut flags = Vec::new();
    trainable_flags(layer, true, &mut flags);
    trainable_first(&flags)
}

/// The legacy `model_config`: layers without `module` / `registered_name` / `build_config`.
fn legacy_model_config(model: &Functional) -> Value {
    legacy_model_json("Functional", model.get_config(), false)
}

/// The name a weight gets in a legacy file: its path, under the nested model's name for a
/// nested model's weights.
fn legacy_weight_names(layer: &dyn Layer) -> Vec<String> {
    let nested = model_layers(layer).is_some();
    layer
        .weights()
        .iter()
        .map(|w| if nested { format!("{}/{}", layer.name(), w.path()) } else { w.path().to_string() })
        .collect()
}

fn h5_to_bytes(model: &Functional) -> Result<Vec<u8>> {
    let mut root = model_root(&legacy_model_config(model), model.compile_state());
    let g = root.group("model_weights");
    let layers = model.layers();
    let names: Vec<String> = layers.iter().map(|l| l.name().to_string()).collect();
    set_list_attr(g, "layer_names", &names)?;
    set_version_attrs(g);
    for layer in &layers {
        let ws = layer.weights();
        let all = legacy_weight_names(*layer);
        let order = legacy_order(*layer);
        let wnames: Vec<String> = order.iter().map(|&i| all[i].clone()).collect();
        let lg = g.group(layer.name());
        set_list_attr(lg, "weight_names", &wnames)?;
        for (name, &i) in wnames.iter().zip(&order) {
            lg.dataset(name, ws[i].value());
        }
    }
    set_list_attr(g.group("top_level_model_weights"), "weight_names", &[])?;
    if let Some(c) = model.compile_state() {
        let vars = c.optimizer.variables();
        if !vars.is_empty() {
            let names: Vec<String> = vars.iter().map(|(p, _)| p.clone()).collect();
            let og = root.group("optimizer_weights");
            set_list_attr(og, "weight_names", &names)?;
            for (name, (_, value)) in names.iter().zip(&vars) {
                og.dataset(name, value);
            }
        }
    }
    root.to_bytes()
}

/// Keras `load_weights_from_hdf5_group`: layers with weights matched by name when every
/// one of the model's is in the file, else by position; each layer's values in its legacy
/// order, shapes checked. Everything is read before anything is assigned.
fn load_legacy_group(model: &mut Functional, r: &Reader, group: &str) -> Result<()> {
    let file_layers = r.string_list_attr(group, "layer_names")?.unwrap_or_default();
    let mut saved: Vec<(String, Vec<String>)> = Vec::new();
    for n in &file_layers {
        let w = r.string_list_attr(&join(group, n), "weight_names")?.unwrap_or_default();
        if !w.is_empty() {
            saved.push((n.clone(), w));
        }
    }
    let mut slots: Vec<(String, Vec<usize>, Vec<Vec<usize>>)> = Vec::new();
    let mut offset = 0;
    for l in model.layers() {
        let ws = l.weights();
        if !ws.is_empty() {
            let order = legacy_order(l);
            let shapes = order.iter().map(|&i| ws[i].shape().to_vec()).collect();
            slots.push((l.name().to_string(), order.iter().map(|&i| offset + i).collect(), shapes));
        }
        offset += ws.len();
    }
    if saved.len() != slots.len() {
        keras_bail!(
            Value,
            "Layer count mismatch when loading weights from file. Model expected {} layers, found {} saved layers.",
            slots.len(),
            saved.len()
        );
    }
    let by_name = slots.iter().all(|s| saved.iter().any(|(n, _)| *n == s.0));
    let mut assign = Vec::new();
    for (k, slot) in slots.iter().enumerate() {
        let (sname, wnames) =
            if by_name { saved.iter().find(|(n, _)| *n == slot.0).expect("checked") } else { &saved[k] };
        if wnames.len() != slot.1.len() {
            keras_bail!(
                Value,
                "Weight count mismatch for layer #{k} (named {} in the current model, {sname} in the save file). \
                 Layer expects {} weight(s). Received {} saved weight(s)",
                slot.0,
                slot.1.len(),
                wnames.len()
            );
        }
        let g = join(group, sname);
        for (i, w) in wnames.iter().enumerate() {
            let path = join(&g, w);
            let (found, _) = r.dataset_info(&path)?;
            if found != slot.2[i] {
                keras_bail!(
                    Shape,
                    "Shape mismatch in layer #{k} (named {}) for weight {w}. Weight expects shape {:?}. Received saved \
                     weight with shape {found:?}",
                    slot.0,
                    slot.2[i]
                );
            }
            assign.push((slot.1[i], r.read(&path, Some(&slot.2[i]))?));
        }
    }
    model.assign_weights(assign)
}

pub(crate) fn h5_load(r: &Reader, compile: bool) -> Result<Functional> {
    let (mut model, attrs) = model_from_root(r, model_from_config_checked)?;
    load_legacy_group(&mut model, r, "model_weights")?;
    if compile {
        if let Some(tc) = training_config_attr(&attrs)? {
            compile_loaded(&mut model, &tc)?;
        }
    }
    Ok(model)
}

/// Keras `model.save` for a Functional model.
pub(crate) fn save_model(model: &Functional, path: &Path) -> Result<()> {
    let bytes = if ends_with(path, &[".keras"]) {
        keras_to_bytes(model)?
    } else if ends_with(path, &[".h5", ".hdf5"]) {
        h5_to_bytes(model)?
    } else {
        keras_bail!(
            InvalidArgument,
            "Invalid filepath extension for saving. Please add either a `.keras` extension for the native Keras \
             format (recommended) or a `.h5` extension. Received: filepath={}.",
            path_str(path)
        );
    };
    atomic::write_atomic(path, &bytes)
}

/// Loads a Functional (or Sequential, as a graph) model from `.keras` or legacy `.h5`.
pub(crate) fn load_model(path: &Path, compile: bool) -> Result<Functional> {
    load_by_extension(path, |bytes| keras_from_bytes(bytes, compile), |reader| h5_load(reader, compile))
}

/// Loads a Functional model from the bytes of a `.keras` file.
pub fn load_functional_from_keras_bytes(bytes: &[u8]) -> Result<Functional> {
    shielded(Path::new("<bytes>"), || keras_from_bytes(bytes, true))
}

/// Loads a Functional model from the bytes of a legacy `.h5` model file.
pub fn load_functional_from_h5_bytes(bytes: &[u8]) -> Result<Functional> {
    shielded(Path::new("<bytes>"), || h5_load(&Reader::from_bytes(bytes.to_vec(), "<bytes>")?, true))
}

/// `model.save_weights` (Keras 3 `.weights.h5` layout).
pub(crate) fn save_weights(model: &Functional, path: &Path) -> Result<()> {
    if !ends_with(path, &[".weights.h5"]) {
        keras_bail!(
            InvalidArgument,
            "The filename must end in `.weights.h5`. Received: filepath={}",
            path_str(path)
        );
    }
    atomic::write_atomic(path, &to_tree(model).to_bytes()?)
}

/// `model.load_weights`: `.weights.h5` / `.keras` (Keras 3 layout) or legacy `.h5`.
pub(crate) fn load_weights(model: &mut Functional, path: &Path) -> Result<()> {
    let result = shielded(path, || {
        if ends_with(path, &[".keras"]) {
            let bytes = h5::read_file_bounded(path, h5::MAX_FILE_BYTES)?;
            let zip = Archive::new(&bytes)?;
            let weights = zip.read("model.weights.h5", h5::usize_limit(h5::MAX_FILE_BYTES))?;
            return load_tree(model, &Reader::from_bytes(weights, "model.weights.h5")?);
        }
        if ends_with(path, &[".weights.h5"]) {
            return load_tree(model, &Reader::open(path)?);
        }
        if ends_with(path, &[".h5", ".hdf5"]) {
            let r = Reader::open(path)?;
            let root_has_names = r.string_list_attr("", "layer_names")?.is_some();
            let group = if !root_has_names && r.has_group("model_weights")? { "model_weights" } else { "" };
            return load_legacy_group(model, &r, group);
        }
        keras_bail!(
            InvalidArgument,
            "File format not supported: filepath={}. Keras 3 only supports V3 `.keras` files, `.weights.h5` files, \
             legacy H5 format files (`.h5` extension).",
            path_str(path)
        )
    });
    result.map_err(|e| with_file(e, path))
}
