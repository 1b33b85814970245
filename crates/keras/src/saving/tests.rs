//! Tests of the saving module: round trips of every layer kind in every format, files
//! written by Keras 3 (the reference cases: exact HDF5 layouts) and by tf.keras 2.x
//! (fixtures/saving), every promised error, and corrupt or hostile inputs.

use std::path::PathBuf;

use serde_json::{json, Value};

use super::h5::Reader;
use super::zip::Archive;
use super::*;
use crate::layers::{BatchNormalization, Conv2DTranspose, PReLU};
use crate::layers::{Conv2D, Dense, DepthwiseConv2D, Flatten, Input, MaxPooling2D, SeparableConv2D};
use crate::{PredictArgs, Tensor};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("keras_saving_{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d.join(name)
}

fn pred(m: &Sequential, x: &Tensor) -> Vec<f32> {
    m.predict(x, PredictArgs::default().verbose(0)).unwrap().to_f32_vec()
}

fn close(a: &[f32], b: &[f32], rtol: f32, atol: f32) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() <= atol + rtol * y.abs())
}

fn ramp(shape: &[usize], scale: f32) -> Tensor {
    let n: usize = shape.iter().product();
    Tensor::new((0..n).map(|i| ((i * 7919 % 97) as f32 / 97.0 - 0.5) * scale).collect(), shape.to_vec())
        .unwrap()
}

fn opt_values(m: &Sequential) -> Vec<Vec<f32>> {
    m.compile_state().unwrap().optimizer.variables().iter().map(|(_, t)| t.to_f32_vec()).collect()
}

fn sequence_model() -> Sequential {
    fuzzing::weights_target_model()
}

fn image_model() -> Sequential {
    crate::utils::set_random_seed(4);
    let mut m = Sequential::new().with_name("img");
    m.add(Input::new(&[8, 8, 2])).unwrap();
    m.add(Conv2D::new(3, [3, 3]).activation("relu")).unwrap();
    m.add(BatchNormalization::new()).unwrap();
    m.add(SeparableConv2D::new(4, [2, 2])).unwrap();
    m.add(DepthwiseConv2D::new([2, 2])).unwrap();
    m.add(Conv2DTranspose::new(2, [2, 2])).unwrap();
    m.add(MaxPooling2D::new([2, 2])).unwrap();
    m.add(PReLU::new()).unwrap();
    m.add(Flatten::new()).unwrap();
    m.add(Dense::new(2)).unwrap();
    m.compile(crate::optimizers::SGD::new().learning_rate(0.05).momentum(0.9), "mse", &["mae"]).unwrap();
    m
}

/// Trains one step so weights, moving statistics and optimizer slots all hold real values.
fn trained(mut m: Sequential, x: &Tensor, y: &Tensor) -> Sequential {
    m.train_on_batch(x, y, None).unwrap();
    m
}

fn check_round_trips(m: &Sequential, x: &Tensor, y: &Tensor, tag: &str) {
    let before = pred(m, x);
    for ext in ["keras", "h5"] {
        let path = tmp(&format!("{tag}.{ext}"));
        m.save(&path).unwrap();
        let mut r = Sequential::load(&path).unwrap();
        assert_eq!(pred(&r, x), before, "{tag}.{ext}: predictions changed");
        assert_eq!(r.get_config(), m.get_config(), "{tag}.{ext}: config changed");
        assert_eq!(opt_values(&r), opt_values(m), "{tag}.{ext}: optimizer state changed");
        let (c0, c1) = (m.compile_state().unwrap(), r.compile_state().unwrap());
        assert_eq!(c1.optimizer.get_config(), c0.optimizer.get_config());
        assert_eq!(c1.loss_config(), c0.loss_config());
        assert_eq!(c1.metrics_config(), c0.metrics_config());
        // Training continues from the restored state.
        let l1 = r.train_on_batch(x, y, None).unwrap();
        assert!(l1["loss"].is_finite());
        assert_eq!(r.compile_state().unwrap().optimizer.iterations(), c0.optimizer.iterations() + 1);
    }
    let w = tmp(&format!("{tag}.weights.h5"));
    m.save_weights(&w).unwrap();
    let mut fresh = Sequential::from_config(&m.get_config()).unwrap();
    assert_ne!(pred(&fresh, x), before);
    fresh.load_weights(&w).unwrap();
    assert_eq!(pred(&fresh, x), before, "{tag}.weights.h5: predictions changed");
    // The weights of a .keras file load the same way.
    let mut fresh = Sequential::from_config(&m.get_config()).unwrap();
    fresh.load_weights(tmp(&format!("{tag}.keras"))).unwrap();
    assert_eq!(pred(&fresh, x), before);
    // And legacy .h5 weights, by position and by name.
    for by_name in [false, true] {
        let mut fresh = Sequential::from_config(&m.get_config()).unwrap();
        fresh
            .load_weights_with(tmp(&format!("{tag}.h5")), LoadWeightsArgs::default().by_name(by_name))
            .unwrap();
        assert_eq!(pred(&fresh, x), before, "{tag}.h5 weights by_name={by_name}");
    }
}

