//! Functional configs: Keras 3's (`inbound_nodes` of `{"args", "kwargs"}` with
//! `__keras_tensor__` objects) written and read, and tf.keras 2.x's
//! (`[[layer, node_index, tensor_index, kwargs], ...]`) read.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{json, Map, Value};

use super::graph::{Graph, TensorRef};
use super::ops::OpLayer;
use super::symbolic::{call_symbolic, input_node, CallArgs, KerasTensor, LayerSlot};
use super::Functional;
use crate::layers::core::input_layer::dtype_name;
use crate::layers::{InputLayer, Layer};
use crate::{keras_bail, Error, Result};

/// A check run on each layer and its input shapes before the layer is built (the loaders
/// bound what a file may make us allocate).
pub(crate) type NodeCheck<'a> = dyn FnMut(&dyn Layer, &[Vec<Option<usize>>]) -> Result<()> + 'a;

/// `{"class_name": "__keras_tensor__", ...}` for a tensor of the graph.
fn tensor_json(g: &Graph, r: TensorRef) -> Value {
    let node = &g.nodes[r.0];
    let (shape, dtype) = &node.outputs[r.1];
    json!({
        "class_name": "__keras_tensor__",
        "config": {
            "shape": shape,
            "dtype": dtype_name(*dtype),
            "keras_history": [g.layers[node.layer].name(), node.node_index, r.1],
        }
    })
}

/// `[layer_name, node_index, tensor_index]` of a model input or output.
fn history(g: &Graph, r: TensorRef) -> Value {
    let node = &g.nodes[r.0];
    json!([g.layers[node.layer].name(), node.node_index, r.1])
}

/// One list or a single entry, as Keras writes `input_layers` / `output_layers`.
fn one_or_list(mut v: Vec<Value>) -> Value {
    if v.len() == 1 {
        v.pop().expect("one")
    } else {
        Value::Array(v)
    }
}

/// Keras 3 `Functional.get_config()`.
pub(crate) fn get_config(g: &Graph) -> Value {
    let mut layers = Vec::with_capacity(g.layers.len());
    for (li, layer) in g.layers.iter().enumerate() {
        let mut entry = layer.serialize();
        let mut nodes: Vec<(usize, Value)> = Vec::new();
        for node in g.nodes.iter().filter(|n| n.layer == li && !n.inputs.is_empty()) {
            let tensors: Vec<Value> = node.inputs.iter().map(|&r| tensor_json(g, r)).collect();
            let mut args = Vec::new();
            if node.as_list || tensors.len() > 1 {
                args.push(Value::Array(tensors));
            } else {
                args.extend(tensors);
            }
            args.extend(node.args.extra_args.iter().cloned());
            let mut kwargs = node.args.kwargs.clone();
            if let Some(t) = node.args.training {
                kwargs.insert("training".into(), json!(t));
            }
            if !node.masks.is_empty() {
                let ms: Vec<Value> =
                    node.masks.iter().map(|m| m.map_or(Value::Null, |r| tensor_json(g, r))).collect();
                kwargs.insert("mask".into(), one_or_list(ms));
            }
            nodes.push((node.node_index, json!({ "args": args, "kwargs": kwargs })));
        }
        nodes.sort_by_key(|(i, _)| *i);
        if let Some(o) = entry.as_object_mut() {
            o.insert("name".into(), json!(layer.name()));
            o.insert("inbound_nodes".into(), Value::Array(nodes.into_iter().map(|(_, v)| v).collect()));
        }
        layers.push(entry);
    }
    json!({
        "name": g.base.name,
        "trainable": g.base.trainable,
        "layers": layers,
        "input_layers": one_or_list(g.inputs.iter().map(|&p| history(g, (p, 0))).collect()),
        "output_layers": one_or_list(g.outputs.iter().map(|&r| history(g, r)).collect()),
    })
}

/// A reference to a tensor in a config: `(layer name, node index, tensor index)`.
type Hist = (String, usize, usize);

