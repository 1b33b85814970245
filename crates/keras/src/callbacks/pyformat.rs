//! Python's `str.format` for the file-path templates of `ModelCheckpoint`
//! (`weights.{epoch:02d}-{val_loss:.2f}.keras`): named fields, `{{` / `}}` escapes and the
//! format-spec mini-language (`[[fill]align][sign][#][0][width][,|_][.precision][type]`)
//! for ints and floats, with Python's output and errors.

use super::python_float_repr;
use crate::{keras_bail, Error, Result};

/// A value a template field can take.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum PyValue {
    /// A Python int (`epoch`, `batch`).
    Int(i64),
    /// A Python float (log values).
    Float(f64),
}

/// One piece of a parsed template.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Piece {
    Text(String),
    Field { name: String, spec: String },
}

/// Splits a template into text and fields; malformed braces are an error.
pub(crate) fn parse(template: &str) -> Result<Vec<Piece>> {
    let mut out = Vec::new();
    let mut text = String::new();
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                text.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                text.push('}');
            }
            '}' => keras_bail!(Value, "Single '}}' encountered in format string \"{template}\""),
            '{' => {
                let mut field = String::new();
                let mut depth = 1;
                loop {
                    match chars.next() {
                        None => keras_bail!(Value, "Single '{{' encountered in format string \"{template}\""),
                        Some('{') => {
                            depth += 1;
                            field.push('{');
                        }
                        Some('}') => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                            field.push('}');
                        }
                        Some(ch) => field.push(ch),
                    }
                }
                let (name, spec) = field.split_once(':').unwrap_or((&field, ""));
                if name.contains('!') || name.contains('[') || name.contains('.') || spec.contains('{') {
                    keras_bail!(
                        InvalidArgument,
                        "Unsupported field `{{{field}}}` in \"{template}\": only `{{name}}` and `{{name:spec}}` are supported"
                    );
                }
                if name.is_empty() || name.chars().all(|c| c.is_ascii_digit()) {
                    keras_bail!(
                        InvalidArgument,
                        "Positional field `{{{field}}}` in \"{template}\": template fields must be named (`{{epoch}}`, `{{val_loss:.2f}}`)"
                    );
                }
                if !text.is_empty() {
                    out.push(Piece::Text(std::mem::take(&mut text)));
                }
                out.push(Piece::Field { name: name.to_string(), spec: spec.to_string() });
            }
            c => text.push(c),
        }
    }
    if !text.is_empty() {
        out.push(Piece::Text(text));
    }
    Ok(out)
}

/// Formats a template; `lookup` gives each field's value (`None`: Python's `KeyError`).
pub(crate) fn format(template: &str, lookup: &dyn Fn(&str) -> Option<PyValue>) -> Result<String> {
    let mut out = String::new();
    for piece in parse(template)? {
        match piece {
            Piece::Text(t) => out.push_str(&t),
            Piece::Field { name, spec } => {
                let Some(v) = lookup(&name) else {
                    keras_bail!(
                        InvalidArgument,
                        "Failed to format this callback filepath: \"{template}\". Reason: '{name}'"
                    );
                };
                out.push_str(&format_value(v, &spec)?);
            }
        }
    }
    Ok(out)
}

#[derive(Debug, Default)]
struct Spec {
    fill: char,
    align: Option<char>,
    sign: char,
    alt: bool,
    width: usize,
    grouping: Option<char>,
    precision: Option<usize>,
    ty: Option<char>,
}

fn parse_spec(spec: &str) -> Result<Spec> {
    let bad = || Error::Value(format!("Invalid format specifier '{spec}'"));
    let c: Vec<char> = spec.chars().collect();
    let mut i = 0;
    let mut s = Spec { fill: ' ', sign: '-', ..Default::default() };
    let is_align = |ch: char| matches!(ch, '<' | '>' | '^' | '=');
    if c.len() >= 2 && is_align(c[1]) {
        s.fill = c[0];
        s.align = Some(c[1]);
        i = 2;
    } else if !c.is_empty() && is_align(c[0]) {
        s.align = Some(c[0]);
        i = 1;
    }
    if i < c.len() && matches!(c[i], '+' | '-' | ' ') {
        s.sign = c[i];
        i += 1;
    }
    if i < c.len() && c[i] == '#' {
        s.alt = true;
        i += 1;
    }
    if i < c.len() && c[i] == '0' {
        if s.align.is_none() {
            s.fill = '0';
            s.align = Some('=');
        }
        i += 1;
    }
    let start = i;
    while i < c.len() && c[i].is_ascii_digit() {
        i += 1;
    }
    if i > start {
        s.width = c[start..i].iter().collect::<String>().parse().map_err(|_| bad())?;
    }
    if i < c.len() && matches!(c[i], ',' | '_') {
        s.grouping = Some(c[i]);
        i += 1;
    }
    if i < c.len() && c[i] == '.' {
        i += 1;
        let start = i;
        while i < c.len() && c[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return Err(Error::Value("Format specifier missing precision".into()));
        }
        s.precision = Some(c[start..i].iter().collect::<String>().parse().map_err(|_| bad())?);
    }
    if i < c.len() {
        s.ty = Some(c[i]);
        i += 1;
    }
    if i != c.len() {
        return Err(bad());
    }
    Ok(s)
}

