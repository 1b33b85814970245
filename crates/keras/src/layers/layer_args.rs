//! The layers' family of config readers for [`config_args!`](crate::utils::config_args!):
//! a layer declares each Keras argument once (field, default, documented builder, config key)
//! and gets its `get_config()` writer and `from_config()` reader from that declaration.
//!
//! Reading rules, as Keras's constructors see a config:
//! - a missing key takes the declared default; a missing required argument is the error
//!   "`{class}` config needs `{key}`";
//! - `null` is `None` for an `Option` argument, the default otherwise (Keras passes `None` and
//!   the constructor falls back to its default), and linear for an activation;
//! - a value of the wrong type is an error naming the class, the key and the value.
//!
//! ```text
//! config_args! {
//!     /// Dense's Keras arguments.
//!     pub(crate) struct DenseArgs in Dense.args, family LayerArgs {
//!         units: usize,
//!         /// Whether to add a bias (default true).
//!         use_bias: bool = true; builder use_bias(value: bool),
//!     }
//! }
//! // from_config: DenseArgs::read_args(&mut LayerCfg::new(cfg, "Dense"))?
//! // get_config:  self.args.write_args(&mut map)
//! ```

use serde_json::{json, Value};

use crate::activations::Activation;
use crate::constraints::Constraint;
use crate::initializers::Initializer;
use crate::layers::DataFormat;
use crate::regularizers::Regularizer;
use crate::utils::config_args::{ArgFamily, ConfigArg};
use crate::{Error, Result};

/// The layers' config readers (see the module docs).
pub(crate) struct LayerArgs;

/// A layer config being read, with the layer's class name for the error messages.
pub(crate) struct LayerCfg<'a> {
    /// The config object (`layer.get_config()`).
    pub(crate) cfg: &'a Value,
    /// The Keras class name (`"Dense"`).
    pub(crate) class: &'a str,
}

impl<'a> LayerCfg<'a> {
    /// The config `cfg` of a layer of class `class`.
    pub(crate) fn new(cfg: &'a Value, class: &'a str) -> Self {
        LayerCfg { cfg, class }
    }

    /// The value of `key`, or `default` when the key is missing (or `null`, unless
    /// `null_is_value`); `parse` reads a present value (`None`: the wrong type, `what` names
    /// the expected one in the error).
    fn read<T>(
        &self,
        key: &str,
        default: Option<T>,
        null_is_value: bool,
        what: &str,
        parse: impl FnOnce(&Value) -> Option<T>,
    ) -> Result<T> {
        match self.cfg.get(key) {
            Some(Value::Null) if null_is_value => parse(&Value::Null).ok_or_else(|| self.wrong(key, what)),
            None | Some(Value::Null) => {
                default.ok_or_else(|| Error::Config(format!("{} config needs `{key}`", self.class)))
            }
            Some(v) => parse(v).ok_or_else(|| self.wrong(key, what)),
        }
    }

    /// The wrong-type error for `key`.
    fn wrong(&self, key: &str, what: &str) -> Error {
        let v = self.cfg.get(key).unwrap_or(&Value::Null);
        Error::Config(format!("{}: `{key}` must be {what}, received {key}={v}", self.class))
    }

    /// The value of `key`, or `default` when missing; a present value (`null` included) is
    /// read by `parse`, whose errors pass through.
    fn read_with<T>(
        &self,
        key: &str,
        default: Option<T>,
        parse: impl FnOnce(&Value) -> Result<T>,
    ) -> Result<T> {
        match self.cfg.get(key) {
            None => default.ok_or_else(|| Error::Config(format!("{} config needs `{key}`", self.class))),
            Some(v) => parse(v),
        }
    }
}

impl ArgFamily for LayerArgs {
    type Src<'a> = LayerCfg<'a>;
}

/// `ConfigArg<LayerArgs>` for a plain value type: `null` means the default.
macro_rules! plain_arg {
    ($($ty:ty, $what:literal, |$v:ident| $parse:expr;)*) => {$(
        impl ConfigArg<LayerArgs> for $ty {
            fn to_config(&self) -> Value {
                json!(self)
            }
            fn from_config(src: &mut LayerCfg<'_>, key: &str, default: Option<Self>) -> Result<Self> {
                src.read(key, default, false, $what, |$v| $parse)
            }
        }
    )*};
}