#[test]
fn every_layer_kind_round_trips_in_every_format() {
    let x = ramp(&[4, 5, 3], 2.0);
    let y = Tensor::from_i32(vec![0, 2, 1, 0], [4]).unwrap();
    check_round_trips(&trained(sequence_model(), &x, &y), &x, &y, "seq");
    let x = ramp(&[3, 8, 8, 2], 1.0);
    let y = ramp(&[3, 2], 1.0);
    check_round_trips(&trained(image_model(), &x, &y), &x, &y, "img");
}

#[test]
fn resumed_training_matches_uninterrupted_training() {
    let x = ramp(&[6, 5, 3], 2.0);
    let y = Tensor::from_i32(vec![0, 2, 1, 0, 1, 2], [6]).unwrap();
    let mut a = trained(sequence_model(), &x, &y);
    let path = tmp("resume.keras");
    a.save(&path).unwrap();
    let mut b = Sequential::load(&path).unwrap();
    for step in 0..2 {
        // Same dropout masks for both.
        crate::utils::set_random_seed(10 + step);
        a.train_on_batch(&x, &y, None).unwrap();
        crate::utils::set_random_seed(10 + step);
        b.train_on_batch(&x, &y, None).unwrap();
    }
    let (wa, wb) = (a.get_weights(), b.get_weights());
    for (p, q) in wa.iter().zip(&wb) {
        assert_eq!(p.to_f32_vec(), q.to_f32_vec());
    }
    assert_eq!(opt_values(&a), opt_values(&b));
}

#[test]
fn uncompiled_models_save_without_optimizer_and_load_uncompiled() {
    let mut m = Sequential::new();
    m.add(Input::new(&[3])).unwrap();
    m.add(Dense::new(2)).unwrap();
    for ext in ["keras", "h5"] {
        let p = tmp(&format!("plain.{ext}"));
        m.save(&p).unwrap();
        let r = Sequential::load(&p).unwrap();
        assert!(r.compile_state().is_none());
        let x = ramp(&[2, 3], 1.0);
        assert_eq!(pred(&r, &x), pred(&m, &x));
    }
    let w = tmp("plain.weights.h5");
    m.save_weights(&w).unwrap();
    let layout = inspect_h5(&std::fs::read(&w).unwrap()).unwrap();
    assert!(layout.datasets.iter().all(|d| !d.path.starts_with("optimizer")));
    // load_model_with(compile = false) skips the compile config.
    let x = ramp(&[4, 5, 3], 2.0);
    let y = Tensor::from_i32(vec![0, 2, 1, 0], [4]).unwrap();
    let s = trained(sequence_model(), &x, &y);
    s.save(tmp("nocompile.keras")).unwrap();
    assert!(load_model_with(tmp("nocompile.keras"), false).unwrap().compile_state().is_none());
}

// ---------------------------------------------------------------- Keras 3 reference files

fn saved_model_cases() -> Vec<PathBuf> {
    let root = fixtures().join("oracle/saved_model");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&root).unwrap().flatten().map(|e| e.path()).collect();
    v.retain(|p| p.join("case.json").is_file());
    v.sort();
    assert!(!v.is_empty());
    v
}

/// `(path, shape, dtype)` of every dataset, and `(group, attrs)` as the case lists them.
type Layout = (Vec<(String, Vec<usize>, String)>, Vec<(String, Value)>);

