//! Where Keras 3 keeps each variable in `model.weights.h5` (its `H5IOStore` paths).
//!
//! `saving_lib._save_state` walks the model: the model's own variables go to `vars`, each
//! layer of `model.layers` to `layers/<snake_case(class)>[_n]/vars` (named by class and
//! position, never by layer name), sub-layers under their attribute name (`cell` of an RNN,
//! `forward_layer` / `backward_layer` of Bidirectional, `layer` of TimeDistributed), the
//! optimizer to `optimizer/vars`. Each `vars` group has a `name` attribute and datasets
//! `0`, `1`, ... in the order of the object's own variables.

use std::collections::HashMap;

use crate::backend::to_snake_case;
use crate::layers::sublayers::keras_own_order;
use crate::layers::{Layer, Variable};
use crate::models::Sequential;

/// One `.../vars` group of the file.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct VarGroup {
    /// `layers/dense/vars`.
    pub path: String,
    /// The `name` attribute (the object's name).
    pub name: String,
    /// Indices into `model.weights()`, in dataset order (`0`, `1`, ...).
    pub weights: Vec<usize>,
}

/// Keras's `_get_unique_name`: `dense`, `dense_1`, ... by class, in layer order.
pub(crate) fn unique(name: String, used: &mut HashMap<String, usize>) -> String {
    match used.get_mut(&name) {
        Some(n) => {
            *n += 1;
            format!("{name}_{n}")
        }
        None => {
            used.insert(name.clone(), 0);
            name
        }
    }
}

/// Every variable group of a Sequential model (without the optimizer), in save order.
pub(crate) fn model_groups(model: &Sequential) -> Vec<VarGroup> {
    let mut out = vec![VarGroup { path: "vars".into(), name: model.name().to_string(), weights: vec![] }];
    let mut used = HashMap::new();
    let mut offset = 0;
    for layer in model.layers() {
        let key = unique(to_snake_case(layer.class_name()), &mut used);
        let n = layer.weights().len();
        layer_groups(layer.as_ref(), &format!("layers/{key}"), offset, &mut out);
        offset += n;
    }
    out
}

/// A layer's own `vars` group, then each sub-layer's groups under its attribute (Keras
/// `_save_state` over `_walk_saveable`): `cell` of an RNN, `forward_layer` /
/// `backward_layer` of Bidirectional, `layer` of TimeDistributed, the attributes of a user
/// layer; items of a list attribute under `<attr>/<snake_case(class)>[_n]`. The model index of
/// each of the layer's weights starts at `offset`, in [`Layer::weights`] order.
pub(crate) fn layer_groups(layer: &dyn Layer, prefix: &str, offset: usize, out: &mut Vec<VarGroup>) {
    let n = layer.weights().len();
    layer_groups_at(layer, prefix, &(offset..offset + n).collect::<Vec<_>>(), out);
}

/// [`layer_groups`] with the model index of each of the layer's weights given (`indices[i]`
/// for `layer.weights()[i]`). Each group's entries are found by identity, so a variable a
/// layer also tracks as its own (SpectralNormalization's `kernel`, which is its wrapped
/// layer's) is saved in both groups, as Keras saves it.
fn layer_groups_at(layer: &dyn Layer, prefix: &str, indices: &[usize], out: &mut Vec<VarGroup>) {
    let all = layer.weights();
    let index_of = |v: &Variable| all.iter().position(|w| std::ptr::eq(*w, v)).map(|i| indices[i]);
    out.push(VarGroup {
        path: format!("{prefix}/vars"),
        name: layer.name().to_string(),
        weights: keras_own_order(layer.own_weights()).into_iter().filter_map(index_of).collect(),
    });
    let mut used_in_list: HashMap<String, HashMap<String, usize>> = HashMap::new();
    for sub in layer.sublayers() {
        let path = if sub.in_list {
            let used = used_in_list.entry(sub.attr.to_string()).or_default();
            let key = unique(to_snake_case(sub.layer.class_name()), used);
            format!("{prefix}/{}/{key}", sub.attr)
        } else {
            format!("{prefix}/{}", sub.attr)
        };
        let sub_indices: Vec<usize> = sub.layer.weights().into_iter().filter_map(index_of).collect();
        layer_groups_at(sub.layer, &path, &sub_indices, out);
    }
}

