//! The layers added for issue 16 (Identity, UnitNormalization, GroupNormalization,
//! LayerNormalization's `rms_scaling`, Conv1DTranspose, SeparableConv1D, DepthwiseConv1D, ...)
//! and later (RMSNormalization, the adaptive poolings) as a user meets them: configs equal to Keras's (the cases of
//! `tests/fixtures/keras315/layer`, key order included), a `.keras` round trip of a small
//! Sequential and Functional model per layer with equal predictions, and the errors Keras
//! gives for bad arguments and inputs. Forward values and gradients against Keras are checked
//! by the conformance runner (`tests/oracle.rs`).

use std::path::PathBuf;

mod common;

use keras::layers::{
    self, AdaptiveAveragePooling1D, AdaptiveAveragePooling2D, AdaptiveAveragePooling3D, AdaptiveMaxPooling1D,
    AdaptiveMaxPooling2D, AdaptiveMaxPooling3D, AveragePooling3D, CallContext, CategoryEncoding,
    Conv1DTranspose, Conv3D, Conv3DTranspose, Cropping3D, Dense, DepthwiseConv1D, Discretization, Flatten,
    GRUCell, GlobalAveragePooling3D, GlobalMaxPooling3D, GroupNormalization, Hashing, Identity, Input,
    IntegerLookup, LSTMCell, Layer, LayerNormalization, MaxPooling3D, RMSNormalization, SeparableConv1D,
    SimpleRNNCell, StringLookup, UnitNormalization, UpSampling3D, ZeroPadding3D, RNN,
};
use keras::models::{load_model, Functional, Model, Sequential, SymbolicCall};
use keras::{PredictArgs, Tensor};
use serde_json::{json, Value};

/// The classes this file covers.
const NEW: [&str; 29] = [
    "Identity",
    "UnitNormalization",
    "GroupNormalization",
    "LayerNormalization",
    "Conv1DTranspose",
    "SeparableConv1D",
    "DepthwiseConv1D",
    "Conv3D",
    "Conv3DTranspose",
    "MaxPooling3D",
    "AveragePooling3D",
    "GlobalMaxPooling3D",
    "GlobalAveragePooling3D",
    "UpSampling3D",
    "ZeroPadding3D",
    "Cropping3D",
    "CategoryEncoding",
    "Discretization",
    "IntegerLookup",
    "StringLookup",
    "Hashing",
    "RNN",
    "RMSNormalization",
    "AdaptiveAveragePooling1D",
    "AdaptiveAveragePooling2D",
    "AdaptiveAveragePooling3D",
    "AdaptiveMaxPooling1D",
    "AdaptiveMaxPooling2D",
    "AdaptiveMaxPooling3D",
];

fn cases() -> Vec<Value> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/keras315/layer");
    let mut out = Vec::new();
    for dir in std::fs::read_dir(root).unwrap().flatten() {
        let text = std::fs::read_to_string(dir.path().join("case.json")).unwrap();
        let case: Value = serde_json::from_str(&text).unwrap();
        if NEW.contains(&case["class_name"].as_str().unwrap_or("")) {
            out.push(case);
        }
    }
    out
}

fn shape_of(case: &Value) -> Vec<Option<usize>> {
    case["input_shape"].as_array().unwrap().iter().map(|d| d.as_u64().map(|v| v as usize)).collect()
}

#[test]
fn configs_round_trip_and_equal_keras() {
    let cases = cases();
    assert!(cases.len() >= 77, "only {} cases", cases.len());
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        let mut layer = layers::deserialize(&case["serialized"]).unwrap();
        layer.build(&shape_of(case)).unwrap();
        let mut got = layer.get_config();
        let mut want = case["config"].clone();
        // The RNN's cell records the shape it was built for: the case built with a concrete
        // batch, a model (and this test) with an unknown one.
        for c in [&mut got, &mut want] {
            if let Some(cell) = c.get_mut("cell").and_then(Value::as_object_mut) {
                cell.remove("build_config");
                // A StackedRNNCells' cells record theirs too.
                if let Some(Value::Array(cells)) = cell.get_mut("config").and_then(|c| c.get_mut("cells")) {
                    for inner in cells.iter_mut().filter_map(Value::as_object_mut) {
                        inner.remove("build_config");
                    }
                }
            }
        }
        let gk: Vec<&String> = got.as_object().unwrap().keys().collect();
        let wk: Vec<&String> = want.as_object().unwrap().keys().collect();
        assert_eq!(gk, wk, "{name}: config keys");
        assert_eq!(got, want, "{name}: config values");
        // from_config(get_config()) gives the same config again.
        let mut again = layers::deserialize(&layer.serialize()).unwrap();
        again.build(&shape_of(case)).unwrap();
        let mut again_cfg = again.get_config();
        if let Some(cell) = again_cfg.get_mut("cell").and_then(Value::as_object_mut) {
            cell.remove("build_config");
            if let Some(Value::Array(cells)) = cell.get_mut("config").and_then(|c| c.get_mut("cells")) {
                for inner in cells.iter_mut().filter_map(Value::as_object_mut) {
                    inner.remove("build_config");
                }
            }
        }
        assert_eq!(again_cfg, got, "{name}: round trip");
        let weights: Vec<&str> = layer.weights().iter().map(|w| w.name()).collect();
        let want: Vec<&str> =
            case["weights"].as_array().unwrap().iter().map(|w| w["name"].as_str().unwrap()).collect();
        assert_eq!(weights, want, "{name}: weights");
    }
}

