//! Saving and loading models (`keras.saving`), in every format Keras reads and writes:
//!
//! * `.keras` (Keras 3): a zip with `metadata.json`, `config.json` (architecture and
//!   compile config) and `model.weights.h5` (weights and optimizer state);
//! * legacy `.h5` / `.hdf5` (Keras 2, tf.keras and Keras 3's `legacy_h5_format`);
//! * weights only: `.weights.h5` (Keras 3 layout) and legacy `.h5` weights (by position
//!   or by layer name, as the Keras Applications' published weight files are read).
//!
//! HDF5 is read and written in pure Rust (`hdf5-pure`). Loading never executes code: the
//! architecture is rebuilt from the layer registry, which refuses `Lambda` and unknown
//! classes. Corrupt or hostile files give an [`Error`], never a panic or an
//! unbounded allocation; writes are atomic (temporary file, then rename).
//!
//! ```
//! use keras::layers::{Dense, Input};
//! use keras::models::{load_model, Sequential};
//! use keras::{PredictArgs, Tensor};
//!
//! let mut model = Sequential::new();
//! model.add(Input::new(&[4])).unwrap();
//! model.add(Dense::new(2).activation("softmax")).unwrap();
//! model.compile("adam", "sparse_categorical_crossentropy", &["accuracy"]).unwrap();
//!
//! let path = std::env::temp_dir().join(format!("doc_{}.keras", std::process::id()));
//! model.save(&path).unwrap();
//! let restored = load_model(&path).unwrap();
//! let x = Tensor::new(vec![0.5; 8], [2, 4]).unwrap();
//! let args = || PredictArgs::default().verbose(0);
//! assert_eq!(
//!     model.predict(&x, args()).unwrap().to_f32_vec(),
//!     restored.predict(&x, args()).unwrap()[0].to_f32_vec()
//! );
//! assert_eq!(restored.class_name(), "Sequential");
//! assert!(restored.compile_state().is_some());
//! # std::fs::remove_file(&path).unwrap();
//! ```
//!
//! Submodules:
//! - `assets`: Layer assets in a `.keras` archive (Keras `save_assets` / `load_assets`)
//! - `atomic`: Atomic file writes
//! - `compile_config`: The compile configuration in both of Keras's forms
//! - `functional`: Saving and loading Functional models
//! - `h5`: HDF5 in pure Rust (the `hdf5-pure` crate)
//! - `keras_zip`: The Keras 3 `.keras` format
//! - `layout`: Where Keras 3 keeps each variable in `model.weights.h5` (its `H5IOStore` paths)
//! - `legacy_h5`: The legacy HDF5 format (`model.save("m.h5")`, Keras 2 / tf.keras and Keras 3's `legacy_h5_format`)
//! - `limits`: Bounds on what a loaded configuration may make us allocate
//! - `object_registration`: The class registry open to user layers (Keras `keras.saving.register_keras_serializable`)
//! - `tf_keras_optimizer`: Optimizer state written by tf.keras 2 (`optimizer_weights` in a legacy `.h5` file), mapped onto the Keras 3 optimizer by variable name
//! - `weights_h5`: The Keras 3 weights file (`model.weights.h5`, also the weights inside a `.keras` zip)
//! - `zip`: The small part of the ZIP format a `.keras` file uses

mod assets;
mod atomic;
mod compile_config;
pub mod functional;
pub(crate) mod h5;
mod keras_zip;
pub(crate) mod layout;
mod legacy_h5;
mod limits;
pub mod object_registration;
mod tf_keras_optimizer;
pub(crate) mod weights_h5;
mod zip;

pub(crate) use zip::Archive as ZipArchive;

/// Reads a whole file for a loader (at most 8 GiB; larger files are refused with an error).
pub(crate) fn read_file_limited(path: &Path) -> Result<Vec<u8>> {
    h5::read_file_bounded(path, h5::MAX_FILE_BYTES)
}

#[cfg(test)]
mod tests;

