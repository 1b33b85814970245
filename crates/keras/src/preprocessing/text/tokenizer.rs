//! The legacy `keras.preprocessing.text.Tokenizer` with tf-keras semantics (the spec: tf_keras
//! 2.x `text.py`, identical to Keras 3's `keras._legacy.preprocessing.text`).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use serde_json::{json, Map, Value};

use crate::{keras_bail, Error, Result, Tensor};

/// The characters Keras's `Tokenizer` and `text_to_word_sequence` filter out by default (each is
/// replaced by the split string). Apostrophes are kept.
pub const DEFAULT_FILTERS: &str = "!\"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n";

/// Decodes byte strings as UTF-8, failing on the first invalid one with its position (the
/// byte-level entry point for texts read from files).
///
/// ```
/// let raw = [b"caf\xc3\xa9".as_slice()];
/// assert_eq!(keras::preprocessing::text::decode_utf8(&raw).unwrap(), vec!["café"]);
/// assert!(keras::preprocessing::text::decode_utf8(&[b"ok".as_slice(), b"\xff".as_slice()]).is_err());
/// ```
pub fn decode_utf8<B: AsRef<[u8]>>(texts: &[B]) -> Result<Vec<&str>> {
    texts
        .iter()
        .enumerate()
        .map(|(i, t)| {
            std::str::from_utf8(t.as_ref()).map_err(|e| {
                Error::Value(format!(
                    "text {i} is not valid UTF-8 (invalid byte at offset {}); decode it before tokenizing",
                    e.valid_up_to()
                ))
            })
        })
        .collect()
}

/// Splits a text into words as Keras's `text_to_word_sequence`: optionally lowercase, replace
/// every character of `filters` by `split`, split on `split` and drop empty pieces.
///
/// ```
/// use keras::preprocessing::text::{text_to_word_sequence, DEFAULT_FILTERS};
/// let w = text_to_word_sequence("Don't panic, it's fine!", DEFAULT_FILTERS, true, " ").unwrap();
/// assert_eq!(w, vec!["don't", "panic", "it's", "fine"]);
/// ```
pub fn text_to_word_sequence(text: &str, filters: &str, lower: bool, split: &str) -> Result<Vec<String>> {
    if split.is_empty() {
        keras_bail!(InvalidArgument, "text_to_word_sequence: `split` must not be an empty string");
    }
    Ok(words(text, filters, lower, split))
}

fn words(text: &str, filters: &str, lower: bool, split: &str) -> Vec<String> {
    let lowered;
    let text = if lower {
        lowered = text.to_lowercase();
        lowered.as_str()
    } else {
        text
    };
    let translated: String = if filters.is_empty() {
        text.to_string()
    } else {
        let mut s = String::with_capacity(text.len());
        for c in text.chars() {
            if filters.contains(c) {
                s.push_str(split);
            } else {
                s.push(c);
            }
        }
        s
    };
    translated.split(split).filter(|w| !w.is_empty()).map(str::to_string).collect()
}

/// An insertion-ordered counter (Python's `OrderedDict` / dict of counts).
#[derive(Clone, Debug, Default)]
struct Counter<K: std::hash::Hash + Eq + Clone> {
    items: Vec<(K, usize)>,
    pos: HashMap<K, usize>,
}

impl<K: std::hash::Hash + Eq + Clone> Counter<K> {
    fn add(&mut self, k: &K, by: usize) {
        match self.pos.get(k) {
            Some(&i) => self.items[i].1 += by,
            None => {
                self.pos.insert(k.clone(), self.items.len());
                self.items.push((k.clone(), by));
            }
        }
    }
    fn set(&mut self, k: &K, v: usize) {
        match self.pos.get(k) {
            Some(&i) => self.items[i].1 = v,
            None => self.add(k, v),
        }
    }
    fn get(&self, k: &K) -> Option<usize> {
        self.pos.get(k).map(|&i| self.items[i].1)
    }
}

/// A custom word splitter (Keras's `analyzer` argument).
pub type Analyzer = Arc<dyn Fn(&str) -> Vec<String> + Send + Sync>;

