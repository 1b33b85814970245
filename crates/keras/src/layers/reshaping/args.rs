//! Config and argument helpers shared by the reshaping, pooling, activation and
//! normalization layers.

use serde_json::Value;

use crate::layers::layer::{shape_str, LayerBase};
use crate::layers::layer_args::{LayerArgs, LayerCfg};
use crate::utils::config_args::ConfigArg;
use crate::{keras_bail, Error, Result};

/// A new layer base that records Keras's error for a count argument `arg` of 0 (`Argument
/// `n` should be a positive integer. Received: n=0`), reported when the layer is used.
pub(crate) fn base_with_positive(name: &str, arg: &str, value: usize) -> LayerBase {
    let mut base = LayerBase::new(name);
    if value == 0 {
        base.fail(Error::InvalidArgument(format!(
            "Argument `{arg}` should be a positive integer. Received: {arg}=0"
        )));
    }
    base
}

/// Returns `value`, or the first invalid argument a builder recorded on `base`.
pub(crate) fn finish<T>(base: &mut LayerBase, value: T) -> Result<T> {
    base.take_pending().map(|()| value)
}

/// The `data_format` builder of a layer with `base: LayerBase` and a
/// `data_format: DataFormat` field (`data_format_builder!()`), or one declared in its
/// arguments `args` (`data_format_builder!(args)`).
macro_rules! data_format_builder {
    () => {
        $crate::layers::reshaping::args::data_format_builder!(@at data_format);
    };
    (args) => {
        $crate::layers::reshaping::args::data_format_builder!(@at args.data_format);
    };
    (@at $($field:ident).+) => {
        /// `"channels_last"` (`(batch, spatial..., channels)`) or `"channels_first"`
        /// (`(batch, channels, spatial...)`); default: [`crate::config::image_data_format`].
        pub fn data_format(mut self, f: &str) -> Self {
            self.base.accept(&mut self.$($field).+, $crate::layers::DataFormat::parse(f));
            self
        }
    };
}
pub(crate) use data_format_builder;

/// A config entry that must be present: `cfg[key]`, or the error
/// "`{class}` config needs `{key}`".
pub(crate) fn required<'a>(cfg: &'a Value, key: &str, class: &str) -> Result<&'a Value> {
    cfg.get(key).ok_or_else(|| Error::Config(format!("{class} config needs `{key}`")))
}

/// Keras `standardize_tuple`: an int becomes `n` copies, a list must hold `n` non-negative
/// integers (`allow_zero`) or positive ones.
pub(crate) fn int_tuple(v: &Value, n: usize, what: &str, allow_zero: bool) -> Result<Vec<usize>> {
    let bad = || {
        Error::InvalidArgument(format!(
            "The `{what}` argument must be a tuple of {n} integers. Received {what}={v}"
        ))
    };
    let items: Vec<i64> = match v {
        Value::Number(k) => vec![k.as_i64().ok_or_else(bad)?; n],
        Value::Array(a) if a.len() == n => {
            a.iter().map(|x| x.as_i64().ok_or_else(bad)).collect::<Result<_>>()?
        }
        _ => return Err(bad()),
    };
    if items.iter().any(|&k| k < 0 || (!allow_zero && k == 0)) {
        let req = if allow_zero { ">= 0" } else { "> 0" };
        keras_bail!(
            InvalidArgument,
            "The `{what}` argument must be a tuple of {n} integers. Received {what}={v}, including values {req} not satisfied"
        );
    }
    Ok(items.into_iter().map(|k| k as usize).collect())
}

/// The Keras input-spec error for a wrong rank.
pub(crate) fn ndim_error(layer: &str, ndim: usize, shape: &[Option<usize>]) -> Error {
    Error::Shape(format!(
        "Input 0 of layer \"{layer}\" is incompatible with the layer: expected ndim={ndim}, found ndim={}. Full shape received: {}",
        shape.len(),
        shape_str(shape)
    ))
}

/// The known shape of a tensor, as a [`crate::layers::Shape`].
pub(crate) fn known(shape: &[usize]) -> Vec<Option<usize>> {
    shape.iter().map(|&d| Some(d)).collect()
}

