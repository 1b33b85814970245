//! Merging, attention and EinsumDense layers against Keras 3.15: every case in
//! `tests/fixtures/merging_attention` (made by its `make_cases.py`) is rebuilt from Keras's
//! serialized layer, given Keras's weights, called with the same inputs, masks and keyword
//! arguments, and compared on outputs, output masks, shapes, config, weight paths and the
//! gradients with respect to inputs and weights. MultiHeadAttention's gradients are also
//! checked against finite differences.

use std::path::PathBuf;

use keras::layers::{deserialize, CallContext, CallKwargs, Layer, ShapeKwargs};
use keras::{GradientTape, Tensor};
use serde_json::Value;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/merging_attention")
}

fn tensor(v: &Value) -> Tensor {
    let shape: Vec<usize> =
        v["shape"].as_array().unwrap().iter().map(|d| d.as_u64().unwrap() as usize).collect();
    let data: Vec<f32> = v["data"].as_array().unwrap().iter().map(|d| d.as_f64().unwrap() as f32).collect();
    Tensor::new(data, shape).unwrap()
}

fn opt_tensor(v: &Value) -> Option<Tensor> {
    (!v.is_null()).then(|| tensor(v))
}

fn shape_of(t: &Tensor) -> Vec<Option<usize>> {
    t.shape().iter().map(|&d| Some(d)).collect()
}

/// Largest `|a - b| - rtol * |b|` over the elements (<= atol passes).
fn max_diff(a: &Tensor, b: &Tensor, what: &str) -> f32 {
    assert_eq!(a.shape(), b.shape(), "{what}: shapes differ");
    a.to_f32_vec().iter().zip(b.to_f32_vec()).map(|(x, y)| (x - y).abs() - 1e-4 * y.abs()).fold(0.0, f32::max)
}

struct Case {
    name: String,
    json: Value,
    layer: Box<dyn Layer>,
    inputs: Vec<Tensor>,
    masks: Vec<Option<Tensor>>,
    kwargs: CallKwargs,
}

fn load(name: &str) -> Case {
    let text = std::fs::read_to_string(dir().join(format!("{name}.json"))).unwrap();
    let json: Value = serde_json::from_str(&text).unwrap();
    let layer = deserialize(&json["layer"]).unwrap_or_else(|e| panic!("{name}: {e}"));
    let inputs: Vec<Tensor> = json["inputs"].as_array().unwrap().iter().map(tensor).collect();
    let masks: Vec<Option<Tensor>> = json["masks"].as_array().unwrap().iter().map(opt_tensor).collect();
    let mut kwargs = CallKwargs::new();
    for (k, v) in json["kwargs"].as_object().unwrap() {
        kwargs = kwargs.with_value(k, v.clone());
    }
    for (k, v) in json["kwarg_tensors"].as_object().unwrap() {
        let mask = json["kwarg_masks"].get(k).map(tensor);
        kwargs = kwargs.with_masked_tensor(k, tensor(v), mask);
    }
    Case { name: name.to_string(), json, layer, inputs, masks, kwargs }
}

fn case_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir())
        .unwrap()
        .filter_map(|e| {
            let p = e.unwrap().path();
            let stem = p.file_stem()?.to_str()?.to_string();
            (p.extension()? == "json" && stem != "errors").then_some(stem)
        })
        .collect();
    names.sort();
    names
}

/// Builds the layer on the case's shapes and gives it Keras's weights.
fn build(c: &mut Case) {
    let shapes: Vec<_> = c.inputs.iter().map(shape_of).collect();
    let kw: ShapeKwargs = c.kwargs.shapes();
    c.layer.build_with_kwargs(&shapes, &kw).unwrap_or_else(|e| panic!("{}: build: {e}", c.name));
    let weights: Vec<Tensor> = c.json["weights"].as_array().unwrap().iter().map(tensor).collect();
    c.layer.set_weights(&weights).unwrap_or_else(|e| panic!("{}: set_weights: {e}", c.name));
}

