//! Kind `preprocessing`, the text and sequence cases: `to_categorical`, `normalize`,
//! `pad_sequences`, `tokenizer` (tf-keras `Tokenizer`) and `text_vectorization`. Ids, counts,
//! padding and vocabularies must match exactly; float outputs within the case's tolerance.

use std::collections::BTreeMap;

use keras::layers::{Layer, TextVectorization};
use keras::preprocessing::{pad_sequences, tokenizer_from_json, PadSequencesArgs, Tokenizer};
use keras::{DType, Tensor};
use serde_json::{Map, Value};

use crate::common::{compare, Case, Check, Outcome};

/// The outcome for the cases this file owns, `None` for other preprocessing cases.
pub fn run(case: &Case) -> Option<Outcome> {
    let r = match case.name.as_str() {
        "to_categorical" => to_categorical(case),
        "normalize" => normalize(case),
        "pad_sequences" => pad(case),
        "tokenizer" => tokenizer(case),
        "text_vectorization" => text_vectorization(case),
        _ => return None,
    };
    Some(match r {
        Ok(()) => Outcome::Pass,
        Err(e) => Outcome::Fail(e),
    })
}

fn calls(case: &Case) -> Result<&Map<String, Value>, String> {
    case.json["calls"].as_object().ok_or_else(|| "case has no calls".to_string())
}

/// Exact equality of values (as integers or exact floats) and shapes.
fn exact(what: &str, got: &Tensor, want: &Tensor) -> Check {
    compare(what, got, want, 0.0, 0.0)
}

fn to_categorical(case: &Case) -> Check {
    for (name, call) in calls(case)? {
        let y = case.array(call["y"].as_str().ok_or(format!("{name}: no y"))?)?;
        let n = call["num_classes"].as_u64().map(|v| v as usize);
        let got = keras::utils::to_categorical(&y, n).map_err(|e| format!("{name}: {e}"))?;
        exact(name, &got, &case.array(name)?)?;
    }
    Ok(())
}

fn normalize(case: &Case) -> Check {
    let x = case.array("input")?;
    let (rtol, atol) = case.tol("forward");
    let mut checked = 0;
    for (name, call) in calls(case)? {
        // Calls that failed in Keras (NumPy input with axis 0, oracle README note 16) have no array.
        if !case.has(name) {
            continue;
        }
        let axis = call["axis"].as_i64().ok_or(format!("{name}: no axis"))? as isize;
        let order = call["order"].as_u64().ok_or(format!("{name}: no order"))? as u32;
        let got = keras::utils::normalize(&x, axis, order).map_err(|e| format!("{name}: {e}"))?;
        compare(name, &got, &case.array(name)?, rtol, atol)?;
        checked += 1;
    }
    if checked == 0 {
        return Err("no normalize call has an expected array".into());
    }
    Ok(())
}

fn f64_lists(v: &Value) -> Result<Vec<Vec<f64>>, String> {
    v.as_array()
        .ok_or("sequences must be a list")?
        .iter()
        .map(|s| {
            s.as_array()
                .ok_or("each sequence must be a list")?
                .iter()
                .map(|x| x.as_f64().ok_or_else(|| format!("not a number: {x}")))
                .collect()
        })
        .collect()
}

fn pad(case: &Case) -> Check {
    let shared = f64_lists(&case.json["sequences"])?;
    for (name, call) in calls(case)? {
        let seqs = match call.get("sequences") {
            Some(s) => f64_lists(s)?,
            None => shared.clone(),
        };
        let mut args = PadSequencesArgs::default();
        if let Some(m) = call.get("maxlen").and_then(Value::as_u64) {
            args = args.maxlen(m as usize);
        }
        if let Some(p) = call.get("padding").and_then(Value::as_str) {
            args = args.padding(p);
        }
        if let Some(t) = call.get("truncating").and_then(Value::as_str) {
            args = args.truncating(t);
        }
        if let Some(v) = call.get("value").and_then(Value::as_f64) {
            args = args.value(v);
        }
        if let Some(d) = call.get("dtype").and_then(Value::as_str) {
            args = args.dtype(match d {
                "float32" => DType::F32,
                "int32" => DType::I32,
                "int64" => DType::I64,
                other => return Err(format!("{name}: dtype {other} is not supported")),
            });
        }
        let got = pad_sequences(&seqs, &args).map_err(|e| format!("{name}: {e}"))?;
        let want = case.array(name)?;
        if got.dtype() != want.dtype() {
            return Err(format!("{name}: dtype {:?}, Keras has {:?}", got.dtype(), want.dtype()));
        }
        exact(name, &got, &want)?;
    }
    Ok(())
}

