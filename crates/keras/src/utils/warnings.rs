//! Keras's warnings: printed as Python's `warnings.warn` shows them (`UserWarning: ...`) and
//! recorded, so that a program or a test can read them back with
//! [`take_warnings`](crate::callbacks::take_warnings).

use std::cell::RefCell;

/// How many warnings a thread keeps before dropping the oldest: a long run that nobody reads
/// must not grow without bound.
const KEPT: usize = 1000;

thread_local! {
    static WARNINGS: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// Prints a Keras-style warning to stderr (`UserWarning: ...`) and records it for
/// [`take_warnings`].
pub(crate) fn warn(message: impl AsRef<str>) {
    let message = message.as_ref();
    eprintln!("UserWarning: {message}");
    WARNINGS.with(|w| {
        let mut w = w.borrow_mut();
        if w.len() >= KEPT {
            w.remove(0);
        }
        w.push(message.to_string());
    });
}

/// The warnings keras-rs emitted on this thread since the last call (callbacks, loading and
/// saving, applications; they are also printed to stderr, as Python's `warnings.warn` does).
/// Lets a program or a test check them.
pub fn take_warnings() -> Vec<String> {
    WARNINGS.with(|w| std::mem::take(&mut *w.borrow_mut()))
}