fn group(int_digits: &str, sep: char, every: usize) -> String {
    let n = int_digits.len();
    let mut out = String::new();
    for (k, ch) in int_digits.chars().enumerate() {
        if k > 0 && (n - k).is_multiple_of(every) {
            out.push(sep);
        }
        out.push(ch);
    }
    out
}

/// Python `format(value, spec)` for an int or a float.
pub(crate) fn format_value(v: PyValue, spec: &str) -> Result<String> {
    let s = parse_spec(spec)?;
    let (neg, body) = match v {
        PyValue::Int(n) => match s.ty {
            None | Some('d') | Some('n') => (n < 0, n.unsigned_abs().to_string()),
            Some('x') => (n < 0, format!("{}{:x}", if s.alt { "0x" } else { "" }, n.unsigned_abs())),
            Some('X') => (n < 0, format!("{}{:X}", if s.alt { "0X" } else { "" }, n.unsigned_abs())),
            Some('o') => (n < 0, format!("{}{:o}", if s.alt { "0o" } else { "" }, n.unsigned_abs())),
            Some('b') => (n < 0, format!("{}{:b}", if s.alt { "0b" } else { "" }, n.unsigned_abs())),
            Some(t @ ('e' | 'E' | 'f' | 'F' | 'g' | 'G' | '%')) => {
                float_body(n as f64, Some(t), s.precision, s.alt)
            }
            Some(t) => keras_bail!(Value, "Unknown format code '{t}' for object of type 'int'"),
        },
        PyValue::Float(x) => match s.ty {
            None | Some('e' | 'E' | 'f' | 'F' | 'g' | 'G' | '%' | 'n') => {
                float_body(x, s.ty.map(|t| if t == 'n' { 'g' } else { t }), s.precision, s.alt)
            }
            Some(t) => keras_bail!(Value, "Unknown format code '{t}' for object of type 'float'"),
        },
    };
    if matches!(v, PyValue::Int(_))
        && s.precision.is_some()
        && matches!(s.ty, None | Some('d' | 'x' | 'X' | 'o' | 'b'))
    {
        keras_bail!(Value, "Precision not allowed in integer format specifier");
    }
    let body = match s.grouping {
        Some(g) => {
            let end = body.find(|c: char| !c.is_ascii_digit()).unwrap_or(body.len());
            format!("{}{}", group(&body[..end], g, 3), &body[end..])
        }
        None => body,
    };
    let sign = if neg {
        "-"
    } else {
        match s.sign {
            '+' => "+",
            ' ' => " ",
            _ => "",
        }
    };
    let len = sign.chars().count() + body.chars().count();
    let pad = s.width.saturating_sub(len);
    let fill = |n: usize| s.fill.to_string().repeat(n);
    Ok(match s.align.unwrap_or('>') {
        '<' => format!("{sign}{body}{}", fill(pad)),
        '^' => format!("{}{sign}{body}{}", fill(pad / 2), fill(pad - pad / 2)),
        '=' => format!("{sign}{}{body}", fill(pad)),
        _ => format!("{}{sign}{body}", fill(pad)),
    })
}