/// Keras's legacy text `Tokenizer` (tf-keras semantics): builds a word index from texts and
/// turns texts into sequences of word ids or into bag-of-words matrices.
///
/// Words are indexed from 1 by descending count, ties in first-seen order; index 0 is never
/// assigned. With `num_words`, only ids `< num_words` are used when converting (the index itself
/// keeps every word). With `oov_token`, that token takes id 1 and replaces unknown words.
///
/// ```
/// use keras::preprocessing::Tokenizer;
/// let mut tok = Tokenizer::new().num_words(4);
/// tok.fit_on_texts(&["the cat sat", "the dog sat down"]).unwrap();
/// assert_eq!(tok.word_index()["the"], 1);
/// // the=1, sat=2, cat=3, dog=4, down=5: "dog" (4 >= num_words) is dropped.
/// assert_eq!(tok.texts_to_sequences(&["the dog sat"]).unwrap(), vec![vec![1, 2]]);
/// let m = tok.texts_to_matrix(&["the the cat"], "count").unwrap();
/// assert_eq!(m.as_f32().unwrap(), &[0., 2., 0., 1.]);
/// let same = keras::preprocessing::tokenizer_from_json(&tok.to_json()).unwrap();
/// assert_eq!(same.word_index(), tok.word_index());
/// ```
#[derive(Clone)]
pub struct Tokenizer {
    num_words: Option<usize>,
    filters: String,
    lower: bool,
    split: String,
    char_level: bool,
    oov_token: Option<String>,
    analyzer: Option<Analyzer>,
    document_count: usize,
    word_counts: Counter<String>,
    word_docs: Counter<String>,
    index_docs: Counter<usize>,
    word_index: HashMap<String, usize>,
    index_word: BTreeMap<usize, String>,
    /// `word_index` keys in insertion order (Python dict order), for `to_json`.
    word_order: Vec<String>,
    pending_error: Option<Error>,
}

impl std::fmt::Debug for Tokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokenizer")
            .field("num_words", &self.num_words)
            .field("filters", &self.filters)
            .field("lower", &self.lower)
            .field("split", &self.split)
            .field("char_level", &self.char_level)
            .field("oov_token", &self.oov_token)
            .field("document_count", &self.document_count)
            .field("words", &self.word_index.len())
            .finish()
    }
}

impl Default for Tokenizer {
    fn default() -> Self {
        Self::new()
    }
}

impl Tokenizer {
    /// A tokenizer with Keras's defaults: all words, [`DEFAULT_FILTERS`], lowercase, split on
    /// `" "`, word level, no OOV token.
    pub fn new() -> Self {
        Tokenizer {
            num_words: None,
            filters: DEFAULT_FILTERS.to_string(),
            lower: true,
            split: " ".into(),
            char_level: false,
            oov_token: None,
            analyzer: None,
            document_count: 0,
            word_counts: Counter::default(),
            word_docs: Counter::default(),
            index_docs: Counter::default(),
            word_index: HashMap::new(),
            index_word: BTreeMap::new(),
            word_order: Vec::new(),
            pending_error: None,
        }
    }

    fn fail(&mut self, e: Error) {
        if self.pending_error.is_none() {
            self.pending_error = Some(e);
        }
    }

