//! Builder methods that set one field, written once.
//!
//! Most Keras arguments become a builder method that stores its value and returns `self`;
//! [`setters!`] writes those from `name: type` lines (with each method's rustdoc), inside the
//! type's `impl` block. Methods that check or convert their argument stay hand-written.

/// Writes `pub fn name(mut self, value: Type) -> Self { self.name = value; self }` for each
/// `/// doc` + `name: Type` line; `name: Type => Some` stores `Some(value)` in an `Option`.
///
/// ```text
/// impl EarlyStopping {
///     setters! {
///         /// Epochs without improvement before stopping.
///         patience: usize,
///         /// A value the monitored quantity must beat.
///         baseline: f64 => Some,
///     }
/// }
/// ```
macro_rules! setters {
    ($( $(#[doc = $doc:literal])* $name:ident: $ty:ty $(=> $wrap:ident)? ),* $(,)?) => {
        $(
            $(#[doc = $doc])*
            pub fn $name(mut self, value: $ty) -> Self {
                self.$name = $crate::setters::stored!($($wrap)? value);
                self
            }
        )*
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

pub(crate) use {setters, stored};
