//! Tests of the convolution variants: Keras configs (exact, key order included), argument
//! errors, groups against an equivalent dense kernel, causal padding, and training.

use serde_json::Value;

use super::{Conv1D, Conv2D, Conv2DTranspose, DepthwiseConv2D, SeparableConv2D};
use crate::layers::{self, CallContext, Input, Layer};
use crate::models::Sequential;
use crate::{Error, Tensor};

fn case(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/oracle/layer/{name}/case.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).expect("fixture")).expect("json")
}

fn shape_of(v: &Value) -> Vec<Option<usize>> {
    v.as_array().unwrap().iter().map(|d| d.as_u64().map(|x| x as usize)).collect()
}

fn rand(shape: &[usize], seed: f32) -> Tensor {
    let n: usize = shape.iter().product();
    Tensor::new((0..n).map(|i| ((i as f32 + seed) * 0.7311).sin()).collect(), shape.to_vec()).unwrap()
}

fn max_diff(a: &Tensor, b: &Tensor) -> f32 {
    assert_eq!(a.shape(), b.shape());
    a.as_f32().unwrap().iter().zip(b.as_f32().unwrap()).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

/// `from_config(serialized)` then `serialize()` after build reproduces Keras's JSON, byte for
/// byte (key order included), and the weights have Keras's names and shapes.
#[test]
fn configs_round_trip_exactly() {
    for name in [
        "conv1d_valid",
        "conv1d_same_strided",
        "conv1d_causal_dilated",
        "conv2d_transpose_same",
        "conv2d_transpose_valid",
        "depthwise_conv2d",
        "separable_conv2d",
        "conv2d_same",
    ] {
        let c = case(name);
        let mut layer = layers::deserialize(&c["serialized"]).unwrap();
        assert_eq!(layer.class_name(), c["class_name"].as_str().unwrap());
        assert_eq!(
            serde_json::to_string(&layer.get_config()).unwrap(),
            serde_json::to_string(&c["config"]).unwrap(),
            "{name}: get_config"
        );
        layer.build(&shape_of(&c["input_shape"])).unwrap();
        assert_eq!(
            serde_json::to_string(&layer.serialize()).unwrap(),
            serde_json::to_string(&c["serialized"]).unwrap(),
            "{name}: serialize"
        );
        let metas = c["weights"].as_array().unwrap();
        let ws = layer.weights();
        assert_eq!(ws.len(), metas.len(), "{name}");
        for (w, m) in ws.iter().zip(metas) {
            assert_eq!(w.name(), m["name"].as_str().unwrap(), "{name}");
            assert_eq!(w.path(), m["path"].as_str().unwrap(), "{name}");
            let want: Vec<usize> =
                m["shape"].as_array().unwrap().iter().map(|d| d.as_u64().unwrap() as usize).collect();
            assert_eq!(w.shape(), want.as_slice(), "{name}");
        }
        let out = layer.compute_output_shape(&shape_of(&c["input_shape"])).unwrap();
        let want: Vec<Option<usize>> = c["arrays"]["output"]["shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_u64().map(|x| x as usize))
            .collect();
        assert_eq!(out, want, "{name}: compute_output_shape");
    }
}

#[test]
fn builder_configs_match_keras_defaults() {
    let c = Conv1D::new(4, 3).padding("causal").dilation_rate(2).activation("relu").name("conv1d");
    assert_eq!(
        serde_json::to_string(&c.get_config()).unwrap(),
        serde_json::to_string(&case("conv1d_causal_dilated")["config"]).unwrap()
    );
    let d =
        DepthwiseConv2D::new([3, 3]).depth_multiplier(2).strides([2, 2]).padding("same").name("depthwise");
    assert_eq!(
        serde_json::to_string(&d.get_config()).unwrap(),
        serde_json::to_string(&case("depthwise_conv2d")["config"]).unwrap()
    );
    let s = SeparableConv2D::new(4, [3, 3]).name("separable");
    assert_eq!(
        serde_json::to_string(&s.get_config()).unwrap(),
        serde_json::to_string(&case("separable_conv2d")["config"]).unwrap()
    );
    let t = Conv2DTranspose::new(2, [3, 3]).strides([2, 2]).name("conv2d_transpose");
    assert_eq!(
        serde_json::to_string(&t.get_config()).unwrap(),
        serde_json::to_string(&case("conv2d_transpose_valid")["config"]).unwrap()
    );
    let g = Conv2D::new(6, [3, 3]).groups(3);
    assert_eq!(g.get_config()["groups"], 3);
    let back = Conv2D::from_config(&g.get_config()).unwrap();
    assert_eq!(back.get_config(), g.get_config());
    let t = Conv2DTranspose::new(2, [3, 3]).strides([2, 2]).output_padding([1, 0]);
    assert_eq!(t.get_config()["output_padding"], serde_json::json!([1, 0]));
    assert_eq!(Conv2DTranspose::from_config(&t.get_config()).unwrap().get_config(), t.get_config());
}

/// The config reader of the one declaration: required keys, the keys of another family
/// (not read, not written), `causal` only for `Conv1D`, the value types.
#[test]
fn config_reader_follows_each_family() {
    let conv = Conv2D::new(4, [3, 3]).get_config();
    let depthwise = DepthwiseConv2D::new([3, 3]).get_config();
    let without = |cfg: &Value, key: &str| {
        let mut c = cfg.clone();
        c.as_object_mut().unwrap().remove(key);
        c
    };
    let with = |cfg: &Value, key: &str, v: Value| {
        let mut c = cfg.clone();
        c[key] = v;
        c
    };
    let e = Conv2D::from_config(&without(&conv, "filters")).err().unwrap().to_string();
    assert!(e.contains("Conv2D config needs `filters`"), "{e}");
    let e = Conv2D::from_config(&with(&conv, "filters", Value::Null)).err().unwrap().to_string();
    assert!(e.contains("Conv2D config needs `filters`"), "{e}");
    let e = SeparableConv2D::from_config(&without(&SeparableConv2D::new(2, [3, 3]).get_config(), "filters"));
    assert!(e.err().unwrap().to_string().contains("SeparableConv2D config needs `filters`"));
    let e = DepthwiseConv2D::from_config(&without(&depthwise, "kernel_size")).err().unwrap().to_string();
    assert!(e.contains("DepthwiseConv2D config needs `kernel_size`"), "{e}");
    // Another family's keys are ignored: not read (a bad value passes), not written.
    let d = DepthwiseConv2D::from_config(&with(&depthwise, "groups", Value::from("x"))).unwrap();
    assert_eq!(d.get_config(), depthwise);
    let d = DepthwiseConv2D::from_config(&with(&depthwise, "filters", Value::from(7))).unwrap();
    assert!(d.get_config().get("filters").is_none());
    let c = Conv2D::from_config(&with(&conv, "depth_multiplier", Value::from(0))).unwrap();
    assert_eq!(c.get_config(), conv);
    // `causal` only for Conv1D; names in any case, written lowercase.
    let e = Conv2D::from_config(&with(&conv, "padding", Value::from("causal"))).err().unwrap().to_string();
    assert!(e.contains("padding") && e.contains("causal"), "{e}");
    let c1 = Conv1D::new(2, 3).get_config();
    let c = Conv1D::from_config(&with(&c1, "padding", Value::from("CAUSAL"))).unwrap();
    assert_eq!(c.get_config()["padding"], "causal");
    let e = Conv2D::from_config(&with(&conv, "padding", Value::from(1))).err().unwrap().to_string();
    assert!(e.contains("Conv2D: `padding` must be a string"), "{e}");
    let e = Conv2D::from_config(&with(&conv, "use_bias", Value::from("no"))).err().unwrap().to_string();
    assert!(e.contains("`use_bias` must be a boolean"), "{e}");
    let e = Conv2D::from_config(&with(&conv, "groups", Value::from(-1))).err().unwrap().to_string();
    assert!(e.contains("`groups` must be a non-negative integer"), "{e}");
    let e = Conv2D::from_config(&with(&conv, "dilation_rate", serde_json::json!([1, 0]))).err().unwrap();
    assert!(e.to_string().contains("dilation_rate"), "{e}");
    // An int size is one per axis; `null` is the default.
    let c = Conv2D::from_config(&with(&with(&conv, "strides", Value::from(2)), "dilation_rate", Value::Null));
    let c = c.unwrap().get_config();
    assert_eq!(
        (c["strides"].clone(), c["dilation_rate"].clone()),
        (serde_json::json!([2, 2]), serde_json::json!([1, 1]))
    );
}

fn add_err<L: Layer>(input: &[usize], layer: L) -> Error {
    let mut m = Sequential::new();
    m.add(Input::new(input)).unwrap();
    m.add(layer).unwrap_err()
}

#[test]
fn invalid_arguments_are_errors() {
    let s = add_err(&[10, 3], Conv1D::new(4, 3).padding("full")).message().to_string();
    assert!(s.contains("full") && s.contains("causal"), "{s}");
    let s = add_err(&[8, 8, 3], Conv2D::new(4, [3, 3]).padding("causal")).message().to_string();
    assert!(s.contains("padding") && s.contains("causal"), "{s}");
    let s = add_err(&[10, 4], Conv1D::new(6, 3).groups(4)).message().to_string();
    assert!(s.contains("groups=4") && s.contains("filters=6"), "{s}");
    let s = add_err(&[10, 3], Conv1D::new(4, 3).groups(2)).message().to_string();
    assert!(s.contains("groups=2") && s.contains("3 channels"), "{s}");
    let s = add_err(&[8, 8, 3], Conv2D::new(4, [3, 3]).groups(2)).message().to_string();
    assert!(s.contains("groups=2") && s.contains("3 channels"), "{s}");
    assert!(add_err(&[8, 8, 3], Conv2D::new(4, [3, 3]).groups(0)).message().contains("groups=0"));
    let s = add_err(&[8, 8, 3], DepthwiseConv2D::new([3, 3]).depth_multiplier(0)).message().to_string();
    assert!(s.contains("depth_multiplier=0"), "{s}");
    let s = add_err(&[8, 8, 3], SeparableConv2D::new(4, [3, 3]).depth_multiplier(0)).message().to_string();
    assert!(s.contains("depth_multiplier=0"), "{s}");
    assert!(add_err(&[8, 8, 3], SeparableConv2D::new(0, [3, 3])).message().contains("filters=0"));
    assert!(add_err(&[8, 8, 3], Conv2DTranspose::new(0, [3, 3])).message().contains("filters=0"));
    let s = add_err(&[8, 8, 3], Conv2DTranspose::new(2, [3, 3]).strides([2, 2]).output_padding([2, 0]))
        .message()
        .to_string();
    // Keras 3.15 BaseConvTranspose.__init__'s message, verbatim.
    assert_eq!(
        s,
        "`output_padding` must be strictly less than `strides` for all dimensions. At dimension 0, `output_padding` is 2 but `strides` is 2. Received: output_padding=(2, 0), strides=(2, 2)"
    );
    // Kernel larger than the input under `valid` padding.
    let e = add_err(&[2, 3], Conv1D::new(4, 3));
    assert!(matches!(e, Error::Shape(_)) && e.message().contains("negative"), "{e:?}");
    let e = add_err(&[2, 2, 3], DepthwiseConv2D::new([3, 3]));
    assert!(matches!(e, Error::Shape(_)) && e.message().contains("negative"), "{e:?}");
    let e = add_err(&[2, 5, 3], SeparableConv2D::new(2, [3, 3]));
    assert!(e.message().contains("negative"), "{e:?}");
    // Wrong input rank.
    for e in [
        add_err(&[8, 8, 3], Conv1D::new(4, 3)),
        add_err(&[8, 3], Conv2DTranspose::new(4, [3, 3])),
        add_err(&[8, 3], DepthwiseConv2D::new([3, 3])),
        add_err(&[8, 3], SeparableConv2D::new(4, [3, 3])),
    ] {
        assert!(e.message().contains("expected ndim="), "{e:?}");
    }
    // from_config refuses what it cannot honour.
    let mut cfg = case("conv1d_valid")["config"].clone();
    cfg["data_format"] = "channels_middle".into();
    let e = Conv1D::from_config(&cfg).err().expect("an unknown data_format is refused");
    assert!(e.message().contains("Received: data_format=channels_middle"), "{e:?}");
    let mut cfg = case("depthwise_conv2d")["config"].clone();
    cfg["depth_multiplier"] = 0.into();
    let e = DepthwiseConv2D::from_config(&cfg).err().expect("depth_multiplier 0 is refused");
    assert!(e.message().contains("depth_multiplier=0"));
}

#[test]
fn call_rejects_wrong_inputs_without_panicking() {
    let mut c = Conv1D::new(2, 3);
    c.build(&[None, Some(6), Some(3)]).unwrap();
    let mut ctx = CallContext::new(false);
    assert!(c.call(&rand(&[2, 6, 4], 0.0), &mut ctx).is_err());
    assert!(c.call(&rand(&[2, 6, 3, 1], 0.0), &mut ctx).is_err());
    assert!(c.call(&rand(&[2, 2, 3], 0.0), &mut ctx).is_err());
    let mut d = DepthwiseConv2D::new([3, 3]);
    d.build(&[None, Some(5), Some(5), Some(2)]).unwrap();
    assert!(d.call(&rand(&[1, 2, 2, 2], 0.0), &mut ctx).is_err());
    assert!(d.call(&rand(&[1, 5, 5, 3], 0.0), &mut ctx).is_err());
    let t = Conv2DTranspose::new(2, [3, 3]);
    assert!(t.call(&rand(&[1, 5, 5, 3], 0.0), &mut ctx).is_err(), "not built");
}

/// A grouped convolution equals a dense one whose kernel is zero between groups.
#[test]
fn groups_match_block_diagonal_dense_kernel() {
    let (cin, filters, groups) = (4, 6, 2);
    let (cig, cog) = (cin / groups, filters / groups);
    let mut g = Conv2D::new(filters, [3, 2]).groups(groups).padding("same").strides([2, 1]);
    let mut d = Conv2D::new(filters, [3, 2]).padding("same").strides([2, 1]);
    let shape = [None, Some(5), Some(4), Some(cin)];
    g.build(&shape).unwrap();
    d.build(&shape).unwrap();
    let wg = rand(&[3, 2, cig, filters], 1.0);
    let wgv = wg.as_f32().unwrap();
    let mut full = vec![0.0; 3 * 2 * cin * filters];
    for t in 0..6 {
        for ci in 0..cin {
            let gi = ci / cig;
            for co in gi * cog..(gi + 1) * cog {
                full[(t * cin + ci) * filters + co] = wgv[(t * cig + ci % cig) * filters + co];
            }
        }
    }
    let b = rand(&[filters], 2.0);
    g.set_weights(&[wg, b.clone()]).unwrap();
    d.set_weights(&[Tensor::new(full, vec![3, 2, cin, filters]).unwrap(), b]).unwrap();
    let x = rand(&[2, 5, 4, cin], 3.0);
    let mut ctx = CallContext::new(false);
    let (yg, yd) = (g.call(&x, &mut ctx).unwrap(), d.call(&x, &mut ctx).unwrap());
    assert!(max_diff(&yg, &yd) < 1e-5);

    // Conv1D groups: same check through the 1-D path.
    let mut c1 = Conv1D::new(filters, 3).groups(groups);
    c1.build(&[None, Some(7), Some(cin)]).unwrap();
    assert_eq!(c1.weights()[0].shape(), &[3, cig, filters]);
    let y = c1.call(&rand(&[2, 7, cin], 0.5), &mut ctx).unwrap();
    assert_eq!(y.shape(), &[2, 5, filters]);
}

/// Causal Conv1D: changing input step t changes no output before t; output length stays.
#[test]
fn causal_conv1d_sees_only_the_past() {
    let mut c = Conv1D::new(3, 3).padding("causal").dilation_rate(2);
    c.build(&[None, Some(9), Some(2)]).unwrap();
    c.set_weights(&[rand(&[3, 2, 3], 1.0), rand(&[3], 2.0)]).unwrap();
    let x = rand(&[1, 9, 2], 0.0);
    let mut ctx = CallContext::new(false);
    let y = c.call(&x, &mut ctx).unwrap();
    assert_eq!(y.shape(), &[1, 9, 3]);
    let mut x2 = x.detach();
    x2.f32_mut().unwrap()[5 * 2] += 1.0;
    let y2 = c.call(&x2, &mut ctx).unwrap();
    let (a, b) = (y.as_f32().unwrap(), y2.as_f32().unwrap());
    assert!(a[..5 * 3].iter().zip(&b[..5 * 3]).all(|(p, q)| p == q));
    assert!(a[5 * 3..].iter().zip(&b[5 * 3..]).any(|(p, q)| p != q));
    // Strided causal: ceil(len / stride).
    let c = Conv1D::new(3, 3).padding("causal").strides(2);
    assert_eq!(c.compute_output_shape(&[None, Some(9), Some(2)]).unwrap(), vec![None, Some(5), Some(3)]);
}

/// The new layers train inside a Sequential model (gradients reach every weight).
#[test]
fn variants_train_in_a_model() {
    crate::backend::clear_session();
    keras_engine::set_random_seed(7);
    let mut m = Sequential::new();
    m.add(Input::new(&[8, 8, 2])).unwrap();
    m.add(DepthwiseConv2D::new([3, 3]).depth_multiplier(2).padding("same").activation("relu")).unwrap();
    m.add(SeparableConv2D::new(4, [3, 3]).strides([2, 2]).padding("same").activation("tanh")).unwrap();
    m.add(Conv2DTranspose::new(4, [3, 3]).strides([2, 2]).padding("same")).unwrap();
    m.add(Conv2D::new(4, [1, 1]).groups(2).activation("relu")).unwrap();
    m.add(layers::Reshape::new(&[64, 4])).unwrap();
    m.add(Conv1D::new(2, 3).padding("causal")).unwrap();
    m.compile("adam", "mse", &[]).unwrap();
    let x = rand(&[4, 8, 8, 2], 0.0);
    let y = rand(&[4, 64, 2], 5.0);
    let before: Vec<Tensor> = m.layers().iter().flat_map(|l| l.get_weights()).collect();
    let h = m.fit(&x, &y, crate::FitArgs::default().epochs(3).batch_size(2).verbose(0)).unwrap();
    let losses = &h.history["loss"];
    assert!(losses.iter().all(|l| l.is_finite()));
    let after: Vec<Tensor> = m.layers().iter().flat_map(|l| l.get_weights()).collect();
    for (b, a) in before.iter().zip(&after) {
        if b.numel() > 0 && b.as_f32().unwrap().iter().any(|v| *v != 0.0) {
            assert!(max_diff(b, a) > 0.0, "a weight did not move");
        }
    }
}