fn strings(v: &Value, what: &str) -> Result<Vec<String>, String> {
    v.as_array()
        .ok_or(format!("{what} must be a list"))?
        .iter()
        .map(|s| s.as_str().map(String::from).ok_or(format!("{what}: not a string: {s}")))
        .collect()
}

fn id_lists(v: &Value, what: &str) -> Result<Vec<Vec<usize>>, String> {
    v.as_array()
        .ok_or(format!("{what} must be a list"))?
        .iter()
        .map(|s| {
            s.as_array()
                .ok_or(format!("{what}: not a list"))?
                .iter()
                .map(|x| x.as_u64().map(|i| i as usize).ok_or(format!("{what}: not an id: {x}")))
                .collect()
        })
        .collect()
}

fn build_tokenizer(kwargs: &Map<String, Value>) -> Result<Tokenizer, String> {
    let mut t = Tokenizer::new();
    for (k, v) in kwargs {
        t = match (k.as_str(), v) {
            ("num_words", Value::Null) | ("oov_token", Value::Null) => t,
            ("num_words", v) => t.num_words(v.as_u64().ok_or("num_words")? as usize),
            ("oov_token", v) => t.oov_token(v.as_str().ok_or("oov_token")?),
            ("filters", v) => t.filters(v.as_str().ok_or("filters")?),
            ("lower", v) => t.lower(v.as_bool().ok_or("lower")?),
            ("split", v) => t.split(v.as_str().ok_or("split")?),
            ("char_level", v) => t.char_level(v.as_bool().ok_or("char_level")?),
            (other, _) => return Err(format!("Tokenizer argument {other} is not supported")),
        };
    }
    Ok(t)
}

/// A JSON object of counts as a sorted map (orders of `word_docs` / `index_docs` follow Python
/// set iteration in tf-keras, so only the contents are compared).
fn count_map(v: &Value) -> BTreeMap<String, Value> {
    v.as_object().map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()).unwrap_or_default()
}

fn tokenizer(case: &Case) -> Check {
    let corpus = strings(&case.json["corpus"], "corpus")?;
    let queries = strings(&case.json["queries"], "queries")?;
    let configs = case.json["tokenizers"].as_object().ok_or("case has no tokenizers")?;
    for (name, c) in configs {
        let err = |e: String| format!("{name}: {e}");
        let mut t = build_tokenizer(c["kwargs"].as_object().ok_or("kwargs")?).map_err(err)?;
        t.fit_on_texts(&corpus).map_err(|e| err(e.to_string()))?;
        let word_index: BTreeMap<String, Value> =
            t.word_index().iter().map(|(k, v)| (k.clone(), Value::from(*v))).collect();
        if word_index != count_map(&c["word_index"]) {
            return Err(err(format!("word_index {word_index:?} differs from {}", c["word_index"])));
        }
        let index_word: BTreeMap<String, Value> =
            t.index_word().iter().map(|(k, v)| (k.to_string(), Value::from(v.as_str()))).collect();
        if index_word != count_map(&c["index_word"]) {
            return Err(err("index_word differs".into()));
        }
        // word_counts is an OrderedDict: order matters.
        let counts: Vec<(String, u64)> =
            t.word_counts().iter().map(|(w, c)| (w.to_string(), *c as u64)).collect();
        let want: Vec<(String, u64)> = c["word_counts"]
            .as_object()
            .ok_or("word_counts")?
            .iter()
            .map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(u64::MAX)))
            .collect();
        if counts != want {
            return Err(err(format!("word_counts {counts:?} differ from {want:?}")));
        }
        let docs: BTreeMap<String, Value> =
            t.word_docs().iter().map(|(w, c)| (w.to_string(), Value::from(*c))).collect();
        if docs != count_map(&c["word_docs"]) {
            return Err(err("word_docs differ".into()));
        }
        if Some(t.document_count() as u64) != c["document_count"].as_u64() {
            return Err(err(format!("document_count {} differs", t.document_count())));
        }
        let seq_corpus = t.texts_to_sequences(&corpus).map_err(|e| err(e.to_string()))?;
        if seq_corpus != id_lists(&c["texts_to_sequences_corpus"], "texts_to_sequences_corpus")? {
            return Err(err(format!("texts_to_sequences(corpus) = {seq_corpus:?}")));
        }
        let seq_q = t.texts_to_sequences(&queries).map_err(|e| err(e.to_string()))?;
        if seq_q != id_lists(&c["texts_to_sequences_queries"], "texts_to_sequences_queries")? {
            return Err(err(format!("texts_to_sequences(queries) = {seq_q:?}")));
        }
        let texts = t.sequences_to_texts(&seq_q).map_err(|e| err(e.to_string()))?;
        if texts != strings(&c["sequences_to_texts_queries"], "sequences_to_texts_queries")? {
            return Err(err(format!("sequences_to_texts = {texts:?}")));
        }
        check_json_config(&t, &c["to_json_config"]).map_err(err)?;
        // Reading our JSON back gives the same tokenizer.
        let back = tokenizer_from_json(&t.to_json()).map_err(|e| err(e.to_string()))?;
        if back.texts_to_sequences(&queries).map_err(|e| err(e.to_string()))? != seq_q {
            return Err(err("tokenizer_from_json(to_json()) converts differently".into()));
        }
        let (rtol, atol) = case.tol("matrix");
        if let Some(modes) = c["texts_to_matrix_queries"].as_object() {
            for (mode, file) in modes {
                let got = t.texts_to_matrix(&queries, mode).map_err(|e| err(e.to_string()))?;
                compare(
                    &format!("{name} texts_to_matrix {mode}"),
                    &got,
                    &case.file(file.as_str().unwrap_or(""))?,
                    rtol,
                    atol,
                )?;
            }
        }
    }
    Ok(())
}

