//! Session state: automatic layer names, `clear_session`, and the device tensors and models
//! live on.

mod device;

pub use device::{device, enable_tensor_float_32_execution, list_devices, set_device, with_device, Device};

use std::cell::RefCell;
use std::collections::HashMap;

thread_local! {
    static NAME_COUNTS: RefCell<HashMap<String, usize>> = RefCell::new(HashMap::new());
    /// The last name [`unique_name`] gave for each base, so that a rename right after
    /// construction can give it back ([`release_name`]).
    static LAST_ISSUED: RefCell<HashMap<String, String>> = RefCell::new(HashMap::new());
}

/// A fresh name for an object of the given base (`dense`, `dense_1`, ...), as Keras's
/// `auto_name`. Counters are per thread, so tests running in parallel see a fresh session each.
pub fn unique_name(base: &str) -> String {
    NAME_COUNTS.with(|c| {
        let mut c = c.borrow_mut();
        let n = c.entry(base.to_string()).or_insert(0);
        let name = if *n == 0 { base.to_string() } else { format!("{base}_{n}") };
        *n += 1;
        LAST_ISSUED.with(|l| l.borrow_mut().insert(base.to_string(), name.clone()));
        name
    })
}

/// Gives back an automatic name that an object drops for an explicit one, when it is the
/// last name [`unique_name`] gave for its base: Keras's `auto_name` never counts an object
/// made with `name=...` (after `Dense(3, name="x")` the next unnamed `Dense` is still
/// `dense`), while this crate's constructors name first and are renamed after. Any other name
/// is left alone, so no two objects can end up with the same automatic name.
pub fn release_name(name: &str) {
    let base = LAST_ISSUED.with(|l| {
        let mut l = l.borrow_mut();
        let base = l.iter().find(|(_, issued)| issued.as_str() == name).map(|(b, _)| b.clone())?;
        l.remove(&base);
        Some(base)
    });
    if let Some(base) = base {
        NAME_COUNTS.with(|c| {
            if let Some(n) = c.borrow_mut().get_mut(&base) {
                *n = n.saturating_sub(1);
            }
        });
    }
}

/// Runs `make` and then puts the automatic-name counters back as they were: for an object made
/// with an explicit name, which Keras's `auto_name` never counts (`Conv2D(8, 3, name="c")`
/// leaves the next unnamed `Conv2D` called `conv2d`), while this crate's constructors name
/// first and are renamed after.
pub fn without_auto_names<T>(make: impl FnOnce() -> T) -> T {
    let saved = NAME_COUNTS.with(|c| c.borrow().clone());
    let last = LAST_ISSUED.with(|l| l.borrow().clone());
    let out = make();
    NAME_COUNTS.with(|c| *c.borrow_mut() = saved);
    LAST_ISSUED.with(|l| *l.borrow_mut() = last);
    out
}

/// Resets automatic names (Keras `keras.backend.clear_session()`), on this thread.
pub fn clear_session() {
    NAME_COUNTS.with(|c| c.borrow_mut().clear());
    LAST_ISSUED.with(|l| l.borrow_mut().clear());
}

/// `CamelCase` -> `snake_case` as Keras's `to_snake_case` (`Conv2D` -> `conv2d`,
/// `MaxPooling2D` -> `max_pooling2d`, `BatchNormalization` -> `batch_normalization`).
pub fn to_snake_case(name: &str) -> String {
    // Keras: re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name) then re.sub("([a-z])([A-Z])", r"\1_\2", ...).lower()
    let chars: Vec<char> = name.chars().collect();
    let mut step1 = String::new();
    for i in 0..chars.len() {
        if i > 0 && chars[i].is_ascii_uppercase() && chars.get(i + 1).is_some_and(|c| c.is_ascii_lowercase())
        {
            step1.push('_');
        }
        step1.push(chars[i]);
    }
    let chars: Vec<char> = step1.chars().collect();
    let mut out = String::new();
    for i in 0..chars.len() {
        if i > 0 && chars[i].is_ascii_uppercase() && chars[i - 1].is_ascii_lowercase() {
            out.push('_');
        }
        out.push(chars[i]);
    }
    out.to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_case_like_keras() {
        assert_eq!(to_snake_case("Conv2D"), "conv2d");
        assert_eq!(to_snake_case("MaxPooling2D"), "max_pooling2d");
        assert_eq!(to_snake_case("BatchNormalization"), "batch_normalization");
        assert_eq!(to_snake_case("Dense"), "dense");
        assert_eq!(to_snake_case("InputLayer"), "input_layer");
        assert_eq!(to_snake_case("GlobalAveragePooling2D"), "global_average_pooling2d");
    }

    #[test]
    fn names_count_up() {
        clear_session();
        assert_eq!(unique_name("dense"), "dense");
        assert_eq!(unique_name("dense"), "dense_1");
        assert_eq!(unique_name("conv2d"), "conv2d");
        clear_session();
        assert_eq!(unique_name("dense"), "dense");
    }

    #[test]
    fn explicitly_named_objects_leave_the_counters_alone() {
        clear_session();
        assert_eq!(unique_name("conv2d"), "conv2d");
        let named = without_auto_names(|| format!("{}-renamed", unique_name("conv2d")));
        assert_eq!(named, "conv2d_1-renamed");
        assert_eq!(unique_name("conv2d"), "conv2d_1");
    }
}