/// The `Layer` methods every layer here writes the same way: class name, base access,
/// downcasting, and whether Keras records a `build_config` (layers built at `__init__`
/// in Keras do not).
///
/// Trailing words add more methods written the same way everywhere:
/// - `same_shape`: `compute_output_shape` returns the input shape;
/// - `passes_mask`: `compute_mask` passes the incoming mask on unchanged (Keras
///   `supports_masking = True`).
/// - `args_config`: `get_config` is the base config followed by the layer's declared
///   arguments (`self.args.write_args`).
///
/// `layer_common!("Dropout", false, same_shape, passes_mask)`.
macro_rules! layer_common {
    (@same_shape) => {
        fn compute_output_shape(&self, s: &[Option<usize>]) -> $crate::Result<$crate::layers::Shape> {
            Ok(s.to_vec())
        }
    };
    (@args_config) => {
        /// The base config, then the declared Keras arguments in Keras's order.
        fn get_config(&self) -> serde_json::Value {
            let mut m = self.base.base_config();
            self.args.write_args(&mut m);
            serde_json::Value::Object(m)
        }
    };
    (@passes_mask) => {
        /// Keras `supports_masking = True`: the incoming mask passes through unchanged.
        fn compute_mask(
            &self,
            _x: &$crate::Tensor,
            mask: Option<&$crate::Tensor>,
        ) -> $crate::Result<Option<$crate::Tensor>> {
            Ok(mask.cloned())
        }
    };
    ($class:expr, $build_config:expr $(, $extra:ident)*) => {
        $crate::layers::layer::layer_base_methods!($class);
        fn records_build_config(&self) -> bool {
            $build_config
        }
        $($crate::layers::reshaping::args::layer_common!(@$extra);)*
    };
}
pub(crate) use layer_common;

