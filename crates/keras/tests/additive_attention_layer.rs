//! AdditiveAttention is [`Attention`](keras::layers::Attention)'s machinery with additive
//! scores: each `Layer` method it answers (shapes, masks, calls with and without keyword
//! arguments, weights, config, saving) is pinned here, with the scores worked out by hand,
//! so that none of them can fall back to a trait default unnoticed.

// `&[x.clone()]` reads as "the list of inputs" in these tests.
#![allow(clippy::cloned_ref_to_slice_refs)]

mod common;

use keras::layers::{AdditiveAttention, CallContext, CallKwargs, Layer, ShapeKwargs};
use keras::models::{Functional, Model, SymbolicCall};
use keras::{Input, Tensor};
use serde_json::json;

/// Distinct values in `[-1, 1)` of the given shape.
fn ramp(shape: &[usize], seed: usize) -> Tensor {
    let n: usize = shape.iter().product();
    let data = (0..n).map(|i| ((i * 7 + seed * 5) % 17) as f32 / 8.5 - 1.0).collect();
    Tensor::new(data, shape.to_vec()).unwrap()
}

/// Keras's additive attention in plain loops: `scores[i][j] = sum(scale * tanh(q_i + k_j))`,
/// masked value steps at -1e9, softmax over `j`, times the value, times the query mask.
fn reference(q: &Tensor, v: &Tensor, scale: &[f32], v_mask: &[f32], q_mask: &[f32]) -> Vec<f32> {
    let (b, tq, d) = (q.shape()[0], q.shape()[1], q.shape()[2]);
    let tv = v.shape()[1];
    let (q, v) = (q.to_f32_vec(), v.to_f32_vec());
    let mut out = vec![0.0; b * tq * d];
    for n in 0..b {
        for i in 0..tq {
            let scores: Vec<f32> = (0..tv)
                .map(|j| {
                    let s: f32 = (0..d)
                        .map(|k| scale[k] * (q[(n * tq + i) * d + k] + v[(n * tv + j) * d + k]).tanh())
                        .sum();
                    s - 1e9 * (1.0 - v_mask[n * tv + j])
                })
                .collect();
            let top = scores.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
            let e: Vec<f32> = scores.iter().map(|s| (s - top).exp()).collect();
            let total: f32 = e.iter().sum();
            for k in 0..d {
                let y: f32 = (0..tv).map(|j| e[j] / total * v[(n * tv + j) * d + k]).sum();
                out[(n * tq + i) * d + k] = y * q_mask[n * tq + i];
            }
        }
    }
    out
}

fn close(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() <= 1e-5)
}

const SINGLE: &str = "AdditiveAttention layer must be called on a list of inputs, namely [query, value] or \
                      [query, value, key]. Received: a single tensor.";

#[test]
fn a_single_tensor_gets_keras_error_from_every_entry_point() {
    let mut l = AdditiveAttention::new();
    let s = [None, Some(2), Some(3)];
    assert_eq!(common::err(l.compute_output_shape(&s)), SINGLE);
    assert_eq!(common::err(l.build(&s)), SINGLE);
    assert_eq!(common::err(l.call(&ramp(&[1, 2, 3], 0), &mut CallContext::new(false))), SINGLE);
}

#[test]
fn shapes_weights_and_trainability() {
    let mut l = AdditiveAttention::new().name("att");
    assert_eq!(l.class_name(), "AdditiveAttention");
    assert!(l.takes_list());
    assert_eq!(l.call_kwarg_names(), ["return_attention_scores", "use_causal_mask"]);
    let shapes = [vec![None, Some(2), Some(3)], vec![None, Some(4), Some(3)]];
    assert_eq!(l.compute_output_shapes(&shapes).unwrap(), [shapes[0].clone()]);
    let scores = ShapeKwargs::new().with_value("return_attention_scores", json!(true));
    assert_eq!(
        l.compute_output_shapes_with_kwargs(&shapes, &scores).unwrap(),
        [shapes[0].clone(), vec![None, Some(2), Some(4)]]
    );
    // The keyword checks are Attention's.
    let bad = ShapeKwargs::new().with_value("heads", json!(2));
    assert_eq!(
        common::err(l.compute_output_shapes_with_kwargs(&shapes, &bad)),
        "AdditiveAttention.call() got an unexpected keyword argument 'heads'"
    );
    l.build_multi(&shapes).unwrap();
    let paths: Vec<&str> = l.weights().iter().map(|w| w.path()).collect();
    assert_eq!(paths, ["att/scale"]);
    assert_eq!(l.weights()[0].shape(), &[3]);
    assert_eq!(l.count_params(), 3);
    l.set_trainable(false);
    assert!(l.trainable_weights().is_empty());
    assert_eq!(l.non_trainable_weights().len(), 1);
    // The mutable list is the same variable.
    l.weights_mut()[0].assign(&Tensor::new(vec![1.0, 2.0, 3.0], vec![3]).unwrap()).unwrap();
    assert_eq!(l.get_weights()[0].to_f32_vec(), [1.0, 2.0, 3.0]);

    let mut plain = AdditiveAttention::new().use_scale(false);
    plain.build_with_kwargs(&shapes, &ShapeKwargs::new()).unwrap();
    assert!(plain.weights().is_empty());
}

