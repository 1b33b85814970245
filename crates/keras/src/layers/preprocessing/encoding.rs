//! Keras's `encode_categorical_inputs` (TensorFlow backend): integer ids to one-hot,
//! multi-hot or count vectors, shared by CategoryEncoding, Discretization and the lookup
//! layers.

use std::marker::PhantomData;

use serde_json::Value;

use crate::layers::layer_args::{LayerArgs, LayerCfg};
use crate::utils::config_args::ConfigArg;
use crate::{keras_bail, Error, Result, Tensor};

/// How ids are encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputMode {
    /// The ids themselves.
    Int,
    /// One vector per id.
    OneHot,
    /// One vector per sample: 1 where an id occurs.
    MultiHot,
    /// One vector per sample: how often each id occurs (optionally weighted).
    Count,
    /// Counts times inverse document frequencies (lookup layers).
    TfIdf,
}

impl OutputMode {
    /// The Keras name (`"multi_hot"`).
    pub fn name(self) -> &'static str {
        match self {
            OutputMode::Int => "int",
            OutputMode::OneHot => "one_hot",
            OutputMode::MultiHot => "multi_hot",
            OutputMode::Count => "count",
            OutputMode::TfIdf => "tf_idf",
        }
    }

    /// Parses a Keras name (`"binary"` is `"multi_hot"`), if it is one of `allowed`.
    pub fn parse(s: &str, allowed: &[OutputMode]) -> Option<OutputMode> {
        let m = match s {
            "int" => OutputMode::Int,
            "one_hot" => OutputMode::OneHot,
            "multi_hot" | "binary" => OutputMode::MultiHot,
            "count" => OutputMode::Count,
            "tf_idf" => OutputMode::TfIdf,
            _ => return None,
        };
        allowed.contains(&m).then_some(m)
    }
}

/// The output shape of an encoding of ids of `shape` into `depth` classes: one-hot appends
/// the class axis (replacing a last axis of size 1), the others replace the reduced axis
/// (see `reduced_axis`) by a class axis at the end; a scalar is one sample.
pub(crate) fn encoded_shape<T: Copy>(
    shape: &[T],
    mode: OutputMode,
    depth: T,
    one: T,
    is_one: impl Fn(T) -> bool,
) -> Vec<T> {
    let shape: Vec<T> = if shape.is_empty() { vec![one] } else { shape.to_vec() };
    match mode {
        OutputMode::Int => shape,
        OutputMode::OneHot => {
            let mut s = shape.clone();
            if s.len() > 1 && is_one(s[s.len() - 1]) {
                s.pop();
            }
            s.push(depth);
            s
        }
        _ => {
            let mut s = shape.clone();
            s.remove(reduced_axis(s.len()));
            s.push(depth);
            s
        }
    }
}

/// The axis multi-hot and count encodings reduce: the last of a rank-1 or rank-2 input (one
/// sample per row), axis 1 beyond (Keras's `multi_hot` / count fallback on TensorFlow).
fn reduced_axis(rank: usize) -> usize {
    if rank <= 2 {
        rank.saturating_sub(1)
    } else {
        1
    }
}

