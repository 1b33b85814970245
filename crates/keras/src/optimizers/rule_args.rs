//! One declaration for an optimizer's own Keras arguments.
//!
//! [`optimizer_rule!`] writes, from one list of `name: type = default` lines, what every
//! optimizer used to write four times: the rule's fields, its `Default`, the builder methods
//! on the public optimizer type and the `get_config`/`from_config` code for those keys
//! ([`rule_args_config!`] inside the `UpdateRule` impl). The update math, slots and checks stay
//! hand-written beside it.

use serde_json::{json, Map, Value};

use super::base::{take_bool, take_f64, take_opt_i64};
use crate::Result;

/// A Keras argument type an optimizer rule can hold: how it is written to a config and read
/// back (with the error a wrong JSON type gets).
pub(crate) trait RuleArg: Sized {
    /// The config value.
    fn to_config(&self) -> Value;
    /// Removes `key` from `cfg` and reads it; `default` when absent.
    fn take(cfg: &mut Map<String, Value>, key: &str, default: Self) -> Result<Self>;
}

impl RuleArg for f64 {
    fn to_config(&self) -> Value {
        json!(self)
    }
    fn take(cfg: &mut Map<String, Value>, key: &str, default: Self) -> Result<Self> {
        take_f64(cfg, key, default)
    }
}

impl RuleArg for bool {
    fn to_config(&self) -> Value {
        json!(self)
    }
    fn take(cfg: &mut Map<String, Value>, key: &str, default: Self) -> Result<Self> {
        take_bool(cfg, key, default)
    }
}

/// An integer argument; a `null` in the config leaves the default.
impl RuleArg for i64 {
    fn to_config(&self) -> Value {
        json!(self)
    }
    fn take(cfg: &mut Map<String, Value>, key: &str, default: Self) -> Result<Self> {
        Ok(take_opt_i64(cfg, key, Some(default))?.unwrap_or(default))
    }
}

/// Declares an optimizer's rule struct, its public type and its Keras arguments at once.
///
/// ```text
/// optimizer_rule! {
///     /// The rule's doc.
///     pub struct AdamaxRule;
///     /// The optimizer's doc.
///     pub type Adamax;
///     new = "Adamax with Keras's defaults.";
///     args {
///         beta_1: f64 = 0.9,
///         /// More doc for the field, after "`beta_2` (default 0.999).".
///         beta_2: f64 = 0.999 => "`beta_2=` (the builder's own rustdoc; else \"`beta_2=`.\").",
///     }
///     // Optional: fields that are state, not arguments (no builder, not in the config).
///     state {
///         /// Doc.
///         u_product: f32 = 1.0,
///     }
///     // Optional: a second public type whose rule wraps this one (it derefs to it), with
///     // the same builders (AdamW over Adam's rule).
///     variant {
///         /// Its doc.
///         pub type AdamaxW = AdamaxWRule;
///         new = "AdamaxW with Keras's defaults.";
///     }
/// }
/// ```
/// Each argument gets a field documented "`name` (default value).", its default, a builder
/// method taking `impl Into<type>`, and its key in the config (the field's name).
macro_rules! optimizer_rule {
    (
        $(#[$rule_meta:meta])*
        pub struct $rule:ident;
        $(#[$opt_meta:meta])*
        pub type $opt:ident;
        new = $new_doc:literal;
        args $args:tt
        $(state $state:tt)?
        $(
            variant {
                $(#[$vopt_meta:meta])*
                pub type $vopt:ident = $vrule:ident;
                new = $vnew_doc:literal;
            }
        )?
    ) => {
        $crate::optimizers::rule_args::optimizer_rule!(@rule [$(#[$rule_meta])*] $rule $args $($state)?);

        $(#[$opt_meta])*
        pub type $opt = super::base::BaseOptimizer<$rule>;
        $crate::optimizers::rule_args::optimizer_rule!(@builders $opt, $new_doc, $args);

        $(
            $(#[$vopt_meta])*
            pub type $vopt = super::base::BaseOptimizer<$vrule>;
            $crate::optimizers::rule_args::optimizer_rule!(@builders $vopt, $vnew_doc, $args);
        )?
    };
    (
        @rule [$(#[$rule_meta:meta])*] $rule:ident
        {
            $(
                $(#[doc = $fdoc:literal])*
                $field:ident: $ty:ty = $default:expr $(=> $bdoc:literal)?,
            )*
        }
        $({
            $(
                $(#[doc = $sdoc:literal])*
                $sfield:ident: $sty:ty = $sdefault:expr,
            )*
        })?
    ) => {
        $(#[$rule_meta])*
        #[derive(Clone, Debug)]
        pub struct $rule {
            $(
                #[doc = concat!("`", stringify!($field), "` (default ", stringify!($default), ").")]
                $(#[doc = ""] #[doc = $fdoc])*
                pub $field: $ty,
            )*
            $($( $(#[doc = $sdoc])* pub $sfield: $sty, )*)?
        }

        impl Default for $rule {
            fn default() -> Self {
                $rule { $( $field: $default, )* $($( $sfield: $sdefault, )*)? }
            }
        }

        impl $rule {
            /// Writes the arguments into a `get_config` map, in declaration order.
            fn write_args(&self, m: &mut serde_json::Map<String, serde_json::Value>) {
                $( m.insert(stringify!($field).into(), $crate::optimizers::rule_args::RuleArg::to_config(&self.$field)); )*
            }

            /// Reads (and removes) the arguments from a config.
            fn read_args(&mut self, cfg: &mut serde_json::Map<String, serde_json::Value>) -> $crate::Result<()> {
                $( self.$field = $crate::optimizers::rule_args::RuleArg::take(cfg, stringify!($field), self.$field)?; )*
                Ok(())
            }
        }
    };
    (
        @builders $opt:ident, $new_doc:literal,
        {
            $(
                $(#[doc = $fdoc:literal])*
                $field:ident: $ty:ty = $default:expr $(=> $bdoc:literal)?,
            )*
        }
    ) => {
        impl $opt {
            #[doc = $new_doc]
            pub fn new() -> Self {
                Self::new_default()
            }

            $(
                #[doc = $crate::optimizers::rule_args::builder_doc!($field $(, $bdoc)?)]
                pub fn $field(mut self, v: impl Into<$ty>) -> Self {
                    self.rule_mut().$field = v.into();
                    self
                }
            )*
        }
    };
}

/// A builder method's rustdoc: the one given, else "`name=`.".
macro_rules! builder_doc {
    ($field:ident) => {
        concat!("`", stringify!($field), "=`.")
    };
    ($field:ident, $doc:literal) => {
        $doc
    };
}

/// `UpdateRule::config` and `read_config` from the arguments [`optimizer_rule!`] declared.
macro_rules! rule_args_config {
    () => {
        fn config(&self, m: &mut serde_json::Map<String, serde_json::Value>) {
            self.write_args(m)
        }

        fn read_config(
            &mut self,
            cfg: &mut serde_json::Map<String, serde_json::Value>,
        ) -> $crate::Result<()> {
            self.read_args(cfg)
        }
    };
}

pub(crate) use {builder_doc, optimizer_rule, rule_args_config};
