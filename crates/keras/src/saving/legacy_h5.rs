//! The legacy HDF5 format (`model.save("m.h5")`, Keras 2 / tf.keras and Keras 3's
//! `legacy_h5_format`): root attributes `model_config` / `training_config` (JSON),
//! `model_weights/<layer>/<weight path>` named by each layer's `weight_names`, and
//! `optimizer_weights`. Also the weights-only `.h5` files of Keras 2 (the layout of
//! `model_weights` at the root), loaded by position or by layer name.

use std::collections::HashMap;

use serde_json::{json, Value};

use super::compile_config::{compile_from_config, parse_json_object, training_config};
use super::h5::{Attr, Node, Reader};
use super::{model_from_config_checked, warn, LoadWeightsArgs, KERAS_VERSION};
use crate::layers::Layer;
use crate::models::Sequential;
use crate::trainers::Compiled;
use crate::{keras_bail, Error, Result, Tensor};

/// Keras's `HDF5_OBJECT_HEADER_LIMIT`: longer string lists are split into `name0`, `name1`...
const HEADER_LIMIT: usize = 64512;

/// Keras `save_attributes_to_hdf5_group`: one attribute, or numbered chunks when the list
/// (as a fixed-width NumPy string array) exceeds the HDF5 header limit.
pub(crate) fn set_list_attr(node: &mut Node, name: &str, data: &[String]) -> Result<()> {
    let width = data.iter().map(String::len).max().unwrap_or(0).max(1);
    if width > HEADER_LIMIT {
        keras_bail!(
            Io,
            "The following attributes cannot be saved to HDF5 file because they are larger than {HEADER_LIMIT} bytes"
        );
    }
    let mut chunks = 1;
    // np.array_split: the first `n % k` chunks hold one more element.
    while data.len().div_ceil(chunks) * width > HEADER_LIMIT {
        chunks += 1;
    }
    if chunks == 1 {
        node.set_attr(name, Attr::Strs(data.to_vec()));
        return Ok(());
    }
    let (base, extra) = (data.len() / chunks, data.len() % chunks);
    let mut at = 0;
    for i in 0..chunks {
        let n = base + usize::from(i < extra);
        node.set_attr(&format!("{name}{i}"), Attr::Strs(data[at..at + n].to_vec()));
        at += n;
    }
    Ok(())
}

/// Keras `_legacy_weights`: trainable weights first, then the others, as indices into
/// `layer.weights()`.
fn legacy_order(layer: &dyn Layer) -> Vec<usize> {
    let flags: Vec<bool> = crate::layers::weights_with_trainable(layer).iter().map(|w| w.1).collect();
    trainable_first(&flags)
}

/// The indices of `trainable` (one flag per weight), the trainable ones first, each group in
/// order: Keras's `_legacy_weights` order.
pub(super) fn trainable_first(trainable: &[bool]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..trainable.len()).filter(|&i| trainable[i]).collect();
    order.extend((0..trainable.len()).filter(|&i| !trainable[i]));
    order
}

/// The legacy layer list of a model config: `{"class_name", "config"}` only.
fn legacy_model_config(model: &Sequential) -> Value {
    legacy_model_json("Sequential", model.get_config(), true)
}

/// A legacy `model_config`: the model's config `cfg` under `class_name`, its layers without
/// `module`, `registered_name` and `build_config`. With `registered_as_class`, a registered
/// class (`package>Name`) is named by its registered name, as Keras's legacy serializer
/// writes a Sequential's layers.
pub(super) fn legacy_model_json(class_name: &str, mut cfg: Value, registered_as_class: bool) -> Value {
    if let Some(layers) = cfg.get_mut("layers").and_then(Value::as_array_mut) {
        for l in layers.iter_mut() {
            if let Some(o) = l.as_object_mut() {
                if let Some(Value::String(r)) = o.get("registered_name").cloned() {
                    if registered_as_class && r.contains('>') {
                        o.insert("class_name".into(), Value::String(r));
                    }
                }
                o.remove("module");
                o.remove("registered_name");
                o.remove("build_config");
            }
        }
    }
    json!({ "class_name": class_name, "config": cfg })
}