#[test]
fn every_case_matches_keras() {
    let names = case_names();
    assert!(names.len() >= 40, "{} cases", names.len());
    let mut worst = (0.0f32, 0.0f32);
    let mut failures = Vec::new();
    for name in &names {
        // Every case runs; the failures are reported together.
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check_case(name)));
        match r {
            Ok((o, g)) => worst = (worst.0.max(o), worst.1.max(g)),
            Err(e) => failures.push(format!(
                "{name}: {}",
                e.downcast_ref::<String>()
                    .cloned()
                    .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default()
            )),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ from Keras:\n{}",
        failures.len(),
        names.len(),
        failures.join("\n")
    );
    eprintln!("{} cases; max output excess {:e}, max gradient excess {:e}", names.len(), worst.0, worst.1);
}

/// Replays one case; returns the largest output and gradient excess over the tolerance base.
fn check_case(name: &str) -> (f32, f32) {
    let (mut worst_out, mut worst_grad) = (0.0f32, 0.0f32);
    {
        let mut c = load(name);
        build(&mut c);
        let j = &c.json;
        // Config and serialization as Keras writes them.
        assert_eq!(c.layer.get_config(), j["config"], "{name}: get_config");
        let ser = c.layer.serialize();
        assert_eq!(ser["build_config"], j["layer"]["build_config"], "{name}: build_config");
        let paths: Vec<String> = c.layer.weights().iter().map(|w| w.path().to_string()).collect();
        let want: Vec<String> =
            j["weight_paths"].as_array().unwrap().iter().map(|p| p.as_str().unwrap().to_string()).collect();
        assert_eq!(paths, want, "{name}: weight paths");
        // Shapes at shape time.
        let shapes: Vec<_> = c.inputs.iter().map(shape_of).collect();
        let out_shapes = c.layer.compute_output_shapes_with_kwargs(&shapes, &c.kwargs.shapes()).unwrap();
        let want_outputs: Vec<Tensor> = j["outputs"].as_array().unwrap().iter().map(tensor).collect();
        let want_shapes: Vec<_> = want_outputs.iter().map(shape_of).collect();
        assert_eq!(out_shapes, want_shapes, "{name}: compute_output_shapes_with_kwargs");
        // Forward and gradients.
        let tape = GradientTape::new();
        let inputs: Vec<Tensor> = c.inputs.iter().map(|x| tape.watch(x)).collect();
        let mut ctx = CallContext::new(false);
        let outs = c
            .layer
            .call_with_kwargs(&inputs, &c.masks, &c.kwargs, &mut ctx)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(outs.len(), want_outputs.len(), "{name}: number of outputs");
        for (i, (o, w)) in outs.iter().zip(&want_outputs).enumerate() {
            let d = max_diff(o, w, &format!("{name} output {i}"));
            assert!(d <= 1e-5, "{name}: output {i} differs by {d}");
            worst_out = worst_out.max(d);
        }
        let cots: Vec<Tensor> = j["cotangents"].as_array().unwrap().iter().map(tensor).collect();
        let mut loss = Tensor::scalar(0.0);
        for (o, ct) in outs.iter().zip(&cots) {
            loss = keras::ops::add(&loss, &keras::ops::sum_all(&keras::ops::mul(o, ct).unwrap()).unwrap())
                .unwrap();
        }
        let tw = c.layer.trainable_weights();
        let mut sources: Vec<&Tensor> = inputs.iter().collect();
        sources.extend(tw.iter().map(|w| w.value()));
        let grads = tape.gradient(&loss, &sources).unwrap();
        let want_grads: Vec<Option<Tensor>> = j["grad_inputs"]
            .as_array()
            .unwrap()
            .iter()
            .chain(j["grad_weights"].as_array().unwrap())
            .map(opt_tensor)
            .collect();
        assert_eq!(grads.len(), want_grads.len(), "{name}: gradient count");
        for (i, (g, w)) in grads.iter().zip(&want_grads).enumerate() {
            let Some(w) = w else { continue };
            let g = g.clone().unwrap_or_else(|| Tensor::zeros(w.shape().to_vec()));
            let d = max_diff(&g, w, &format!("{name} gradient {i}"));
            assert!(d <= 2e-5, "{name}: gradient {i} differs by {d}");
            worst_grad = worst_grad.max(d);
        }
        drop(tape);
        // Output masks (non-zero = kept).
        let masks = c.layer.compute_masks_with_kwargs(&c.inputs, &c.masks, &c.kwargs).unwrap();
        let want_masks: Vec<Option<Tensor>> =
            j["output_masks"].as_array().unwrap().iter().map(opt_tensor).collect();
        for (i, w) in want_masks.iter().enumerate() {
            let got = masks.get(i).cloned().flatten();
            match (got, w) {
                (None, None) => {}
                (Some(g), Some(w)) => {
                    let g: Vec<bool> = g.to_f32_vec().iter().map(|&v| v != 0.0).collect();
                    let w: Vec<bool> = w.to_f32_vec().iter().map(|&v| v != 0.0).collect();
                    assert_eq!(g, w, "{name}: output mask {i}");
                }
                (g, w) => panic!(
                    "{name}: output mask {i}: got {:?}, Keras {:?}",
                    g.map(|t| t.shape().to_vec()),
                    w.as_ref().map(|t| t.shape().to_vec())
                ),
            }
        }
    }
    (worst_out, worst_grad)
}

