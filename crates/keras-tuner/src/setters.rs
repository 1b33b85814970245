//! Builder methods that set one field, written once (as `keras`'s own `setters!`).

/// Writes `pub fn name(mut self, value: Type) -> Self { self.name = value; self }` for each
/// `/// doc` + `name: Type` line; `name: Type => Some` stores `Some(value)` in an `Option`;
/// `name(path.to.field): Type` stores into `self.path.to.field` instead of `self.name`.
///
/// ```text
/// impl SearchArgs {
///     setters! {
///         /// Samples per update.
///         batch_size: usize,
///         /// Validation batch size.
///         validation_batch_size: usize => Some,
///         /// The random seed.
///         seed(common.seed): i64 => Some,
///     }
/// }
/// ```
macro_rules! setters {
    ($( $(#[doc = $doc:literal])* $name:ident $(($($path:ident).+))?: $ty:ty $(=> $wrap:ident)? ),* $(,)?) => {
        $(
            $(#[doc = $doc])*
            pub fn $name(mut self, value: $ty) -> Self {
                *$crate::setters::target!(self, $name $(, $($path).+)?) = $crate::setters::stored!($($wrap)? value);
                self
            }
        )*
    };
}

/// The field a setter stores into: `self.name`, or `self.path` when given.
macro_rules! target {
    ($s:ident, $name:ident) => {
        &mut $s.$name
    };
    ($s:ident, $name:ident, $($path:ident).+) => {
        &mut $s.$($path).+
    };
}

/// The stored form of a setter's value: as given, or wrapped (`Some`).
macro_rules! stored {
    ($v:ident) => {
        $v
    };
    ($wrap:ident $v:ident) => {
        $wrap($v)
    };
}

pub(crate) use {setters, stored, target};