/// Entry points for the fuzz targets (`fuzz/`) and the regression tests: the loaders
/// without the `catch_unwind` shield, so a panic anywhere is seen as the bug it is.
#[doc(hidden)]
pub mod fuzzing {
    use super::*;
    use crate::layers::{
        Bidirectional, Dense, Dropout, Flatten, Input, LayerNormalization, SimpleRNN, TimeDistributed,
    };
    use crate::layers::{GRU, LSTM};

    /// Loads `.keras` bytes (a Sequential or a Functional model).
    pub fn load_keras(bytes: &[u8]) -> Result<AnyModel> {
        keras_any_from_bytes(bytes, true)
    }

    /// Loads legacy `.h5` model bytes (a Sequential or a Functional model).
    pub fn load_h5(bytes: &[u8]) -> Result<AnyModel> {
        let r = h5::Reader::from_bytes(bytes.to_vec(), "<fuzz>")?;
        h5_any_load(&r, true)
    }

    /// The fixed model the weight loaders are fuzzed with (every kind of variable group:
    /// nested RNN cells, wrappers, normalization), compiled with a built Adam.
    pub fn weights_target_model() -> Sequential {
        crate::utils::set_random_seed(3);
        let mut m = Sequential::new().with_name("seq");
        let r = (|| {
            m.add(Input::new(&[5, 3]))?;
            m.add(Bidirectional::new(LSTM::new(3).return_sequences(true)))?;
            m.add(TimeDistributed::new(Dense::new(4)))?;
            m.add(GRU::new(3).return_sequences(true))?;
            m.add(SimpleRNN::new(2).return_sequences(true))?;
            m.add(LayerNormalization::new())?;
            m.add(Flatten::new())?;
            m.add(Dropout::new(0.1))?;
            m.add(Dense::new(3).activation("softmax"))?;
            m.compile("adam", "sparse_categorical_crossentropy", &["accuracy"])?;
            m.build_optimizer()
        })();
        r.expect("the fuzz target model is valid");
        m
    }

    /// Loads weight bytes (Keras 3 layout, else legacy) into [`weights_target_model`].
    pub fn load_weights(bytes: &[u8]) -> Result<Sequential> {
        let mut m = weights_target_model();
        let r = h5::Reader::from_bytes(bytes.to_vec(), "<fuzz>")?;
        if r.has_group("layers")? || r.has_group("vars")? {
            weights_h5::load_tree(&mut m, &r, false)?;
        } else {
            legacy_h5::load_weights(&mut m, &r, LoadWeightsArgs::default())?;
        }
        Ok(m)
    }

    /// Builds a model from `config.json` bytes, with a 64 KiB weights budget.
    pub fn model_from_json(bytes: &[u8]) -> Result<Sequential> {
        let text = std::str::from_utf8(bytes).map_err(|_| Error::Config("not UTF-8".into()))?;
        let cfg = Value::Object(compile_config::parse_json_object(text, "config.json")?);
        let mut m = model_from_config_checked(&cfg, 64 << 10)?;
        if let Some(cc) = cfg.get("compile_config").filter(|c| !c.is_null()) {
            compile_config::compile_from_config(&mut m, cc)?;
        }
        Ok(m)
    }
}

use crate::setters::setters;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use serde_json::Value;

use crate::models::{AnyModel, Functional, Sequential};
use crate::{keras_bail, Error, Result};

/// The Keras version whose file formats keras-rs writes (recorded in `metadata.json` and
/// the `keras_version` attributes, where Keras reads it).
pub const KERAS_VERSION: &str = "3.15.1";

/// Options of [`Sequential::load_weights_with`] (Keras `load_weights(by_name=...,
/// skip_mismatch=...)`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LoadWeightsArgs {
    /// Match layers by name instead of by position (legacy `.h5` files only).
    pub by_name: bool,
    /// Skip weights whose shape (or layers whose weight count) does not match, with a
    /// warning, instead of failing.
    pub skip_mismatch: bool,
}