/// `ConfigArg<LayerArgs>` for an `Option` of a plain value type: `null` means `None`.
macro_rules! optional_arg {
    ($($ty:ty, $what:literal, |$v:ident| $parse:expr;)*) => {$(
        impl ConfigArg<LayerArgs> for Option<$ty> {
            fn to_config(&self) -> Value {
                json!(self)
            }
            fn from_config(src: &mut LayerCfg<'_>, key: &str, default: Option<Self>) -> Result<Self> {
                src.read(key, default, true, concat!($what, " or null"), |$v| match $v {
                    Value::Null => Some(None),
                    $v => $parse.map(Some),
                })
            }
        }
    )*};
}

plain_arg! {
    bool, "a boolean", |v| v.as_bool();
    usize, "a non-negative integer", |v| v.as_u64().and_then(|k| usize::try_from(k).ok());
    i64, "an integer", |v| v.as_i64();
    f64, "a number", |v| v.as_f64();
    String, "a string", |v| v.as_str().map(str::to_string);
    Vec<usize>, "a list of non-negative integers", |v| v
        .as_array()?
        .iter()
        .map(|x| x.as_u64().and_then(|k| usize::try_from(k).ok()))
        .collect::<Option<Vec<_>>>();
    Vec<f64>, "a list of numbers", |v| v.as_array()?.iter().map(Value::as_f64).collect::<Option<Vec<_>>>();
}

optional_arg! {
    usize, "a non-negative integer", |v| v.as_u64().and_then(|k| usize::try_from(k).ok());
    i64, "an integer", |v| v.as_i64();
    u64, "a non-negative integer", |v| v.as_u64();
    f64, "a number", |v| v.as_f64();
    String, "a string", |v| v.as_str().map(str::to_string);
}

/// Any JSON value, kept as written (arguments whose reading is the layer's own business).
impl ConfigArg<LayerArgs> for Value {
    fn to_config(&self) -> Value {
        self.clone()
    }
    fn from_config(src: &mut LayerCfg<'_>, key: &str, default: Option<Self>) -> Result<Self> {
        src.read_with(key, default, |v| Ok(v.clone()))
    }
}

/// An activation by name or serialized object; `null` is linear, as Keras's
/// `activations.get(None)`.
impl ConfigArg<LayerArgs> for Activation {
    fn to_config(&self) -> Value {
        Activation::to_config(self)
    }
    fn from_config(src: &mut LayerCfg<'_>, key: &str, default: Option<Self>) -> Result<Self> {
        src.read_with(key, default, Activation::from_config)
    }
}

/// An initializer; `null` is the default, as Keras's `add_weight` treats it.
impl ConfigArg<LayerArgs> for Initializer {
    fn to_config(&self) -> Value {
        Initializer::to_config(self)
    }
    fn from_config(src: &mut LayerCfg<'_>, key: &str, default: Option<Self>) -> Result<Self> {
        match src.cfg.get(key) {
            None | Some(Value::Null) => {
                default.ok_or_else(|| Error::Config(format!("{} config needs `{key}`", src.class)))
            }
            Some(v) => Initializer::from_config(v),
        }
    }
}

/// A regularizer, `null` for none.
impl ConfigArg<LayerArgs> for Option<Regularizer> {
    fn to_config(&self) -> Value {
        self.as_ref().map_or(Value::Null, Regularizer::to_config)
    }
    fn from_config(src: &mut LayerCfg<'_>, key: &str, default: Option<Self>) -> Result<Self> {
        src.read_with(key, default, Regularizer::from_config)
    }
}

/// A constraint, `null` for none.
impl ConfigArg<LayerArgs> for Option<Constraint> {
    fn to_config(&self) -> Value {
        self.as_ref().map_or(Value::Null, Constraint::to_config)
    }
    fn from_config(src: &mut LayerCfg<'_>, key: &str, default: Option<Self>) -> Result<Self> {
        src.read_with(key, default, Constraint::from_config)
    }
}