/// Encodes `ids` (row-major, of `shape`) into `depth` classes. Ids at or above `depth` are
/// dropped, as TensorFlow's bincount and one_hot drop them; negative ids are refused.
/// `weights` (same shape as `ids`) weight the counts; `idf` (length `depth`) scales
/// `tf_idf` counts.
pub(crate) fn encode(
    ids: &[i64],
    shape: &[usize],
    mode: OutputMode,
    depth: usize,
    weights: Option<&[f32]>,
    idf: Option<&[f32]>,
    layer: &str,
) -> Result<Tensor> {
    if mode == OutputMode::Int {
        return Ok(Tensor::from_i64(ids.to_vec(), shape.to_vec())?);
    }
    if let Some(&bad) = ids.iter().find(|&&i| i < 0) {
        keras_bail!(
            InvalidArgument,
            "Exception encountered when calling {layer}.call(): Input 'in' must be non-negative! Negative input value found: {bad}"
        );
    }
    let out_shape = encoded_shape(shape, mode, depth, 1, |d| d == 1);
    let numel = keras_engine::alloc::checked_numel(&out_shape, 4)?;
    let mut out = vec![0f32; numel];
    match mode {
        OutputMode::OneHot => {
            for (row, &id) in ids.iter().enumerate() {
                if (id as usize) < depth {
                    out[row * depth + id as usize] = 1.0;
                }
            }
        }
        _ => {
            // Element (outer, m, inner) of the reduced axis `m` goes to row (outer, inner).
            let ax = reduced_axis(shape.len());
            let mid = shape[ax].max(1);
            let inner: usize = shape[ax + 1..].iter().product::<usize>().max(1);
            for (i, &id) in ids.iter().enumerate() {
                let row = (i / (mid * inner)) * inner + i % inner;
                let id = id as usize;
                if id >= depth {
                    continue;
                }
                let cell = &mut out[row * depth + id];
                match mode {
                    OutputMode::MultiHot => *cell = 1.0,
                    _ => *cell += weights.map_or(1.0, |w| w[i]),
                }
            }
            if let (OutputMode::TfIdf, Some(idf)) = (mode, idf) {
                for row in out.chunks_mut(depth) {
                    for (v, w) in row.iter_mut().zip(idf) {
                        *v *= w;
                    }
                }
            }
        }
    }
    Ok(Tensor::new(out, out_shape)?)
}

/// The integer ids of a tensor (floats are truncated toward zero, as a cast does).
pub(crate) fn ids_of(x: &Tensor) -> Vec<i64> {
    match x.dtype() {
        keras_engine::DType::F32 => x.to_f32_vec().into_iter().map(|v| v as i64).collect(),
        _ => x.to_i64_vec(),
    }
}

/// The `output_mode`s a layer accepts, and its (Keras's) messages for any other value.
pub(crate) trait ModeSet {
    /// The accepted modes.
    const ALLOWED: &'static [OutputMode];
    /// Whether `"binary"` is read as `"multi_hot"` (Keras's older name).
    const BINARY_ALIAS: bool = true;
    /// The accepted name `name` stands for (an alias such as `"tf-idf"`), or `name`.
    fn canonical(name: &str) -> &str {
        name
    }
    /// The message for a mode name that is not accepted.
    fn unknown(class: &str, mode: &str) -> String;
    /// The message for an `output_mode` that is not a string.
    fn not_a_string(class: &str, v: &Value) -> String {
        format!("{class}: `output_mode` must be a string, received {v}")
    }
}

/// An `output_mode` among those of the layer `S` accepts ([`ModeSet`]), written by its Keras
/// name; a config's unknown name or non-string value is the layer's own error.
pub(crate) struct Mode<S>(OutputMode, PhantomData<S>);

impl<S> Clone for Mode<S> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<S> Copy for Mode<S> {}

impl<S: ModeSet> Mode<S> {
    /// `mode` (one of `S::ALLOWED`).
    pub(crate) const fn new(mode: OutputMode) -> Self {
        Mode(mode, PhantomData)
    }

    /// The mode.
    pub(crate) fn get(self) -> OutputMode {
        self.0
    }

    /// The mode named `name` (the layer `class`'s error if `S` does not accept it).
    pub(crate) fn parse(class: &str, name: &str) -> Result<Self> {
        let name = S::canonical(name);
        OutputMode::parse(name, S::ALLOWED)
            .filter(|_| S::BINARY_ALIAS || name != "binary")
            .map(Self::new)
            .ok_or_else(|| Error::InvalidArgument(S::unknown(class, name)))
    }
}

impl<S: ModeSet> ConfigArg<LayerArgs> for Mode<S> {
    fn to_config(&self) -> Value {
        Value::from(self.0.name())
    }
    fn from_config(src: &mut LayerCfg<'_>, key: &str, default: Option<Self>) -> Result<Self> {
        match (src.cfg.get(key), default) {
            (None, Some(d)) => Ok(d),
            (None, None) => Err(Error::Config(format!("{} config needs `{key}`", src.class))),
            (Some(Value::String(s)), _) => Self::parse(src.class, s),
            (Some(v), _) => Err(Error::Config(S::not_a_string(src.class, v))),
        }
    }
}

#[cfg(test)]
mod mode_tests {
    use super::*;
    use crate::layers::preprocessing::index_lookup::LookupModes;
    use crate::layers::{CategoryEncoding, Discretization, Hashing, IntegerLookup, StringLookup};
    use serde_json::json;