fn data(shape: &[usize], seed: u32) -> Tensor {
    let n: usize = shape.iter().product();
    let v = (0..n).map(|i| (((i as u32 * 2654435761u32) ^ seed) % 1000) as f32 / 250.0 - 2.0).collect();
    Tensor::new(v, shape.to_vec()).unwrap()
}

fn tmp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("new_layers_{name}_{}.keras", std::process::id()))
}

fn args() -> PredictArgs<'static> {
    PredictArgs::default().verbose(0)
}

/// [`common::sequential_round_trip`] on a batch of 3; the loaded layer is of the same class.
fn sequential_round_trip(name: &str, input: &[usize], layer: impl Layer + 'static) {
    let mut shape = vec![3];
    shape.extend_from_slice(input);
    let (model, restored) = common::sequential_round_trip(name, layer, &data(&shape, 7));
    assert_eq!(restored.layers()[0].class_name(), model.layers()[0].class_name(), "{name}");
}

#[test]
fn every_new_layer_saves_and_loads_in_a_sequential_model() {
    sequential_round_trip("identity", &[3, 4], Identity::new());
    sequential_round_trip("unit_norm", &[3, 4], UnitNormalization::new().axes(&[1, 2]));
    sequential_round_trip(
        "group_norm",
        &[3, 4],
        GroupNormalization::new(2).gamma_initializer(keras::initializers::Initializer::RandomNormal {
            mean: 1.0,
            stddev: 0.5,
            seed: Some(3),
        }),
    );
    sequential_round_trip("group_norm_instance", &[5, 6], GroupNormalization::new(-1).axis(1));
    sequential_round_trip("ln_rms", &[3, 4], LayerNormalization::new().rms_scaling(true));
    sequential_round_trip("conv1d_t", &[5, 3], Conv1DTranspose::new(4, 3).strides(2).output_padding(1));
    sequential_round_trip("sep1d", &[6, 3], SeparableConv1D::new(4, 3).depth_multiplier(2).padding("same"));
    sequential_round_trip("dw1d", &[6, 3], DepthwiseConv1D::new(2).strides(2).activation("relu"));
    let vol = [4, 5, 3, 2];
    sequential_round_trip("conv3d", &vol, Conv3D::new(4, [2, 3, 2]).groups(2).padding("same"));
    sequential_round_trip(
        "conv3d_t",
        &vol,
        Conv3DTranspose::new(3, [2, 2, 3]).strides([2, 1, 2]).activation("gelu"),
    );
    sequential_round_trip("max3d", &vol, MaxPooling3D::new([2, 2, 2]).padding("same"));
    sequential_round_trip("avg3d", &vol, AveragePooling3D::new([3, 2, 1]).strides([1, 2, 1]));
    sequential_round_trip("gmax3d", &vol, GlobalMaxPooling3D::new());
    sequential_round_trip("gavg3d", &vol, GlobalAveragePooling3D::new().keepdims(true));
    sequential_round_trip("up3d", &vol, UpSampling3D::new([1, 2, 2]));
    sequential_round_trip("pad3d", &vol, ZeroPadding3D::new([[1, 0], [0, 0], [2, 1]]));
    sequential_round_trip("crop3d", &vol, Cropping3D::new([[1, 1], [0, 2], [0, 1]]));
    // `data` holds values in [-2, 2): ids after truncation are -1..1, so shift them.
    let ids_model = |name: &str, layer: CategoryEncoding| {
        let mut model = Sequential::new();
        model.add(Input::new(&[5])).unwrap();
        model.add(layer).unwrap();
        model.add(Dense::new(2)).unwrap();
        let x = Tensor::new((0..15).map(|i| ((i * 7) % 6) as f32).collect(), [3, 5]).unwrap();
        let path = tmp(name);
        model.save(&path).unwrap();
        let restored = load_model(&path).unwrap().into_sequential().unwrap();
        std::fs::remove_file(&path).ok();
        assert_eq!(
            model.predict(&x, args()).unwrap().to_f32_vec(),
            restored.predict(&x, args()).unwrap().to_f32_vec()
        );
    };
    ids_model("cat_count", CategoryEncoding::new(6).output_mode("count"));
    ids_model("cat_multi", CategoryEncoding::new(4));
    sequential_round_trip(
        "disc",
        &[3, 4],
        Discretization::with_boundaries(&[-1.0, 0.0, 0.5]).output_mode("one_hot"),
    );
    let mut adapted = Discretization::with_num_bins(3).output_mode("count");
    adapted.adapt(&data(&[40], 3).to_f32_vec()).unwrap();
    sequential_round_trip("disc_adapted", &[6], adapted);
    sequential_round_trip(
        "rnn_lstm",
        &[5, 3],
        RNN::new(LSTMCell::new(4).recurrent_activation("hard_sigmoid")).return_sequences(true),
    );
    sequential_round_trip(
        "rnn_gru",
        &[5, 3],
        RNN::new(GRUCell::new(3).reset_after(false)).go_backwards(true),
    );
    sequential_round_trip("rnn_simple", &[5, 3], RNN::new(SimpleRNNCell::new(2).activation("relu")));
}