impl LoadWeightsArgs {
    setters! {
        /// Load by layer name.
        by_name: bool,
        /// Skip mismatching weights.
        skip_mismatch: bool,
    }
}

pub(crate) use crate::utils::warnings::warn;

fn path_str(p: &Path) -> String {
    p.display().to_string()
}

fn ends_with(p: &Path, suffixes: &[&str]) -> bool {
    let s = path_str(p);
    suffixes.iter().any(|x| s.ends_with(x))
}

/// Runs a loader, turning any panic left in a dependency or a layer into an error: a file
/// must never crash the program that reads it.
fn shielded<T>(path: &Path, f: impl FnOnce() -> Result<T>) -> Result<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(_) => Err(Error::Io(format!("Cannot load {}: the file is corrupt", path.display()))),
    }
}

/// Rebuilds a Sequential model from a `{"class_name": "Sequential", "config": ...}` object,
/// checking before each layer is built that its parameters fit in `weights_bytes` (the size
/// of the weights data that must hold them) and that every shape and integer is sane.
pub(crate) fn model_from_config_checked(cfg: &Value, weights_bytes: usize) -> Result<Sequential> {
    let class = cfg.get("class_name").and_then(Value::as_str).unwrap_or("");
    if class != "Sequential" {
        keras_bail!(
            Config,
            "Only Sequential models can be loaded by keras-rs; this file holds a '{}' model",
            if class.is_empty() { "unknown" } else { class }
        );
    }
    let inner = limits::checked_model_config(cfg)?;
    let mut budget = limits::ParamBudget::new(weights_bytes);
    Sequential::from_config_with(inner, &mut |layer, input| {
        limits::check_shape(input)?;
        budget.take(layer, input)
    })
}

/// A model that [`save_model`] can write: [`Sequential`], [`Functional`] and [`AnyModel`].
pub trait SaveModel {
    /// Writes the model to `path` (`.keras`, or legacy `.h5` / `.hdf5`), atomically.
    fn save_model_to(&self, path: &Path) -> Result<()>;
}

impl SaveModel for Sequential {
    fn save_model_to(&self, path: &Path) -> Result<()> {
        save_sequential(self, path)
    }
}

impl SaveModel for Functional {
    fn save_model_to(&self, path: &Path) -> Result<()> {
        functional::save_model(self, path)
    }
}

impl SaveModel for AnyModel {
    fn save_model_to(&self, path: &Path) -> Result<()> {
        match self {
            AnyModel::Sequential(m) => save_sequential(m, path),
            AnyModel::Functional(m) => functional::save_model(m, path),
        }
    }
}

/// Saves a model (Keras `model.save` / `keras.saving.save_model`): `.keras` for the Keras 3
/// format, `.h5` / `.hdf5` for the legacy one. The write is atomic.
pub fn save_model<M: SaveModel + ?Sized>(model: &M, path: impl AsRef<Path>) -> Result<()> {
    model.save_model_to(path.as_ref())
}

fn save_sequential(model: &Sequential, path: &Path) -> Result<()> {
    let bytes = if ends_with(path, &[".keras"]) {
        keras_zip::to_bytes(model)?
    } else if ends_with(path, &[".h5", ".hdf5"]) {
        legacy_h5::to_bytes(model)?
    } else {
        keras_bail!(
            InvalidArgument,
            "Invalid filepath extension for saving. Please add either a `.keras` extension for the native \
             Keras format (recommended) or a `.h5` extension. Received: filepath={}.",
            path_str(path)
        );
    };
    atomic::write_atomic(path, &bytes)
}

/// Loads a model saved by Keras or keras-rs (Keras `keras.models.load_model`): a `.keras`
/// zip or a legacy `.h5` / `.hdf5` file. The result is the kind the file's `class_name`
/// names ([`AnyModel::Sequential`] or [`AnyModel::Functional`]; tf.keras's `Model` is a
/// Functional model). It is compiled, with the saved optimizer state, when the file has a
/// compile config; a file saved without `compile()` (`"compile_config": {}` or `null`, no
/// `training_config`) loads uncompiled. On error nothing is returned: no half-built model.
pub fn load_model(path: impl AsRef<Path>) -> Result<AnyModel> {
    load_model_with(path, true)
}