    fn check(&self) -> Result<()> {
        match &self.pending_error {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }

    /// Keep only the `num_words - 1` most frequent words when converting (must be >= 1).
    pub fn num_words(mut self, n: usize) -> Self {
        if n == 0 {
            self.fail(Error::InvalidArgument(
                "Tokenizer: `num_words` must be at least 1 (or unset for all words)".into(),
            ));
        }
        self.num_words = Some(n);
        self
    }
    /// Characters replaced by the split string before splitting.
    pub fn filters(mut self, f: &str) -> Self {
        self.filters = f.to_string();
        self
    }
    crate::setters::setters! {
        /// Lowercase texts first.
        lower: bool,
    }
    /// The word separator (not empty).
    pub fn split(mut self, s: &str) -> Self {
        if s.is_empty() {
            self.fail(Error::InvalidArgument("Tokenizer: `split` must not be an empty string".into()));
        }
        self.split = s.to_string();
        self
    }
    crate::setters::setters! {
        /// Treat every character (filters not applied) as a token.
        char_level: bool,
    }
    /// Token that replaces out-of-vocabulary words (takes index 1).
    pub fn oov_token(mut self, t: &str) -> Self {
        self.oov_token = Some(t.to_string());
        self
    }
    /// A custom splitter used instead of `filters`/`lower`/`split` (Keras `analyzer`).
    pub fn analyzer(mut self, f: impl Fn(&str) -> Vec<String> + Send + Sync + 'static) -> Self {
        self.analyzer = Some(Arc::new(f));
        self
    }

    /// `num_words`, if set.
    pub fn get_num_words(&self) -> Option<usize> {
        self.num_words
    }
    /// Number of texts (and sequences) fitted on.
    pub fn document_count(&self) -> usize {
        self.document_count
    }
    /// Word -> id (from 1, by descending count).
    pub fn word_index(&self) -> &HashMap<String, usize> {
        &self.word_index
    }
    /// Id -> word.
    pub fn index_word(&self) -> &BTreeMap<usize, String> {
        &self.index_word
    }
    /// Word -> number of occurrences, in first-seen order.
    pub fn word_counts(&self) -> Vec<(&str, usize)> {
        self.word_counts.items.iter().map(|(k, v)| (k.as_str(), *v)).collect()
    }
    /// Word -> number of texts containing it, in first-seen order.
    pub fn word_docs(&self) -> Vec<(&str, usize)> {
        self.word_docs.items.iter().map(|(k, v)| (k.as_str(), *v)).collect()
    }
    /// Word id -> number of documents containing it.
    pub fn index_docs(&self) -> Vec<(usize, usize)> {
        self.index_docs.items.clone()
    }

    fn tokens(&self, text: &str) -> Vec<String> {
        if self.char_level {
            let t = if self.lower { text.to_lowercase() } else { text.to_string() };
            t.chars().map(String::from).collect()
        } else if let Some(a) = &self.analyzer {
            a(text)
        } else {
            words(text, &self.filters, self.lower, &self.split)
        }
    }

    fn lowered(&self, tokens: &[String]) -> Vec<String> {
        tokens.iter().map(|t| if self.lower { t.to_lowercase() } else { t.clone() }).collect()
    }

    /// Updates the vocabulary from texts (Keras `fit_on_texts`).
    pub fn fit_on_texts<S: AsRef<str>>(&mut self, texts: &[S]) -> Result<()> {
        self.check()?;
        let docs: Vec<Vec<String>> = texts.iter().map(|t| self.tokens(t.as_ref())).collect();
        self.fit_tokens(docs);
        Ok(())
    }

    /// [`fit_on_texts`](Self::fit_on_texts) for byte strings; invalid UTF-8 is an error.
    pub fn fit_on_byte_texts<B: AsRef<[u8]>>(&mut self, texts: &[B]) -> Result<()> {
        let t = decode_utf8(texts)?;
        self.fit_on_texts(&t)
    }

    /// Updates the vocabulary from already-split texts (Keras `fit_on_texts` with lists of
    /// words): tokens are lowercased when `lower`, never filtered.
    pub fn fit_on_token_lists<S: AsRef<[String]>>(&mut self, texts: &[S]) -> Result<()> {
        self.check()?;
        let docs: Vec<Vec<String>> = texts.iter().map(|t| self.lowered(t.as_ref())).collect();
        self.fit_tokens(docs);
        Ok(())
    }

    fn fit_tokens(&mut self, docs: Vec<Vec<String>>) {
        for seq in &docs {
            self.document_count += 1;
            for w in seq {
                self.word_counts.add(w, 1);
            }
            let mut seen = HashSet::new();
            for w in seq {
                if seen.insert(w) {
                    self.word_docs.add(w, 1);
                }
            }
        }
        // Stable sort by descending count: ties keep first-seen order, as Python's sort does.
        let mut wcounts: Vec<(String, usize)> = self.word_counts.items.clone();
        wcounts.sort_by_key(|w| std::cmp::Reverse(w.1));
        let mut vocab: Vec<String> = self.oov_token.iter().cloned().collect();
        vocab.extend(wcounts.into_iter().map(|(w, _)| w));
        self.word_index.clear();
        self.index_word.clear();
        self.word_order.clear();
        for (i, w) in vocab.into_iter().enumerate() {
            // A word equal to the OOV token keeps the later index, as Python's dict() does.
            if self.word_index.insert(w.clone(), i + 1).is_none() {
                self.word_order.push(w.clone());
            }
        }
        for (w, &i) in &self.word_index {
            self.index_word.insert(i, w.clone());
        }
        for (w, c) in self.word_docs.items.clone() {
            if let Some(&i) = self.word_index.get(&w) {
                self.index_docs.set(&i, c);
            }
        }
    }

    /// Updates the document frequencies from sequences of ids (Keras `fit_on_sequences`, used
    /// by the tfidf mode before `sequences_to_matrix`).
    pub fn fit_on_sequences<S: AsRef<[usize]>>(&mut self, sequences: &[S]) -> Result<()> {
        self.check()?;
        self.document_count += sequences.len();
        for s in sequences {
            let mut seen = HashSet::new();
            for &i in s.as_ref() {
                if seen.insert(i) {
                    self.index_docs.add(&i, 1);
                }
            }
        }
        Ok(())
    }

    fn token_ids(&self, seq: &[String]) -> Vec<usize> {
        let oov = self.oov_token.as_ref().and_then(|t| self.word_index.get(t).copied());
        let mut v = Vec::with_capacity(seq.len());
        for w in seq {
            match self.word_index.get(w) {
                Some(&i) if self.num_words.is_some_and(|n| i >= n) => v.extend(oov),
                Some(&i) => v.push(i),
                None if self.oov_token.is_some() => v.extend(oov),
                None => {}
            }
        }
        v
    }

    /// Texts to lists of word ids (Keras `texts_to_sequences`). Unknown words are dropped, or
    /// become the OOV id; ids `>= num_words` likewise.
    pub fn texts_to_sequences<S: AsRef<str>>(&self, texts: &[S]) -> Result<Vec<Vec<usize>>> {
        self.check()?;
        Ok(texts.iter().map(|t| self.token_ids(&self.tokens(t.as_ref()))).collect())
    }

    /// [`texts_to_sequences`](Self::texts_to_sequences) for byte strings; invalid UTF-8 is an error.
    pub fn byte_texts_to_sequences<B: AsRef<[u8]>>(&self, texts: &[B]) -> Result<Vec<Vec<usize>>> {
        let t = decode_utf8(texts)?;
        self.texts_to_sequences(&t)
    }

    /// Already-split texts to lists of word ids.
    pub fn token_lists_to_sequences<S: AsRef<[String]>>(&self, texts: &[S]) -> Result<Vec<Vec<usize>>> {
        self.check()?;
        Ok(texts.iter().map(|t| self.token_ids(&self.lowered(t.as_ref()))).collect())
    }

    /// Id sequences back to texts joined by spaces (Keras `sequences_to_texts`).
    pub fn sequences_to_texts<S: AsRef<[usize]>>(&self, sequences: &[S]) -> Result<Vec<String>> {
        self.check()?;
        let oov = self.oov_token.as_ref().and_then(|t| self.word_index.get(t).copied());
        let oov_word = oov.and_then(|i| self.index_word.get(&i));
        Ok(sequences
            .iter()
            .map(|s| {
                let mut words: Vec<&str> = Vec::new();
                for num in s.as_ref() {
                    match self.index_word.get(num) {
                        Some(_) if self.num_words.is_some_and(|n| *num >= n) => {
                            words.extend(oov_word.map(String::as_str))
                        }
                        Some(w) => words.push(w),
                        None if self.oov_token.is_some() => words.extend(oov_word.map(String::as_str)),
                        None => {}
                    }
                }
                words.join(" ")
            })
            .collect())
    }

    /// Texts to a `[texts, num_words]` float32 matrix (Keras `texts_to_matrix`); `mode` is
    /// `"binary"`, `"count"`, `"tfidf"` or `"freq"`.
    pub fn texts_to_matrix<S: AsRef<str>>(&self, texts: &[S], mode: &str) -> Result<Tensor> {
        let seqs = self.texts_to_sequences(texts)?;
        self.sequences_to_matrix(&seqs, mode)
    }

    /// Id sequences to a `[sequences, num_words]` float32 matrix (Keras
    /// `sequences_to_matrix`). Without `num_words` the width is `len(word_index) + 1`; column 0
    /// is never set. tfidf is `(1 + ln(count)) * ln(1 + documents / (1 + docs containing it))`,
    /// freq is `count / len(sequence)` (computed in f64 as NumPy does).
    pub fn sequences_to_matrix<S: AsRef<[usize]>>(&self, sequences: &[S], mode: &str) -> Result<Tensor> {
        self.check()?;
        if !["binary", "count", "tfidf", "freq"].contains(&mode) {
            keras_bail!(
                InvalidArgument,
                "Unknown vectorization mode: {mode} (expected binary, count, tfidf or freq)"
            );
        }
        let width = match self.num_words {
            Some(n) => n,
            None if !self.word_index.is_empty() => self.word_index.len() + 1,
            None => keras_bail!(
                State,
                "Specify a dimension (`num_words` argument), or fit on some text data first."
            ),
        };
        if mode == "tfidf" && self.document_count == 0 {
            keras_bail!(State, "Fit the Tokenizer on some data before using tfidf mode.");
        }
        let mut x = vec![0.0f32; sequences.len() * width];
        for (i, seq) in sequences.iter().enumerate() {
            let seq = seq.as_ref();
            if seq.is_empty() {
                continue;
            }
            let mut counts: Counter<usize> = Counter::default();
            for &j in seq {
                if j < width {
                    counts.add(&j, 1);
                }
            }
            for &(j, c) in &counts.items {
                let v = match mode {
                    "count" => c as f64,
                    "freq" => c as f64 / seq.len() as f64,
                    "binary" => 1.0,
                    _ => {
                        let tf = 1.0 + (c as f64).ln();
                        let df = self.index_docs.get(&j).unwrap_or(0) as f64;
                        tf * (1.0 + self.document_count as f64 / (1.0 + df)).ln()
                    }
                };
                x[i * width + j] = v as f32;
            }
        }
        Ok(Tensor::new(x, [sequences.len(), width])?)
    }

    /// The Keras `get_config()` dict: the settings plus `word_counts`, `word_docs`,
    /// `index_docs`, `index_word` and `word_index` as JSON strings (as Keras stores them).
    pub fn get_config(&self) -> Value {
        let counts = |c: &Counter<String>| {
            Value::Object(c.items.iter().map(|(k, v)| (k.clone(), json!(v))).collect::<Map<_, _>>())
        };
        let index_docs: Map<String, Value> =
            self.index_docs.items.iter().map(|(k, v)| (k.to_string(), json!(v))).collect();
        let index_word: Map<String, Value> = self
            .word_order
            .iter()
            .filter_map(|w| self.word_index.get(w).map(|i| (i.to_string(), json!(self.index_word[i]))))
            .collect();
        let word_index: Map<String, Value> =
            self.word_order.iter().map(|w| (w.clone(), json!(self.word_index[w]))).collect();
        json!({
            "num_words": self.num_words,
            "filters": self.filters,
            "lower": self.lower,
            "split": self.split,
            "char_level": self.char_level,
            "oov_token": self.oov_token,
            "document_count": self.document_count,
            "word_counts": python_json(&counts(&self.word_counts)),
            "word_docs": python_json(&counts(&self.word_docs)),
            "index_docs": python_json(&Value::Object(index_docs)),
            "index_word": python_json(&Value::Object(index_word)),
            "word_index": python_json(&Value::Object(word_index)),
        })
    }

    /// The JSON Keras's `Tokenizer.to_json()` writes (`{"class_name": "Tokenizer", "config":
    /// ...}` with Python's separators and ASCII escapes), readable by Keras's
    /// `tokenizer_from_json` and by [`tokenizer_from_json`].
    pub fn to_json(&self) -> String {
        python_json(&json!({"class_name": "Tokenizer", "config": self.get_config()}))
    }
}

fn config_err(what: &str) -> Error {
    Error::Config(format!("tokenizer_from_json: {what}"))
}

fn parse_inner(config: &Map<String, Value>, key: &str) -> Result<Map<String, Value>> {
    let s = config
        .get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| config_err(&format!("`config.{key}` must be a JSON string")))?;
    match serde_json::from_str::<Value>(s) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(config_err(&format!("`config.{key}` is not a JSON object"))),
    }
}