#[test]
fn discretization_adapt_learns_keras_boundaries() {
    let mut checked = 0;
    for case in cases().iter().filter(|c| c.get("adapt").is_some()) {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/keras315/layer")
            .join(case["name"].as_str().unwrap());
        let data = keras::io::npy::read(dir.join("adapt_data.npy")).unwrap().to_f32_vec();
        let a = &case["adapt"];
        let mut d = Discretization::with_num_bins(a["num_bins"].as_u64().unwrap() as usize)
            .epsilon(a["epsilon"].as_f64().unwrap());
        d.adapt(&data).unwrap();
        let want: Vec<f64> =
            a["bin_boundaries"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
        let got = d.bin_boundaries().unwrap();
        assert_eq!(got.len(), want.len(), "{}", case["name"]);
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() <= 1e-5 * w.abs().max(1.0), "{}: {got:?} vs {want:?}", case["name"]);
        }
        checked += 1;
    }
    assert_eq!(checked, 3);
}

#[test]
fn new_layers_work_in_a_functional_model_and_save() {
    let x = keras::Input::new(&[6, 4]);
    let h = SeparableConv1D::new(4, 3).padding("same").apply(&x).unwrap();
    let h = GroupNormalization::new(2).apply(&h).unwrap();
    let h = DepthwiseConv1D::new(3).apply(&h).unwrap();
    let h = Conv1DTranspose::new(3, 3).apply(&h).unwrap();
    let h = Identity::new().apply(&h).unwrap();
    let h = UnitNormalization::new().apply(&h).unwrap();
    let y = LayerNormalization::new().rms_scaling(true).apply(&h).unwrap();
    let model = Model::new(&[x], &[y]).unwrap();
    let xs = data(&[2, 6, 4], 11);
    let want = model.predict_on_batch(std::slice::from_ref(&xs)).unwrap().remove(0);
    assert_eq!(want.shape(), &[2, 6, 3]);
    let path = tmp("functional");
    model.save(&path).unwrap();
    let restored = Functional::load(&path).unwrap();
    std::fs::remove_file(&path).ok();
    let got = restored.predict_on_batch(&[xs]).unwrap().remove(0);
    assert_eq!(got.to_f32_vec(), want.to_f32_vec());
}

fn err_of(layer: impl Layer, shape: &[Option<usize>]) -> String {
    let mut l = layer;
    l.build(shape).unwrap_err().to_string()
}