/// Our `to_json()` config, with its JSON-string fields decoded, equals Keras's.
fn check_json_config(t: &Tokenizer, want: &Value) -> Result<(), String> {
    let ours: Value = serde_json::from_str(&t.to_json()).map_err(|e| format!("to_json is not JSON: {e}"))?;
    let ours = ours["config"].as_object().ok_or("to_json has no config")?;
    let want = want.as_object().ok_or("to_json_config")?;
    for (k, w) in want {
        let g = ours.get(k).ok_or(format!("to_json lacks {k}"))?;
        let same = match g {
            Value::String(s) if !w.is_string() => {
                let decoded: Value = serde_json::from_str(s).map_err(|e| format!("to_json {k}: {e}"))?;
                count_map(&decoded) == count_map(w)
            }
            _ => g == w,
        };
        if !same {
            return Err(format!("to_json {k}: {g} differs from Keras's {w}"));
        }
    }
    if ours.len() != want.len() {
        return Err(format!("to_json has {} config keys, Keras {}", ours.len(), want.len()));
    }
    Ok(())
}

fn text_vectorization(case: &Case) -> Check {
    let corpus = strings(&case.json["corpus"], "corpus")?;
    let queries = strings(&case.json["queries"], "queries")?;
    let (rtol, atol) = case.tol("float");
    for (name, r) in case.json["results"].as_object().ok_or("case has no results")? {
        let err = |e: String| format!("{name}: {e}");
        // The kwargs use the config's keys, so the layer is built through from_config.
        let mut l = TextVectorization::from_config(&r["kwargs"]).map_err(|e| err(e.to_string()))?;
        l.adapt(&corpus).map_err(|e| err(format!("adapt: {e}")))?;
        let vocab = strings(&r["vocabulary"], "vocabulary")?;
        if l.get_vocabulary(true) != vocab {
            return Err(err(format!("vocabulary {:?} differs from {vocab:?}", l.get_vocabulary(true))));
        }
        let got = l.call_texts(&queries).map_err(|e| err(e.to_string()))?;
        let want = case.file(r["output"].as_str().ok_or("output")?)?;
        if want.dtype() == DType::F32 {
            compare(name, &got, &want, rtol, atol)?;
        } else {
            let got = got.cast(DType::I32);
            exact(name, &got, &want)?;
        }
        let mut ours = l.get_config();
        let mut theirs = r["config"].clone();
        for c in [&mut ours, &mut theirs] {
            if let Some(m) = c.as_object_mut() {
                m.remove("name");
            }
        }
        if ours != theirs {
            return Err(err(format!("get_config {ours} differs from Keras's {theirs}")));
        }
    }
    Ok(())
}