/// [`load_model`] with `compile = false`: architecture and weights only.
pub fn load_model_with(path: impl AsRef<Path>, compile: bool) -> Result<AnyModel> {
    load_by_extension(
        path.as_ref(),
        |bytes| keras_any_from_bytes(bytes, compile),
        |reader| h5_any_load(reader, compile),
    )
}

/// Keras `load_model`'s dispatch on the file name: a `.keras` zip (read whole, within the
/// size limit) goes to `from_keras`, a legacy `.h5` / `.hdf5` file to `from_h5`, any other
/// name is refused with Keras's message. Errors name the file; a panic in a loader becomes
/// an error ([`shielded`]).
fn load_by_extension<T>(
    path: &Path,
    from_keras: impl FnOnce(&[u8]) -> Result<T>,
    from_h5: impl FnOnce(&h5::Reader) -> Result<T>,
) -> Result<T> {
    if ends_with(path, &[".keras"]) {
        if !path.is_file() {
            keras_bail!(
                Io,
                "File not found: filepath={}. Please ensure the file is an accessible `.keras` zip file.",
                path_str(path)
            );
        }
        let bytes = h5::read_file_bounded(path, h5::MAX_FILE_BYTES)?;
        return shielded(path, || from_keras(&bytes)).map_err(|e| with_file(e, path));
    }
    if ends_with(path, &[".h5", ".hdf5"]) {
        return shielded(path, || from_h5(&h5::Reader::open(path)?)).map_err(|e| with_file(e, path));
    }
    keras_bail!(
        InvalidArgument,
        "File format not supported: filepath={}. Keras 3 only supports V3 `.keras` files, legacy H5 format \
         files (`.h5` extension).",
        path_str(path)
    )
}

/// The `class_name` of a serialized model config (`""` when absent).
fn model_class(cfg: &Value) -> &str {
    cfg.get("class_name").and_then(Value::as_str).unwrap_or("")
}

/// A `.keras` file's model, of the kind its `config.json` names.
fn keras_any_from_bytes(bytes: &[u8], compile: bool) -> Result<AnyModel> {
    if keras_zip::saved_class(bytes)? == "Sequential" {
        Ok(AnyModel::Sequential(keras_zip::from_bytes(bytes, compile)?))
    } else {
        Ok(AnyModel::Functional(functional::keras_from_bytes(bytes, compile)?))
    }
}

/// A legacy `.h5` file's model, of the kind its `model_config` names.
fn h5_any_load(r: &h5::Reader, compile: bool) -> Result<AnyModel> {
    let attrs = r.string_attrs("")?;
    let Some(config) = attrs.get("model_config").and_then(|v| v.first()) else {
        keras_bail!(Value, "No model config found in the file.");
    };
    let cfg = Value::Object(compile_config::parse_json_object(config, "model_config")?);
    if model_class(&cfg) == "Sequential" {
        Ok(AnyModel::Sequential(legacy_h5::load_model(r, compile)?))
    } else {
        Ok(AnyModel::Functional(functional::h5_load(r, compile)?))
    }
}

/// Loads a model from the bytes of a `.keras` file (what [`load_model`] does after reading
/// the file).
pub fn load_model_from_keras_bytes(bytes: &[u8]) -> Result<AnyModel> {
    shielded(Path::new("<bytes>"), || keras_any_from_bytes(bytes, true))
}

/// Loads a model from the bytes of a legacy `.h5` model file.
pub fn load_model_from_h5_bytes(bytes: &[u8]) -> Result<AnyModel> {
    shielded(Path::new("<bytes>"), || h5_any_load(&h5::Reader::from_bytes(bytes.to_vec(), "<bytes>")?, true))
}