/// Keras's `backend` and `keras_version` attributes, which a legacy `.h5` file's root and
/// its `model_weights` group both carry.
pub(crate) fn set_version_attrs(node: &mut Node) {
    node.set_attr("backend", Attr::Str("tensorflow".into()));
    node.set_attr("keras_version", Attr::Str(KERAS_VERSION.into()));
}

/// The root of a legacy `.h5` model file (Keras `save_model_to_hdf5`): the version
/// attributes, `model_config` and, for a compiled model, `training_config`.
pub(crate) fn model_root(model_config: &Value, compiled: Option<&Compiled>) -> Node {
    let mut root = Node::default();
    set_version_attrs(&mut root);
    root.set_attr("model_config", Attr::Str(model_config.to_string()));
    if let Some(c) = compiled {
        root.set_attr("training_config", Attr::Str(training_config(c).to_string()));
    }
    root
}

/// The bytes of a legacy `.h5` model file (Keras `save_model_to_hdf5`, optimizer included).
pub(crate) fn to_bytes(model: &Sequential) -> Result<Vec<u8>> {
    let mut root = model_root(&legacy_model_config(model), model.compile_state());
    write_model_weights(model, root.group("model_weights"))?;
    if let Some(c) = model.compile_state() {
        let vars = c.optimizer.variables();
        if !vars.is_empty() {
            // Keras's variable paths carry the model name (`adam/mlp_dense_kernel_momentum`).
            let prefixes: Vec<String> =
                model.trainable_weights().iter().map(|w| w.path().replace('/', "_")).collect();
            let opt = c.optimizer.name().to_string();
            let names: Vec<String> = vars
                .iter()
                .map(|(path, _)| {
                    let rest = path.strip_prefix(&format!("{opt}/")).unwrap_or(path);
                    if prefixes.iter().any(|p| rest.starts_with(&format!("{p}_"))) {
                        format!("{opt}/{}_{rest}", model.name())
                    } else {
                        path.clone()
                    }
                })
                .collect();
            let g = root.group("optimizer_weights");
            set_list_attr(g, "weight_names", &names)?;
            for (name, (_, value)) in names.iter().zip(&vars) {
                g.dataset(name, value);
            }
        }
    }
    root.to_bytes()
}

/// Keras `save_weights_to_hdf5_group`.
fn write_model_weights(model: &Sequential, g: &mut Node) -> Result<()> {
    let names: Vec<String> = model.layers().iter().map(|l| l.name().to_string()).collect();
    set_list_attr(g, "layer_names", &names)?;
    set_version_attrs(g);
    let mut layers: Vec<&Box<dyn Layer>> = model.layers().iter().collect();
    layers.sort_by(|a, b| a.name().cmp(b.name()));
    for layer in layers {
        let ws = layer.weights();
        let order = legacy_order(layer.as_ref());
        let wnames: Vec<String> =
            order.iter().map(|&i| format!("{}/{}", model.name(), ws[i].path())).collect();
        let lg = g.group(layer.name());
        set_list_attr(lg, "weight_names", &wnames)?;
        for (name, &i) in wnames.iter().zip(&order) {
            lg.dataset(name, ws[i].value());
        }
    }
    set_list_attr(g.group("top_level_model_weights"), "weight_names", &[])?;
    Ok(())
}

/// The model of a legacy `.h5` file, rebuilt from its root `model_config` attribute by
/// `from_config` (given the file size, which bounds its parameters), with the root's string
/// attributes (`training_config` among them) and a check that `model_weights` is there.
/// Keras `load_model_from_hdf5`'s opening, for Sequential and Functional models alike.
pub(crate) fn model_from_root<M>(
    r: &Reader,
    from_config: impl FnOnce(&Value, usize) -> Result<M>,
) -> Result<(M, HashMap<String, Vec<String>>)> {
    let attrs = r.string_attrs("")?;
    let Some(config) = attrs.get("model_config").and_then(|v| v.first()) else {
        keras_bail!(Value, "No model config found in the file.");
    };
    let cfg = Value::Object(parse_json_object(config, "model_config")?);
    let model = from_config(&cfg, r.len())?;
    if !r.has_group("model_weights")? {
        keras_bail!(Io, "The file has no `model_weights` group");
    }
    Ok((model, attrs))
}

