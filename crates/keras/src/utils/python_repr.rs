//! Python's `repr` of a JSON value, as Keras's error messages show config values
//! (`{'units': 3, 'use_bias': True, 'name': None}`).

use serde_json::Value;

use crate::callbacks::python_float_repr;

/// `repr(value)` of the Python object `json.loads` makes from `v`: `None`, `True`, ints,
/// floats as Python prints them (`1e-05`, `2.0`), quoted strings, lists and dicts.
///
/// ```
/// use keras::utils::python_repr::python_repr;
/// let v = serde_json::json!({"units": 3, "use_bias": true, "rate": 1e-5, "name": null});
/// assert_eq!(python_repr(&v), "{'units': 3, 'use_bias': True, 'rate': 1e-05, 'name': None}");
/// ```
pub fn python_repr(v: &Value) -> String {
    let mut out = String::new();
    write_repr(v, &mut out);
    out
}

fn write_repr(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("None"),
        Value::Bool(b) => out.push_str(if *b { "True" } else { "False" }),
        Value::Number(n) if n.is_f64() => out.push_str(&python_float_repr(n.as_f64().unwrap_or(f64::NAN))),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => out.push_str(&python_str_repr(s)),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_repr(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&python_str_repr(k));
                out.push_str(": ");
                write_repr(item, out);
            }
            out.push('}');
        }
    }
}

/// `repr(str)`: single quotes unless the text holds a `'` and no `"`; backslash escapes for
/// the quote, `\`, `\n`, `\r`, `\t` and other control characters (`\x1b`).
pub fn python_str_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') { '"' } else { '\'' };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn values_print_as_python_prints_them() {
        let v = json!({"a": null, "b": [true, false], "c": 1e-05, "d": 2.0, "e": -3, "f": 1e16});
        assert_eq!(
            python_repr(&v),
            "{'a': None, 'b': [True, False], 'c': 1e-05, 'd': 2.0, 'e': -3, 'f': 1e+16}"
        );
    }

    #[test]
    fn strings_pick_their_quotes_and_escape_as_python_does() {
        assert_eq!(python_str_repr("it's"), "\"it's\"");
        assert_eq!(python_str_repr("say \"hi\""), "'say \"hi\"'");
        assert_eq!(python_str_repr("both ' and \""), "'both \\' and \"'");
        assert_eq!(python_str_repr("a\\b\n\u{1b}é"), "'a\\\\b\\n\\x1bé'");
    }
}