fn as_count(v: &Value, what: &str) -> Result<usize> {
    v.as_u64()
        .map(|c| c as usize)
        .ok_or_else(|| config_err(&format!("{what} must be a non-negative integer, got {v}")))
}

fn as_index(k: &str, what: &str) -> Result<usize> {
    k.parse::<usize>().map_err(|_| config_err(&format!("{what} key '{k}' is not an integer")))
}

/// Rebuilds a [`Tokenizer`] from the JSON of Keras's `Tokenizer.to_json()` (or
/// [`Tokenizer::to_json`]), as Keras's `tokenizer_from_json`.
pub fn tokenizer_from_json(json_string: &str) -> Result<Tokenizer> {
    let v: Value =
        serde_json::from_str(json_string).map_err(|e| config_err(&format!("invalid JSON: {e}")))?;
    let config =
        v.get("config").and_then(Value::as_object).ok_or_else(|| config_err("no `config` object"))?;
    let mut t = Tokenizer::new();
    match config.get("num_words") {
        None | Some(Value::Null) => {}
        Some(n) => t = t.num_words(as_count(n, "`num_words`")?),
    }
    if let Some(f) = config.get("filters") {
        t.filters = f.as_str().ok_or_else(|| config_err("`filters` must be a string"))?.to_string();
    }
    if let Some(l) = config.get("lower") {
        t.lower = l.as_bool().ok_or_else(|| config_err("`lower` must be a boolean"))?;
    }
    if let Some(s) = config.get("split") {
        t = t.split(s.as_str().ok_or_else(|| config_err("`split` must be a string"))?);
    }
    if let Some(c) = config.get("char_level") {
        t.char_level = c.as_bool().ok_or_else(|| config_err("`char_level` must be a boolean"))?;
    }
    match config.get("oov_token") {
        None | Some(Value::Null) => {}
        Some(o) => {
            t.oov_token = Some(o.as_str().ok_or_else(|| config_err("`oov_token` must be a string"))?.into())
        }
    }
    if let Some(d) = config.get("document_count") {
        t.document_count = as_count(d, "`document_count`")?;
    }
    t.check()?;
    for (w, c) in parse_inner(config, "word_counts")? {
        t.word_counts.add(&w, as_count(&c, "a word count")?);
    }
    for (w, c) in parse_inner(config, "word_docs")? {
        t.word_docs.add(&w, as_count(&c, "a word_docs count")?);
    }
    for (i, c) in parse_inner(config, "index_docs")? {
        t.index_docs.add(&as_index(&i, "index_docs")?, as_count(&c, "an index_docs count")?);
    }
    for (i, w) in parse_inner(config, "index_word")? {
        let w = w.as_str().ok_or_else(|| config_err("index_word values must be strings"))?;
        t.index_word.insert(as_index(&i, "index_word")?, w.to_string());
    }
    for (w, i) in parse_inner(config, "word_index")? {
        t.word_order.push(w.clone());
        t.word_index.insert(w, as_count(&i, "a word index")?);
    }
    Ok(t)
}