/// `"channels_last"` / `"channels_first"`; missing or `null` is the global default
/// (`keras.config.image_data_format()`), whatever the declared default.
impl ConfigArg<LayerArgs> for DataFormat {
    fn to_config(&self) -> Value {
        Value::from(self.as_str())
    }
    fn from_config(src: &mut LayerCfg<'_>, key: &str, _default: Option<Self>) -> Result<Self> {
        match src.cfg.get(key) {
            None | Some(Value::Null) => Ok(DataFormat::default()),
            Some(Value::String(s)) => DataFormat::parse(s),
            Some(other) => {
                Err(Error::Value(format!("The `{key}` argument must be a string. Received: {key}={other}")))
            }
        }
    }
}

// args1: value types of the layers in args1's folders.

/// An `f32` argument, written as Python writes the float Keras keeps (`0.1`, not
/// `0.10000000149011612`); `null` means the default.
impl ConfigArg<LayerArgs> for f32 {
    fn to_config(&self) -> Value {
        crate::utils::python_repr::py_float_json(*self)
    }
    fn from_config(src: &mut LayerCfg<'_>, key: &str, default: Option<Self>) -> Result<Self> {
        src.read(key, default, false, "a number", |v| v.as_f64().map(|x| x as f32))
    }
}

/// An `isize` argument (an axis); `null` means the default.
impl ConfigArg<LayerArgs> for isize {
    fn to_config(&self) -> Value {
        json!(self)
    }
    fn from_config(src: &mut LayerCfg<'_>, key: &str, default: Option<Self>) -> Result<Self> {
        src.read(key, default, false, "an integer", |v| v.as_i64().and_then(|k| isize::try_from(k).ok()))
    }
}

/// A list of integers (a `target_shape` with `-1`); `null` means the default.
impl ConfigArg<LayerArgs> for Vec<i64> {
    fn to_config(&self) -> Value {
        json!(self)
    }
    fn from_config(src: &mut LayerCfg<'_>, key: &str, default: Option<Self>) -> Result<Self> {
        src.read(key, default, false, "a list of integers", |v| {
            v.as_array()?.iter().map(Value::as_i64).collect::<Option<Vec<_>>>()
        })
    }
}

/// A size per spatial axis (`pool_size`, `strides`): an int for every axis or `N` ints, as
/// Keras's `standardize_tuple` reads it (zeros are the layer's builders' error); written as a
/// list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SizeTuple<const N: usize>(pub(crate) [usize; N]);

impl<const N: usize> SizeTuple<N> {
    fn parse(v: &Value, key: &str) -> Result<Self> {
        let t = crate::layers::reshaping::args::int_tuple(v, N, key, true)?;
        Ok(SizeTuple(std::array::from_fn(|i| t[i])))
    }
}

/// `null` means the default.
impl<const N: usize> ConfigArg<LayerArgs> for SizeTuple<N> {
    fn to_config(&self) -> Value {
        json!(self.0.as_slice())
    }
    fn from_config(src: &mut LayerCfg<'_>, key: &str, default: Option<Self>) -> Result<Self> {
        match src.cfg.get(key) {
            None | Some(Value::Null) => {
                default.ok_or_else(|| Error::Config(format!("{} config needs `{key}`", src.class)))
            }
            Some(v) => SizeTuple::parse(v, key),
        }
    }
}

/// `null` is `None` (e.g. pooling strides that default to the pool size).
impl<const N: usize> ConfigArg<LayerArgs> for Option<SizeTuple<N>> {
    fn to_config(&self) -> Value {
        self.as_ref().map_or(Value::Null, |t| json!(t.0.as_slice()))
    }
    fn from_config(src: &mut LayerCfg<'_>, key: &str, default: Option<Self>) -> Result<Self> {
        match src.cfg.get(key) {
            None => Ok(default.flatten()),
            Some(Value::Null) => Ok(None),
            Some(v) => SizeTuple::parse(v, key).map(Some),
        }
    }
}