#[test]
fn configs_round_trip_through_the_registry() {
    for name in case_names() {
        let c = load(&name);
        let again = deserialize(&c.layer.serialize()).unwrap();
        assert_eq!(again.get_config(), c.layer.get_config(), "{name}");
        assert_eq!(again.serialize()["class_name"], c.json["layer"]["class_name"], "{name}");
    }
}

#[test]
fn keras_error_messages() {
    use keras::layers::{
        Add, Attention, Concatenate, Dense, Dot, GroupQueryAttention, MultiHeadAttention, Subtract,
    };
    let text = std::fs::read_to_string(dir().join("errors.json")).unwrap();
    let want: Value = serde_json::from_str(&text).unwrap();
    let msg = |k: &str| want[k].as_str().unwrap().to_string();
    let s = |v: &[Option<usize>]| v.to_vec();
    let (n3, n4) = (s(&[None, Some(3)]), s(&[None, Some(4)]));
    assert_eq!(
        Add::new().build_multi(&[n3.clone(), n4.clone()]).unwrap_err().message(),
        msg("add_incompatible")
    );
    let (b2, b4) = (s(&[Some(2), Some(3)]), s(&[Some(4), Some(3)]));
    assert_eq!(Add::new().build_multi(&[b2, b4]).unwrap_err().message(), msg("add_batch"));
    assert_eq!(
        Subtract::new().build_multi(&[n3.clone(), n3.clone(), n3.clone()]).unwrap_err().message(),
        msg("subtract_three")
    );
    let (a, b) = (s(&[None, Some(2), Some(3)]), s(&[None, Some(2), Some(4)]));
    assert_eq!(
        Concatenate::new().axis(1).build_multi(&[a, b]).unwrap_err().message(),
        msg("concatenate_mismatch")
    );
    assert_eq!(
        Dot::new(1).build_multi(&[n3.clone(), n4.clone()]).unwrap_err().message(),
        msg("dot_mismatch")
    );
    assert_eq!(
        Dot::new(1).build_multi(&[n3.clone(), n3.clone(), n3.clone()]).unwrap_err().message(),
        msg("dot_three")
    );
    let mut att = Attention::new();
    att.build_multi(&[s(&[None, Some(2), Some(3)]), s(&[None, Some(2), Some(3)])]).unwrap();
    let e = att.call_multi(&[Tensor::ones([1, 2, 3])], &[None], &mut CallContext::new(false)).unwrap_err();
    assert_eq!(e.message(), msg("attention_one"));
    let e = MultiHeadAttention::new(2, 3)
        .build_multi(&[
            s(&[None, Some(4), Some(5)]),
            s(&[None, Some(6), Some(5)]),
            s(&[None, Some(7), Some(5)]),
        ])
        .unwrap_err();
    assert_eq!(e.message(), msg("mha_value_key"));
    assert_eq!(GroupQueryAttention::new(2, 3, 2).err().unwrap().message(), msg("gqa_divisible"));
    let mut gqa = GroupQueryAttention::new(2, 4, 2).unwrap().sliding_window(0);
    let e = gqa.build_multi(&[s(&[None, Some(4), Some(5)]), s(&[None, Some(6), Some(5)])]).unwrap_err();
    assert_eq!(e.message(), msg("gqa_window"));
    let e = GroupQueryAttention::new(2, 4, 2)
        .unwrap()
        .compute_output_shapes(&[s(&[None, Some(4), Some(5)]), s(&[None, Some(6), Some(3)])])
        .unwrap_err();
    assert_eq!(e.message(), msg("gqa_output_shape"));
    // keras-rs's own checks: sizes of zero, inputs other than (batch, seq, features); a config
    // is checked as the constructor checks.
    for (h, q, kv) in [(0, 2, 2), (2, 0, 2), (2, 2, 0)] {
        assert!(GroupQueryAttention::new(h, q, kv).is_err());
    }
    let e = GroupQueryAttention::new(2, 4, 2)
        .unwrap()
        .build_multi(&[s(&[None, Some(4)]), s(&[None, Some(4)])])
        .unwrap_err();
    assert!(e.message().contains("rank 3"), "{e}");
    let cfg = serde_json::json!({"module": "keras.layers", "class_name": "GroupQueryAttention",
        "config": {"head_dim": 2, "num_query_heads": 4, "num_key_value_heads": 1}});
    assert_eq!(deserialize(&cfg).unwrap().get_config()["num_key_value_heads"], 1);
    let bad = serde_json::json!({"module": "keras.layers", "class_name": "GroupQueryAttention",
        "config": {"head_dim": 2, "num_query_heads": 3, "num_key_value_heads": 2}});
    assert_eq!(deserialize(&bad).err().unwrap().message(), msg("gqa_divisible"));
    let mut d = Dense::new(2);
    d.build(&[None, Some(3)]).unwrap();
    let kw: CallKwargs = CallKwargs::new().with_value("foo", serde_json::json!(1));
    let e =
        d.call_with_kwargs(&[Tensor::ones([1, 3])], &[None], &kw, &mut CallContext::new(false)).unwrap_err();
    assert!(e.message().ends_with(&msg("dense_kwarg")), "{e}");
}