fn layout_of(bytes: &[u8]) -> Layout {
    let l = inspect_h5(bytes).unwrap();
    let ds = l.datasets.into_iter().map(|d| (d.path, d.shape, d.dtype)).collect();
    let attrs = l
        .group_attrs
        .into_iter()
        .filter(|(g, _)| !g.is_empty())
        .map(|(g, a)| {
            let m: serde_json::Map<String, Value> = a
                .into_iter()
                .map(|(k, v)| {
                    let single = k == "name" || k == "backend" || k == "keras_version";
                    (k, if single { json!(v[0]) } else { json!(v) })
                })
                .collect();
            (g, Value::Object(m))
        })
        .collect();
    (ds, attrs)
}

fn case_layout(v: &Value) -> Layout {
    let mut ds: Vec<(String, Vec<usize>, String)> = v["datasets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let shape = d["shape"].as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as usize).collect();
            (d["path"].as_str().unwrap().to_string(), shape, d["dtype"].as_str().unwrap().to_string())
        })
        .collect();
    ds.sort();
    let mut attrs: Vec<(String, Value)> = v["group_attrs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (g["path"].as_str().unwrap().to_string(), g["attrs"].clone()))
        .collect();
    attrs.sort_by(|a, b| a.0.cmp(&b.0));
    (ds, attrs)
}

/// What keras-rs writes has exactly the HDF5 layout Keras wrote (every path, shape, dtype
/// and group attribute listed in case.json), for the three formats.
#[test]
fn written_files_have_the_keras_layouts() {
    for dir in saved_model_cases() {
        let case: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("case.json")).unwrap()).unwrap();
        let m = Sequential::load(dir.join("model.keras")).unwrap();
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();

        let k = tmp(&format!("layout_{name}.keras"));
        m.save(&k).unwrap();
        let bytes = std::fs::read(&k).unwrap();
        let zip = Archive::new(&bytes).unwrap();
        let names: Vec<&str> = zip.entries().iter().map(|e| e.name.as_str()).collect();
        let want: Vec<&str> = case["keras_zip"]["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, want, "{name}: zip entries");
        let meta: Value = serde_json::from_slice(&zip.read("metadata.json", 1 << 20).unwrap()).unwrap();
        assert_eq!(meta["keras_version"], case["keras_zip"]["metadata.json"]["keras_version"]);
        let inner = zip.read("model.weights.h5", 1 << 30).unwrap();
        assert_eq!(
            layout_of(&inner),
            case_layout(&case["keras_zip"]["model.weights.h5_layout"]),
            "{name}: .keras"
        );

        let w = tmp(&format!("layout_{name}.weights.h5"));
        m.save_weights(&w).unwrap();
        assert_eq!(
            layout_of(&std::fs::read(&w).unwrap()),
            case_layout(&case["weights_h5_layout"]),
            "{name}: .weights.h5"
        );

        let h = tmp(&format!("layout_{name}.h5"));
        m.save(&h).unwrap();
        let hb = std::fs::read(&h).unwrap();
        assert_eq!(layout_of(&hb), case_layout(&case["legacy_h5_layout"]), "{name}: legacy .h5");
        let root = &inspect_h5(&hb).unwrap().group_attrs[0];
        assert_eq!(root.0, "");
        let keys: Vec<&String> = root.1.keys().collect();
        let mut want: Vec<&String> =
            case["legacy_h5_layout"]["root_attrs"].as_object().unwrap().keys().collect();
        want.sort();
        assert_eq!(keys, want, "{name}: root attributes");
        // The model config attribute is the legacy form of the architecture.
        let cfg: Value = serde_json::from_str(&root.1["model_config"][0]).unwrap();
        assert_eq!(cfg["class_name"], "Sequential");
        assert!(cfg["config"]["layers"][1].get("module").is_none());
    }
}

/// The Keras-written files read by the internal reader: optimizer/vars of the three files
/// agree (the same state written three ways).
#[test]
fn keras_files_hold_the_same_optimizer_state_three_ways() {
    for dir in saved_model_cases() {
        let a = Sequential::load(dir.join("model.keras")).unwrap();
        let b = Sequential::load(dir.join("model.h5")).unwrap();
        let r = Reader::open(&dir.join("model.weights.h5")).unwrap();
        let n = r.datasets("optimizer/vars").unwrap().len();
        let stored: Vec<Vec<f32>> =
            (0..n).map(|i| r.read(&format!("optimizer/vars/{i}"), None).unwrap().to_f32_vec()).collect();
        assert_eq!(opt_values(&a), stored);
        assert_eq!(opt_values(&b), stored);
        assert!(a.compile_state().unwrap().optimizer.iterations() > 0);
    }
}

