//! Builder methods that set one field, written once.
//!
//! Most Keras arguments become a builder method that stores its value and returns `self`;
//! [`setters!`] writes those from `name: type` lines (with each method's rustdoc), inside the
//! type's `impl` block. Methods that check or convert their argument stay hand-written.

/// Writes `pub fn name(mut self, value: Type) -> Self { self.name = value; self }` for each
/// `/// doc` + `name: Type` line; `name: Type => Some` stores `Some(value)` in an `Option`;
/// `name(path.to.field): Type` stores into `self.path.to.field` instead of `self.name`.
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
