//! Keras rebuilds a layer with `cls(**config)`, so a config key that the class's constructor
//! does not take is an error there ("Unrecognized keyword arguments passed to Dense: {...}").
//! [`crate::layers::deserialize`] refuses such Keras 3 configs the same way, from the table of
//! constructor keywords generated from Keras 3.15 (`init_kwargs.rs`). (Optimizers read their
//! whole config and refuse what is left: "Argument(s) not recognized: {...}".)

use serde_json::Value;

use super::init_kwargs::{InitKwargs, LAYERS};
use crate::utils::python_repr::{python_repr, python_str_repr};
use crate::{Error, Result};

/// The entry of `class` in `table`, or `None` for a class Keras's module does not export.
fn entry(table: &'static [InitKwargs], class: &str) -> Option<InitKwargs> {
    let i = table.binary_search_by(|(name, ..)| (*name).cmp(class)).ok()?;
    Some(table[i])
}

/// Keras's error for the keys of `cfg` that the constructor does not take, `base_error`
/// writing the base class's ValueError from the unknown keys' Python dict; Python's TypeError
/// when an `__init__` on the way takes no `**kwargs`. Classes the table does not hold and
/// non-object configs pass (their own reader reports them).
fn check(
    table: &'static [InitKwargs],
    class: &str,
    cfg: &Value,
    base_error: impl Fn(&str, &str) -> String,
) -> Result<()> {
    let (Some((_, class, strict_init, names)), Value::Object(map)) = (entry(table, class), cfg) else {
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
            base_error(class, &format!("{{{}}}", items.join(", ")))
        }
    };
    Err(Error::Config(message))
}

/// `Layer.__init__`'s error for a layer config's unknown keys.
pub(crate) fn check_layer_config_keys(class: &str, cfg: &Value) -> Result<()> {
    check(LAYERS, class, cfg, |class, dict| {
        format!("Unrecognized keyword arguments passed to {class}: {dict}")
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_table_is_sorted_for_binary_search() {
        assert!(LAYERS.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn known_keys_pass_and_unknown_ones_are_named() {
        assert!(check_layer_config_keys("Dense", &json!({"units": 2, "input_shape": [3]})).is_ok());
        let e = check_layer_config_keys("Dense", &json!({"units": 2, "zz": 1, "yy": "a"})).unwrap_err();
        assert_eq!(e.to_string(), "Unrecognized keyword arguments passed to Dense: {'zz': 1, 'yy': 'a'}");
        let e = check_layer_config_keys("SpatialDropout1D", &json!({"rate": 0.1, "trainable": true}))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "SpatialDropout1D.__init__() got an unexpected keyword argument 'trainable'"
        );
        let e = check_layer_config_keys("GroupQueryAttention", &json!({"zz": 1})).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Unrecognized keyword arguments passed to GroupedQueryAttention: {'zz': 1}"
        );
        assert!(check_layer_config_keys("NotAKerasLayer", &json!({"zz": 1})).is_ok());
    }
}