// ---------------------------------------------------------------- tf.keras 2.x files

fn tf2(name: &str) -> PathBuf {
    fixtures().join("saving").join(name)
}

fn npy(name: &str) -> Tensor {
    crate::io::npy::read(tf2(name)).unwrap()
}

#[test]
fn tf_keras_2_model_files_load_with_optimizer_state() {
    for (name, iterations, loss, metric) in
        [("mlp", 4, "sparse_categorical_crossentropy", "accuracy"), ("lstm", 2, "mse", "mae")]
    {
        let m = Sequential::load(tf2(&format!("tf2_{name}.h5"))).unwrap();
        let x = npy(&format!("tf2_{name}_input.npy"));
        let want = npy(&format!("tf2_{name}_expected.npy")).to_f32_vec();
        assert!(close(&pred(&m, &x), &want, 1e-5, 1e-6), "{name}: predictions");
        let c = m.compile_state().unwrap();
        assert_eq!(c.loss_config(), &json!(loss));
        assert_eq!(
            c.metrics_config(),
            &[
                json!({"module": "keras.metrics", "class_name": c.metrics_config()[0]["class_name"], "config": c.metrics_config()[0]["config"], "registered_name": null})
            ]
        );
        assert_eq!(c.metrics_config()[0]["config"]["name"], json!(metric));
        assert_eq!(c.optimizer.iterations(), iterations, "{name}: iterations");
        // Slots restored from tf.keras's order (no learning_rate variable there).
        let r = Reader::open(&tf2(&format!("tf2_{name}.h5"))).unwrap();
        let names = r.string_list_attr("optimizer_weights", "weight_names").unwrap().unwrap();
        let vars = c.optimizer.variables();
        assert_eq!(vars.len(), names.len() + 1);
        for (i, n) in names.iter().enumerate().skip(1) {
            let stored = r.read(&format!("optimizer_weights/{n}"), None).unwrap().to_f32_vec();
            assert_eq!(vars[i + 1].1.to_f32_vec(), stored, "{name}: {n}");
        }
    }
}

#[test]
fn tf_keras_2_weight_files_load_by_position_by_name_and_chunked() {
    let full = Sequential::load(tf2("tf2_mlp.h5")).unwrap();
    let x = npy("tf2_mlp_input.npy");
    let want = pred(&full, &x);
    for file in ["tf2_mlp_weights.h5", "tf2_mlp_weights_chunked.h5", "tf2_mlp.h5"] {
        for by_name in [false, true] {
            let mut m = Sequential::from_config(&full.get_config()).unwrap();
            m.load_weights_with(tf2(file), LoadWeightsArgs::default().by_name(by_name)).unwrap();
            assert_eq!(pred(&m, &x), want, "{file} by_name={by_name}");
        }
    }
    // By name, layers the file does not have are left alone and order does not matter.
    let mut m = Sequential::new();
    m.add(Input::new(&[6])).unwrap();
    m.add(Dense::new(5).activation("relu").name("hidden")).unwrap();
    m.add(Dense::new(5).name("extra")).unwrap();
    let extra_before = m.get_layer("extra").unwrap().get_weights()[0].to_f32_vec();
    let e = m.load_weights(tf2("tf2_mlp_weights.h5")).unwrap_err();
    assert!(e.to_string().contains("Layer count mismatch"), "{e}");
    m.load_weights_with(tf2("tf2_mlp_weights.h5"), LoadWeightsArgs::default().by_name(true)).unwrap();
    assert_eq!(
        m.get_layer("hidden").unwrap().get_weights()[0].to_f32_vec(),
        full.get_layer("hidden").unwrap().get_weights()[0].to_f32_vec()
    );
    assert_eq!(m.get_layer("extra").unwrap().get_weights()[0].to_f32_vec(), extra_before);
    // A layer with other shapes: an error, or skipped with skip_mismatch.
    let mut m = Sequential::new();
    m.add(Input::new(&[6])).unwrap();
    m.add(Dense::new(5).activation("relu").name("hidden")).unwrap();
    m.add(Dense::new(4).name("out")).unwrap();
    let out_before = m.get_layer("out").unwrap().get_weights()[0].to_f32_vec();
    let by_name = LoadWeightsArgs::default().by_name(true);
    let e = m.load_weights_with(tf2("tf2_mlp_weights.h5"), by_name).unwrap_err();
    assert!(e.to_string().contains("Shape mismatch"), "{e}");
    m.load_weights_with(tf2("tf2_mlp_weights.h5"), by_name.skip_mismatch(true)).unwrap();
    assert_eq!(m.get_layer("out").unwrap().get_weights()[0].to_f32_vec(), out_before);
    assert_eq!(
        m.get_layer("hidden").unwrap().get_weights()[1].to_f32_vec(),
        full.get_layer("hidden").unwrap().get_weights()[1].to_f32_vec()
    );
}