/// An optional `f32` argument (`null` is `None`), written as Python writes the float.
impl ConfigArg<LayerArgs> for Option<f32> {
    fn to_config(&self) -> Value {
        self.map_or(Value::Null, crate::utils::python_repr::py_float_json)
    }
    fn from_config(src: &mut LayerCfg<'_>, key: &str, default: Option<Self>) -> Result<Self> {
        src.read(key, default, true, "a number or null", |v| match v {
            Value::Null => Some(None),
            v => v.as_f64().map(|x| Some(x as f32)),
        })
    }
}

/// An optional shape whose entries may be `None` (a dropout `noise_shape`: `None` entries take
/// the input's size); `null` is `None`.
impl ConfigArg<LayerArgs> for Option<Vec<Option<usize>>> {
    fn to_config(&self) -> Value {
        json!(self)
    }
    fn from_config(src: &mut LayerCfg<'_>, key: &str, default: Option<Self>) -> Result<Self> {
        src.read(key, default, true, "a list of non-negative integers or nulls, or null", |v| match v {
            Value::Null => Some(None),
            v => v
                .as_array()?
                .iter()
                .map(|d| match d {
                    Value::Null => Some(None),
                    d => d.as_u64().and_then(|k| usize::try_from(k).ok()).map(Some),
                })
                .collect::<Option<Vec<_>>>()
                .map(Some),
        })
    }
}

/// An `axis` argument Keras takes as an int or a list of ints, written back in the form it
/// was given (Softmax, LayerNormalization, UnitNormalization).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Axis {
    /// The axes (one for an int).
    pub(crate) axes: Vec<isize>,
    /// Whether Keras holds a list (else an int).
    pub(crate) is_list: bool,
}

impl Axis {
    /// One axis, written as an int.
    pub(crate) fn one(axis: isize) -> Self {
        Axis { axes: vec![axis], is_list: false }
    }

    /// Axes written as a list.
    pub(crate) fn list(axes: &[isize]) -> Self {
        Axis { axes: axes.to_vec(), is_list: true }
    }
}

/// An int or a list of ints; `null` is the default.
impl ConfigArg<LayerArgs> for Axis {
    fn to_config(&self) -> Value {
        match (self.is_list, self.axes.as_slice()) {
            (false, [a]) => json!(a),
            _ => json!(self.axes),
        }
    }
    fn from_config(src: &mut LayerCfg<'_>, key: &str, default: Option<Self>) -> Result<Self> {
        src.read(key, default, false, "an integer or a list of integers", |v| match v {
            Value::Array(a) => {
                let axes = a.iter().map(|x| x.as_i64().map(|k| k as isize)).collect::<Option<Vec<_>>>()?;
                Some(Axis { axes, is_list: true })
            }
            v => v.as_i64().map(|k| Axis::one(k as isize)),
        })
        .map_err(|e| {
            // Keras's own words where its class has them.
            let v = src.cfg.get(key).unwrap_or(&Value::Null);
            match src.class {
                "UnitNormalization" => Error::Config(format!(
                    "Invalid value for `{key}` argument: expected an int or a list/tuple of ints. Received: {key}={v}"
                )),
                "LayerNormalization" => Error::Config(format!(
                    "Expected an int or a list/tuple of ints for the argument '{key}', but received: {v}"
                )),
                _ => e,
            }
        })
    }
}

/// Inserts `key: value` into a `get_config()` map just before `before` (at the end when
/// `before` is missing; in place when `key` is already there): for a key Keras writes among
/// the declared arguments that is not one of them (`activity_regularizer`, which lives in the
/// layer's base).
pub(crate) fn insert_before(m: &mut serde_json::Map<String, Value>, before: &str, key: &str, value: Value) {
    if let Some(v) = m.get_mut(key) {
        *v = value;
        return;
    }
    let at = m.keys().position(|k| k == before).unwrap_or(m.len());
    m.shift_insert(at, key.to_string(), value);
}