/// The parsed `training_config` root attribute of a legacy `.h5` file, if it has one.
pub(crate) fn training_config_attr(attrs: &HashMap<String, Vec<String>>) -> Result<Option<Value>> {
    attrs
        .get("training_config")
        .and_then(|v| v.first())
        .map(|tc| parse_json_object(tc, "training_config").map(Value::Object))
        .transpose()
}

/// Loads a legacy `.h5` model (Keras `load_model_from_hdf5`).
pub(crate) fn load_model(r: &Reader, compile: bool) -> Result<Sequential> {
    let (mut model, attrs) = model_from_root(r, model_from_config_checked)?;
    load_weights_from_group(&mut model, r, "model_weights", LoadWeightsArgs::default())?;
    if !compile {
        return Ok(model);
    }
    let Some(tc) = training_config_attr(&attrs)? else {
        warn("No training configuration found in the save file, so the model was *not* compiled. Compile it manually.");
        return Ok(model);
    };
    compile_from_config(&mut model, &tc)?;
    if model.compile_state().is_some() && r.has_group("optimizer_weights")? {
        let names = r.string_list_attr("optimizer_weights", "weight_names")?.unwrap_or_default();
        if let Some(vals) = read_optimizer_weights(&model, r, &names)? {
            if let Some(c) = model.compile_state_mut() {
                c.optimizer.set_variables(&vals)?;
            }
        } else {
            warn(
                "Error in loading the saved optimizer state. As a result, your model is starting with a \
                 freshly initialized optimizer.",
            );
        }
    }
    Ok(model)
}

/// The saved optimizer values in the order of the model's optimizer, or `None` when they do
/// not fit it. Keras 3 files list exactly the optimizer's variables; tf.keras 2 files name
/// theirs differently and are mapped by name ([`super::tf_keras_optimizer`]), with a warning
/// saying exactly what was dropped, recomputed or left fresh.
fn read_optimizer_weights(model: &Sequential, r: &Reader, names: &[String]) -> Result<Option<Vec<Tensor>>> {
    let Some(c) = model.compile_state() else { return Ok(None) };
    let current = c.optimizer.variables();
    if names.len() == current.len() {
        let mut vals = Vec::with_capacity(current.len());
        for (n, (_, cur)) in names.iter().zip(&current) {
            match r.read(&format!("optimizer_weights/{n}"), Some(cur.shape())) {
                Ok(v) => vals.push(v),
                Err(Error::Shape(_)) => break,
                Err(e) => return Err(e),
            }
        }
        if vals.len() == current.len() {
            return Ok(Some(vals));
        }
    }
    let mut saved = Vec::with_capacity(names.len());
    for n in names {
        saved.push((n.clone(), r.read(&format!("optimizer_weights/{n}"), None)?));
    }
    let beta_1 = c.optimizer.get_config().get("beta_1").and_then(Value::as_f64);
    match super::tf_keras_optimizer::map_state(c.optimizer.class_name(), beta_1, &current, &saved)? {
        Some(m) => {
            if let Some(report) = m.report {
                warn(&report);
            }
            Ok(Some(m.values))
        }
        None => Ok(None),
    }
}

/// Loads legacy `.h5` weights (Keras `load_weights` on an `.h5` file): from `model_weights`
/// when the root is a whole model file, else from the root.
pub(crate) fn load_weights(model: &mut Sequential, r: &Reader, opts: LoadWeightsArgs) -> Result<()> {
    let root_has_names = r.string_list_attr("", "layer_names")?.is_some();
    let group = if !root_has_names && r.has_group("model_weights")? { "model_weights" } else { "" };
    load_weights_from_group(model, r, group, opts)
}