#[test]
fn bad_arguments_and_inputs_give_keras_errors() {
    // GroupNormalization
    let e = err_of(GroupNormalization::new(0), &[None, Some(4)]);
    assert!(e.contains("Received an invalid value for argument `groups`") && e.contains("groups=0"), "{e}");
    let e = err_of(GroupNormalization::new(8), &[None, Some(4)]);
    assert!(e.contains("Number of groups (8) cannot be more than the number of channels (4)"), "{e}");
    let e = err_of(GroupNormalization::new(3), &[None, Some(4)]);
    assert!(e.contains("Number of groups (3) must be a multiple of the number of channels (4)"), "{e}");
    let e = err_of(GroupNormalization::new(2).axis(3), &[None, Some(4)]);
    assert!(e.contains("Axis 3 is out of bounds"), "{e}");
    let e = err_of(GroupNormalization::new(2), &[None, Some(3), None]);
    assert!(e.contains("should have a defined dimension"), "{e}");
    let mut gn = GroupNormalization::new(2);
    gn.build(&[None, Some(4)]).unwrap();
    let e = gn.call(&Tensor::zeros([2, 6]), &mut CallContext::new(false)).unwrap_err().to_string();
    assert!(e.contains("incompatible with the layer"), "{e}");
    assert!(GroupNormalization::from_config(&json!({"groups": "two"})).is_err());
    // UnitNormalization
    let un = UnitNormalization::new().axis(2);
    let e = un.compute_output_shape(&[None, Some(3)]).unwrap_err().to_string();
    assert!(e.contains("Axis 2 is out of bounds for input shape (None, 3)"), "{e}");
    let e = UnitNormalization::from_config(&json!({"axis": "x"})).err().unwrap().to_string();
    assert!(e.contains("Invalid value for `axis` argument"), "{e}");
    assert!(un.call(&Tensor::zeros([2, 3]), &mut CallContext::new(false)).is_err());
    // The 1-D convolutions
    let e = err_of(Conv1DTranspose::new(0, 3), &[None, Some(5), Some(2)]);
    assert!(e.contains("Received filters=0"), "{e}");
    let e = err_of(Conv1DTranspose::new(2, 3).strides(2).output_padding(2), &[None, Some(5), Some(2)]);
    assert!(e.contains("`output_padding` must be strictly less than `strides`"), "{e}");
    let e = err_of(Conv1DTranspose::new(2, 3).padding("causal"), &[None, Some(5), Some(2)]);
    assert!(e.contains("padding"), "{e}");
    // Keras 3.15 refuses strides > 1 with dilation > 1 in Conv and ConvTranspose only.
    let mut sep = SeparableConv1D::new(2, 3).strides(2).dilation_rate(2);
    sep.build(&[None, Some(9), Some(2)]).unwrap();
    assert_eq!(sep.compute_output_shape(&[None, Some(9), Some(2)]).unwrap(), vec![None, Some(3), Some(2)]);
    let e = err_of(Conv1DTranspose::new(2, 3).strides(2).dilation_rate(2), &[None, Some(5), Some(2)]);
    assert!(e.contains("`strides > 1` not supported in conjunction with `dilation_rate > 1`"), "{e}");
    let e = err_of(SeparableConv1D::new(2, 6), &[None, Some(5), Some(2)]);
    assert!(e.contains("Computed output size would be negative"), "{e}");
    let e = err_of(DepthwiseConv1D::new(2).depth_multiplier(0), &[None, Some(5), Some(2)]);
    assert!(e.contains("Received depth_multiplier=0"), "{e}");
    let e = err_of(DepthwiseConv1D::new(2), &[None, Some(5), Some(2), Some(1)]);
    assert!(e.contains("expected ndim=3, found ndim=4"), "{e}");
    let mut dw = DepthwiseConv1D::new(2);
    dw.build(&[None, Some(5), Some(2)]).unwrap();
    let e = dw.call(&Tensor::zeros([1, 5, 3]), &mut CallContext::new(false)).unwrap_err().to_string();
    assert!(e.contains("expected axis -1 of input shape to have value 2"), "{e}");
    // channels_first is supported now (it was refused before the conv family took one
    // ConvArgs); an unknown data_format from a config is Keras's error.
    let cf =
        DepthwiseConv1D::from_config(&json!({"kernel_size": [2], "data_format": "channels_first"})).unwrap();
    assert_eq!(cf.get_config()["data_format"], "channels_first");
    let e = DepthwiseConv1D::from_config(&json!({"kernel_size": [2], "data_format": "nwc"}))
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("must be one of {'channels_first', 'channels_last'}. Received: data_format=nwc"),
        "{e}"
    );
    // The 3-D layers
    let vol = [None, Some(4), Some(5), Some(3), Some(2)];
    let e = err_of(Conv3D::new(4, [2, 0, 2]), &vol);
    assert!(e.contains("kernel_size"), "{e}");
    let e = err_of(Conv3D::new(4, [2, 2, 2]).groups(3), &vol);
    assert!(e.contains("evenly divisible by the number of groups"), "{e}");
    let e = err_of(Conv3D::new(4, [5, 2, 2]), &vol);
    assert!(e.contains("Computed output size would be negative"), "{e}");
    let e = err_of(Conv3D::new(4, [2, 2, 2]), &[None, Some(4), Some(5), Some(2)]);
    assert!(e.contains("expected ndim=5, found ndim=4"), "{e}");
    let e = err_of(Conv3DTranspose::new(2, [2, 2, 2]).strides([2, 2, 2]).output_padding([0, 2, 0]), &vol);
    assert!(e.contains("At dimension 1, `output_padding` is 2 but `strides` is 2"), "{e}");
    let e = err_of(MaxPooling3D::new([2, 0, 2]), &vol);
    assert!(e.contains("pool_size"), "{e}");
    let pool = AveragePooling3D::new([5, 1, 1]);
    let e = pool.compute_output_shape(&vol).unwrap_err().to_string();
    assert!(e.contains("Computed output size would be negative"), "{e}");
    let e = Cropping3D::new([[2, 2], [0, 0], [0, 0]]).compute_output_shape(&vol).unwrap_err().to_string();
    assert!(e.contains("Values in `cropping` argument should be smaller"), "{e}");
    let e = ZeroPadding3D::from_config(&json!({"padding": [1, 2]})).err().unwrap().to_string();
    assert!(e.contains("`padding` should have 3 elements"), "{e}");
    let e = Cropping3D::from_config(&json!({"cropping": "x"})).err().unwrap().to_string();
    assert!(e.contains("`cropping` should be either an int"), "{e}");
    let e = err_of(UpSampling3D::new([2, 0, 1]), &vol);
    assert!(e.contains("size"), "{e}");
    // RNN over cells
    let e = RNN::from_config(&json!({"cell": {"class_name": "Dense", "config": {"units": 2}}}))
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("Could not locate class 'Dense'"), "{e}");
    let e = RNN::from_config(&json!({"return_sequences": true})).err().unwrap().to_string();
    assert!(e.contains("RNN config needs `cell`"), "{e}");
    let e = err_of(RNN::new(LSTMCell::new(2).dropout(1.5)), &[None, Some(3), Some(2)]);
    assert!(e.contains("dropout"), "{e}");
    let e = err_of(RNN::new(GRUCell::new(2)), &[None, Some(3)]);
    assert!(e.contains("expected ndim=3"), "{e}");
    // The categorical layers
    let e = err_of(CategoryEncoding::new(0), &[None, Some(3)]);
    assert!(e.contains("`num_tokens` must be >= 1. Received: num_tokens=0."), "{e}");
    let e = err_of(CategoryEncoding::new(3).output_mode("tf_idf"), &[None, Some(3)]);
    assert!(e.contains("Unknown arg for output_mode: tf_idf"), "{e}");
    let e = CategoryEncoding::from_config(&json!({"num_tokens": null})).err().unwrap().to_string();
    assert!(e.contains("num_tokens must be set to use this layer"), "{e}");
    let enc = CategoryEncoding::new(3);
    let e = enc
        .call(&Tensor::new(vec![-1.0, 1.0], [1, 2]).unwrap(), &mut CallContext::new(false))
        .unwrap_err()
        .to_string();
    assert!(e.contains("must be non-negative"), "{e}");
    let e = enc
        .call_with_count_weights(&Tensor::ones([1, 2]), Some(&Tensor::ones([1, 2])))
        .unwrap_err()
        .to_string();
    assert!(e.contains("`count_weights` is not used when `output_mode` is not `'count'`"), "{e}");
    let e = Discretization::from_config(&json!({})).err().unwrap().to_string();
    assert!(e.contains("You need to set either `num_bins` or `bin_boundaries`."), "{e}");
    let e = Discretization::from_config(&json!({"num_bins": -1})).err().unwrap().to_string();
    assert!(e.contains("`num_bins` must be greater than or equal to 0"), "{e}");
    let e = Discretization::with_boundaries(&[1.0]).adapt(&[1.0, 2.0]).unwrap_err().to_string();
    assert!(
        e.contains("Cannot adapt a Discretization layer that has been initialized with `bin_boundaries`"),
        "{e}"
    );
    let e = Discretization::with_num_bins(3)
        .call(&Tensor::ones([2]), &mut CallContext::new(false))
        .unwrap_err()
        .to_string();
    assert!(e.contains("call `adapt(dataset)` before"), "{e}");
    let e = err_of(Discretization::with_num_bins(3).output_mode("tf_idf"), &[None, Some(3)]);
    assert!(e.contains("Unknown value for `output_mode` argument of Discretization"), "{e}");
    let e =
        GlobalMaxPooling3D::new().compute_output_shape(&[None, Some(3), Some(2)]).unwrap_err().to_string();
    assert!(e.contains("expected ndim=5"), "{e}");
}