/// Writes the base's `activity_regularizer` (or `null`) into a `get_config()` map just before
/// `kernel_constraint`, where Keras's layers with kernel arguments have it (when set, the
/// base config already placed it after `dtype`: Keras merges the dicts, so it stays there).
pub(crate) fn insert_activity_regularizer(
    m: &mut serde_json::Map<String, Value>,
    base: &crate::layers::LayerBase,
) {
    let activity = base.activity_regularizer.as_ref().map_or(Value::Null, Regularizer::to_config);
    insert_before(m, "kernel_constraint", "activity_regularizer", activity);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::utils::config_args::config_args;

    /// A made-up owner of declared arguments, to test the family's readers and writer.
    struct Probe {
        args: ProbeArgs,
    }

    config_args! {
        /// The arguments of `Probe`.
        pub(crate) struct ProbeArgs in Probe.args, family LayerArgs {
            units: usize,
            /// Sets `use_bias`.
            use_bias: bool = true; builder use_bias(value: bool),
            rate: f64 = 0.5,
            seed: Option<u64> = None; builder seed(value: u64) => Some(value),
            activation: Activation = Activation::Linear,
            kernel_initializer: Initializer = Initializer::Zeros,
            kernel_regularizer: Option<Regularizer> = None,
            data_format: DataFormat = DataFormat::ChannelsLast,
            hidden: bool = false; write false,
        }
    }

    fn read(cfg: Value) -> Result<ProbeArgs> {
        ProbeArgs::read_args(&mut LayerCfg::new(&cfg, "Probe"))
    }

    #[test]
    fn defaults_nulls_and_round_trip() {
        let a = read(json!({"units": 3, "rate": null, "seed": null, "activation": null})).unwrap();
        assert_eq!((a.units, a.use_bias, a.rate, a.seed), (3, true, 0.5, None));
        assert_eq!(a.activation, Activation::Linear);
        let p = Probe { args: a }.use_bias(false).seed(7);
        let mut m = serde_json::Map::new();
        p.args.write_args(&mut m);
        let keys: Vec<&str> = m.keys().map(String::as_str).collect();
        assert_eq!(keys, ProbeArgs::CONFIG_KEYS[..8].to_vec(), "declaration order, `hidden` unwritten");
        assert_eq!(m["use_bias"], json!(false));
        assert_eq!(m["seed"], json!(7));
        assert_eq!(m["data_format"], json!("channels_last"));
        let back = read(Value::Object(m)).unwrap();
        assert_eq!((back.units, back.use_bias, back.seed), (3, false, Some(7)));
    }

    #[test]
    fn errors_name_class_and_key() {
        let e = read(json!({})).err().unwrap().to_string();
        assert!(e.contains("Probe config needs `units`"), "{e}");
        let e = read(json!({"units": -1})).err().unwrap().to_string();
        assert!(e.contains("Probe: `units` must be a non-negative integer, received units=-1"), "{e}");
        let e = read(json!({"units": 1, "use_bias": "yes"})).err().unwrap().to_string();
        assert!(e.contains("`use_bias` must be a boolean"), "{e}");
        let e = read(json!({"units": 1, "seed": "x"})).err().unwrap().to_string();
        assert!(e.contains("`seed` must be a non-negative integer or null"), "{e}");
        assert!(read(json!({"units": 1, "activation": "nope"})).is_err());
        assert!(read(json!({"units": 1, "data_format": "channels_middle"})).is_err());
    }

    /// The value types added for the layers in args1's folders, read and written back.
    #[test]
    fn args1_value_types_round_trip_and_refuse_bad_values() {
        config_args! {
            /// Made-up arguments of every args1 value type.
            pub(crate) struct Args1Probe, family LayerArgs {
                rate: f32 = 0.5,
                max: Option<f32> = None,
                noise_shape: Option<Vec<Option<usize>>> = None,
                axis: Axis = Axis::one(-1),
                offset: isize = -1,
                target_shape: Vec<i64> = vec![-1],
                size: SizeTuple<2> = SizeTuple([2, 2]),
                strides: Option<SizeTuple<2>> = None,
            }
        }
        let read = |cfg: Value| Args1Probe::read_args(&mut LayerCfg::new(&cfg, "Probe"));
        let d = read(json!({"rate": null, "axis": null})).unwrap();
        assert_eq!((d.rate, d.max, d.offset, d.strides), (0.5, None, -1, None));
        assert_eq!((d.axis.clone(), d.size), (Axis::one(-1), SizeTuple([2, 2])));
        let cfg = json!({
            "rate": 0.1, "max": 6, "noise_shape": [null, 1, 4], "axis": [1, 2], "offset": 3,
            "target_shape": [2, -1], "size": 3, "strides": [1, 2],
        });
        let a = read(cfg).unwrap();
        let mut m = serde_json::Map::new();
        a.write_args(&mut m);
        // f32 written as Python writes the float (0.1, not 0.10000000149011612); an int size
        // becomes one per axis; the list form of `axis` is kept.
        assert_eq!(
            Value::Object(m),
            json!({
                "rate": 0.1, "max": 6.0, "noise_shape": [null, 1, 4], "axis": [1, 2], "offset": 3,
                "target_shape": [2, -1], "size": [3, 3], "strides": [1, 2],
            })
        );
        let mut one = serde_json::Map::new();
        Args1Probe { axis: Axis::one(2), ..Args1Probe::defaults() }.write_args(&mut one);
        assert_eq!(one["axis"], json!(2));
        for bad in [
            json!({"rate": "x"}),
            json!({"max": "x"}),
            json!({"noise_shape": [null, "a"]}),
            json!({"noise_shape": 3}),
            json!({"axis": "last"}),
            json!({"axis": [1, 1.5]}),
            json!({"offset": 1.5}),
            json!({"target_shape": [2, "a"]}),
            json!({"size": [1, 2, 3]}),
            json!({"size": -1}),
            json!({"strides": "x"}),
        ] {
            let e = read(bad.clone()).err().unwrap_or_else(|| panic!("{bad} was accepted")).to_string();
            let key = bad.as_object().unwrap().keys().next().unwrap().clone();
            assert!(e.contains(&key), "{bad}: {e}");
        }
        let e = read(json!({"axis": "x"})).err().unwrap().to_string();
        assert!(
            e.contains("Probe: `axis` must be an integer or a list of integers, received axis=\"x\""),
            "{e}"
        );
    }

    /// `insert_before` places a key before another, at the end when that one is missing,
    /// and in place when the key is already there.
    #[test]
    fn insert_before_keeps_keras_order() {
        let mut m = serde_json::Map::new();
        for k in ["a", "c"] {
            m.insert(k.into(), json!(0));
        }
        insert_before(&mut m, "c", "b", json!(1));
        insert_before(&mut m, "zz", "d", json!(2));
        insert_before(&mut m, "d", "a", json!(3));
        let keys: Vec<&str> = m.keys().map(String::as_str).collect();
        assert_eq!(keys, ["a", "b", "c", "d"]);
        assert_eq!(m["a"], json!(3));
    }
}

