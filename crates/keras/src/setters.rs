//! Builder methods that set one field, written once.
//!
//! Most Keras arguments become a builder method that stores its value and returns `self`;
//! [`setters!`] writes those from `name: type` lines (with each method's rustdoc), inside the
//! type's `impl` block. Methods that check or convert their argument stay hand-written.

/// Writes `pub fn name(mut self, value: Type) -> Self { self.name = value; self }` for each
/// `/// doc` + `name: Type` line; `name: Type => Some` stores `Some(value)` in an `Option`;
/// `name(path.to.field): Type` stores into `self.path.to.field` instead of `self.name`.
///
/// Exported (hidden) so that `keras-tuner` writes its builders with the same macro.
///
/// ```text
/// impl EarlyStopping {
///     setters! {
///         /// Epochs without improvement before stopping.
///         patience: usize,
///         /// A value the monitored quantity must beat.
///         baseline: f64 => Some,
///         /// Kernel initializer.
///         kernel_initializer(kernel_args.initializer): Initializer,
///     }
/// }
/// ```
#[doc(hidden)]
#[macro_export]
macro_rules! setters {
    ($( $(#[doc = $doc:literal])* $name:ident $(($($path:ident).+))?: $ty:ty $(=> $wrap:ident)? ),* $(,)?) => {
        $(
            $(#[doc = $doc])*
            pub fn $name(mut self, value: $ty) -> Self {
                *$crate::setters!(@target self, $name $(, $($path).+)?) = $crate::setters!(@stored $($wrap)? value);
                self
            }
        )*
    };
    // The field a setter stores into: `self.name`, or `self.path` when given.
    (@target $s:ident, $name:ident) => {
        &mut $s.$name
    };
    (@target $s:ident, $name:ident, $($path:ident).+) => {
        &mut $s.$($path).+
    };
    // The stored form of a setter's value: as given, or wrapped (`Some`).
    (@stored $v:ident) => {
        $v
    };
    (@stored $wrap:ident $v:ident) => {
        $wrap($v)
    };
}

pub(crate) use crate::setters;