/// d(sum(out * w))/d(param) by central differences against the tape, for every weight and
/// the query of a masked, causal attention `layer` (query `(2, 3, 5)`, value `(2, 4, 5)`)
/// with `n_weights` trainable weights; returns how many entries were checked.
fn attention_gradients_match_finite_differences(layer: &mut dyn Layer, n_weights: usize) -> usize {
    let (b, t, s, d) = (2, 3, 4, 5);
    layer.build_multi(&[vec![None, Some(t), Some(d)], vec![None, Some(s), Some(d)]]).unwrap();
    let gen = |n: usize, k: f32| -> Vec<f32> { (0..n).map(|i| ((i as f32 + k) * 0.731).sin()).collect() };
    let q = Tensor::new(gen(b * t * d, 0.3), [b, t, d]).unwrap();
    let v = Tensor::new(gen(b * s * d, 1.7), [b, s, d]).unwrap();
    let vmask = Tensor::new(vec![1., 1., 0., 1., 1., 0., 1., 1.], [b, s]).unwrap();
    let cot = Tensor::new(gen(b * t * d, 5.1), [b, t, d]).unwrap();
    let kw: CallKwargs = CallKwargs::new().with_value("use_causal_mask", serde_json::json!(true));
    let run = |m: &dyn Layer, q: &Tensor| -> Tensor {
        let out = m
            .call_with_kwargs(
                &[q.clone(), v.clone()],
                &[None, Some(vmask.clone())],
                &kw,
                &mut CallContext::new(false),
            )
            .unwrap();
        keras::ops::sum_all(&keras::ops::mul(&out[0], &cot).unwrap()).unwrap()
    };
    let tape = GradientTape::new();
    let qw = tape.watch(&q);
    let loss = run(layer, &qw);
    let weights: Vec<Tensor> = layer.get_weights();
    let mut sources: Vec<&Tensor> = vec![&qw];
    let tw = layer.trainable_weights();
    assert_eq!(tw.len(), n_weights);
    sources.extend(tw.iter().map(|w| w.value()));
    let grads = tape.gradient(&loss, &sources).unwrap();
    drop(tape);
    let eps = 1e-2f32;
    let mut checked = 0;
    // The query.
    let base = q.to_f32_vec();
    for i in (0..base.len()).step_by(3) {
        let mut p = base.clone();
        p[i] += eps;
        let mut m = base.clone();
        m[i] -= eps;
        let fd = (run(layer, &Tensor::new(p, q.shape().to_vec()).unwrap()).item().unwrap()
            - run(layer, &Tensor::new(m, q.shape().to_vec()).unwrap()).item().unwrap())
            / (2.0 * eps);
        let g = grads[0].as_ref().unwrap().to_f32_vec()[i];
        assert!((fd - g).abs() < 2e-2 * (1.0 + g.abs()), "query[{i}]: fd {fd} vs tape {g}");
        checked += 1;
    }
    // Every weight, a few entries each.
    for (wi, w0) in weights.iter().enumerate() {
        let vals = w0.to_f32_vec();
        for i in (0..vals.len()).step_by((vals.len() / 4).max(1)) {
            let mut set = |delta: f32| -> f32 {
                let mut all = weights.clone();
                let mut vv = vals.clone();
                vv[i] += delta;
                all[wi] = Tensor::new(vv, w0.shape().to_vec()).unwrap();
                layer.set_weights(&all).unwrap();
                run(layer, &q).item().unwrap()
            };
            let fd = (set(eps) - set(-eps)) / (2.0 * eps);
            let g = grads[1 + wi].as_ref().map_or(0.0, |g| g.to_f32_vec()[i]);
            assert!((fd - g).abs() < 2e-2 * (1.0 + g.abs()), "weight {wi}[{i}]: fd {fd} vs tape {g}");
            checked += 1;
        }
    }
    layer.set_weights(&weights).unwrap();
    checked
}

