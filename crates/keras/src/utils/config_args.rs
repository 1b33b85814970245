//! One declaration per Keras argument: [`config_args!`](crate::utils::config_args!) writes,
//! from a single list, the arguments' struct (field and default), the documented builder
//! methods of the owning type, the `get_config()` writer (keys in declaration order, which is
//! Keras's order) and the `from_config()` reader.
//!
//! Config readers differ between families of Keras objects (the losses treat `null` as the
//! default, the learning-rate schedules remove each key they read so that leftovers can be
//! reported, ...), so each family names a marker type implementing [`ArgFamily`] and
//! implements [`ConfigArg`] for the value types its arguments use.

use serde_json::Value;

use crate::Result;

/// A family of config readers (losses, schedules, ...): what a reader reads from.
pub(crate) trait ArgFamily {
    /// The config being read (`Value` for a config object, a `Map` a reader removes from, a
    /// layer's config with its class name for the messages).
    type Src<'a>: ?Sized;
}

/// A value type of one argument, as family `F` writes and reads it.
pub(crate) trait ConfigArg<F: ArgFamily>: Sized {
    /// The value written by `get_config()`.
    fn to_config(&self) -> Value;
    /// The value of `key` in `src`; `default` is `None` for a required argument.
    fn from_config(src: &mut F::Src<'_>, key: &str, default: Option<Self>) -> Result<Self>;
}

/// Declares a set of Keras arguments once.
///
/// ```ignore
/// config_args! {
///     /// The arguments of `Huber`.
///     #[derive(Clone, Debug)]
///     pub(crate) struct HuberArgs in Huber.args, family LossArgs {
///         /// Sets `delta`, where the loss turns from quadratic to linear.
///         delta: f64 = 1.0; builder delta(delta: f64); write false,
///     }
/// }
/// ```
///
/// Each argument is `doc-comments name: Type [= default] [; builder method(param: ParamType)
/// [=> conversion]] [; write false]`:
/// - the field `name: Type` of the arguments struct, whose `defaults()` uses `default` (or
///   `Type::default()` for a required argument, which the owner's constructor always sets);
///   `family F, impl Default` also implements `Default` with `defaults()`; a struct
///   without builders may take one const parameter (`struct PoolingArgs<const N: usize>,
///   family F`) for argument types sized by it, or one type parameter with one bound
///   (`struct IndexLookupArgs<K: LookupKey>, family F`) for argument types of that type;
/// - with `builder` (after `in Owner.field`, or `with builders` for builders on the
///   arguments struct itself), the builder `method`, carrying the doc comments, which sets the
///   field to `param` (or to `conversion`, an expression in `param`);
/// - `write_args` inserts `"name": value` into a config map, in declaration order, unless
///   `write false` (an argument Keras's `get_config()` leaves out);
/// - `read_args` reads every argument, in declaration order, with the family's reader
///   (a missing required argument is the family's error);
/// - `CONFIG_KEYS` lists the names in declaration order.
macro_rules! config_args {
    // `in Owner.slot`: the builders are methods of `Owner`, setting `self.slot.name`.
    (
        $(#[$meta:meta])*
        $vis:vis struct $Args:ident in $Owner:ident . $slot:ident, $($rest:tt)*
    ) => {
        $crate::utils::config_args::config_args! {
            @builders [$Owner] [$slot] $(#[$meta])* $vis struct $Args, $($rest)*
        }
    };
    // `with builders`: the builders are methods of the arguments struct itself.
    (
        $(#[$meta:meta])*
        $vis:vis struct $Args:ident with builders, $($rest:tt)*
    ) => {
        $crate::utils::config_args::config_args! {
            @builders [$Args] [] $(#[$meta])* $vis struct $Args, $($rest)*
        }
    };
    (
        @builders [$Owner:ident] $slot:tt
        $(#[$meta:meta])*
        $vis:vis struct $Args:ident, family $Family:ty $(, impl $Default:ident)? {
            $(
                $(#[doc = $doc:expr])*
                $fvis:vis $key:ident : $ty:ty $(= $default:expr)?
                $(; builder $bname:ident ( $bparam:ident : $bty:ty ) $(=> $conv:expr)?)?
                $(; write $write:literal)?
            ),* $(,)?
        }
    ) => {
        $crate::utils::config_args::config_args! {
            $(#[$meta])*
            $vis struct $Args, family $Family $(, impl $Default)? {
                $( $(#[doc = $doc])* $fvis $key : $ty $(= $default)? $(; write $write)? ),*
            }
        }
        impl $Owner {
            $(
                $crate::utils::config_args::config_args! {
                    @builder $slot [$(#[doc = $doc])*] $key $(, $bname ( $bparam : $bty ) $(=> $conv)?)?
                }
            )*
        }
    };
    // The generic parameter, if any, as `[declaration] [use]`.
    (
        $(#[$meta:meta])*
        $vis:vis struct $Args:ident <const $N:ident : usize>, $($rest:tt)*
    ) => {
        $crate::utils::config_args::config_args! {
            @def [const $N: usize] [$N] $(#[$meta])* $vis struct $Args, $($rest)*
        }
    };
    (
        $(#[$meta:meta])*
        $vis:vis struct $Args:ident <$T:ident : $Bound:path>, $($rest:tt)*
    ) => {
        $crate::utils::config_args::config_args! {
            @def [$T: $Bound] [$T] $(#[$meta])* $vis struct $Args, $($rest)*
        }
    };
    (
        $(#[$meta:meta])*
        $vis:vis struct $Args:ident, $($rest:tt)*
    ) => {
        $crate::utils::config_args::config_args! {
            @def [] [] $(#[$meta])* $vis struct $Args, $($rest)*
        }
    };
    (
        @def [$($gdecl:tt)*] [$($guse:tt)*]
        $(#[$meta:meta])*
        $vis:vis struct $Args:ident, family $Family:ty $(, impl $Default:ident)? {
            $(
                $(#[doc = $doc:expr])*
                $fvis:vis $key:ident : $ty:ty $(= $default:expr)?
                $(; write $write:literal)?
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis struct $Args<$($gdecl)*> {
            $( $(#[doc = $doc])* $fvis $key: $ty, )*
        }

        $crate::utils::config_args::config_args!(@impl_default [$($gdecl)*] [$($guse)*] $Args $($Default)?);

        #[allow(dead_code)]
        impl<$($gdecl)*> $Args<$($guse)*> {
            /// Every argument at its default (a required argument at its type's default, to be
            /// set by the constructor).
            pub(crate) fn defaults() -> Self {
                $Args { $( $key: $crate::utils::config_args::config_args!(@default $($default)?), )* }
            }

            /// The config keys, in `get_config()` order.
            pub(crate) const CONFIG_KEYS: &'static [&'static str] = &[$(stringify!($key)),*];

            /// Inserts the written arguments into a `get_config()` map, in declaration order.
            pub(crate) fn write_args(&self, map: &mut serde_json::Map<String, serde_json::Value>) {
                $(
                    if $crate::utils::config_args::config_args!(@write $($write)?) {
                        map.insert(
                            stringify!($key).to_string(),
                            <$ty as $crate::utils::config_args::ConfigArg<$Family>>::to_config(&self.$key),
                        );
                    }
                )*
            }

            /// Reads every argument from a config, in declaration order.
            pub(crate) fn read_args(
                src: &mut <$Family as $crate::utils::config_args::ArgFamily>::Src<'_>,
            ) -> $crate::Result<Self> {
                Ok($Args {
                    $(
                        $key: <$ty as $crate::utils::config_args::ConfigArg<$Family>>::from_config(
                            src,
                            stringify!($key),
                            $crate::utils::config_args::config_args!(@opt $($default)?),
                        )?,
                    )*
                })
            }
        }
    };
    (@impl_default [$($gdecl:tt)*] [$($guse:tt)*] $Args:ident) => {};
    (@impl_default [$($gdecl:tt)*] [$($guse:tt)*] $Args:ident $Default:ident) => {
        impl<$($gdecl)*> $Default for $Args<$($guse)*> {
            fn default() -> Self {
                Self::defaults()
            }
        }
    };
    (@builder [$($slot:ident)?] [$($attr:tt)*] $key:ident) => {};
    (@builder [$($slot:ident)?] [$($attr:tt)*] $key:ident, $bname:ident ( $bparam:ident : $bty:ty )) => {
        $($attr)*
        pub fn $bname(mut self, $bparam: $bty) -> Self {
            self$(.$slot)?.$key = $bparam;
            self
        }
    };
    (@builder [$($slot:ident)?] [$($attr:tt)*] $key:ident, $bname:ident ( $bparam:ident : $bty:ty ) => $conv:expr) => {
        $($attr)*
        pub fn $bname(mut self, $bparam: $bty) -> Self {
            self$(.$slot)?.$key = $conv;
            self
        }
    };
    (@default) => { Default::default() };
    (@default $d:expr) => { $d };
    (@opt) => { None };
    (@opt $d:expr) => { Some($d) };
    (@write) => { true };
    (@write $w:literal) => { $w };
}
pub(crate) use config_args;
