//! `From` conversions into the crate's enums, one line each.

/// Writes `impl From<T> for Enum { fn from(v: T) -> Self { expr } }` for each
/// `T => |v| expr` entry (generic impls stay written out).
///
/// ```text
/// from_impls!(Json {
///     bool => |b| Json::Bool(b),
///     String => |s| Json::Str(s),
/// });
/// ```
macro_rules! from_impls {
    ($target:ty { $( $from:ty => |$v:ident| $e:expr ),* $(,)? }) => {
        $(
            impl From<$from> for $target {
                fn from($v: $from) -> Self {
                    $e
                }
            }
        )*
    };
}
pub(crate) use from_impls;