#[test]
fn lookup_layers_keep_their_vocabulary_in_keras_files() {
    // An adapted IntegerLookup: the vocabulary goes to assets/layers/<name>/vocabulary.txt.
    let mut lookup = IntegerLookup::new().mask_token(0).output_mode("multi_hot").name("ids");
    lookup.adapt(&Tensor::from_i64(vec![3, 3, 5, 7, 7, 7, 0, 9], [2, 4]).unwrap()).unwrap();
    assert_eq!(lookup.get_vocabulary(true), vec![-1, 7, 3, 9, 5]);
    // Keras's multi_hot output of a lookup layer is int64, as here; the model holds the layer only.
    let mut model = Sequential::new();
    model.add(Input::new(&[3])).unwrap();
    model.add(lookup).unwrap();
    let x = Tensor::new(vec![7.0, 3.0, 11.0, 0.0, 5.0, 9.0], [2, 3]).unwrap();
    let path = tmp("lookup");
    model.save(&path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let needle = b"assets/layers/ids/vocabulary.txt";
    assert!(bytes.windows(needle.len()).any(|w| w == needle), "no vocabulary asset");
    let restored = load_model(&path).unwrap().into_sequential().unwrap();
    std::fs::remove_file(&path).ok();
    let mut ctx = CallContext::new(false);
    let before = model.get_layer("ids").unwrap().call(&x, &mut ctx).unwrap();
    let after = restored.get_layer("ids").unwrap().call(&x, &mut ctx).unwrap();
    assert_eq!(before.to_i64_vec(), after.to_i64_vec());
    assert_eq!(before.to_i64_vec(), vec![1, 1, 1, 0, 0, 0, 0, 0, 1, 1]);
    let layer = restored.get_layer("ids").unwrap();
    let restored_lookup = layer.as_any().downcast_ref::<IntegerLookup>().unwrap();
    assert_eq!(restored_lookup.get_vocabulary(true), vec![-1, 7, 3, 9, 5]);

    // StringLookup (called on strings, outside models): the adapted vocabulary is its asset,
    // a vocabulary given at construction stays in the config.
    let mut words = StringLookup::new().name("words");
    words.adapt_rows(&[vec!["b", "a", "b"], vec!["c", "b", "a"]]).unwrap();
    let fixed = StringLookup::new().vocabulary(&["x", "y"]).name("fixed");
    assert_eq!(words.get_vocabulary(true), vec!["[UNK]", "b", "a", "c"]);
    let ids = words.call_strings(&["a", "q", "b"], &[3]).unwrap();
    assert_eq!(ids.to_i64_vec(), vec![2, 0, 1]);
    let ser = words.serialize();
    let mut back = StringLookup::from_config(&ser["config"]).unwrap();
    let assets = words.save_assets();
    assert_eq!(assets, vec![("vocabulary.txt".to_string(), b"[UNK]\nb\na\nc".to_vec())]);
    back.load_assets(&|f: &str| assets.iter().find(|(n, _)| n == f).map(|(_, b)| b.clone())).unwrap();
    assert_eq!(back.get_vocabulary(true), words.get_vocabulary(true));
    assert!(fixed.save_assets().is_empty(), "a vocabulary given at construction stays in the config");
    assert_eq!(fixed.get_config()["vocabulary"], json!(["x", "y"]));
}

#[test]
fn lookup_layers_give_keras_errors() {
    let e = err_of(IntegerLookup::new().max_tokens(1), &[None, Some(2)]);
    assert!(e.contains("If set, `max_tokens` must be greater than 1. Received: max_tokens=1"), "{e}");
    let e = err_of(IntegerLookup::new().pad_to_max_tokens(true), &[None, Some(2)]);
    assert!(e.contains("If pad_to_max_tokens is True, must set `max_tokens`"), "{e}");
    let e = err_of(IntegerLookup::new().output_mode("one_hot").invert(true), &[None, Some(2)]);
    assert!(e.contains("`output_mode` must be `'int'` when `invert` is true"), "{e}");
    let e = err_of(IntegerLookup::new().vocabulary(&[1, 2, 1]), &[None, Some(2)]);
    assert!(e.contains("The passed vocabulary has at least one repeated term"), "{e}");
    let e = err_of(IntegerLookup::new().mask_token(0).vocabulary(&[1, 0]), &[None, Some(2)]);
    assert!(e.contains("Found reserved mask token at unexpected location"), "{e}");
    let e = err_of(IntegerLookup::new().output_mode("tf_idf").vocabulary(&[1, 2]), &[None, Some(2)]);
    assert!(e.contains("in TF-IDF output mode, the `idf_weights` argument must also be provided"), "{e}");
    let e = err_of(IntegerLookup::new().oov_method("murmur"), &[None, Some(2)]);
    assert!(e.contains("Unknown value for `oov_method` argument of IntegerLookup"), "{e}");
    let e = Hashing::from_config(&json!({"num_bins": 0})).err().unwrap().to_string();
    assert!(e.contains("The `num_bins` for `Hashing` cannot be `None` or non-positive values"), "{e}");
    let e = err_of(Hashing::new(3).output_mode("tf_idf"), &[None, Some(2)]);
    assert!(e.contains("Invalid value for argument `output_mode`"), "{e}");
    let e = Hashing::new(3).call_strings(&["a"], &[2]).unwrap_err().to_string();
    assert!(e.contains("do not fill the shape"), "{e}");
    let e = err_of(IntegerLookup::new().output_mode("bogus"), &[None, Some(2)]);
    assert!(e.contains("Unknown value for `output_mode` argument of IntegerLookup"), "{e}");
    let strict = IntegerLookup::new().num_oov_indices(0).vocabulary(&[4, 5]);
    let e = strict
        .call(&Tensor::from_i64(vec![4, 6], [1, 2]).unwrap(), &mut CallContext::new(false))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("When `num_oov_indices=0` all inputs should be in vocabulary, found OOV values [6]"),
        "{e}"
    );
    let unset = IntegerLookup::new().output_mode("count");
    let e = unset
        .call(&Tensor::from_i64(vec![4], [1, 1]).unwrap(), &mut CallContext::new(false))
        .unwrap_err()
        .to_string();
    assert!(e.contains("you must set the layer's vocabulary before calling it"), "{e}");
    let mut fixed = IntegerLookup::new().vocabulary(&[1, 2]);
    let e = fixed.adapt(&Tensor::from_i64(vec![1], [1]).unwrap()).unwrap_err().to_string();
    assert!(e.contains("Cannot adapt layer after setting a static vocabulary"), "{e}");
    let e = StringLookup::from_config(&json!({"vocabulary": "/etc/passwd"})).err().unwrap().to_string();
    assert!(e.contains("Requested the loading of a vocabulary file outside of the model archive"), "{e}");
    let e = StringLookup::new()
        .call(&Tensor::ones([1, 2]), &mut CallContext::new(false))
        .unwrap_err()
        .to_string();
    assert!(e.contains("call_strings"), "{e}");
    let e = StringLookup::new().vocabulary(&["a"]).call_strings(&["a", "b"], &[3]).unwrap_err().to_string();
    assert!(e.contains("do not fill the shape"), "{e}");
    let e = StringLookup::from_config(&json!({"num_oov_indices": 2, "salt": [7]})).err().unwrap().to_string();
    assert!(e.contains("The `salt` argument for `IndexLookup` can only be a tuple of 2 integers"), "{e}");
    let salted = StringLookup::from_config(&json!({"num_oov_indices": 2, "salt": 7})).unwrap();
    assert_eq!(salted.get_config()["salt"], json!([7, 7]));
    let e = IntegerLookup::from_config(&json!({"num_oov_indices": 2, "salt": 7})).err().unwrap().to_string();
    assert!(e.contains("`salt` can only be used when `oov_method='farmhash'`"), "{e}");
    let e = IntegerLookup::new()
        .salt(3)
        .call(&Tensor::from_i64(vec![1], [1]).unwrap(), &mut CallContext::new(false));
    assert!(e.is_err());
}