#[test]
fn calls_and_masks_match_the_hand_computed_scores() {
    let mut l = AdditiveAttention::new();
    let (q, v) = (ramp(&[2, 2, 3], 1), ramp(&[2, 4, 3], 2));
    l.build_multi(&[vec![None, Some(2), Some(3)], vec![None, Some(4), Some(3)]]).unwrap();
    let scale = [0.5f32, -1.0, 0.25];
    l.set_weights(&[Tensor::new(scale.to_vec(), vec![3]).unwrap()]).unwrap();
    let v_mask = [1.0f32, 1.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0];
    let q_mask = [1.0f32, 0.0, 1.0, 1.0];
    let masks = [
        Some(Tensor::new(q_mask.to_vec(), vec![2, 2]).unwrap()),
        Some(Tensor::new(v_mask.to_vec(), vec![2, 4]).unwrap()),
    ];
    let want = reference(&q, &v, &scale, &v_mask, &q_mask);
    let inputs = [q.clone(), v.clone()];

    let out = l.call_multi(&inputs, &masks, &mut CallContext::new(false)).unwrap();
    assert_eq!(out.len(), 1);
    assert!(close(&out[0].to_f32_vec(), &want), "{:?} vs {want:?}", out[0].to_f32_vec());
    // No masks: every value step counts.
    let bare = l.call_multi(&inputs, &[None, None], &mut CallContext::new(false)).unwrap();
    assert!(close(&bare[0].to_f32_vec(), &reference(&q, &v, &scale, &[1.0; 8], &[1.0; 4])));

    let kw = CallKwargs::new().with_value("return_attention_scores", json!(true));
    let both = l.call_with_kwargs(&inputs, &masks, &kw, &mut CallContext::new(false)).unwrap();
    assert_eq!(both.len(), 2);
    assert!(close(&both[0].to_f32_vec(), &want));
    assert_eq!(both[1].shape(), &[2, 2, 4]);
    // Each query step's weights sum to one, and the masked value steps get none.
    let w = both[1].to_f32_vec();
    for row in w.chunks(4) {
        assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-5);
    }
    assert_eq!(&w[2..4], [0.0, 0.0]);

    // The output mask is the query's; the scores get none.
    let m = l.compute_masks(&inputs, &masks).unwrap();
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].as_ref().unwrap().to_f32_vec(), q_mask);
    let m = l.compute_masks_with_kwargs(&inputs, &masks, &kw).unwrap();
    assert_eq!(m.len(), 2);
    assert!(m[1].is_none());
}

#[test]
fn config_and_save_load_round_trip() {
    keras::utils::set_random_seed(3);
    let (q, v) = (Input::named(&[2, 3], "q"), Input::named(&[4, 3], "v"));
    let att = AdditiveAttention::new().dropout(0.25).seed(7).name("add");
    let want_config = json!({
        "name": "add", "trainable": true,
        "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null},
        "use_scale": true, "dropout": 0.25, "seed": 7
    });
    assert_eq!(att.get_config(), want_config);
    let ser = att.serialize();
    assert_eq!(ser["class_name"], "AdditiveAttention");
    assert_eq!(keras::layers::deserialize(&ser).unwrap().get_config(), want_config);

    let out = att.apply_list(&[&q, &v]).unwrap();
    let model = Model::named("m", &[q, v], &[out]).unwrap();
    let layer = model.get_layer("add").unwrap().layer();
    assert_eq!(layer.serialize()["build_config"], json!({"input_shape": [[null, 2, 3], [null, 4, 3]]}));
    let xs = [ramp(&[2, 2, 3], 3), ramp(&[2, 4, 3], 4)];
    let want = model.predict_on_batch(&xs).unwrap();
    let dir = common::TempDir::new("additive_round_trip");
    for file in ["m.keras", "m.h5"] {
        let p = dir.join(file);
        model.save(&p).unwrap();
        let back = Functional::load(&p).unwrap();
        assert_eq!(back.get_config(), model.get_config(), "{file}");
        let back_layer = back.get_layer("add").unwrap().layer();
        assert_eq!(back_layer.get_config(), want_config, "{file}");
        assert_eq!(back_layer.get_weights()[0].to_f32_vec(), layer.get_weights()[0].to_f32_vec(), "{file}");
        assert!(close(&back.predict_on_batch(&xs).unwrap()[0].to_f32_vec(), &want[0].to_f32_vec()), "{file}");
    }
}