/// The stored values of one layer group, in its `weight_names` order; shapes are checked
/// against `expected` (when given) before anything is read.
fn read_subset(r: &Reader, group: &str, expected: Option<&[Vec<usize>]>) -> Result<Vec<Tensor>> {
    let names = r.string_list_attr(group, "weight_names")?.unwrap_or_default();
    if let Some(e) = expected {
        if e.len() != names.len() {
            return Ok(Vec::new()); // the caller reports the count mismatch
        }
    }
    names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let path = if group.is_empty() { n.clone() } else { format!("{group}/{n}") };
            r.read(&path, expected.map(|e| e[i].as_slice()))
        })
        .collect()
}

pub(crate) fn join(group: &str, name: &str) -> String {
    if group.is_empty() {
        name.to_string()
    } else {
        format!("{group}/{name}")
    }
}

/// One model layer's weight slots in legacy order: name, indices into `model.weights()`,
/// shapes.
type Slot = (String, Vec<usize>, Vec<Vec<usize>>);

/// Keras `load_weights_from_hdf5_group` (by position) and `..._by_name`. All values are
/// read and checked first, then assigned, so a failure leaves the model unchanged.
fn load_weights_from_group(
    model: &mut Sequential,
    r: &Reader,
    group: &str,
    opts: LoadWeightsArgs,
) -> Result<()> {
    let layer_names = r.string_list_attr(group, "layer_names")?.unwrap_or_default();
    // Weight slots of each model layer, legacy order, as global indices into model.weights().
    let mut offset = 0;
    let mut slots: Vec<Slot> = Vec::new();
    for l in model.layers() {
        let ws = l.weights();
        let order = legacy_order(l.as_ref());
        let shapes = order.iter().map(|&i| ws[i].shape().to_vec()).collect();
        slots.push((l.name().to_string(), order.iter().map(|&i| offset + i).collect(), shapes));
        offset += ws.len();
    }
    let paths: Vec<String> = model.weights().iter().map(|w| w.path().to_string()).collect();
    let mut assign: Vec<(usize, Tensor)> = Vec::new();
    // Reads one saved layer into one model layer, honouring skip_mismatch.
    let mut take = |k: usize, saved: &str, slot: &Slot| -> Result<()> {
        let (name, idx, shapes) = slot;
        let g = join(group, saved);
        let count = r.string_list_attr(&g, "weight_names")?.unwrap_or_default().len();
        if count != idx.len() {
            let msg = format!(
                "Weight count mismatch for layer #{k} (named {name} in the current model, {saved} in the \
                 save file). Layer expects {} weight(s). Received {count} saved weight(s)",
                idx.len()
            );
            if opts.by_name && opts.skip_mismatch {
                warn(format!("Skipping loading of weights for layer #{k} (named {name}) due to mismatch in number of weights. Layer expects {} weight(s). Received {count} saved weight(s)", idx.len()));
                return Ok(());
            }
            keras_bail!(Value, "{msg}");
        }
        let names = r.string_list_attr(&g, "weight_names")?.unwrap_or_default();
        for (i, wname) in names.iter().enumerate() {
            let (found, _) = r.dataset_info(&join(&g, wname))?;
            if found != shapes[i] {
                let msg = format!(
                    "layer #{k} (named {name}) for weight {}. Weight expects shape {:?}. Received saved \
                     weight with shape {found:?}",
                    paths[idx[i]], shapes[i]
                );
                if opts.skip_mismatch {
                    warn(format!("Skipping loading weights for {msg}"));
                    continue;
                }
                keras_bail!(Shape, "Shape mismatch in {msg}");
            }
            assign.push((idx[i], r.read(&join(&g, wname), Some(&shapes[i]))?));
        }
        Ok(())
    };
    if opts.by_name {
        for (k, saved) in layer_names.iter().enumerate() {
            for slot in slots.iter().filter(|s| s.0 == *saved) {
                take(k, saved, slot)?;
            }
        }
    } else {
        let with_weights: Vec<&Slot> = slots.iter().filter(|s| !s.1.is_empty()).collect();
        let mut saved_with_weights = Vec::new();
        for n in &layer_names {
            let names = r.string_list_attr(&join(group, n), "weight_names")?.unwrap_or_default();
            if !names.is_empty() {
                saved_with_weights.push(n.clone());
            }
        }
        if saved_with_weights.len() != with_weights.len() {
            keras_bail!(
                Value,
                "Layer count mismatch when loading weights from file. Model expected {} layers, found {} saved layers.",
                with_weights.len(),
                saved_with_weights.len()
            );
        }
        for (k, (saved, slot)) in saved_with_weights.iter().zip(with_weights).enumerate() {
            take(k, saved, slot)?;
        }
    }
    // Keras also restores `top_level_model_weights`; a Sequential model has none of its own.
    let top = join(group, "top_level_model_weights");
    if r.has_group(&top)? {
        let n = read_subset(r, &top, Some(&[]))?.len();
        let count = r.string_list_attr(&top, "weight_names")?.unwrap_or_default().len();
        if count != n && !opts.skip_mismatch {
            keras_bail!(
                Value,
                "Weight count mismatch for top-level weights when loading weights from file. Model expects 0 top-level weight(s). Received {count} saved top-level weight(s)"
            );
        }
    }
    model.assign_weights(assign)
}

