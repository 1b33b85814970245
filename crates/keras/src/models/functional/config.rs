//! Functional configs: Keras 3's (`inbound_nodes` of `{"args", "kwargs"}` with
//! `__keras_tensor__` objects) written and read, and tf.keras 2.x's
//! (`[[layer, node_index, tensor_index, kwargs], ...]`) read.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{json, Map, Value};

use super::graph::{Graph, TensorRef};
use super::ops::OpLayer;
use super::symbolic::{arg_tensors, call_symbolic, input_node, KerasTensor, LayerSlot};
use super::Functional;
use crate::layers::core::input_layer::dtype_name;
use crate::layers::{CallKwargs, InputLayer, Layer, TensorArg};
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

/// The keyword arguments of a node with their tensors, once all exist.
fn resolve_kwargs(
    kw: &CallKwargs<Hist>,
    made: &HashMap<String, Vec<Vec<KerasTensor>>>,
) -> Option<CallKwargs<KerasTensor>> {
    let get = |h: &Hist| made.get(&h.0)?.get(h.1)?.get(h.2).cloned();
    let mut out = CallKwargs::new();
    for (k, v) in kw.values() {
        out.set_value(k, v.clone());
    }
    for (k, arg) in kw.tensor_args() {
        let a = match arg {
            TensorArg::One(h) => TensorArg::One(get(h)?),
            TensorArg::List(l) => TensorArg::List(
                l.iter()
                    .map(|h| h.as_ref().map(|h| get(h).ok_or(())).transpose())
                    .collect::<std::result::Result<Vec<_>, ()>>()
                    .ok()?,
            ),
        };
        out.set_tensor(k, a, None);
    }
    Some(out)
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
            // A list argument (`Concatenate()([a, b])`) or several positional ones (`x + y`,
            // `mha(query, value)`).
            if node.as_list {
                args.push(Value::Array(tensors));
            } else {
                args.extend(tensors);
            }
            args.extend(node.extra_args.iter().cloned());
            let mut kwargs = Map::new();
            for (k, v) in node.kwargs.values() {
                kwargs.insert(k.clone(), v.clone());
            }
            for (k, arg) in node.kwargs.tensor_args() {
                let v = match arg {
                    TensorArg::One(r) => tensor_json(g, *r),
                    TensorArg::List(l) => {
                        Value::Array(l.iter().map(|r| r.map_or(Value::Null, |r| tensor_json(g, r))).collect())
                    }
                };
                kwargs.insert(k.clone(), v);
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
    as_list: bool,
    kwargs: CallKwargs<Hist>,
    extra_args: Vec<Value>,
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

/// A keyword argument: a tensor, a list of tensors (and nulls), or a plain value.
fn kwarg_from(v: &Value, tensor: fn(&Value) -> Option<Hist>) -> std::result::Result<TensorArg<Hist>, ()> {
    if let Some(h) = tensor(v) {
        return Ok(TensorArg::One(h));
    }
    if let Some(items) = v.as_array() {
        if !items.is_empty()
            && items.iter().any(|x| tensor(x).is_some())
            && items.iter().all(|x| x.is_null() || tensor(x).is_some())
        {
            return Ok(TensorArg::List(items.iter().map(tensor).collect()));
        }
    }
    Err(())
}

/// Parses the keyword arguments of a node: tensors become references, the rest stays JSON.
fn parse_kwargs(kw: Option<&Map<String, Value>>, tensor: fn(&Value) -> Option<Hist>) -> CallKwargs<Hist> {
    let mut out = CallKwargs::new();
    for (k, v) in kw.into_iter().flatten() {
        match kwarg_from(v, tensor) {
            Ok(arg) => out.set_tensor(k, arg, None),
            Err(()) => out.set_value(k, v.clone()),
        }
    }
    out
}

/// A tf.keras 2 tensor reference inside kwargs: `[name, node_index, tensor_index]`.
fn tf2_hist(v: &Value) -> Option<Hist> {
    let a = v.as_array()?;
    if a.len() < 3 || !a[0].is_string() {
        return None;
    }
    hist_from(v)
}

/// Keras classes whose `call(sequences, initial_state=None, ...)` takes the initial states as
/// its second positional argument (Keras 3) or, in tf.keras 2 files, as further inbound
/// tensors after the sequence (tf.keras 2's `RNN.__call__([x, *states])`).
const RECURRENT_CLASSES: [&str; 8] =
    ["RNN", "SimpleRNN", "LSTM", "GRU", "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D", "Bidirectional"];

/// Moves initial states given by position into `initial_state=`, the one form the recurrent
/// layers read; both given is Python's "multiple values" error.
fn states_as_kwarg(layer_name: &str, kwargs: &mut CallKwargs<Hist>, states: TensorArg<Hist>) -> Result<()> {
    if kwargs.tensor_arg("initial_state").is_some() {
        keras_bail!(
            Config,
            "Layer '{layer_name}' is given its initial states both by position and as `initial_state`"
        );
    }
    kwargs.set_tensor("initial_state", states, None);
    Ok(())
}

/// Parses the inbound nodes of one layer config (Keras 3 or tf.keras 2 form).
fn parse_nodes(layer_name: &str, class_name: &str, v: &Value) -> Result<Vec<NodeSpec>> {
    let recurrent = RECURRENT_CLASSES.contains(&class_name);
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
            let mut kwargs = parse_kwargs(obj.get("kwargs").and_then(Value::as_object), keras_tensor_hist);
            let mut extra_args = args[1..].to_vec();
            let mut inputs = inputs;
            // `lstm(x, [h, c])`: the second positional argument is `initial_state`.
            if recurrent && !as_list {
                if let Some(states) = extra_args.first().and_then(|a| kwarg_from(a, keras_tensor_hist).ok()) {
                    states_as_kwarg(layer_name, &mut kwargs, states)?;
                    extra_args.remove(0);
                }
            }
            // Further positional tensors (`x + y`, `mha(query, value, key)`) are inputs too: the
            // layer takes them in order, as it takes its inputs.
            if !as_list {
                let n = extra_args.iter().take_while(|a| keras_tensor_hist(a).is_some()).count();
                inputs.extend(extra_args.drain(..n).filter_map(|a| keras_tensor_hist(&a)));
            }
            if extra_args.iter().any(|a| kwarg_from(a, keras_tensor_hist).is_ok()) {
                keras_bail!(
                    Config,
                    "Layer '{layer_name}' takes several positional tensor arguments, which keras-rs does not support"
                );
            }
            out.push(NodeSpec { inputs, as_list, kwargs, extra_args });
        } else if let Some(entries) = node.as_array() {
            // tf.keras 2: [[name, node_index, tensor_index, kwargs], ...].
            let mut inputs = Vec::new();
            let mut kwargs = CallKwargs::new();
            for e in entries {
                inputs.push(hist_from(e).ok_or_else(bad)?);
                if let Some(kw) = e.get(3).and_then(Value::as_object) {
                    kwargs = parse_kwargs(Some(kw), tf2_hist);
                }
            }
            if inputs.is_empty() {
                return Err(bad());
            }
            // tf.keras 2 records `decoder(x, initial_state=[h, c])` as the inbound tensors
            // `[x, h, c]`.
            if recurrent && inputs.len() > 1 {
                let states = inputs.split_off(1).into_iter().map(Some).collect();
                states_as_kwarg(layer_name, &mut kwargs, TensorArg::List(states))?;
            }
            let as_list = inputs.len() > 1;
            out.push(NodeSpec { inputs, as_list, kwargs, extra_args: Vec::new() });
        } else {
            return Err(bad());
        }
    }
    Ok(out)
}

