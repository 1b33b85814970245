//! Keras rebuilds a layer with `cls(**config)`, so a config key that the class's constructor
//! does not take is an error there ("Unrecognized keyword arguments passed to Dense: {...}").
//! [`deserialize`](super::deserialize) refuses such Keras 3 configs the same way, from the
//! table of constructor keywords generated from Keras 3.15 (`init_kwargs.rs`).

use serde_json::Value;

use super::init_kwargs::INIT_KWARGS;
use crate::utils::python_repr::{python_repr, python_str_repr};
use crate::{Error, Result};

/// What Keras 3.15 knows of `class` (its `__name__`, `strict_init`, the keywords; see
/// [`INIT_KWARGS`]), or `None` for a class that `keras.layers` does not export.
fn init_kwargs(class: &str) -> Option<(&'static str, Option<&'static str>, &'static [&'static str])> {
    let i = INIT_KWARGS.binary_search_by(|(c, ..)| (*c).cmp(class)).ok()?;
    let (_, name, strict_init, names) = INIT_KWARGS[i];
    Some((name, strict_init, names))
}

/// Keras's error for the keys of `cfg` that `class`'s constructor does not take: the
/// ValueError of `Layer.__init__`, or Python's TypeError when an `__init__` on the way takes
/// no `**kwargs` (SpatialDropout1D, Discretization, Pipeline). Classes Keras does not export
/// and non-object configs pass (their own reader reports them).
pub(crate) fn check_config_keys(class: &str, cfg: &Value) -> Result<()> {
    let (Some((class, strict_init, names)), Value::Object(map)) = (init_kwargs(class), cfg) else {
        return Ok(());
    };
    let unknown: Vec<(&String, &Value)> = map.iter().filter(|(k, _)| !names.contains(&k.as_str())).collect();
    let Some((first, _)) = unknown.first() else {
        return Ok(());
    };
    let message = match strict_init {
        Some(init) => {
            format!("{init}.__init__() got an unexpected keyword argument {}", python_str_repr(first))
        }
        None => {
            let items: Vec<String> =
                unknown.iter().map(|(k, v)| format!("{}: {}", python_str_repr(k), python_repr(v))).collect();
            format!("Unrecognized keyword arguments passed to {class}: {{{}}}", items.join(", "))
        }
    };
    Err(Error::Config(message))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_table_is_sorted_for_binary_search() {
        assert!(INIT_KWARGS.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(check_config_keys("GroupQueryAttention", &json!({"zz": 1}))
            .unwrap_err()
            .to_string()
            .contains("GroupedQueryAttention: {'zz': 1}"));
    }

    #[test]
    fn known_keys_pass_and_unknown_ones_are_named() {
        assert!(check_config_keys("Dense", &json!({"units": 2, "input_shape": [3]})).is_ok());
        let e = check_config_keys("Dense", &json!({"units": 2, "zz": 1, "yy": "a"})).unwrap_err();
        assert_eq!(e.to_string(), "Unrecognized keyword arguments passed to Dense: {'zz': 1, 'yy': 'a'}");
        let e = check_config_keys("SpatialDropout1D", &json!({"rate": 0.1, "trainable": true})).unwrap_err();
        assert!(e
            .to_string()
            .ends_with("SpatialDropout1D.__init__() got an unexpected keyword argument 'trainable'"));
        assert!(check_config_keys("NotAKerasLayer", &json!({"zz": 1})).is_ok());
    }
}