/// Loads weights from the bytes of an HDF5 file into `model`: the Keras 3 layout
/// (`layers/...`) when the file has it, else the legacy one.
pub fn load_weights_from_h5_bytes(model: &mut Sequential, bytes: &[u8], opts: LoadWeightsArgs) -> Result<()> {
    shielded(Path::new("<bytes>"), || {
        let r = h5::Reader::from_bytes(bytes.to_vec(), "<bytes>")?;
        if r.has_group("layers")? || r.has_group("vars")? {
            weights_h5::load_tree(model, &r, opts.skip_mismatch)
        } else {
            legacy_h5::load_weights(model, &r, opts)
        }
    })
}

pub use legacy_h5::{LegacyLayerWeights, LegacyWeights};
pub use object_registration::{get_registered_name, register_keras_serializable, register_rnn_cell};

/// Reads a legacy `.h5` weights file layer by layer, without a model: the format of Keras's
/// published ImageNet weights (tf.keras 2 `save_weights`), of Keras 2 weight files, and the
/// `model_weights` of a legacy whole-model file. Layers come in the file's `layer_names` order,
/// each with its weights in `weight_names` order, so they can be matched by name or by position
/// as Keras's `load_weights` does.
///
/// ```no_run
/// let w = keras::saving::read_legacy_weights("mobilenet_1_0_224_tf.h5")?;
/// for layer in w.layers_with_weights() {
///     for (name, value) in &layer.weights {
///         println!("{} {name} {:?}", layer.name, value.shape());
///     }
/// }
/// # Ok::<(), keras::Error>(())
/// ```
pub fn read_legacy_weights(path: impl AsRef<Path>) -> Result<LegacyWeights> {
    let path = path.as_ref();
    shielded(path, || {
        let r = h5::Reader::open(path)?;
        legacy_h5::read_all(&r)
    })
    .map_err(|e| with_file(e, path))
}

/// One dataset of an HDF5 file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct H5Dataset {
    /// Full path (`layers/dense/vars/0`).
    pub path: String,
    /// Shape (`[]` for a scalar).
    pub shape: Vec<usize>,
    /// NumPy dtype name (`float32`, `int64`).
    pub dtype: String,
}

/// What an HDF5 file holds, as h5py's `visititems` shows it: every dataset and the string
/// attributes of every group (the form of the `*_layout` entries of the reference cases).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct H5Layout {
    /// Datasets, sorted by path.
    pub datasets: Vec<H5Dataset>,
    /// `(group path, attributes)` for groups with string attributes (`""` is the root),
    /// sorted by path; list attributes split by Keras (`name0`, `name1`) are kept as stored.
    pub group_attrs: Vec<(String, std::collections::BTreeMap<String, Vec<String>>)>,
}

/// Lists the datasets and group attributes of HDF5 bytes (a `.weights.h5` or legacy `.h5`
/// file), for tools and tests.
pub fn inspect_h5(bytes: &[u8]) -> Result<H5Layout> {
    shielded(Path::new("<bytes>"), || {
        let r = h5::Reader::from_bytes(bytes.to_vec(), "<bytes>")?;
        let (groups, datasets) = r.walk()?;
        let mut out = H5Layout::default();
        for path in datasets {
            let (shape, stored) = r.dataset_info(&path)?;
            let dtype = match stored {
                h5::Stored::F32 => "float32",
                h5::Stored::F64 => "float64",
                h5::Stored::Int(name) => name,
                h5::Stored::Other => "other",
            };
            out.datasets.push(H5Dataset { path, shape, dtype: dtype.to_string() });
        }
        for g in groups {
            let attrs = r.string_attrs(&g)?;
            if !attrs.is_empty() {
                out.group_attrs.push((g, attrs.into_iter().collect()));
            }
        }
        out.datasets.sort_by(|a, b| a.path.cmp(&b.path));
        out.group_attrs.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    })
}

/// Reads one dataset of HDF5 bytes (float data as float32, integers as int64), for tools
/// and tests. The dataset may not declare more elements than the file has bytes.
pub fn read_h5_dataset(bytes: &[u8], path: &str) -> Result<crate::Tensor> {
    shielded(Path::new("<bytes>"), || h5::Reader::from_bytes(bytes.to_vec(), "<bytes>")?.read(path, None))
}

