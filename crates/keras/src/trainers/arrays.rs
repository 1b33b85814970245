//! `Arrays`: what `fit`, `evaluate` and `predict` take as `x`, `y` and `sample_weight` (Keras
//! accepts one array, a list, or a dict keyed by input or output names), and how it is matched
//! to a model's inputs and outputs.

use std::collections::{BTreeMap, HashMap};

use crate::utils::python_repr::py_list;
use crate::{keras_bail, Result, Tensor};

/// One array, a list of arrays, or arrays by name: Keras's `x`, `y` and `sample_weight`.
///
/// Lists follow the model's input (or output) order; maps are keyed by the names of the
/// model's `Input`s (for `x`) or of the layers that make its outputs (for `y` and
/// `sample_weight`), as Keras matches dicts. Conversions exist from a tensor, a list and a map,
/// so every data argument takes any of them:
///
/// ```
/// use keras::trainers::Arrays;
/// use keras::Tensor;
///
/// let a = Tensor::zeros([4, 3]);
/// let b = Tensor::zeros([4, 2]);
/// let one = Arrays::from(&a);
/// let list = Arrays::from([&a, &b]);
/// let map = Arrays::from([("image", &a), ("meta", &b)]);
/// assert_eq!((one.len(), list.len(), map.len()), (1, 2, 2));
/// assert_eq!(map.num_samples().unwrap(), 4);
/// ```
#[derive(Clone, Debug)]
pub enum Arrays {
    /// One array (a model with one input or output, or one sample weight for every output).
    One(Tensor),
    /// One array per input or output, in order.
    List(Vec<Tensor>),
    /// Arrays by input or output name.
    Map(BTreeMap<String, Tensor>),
}

impl Arrays {
    /// Number of arrays.
    pub fn len(&self) -> usize {
        match self {
            Arrays::One(_) => 1,
            Arrays::List(v) => v.len(),
            Arrays::Map(m) => m.len(),
        }
    }

    /// True when there is no array (an empty list or map).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every array (a map in key order).
    pub fn tensors(&self) -> Vec<&Tensor> {
        match self {
            Arrays::One(t) => vec![t],
            Arrays::List(v) => v.iter().collect(),
            Arrays::Map(m) => m.values().collect(),
        }
    }

    /// The array when there is exactly one (an error for a list or map of another length).
    pub fn as_tensor(&self) -> Result<&Tensor> {
        match self {
            Arrays::One(t) => Ok(t),
            Arrays::List(v) if v.len() == 1 => Ok(&v[0]),
            Arrays::Map(m) if m.len() == 1 => Ok(m.values().next().expect("one entry")),
            other => keras_bail!(Value, "Expected a single array, received {}", other.describe()),
        }
    }

    /// The array named `name` in a map.
    pub fn get(&self, name: &str) -> Option<&Tensor> {
        match self {
            Arrays::Map(m) => m.get(name),
            _ => None,
        }
    }

    /// The same structure with `f` applied to every array.
    pub fn map(&self, mut f: impl FnMut(&Tensor) -> Result<Tensor>) -> Result<Arrays> {
        Ok(match self {
            Arrays::One(t) => Arrays::One(f(t)?),
            Arrays::List(v) => Arrays::List(v.iter().map(f).collect::<Result<_>>()?),
            Arrays::Map(m) => {
                Arrays::Map(m.iter().map(|(k, t)| Ok((k.clone(), f(t)?))).collect::<Result<_>>()?)
            }
        })
    }

    /// Rows `start..end` of every array.
    pub fn slice_rows(&self, start: usize, end: usize) -> Result<Arrays> {
        self.map(|t| Ok(t.slice_rows(start, end)?))
    }

    /// The batch dimension shared by every array (Keras's data cardinality check; `what`
    /// names the argument in errors).
    pub fn num_samples(&self) -> Result<usize> {
        check_cardinality(&[("x", Some(self))])
    }

    /// A short description for error messages: `an array of shape (4, 3)`, `a list of 2
    /// arrays`, `a dict with keys ['a', 'b']`.
    pub fn describe(&self) -> String {
        match self {
            Arrays::One(t) => format!("an array of shape {}", shape_tuple(t.shape())),
            Arrays::List(v) => format!("a list of {} arrays", v.len()),
            Arrays::Map(m) => format!("a dict with keys {}", py_list(m.keys())),
        }
    }
}

