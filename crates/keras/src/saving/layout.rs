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
use crate::layers::rnn::TimeDistributed;
use crate::layers::Layer;
use crate::layers::MultiHeadAttention;
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
fn unique(name: String, used: &mut HashMap<String, usize>) -> String {
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

fn is_rnn(class: &str) -> bool {
    matches!(class, "SimpleRNN" | "LSTM" | "GRU")
}

/// An RNN layer: an empty `vars` of its own, the weights on its `cell`.
fn rnn_groups(class: &str, name: &str, prefix: &str, weights: Vec<usize>, out: &mut Vec<VarGroup>) {
    out.push(VarGroup { path: format!("{prefix}/vars"), name: name.to_string(), weights: vec![] });
    out.push(VarGroup {
        path: format!("{prefix}/cell/vars"),
        name: format!("{}_cell", to_snake_case(class)),
        weights,
    });
}

fn layer_groups(layer: &dyn Layer, prefix: &str, offset: usize, out: &mut Vec<VarGroup>) {
    let n = layer.weights().len();
    let all: Vec<usize> = (offset..offset + n).collect();
    let class = layer.class_name();
    if is_rnn(class) {
        rnn_groups(class, layer.name(), prefix, all, out);
    } else if class == "Bidirectional" {
        out.push(VarGroup {
            path: format!("{prefix}/vars"),
            name: layer.name().to_string(),
            weights: vec![],
        });
        // Weights are the forward layer's, then the backward layer's (same cell type).
        let cfg = layer.get_config();
        let half = n / 2;
        for (key, sub, range) in [
            ("forward_layer", &cfg["layer"], offset..offset + half),
            ("backward_layer", &cfg["backward_layer"], offset + half..offset + n),
        ] {
            let sub_class = sub["class_name"].as_str().unwrap_or("LSTM");
            let sub_name = sub["config"]["name"].as_str().unwrap_or(key);
            rnn_groups(sub_class, sub_name, &format!("{prefix}/{key}"), range.collect(), out);
        }
    } else if let Some(mha) = layer.as_any().downcast_ref::<MultiHeadAttention>() {
        // No variables of its own; each projection under its attribute name, then the
        // variable-free softmax and dropout sub-layers Keras also walks.
        out.push(VarGroup {
            path: format!("{prefix}/vars"),
            name: layer.name().to_string(),
            weights: vec![],
        });
        let mut at = offset;
        for (attr, sub) in mha.sublayers() {
            let k = sub.weights().len();
            out.push(VarGroup {
                path: format!("{prefix}/{attr}/vars"),
                name: sub.name().to_string(),
                weights: (at..at + k).collect(),
            });
            at += k;
        }
        for (attr, name) in [("_softmax", "softmax"), ("_dropout_layer", "dropout")] {
            out.push(VarGroup {
                path: format!("{prefix}/{attr}/vars"),
                name: name.to_string(),
                weights: vec![],
            });
        }
    } else if let Some(td) = layer.as_any().downcast_ref::<TimeDistributed>() {
        out.push(VarGroup {
            path: format!("{prefix}/vars"),
            name: layer.name().to_string(),
            weights: vec![],
        });
        layer_groups(td.layer(), &format!("{prefix}/layer"), offset, out);
    } else {
        out.push(VarGroup { path: format!("{prefix}/vars"), name: layer.name().to_string(), weights: all });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::{Bidirectional, Dense, Dropout, Input, LSTM};

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

    #[test]
    fn multi_head_attention_projections_go_under_their_attributes() {
        let mut mha = MultiHeadAttention::new(2, 3).use_gate(true).name("mha");
        mha.build_multi(&[vec![None, Some(4), Some(5)], vec![None, Some(6), Some(5)]]).unwrap();
        let mut out = Vec::new();
        layer_groups(&mha, "layers/multi_head_attention", 3, &mut out);
        let got: Vec<(&str, &str, Vec<usize>)> =
            out.iter().map(|v| (v.path.as_str(), v.name.as_str(), v.weights.clone())).collect();
        // Keras 3.15's own file for this layer has exactly these groups.
        assert_eq!(
            got,
            vec![
                ("layers/multi_head_attention/vars", "mha", vec![]),
                ("layers/multi_head_attention/query_dense/vars", "query", vec![3, 4]),
                ("layers/multi_head_attention/key_dense/vars", "key", vec![5, 6]),
                ("layers/multi_head_attention/_gate_dense/vars", "gate", vec![7, 8]),
                ("layers/multi_head_attention/value_dense/vars", "value", vec![9, 10]),
                ("layers/multi_head_attention/output_dense/vars", "attention_output", vec![11, 12]),
                ("layers/multi_head_attention/_softmax/vars", "softmax", vec![]),
                ("layers/multi_head_attention/_dropout_layer/vars", "dropout", vec![]),
            ]
        );
    }
}