/// One parsed inbound node.
struct NodeSpec {
    inputs: Vec<Hist>,
    masks: Vec<Option<Hist>>,
    as_list: bool,
    args: CallArgs,
}

fn hist_from(v: &Value) -> Option<Hist> {
    let a = v.as_array()?;
    Some((a.first()?.as_str()?.to_string(), a.get(1)?.as_u64()? as usize, a.get(2)?.as_u64()? as usize))
}

/// The history of a Keras 3 `__keras_tensor__` object.
fn keras_tensor_hist(v: &Value) -> Option<Hist> {
    if v.get("class_name")?.as_str()? != "__keras_tensor__" {
        return None;
    }
    hist_from(v.get("config")?.get("keras_history")?)
}

/// A mask argument: one tensor, a list of tensors (or nulls), or null.
fn parse_masks(v: &Value, tf2: bool) -> Result<Option<Vec<Option<Hist>>>> {
    let one = |x: &Value| -> Result<Option<Hist>> {
        if x.is_null() {
            return Ok(None);
        }
        let h = if tf2 { hist_from(x) } else { keras_tensor_hist(x) };
        h.map(Some).ok_or_else(|| Error::Config(format!("cannot read the mask argument {x}")))
    };
    match v {
        Value::Null => Ok(None),
        Value::Array(items) if !tf2 || items.first().is_some_and(Value::is_array) => {
            let ms = items.iter().map(one).collect::<Result<Vec<_>>>()?;
            Ok(ms.iter().any(Option::is_some).then_some(ms))
        }
        x => Ok(one(x)?.map(|h| vec![Some(h)])),
    }
}

/// Parses the inbound nodes of one layer config (Keras 3 or tf.keras 2 form).
fn parse_nodes(layer_name: &str, v: &Value) -> Result<Vec<NodeSpec>> {
    let Some(list) = v.as_array() else {
        if v.is_null() {
            return Ok(Vec::new());
        }
        keras_bail!(Config, "Layer '{layer_name}' has malformed inbound_nodes: {v}");
    };
    let bad = || Error::Config(format!("Layer '{layer_name}' has a malformed inbound node"));
    let mut out = Vec::new();
    for node in list {
        if let Some(obj) = node.as_object() {
            // Keras 3: {"args": [...], "kwargs": {...}}.
            let args = obj.get("args").and_then(Value::as_array).ok_or_else(bad)?;
            let first = args.first().ok_or_else(bad)?;
            let (inputs, as_list) = if let Some(items) = first.as_array() {
                (items.iter().map(keras_tensor_hist).collect::<Option<Vec<_>>>().ok_or_else(bad)?, true)
            } else {
                (vec![keras_tensor_hist(first).ok_or_else(bad)?], false)
            };
            let mut call = CallArgs { extra_args: args[1..].to_vec(), ..CallArgs::default() };
            if call.extra_args.iter().any(|a| keras_tensor_hist(a).is_some()) {
                keras_bail!(
                    Config,
                    "Layer '{layer_name}' takes several positional tensor arguments, which keras-rs does not support"
                );
            }
            let mut masks = Vec::new();
            if let Some(kw) = obj.get("kwargs").and_then(Value::as_object) {
                for (k, val) in kw {
                    match k.as_str() {
                        "mask" => match parse_masks(val, false)? {
                            Some(ms) => masks = ms,
                            None => {
                                call.kwargs.insert(k.clone(), val.clone());
                            }
                        },
                        "training" => call.training = val.as_bool(),
                        _ => {
                            if contains_tensor(val) {
                                keras_bail!(
                                    Config,
                                    "Layer '{layer_name}' is called with the tensor argument `{k}`, which keras-rs does not support"
                                );
                            }
                            call.kwargs.insert(k.clone(), val.clone());
                        }
                    }
                }
            }
            out.push(NodeSpec { inputs, masks, as_list, args: call });
        } else if let Some(entries) = node.as_array() {
            // tf.keras 2: [[name, node_index, tensor_index, kwargs], ...].
            let mut inputs = Vec::new();
            let mut call = CallArgs::default();
            let mut masks = Vec::new();
            for e in entries {
                inputs.push(hist_from(e).ok_or_else(bad)?);
                if let Some(kw) = e.get(3).and_then(Value::as_object) {
                    for (k, val) in kw {
                        match k.as_str() {
                            "mask" => {
                                if let Some(ms) = parse_masks(val, true)? {
                                    masks = ms;
                                }
                            }
                            "training" => call.training = val.as_bool(),
                            _ => {
                                call.kwargs.insert(k.clone(), val.clone());
                            }
                        }
                    }
                }
            }
            if inputs.is_empty() {
                return Err(bad());
            }
            let as_list = inputs.len() > 1;
            out.push(NodeSpec { inputs, masks, as_list, args: call });
        } else {
            return Err(bad());
        }
    }
    Ok(out)
}