#[test]
fn multi_head_attention_gradients_match_finite_differences() {
    use keras::layers::MultiHeadAttention;
    keras::utils::set_random_seed(7);
    let mut mha = MultiHeadAttention::new(2, 3).value_dim(2).use_gate(true);
    // query, key, gate, value, output: kernel and bias each.
    assert!(attention_gradients_match_finite_differences(&mut mha, 10) > 40);
}

#[test]
fn grouped_query_attention_gradients_match_finite_differences() {
    use keras::layers::GroupQueryAttention;
    keras::utils::set_random_seed(7);
    // Four query heads on two key/value heads: the repeat's gradient sums over each group.
    let mut gqa = GroupQueryAttention::new(2, 4, 2).unwrap().use_gate(true).sliding_window(2);
    assert!(attention_gradients_match_finite_differences(&mut gqa, 10) > 40);
}

#[test]
fn attention_dropout_only_in_training() {
    use keras::layers::Attention;
    let mut att = Attention::new().dropout(0.5).seed(3);
    att.build_multi(&[vec![None, Some(4), Some(3)], vec![None, Some(6), Some(3)]]).unwrap();
    let q = Tensor::new((0..24).map(|i| (i as f32 * 0.1).sin()).collect(), [2, 4, 3]).unwrap();
    let v = Tensor::new((0..36).map(|i| (i as f32 * 0.2).cos()).collect(), [2, 6, 3]).unwrap();
    let kw: CallKwargs = CallKwargs::new().with_value("return_attention_scores", serde_json::json!(true));
    let inf = att
        .call_with_kwargs(&[q.clone(), v.clone()], &[None, None], &kw, &mut CallContext::new(false))
        .unwrap();
    let again = att
        .call_with_kwargs(&[q.clone(), v.clone()], &[None, None], &kw, &mut CallContext::new(false))
        .unwrap();
    assert_eq!(inf[0].to_f32_vec(), again[0].to_f32_vec(), "inference is deterministic");
    let tr = att
        .call_with_kwargs(&[q.clone(), v.clone()], &[None, None], &kw, &mut CallContext::new(true))
        .unwrap();
    assert_ne!(tr[0].to_f32_vec(), inf[0].to_f32_vec(), "dropout changes the training output");
    // The returned scores are the weights after dropout, as Keras's `_apply_scores` returns
    // them: each entry dropped (0) or scaled by 1 / (1 - rate).
    let (t, i) = (tr[1].to_f32_vec(), inf[1].to_f32_vec());
    assert!(t.iter().zip(&i).all(|(t, i)| *t == 0.0 || (t - 2.0 * i).abs() < 1e-6));
    assert!(t.contains(&0.0));
}