/// One layer of a legacy weights file: its name and its weights in `weight_names` order.
#[derive(Clone, Debug)]
pub struct LegacyLayerWeights {
    /// The layer's name (`conv1_bn`).
    pub name: String,
    /// `(weight name, value)` in the file's order: for tf.keras 2 files the full variable name
    /// (`conv1_bn/gamma:0`), trainable weights first, as `layer.weights` listed them.
    pub weights: Vec<(String, Tensor)>,
}

/// The content of a legacy `.h5` weights file (tf.keras 2 / Keras 2 `save_weights`, the format
/// of Keras's published ImageNet weights, or the `model_weights` group of a whole-model file):
/// every layer of `layer_names`, in order, with its weights.
#[derive(Clone, Debug, Default)]
pub struct LegacyWeights {
    /// The `keras_version` attribute (`2.21.0` for tf.keras files).
    pub keras_version: Option<String>,
    /// The `backend` attribute (`tensorflow`).
    pub backend: Option<String>,
    /// Every layer named in `layer_names`, in that order (layers without weights included).
    pub layers: Vec<LegacyLayerWeights>,
}

impl LegacyWeights {
    /// The layers that hold weights, in file order (what Keras's positional
    /// `load_weights_from_hdf5_group` matches against the model's layers with weights).
    pub fn layers_with_weights(&self) -> impl Iterator<Item = &LegacyLayerWeights> {
        self.layers.iter().filter(|l| !l.weights.is_empty())
    }

    /// The layer named `name` (what loading `by_name` matches).
    pub fn layer(&self, name: &str) -> Option<&LegacyLayerWeights> {
        self.layers.iter().find(|l| l.name == name)
    }
}

/// Reads every layer and weight of a legacy weights file (Keras `load_weights_from_hdf5_group`
/// reads the same `layer_names` / `weight_names` attributes). Each dataset is bounded by the
/// file's size before it is read.
pub(crate) fn read_all(r: &Reader) -> Result<LegacyWeights> {
    let root_has_names = r.string_list_attr("", "layer_names")?.is_some();
    let group = if !root_has_names && r.has_group("model_weights")? { "model_weights" } else { "" };
    let Some(layer_names) = r.string_list_attr(group, "layer_names")? else {
        keras_bail!(
            Io,
            "The file has no `layer_names` attribute: it is not a legacy Keras weights file (a Keras 3 \
             `.weights.h5` file loads with `load_weights`)"
        );
    };
    let attrs = r.string_attrs(group)?;
    let first = |k: &str| attrs.get(k).and_then(|v| v.first()).cloned();
    let mut out = LegacyWeights {
        keras_version: first("keras_version"),
        backend: first("backend"),
        layers: Vec::new(),
    };
    for name in layer_names {
        let g = join(group, &name);
        let names = r.string_list_attr(&g, "weight_names")?.unwrap_or_default();
        let mut weights = Vec::with_capacity(names.len());
        for w in names {
            let t = r.read(&join(&g, &w), None)?;
            weights.push((w, t));
        }
        out.layers.push(LegacyLayerWeights { name, weights });
    }
    Ok(out)
}