fn contains_tensor(v: &Value) -> bool {
    match v {
        Value::Object(o) => o.get("class_name").and_then(Value::as_str) == Some("__keras_tensor__"),
        Value::Array(a) => a.iter().any(contains_tensor),
        _ => false,
    }
}

/// `input_layers` / `output_layers`: one `[name, node, tensor]` or a list of them.
fn parse_io(v: Option<&Value>, what: &str) -> Result<Vec<Hist>> {
    let v = v.ok_or_else(|| Error::Config(format!("Functional config needs `{what}`")))?;
    if let Some(h) = hist_from(v) {
        return Ok(vec![h]);
    }
    let items = v.as_array().ok_or_else(|| Error::Config(format!("malformed `{what}`: {v}")))?;
    items.iter().map(|i| hist_from(i).ok_or_else(|| Error::Config(format!("malformed `{what}`: {v}")))).collect()
}

/// Rebuilds a layer of a Functional config (a nested model included).
fn layer_from(entry: &Value, first_extra: &[Value]) -> Result<Box<dyn Layer>> {
    let class = entry.get("class_name").and_then(Value::as_str).unwrap_or("");
    let module = entry.get("module").and_then(Value::as_str);
    let cfg = entry.get("config").unwrap_or(&Value::Null);
    if OpLayer::is_op(class, module) || (module.is_none() && class == "NotEqual") {
        return Ok(Box::new(OpLayer::from_node(class, cfg, first_extra)?));
    }
    crate::layers::deserialize(entry)
}