#[test]
fn rms_normalization_and_adaptive_poolings_save_and_load() {
    sequential_round_trip("rms", &[3, 4], RMSNormalization::new().epsilon(1e-3));
    sequential_round_trip("rms_axes", &[3, 4], RMSNormalization::new().axes(&[1, 2]));
    sequential_round_trip("aap1", &[7, 3], AdaptiveAveragePooling1D::new(3));
    sequential_round_trip("amp1", &[3, 7], AdaptiveMaxPooling1D::new(4).data_format("channels_first"));
    sequential_round_trip("aap2", &[9, 5, 2], AdaptiveAveragePooling2D::new([4, 3]));
    sequential_round_trip("amp2", &[9, 5, 2], AdaptiveMaxPooling2D::new(2));
    sequential_round_trip("aap3", &[5, 4, 3, 2], AdaptiveAveragePooling3D::new([2, 2, 3]));
    sequential_round_trip("amp3", &[2, 5, 4, 3], AdaptiveMaxPooling3D::new(2).data_format("channels_first"));
}

/// The reason for adaptive pooling: one network for images of any size. Conv2D ->
/// AdaptiveAveragePooling2D(2) -> Flatten -> Dense takes 9x7 and 16x12 images alike.
#[test]
fn adaptive_pooling_takes_images_of_any_size() {
    let x = keras::Input::batch_shape(&[None, None, None, Some(3)], keras::DType::F32, None);
    let h = keras::layers::Conv2D::new(4, [3, 3]).activation("relu").apply(&x).unwrap();
    let h = AdaptiveAveragePooling2D::new(2).apply(&h).unwrap();
    let h = Flatten::new().apply(&h).unwrap();
    let y = Dense::new(5).apply(&h).unwrap();
    let model = Model::new(&[x], &[y]).unwrap();
    for (h, w) in [(9, 7), (16, 12)] {
        let out = model.predict(data(&[2, h, w, 3], 5), args()).unwrap();
        assert_eq!(out[0].shape(), &[2, 5], "{h}x{w}");
    }
}