/// Serializes like Python's `json.dumps` with default arguments: `", "` and `": "` separators,
/// non-ASCII characters as `\uXXXX` escapes, so Keras reads and writes the same bytes.
pub(crate) fn python_json(v: &Value) -> String {
    let mut s = String::new();
    write_py(v, &mut s);
    s
}

fn write_py(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => crate::callbacks::write_python_json_str(s, out),
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_py(x, out);
            }
            out.push(']');
        }
        Value::Object(m) => {
            out.push('{');
            for (i, (k, x)) in m.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                crate::callbacks::write_python_json_str(k, out);
                out.push_str(": ");
                write_py(x, out);
            }
            out.push('}');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_json_matches_json_dumps() {
        // json.dumps({"a\"b": [1, None, True], "é😀": "x\ty\u0001"})
        let v = json!({"a\"b": [1, null, true], "é😀": "x\ty\u{1}"});
        assert_eq!(python_json(&v), r#"{"a\"b": [1, null, true], "\u00e9\ud83d\ude00": "x\ty\u0001"}"#);
        // Python escapes everything outside ' '..='~', DEL included.
        assert_eq!(python_json(&json!("\u{7f}~")), "\"\\u007f~\"");
    }

    #[test]
    fn oov_num_words_and_round_trip() {
        let mut t = Tokenizer::new().num_words(3).oov_token("<OOV>");
        t.fit_on_texts(&["a a b", "c a"]).unwrap();
        assert_eq!(t.word_index()["<OOV>"], 1);
        assert_eq!(t.word_index()["a"], 2);
        // b has id 3 >= num_words: replaced by the OOV id; z is unknown.
        assert_eq!(t.texts_to_sequences(&["a b z"]).unwrap(), vec![vec![2, 1, 1]]);
        assert_eq!(t.sequences_to_texts(&[vec![2, 3, 9]]).unwrap(), vec!["a <OOV> <OOV>"]);
        let back = tokenizer_from_json(&t.to_json()).unwrap();
        assert_eq!(back.to_json(), t.to_json());
        assert_eq!(back.texts_to_sequences(&["a b z"]).unwrap(), vec![vec![2, 1, 1]]);
    }

    #[test]
    fn fit_on_sequences_and_token_lists() {
        let mut t = Tokenizer::new();
        t.fit_on_token_lists(&[vec!["Hello".to_string(), "world".to_string()]]).unwrap();
        assert_eq!(t.word_index()["hello"], 1);
        t.fit_on_sequences(&[vec![1, 1, 2]]).unwrap();
        assert_eq!(t.document_count(), 2);
        assert_eq!(t.index_docs(), vec![(1, 2), (2, 2)]);
        let custom = Tokenizer::new().analyzer(|s| s.split('|').map(String::from).collect());
        let mut custom = custom;
        custom.fit_on_texts(&["x|y|x"]).unwrap();
        assert_eq!(custom.word_index()["x"], 1);
    }

    #[test]
    fn bad_input_is_an_error() {
        assert!(matches!(Tokenizer::new().num_words(0).fit_on_texts(&["a"]), Err(Error::InvalidArgument(_))));
        assert!(Tokenizer::new().split("").fit_on_texts(&["a"]).is_err());
        assert!(text_to_word_sequence("a", "", true, "").is_err());
        let t = Tokenizer::new();
        assert!(matches!(t.texts_to_matrix(&["a"], "binary"), Err(Error::State(_))));
        let mut t = Tokenizer::new().num_words(5);
        assert!(t.sequences_to_matrix(&[vec![1usize]], "tfidf").is_err());
        t.fit_on_texts(&["a"]).unwrap();
        assert!(matches!(t.texts_to_matrix(&["a"], "onehot"), Err(Error::InvalidArgument(_))));
        assert!(t.fit_on_byte_texts(&[b"ok".as_slice(), b"\xc3\x28".as_slice()]).is_err());
        assert!(t.byte_texts_to_sequences(&[b"\xff".as_slice()]).is_err());
        assert!(tokenizer_from_json("{").is_err());
        assert!(tokenizer_from_json("{\"config\": {\"word_counts\": 3}}").is_err());
        assert!(tokenizer_from_json(r#"{"config": {"num_words": 0}}"#).is_err());
    }
}
