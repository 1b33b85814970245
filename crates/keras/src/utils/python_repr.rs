//! Python's `repr` of a JSON value, as Keras's error messages show config values
//! (`{'units': 3, 'use_bias': True, 'name': None}`), and of the floats, shapes and lists
//! those messages hold.

use serde_json::Value;

use crate::layers::Shape;

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

/// Python's `repr(float)`: the shortest digits that round-trip, positional for exponents in
/// `[-4, 16)`, otherwise scientific (`1e-05`, `1.5e+16`); `nan`, `inf`.
pub fn python_float_repr(v: f64) -> String {
    if v.is_nan() {
        return "nan".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0.0".into() } else { "0.0".into() };
    }
    let sci = format!("{v:e}"); // shortest round-trip digits: "-1.2345e-5"
    let (mant, exp) = sci.split_once('e').expect("`{:e}` has an exponent");
    let exp: i32 = exp.parse().expect("integer exponent");
    let (sign, mant) = mant.strip_prefix('-').map_or(("", mant), |m| ("-", m));
    let digits: String = mant.chars().filter(|c| *c != '.').collect();
    if (-4..16).contains(&exp) {
        let point = exp + 1; // digits before the decimal point
        let s = if point <= 0 {
            format!("0.{}{}", "0".repeat((-point) as usize), digits)
        } else if point as usize >= digits.len() {
            format!("{}{}.0", digits, "0".repeat(point as usize - digits.len()))
        } else {
            format!("{}.{}", &digits[..point as usize], &digits[point as usize..])
        };
        format!("{sign}{s}")
    } else {
        let m = if digits.len() > 1 { format!("{}.{}", &digits[..1], &digits[1..]) } else { digits };
        let es = if exp < 0 { '-' } else { '+' };
        format!("{sign}{m}e{es}{:02}", exp.abs())
    }
}

/// The Python float Keras holds for an `f32` argument the user wrote: its shortest decimal
/// (`0.35`, not `0.3499999940395355`), so that `int(filters * alpha)`, `f"{alpha:0.2f}"` and the
/// configs (`0.01`, not `0.009999999776482582`) come out as in Keras.
pub(crate) fn py_float(v: f32) -> f64 {
    v.to_string().parse().unwrap_or(v as f64)
}

/// [`py_float`] as the JSON number a config holds.
pub(crate) fn py_float_json(v: f32) -> Value {
    serde_json::json!(py_float(v))
}

/// A tuple of items already written as Python writes them: `(2, 10)`, `(1000,)`, `()`.
fn py_tuple(items: &[String]) -> String {
    match items {
        [one] => format!("({one},)"),
        _ => format!("({})", items.join(", ")),
    }
}

/// A shape as Python prints the tuple: `(None, 3)`, `(4,)`, `()`.
pub(crate) fn py_shape(shape: &[Option<usize>]) -> String {
    py_tuple(&shape.iter().map(|d| d.map_or("None".to_string(), |v| v.to_string())).collect::<Vec<_>>())
}

/// A known shape as Python prints the tuple: `(2, 10)`, `(1000,)`.
pub(crate) fn py_dims(shape: &[usize]) -> String {
    py_tuple(&shape.iter().map(usize::to_string).collect::<Vec<_>>())
}

/// A list of shapes as Python prints it: `[(None, 3), (None, 4)]`.
pub(crate) fn py_shapes(shapes: &[Shape]) -> String {
    let parts: Vec<String> = shapes.iter().map(|s| py_shape(s)).collect();
    format!("[{}]", parts.join(", "))
}

/// `['a', 'b']` as Python prints a list of strings.
pub(crate) fn py_list<S: AsRef<str>>(items: impl IntoIterator<Item = S>) -> String {
    let v: Vec<String> = items.into_iter().map(|s| format!("'{}'", s.as_ref())).collect();
    format!("[{}]", v.join(", "))
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

    #[test]
    fn float_repr_matches_python() {
        assert_eq!(python_float_repr(0.28333333134651184), "0.28333333134651184");
        assert_eq!(python_float_repr(0.009999999776482582), "0.009999999776482582");
        assert_eq!(python_float_repr(1.0), "1.0");
        assert_eq!(python_float_repr(100.0), "100.0");
        assert_eq!(python_float_repr(1e-5), "1e-05");
        assert_eq!(python_float_repr(1.5e-7), "1.5e-07");
        assert_eq!(python_float_repr(0.0001), "0.0001");
        assert_eq!(python_float_repr(1e16), "1e+16");
        assert_eq!(python_float_repr(123456789012345.0), "123456789012345.0");
        assert_eq!(python_float_repr(-2.5), "-2.5");
        assert_eq!(python_float_repr(f64::NAN), "nan");
        assert_eq!(python_float_repr(f64::NEG_INFINITY), "-inf");
        assert_eq!(python_float_repr(0.1f32 as f64), "0.10000000149011612");
    }

    #[test]
    fn shapes_and_lists_print_as_python_tuples_and_lists() {
        assert_eq!(py_shape(&[None, Some(3)]), "(None, 3)");
        assert_eq!(py_shape(&[Some(4)]), "(4,)");
        assert_eq!(py_shape(&[]), "()");
        assert_eq!(py_dims(&[2, 10]), "(2, 10)");
        assert_eq!(py_dims(&[1000]), "(1000,)");
        assert_eq!(py_shapes(&[vec![None, Some(3)], vec![Some(4)]]), "[(None, 3), (4,)]");
        assert_eq!(py_list(["a", "b"]), "['a', 'b']");
        assert_eq!(py_float(0.35), 0.35);
        assert_eq!(py_float_json(0.01), serde_json::json!(0.01));
    }
}