/// Every variable group of a subclassed model (Keras `Model` subclass) whose layer is
/// `root`: the model's own `vars`, then its attributes in Keras's visiting order (names
/// sorted, private ones last), where the model's `layers` property is one more list
/// attribute holding every direct sub-layer. Each layer is saved at the first path that
/// reaches it (`hidden/vars`, then `layers/dense_1/vars` for a layer first reached there).
pub(crate) fn subclassed_groups(model_name: &str, root: &dyn Layer) -> Vec<VarGroup> {
    let own = root.own_weights().len();
    let mut out =
        vec![VarGroup { path: "vars".into(), name: model_name.to_string(), weights: (0..own).collect() }];
    let subs = root.sublayers();
    let mut offsets = Vec::with_capacity(subs.len());
    let mut at = own;
    for s in &subs {
        offsets.push(at);
        at += s.layer.weights().len();
    }
    // (attribute, is a list, sub-layer indices)
    let mut attrs: Vec<(String, bool, Vec<usize>)> = Vec::new();
    for (i, s) in subs.iter().enumerate() {
        match attrs.iter_mut().find(|(a, list, _)| *a == s.attr && *list && s.in_list) {
            Some((_, _, items)) => items.push(i),
            None => attrs.push((s.attr.to_string(), s.in_list, vec![i])),
        }
    }
    attrs.push(("layers".into(), true, (0..subs.len()).collect()));
    // Python's `_name_key`: private attributes are visited last.
    let key = |a: &str| if a.starts_with('_') { format!("~{a}") } else { a.to_string() };
    attrs.sort_by_key(|(a, _, _)| key(a));
    let mut visited = vec![false; subs.len()];
    for (attr, list, items) in attrs {
        let mut used = HashMap::new();
        for i in items {
            let path = if list {
                format!("{attr}/{}", unique(to_snake_case(subs[i].layer.class_name()), &mut used))
            } else {
                attr.clone()
            };
            if !visited[i] {
                visited[i] = true;
                layer_groups(subs[i].layer, &path, offsets[i], &mut out);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::{Bidirectional, Dense, Dropout, Input, TimeDistributed, LSTM};

    #[test]
    fn paths_follow_class_names_and_nesting() {
        let mut m = Sequential::new().with_name("m");
        m.add(Input::new(&[5, 3])).unwrap();
        m.add(Bidirectional::new(LSTM::new(2).return_sequences(true))).unwrap();
        m.add(TimeDistributed::new(Dense::new(2).name("inner"))).unwrap();
        m.add(LSTM::new(2).name("my_lstm")).unwrap();
        m.add(Dropout::new(0.1)).unwrap();
        m.add(Dense::new(1).name("a")).unwrap();
        m.add(Dense::new(1).name("b")).unwrap();
        let g = model_groups(&m);
        let paths: Vec<(&str, &str, Vec<usize>)> =
            g.iter().map(|v| (v.path.as_str(), v.name.as_str(), v.weights.clone())).collect();
        let bi = m.layers()[0].name().to_string();
        let td = m.layers()[1].name().to_string();
        let dr = m.layers()[3].name().to_string();
        assert_eq!(
            paths,
            vec![
                ("vars", "m", vec![]),
                ("layers/bidirectional/vars", bi.as_str(), vec![]),
                ("layers/bidirectional/forward_layer/vars", paths[2].1, vec![]),
                ("layers/bidirectional/forward_layer/cell/vars", "lstm_cell", vec![0, 1, 2]),
                ("layers/bidirectional/backward_layer/vars", paths[4].1, vec![]),
                ("layers/bidirectional/backward_layer/cell/vars", "lstm_cell", vec![3, 4, 5]),
                ("layers/time_distributed/vars", td.as_str(), vec![]),
                ("layers/time_distributed/layer/vars", "inner", vec![6, 7]),
                ("layers/lstm/vars", "my_lstm", vec![]),
                ("layers/lstm/cell/vars", "lstm_cell", vec![8, 9, 10]),
                ("layers/dropout/vars", dr.as_str(), vec![]),
                ("layers/dense/vars", "a", vec![11, 12]),
                ("layers/dense_1/vars", "b", vec![13, 14]),
            ]
        );
        assert!(paths[2].1.starts_with("forward_") && paths[4].1.starts_with("backward_"));
    }
}