/// `input_layers` / `output_layers`: one `[name, node, tensor]` or a list of them.
fn parse_io(v: Option<&Value>, what: &str) -> Result<Vec<Hist>> {
    let v = v.ok_or_else(|| Error::Config(format!("Functional config needs `{what}`")))?;
    if let Some(h) = hist_from(v) {
        return Ok(vec![h]);
    }
    let items = v.as_array().ok_or_else(|| Error::Config(format!("malformed `{what}`: {v}")))?;
    items
        .iter()
        .map(|i| hist_from(i).ok_or_else(|| Error::Config(format!("malformed `{what}`: {v}"))))
        .collect()
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
        let class_name = entry.get("class_name").and_then(Value::as_str).unwrap_or("");
        let nodes = parse_nodes(&lname, class_name, entry.get("inbound_nodes").unwrap_or(&Value::Null))?;
        let extra = nodes.first().map(|n| n.extra_args.clone()).unwrap_or_default();
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
                let kw = resolve_kwargs(&spec.kwargs, &made);
                let (Some(ins), Some(kw)) = (ins, kw) else {
                    remaining = true;
                    break;
                };
                let shapes: Vec<Vec<Option<usize>>> = ins.iter().map(|t| t.shape().to_vec()).collect();
                p.slot.with(|l| if l.built() { Ok(()) } else { check(l.as_ref(), &shapes) })?;
                let outs = call_symbolic(&p.slot, &ins, spec.as_list, kw, spec.extra_args.clone())?;
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
                    let spec = &p.nodes[p.done];
                    let mut wanted: Vec<&Hist> = spec.inputs.iter().collect();
                    for arg in spec.kwargs.tensor_args().values() {
                        wanted.extend(arg_tensors(arg));
                    }
                    let missing: Vec<String> = wanted
                        .into_iter()
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
        resolve(&made, h).ok_or_else(|| {
            Error::Config(format!("The model's {what} name a missing tensor {}[{}][{}]", h.0, h.1, h.2))
        })
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
