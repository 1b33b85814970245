//! JSON as Python's `json` module reads and writes it, because keras-tuner's project files
//! (`oracle.json`, `trial.json`) are written by `json.dumps` and must round-trip with it:
//! keys keep their insertion order, integers stay integers (`4`, not `4.0`), floats are
//! written as Python's `repr` (`1e-05`, `0.001`), separators are `", "` and `": "`, non-ASCII
//! is escaped (`ensure_ascii`), and `NaN` / `Infinity` / `-Infinity` are read and written
//! (a diverged trial's metrics are NaN). `serde_json` refuses the last, so this is our own.
//!
//! The parser bounds nesting depth and never panics on bad input.

use crate::error::{bail, Error, Result};
use crate::from_impls::from_impls;

/// A JSON value with Python's distinctions (int vs float, ordered objects).
#[derive(Clone, Debug, PartialEq)]
pub enum Json {
    /// `null` (Python `None`).
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float (may be NaN or infinite).
    Float(f64),
    /// A string.
    Str(String),
    /// An array.
    Array(Vec<Json>),
    /// An object, keys in insertion order.
    Object(Vec<(String, Json)>),
}

/// Deepest nesting the parser accepts (project files nest about 8 levels).
const MAX_DEPTH: usize = 128;

impl Json {
    /// An empty object.
    pub fn object() -> Json {
        Json::Object(Vec::new())
    }

