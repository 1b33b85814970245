//! `HpValue`: the value of one hyperparameter (Python `int`, `float`, `str` or `bool`), and
//! `Values`, the ordered name -> value map a `HyperParameters` holds (a Python dict: its
//! insertion order is what summaries print and project files store).

use crate::from_impls::from_impls;
use std::fmt;

use crate::json::{python_float_repr, Json};

/// One hyperparameter value.
#[derive(Clone, Debug)]
pub enum HpValue {
    /// A boolean (`Boolean`, or a `Choice` / `Fixed` of booleans).
    Bool(bool),
    /// An integer (`Int`, or a `Choice` / `Fixed` of integers).
    Int(i64),
    /// A float (`Float`, or a `Choice` / `Fixed` of floats).
    Float(f64),
    /// A string (a `Choice` / `Fixed` of strings).
    Str(String),
}

impl HpValue {
    /// Python's type name (`int`, `float`, `str`, `bool`), for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            HpValue::Bool(_) => "bool",
            HpValue::Int(_) => "int",
            HpValue::Float(_) => "float",
            HpValue::Str(_) => "str",
        }
    }

    /// True for `Int` and `Float` values.
    pub fn is_numeric(&self) -> bool {
        matches!(self, HpValue::Int(_) | HpValue::Float(_))
    }

    /// The integer (a float with an integral value counts).
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            HpValue::Int(i) => Some(*i),
            HpValue::Float(f) if f.fract() == 0.0 && f.is_finite() => Some(*f as i64),
            _ => None,
        }
    }

    /// The number as a float.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            HpValue::Int(i) => Some(*i as f64),
            HpValue::Float(f) => Some(*f),
            _ => None,
        }
    }

    /// The string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            HpValue::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The boolean.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            HpValue::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The value as JSON (as `json.dumps` writes it).
    pub fn to_json(&self) -> Json {
        match self {
            HpValue::Bool(b) => Json::Bool(*b),
            HpValue::Int(i) => Json::Int(*i),
            HpValue::Float(f) => Json::Float(*f),
            HpValue::Str(s) => Json::Str(s.clone()),
        }
    }

    /// A value from JSON (`None` for null, arrays and objects).
    pub fn from_json(v: &Json) -> Option<HpValue> {
        match v {
            Json::Bool(b) => Some(HpValue::Bool(*b)),
            Json::Int(i) => Some(HpValue::Int(*i)),
            Json::Float(f) => Some(HpValue::Float(*f)),
            Json::Str(s) => Some(HpValue::Str(s.clone())),
            _ => None,
        }
    }

    /// Python's `repr()` (strings quoted).
    pub fn py_repr(&self) -> String {
        match self {
            HpValue::Str(s) => crate::json::python_str_repr(s),
            v => v.to_string(),
        }
    }
}

/// Python's `==`: `1 == 1.0 == True`.
impl PartialEq for HpValue {
    fn eq(&self, other: &Self) -> bool {
        fn num(v: &HpValue) -> Option<f64> {
            match v {
                HpValue::Bool(b) => Some(*b as i64 as f64),
                HpValue::Int(i) => Some(*i as f64),
                HpValue::Float(f) => Some(*f),
                HpValue::Str(_) => None,
            }
        }
        match (self, other) {
            (HpValue::Str(a), HpValue::Str(b)) => a == b,
            (HpValue::Int(a), HpValue::Int(b)) => a == b,
            (a, b) => matches!((num(a), num(b)), (Some(x), Some(y)) if x == y),
        }
    }
}

/// Python's `str()`: `True`, `32`, `0.001`, `1e-05`, `relu`.
impl fmt::Display for HpValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HpValue::Bool(b) => f.write_str(if *b { "True" } else { "False" }),
            HpValue::Int(i) => write!(f, "{i}"),
            HpValue::Float(x) => f.write_str(&python_float_repr(*x)),
            HpValue::Str(s) => f.write_str(s),
        }
    }
}

from_impls!(HpValue {
    bool => |v| HpValue::Bool(v),
    i64 => |v| HpValue::Int(v),
    i32 => |v| HpValue::Int(v as i64),
    usize => |v| HpValue::Int(v as i64),
    f64 => |v| HpValue::Float(v),
    f32 => |v| HpValue::Float(v as f64),
    &str => |v| HpValue::Str(v.to_string()),
    String => |v| HpValue::Str(v),
    &String => |v| HpValue::Str(v.clone()),
});

/// Hyperparameter values by name, in insertion order (Python's `hp.values` dict).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Values(Vec<(String, HpValue)>);

impl Values {
    /// An empty map.
    pub fn new() -> Self {
        Values(Vec::new())
    }

    /// The value of `name`.
    pub fn get(&self, name: &str) -> Option<&HpValue> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    /// True when `name` has a value.
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Sets `name` (in place if present, else appended, as a dict assignment).
    pub fn insert(&mut self, name: impl Into<String>, value: impl Into<HpValue>) {
        let (name, value) = (name.into(), value.into());
        match self.0.iter_mut().find(|(k, _)| *k == name) {
            Some(e) => e.1 = value,
            None => self.0.push((name, value)),
        }
    }

    /// Removes `name`, returning its value.
    pub fn remove(&mut self, name: &str) -> Option<HpValue> {
        let i = self.0.iter().position(|(k, _)| k == name)?;
        Some(self.0.remove(i).1)
    }

    /// `(name, value)` pairs in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &HpValue)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// As a JSON object.
    pub fn to_json(&self) -> Json {
        Json::Object(self.0.iter().map(|(k, v)| (k.clone(), v.to_json())).collect())
    }

    /// From a JSON object of scalars (other entries are an error).
    pub fn from_json(v: &Json) -> crate::Result<Values> {
        let obj = crate::json::expect_object(v, "hyperparameter values")?;
        let mut out = Values::new();
        for (k, v) in obj {
            let value = HpValue::from_json(v).ok_or_else(|| {
                crate::Error::Value(format!("hyperparameter value of '{k}' must be a number, string or bool"))
            })?;
            out.insert(k.clone(), value);
        }
        Ok(out)
    }
}

impl<K: Into<String>, V: Into<HpValue>> FromIterator<(K, V)> for Values {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut v = Values::new();
        for (k, x) in iter {
            v.insert(k, x);
        }
        v
    }
}