// args2: a number kept as the config wrote it, and the enums written by their Keras name.

/// A number kept as written (an integer stays an integer in the config); `null` is the
/// default.
impl ConfigArg<LayerArgs> for serde_json::Number {
    fn to_config(&self) -> Value {
        Value::Number(self.clone())
    }
    fn from_config(src: &mut LayerCfg<'_>, key: &str, default: Option<Self>) -> Result<Self> {
        src.read(key, default, false, "a number", |v| v.as_number().cloned())
    }
}

impl LayerCfg<'_> {
    /// An enum written by its Keras name: missing or `null` is `default`, a string is read by
    /// `FromStr` (whose error is the config's error), anything else is the wrong-type error.
    pub(crate) fn named<T: std::str::FromStr<Err = Error>>(
        &self,
        key: &str,
        default: Option<T>,
    ) -> Result<T> {
        match self.cfg.get(key) {
            None | Some(Value::Null) => {
                default.ok_or_else(|| Error::Config(format!("{} config needs `{key}`", self.class)))
            }
            Some(Value::String(s)) => s.parse(),
            Some(_) => Err(self.wrong(key, "a string")),
        }
    }
}

/// `ConfigArg<LayerArgs>` for enums with a `name()` (their Keras name) and a `FromStr`, read
/// with [`LayerCfg::named`].
macro_rules! named_arg {
    ($($ty:ty),* $(,)?) => {$(
        impl $crate::utils::config_args::ConfigArg<$crate::layers::layer_args::LayerArgs> for $ty {
            fn to_config(&self) -> serde_json::Value {
                serde_json::Value::from(self.name())
            }
            fn from_config(
                src: &mut $crate::layers::layer_args::LayerCfg<'_>,
                key: &str,
                default: Option<Self>,
            ) -> $crate::Result<Self> {
                src.named(key, default)
            }
        }
    )*};
}
pub(crate) use named_arg;