// ---------------------------------------------------------------- errors

fn small() -> Sequential {
    let mut m = Sequential::new().with_name("small");
    m.add(Input::new(&[3])).unwrap();
    m.add(Dense::new(2).name("d")).unwrap();
    m
}

#[test]
fn file_names_and_states_are_checked_like_keras() {
    let m = small();
    let e = m.save(tmp("m.txt")).unwrap_err();
    assert!(e.to_string().starts_with("Invalid filepath extension for saving"), "{e}");
    let e = m.save_weights(tmp("m.h5")).unwrap_err();
    assert!(e.to_string().contains("must end in `.weights.h5`"), "{e}");
    let mut unbuilt = Sequential::new();
    unbuilt.add(Dense::new(2)).unwrap();
    assert!(matches!(unbuilt.save_weights(tmp("u.weights.h5")), Err(Error::State(_))));
    assert!(matches!(unbuilt.load_weights(tmp("u.weights.h5")), Err(Error::State(_))));
    let e = Sequential::load(tmp("model.pb")).unwrap_err();
    assert!(e.to_string().starts_with("File format not supported"), "{e}");
    let e = Sequential::load(tmp("missing.keras")).unwrap_err();
    assert!(e.to_string().starts_with("File not found"), "{e}");
    let e = Sequential::load(tmp("missing.h5")).unwrap_err();
    assert!(e.to_string().contains("missing.h5"), "{e}");
    let mut m2 = small();
    m.save_weights(tmp("s.weights.h5")).unwrap();
    let e = m2.load_weights_with(tmp("s.weights.h5"), LoadWeightsArgs::default().by_name(true)).unwrap_err();
    assert!(e.to_string().contains("`by_name` only supports"), "{e}");
    let e = m2.load_weights(tmp("s.npz")).unwrap_err();
    assert!(e.to_string().starts_with("File format not supported"), "{e}");
}

#[test]
fn mismatched_weights_fail_without_touching_the_model() {
    let m = small();
    m.save_weights(tmp("small.weights.h5")).unwrap();
    let mut other = Sequential::new();
    other.add(Input::new(&[3])).unwrap();
    other.add(Dense::new(4).name("d")).unwrap();
    let before = other.get_weights()[0].to_f32_vec();
    let e = other.load_weights(tmp("small.weights.h5")).unwrap_err();
    assert!(
        e.to_string().contains("could not be loaded") && e.to_string().contains("expected [3, 4]"),
        "{e}"
    );
    assert_eq!(other.get_weights()[0].to_f32_vec(), before);
    // skip_mismatch: a warning, the model keeps its weights.
    other.load_weights_with(tmp("small.weights.h5"), LoadWeightsArgs::default().skip_mismatch(true)).unwrap();
    assert_eq!(other.get_weights()[0].to_f32_vec(), before);
    // A layer the file does not have: Keras's count message.
    let mut more = small();
    more.add(Dense::new(1).name("extra")).unwrap();
    let e = more.load_weights(tmp("small.weights.h5")).unwrap_err();
    assert!(e.to_string().contains("expected 2 variables, but received 0 variables"), "{e}");
}

fn keras_bytes(config: &Value, weights: &[u8]) -> Vec<u8> {
    super::zip::write_stored(&[
        ("metadata.json", b"{}"),
        ("config.json", config.to_string().as_bytes()),
        ("model.weights.h5", weights),
    ])
    .unwrap()
}