/// Python's exponent notation: `1.234560e-01`.
fn sci(x: f64, prec: usize, upper: bool) -> String {
    let s = format!("{x:.prec$e}");
    let (m, e) = s.split_once('e').expect("exponent");
    let e: i32 = e.parse().expect("int exponent");
    let out = format!("{m}e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs());
    if upper {
        out.to_uppercase()
    } else {
        out
    }
}

fn strip_zeros(s: &str) -> String {
    match s.split_once('e') {
        Some((m, e)) => format!("{}e{e}", strip_zeros(m)),
        None if s.contains('.') => s.trim_end_matches('0').trim_end_matches('.').to_string(),
        None => s.to_string(),
    }
}

/// The digits of a non-negative float (sign handled by the caller): `(negative, body)`.
fn float_body(x: f64, ty: Option<char>, precision: Option<usize>, alt: bool) -> (bool, String) {
    let neg = x.is_sign_negative() && !x.is_nan();
    let a = x.abs();
    if !a.is_finite() {
        let s = if a.is_nan() { "nan" } else { "inf" };
        let s = if matches!(ty, Some('E' | 'F' | 'G')) { s.to_uppercase() } else { s.to_string() };
        return (neg, if ty == Some('%') { format!("{s}%") } else { s });
    }
    let body = match ty {
        Some('f' | 'F') => format!("{a:.p$}", p = precision.unwrap_or(6)),
        Some('e' | 'E') => sci(a, precision.unwrap_or(6), ty == Some('E')),
        Some('%') => format!("{:.p$}%", a * 100.0, p = precision.unwrap_or(6)),
        Some('g' | 'G') => general(a, precision.unwrap_or(6), alt, ty == Some('G'), false),
        _ => match precision {
            // No type: repr, or 'g'-like with at least one decimal digit.
            None => python_float_repr(a),
            Some(p) => general(a, p, alt, false, true),
        },
    };
    (neg, body)
}

/// Python's `g` format (with `keep_point` for the no-type form, which keeps `.0`).
fn general(a: f64, p: usize, alt: bool, upper: bool, keep_point: bool) -> String {
    let p = p.max(1);
    if a == 0.0 {
        return if keep_point {
            "0.0".into()
        } else if alt {
            format!("{:.*}", p - 1, 0.0)
        } else {
            "0".into()
        };
    }
    // The exponent after rounding to p significant digits.
    let s = format!("{a:.prec$e}", prec = p - 1);
    let exp: i32 = s.split_once('e').expect("exponent").1.parse().expect("int");
    let out = if -4 <= exp && exp < p as i32 {
        let decimals = (p as i32 - 1 - exp).max(0) as usize;
        let f = format!("{a:.decimals$}");
        if alt {
            f
        } else {
            let f = strip_zeros(&f);
            if keep_point && !f.contains('.') {
                format!("{f}.0")
            } else {
                f
            }
        }
    } else {
        let e = sci(a, p - 1, false);
        if alt {
            e
        } else {
            strip_zeros(&e)
        }
    };
    if upper {
        out.to_uppercase()
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(v: PyValue, spec: &str) -> String {
        format_value(v, spec).unwrap()
    }

    #[test]
    fn matches_python_format() {
        use PyValue::*;
        assert_eq!(f(Int(5), "02d"), "05");
        assert_eq!(f(Int(5), "+d"), "+5");
        assert_eq!(f(Int(-5), "04d"), "-005");
        assert_eq!(f(Int(255), "#x"), "0xff");
        assert_eq!(f(Int(1234567), ","), "1,234,567");
        assert_eq!(f(Int(5), "^5"), "  5  ");
        assert_eq!(f(Float(1.98765), ".2f"), "1.99");
        assert_eq!(f(Float(0.125), ".2f"), "0.12");
        assert_eq!(f(Float(0.5), ".1%"), "50.0%");
        assert_eq!(f(Float(0.000123456), "g"), "0.000123456");
        assert_eq!(f(Float(1234567.0), "g"), "1.23457e+06");
        assert_eq!(f(Float(100.0), "g"), "100");
        assert_eq!(f(Float(0.1), ".3"), "0.1");
        assert_eq!(f(Float(3.0), ".3"), "3.0");
        assert_eq!(f(Float(12345.0), ".3"), "1.23e+04");
        assert_eq!(f(Float(0.1), "E"), "1.000000E-01");
        assert_eq!(f(Float(-1.5), "08.2f"), "-0001.50");
        assert_eq!(f(Float(2.0), ""), "2.0");
        assert!(format_value(Float(2.0), "d").is_err());
        assert!(format_value(Int(2), ".2d").is_err());
        assert!(format_value(Int(2), "q").is_err());
    }

    #[test]
    fn templates_and_errors() {
        let look = |k: &str| match k {
            "epoch" => Some(PyValue::Int(3)),
            "val_loss" => Some(PyValue::Float(0.5)),
            _ => None,
        };
        assert_eq!(format("w.{epoch:02d}-{val_loss:.2f}.keras", &look).unwrap(), "w.03-0.50.keras");
        assert_eq!(format("{{x}}{epoch}", &look).unwrap(), "{x}3");
        let e = format("{epoch}-{nope}.keras", &look).unwrap_err();
        assert!(e.message().contains("Reason: 'nope'"), "{e}");
        assert!(parse("{epoch").is_err());
        assert!(parse("epoch}").is_err());
        assert!(parse("{}.keras").is_err());
        assert!(parse("{epoch!r}.keras").is_err());
    }
}