    /// Builds an object from pairs.
    pub fn obj<K: Into<String>>(pairs: impl IntoIterator<Item = (K, Json)>) -> Json {
        Json::Object(pairs.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    /// A string value.
    pub fn str(s: impl Into<String>) -> Json {
        Json::Str(s.into())
    }

    /// Sets `key` (replacing an existing entry in place, else appending). No-op on non-objects.
    pub fn set(&mut self, key: &str, value: Json) {
        if let Json::Object(v) = self {
            match v.iter_mut().find(|(k, _)| k == key) {
                Some(e) => e.1 = value,
                None => v.push((key.to_string(), value)),
            }
        }
    }

    /// The value under `key` of an object.
    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Object(v) => v.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The value under `key`, or an error naming `what` (the file being read).
    pub fn req(&self, key: &str, what: &str) -> Result<&Json> {
        self.get(key).ok_or_else(|| Error::Value(format!("{what}: missing key '{key}'")))
    }

    /// True for `null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Json::Null)
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The integer, if this is one (floats with an integral value count, as Python reads
    /// `3.0` where it wrote `3` only if someone edited the file).
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Json::Int(i) => Some(*i),
            Json::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Some(*f as i64),
            _ => None,
        }
    }

    /// The number as a float.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Json::Int(i) => Some(*i as f64),
            Json::Float(f) => Some(*f),
            _ => None,
        }
    }

    /// The boolean, if this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Json::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The elements, if this is an array.
    pub fn as_array(&self) -> Option<&[Json]> {
        match self {
            Json::Array(v) => Some(v),
            _ => None,
        }
    }

    /// The entries, if this is an object.
    pub fn as_object(&self) -> Option<&[(String, Json)]> {
        match self {
            Json::Object(v) => Some(v),
            _ => None,
        }
    }

    /// `json.dumps(value)`: the text Python writes.
    pub fn dumps(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut String) {
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Int(i) => out.push_str(&i.to_string()),
            Json::Float(f) => {
                if f.is_nan() {
                    out.push_str("NaN")
                } else if f.is_infinite() {
                    out.push_str(if *f > 0.0 { "Infinity" } else { "-Infinity" })
                } else {
                    out.push_str(&python_float_repr(*f))
                }
            }
            Json::Str(s) => keras::callbacks::write_python_json_str(s, out),
            Json::Array(v) => {
                out.push('[');
                for (i, e) in v.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    e.write(out);
                }
                out.push(']');
            }
            Json::Object(v) => {
                out.push('{');
                for (i, (k, e)) in v.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    keras::callbacks::write_python_json_str(k, out);
                    out.push_str(": ");
                    e.write(out);
                }
                out.push('}');
            }
        }
    }

    /// Python's `repr()` of the value as a Python object (`None`, `True`, `'relu'`,
    /// `{'default': None}`): what keras-tuner's `search_space_summary` prints.
    pub fn py_repr(&self) -> String {
        match self {
            Json::Null => "None".into(),
            Json::Bool(b) => if *b { "True" } else { "False" }.into(),
            Json::Int(i) => i.to_string(),
            Json::Float(f) => python_float_repr(*f),
            Json::Str(s) => python_str_repr(s),
            Json::Array(v) => format!("[{}]", v.iter().map(Json::py_repr).collect::<Vec<_>>().join(", ")),
            Json::Object(v) => format!(
                "{{{}}}",
                v.iter()
                    .map(|(k, e)| format!("{}: {}", python_str_repr(k), e.py_repr()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }

    /// `json.loads(text)`, accepting `NaN`, `Infinity` and `-Infinity` as Python does.
    pub fn parse(text: &str) -> Result<Json> {
        let mut p = Parser { s: text.as_bytes(), i: 0 };
        p.ws();
        let v = p.value(0)?;
        p.ws();
        if p.i != p.s.len() {
            return Err(p.err("extra data after the JSON value"));
        }
        Ok(v)
    }
}

from_impls!(Json {
    bool => |b| Json::Bool(b),
    i64 => |i| Json::Int(i),
    usize => |i| Json::Int(i as i64),
    f64 => |f| Json::Float(f),
    &str => |s| Json::Str(s.into()),
    String => |s| Json::Str(s),
});
impl<T: Into<Json>> From<Option<T>> for Json {
    fn from(o: Option<T>) -> Self {
        o.map_or(Json::Null, Into::into)
    }
}
impl<T: Into<Json>> From<Vec<T>> for Json {
    fn from(v: Vec<T>) -> Self {
        Json::Array(v.into_iter().map(Into::into).collect())
    }
}

/// Python's `repr(str)`: single quotes unless the text holds `'` and no `"` (keras's own).
pub use keras::utils::python_repr::python_str_repr;

/// Python's `repr(float)` (`0.1`, `1e-05`, `1.0`, `nan`, `inf`).
pub fn python_float_repr(v: f64) -> String {
    keras::callbacks::python_float_repr(v)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn err(&self, what: &str) -> Error {
        Error::Value(format!("invalid JSON at byte {}: {what}", self.i))
    }

    fn ws(&mut self) {
        while self.i < self.s.len() && matches!(self.s[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }

    fn eat(&mut self, lit: &str) -> bool {
        if self.s[self.i..].starts_with(lit.as_bytes()) {
            self.i += lit.len();
            true
        } else {
            false
        }
    }

    fn value(&mut self, depth: usize) -> Result<Json> {
        if depth > MAX_DEPTH {
            return Err(self.err("nesting too deep"));
        }
        let Some(&c) = self.s.get(self.i) else { return Err(self.err("unexpected end")) };
        match c {
            b'{' => {
                self.i += 1;
                let mut v = Vec::new();
                self.ws();
                if self.eat("}") {
                    return Ok(Json::Object(v));
                }
                loop {
                    self.ws();
                    if self.s.get(self.i) != Some(&b'"') {
                        return Err(self.err("expected a string key"));
                    }
                    let k = self.string()?;
                    self.ws();
                    if !self.eat(":") {
                        return Err(self.err("expected ':'"));
                    }
                    self.ws();
                    let e = self.value(depth + 1)?;
                    // Python keeps the last duplicate; so do we, at the first one's place.
                    match v.iter_mut().find(|(kk, _): &&mut (String, Json)| *kk == k) {
                        Some(slot) => slot.1 = e,
                        None => v.push((k, e)),
                    }
                    self.ws();
                    if self.eat(",") {
                        continue;
                    }
                    if self.eat("}") {
                        return Ok(Json::Object(v));
                    }
                    return Err(self.err("expected ',' or '}'"));
                }
            }
            b'[' => {
                self.i += 1;
                let mut v = Vec::new();
                self.ws();
                if self.eat("]") {
                    return Ok(Json::Array(v));
                }
                loop {
                    self.ws();
                    v.push(self.value(depth + 1)?);
                    self.ws();
                    if self.eat(",") {
                        continue;
                    }
                    if self.eat("]") {
                        return Ok(Json::Array(v));
                    }
                    return Err(self.err("expected ',' or ']'"));
                }
            }
            b'"' => Ok(Json::Str(self.string()?)),
            b't' if self.eat("true") => Ok(Json::Bool(true)),
            b'f' if self.eat("false") => Ok(Json::Bool(false)),
            b'n' if self.eat("null") => Ok(Json::Null),
            b'N' if self.eat("NaN") => Ok(Json::Float(f64::NAN)),
            b'I' if self.eat("Infinity") => Ok(Json::Float(f64::INFINITY)),
            b'-' if self.eat("-Infinity") => Ok(Json::Float(f64::NEG_INFINITY)),
            b'-' | b'0'..=b'9' => self.number(),
            _ => Err(self.err("unexpected character")),
        }
    }

    fn number(&mut self) -> Result<Json> {
        let start = self.i;
        let mut float = false;
        while let Some(&c) = self.s.get(self.i) {
            match c {
                b'0'..=b'9' | b'-' | b'+' => {}
                b'.' | b'e' | b'E' => float = true,
                _ => break,
            }
            self.i += 1;
        }
        let text = std::str::from_utf8(&self.s[start..self.i]).map_err(|_| self.err("bad number"))?;
        if !float {
            if let Ok(i) = text.parse::<i64>() {
                return Ok(Json::Int(i));
            }
        }
        text.parse::<f64>().map(Json::Float).map_err(|_| self.err("bad number"))
    }

    fn hex4(&mut self) -> Result<u32> {
        let h = self.s.get(self.i..self.i + 4).ok_or_else(|| self.err("short \\u escape"))?;
        let h = std::str::from_utf8(h).map_err(|_| self.err("bad \\u escape"))?;
        let v = u32::from_str_radix(h, 16).map_err(|_| self.err("bad \\u escape"))?;
        self.i += 4;
        Ok(v)
    }

    fn string(&mut self) -> Result<String> {
        self.i += 1; // opening quote
        let mut out = String::new();
        loop {
            let start = self.i;
            while self.i < self.s.len() && self.s[self.i] != b'"' && self.s[self.i] != b'\\' {
                self.i += 1;
            }
            out.push_str(std::str::from_utf8(&self.s[start..self.i]).map_err(|_| self.err("invalid UTF-8"))?);
            match self.s.get(self.i) {
                None => return Err(self.err("unterminated string")),
                Some(b'"') => {
                    self.i += 1;
                    return Ok(out);
                }
                Some(_) => {
                    self.i += 1;
                    let Some(&e) = self.s.get(self.i) else { return Err(self.err("unterminated escape")) };
                    self.i += 1;
                    match e {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'u' => {
                            let mut cp = self.hex4()?;
                            if (0xD800..0xDC00).contains(&cp) && self.eat("\\u") {
                                let lo = self.hex4()?;
                                if (0xDC00..0xE000).contains(&lo) {
                                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                                }
                            }
                            out.push(char::from_u32(cp).unwrap_or('\u{fffd}'));
                        }
                        _ => return Err(self.err("bad escape")),
                    }
                }
            }
        }
    }
}

/// Reads and parses a JSON file.
pub fn load(path: &std::path::Path) -> Result<Json> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::Io(format!("Cannot read {}: {e}", path.display())))?;
    Json::parse(&text).map_err(|e| Error::Value(format!("{}: {}", path.display(), e.message())))
}

/// Checks a value is an object (for error messages naming the file).
pub fn expect_object<'a>(v: &'a Json, what: &str) -> Result<&'a [(String, Json)]> {
    match v.as_object() {
        Some(o) => Ok(o),
        None => bail!(Value, "{what}: expected a JSON object"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_python_text() {
        let text = r#"{"a": [1, 2.5, 1e-05, NaN, -Infinity, null, true], "b\u00e9": {"c": "x\"y"}, "d": -3}"#;
        let v = Json::parse(text).unwrap();
        assert_eq!(v.dumps(), text);
        assert_eq!(v.get("d"), Some(&Json::Int(-3)));
    }

    #[test]
    fn python_repr() {
        let v = Json::parse(r#"{"default": null, "values": ["relu", "it's"], "ordered": false, "x": 0.1}"#)
            .unwrap();
        assert_eq!(
            v.py_repr(),
            r#"{'default': None, 'values': ['relu', "it's"], 'ordered': False, 'x': 0.1}"#
        );
    }

    #[test]
    fn bad_input_is_an_error() {
        for bad in ["", "{", "[1,", "{\"a\" 1}", "\"abc", "tru", "{\"a\":1}x", &"[".repeat(1000)] {
            assert!(Json::parse(bad).is_err(), "{bad}");
        }
    }
}