/// A layer with one spatial argument and a `data_format` (the padding and cropping layers),
/// its arguments declared once with [`config_args!`](crate::utils::config_args!) in
/// `$Args` (the spatial argument as a [`Spatial`], then `data_format`): the struct, `new`,
/// `input_shape`/`name`/`data_format`, `from_config` and the `Layer` impl's `get_config`;
/// `$($body)*` holds the layer's own `Layer` methods (reading `self.args`).
///
/// ```text
/// spatial_arg_layer! {
///     /// Keras `keras.layers.ZeroPadding2D`: ...
///     pub struct ZeroPadding2D("ZeroPadding2D", "zero_padding2d") in ZeroPadding2DArgs {
///         /// `padding = [[top, bottom], [left, right]]`.
///         padding: [[usize; 2]; 2] = [[1, 1], [1, 1]],
///     }
///     /// Rebuilds from a Keras config.
///     from_config;
///     impl Layer { fn compute_output_shape(..) .. fn call(..) .. }
/// }
/// ```
macro_rules! spatial_arg_layer {
    (
        $(#[$doc:meta])*
        pub struct $ty:ident($class:literal, $snake:literal) in $Args:ident {
            $(#[$new_doc:meta])*
            $arg:ident: $aty:ty = $default:expr $(,)?
        }
        $(#[$cfg_doc:meta])*
        from_config;
        impl Layer { $($body:tt)* }
    ) => {
        $(#[$doc])*
        pub struct $ty {
            base: $crate::layers::LayerBase,
            args: $Args,
        }

        $crate::utils::config_args::config_args! {
            #[doc = concat!($class, "'s Keras arguments, in Keras's `get_config()` order.")]
            pub(crate) struct $Args, family $crate::layers::layer_args::LayerArgs {
                $arg: $crate::layers::reshaping::args::Spatial<$aty> = $crate::layers::reshaping::args::Spatial($default),
                data_format: $crate::layers::DataFormat = $crate::layers::DataFormat::default(),
            }
        }

        impl $ty {
            $(#[$new_doc])*
            pub fn new($arg: $aty) -> Self {
                let args = $Args { $arg: $crate::layers::reshaping::args::Spatial($arg), ..$Args::defaults() };
                $ty { base: $crate::layers::LayerBase::new($snake), args }
            }

            $crate::layers::builders::base_builders!();

            $crate::layers::reshaping::args::data_format_builder!(args);

            $(#[$cfg_doc])*
            pub fn from_config(cfg: &serde_json::Value) -> $crate::Result<Self> {
                let args = $Args::read_args(&mut $crate::layers::layer_args::LayerCfg::new(cfg, $class))?;
                let mut l = $ty { base: $crate::layers::LayerBase::new($snake), args };
                l.base.apply_config(cfg);
                Ok(l)
            }
        }

        impl $crate::layers::Layer for $ty {
            $crate::layers::reshaping::args::layer_common!($class, true, args_config);

            $($body)*
        }
    };
}
pub(crate) use spatial_arg_layer;

/// The channels-last output shape of `Cropping2D`/`Cropping3D`: each spatial axis of `s`
/// loses `before + after`; an axis not longer than that is Keras's error, which quotes the
/// shape as the caller gave it (`given`).
pub(crate) fn cropped_shape(
    s: &[Option<usize>],
    cropping: &[[usize; 2]],
    given: &[Option<usize>],
) -> Result<Vec<Option<usize>>> {
    let mut out = s.to_vec();
    for (i, c) in cropping.iter().enumerate() {
        out[i + 1] = match s[i + 1] {
            Some(d) if d <= c[0] + c[1] => keras_bail!(
                Value,
                "Values in `cropping` argument should be smaller than the corresponding spatial dimension of the input. Received: input_shape={}, cropping={:?}",
                shape_str(given),
                cropping
            ),
            d => d.map(|d| d - c[0] - c[1]),
        };
    }
    Ok(out)
}

/// Reads a 3-D padding/cropping argument (`ZeroPadding3D`, `Cropping3D`): an int, three
/// ints (symmetric per axis), or three pairs `((before, after), ...)`, with Keras's messages.
fn pairs3d(v: &Value, what: &str, short: &str) -> Result<[[usize; 2]; 3]> {
    match v {
        Value::Number(_) => {
            let k = int_tuple(v, 1, what, true)?[0];
            Ok([[k, k]; 3])
        }
        Value::Array(a) if a.len() == 3 => {
            let mut out = [[0; 2]; 3];
            for (i, (entry, nth)) in a.iter().zip(["1st", "2nd", "3rd"]).enumerate() {
                let p = int_tuple(entry, 2, &format!("{nth} entry of {what}"), true)?;
                out[i] = [p[0], p[1]];
            }
            Ok(out)
        }
        Value::Array(_) => keras_bail!(InvalidArgument, "`{what}` should have 3 elements. Received: {v}."),
        _ => keras_bail!(
            InvalidArgument,
            "`{what}` should be either an int, a tuple of 3 ints (symmetric_dim1_{short}, symmetric_dim2_{short}, symmetric_dim3_{short}), or a tuple of 3 tuples of 2 ints ((left_dim1_{short}, right_dim1_{short}), (left_dim2_{short}, right_dim2_{short}), (left_dim3_{short}, right_dim2_{short})). Received: {v}."
        ),
    }
}

/// A spatial argument: a padding or cropping (`[before, after]`, or one such pair per
/// spatial axis) or an up-sampling `size` (`[rows, cols]`), read from the forms Keras
/// accepts, with its messages (which name the config key).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct Spatial<T>(pub(crate) T);

/// `Spatial` as the layers' config readers see it: missing is the default, any present value
/// (`null` included) goes through `parse`.
fn read_pads<T: serde::Serialize>(
    src: &mut LayerCfg<'_>,
    key: &str,
    default: Option<Spatial<T>>,
    parse: impl FnOnce(&Value, &str) -> Result<T>,
) -> Result<Spatial<T>> {
    match src.cfg.get(key) {
        None => default.ok_or_else(|| Error::Config(format!("{} config needs `{key}`", src.class))),
        Some(v) => parse(v, key).map(Spatial),
    }
}

/// One axis (or a 2-D size): an int (both entries) or a pair.
impl ConfigArg<LayerArgs> for Spatial<[usize; 2]> {
    fn to_config(&self) -> Value {
        serde_json::json!(self.0)
    }
    fn from_config(src: &mut LayerCfg<'_>, key: &str, default: Option<Self>) -> Result<Self> {
        read_pads(src, key, default, |v, key| {
            let p = int_tuple(v, 2, key, true)?;
            Ok([p[0], p[1]])
        })
    }
}

/// Two axes: an int, two ints (symmetric per axis), or two pairs.
impl ConfigArg<LayerArgs> for Spatial<[[usize; 2]; 2]> {
    fn to_config(&self) -> Value {
        serde_json::json!(self.0)
    }
    fn from_config(src: &mut LayerCfg<'_>, key: &str, default: Option<Self>) -> Result<Self> {
        read_pads(src, key, default, pairs2d)
    }
}

/// Three axes: an int, three ints (symmetric per axis), or three pairs.
impl ConfigArg<LayerArgs> for Spatial<[[usize; 2]; 3]> {
    fn to_config(&self) -> Value {
        serde_json::json!(self.0)
    }
    fn from_config(src: &mut LayerCfg<'_>, key: &str, default: Option<Self>) -> Result<Self> {
        let short = if key == "cropping" { "crop" } else { "pad" };
        read_pads(src, key, default, |v, key| pairs3d(v, key, short))
    }
}

/// Reads a 2-D padding/cropping argument: an int, two ints (symmetric per axis), or two
/// pairs `((top, bottom), (left, right))`.
fn pairs2d(v: &Value, what: &str) -> Result<[[usize; 2]; 2]> {
    match v {
        Value::Number(_) => {
            let k = int_tuple(v, 1, what, true)?[0];
            Ok([[k, k], [k, k]])
        }
        Value::Array(a) if a.len() == 2 => {
            let h = int_tuple(&a[0], 2, &format!("1st entry of {what}"), true)?;
            let w = int_tuple(&a[1], 2, &format!("2nd entry of {what}"), true)?;
            Ok([[h[0], h[1]], [w[0], w[1]]])
        }
        Value::Array(_) => keras_bail!(InvalidArgument, "`{what}` should have two elements. Received: {what}={v}."),
        _ => keras_bail!(
            InvalidArgument,
            "`{what}` should be either an int, a tuple of 2 ints (symmetric_height_{what}, symmetric_width_{what}), or a tuple of 2 tuples of 2 ints ((top_{what}, bottom_{what}), (left_{what}, right_{what})). Received: {what}={v}."
        ),
    }
}