    fn read<S: ModeSet>(cfg: Value, class: &str) -> Result<Mode<S>> {
        let default = Some(Mode::new(OutputMode::Int));
        <Mode<S> as ConfigArg<LayerArgs>>::from_config(
            &mut LayerCfg::new(&cfg, class),
            "output_mode",
            default,
        )
    }

    /// Each layer's accepted names and aliases, its own messages for the others, and the
    /// Keras name written back.
    #[test]
    fn modes_are_read_with_each_layers_rules_and_messages() {
        let m = read::<LookupModes>(json!({"output_mode": "tf-idf"}), "StringLookup").unwrap();
        assert_eq!((m.get(), m.to_config()), (OutputMode::TfIdf, json!("tf_idf")));
        let m = read::<LookupModes>(json!({"output_mode": "binary"}), "StringLookup").unwrap();
        assert_eq!(m.get(), OutputMode::MultiHot);
        assert_eq!(read::<LookupModes>(json!({}), "StringLookup").unwrap().get(), OutputMode::Int);
        let e =
            read::<LookupModes>(json!({"output_mode": "bag"}), "IntegerLookup").err().unwrap().to_string();
        assert!(e.contains("Unknown value for `output_mode` argument of IntegerLookup"), "{e}");
        let e = read::<LookupModes>(json!({"output_mode": 3}), "StringLookup").err().unwrap().to_string();
        assert_eq!(e, "StringLookup: `output_mode` must be a string, received 3");
        let e = read::<Hashing>(json!({"output_mode": "binary"}), "Hashing").err().unwrap().to_string();
        assert!(e.starts_with("Invalid value for argument `output_mode`."), "{e}");
        let e = read::<CategoryEncoding>(json!({"output_mode": "int"}), "CategoryEncoding").err().unwrap();
        assert_eq!(e.to_string(), "Unknown arg for output_mode: int");
        let e = read::<CategoryEncoding>(json!({"output_mode": null}), "CategoryEncoding").err().unwrap();
        assert_eq!(e.to_string(), "Unknown arg for output_mode: null");
    }

    /// The messages the layers' `from_config` keeps around `read_args` (Keras's own where
    /// Keras has one).
    #[test]
    fn configs_keep_their_messages() {
        let err = |r: Result<()>| r.err().unwrap().to_string();
        let ce = |c: Value| err(CategoryEncoding::from_config(&c).map(drop));
        assert!(ce(json!({"num_tokens": -2})).contains("`num_tokens` must be >= 1. Received: num_tokens=-2."));
        assert!(ce(json!({"num_tokens": "3"})).contains("`num_tokens` must be an integer."));
        let h = |c: Value| err(Hashing::from_config(&c).map(drop));
        assert!(h(json!({"num_bins": 3, "sparse": true})).contains("`sparse=True` is not supported"));
        assert!(h(json!({"num_bins": 3, "mask_value": 1.5}))
            .contains("`mask_value` must be a string or an integer"));
        assert!(h(json!({"num_bins": 3, "salt": "x"})).contains("The `salt` argument for `Hashing`"));
        let d = |c: Value| err(Discretization::from_config(&c).map(drop));
        assert!(d(json!({"num_bins": 2, "sparse": true})).contains("`sparse=True` is not supported"));
        let il = |c: Value| err(IntegerLookup::from_config(&c).map(drop));
        assert!(il(json!({"num_oov_indices": -1}))
            .contains("`num_oov_indices` must be greater than or equal to 0. Received: num_oov_indices=-1"));
        assert!(il(json!({"oov_method": "md5"})).contains(
            "Unknown value for `oov_method` argument of IntegerLookup. Allowed values are: ('floormod', 'farmhash')"
        ));
        let sl = |c: Value| err(StringLookup::from_config(&c).map(drop));
        assert!(sl(json!({"sparse": true})).contains("StringLookup: `sparse=True` is not supported"));
        assert!(
            sl(json!({"vocabulary": "/etc/passwd"})).contains("Requested the loading of a vocabulary file")
        );
        assert!(sl(json!({"output_mode": "bag"}))
            .contains("Unknown value for `output_mode` argument of StringLookup"));
    }
}
