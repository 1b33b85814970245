//! Helpers the integration tests share: fixture paths, a self-removing temporary directory,
//! numbered `.npy` files, the largest difference between tensors, expected errors and layers
//! from Keras configs. Each test file takes
//! them with `mod common;` (cargo builds no test of this folder on its own).

// Each test file uses only some of these.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use keras::models::Sequential;
use keras::Tensor;

/// `crates/keras/tests/fixtures`.
pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// A fresh directory per test, removed when dropped (tests run in parallel, so the name
/// holds the test binary, the process id and the test's own name).
pub struct TempDir(PathBuf);

impl TempDir {
    /// Creates `<temp>/keras_rs_<test binary>_<pid>_<test>`.
    pub fn new(test: &str) -> TempDir {
        let name = format!("keras_rs_{}_{}_{test}", env!("CARGO_CRATE_NAME"), std::process::id());
        let dir = std::env::temp_dir().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
    /// The path of `name` inside the directory.
    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
    /// The directory itself.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `<prefix>0.npy`, `<prefix>1.npy`, ... in `dir`, up to the first that is missing.
pub fn numbered(dir: &Path, prefix: &str) -> Vec<Tensor> {
    (0..).map_while(|i| keras::io::npy::read(dir.join(format!("{prefix}{i}.npy"))).ok()).collect()
}

/// The largest `|a - b|` over two tensors of the same shape.
pub fn max_diff(a: &Tensor, b: &Tensor) -> f32 {
    assert_eq!(a.shape(), b.shape());
    a.to_f32_vec().iter().zip(b.to_f32_vec()).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

/// The largest `|a - b|` over two lists of tensors, pairwise (same count, same shapes).
pub fn max_diff_all(a: &[Tensor], b: &[Tensor]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| max_diff(x, y)).fold(0.0, f32::max)
}

/// The message of an expected error (panics on `Ok`).
pub fn err(r: keras::Result<impl Sized>) -> String {
    match r {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

/// The layer of a Keras `{"class_name": class, "config": cfg}`.
pub fn from_cfg(class: &str, cfg: serde_json::Value) -> keras::Result<Box<dyn keras::layers::Layer>> {
    keras::layers::deserialize(&serde_json::json!({"class_name": class, "config": cfg}))
}

/// The `Layer` methods a user layer writes the same way: `class_name` (`$class`), `base`,
/// `base_mut` and `as_any`, its `LayerBase` in field `base` (or the field named after the
/// class: `layer_basics!("Two", 0)`).
#[allow(unused_macros)]
macro_rules! layer_basics {
    ($class:literal) => {
        $crate::common::layer_basics!($class, base);
    };
    ($class:literal, $base:tt) => {
        fn class_name(&self) -> &'static str {
            $class
        }
        fn base(&self) -> &keras::layers::LayerBase {
            &self.$base
        }
        fn base_mut(&mut self) -> &mut keras::layers::LayerBase {
            &mut self.$base
        }
        fn as_any(&self) -> &dyn std::any::Any {
            self
        }
    };
}
#[allow(unused_imports)]
pub(crate) use layer_basics;

/// The first output of the model saved at `path`, loaded again (the file is removed), on `x`.
pub fn reload_predict(path: &Path, x: &Tensor) -> Vec<f32> {
    let again = keras::saving::load_model(path).unwrap();
    let _ = std::fs::remove_file(path);
    again.predict(x, keras::PredictArgs::default().verbose(0)).unwrap()[0].to_f32_vec()
}

/// The cases of `fixtures/<dir>/cases.json` (a JSON list).
pub fn fixture_cases(dir: &str) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(fixtures().join(dir).join("cases.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Asserts that `got` matches Keras's `want` within the case's own `rtol` and `atol`
/// (`|g - w| <= atol + rtol * |w|` per element, the failure naming the case and index);
/// returns the largest `|g - w|`.
pub fn within_case_tolerance(c: &serde_json::Value, got: &Tensor, want: &Tensor) -> f32 {
    let name = c["name"].as_str().unwrap();
    assert_eq!(got.shape(), want.shape(), "{name}");
    let (rtol, atol) = (c["rtol"].as_f64().unwrap() as f32, c["atol"].as_f64().unwrap() as f32);
    let mut worst = 0.0f32;
    for (i, (g, w)) in got.to_f32_vec().iter().zip(want.to_f32_vec()).enumerate() {
        let err = (g - w).abs();
        worst = worst.max(err);
        assert!(err <= atol + rtol * w.abs(), "{name}[{i}]: keras-rs {g}, Keras {w}");
    }
    worst
}

/// A Sequential `Input -> layer -> Flatten -> Dense(2)` saved to `.keras` and loaded back:
/// asserts that both predict the same on the batch `x` (the input shape is the rest of its
/// shape) and returns the model and the loaded one.
pub fn sequential_round_trip(
    name: &str,
    layer: impl keras::layers::Layer + 'static,
    x: &Tensor,
) -> (Sequential, Sequential) {
    use keras::layers::{Dense, Flatten, Input};
    let mut model = Sequential::new();
    model.add(Input::new(&x.shape()[1..])).unwrap();
    model.add(layer).unwrap();
    model.add(Flatten::new()).unwrap();
    model.add(Dense::new(2)).unwrap();
    let dir = TempDir::new(name);
    let path = dir.join("m.keras");
    model.save(&path).unwrap();
    let restored = keras::saving::load_model(&path).unwrap().into_sequential().unwrap();
    let args = || keras::PredictArgs::default().verbose(0);
    let (a, b) = (model.predict(x, args()).unwrap(), restored.predict(x, args()).unwrap());
    assert_eq!(a.to_f32_vec(), b.to_f32_vec(), "{name}");
    (model, restored)
}