/// Any JSON value kept as written, `null` for none.
impl ConfigArg<LayerArgs> for Option<Value> {
    fn to_config(&self) -> Value {
        self.clone().unwrap_or(Value::Null)
    }
    fn from_config(src: &mut LayerCfg<'_>, key: &str, default: Option<Self>) -> Result<Self> {
        src.read_with(key, default, |v| Ok(Some(v.clone()).filter(|v| !v.is_null())))
    }
}

#[cfg(test)]
mod args2_tests {
    use super::*;
    use crate::preprocessing::image::affine::FillMode;
    use crate::utils::config_args::config_args;

    /// A made-up owner of a kept number and a named enum.
    struct Probe2 {
        args: Probe2Args,
    }

    config_args! {
        /// The arguments of `Probe2`.
        pub(crate) struct Probe2Args in Probe2.args, family LayerArgs {
            fill_value: serde_json::Number = serde_json::Number::from(0),
            fill_mode: FillMode = FillMode::Reflect,
        }
    }

    fn read(cfg: Value) -> Result<Probe2Args> {
        Probe2Args::read_args(&mut LayerCfg::new(&cfg, "Probe2"))
    }

    fn written(a: Probe2Args) -> Value {
        let mut m = serde_json::Map::new();
        Probe2 { args: a }.args.write_args(&mut m);
        Value::Object(m)
    }

    #[test]
    fn numbers_keep_their_type_and_names_round_trip() {
        let a = read(json!({"fill_value": 3, "fill_mode": "wrap"})).unwrap();
        assert_eq!(a.fill_mode, FillMode::Wrap);
        assert_eq!(written(a).to_string(), r#"{"fill_value":3,"fill_mode":"wrap"}"#);
        let a = read(json!({"fill_value": 0.5, "fill_mode": null})).unwrap();
        assert_eq!(written(a).to_string(), r#"{"fill_value":0.5,"fill_mode":"reflect"}"#);
        assert_eq!(
            written(read(json!({})).unwrap()).to_string(),
            r#"{"fill_value":0,"fill_mode":"reflect"}"#
        );
    }

    #[test]
    fn wrong_types_and_unknown_names_are_errors() {
        let e = read(json!({"fill_value": "1"})).err().unwrap().to_string();
        assert!(e.contains("Probe2: `fill_value` must be a number, received fill_value=\"1\""), "{e}");
        let e = read(json!({"fill_mode": 1})).err().unwrap().to_string();
        assert!(e.contains("Probe2: `fill_mode` must be a string, received fill_mode=1"), "{e}");
        let e = read(json!({"fill_mode": "mirror"})).err().unwrap().to_string();
        assert!(e.contains("Unknown `fill_mode` mirror"), "{e}");
    }
}

// args3: value types of the preprocessing layers (Discretization, the lookups,
// TextVectorization).

optional_arg! {
    Vec<f64>, "a list of numbers", |v| v.as_array()?.iter().map(Value::as_f64).collect::<Option<Vec<_>>>();
}

optional_arg! {
    Vec<String>, "a list of strings", |v| v
        .as_array()?
        .iter()
        .map(|s| s.as_str().map(str::to_string))
        .collect::<Option<Vec<_>>>();
    Vec<f32>, "a list of numbers", |v| v
        .as_array()?
        .iter()
        .map(|x| x.as_f64().map(|x| x as f32))
        .collect::<Option<Vec<_>>>();
}

// convargs: a size tuple read as the slice of its sizes, and zeros for a required one.

impl<const N: usize> std::ops::Deref for SizeTuple<N> {
    type Target = [usize];
    fn deref(&self) -> &[usize] {
        &self.0
    }
}

/// Zeros: the placeholder of a required size (the config reader refuses a missing one).
impl<const N: usize> Default for SizeTuple<N> {
    fn default() -> Self {
        SizeTuple([0; N])
    }
}