#[test]
fn rms_normalization_and_adaptive_poolings_give_errors_not_panics() {
    let mut ctx = CallContext::new(false);
    // RMSNormalization: an axis out of range is Keras's ValueError.
    let e = RMSNormalization::new().axis(3).compute_output_shape(&[None, Some(4)]).unwrap_err().to_string();
    assert!(e.contains("Axis 3 is out of bounds for input shape (None, 4)"), "{e}");
    assert!(err_of(RMSNormalization::new().axis(-3), &[None, Some(4)]).contains("out of bounds"));
    assert!(err_of(RMSNormalization::new().axes(&[]), &[None, Some(4)]).contains("at least one axis"));
    assert!(err_of(RMSNormalization::new(), &[None, None]).contains("must be defined"));
    // A scale that does not broadcast (Keras's own limitation for non-trailing axes).
    let mut l = RMSNormalization::new().axis(1);
    l.build(&[None, Some(4), Some(6)]).unwrap();
    let e = l.call(&Tensor::ones([2, 4, 6]), &mut ctx).unwrap_err().to_string();
    assert!(e.contains("does not broadcast"), "{e}");
    assert!(RMSNormalization::new().call(&Tensor::ones([2, 4]), &mut ctx).is_err(), "unbuilt");
    assert!(RMSNormalization::from_config(&json!({"axis": "last"})).is_err());
    assert!(RMSNormalization::from_config(&json!({"epsilon": [1]})).is_err());
    // Adaptive pooling: rank, zero sizes, bad configs.
    let e =
        AdaptiveMaxPooling3D::new(2).compute_output_shape(&[None, Some(4), Some(4), Some(1)]).unwrap_err();
    assert!(e.to_string().contains("expected ndim=5"), "{e}");
    let e = AdaptiveAveragePooling1D::new(0).call(&Tensor::ones([1, 4, 1]), &mut ctx).unwrap_err();
    assert!(e.to_string().contains("positive"), "{e}");
    assert!(AdaptiveAveragePooling2D::from_config(&json!({"output_size": [2, -1]})).is_err());
    assert!(AdaptiveAveragePooling2D::from_config(&json!({"output_size": [2, 2], "data_format": "nchw"}))
        .is_err());
}