/// `(4, 3)` as Python prints a shape.
pub(crate) fn shape_tuple(shape: &[usize]) -> String {
    match shape {
        [d] => format!("({d},)"),
        _ => format!("({})", shape.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")),
    }
}

/// Keras `check_data_cardinality`: every array of `x`, `y` and `sample_weight` has the same
/// number of samples, which is returned (an error for a scalar, a mismatch, or no array).
pub(crate) fn check_cardinality(parts: &[(&str, Option<&Arrays>)]) -> Result<usize> {
    let mut sizes: Vec<(&str, Vec<usize>)> = Vec::new();
    for (label, arrays) in parts {
        let Some(arrays) = arrays else { continue };
        let mut s = Vec::new();
        for t in arrays.tensors() {
            match t.shape().first() {
                Some(&n) => s.push(n),
                None => keras_bail!(Shape, "'{label}' must have a batch dimension, received a scalar"),
            }
        }
        sizes.push((label, s));
    }
    let mut all = sizes.iter().flat_map(|(_, s)| s.iter().copied());
    let Some(n) = all.next() else { keras_bail!(Value, "Expected input data, received no arrays") };
    if all.any(|m| m != n) {
        let mut msg =
            "Data cardinality is ambiguous. Make sure all arrays contain the same number of samples."
                .to_string();
        for (label, s) in &sizes {
            let s: Vec<String> = s.iter().map(|d| d.to_string()).collect();
            msg.push_str(&format!("'{label}' sizes: {}\n", s.join(", ")));
        }
        keras_bail!(Value, "{msg}");
    }
    Ok(n)
}

/// `x` matched to the model's inputs, in input order (Keras `Functional._standardize_inputs`
/// and its errors).
pub(crate) fn inputs_in_order(x: Arrays, names: &[String], model: &str) -> Result<Vec<Tensor>> {
    let count_error = |got: usize| -> crate::Error {
        crate::Error::Value(if names.len() == 1 {
            format!("Layer \"{model}\" expects 1 input(s), but it received {got} input tensors.")
        } else {
            let keys = py_list(names);
            let example: Vec<String> = names.iter().map(|n| format!("'{n}': ...")).collect();
            format!(
                "Layer \"{model}\" expects {} named input(s) with keys {keys}, but it received {got} input tensors. Pass inputs as a dict, e.g. `layer({{{}}})`.",
                names.len(),
                example.join(", ")
            )
        })
    };
    match x {
        Arrays::One(t) if names.len() == 1 => Ok(vec![t]),
        Arrays::One(_) => Err(count_error(1)),
        Arrays::List(v) if v.len() == names.len() => Ok(v),
        Arrays::List(v) => Err(count_error(v.len())),
        Arrays::Map(mut m) => {
            let mut out = Vec::with_capacity(names.len());
            for n in names {
                match m.remove(n) {
                    Some(t) => out.push(t),
                    None => {
                        keras_bail!(
                            Value,
                            "Missing data for input \"{n}\". You passed a data dictionary with keys {}. Expected the following keys: {}",
                            py_list(given_keys(&m, names, &out)),
                            py_list(names)
                        )
                    }
                }
            }
            if !m.is_empty() {
                keras_bail!(
                    Value,
                    "Unknown input name(s) {} in the data dictionary. Expected the following keys: {}",
                    py_list(m.keys()),
                    py_list(names)
                );
            }
            Ok(out)
        }
    }
}

/// The keys the user passed, rebuilt from what is left in `rest` plus the names already taken.
fn given_keys(rest: &BTreeMap<String, Tensor>, names: &[String], taken: &[Tensor]) -> Vec<String> {
    let mut keys: Vec<String> = names[..taken.len()].to_vec();
    keys.extend(rest.keys().cloned());
    keys.sort();
    keys
}

/// `y` (or `sample_weight`) matched to the model's outputs: one entry per output, `None` for
/// an output the data leaves out. `wanted[i]` says whether output `i` needs an array (it has a
/// loss); a list may then hold one array per output or one per wanted output, and a map must
/// name every wanted output. `what` is `y` or `sample_weight`.
pub(crate) fn outputs_in_order(
    y: Arrays,
    names: &[String],
    wanted: &[bool],
    what: &str,
) -> Result<Vec<Option<Tensor>>> {
    let n_wanted = wanted.iter().filter(|w| **w).count();
    let mismatch = |got: String| -> crate::Error {
        crate::Error::Value(format!(
            "The model has {} output(s) {}, but `{what}` has {got}. Pass one array per output, in output order, or a dict keyed by output name.",
            names.len(),
            py_list(names)
        ))
    };
    match y {
        Arrays::One(t) if names.len() == 1 => Ok(vec![Some(t)]),
        Arrays::One(t) if n_wanted == 1 => Ok(wanted.iter().map(|w| w.then(|| t.clone())).collect()),
        Arrays::One(_) => Err(mismatch("1 array".into())),
        Arrays::List(v) if v.len() == names.len() => Ok(v.into_iter().map(Some).collect()),
        Arrays::List(v) if v.len() == n_wanted => {
            let mut it = v.into_iter();
            Ok(wanted.iter().map(|w| if *w { it.next() } else { None }).collect())
        }
        Arrays::List(v) => Err(mismatch(format!("{} arrays", v.len()))),
        Arrays::Map(mut m) => {
            let out: Vec<Option<Tensor>> = names.iter().map(|n| m.remove(n)).collect();
            if !m.is_empty() {
                keras_bail!(
                    Value,
                    "Unknown output name(s) {} in `{what}`. Expected keys among the model's output names: {}",
                    py_list(m.keys()),
                    py_list(names)
                );
            }
            if let Some(i) = (0..names.len()).find(|&i| wanted[i] && out[i].is_none()) {
                keras_bail!(
                    Value,
                    "Missing `{what}` for output \"{}\". Expected the following keys: {}",
                    names[i],
                    py_list(names.iter().zip(wanted).filter(|(_, w)| **w).map(|(n, _)| n))
                );
            }
            Ok(out)
        }
    }
}

/// `sample_weight` matched to the outputs: one array given to a model with several outputs
/// applies to every output and must hold one weight per sample (Keras's
/// `ArrayDataAdapter` rule and message); otherwise as [`outputs_in_order`].
pub(crate) fn sample_weights_in_order(
    sw: Arrays,
    names: &[String],
    wanted: &[bool],
) -> Result<Vec<Option<Tensor>>> {
    match sw {
        Arrays::One(t) if names.len() > 1 => {
            let s = t.shape();
            let samplewise = s.len() == 1 || (s.len() == 2 && s[1] == 1);
            if !samplewise {
                keras_bail!(
                    Value,
                    "For a model with multiple outputs, when providing a single `sample_weight` array, it should only have one scalar score per sample (i.e. shape `(num_samples,)`). If you want to use non-scalar sample weights, pass a `sample_weight` argument with one array per model output."
                );
            }
            Ok(names.iter().map(|_| Some(t.clone())).collect())
        }
        Arrays::List(v)
            if names.len() > 1
                && v.len() != names.len()
                && v.len() != wanted.iter().filter(|w| **w).count() =>
        {
            keras_bail!(
                Value,
                "You should provide one `sample_weight` array per output in `y`. The model has {} outputs {}, but `sample_weight` has {} arrays.",
                names.len(),
                py_list(names),
                v.len()
            )
        }
        other => {
            // A sample weight may be left out for any output.
            let all = vec![false; names.len()];
            outputs_in_order(other, names, &all, "sample_weight")
        }
    }
}

impl From<Tensor> for Arrays {
    fn from(t: Tensor) -> Self {
        Arrays::One(t)
    }
}

impl From<&Tensor> for Arrays {
    fn from(t: &Tensor) -> Self {
        Arrays::One(t.clone())
    }
}

impl From<Vec<Tensor>> for Arrays {
    fn from(v: Vec<Tensor>) -> Self {
        Arrays::List(v)
    }
}

impl From<&[Tensor]> for Arrays {
    fn from(v: &[Tensor]) -> Self {
        Arrays::List(v.to_vec())
    }
}

impl From<Vec<&Tensor>> for Arrays {
    fn from(v: Vec<&Tensor>) -> Self {
        Arrays::List(v.into_iter().cloned().collect())
    }
}

impl From<&[&Tensor]> for Arrays {
    fn from(v: &[&Tensor]) -> Self {
        Arrays::List(v.iter().map(|t| (*t).clone()).collect())
    }
}

impl<const N: usize> From<[Tensor; N]> for Arrays {
    fn from(v: [Tensor; N]) -> Self {
        Arrays::List(v.into())
    }
}

impl<const N: usize> From<[&Tensor; N]> for Arrays {
    fn from(v: [&Tensor; N]) -> Self {
        Arrays::List(v.into_iter().cloned().collect())
    }
}

impl<const N: usize> From<&[Tensor; N]> for Arrays {
    fn from(v: &[Tensor; N]) -> Self {
        Arrays::List(v.to_vec())
    }
}

impl From<BTreeMap<String, Tensor>> for Arrays {
    fn from(m: BTreeMap<String, Tensor>) -> Self {
        Arrays::Map(m)
    }
}

impl From<HashMap<String, Tensor>> for Arrays {
    fn from(m: HashMap<String, Tensor>) -> Self {
        Arrays::Map(m.into_iter().collect())
    }
}

impl<S: Into<String>> From<Vec<(S, Tensor)>> for Arrays {
    fn from(v: Vec<(S, Tensor)>) -> Self {
        Arrays::Map(v.into_iter().map(|(k, t)| (k.into(), t)).collect())
    }
}

impl<S: Into<String>, const N: usize> From<[(S, Tensor); N]> for Arrays {
    fn from(v: [(S, Tensor); N]) -> Self {
        Arrays::Map(v.into_iter().map(|(k, t)| (k.into(), t)).collect())
    }
}

impl<S: Into<String>, const N: usize> From<[(S, &Tensor); N]> for Arrays {
    fn from(v: [(S, &Tensor); N]) -> Self {
        Arrays::Map(v.into_iter().map(|(k, t)| (k.into(), t.clone())).collect())
    }
}

impl From<&Arrays> for Arrays {
    fn from(a: &Arrays) -> Self {
        a.clone()
    }
}