/// Prefixes an error with the file it came from (the kind is kept).
fn with_file(e: Error, path: &Path) -> Error {
    let msg = format!("{} ({})", e.message(), path.display());
    match e {
        Error::InvalidArgument(_) => Error::InvalidArgument(msg),
        Error::Shape(_) => Error::Shape(msg),
        Error::Value(_) => Error::Value(msg),
        Error::State(_) => Error::State(msg),
        Error::Config(_) => Error::Config(msg),
        Error::Io(_) => Error::Io(msg),
        Error::Engine(_) => Error::Engine(msg),
    }
}

/// `model.save_weights`: the Keras 3 `.weights.h5` layout (optimizer state included when
/// compiled). The file name must end in `.weights.h5`, as in Keras.
pub(crate) fn save_weights<M: weights_h5::WeightsTarget + ?Sized>(
    model: &M,
    built: bool,
    path: &Path,
) -> Result<()> {
    if !built {
        keras_bail!(
            State,
            "You are saving a model that has not yet been built. Try building the model first by calling it \
             on some data or by using `build()`."
        );
    }
    if !ends_with(path, &[".weights.h5"]) {
        keras_bail!(
            InvalidArgument,
            "The filename must end in `.weights.h5`. Received: filepath={}",
            path_str(path)
        );
    }
    let bytes = weights_h5::to_tree(model).to_bytes()?;
    atomic::write_atomic(path, &bytes)
}

/// `model.load_weights`: `.weights.h5` and `.keras` (Keras 3 layout) or legacy `.h5`.
pub(crate) fn load_weights(model: &mut Sequential, path: &Path, opts: LoadWeightsArgs) -> Result<()> {
    let built = model.built();
    load_weights_with_legacy(model, built, path, opts, |model, r, opts| {
        legacy_h5::load_weights(model, r, opts)
    })
}

/// [`load_weights`] for any model with a Keras 3 layout; `legacy` loads a legacy `.h5` file.
pub(crate) fn load_weights_with_legacy<M: weights_h5::WeightsTarget + ?Sized>(
    model: &mut M,
    built: bool,
    path: &Path,
    opts: LoadWeightsArgs,
    legacy: impl FnOnce(&mut M, &h5::Reader, LoadWeightsArgs) -> Result<()>,
) -> Result<()> {
    if !built {
        keras_bail!(
            State,
            "You are loading weights into a model that has not yet been built. Try building the model first \
             by calling it on some data or by using `build()`."
        );
    }
    let keras_layout = ends_with(path, &[".weights.h5", ".keras"]);
    if keras_layout && opts.by_name {
        keras_bail!(
            InvalidArgument,
            "`by_name` only supports loading legacy '.h5' or '.hdf5' files. Received: {}",
            path_str(path)
        );
    }
    if !keras_layout && !ends_with(path, &[".h5", ".hdf5"]) {
        keras_bail!(
            InvalidArgument,
            "File format not supported: filepath={}. Keras 3 only supports V3 `.keras` files, `.weights.h5` \
             files, legacy H5 format files (`.h5` extension).",
            path_str(path)
        );
    }
    let result = shielded(path, || {
        if ends_with(path, &[".keras"]) {
            let bytes = h5::read_file_bounded(path, h5::MAX_FILE_BYTES)?;
            let zip = zip::Archive::new(&bytes)?;
            let weights = zip.read("model.weights.h5", h5::usize_limit(h5::MAX_FILE_BYTES))?;
            let r = h5::Reader::from_bytes(weights, "model.weights.h5")?;
            return weights_h5::load_tree(model, &r, opts.skip_mismatch);
        }
        let r = h5::Reader::open(path)?;
        if keras_layout {
            weights_h5::load_tree(model, &r, opts.skip_mismatch)
        } else {
            legacy(model, &r, opts)
        }
    });
    result.map_err(|e| with_file(e, path))
}