#[test]
fn hostile_configs_are_refused_before_anything_is_built() {
    let m = small();
    let base = keras_zip::model_json(&m);
    let weights = weights_h5::to_tree(&m).to_bytes().unwrap();
    let load = |cfg: &Value| keras_zip::from_bytes(&keras_bytes(cfg, &weights), true);
    assert!(load(&base).is_ok());

    let mut lambda = base.clone();
    lambda["config"]["layers"][1] = json!({"class_name": "Lambda", "config": {"function": "os.system"}});
    assert!(load(&lambda).unwrap_err().to_string().contains("Lambda"));
    let mut unknown = base.clone();
    unknown["config"]["layers"][1]["class_name"] = json!("EvilLayer");
    assert!(load(&unknown).unwrap_err().to_string().contains("Unknown layer class 'EvilLayer'"));
    let mut functional = base.clone();
    functional["class_name"] = json!("Functional");
    assert!(load(&functional).unwrap_err().to_string().contains("Only Sequential"));
    // 10^9 units would allocate gigabytes: refused from the size of the weights file.
    let mut huge = base.clone();
    huge["config"]["layers"][1]["config"]["units"] = json!(1_000_000_000u64);
    assert!(load(&huge).unwrap_err().to_string().contains("too small for the architecture"));
    let mut overflow = base.clone();
    overflow["config"]["layers"][1]["config"]["units"] = json!(u64::MAX);
    assert!(load(&overflow).is_err());
    let mut wide = base.clone();
    wide["config"]["layers"][0]["config"]["batch_shape"] = json!([null, 1u64 << 30, 1u64 << 30]);
    assert!(load(&wide).is_err());
    // Wrong JSON types anywhere give errors.
    for (ptr, v) in [
        ("/config/layers", json!("no")),
        ("/config/layers/1/config/units", json!("two")),
        ("/config", json!(null)),
        ("/compile_config", json!([1, 2])),
    ] {
        let mut c = base.clone();
        *c.pointer_mut(ptr).unwrap_or(&mut Value::Null) = v.clone();
        if ptr == "/compile_config" {
            c["compile_config"] = v;
        }
        assert!(load(&c).is_err(), "{ptr}");
    }
    let bytes =
        super::zip::write_stored(&[("config.json", b"[1, 2]"), ("model.weights.h5", &weights)]).unwrap();
    assert!(keras_zip::from_bytes(&bytes, true).unwrap_err().to_string().contains("must be a JSON object"));
    let bytes = super::zip::write_stored(&[("config.json", b"{nope")]).unwrap();
    assert!(keras_zip::from_bytes(&bytes, true).unwrap_err().to_string().contains("not valid JSON"));
    let bytes = super::zip::write_stored(&[("config.json", base.to_string().as_bytes())]).unwrap();
    assert!(keras_zip::from_bytes(&bytes, true).unwrap_err().to_string().contains("model.weights.h5"));
}

/// Cuts and byte flips of real files never panic and never hang: every outcome is a model
/// or an error. (The fuzz targets in fuzz/ explore far more; their findings live in
/// tests/fixtures/saving/fuzz_regressions.)
#[test]
fn truncated_and_corrupted_files_give_errors() {
    let x = ramp(&[4, 5, 3], 2.0);
    let y = Tensor::from_i32(vec![0, 2, 1, 0], [4]).unwrap();
    let m = trained(sequence_model(), &x, &y);
    let keras = keras_zip::to_bytes(&m).unwrap();
    let h5 = legacy_h5::to_bytes(&m).unwrap();
    let weights = weights_h5::to_tree(&m).to_bytes().unwrap();
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut rand = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for (kind, bytes) in [("keras", &keras), ("h5", &h5), ("weights", &weights)] {
        let try_load = |b: &[u8]| match kind {
            "keras" => fuzzing::load_keras(b).map(|_| ()),
            "h5" => fuzzing::load_h5(b).map(|_| ()),
            _ => fuzzing::load_weights(b).map(|_| ()),
        };
        assert!(try_load(bytes).is_ok(), "{kind}: the intact file loads");
        for i in 0..40 {
            let cut = bytes.len() * i / 40;
            assert!(try_load(&bytes[..cut]).is_err(), "{kind}: cut at {cut} of {} loaded", bytes.len());
        }
        for _ in 0..60 {
            let mut b = bytes.to_vec();
            for _ in 0..1 + rand() % 4 {
                let at = (rand() as usize) % b.len();
                b[at] = rand() as u8;
            }
            let _ = try_load(&b);
        }
    }
}