/// Keras `functional_from_config`: creates every layer, then every node once the tensors it
/// reads exist (layers may be listed in any order; a shared layer's later nodes may wait for
/// other layers). `check` sees each layer with its input shapes before it is built.
pub(crate) fn from_config_with(cfg: &Value, check: &mut NodeCheck<'_>) -> Result<Functional> {
    let name = cfg.get("name").and_then(Value::as_str).unwrap_or("functional").to_string();
    let list = cfg
        .get("layers")
        .and_then(Value::as_array)
        .ok_or_else(|| Error::Config("Functional config needs `layers`".into()))?;
    struct Pending {
        slot: Arc<LayerSlot>,
        nodes: Vec<NodeSpec>,
        done: usize,
    }
    let mut pending: Vec<Pending> = Vec::with_capacity(list.len());
    let mut made: HashMap<String, Vec<Vec<KerasTensor>>> = HashMap::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for entry in list {
        let lname = entry
            .get("name")
            .or_else(|| entry.get("config").and_then(|c| c.get("name")))
            .and_then(Value::as_str)
            .ok_or_else(|| Error::Config(format!("layer without a name in the Functional config: {entry}")))?
            .to_string();
        let nodes = parse_nodes(&lname, entry.get("inbound_nodes").unwrap_or(&Value::Null))?;
        let extra = nodes.first().map(|n| n.args.extra_args.clone()).unwrap_or_default();
        let mut layer = layer_from(entry, &extra)?;
        layer.base_mut().name = lname.clone();
        if index.insert(lname.clone(), pending.len()).is_some() {
            keras_bail!(
                Config,
                "The name \"{lname}\" is used 2 times in the model. All operation names should be unique."
            );
        }
        let is_input = layer.as_any().downcast_ref::<InputLayer>().is_some();
        let slot = LayerSlot::new(layer);
        if is_input {
            made.insert(lname.clone(), vec![vec![input_node(slot.clone(), None)]]);
        }
        pending.push(Pending { slot, nodes, done: 0 });
    }
    let resolve = |made: &HashMap<String, Vec<Vec<KerasTensor>>>, h: &Hist| -> Option<KerasTensor> {
        made.get(&h.0)?.get(h.1)?.get(h.2).cloned()
    };
    loop {
        let mut progress = false;
        let mut remaining = false;
        for p in pending.iter_mut() {
            while p.done < p.nodes.len() {
                let spec = &p.nodes[p.done];
                let ins: Option<Vec<KerasTensor>> = spec.inputs.iter().map(|h| resolve(&made, h)).collect();
                let ms: Option<Vec<Option<KerasTensor>>> = spec
                    .masks
                    .iter()
                    .map(|m| match m {
                        None => Some(None),
                        Some(h) => resolve(&made, h).map(Some),
                    })
                    .collect();
                let (Some(ins), Some(ms)) = (ins, ms) else {
                    remaining = true;
                    break;
                };
                let shapes: Vec<Vec<Option<usize>>> = ins.iter().map(|t| t.shape().to_vec()).collect();
                p.slot.with(|l| if l.built() { Ok(()) } else { check(l.as_ref(), &shapes) })?;
                let outs = call_symbolic(&p.slot, &ins, ms, spec.as_list, spec.args.clone())?;
                made.entry(p.slot.name.clone()).or_default().push(outs);
                p.done += 1;
                progress = true;
            }
        }
        if !remaining {
            break;
        }
        if !progress {
            let stuck: Vec<String> = pending
                .iter()
                .filter(|p| p.done < p.nodes.len())
                .map(|p| {
                    let missing: Vec<String> = p.nodes[p.done]
                        .inputs
                        .iter()
                        .filter(|h| resolve(&made, h).is_none())
                        .map(|h| format!("{}[{}][{}]", h.0, h.1, h.2))
                        .collect();
                    format!("{} (waits for {})", p.slot.name, missing.join(", "))
                })
                .collect();
            keras_bail!(
                Config,
                "The Functional config cannot be rebuilt: some layers read tensors that no layer makes: {}",
                stuck.join("; ")
            );
        }
    }
    let find = |h: &Hist, what: &str| -> Result<KerasTensor> {
        if !index.contains_key(&h.0) {
            keras_bail!(Config, "The model's {what} name a layer that does not exist: '{}'", h.0);
        }
        resolve(&made, h)
            .ok_or_else(|| Error::Config(format!("The model's {what} name a missing tensor {}[{}][{}]", h.0, h.1, h.2)))
    };
    let inputs = parse_io(cfg.get("input_layers"), "input_layers")?
        .iter()
        .map(|h| find(h, "inputs"))
        .collect::<Result<Vec<_>>>()?;
    let outputs = parse_io(cfg.get("output_layers"), "output_layers")?
        .iter()
        .map(|h| find(h, "outputs"))
        .collect::<Result<Vec<_>>>()?;
    let mut graph = Graph::from_symbolic(&name, &inputs, &outputs)?;
    if let Some(t) = cfg.get("trainable").and_then(Value::as_bool) {
        graph.base.trainable = t;
    }
    Ok(Functional::from_graph(graph))
}

/// Keras `serialize_keras_object(model)` for a Functional model (without compile config).
pub(crate) fn serialize(g: &Graph) -> Value {
    let mut m = Map::new();
    m.insert("module".into(), json!("keras.src.models.functional"));
    m.insert("class_name".into(), json!("Functional"));
    m.insert("config".into(), get_config(g));
    m.insert("registered_name".into(), json!("Functional"));
    m.insert("build_config".into(), json!({ "input_shape": null }));
    Value::Object(m)
}