/// Keras's other class names (`MaxPool2D`, `Convolution2D`, ...): the Rust type aliases build
/// the same layers, and a config that names an alias loads the layer Keras makes from it.
#[test]
fn keras_class_aliases_build_and_load_the_same_layers() {
    let pool: layers::MaxPool2D = layers::MaxPool2D::new([2, 2]);
    assert_eq!(pool.class_name(), "MaxPooling2D");
    assert_eq!(layers::GlobalAvgPool1D::new().class_name(), "GlobalAveragePooling1D");
    assert_eq!(layers::Convolution2D::new(3, [3, 3]).class_name(), "Conv2D");
    for (alias, class) in layers::CLASS_ALIASES {
        assert!(layers::registered_class_names().contains(&class), "{alias} -> {class}");
    }
    let cfg = json!({"module": "keras.layers", "class_name": "AvgPool2D",
                     "config": {"name": "p", "pool_size": [2, 2], "strides": [2, 2], "padding": "valid"}});
    let layer = layers::deserialize(&cfg).unwrap();
    assert_eq!(layer.class_name(), "AveragePooling2D");
    assert_eq!(layer.name(), "p");
    let cfg = json!({"class_name": "Convolution1D", "config": {"filters": 2, "kernel_size": [3]}});
    assert_eq!(layers::deserialize(&cfg).unwrap().class_name(), "Conv1D");
    let e = layers::deserialize(&json!({"class_name": "MaxPool9D", "config": {}})).err().unwrap().to_string();
    assert!(e.contains("Unknown layer class 'MaxPool9D'"), "{e}");
}
