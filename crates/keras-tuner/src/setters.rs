//! Builder methods that set one field, written once: `keras`'s own `setters!` (see there).

pub(crate) use keras::setters;