/// Hostile inputs (fixtures/saving/make_regressions.py, plus any crasher the fuzzers find):
/// each must give an error.
#[test]
fn fuzz_regressions_give_errors() {
    let dir = fixtures().join("saving/fuzz_regressions");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap().flatten() {
        let p = e.path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(&p).unwrap();
        let r = if name.starts_with("keras_") {
            fuzzing::load_keras(&bytes).map(|_| ())
        } else if name.starts_with("h5_") {
            fuzzing::load_h5(&bytes).map(|_| ())
        } else if name.starts_with("weights_") {
            fuzzing::load_weights(&bytes).map(|_| ())
        } else if name.starts_with("config_") {
            fuzzing::model_from_json(&bytes).map(|_| ())
        } else {
            continue;
        };
        assert!(r.is_err(), "{name} should be refused");
        n += 1;
    }
    assert!(n >= 7, "only {n} regression inputs found in {}", dir.display());
}

/// The 8 GiB size limit as a `usize` on a 32-bit target (wasm32, armv7): it was cast to 0
/// there, which refused every `.keras` file. Now it saturates to the address space, and a
/// `.keras` file's weights member is read, and the file loaded, under the 32-bit limit.
#[test]
fn size_limits_accept_a_keras_file_on_32_bit_targets() {
    let limit32 = h5::limit_for_pointer_width(h5::MAX_FILE_BYTES, u32::MAX as u64);
    assert_eq!(limit32, u32::MAX as u64);
    assert_eq!(h5::limit_for_pointer_width(h5::MAX_FILE_BYTES, u64::MAX), h5::MAX_FILE_BYTES);
    assert_eq!(h5::usize_limit(h5::MAX_FILE_BYTES) as u64, h5::MAX_FILE_BYTES.min(usize::MAX as u64));
    assert_eq!(h5::usize_limit(u64::MAX), usize::MAX);

    let m = sequence_model();
    let bytes = keras_zip::to_bytes(&m).unwrap();
    let zip = Archive::new(&bytes).unwrap();
    let weights = zip.read("model.weights.h5", limit32 as usize).unwrap();
    assert!(!weights.is_empty());
    // The old 32-bit value refuses it, as every file was refused.
    let old32 = (h5::MAX_FILE_BYTES as u32) as usize;
    assert_eq!(old32, 0);
    assert!(zip.read("model.weights.h5", old32).is_err());
    let loaded = fuzzing::load_keras(&bytes).unwrap();
    assert_eq!(loaded.count_params(), m.count_params());
}

/// A model compiled with a LossScaleOptimizer saves and loads its state (Keras's
/// `optimizer/vars` layout: the wrapper's four variables, then the inner optimizer's), and
/// training resumes identically.
#[test]
fn loss_scale_optimizer_state_round_trips_in_keras_files() {
    use crate::layers::{Dense, Input};
    use crate::optimizers::{Adam, LossScaleOptimizer};
    let mut a = Sequential::new();
    a.add(Input::new(&[3])).unwrap();
    a.add(Dense::new(2)).unwrap();
    a.compile(LossScaleOptimizer::new(Adam::new()).initial_scale(8.0).dynamic_growth_steps(2), "mse", &[])
        .unwrap();
    let x = ramp(&[4, 3], 1.0);
    let y = ramp(&[4, 2], 1.0);
    for _ in 0..3 {
        a.train_on_batch(&x, &y, None).unwrap();
    }
    let path = tmp("lso.keras");
    a.save(&path).unwrap();
    let mut b = Sequential::load(&path).unwrap();
    assert_eq!(b.compile_state().unwrap().optimizer.class_name(), "LossScaleOptimizer");
    assert_eq!(opt_values(&a), opt_values(&b));
    assert_eq!(opt_values(&b)[3], vec![16.0]); // dynamic_scale doubled once
    a.train_on_batch(&x, &y, None).unwrap();
    b.train_on_batch(&x, &y, None).unwrap();
    assert_eq!(
        a.get_weights().iter().map(Tensor::to_f32_vec).collect::<Vec<_>>(),
        b.get_weights().iter().map(Tensor::to_f32_vec).collect::<Vec<_>>()
    );
    assert_eq!(opt_values(&a), opt_values(&b));
}
