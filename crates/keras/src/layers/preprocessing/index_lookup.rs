//! Keras's `IndexLookup`, the machinery of `StringLookup` and `IntegerLookup`: a vocabulary
//! (given, or learned by `adapt` by descending frequency), mask and OOV tokens, the lookup in
//! both directions, the encodings, and the vocabulary file Keras keeps in a `.keras` archive.

use std::collections::HashMap;
use std::hash::Hash;

use serde_json::{json, Map, Value};

use crate::layers::layer_args::{LayerArgs, LayerCfg};
use crate::layers::preprocessing::encoding::{encode, Mode, ModeSet, OutputMode};
use crate::layers::preprocessing::farmhash::hash_bucket_fast;
use crate::layers::preprocessing::siphash::{hash_bucket_strong, HashSalt};
use crate::utils::config_args::{config_args, ConfigArg};
use crate::{keras_bail, Error, Result, Tensor};

/// A vocabulary entry: a string (`StringLookup`) or an integer (`IntegerLookup`).
pub(crate) trait LookupKey: Clone + Eq + Hash + Ord + std::fmt::Debug + Send + Sync + 'static {
    /// The JSON form in a config.
    fn to_json(&self) -> Value;
    /// Reads the JSON form.
    fn from_json(v: &Value) -> Option<Self>;
    /// The line of `vocabulary.txt`.
    fn to_line(&self) -> String;
    /// Reads a line of `vocabulary.txt`.
    fn from_line(s: &str) -> Option<Self>;
    /// Keras's default `oov_token` for this key type.
    fn default_oov() -> Self;
}

impl LookupKey for String {
    fn to_json(&self) -> Value {
        json!(self)
    }
    fn from_json(v: &Value) -> Option<Self> {
        v.as_str().map(str::to_string)
    }
    fn to_line(&self) -> String {
        self.clone()
    }
    fn from_line(s: &str) -> Option<Self> {
        Some(s.to_string())
    }
    fn default_oov() -> Self {
        "[UNK]".into()
    }
}

impl LookupKey for i64 {
    fn to_json(&self) -> Value {
        json!(self)
    }
    fn from_json(v: &Value) -> Option<Self> {
        v.as_i64()
    }
    fn to_line(&self) -> String {
        self.to_string()
    }
    fn from_line(s: &str) -> Option<Self> {
        s.trim().parse().ok()
    }
    fn default_oov() -> Self {
        -1
    }
}

/// The `output_mode`s of the lookup layers (Keras `IndexLookup`'s).
pub(crate) struct LookupModes;

impl ModeSet for LookupModes {
    const ALLOWED: &'static [OutputMode] =
        &[OutputMode::Int, OutputMode::OneHot, OutputMode::MultiHot, OutputMode::Count, OutputMode::TfIdf];
    fn canonical(name: &str) -> &str {
        if name == "tf-idf" {
            "tf_idf"
        } else {
            name
        }
    }
    fn unknown(class: &str, mode: &str) -> String {
        format!(
            "Unknown value for `output_mode` argument of {class}. Allowed values are: ('int', 'one_hot', 'multi_hot', 'count', 'tf_idf'). Received: output_mode={mode}"
        )
    }
}

/// How an unknown integer picks one of several OOV indices (Keras's `oov_method`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OovMethod {
    /// The value modulo `num_oov_indices`.
    Floormod,
    /// FarmHash of the value's decimal text (strings always hash).
    Farmhash,
}

impl OovMethod {
    /// The method named `name` (Keras's message naming the layer `class` otherwise).
    pub(crate) fn parse(class: &str, name: &str) -> Result<Self> {
        match name {
            "floormod" => Ok(OovMethod::Floormod),
            "farmhash" => Ok(OovMethod::Farmhash),
            other => Err(Error::InvalidArgument(format!(
                "Unknown value for `oov_method` argument of {class}. Allowed values are: ('floormod', 'farmhash'). Received: oov_method={other}"
            ))),
        }
    }
}

impl ConfigArg<LayerArgs> for OovMethod {
    fn to_config(&self) -> Value {
        json!(match self {
            OovMethod::Floormod => "floormod",
            OovMethod::Farmhash => "farmhash",
        })
    }
    fn from_config(src: &mut LayerCfg<'_>, key: &str, default: Option<Self>) -> Result<Self> {
        match src.cfg.get(key) {
            Some(Value::String(s)) => {
                Self::parse(src.class, s).map_err(|e| Error::Config(e.message().into()))
            }
            _ => Ok(default.unwrap_or(OovMethod::Floormod)),
        }
    }
}

/// A token of the layer's key type (`oov_token`, `mask_token`) in a config.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Token<K>(pub(crate) K);

impl<K: LookupKey> Token<K> {
    /// The present, non-null value `t` of `key`.
    fn parse(src: &LayerCfg<'_>, key: &str, t: &Value) -> Result<Self> {
        K::from_json(t).map(Token).ok_or_else(|| Error::Config(format!("{}: invalid {key}={t}", src.class)))
    }
}

/// `null` is the default (`oov_token`).
impl<K: LookupKey> ConfigArg<LayerArgs> for Token<K> {
    fn to_config(&self) -> Value {
        self.0.to_json()
    }
    fn from_config(src: &mut LayerCfg<'_>, key: &str, default: Option<Self>) -> Result<Self> {
        match src.cfg.get(key) {
            None | Some(Value::Null) => Ok(default.unwrap_or_else(|| Token(K::default_oov()))),
            Some(t) => Token::parse(src, key, t),
        }
    }
}

/// `null` is `None` (`mask_token`).
impl<K: LookupKey> ConfigArg<LayerArgs> for Option<Token<K>> {
    fn to_config(&self) -> Value {
        self.as_ref().map_or(Value::Null, |t| t.0.to_json())
    }
    fn from_config(src: &mut LayerCfg<'_>, key: &str, _default: Option<Self>) -> Result<Self> {
        match src.cfg.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(t) => Token::parse(src, key, t).map(Some),
        }
    }
}

/// The vocabulary given at construction (`vocabulary=`), kept in the config.
#[derive(Clone, Debug)]
pub(crate) struct Vocabulary<K>(pub(crate) Vec<K>);

/// A list of keys, `null` for none; a file path is refused, as Keras refuses one outside the
/// model archive.
impl<K: LookupKey> ConfigArg<LayerArgs> for Option<Vocabulary<K>> {
    fn to_config(&self) -> Value {
        self.as_ref().map_or(Value::Null, |v| Value::Array(v.0.iter().map(K::to_json).collect()))
    }
    fn from_config(src: &mut LayerCfg<'_>, key: &str, _default: Option<Self>) -> Result<Self> {
        let c = src.class;
        match src.cfg.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(a)) => a
                .iter()
                .map(K::from_json)
                .collect::<Option<Vec<K>>>()
                .map(|v| Some(Vocabulary(v)))
                .ok_or_else(|| Error::Config(format!("{c}: invalid `vocabulary` entries"))),
            Some(Value::String(path)) => keras_bail!(
                Config,
                "Requested the loading of a vocabulary file outside of the model archive. This carries a potential risk of loading arbitrary and sensitive files and thus it is disallowed. Vocabulary file: '{path}'"
            ),
            Some(v) => keras_bail!(Config, "{c}: `vocabulary` must be a list, received {v}"),
        }
    }
}

config_args! {
    /// The Keras arguments of the lookup layers, keys `K`, in the order of Keras's
    /// `get_config()` (the layers add `vocabulary_dtype` or `encoding` in their places).
    pub(crate) struct IndexLookupArgs<K: LookupKey>, family LayerArgs {
        /// Map indices back to keys.
        pub(crate) invert: bool = false,
        /// The largest vocabulary (mask and OOV slots included).
        pub(crate) max_tokens: Option<usize> = None,
        /// How many OOV indices (0 makes unknown keys an error).
        pub(crate) num_oov_indices: usize = 1,
        /// What `invert` gives for unknown indices (`"[UNK]"`, or -1 for integers).
        pub(crate) oov_token: Token<K> = Token(K::default_oov()),
        /// The key that means padding (index 0 in `int` mode).
        pub(crate) mask_token: Option<Token<K>> = None,
        pub(crate) output_mode: Mode<LookupModes> = Mode::new(OutputMode::Int),
        /// Always false (keras-rs has no sparse tensors; checked by `from_config`).
        pub(crate) sparse: bool = false,
        /// Encodings as wide as `max_tokens`.
        pub(crate) pad_to_max_tokens: bool = false,
        /// The inverse document frequencies given with `vocabulary` (`tf_idf`).
        pub(crate) idf_weights: Option<Vec<f64>> = None,
        /// The vocabulary given at construction (none when adapted).
        pub(crate) vocabulary: Option<Vocabulary<K>> = None,
        /// The vocabulary size Keras froze (adapt state, written by `get_config()`).
        pub(crate) vocabulary_size: Option<usize> = None,
        pub(crate) oov_method: OovMethod = OovMethod::Floormod,
        /// Keras's `salt`: OOV buckets by SipHash keyed with it (an int `s` is `[s, s]`).
        pub(crate) salt: Option<HashSalt> = None,
    }
}

/// The state of a lookup layer (Keras `IndexLookup`).
pub(crate) struct IndexLookup<K: LookupKey> {
    class: &'static str,
    /// The Keras arguments.
    pub(crate) args: IndexLookupArgs<K>,
    /// The learned or given tokens, without mask and OOV entries.
    tokens: Vec<K>,
    table: HashMap<K, usize>,
    /// Inverse document frequencies, one per output index (`tf_idf`).
    idf: Option<Vec<f32>>,
    counts: HashMap<K, i64>,
    document_counts: HashMap<K, i64>,
    num_documents: i64,
}

impl<K: LookupKey> IndexLookup<K> {
    /// Keras's argument checks; `class` names the layer in messages.
    pub(crate) fn new(class: &'static str) -> Self {
        IndexLookup {
            class,
            args: IndexLookupArgs::defaults(),
            tokens: Vec::new(),
            table: HashMap::new(),
            idf: None,
            counts: HashMap::new(),
            document_counts: HashMap::new(),
            num_documents: 0,
        }
    }

    /// The mask token, if any.
    fn mask(&self) -> Option<&K> {
        self.args.mask_token.as_ref().map(|t| &t.0)
    }

    /// The OOV token.
    fn oov(&self) -> &K {
        &self.args.oov_token.0
    }

    /// Parses `output_mode` (`binary` = `multi_hot`, `tf-idf` = `tf_idf`).
    pub(crate) fn parse_mode(&self, mode: &str) -> Result<Mode<LookupModes>> {
        Mode::parse(self.class, mode)
    }

    /// The `output_mode`.
    pub(crate) fn output_mode(&self) -> OutputMode {
        self.args.output_mode.get()
    }

    /// Whether several OOV indices are chosen by FarmHash (`oov_method="farmhash"`).
    pub(crate) fn farmhash(&self) -> bool {
        self.args.oov_method == OovMethod::Farmhash
    }

    /// The OOV bucket of `key` among `n`: TensorFlow's `to_hash_bucket_fast` (FarmHash), or
    /// with a salt `to_hash_bucket_strong` (SipHash keyed by it).
    pub(crate) fn hash_bucket(&self, key: &[u8], n: usize) -> usize {
        match self.args.salt {
            Some(HashSalt(salt)) => hash_bucket_strong(key, n as u64, salt) as usize,
            None => hash_bucket_fast(key, n as u64) as usize,
        }
    }

    /// Keras's check that integer keys are salted only with `oov_method="farmhash"`.
    pub(crate) fn check_salt(&self, integer_keys: bool) -> Result<()> {
        if self.args.salt.is_some() && integer_keys && !self.farmhash() {
            keras_bail!(
                InvalidArgument,
                "`salt` can only be used when `oov_method='farmhash'`. Received: oov_method=floormod"
            );
        }
        Ok(())
    }

    /// The checks Keras's `__init__` makes, once every argument is set.
    pub(crate) fn check(&self) -> Result<()> {
        if let Some(m) = self.args.max_tokens {
            if m <= 1 {
                keras_bail!(
                    InvalidArgument,
                    "If set, `max_tokens` must be greater than 1. Received: max_tokens={m}"
                );
            }
        }
        if self.args.pad_to_max_tokens && self.args.max_tokens.is_none() {
            keras_bail!(
                InvalidArgument,
                "If pad_to_max_tokens is True, must set `max_tokens`. Received: max_tokens=None"
            );
        }
        if self.args.invert && self.output_mode() != OutputMode::Int {
            keras_bail!(
                InvalidArgument,
                "`output_mode` must be `'int'` when `invert` is true. Received: output_mode={}",
                self.output_mode().name()
            );
        }
        if self.args.idf_weights.is_some() && self.output_mode() != OutputMode::TfIdf {
            keras_bail!(
                InvalidArgument,
                "`idf_weights` should only be set if `output_mode` is `'tf_idf'`. Received: idf_weights={:?} and output_mode={}",
                self.args.idf_weights,
                self.output_mode().name()
            );
        }
        if self.output_mode() == OutputMode::TfIdf
            && self.args.vocabulary.is_some()
            && self.args.idf_weights.is_none()
        {
            keras_bail!(
                InvalidArgument,
                "When specifying the `vocabulary` argument, in TF-IDF output mode, the `idf_weights` argument must also be provided."
            );
        }
        Ok(())
    }

    /// Index of the first OOV slot (after the mask in `int` mode).
    fn oov_start(&self) -> usize {
        usize::from(self.args.mask_token.is_some() && self.output_mode() == OutputMode::Int)
    }

    /// Index of the first learned token.
    fn token_start(&self) -> usize {
        self.oov_start() + self.args.num_oov_indices
    }

    /// Mask slots, OOV slots and tokens.
    pub(crate) fn vocabulary_size(&self) -> usize {
        self.tokens.len() + self.token_start()
    }

    /// The width of the encodings: `max_tokens` when padded, else the vocabulary size Keras
    /// froze (from the config, before a saved vocabulary is read back).
    pub(crate) fn output_depth(&self) -> usize {
        match (self.args.pad_to_max_tokens, self.args.max_tokens) {
            (true, Some(m)) => m,
            _ => self.args.vocabulary_size.unwrap_or_else(|| self.vocabulary_size()),
        }
    }

    /// Keras `get_vocabulary`.
    pub(crate) fn get_vocabulary(&self, include_special_tokens: bool) -> Vec<K> {
        let mut v = vec![self.oov().clone(); self.token_start()];
        if let (Some(m), 1) = (self.mask(), self.oov_start()) {
            v[0] = m.clone();
        }
        v.extend(self.tokens.iter().cloned());
        if include_special_tokens {
            v
        } else {
            v.split_off(self.token_start())
        }
    }

    /// Keras `set_vocabulary` (the special tokens may lead the list, in Keras's order).
    pub(crate) fn set_vocabulary(&mut self, vocabulary: &[K], idf_weights: Option<&[f64]>) -> Result<()> {
        if self.output_mode() == OutputMode::TfIdf && idf_weights.is_none() {
            keras_bail!(InvalidArgument, "`idf_weights` must be set if output_mode is 'tf_idf'.");
        }
        if self.output_mode() != OutputMode::TfIdf && idf_weights.is_some() {
            keras_bail!(
                InvalidArgument,
                "`idf_weights` should only be set if output_mode is `'tf_idf'`. Received: output_mode={} and idf_weights={idf_weights:?}",
                self.output_mode().name()
            );
        }
        if vocabulary.is_empty() {
            keras_bail!(InvalidArgument, "Cannot set an empty vocabulary. Received: vocabulary=[]");
        }
        let (oov_start, token_start) = (self.oov_start(), self.token_start());
        // The special tokens Keras expects in front: `oov_start` mask tokens, then the OOV
        // token `num_oov_indices` times. Compared in place: a hostile config's huge
        // `num_oov_indices` must not allocate (the length check comes first).
        let special = |i: usize| if i < oov_start { self.mask() } else { Some(self.oov()) };
        let found_special = vocabulary.len() >= token_start
            && vocabulary[..token_start].iter().enumerate().all(|(i, v)| special(i) == Some(v));
        let tokens = if found_special { &vocabulary[token_start..] } else { vocabulary };
        // The special tokens for the error messages (at most 32 of them).
        let special_text = || {
            let shown: Vec<String> =
                (0..token_start.min(32)).filter_map(special).map(|k| format!("{k:?}")).collect();
            format!("[{}{}]", shown.join(", "), if token_start > 32 { ", ..." } else { "" })
        };
        let mut seen = HashMap::new();
        let mut repeated = Vec::new();
        for t in tokens {
            let c = seen.entry(t).or_insert(0);
            *c += 1;
            if *c == 2 {
                repeated.push(t.clone());
            }
        }
        if !repeated.is_empty() {
            keras_bail!(
                InvalidArgument,
                "The passed vocabulary has at least one repeated term. Please uniquify your dataset. The repeated terms are: {repeated:?}"
            );
        }
        if let Some(m) = self.mask() {
            if let Some(i) = vocabulary.iter().rposition(|t| t == m).filter(|_| tokens.contains(m)) {
                keras_bail!(
                    InvalidArgument,
                    "Found reserved mask token at unexpected location in `vocabulary`. Note that passed `vocabulary` does not need to include the OOV and mask tokens. Either remove all mask and OOV tokens, or include them only at the start of the vocabulary in precisely this order: {}. Received: mask_token={m:?} at vocabulary index [{i}]",
                    special_text()
                );
            }
        }
        if self.args.invert && tokens.contains(self.oov()) {
            let i = vocabulary.iter().rposition(|t| t == self.oov()).unwrap_or(0);
            keras_bail!(
                InvalidArgument,
                "Found reserved OOV token at unexpected location in `vocabulary`. Note that passed `vocabulary` does not need to include the OOV and mask tokens. Either remove all mask and OOV tokens, or include them only at the start of the vocabulary in precisely this order: {}. Received: oov_token={:?} at vocabulary index [{i}]",
                special_text(),
                self.oov()
            );
        }
        let size = token_start + tokens.len();
        if let Some(m) = self.args.max_tokens.filter(|&m| size > m) {
            keras_bail!(
                InvalidArgument,
                "Attempted to set a vocabulary larger than the maximum vocab size. Received vocabulary size is {size}; `max_tokens` is {m}."
            );
        }
        if let Some(w) = idf_weights {
            if w.len() != vocabulary.len() {
                keras_bail!(
                    InvalidArgument,
                    "`idf_weights` must be the same length as vocabulary. len(idf_weights) is {}; len(vocabulary) is {}",
                    w.len(),
                    vocabulary.len()
                );
            }
            let (front, front_value) =
                if found_special { (0, 0.0) } else { (token_start, w.iter().sum::<f64>() / w.len() as f64) };
            let back = match (self.args.pad_to_max_tokens, self.args.max_tokens) {
                (true, Some(m)) => m.saturating_sub(front + w.len()),
                _ => 0,
            };
            let mut full = vec![front_value as f32; front];
            full.extend(w.iter().map(|&x| x as f32));
            full.extend(std::iter::repeat_n(0.0, back));
            self.idf = Some(full);
        }
        self.set_tokens(tokens.to_vec());
        Ok(())
    }

    fn set_tokens(&mut self, tokens: Vec<K>) {
        self.table = tokens.iter().enumerate().map(|(i, t)| (t.clone(), i + self.token_start())).collect();
        self.tokens = tokens;
        self.args.vocabulary_size = Some(self.vocabulary_size());
    }

    /// The vocabulary given at construction (`vocabulary=` / `idf_weights=`).
    pub(crate) fn set_input_vocabulary(
        &mut self,
        vocabulary: Vec<K>,
        idf_weights: Option<Vec<f64>>,
    ) -> Result<()> {
        self.args.vocabulary = Some(Vocabulary(vocabulary.clone()));
        self.args.idf_weights = idf_weights.clone();
        self.check()?;
        self.set_vocabulary(&vocabulary, idf_weights.as_deref())
    }

    /// Keras `adapt` on one batch of rows.
    pub(crate) fn adapt(&mut self, rows: &[Vec<K>]) -> Result<()> {
        self.check()?;
        if self.args.vocabulary.is_some() {
            keras_bail!(
                InvalidArgument,
                "Cannot adapt layer after setting a static vocabulary via `vocabulary` argument or `set_vocabulary()` method."
            );
        }
        self.counts.clear();
        self.document_counts.clear();
        self.num_documents = 0;
        for row in rows {
            for t in row {
                *self.counts.entry(t.clone()).or_insert(0) += 1;
            }
            if self.output_mode() == OutputMode::TfIdf {
                let mut unique: Vec<&K> = row.iter().collect();
                unique.sort();
                unique.dedup();
                for t in unique {
                    *self.document_counts.entry(t.clone()).or_insert(0) += 1;
                }
            }
            self.num_documents += 1;
        }
        if self.counts.is_empty() {
            self.args.vocabulary_size = Some(self.vocabulary_size());
            return Ok(());
        }
        if let Some(Token(m)) = &self.args.mask_token {
            self.counts.remove(m);
        }
        self.counts.remove(&self.args.oov_token.0);
        // np.lexsort((tokens, counts))[::-1]: by count, then token, both descending.
        let mut ranked: Vec<(i64, K)> = self.counts.drain().map(|(k, c)| (c, k)).collect();
        ranked.sort_by(|a, b| b.cmp(a));
        if let Some(m) = self.args.max_tokens {
            ranked.truncate(m.saturating_sub(self.token_start()));
        }
        let tokens: Vec<K> = ranked.into_iter().map(|(_, k)| k).collect();
        if self.output_mode() == OutputMode::TfIdf {
            let n = self.num_documents as f64;
            let w: Vec<f32> = tokens
                .iter()
                .map(|t| (1.0 + n / (1.0 + *self.document_counts.get(t).unwrap_or(&0) as f64)).ln() as f32)
                .collect();
            let mean = if w.is_empty() { 0.0 } else { w.iter().sum::<f32>() / w.len() as f32 };
            let mut full = vec![mean; self.token_start()];
            full.extend(w);
            if let (true, Some(m)) = (self.args.pad_to_max_tokens, self.args.max_tokens) {
                full.resize(m.max(full.len()), 0.0);
            }
            self.idf = Some(full);
        }
        self.document_counts.clear();
        self.set_tokens(tokens);
        Ok(())
    }

    /// Maps keys to indices (Keras `_lookup_dense`); `floormod` gives the OOV bucket when
    /// there are several OOV indices.
    pub(crate) fn lookup(
        &self,
        keys: &[K],
        floormod: impl Fn(&K, usize) -> Option<usize>,
    ) -> Result<Vec<i64>> {
        let mut out = Vec::with_capacity(keys.len());
        let mut missing = Vec::new();
        for k in keys {
            if self.mask() == Some(k) {
                out.push(if self.output_mode() == OutputMode::Int { 0 } else { i64::MAX });
                continue;
            }
            match self.table.get(k) {
                Some(&i) => out.push(i as i64),
                None => match self.args.num_oov_indices {
                    0 => {
                        missing.push(k.clone());
                        out.push(-1);
                    }
                    1 => out.push(self.oov_start() as i64),
                    n => match floormod(k, n) {
                        Some(b) => out.push((b + self.oov_start()) as i64),
                        None => keras_bail!(InvalidArgument, "{}: no OOV bucket for {k:?}", self.class),
                    },
                },
            }
        }
        if !missing.is_empty() {
            keras_bail!(
                InvalidArgument,
                "When `num_oov_indices=0` all inputs should be in vocabulary, found OOV values {missing:?}, consider setting `num_oov_indices=1`."
            );
        }
        Ok(out)
    }

    /// Maps indices back to keys (`invert=True`): unknown indices give the OOV token.
    pub(crate) fn invert_lookup(&self, ids: &[i64]) -> Vec<K> {
        ids.iter()
            .map(|&i| {
                if let (0, Some(m)) = (i, self.mask()) {
                    return m.clone();
                }
                let t = i - self.token_start() as i64;
                if t >= 0 && (t as usize) < self.tokens.len() {
                    self.tokens[t as usize].clone()
                } else {
                    self.oov().clone()
                }
            })
            .collect()
    }

    /// The output of a call for looked-up indices of `shape`: int64 ids, int64 encodings,
    /// or float32 tf-idf.
    pub(crate) fn output(&self, ids: Vec<i64>, shape: &[usize], layer: &str) -> Result<Tensor> {
        if self.output_mode() == OutputMode::Int {
            return Ok(Tensor::from_i64(ids, shape.to_vec())?);
        }
        let depth = match (self.args.pad_to_max_tokens, self.args.max_tokens, self.args.vocabulary_size) {
            (true, Some(m), _) => m,
            (_, _, Some(v)) => v,
            _ => keras_bail!(
                State,
                "When using `output_mode={}` and `pad_to_max_tokens=False`, you must set the layer's vocabulary before calling it. Either pass a `vocabulary` argument to the layer, or call `adapt` with some sample data.",
                self.output_mode().name()
            ),
        };
        let shape = if shape.is_empty() { vec![1] } else { shape.to_vec() };
        if self.output_mode() == OutputMode::TfIdf {
            let idf = self.idf.as_deref().ok_or_else(|| {
                Error::State("When `output_mode` is `'tf_idf'`, `idf_weights` must be provided.".into())
            })?;
            return encode(&ids, &shape, OutputMode::TfIdf, depth, None, Some(idf), layer);
        }
        let y = encode(&ids, &shape, self.output_mode(), depth, None, None, layer)?;
        Ok(y.cast(keras_engine::DType::I64))
    }

    /// The shared keys of Keras's config, in its order (`vocabulary_dtype` is the caller's,
    /// before `idf_weights`).
    pub(crate) fn write_config(&self, m: &mut Map<String, Value>) {
        self.args.write_args(m);
    }

    /// Reads the Keras arguments from a config (the caller checks its own keys).
    pub(crate) fn apply_config(&mut self, cfg: &Value) -> Result<()> {
        let c = self.class;
        // Keras's message for a negative `num_oov_indices`.
        if let Some(n) = cfg.get("num_oov_indices").filter(|n| n.as_i64().is_none_or(|n| n < 0)) {
            keras_bail!(
                Config,
                "`num_oov_indices` must be greater than or equal to 0. Received: num_oov_indices={n}"
            );
        }
        let mut args = IndexLookupArgs::read_args(&mut LayerCfg::new(cfg, c))?;
        if args.sparse {
            keras_bail!(Config, "{c}: `sparse=True` is not supported by keras-rs");
        }
        // Set by `vocabulary` when there is one.
        let (idf, vocabulary_size) = (args.idf_weights.take(), args.vocabulary_size.take());
        let vocabulary = args.vocabulary.take();
        self.args = args;
        match vocabulary {
            Some(Vocabulary(v)) => self.set_input_vocabulary(v, idf)?,
            None => {
                self.args.idf_weights = idf;
                self.check()?;
            }
        }
        if self.args.vocabulary_size.is_none() {
            self.args.vocabulary_size = vocabulary_size;
        }
        Ok(())
    }

    /// `vocabulary.txt` as Keras's `save_assets` writes it (none when the vocabulary is in the
    /// config).
    pub(crate) fn save_assets(&self) -> Vec<(String, Vec<u8>)> {
        if self.args.vocabulary.is_some() {
            return Vec::new();
        }
        let lines: Vec<String> = self.get_vocabulary(true).iter().map(K::to_line).collect();
        vec![("vocabulary.txt".to_string(), lines.join("\n").into_bytes())]
    }

    /// Reads `vocabulary.txt` back (Keras `load_assets`).
    pub(crate) fn load_assets(&mut self, file: &dyn Fn(&str) -> Option<Vec<u8>>) -> Result<()> {
        if self.args.vocabulary.is_some() {
            return Ok(());
        }
        let Some(bytes) = file("vocabulary.txt") else { return Ok(()) };
        let text = String::from_utf8(bytes)
            .map_err(|_| Error::Config("vocabulary.txt is not valid UTF-8".into()))?;
        let mut lines: Vec<&str> = text.lines().collect();
        while lines.last() == Some(&"") {
            lines.pop();
        }
        if lines.is_empty() {
            return Ok(());
        }
        let values = lines
            .iter()
            .map(|l| {
                K::from_line(l).ok_or_else(|| Error::Config(format!("vocabulary.txt: invalid entry {l:?}")))
            })
            .collect::<Result<Vec<K>>>()?;
        let idf: Option<Vec<f64>> = self.idf.as_ref().map(|w| w.iter().map(|&x| x as f64).collect());
        self.set_vocabulary(&values, idf.as_deref())
    }
}

/// The builders and accessors that `IntegerLookup` and `StringLookup` share (a `base:
/// LayerBase` and a `lookup: IndexLookup<_>` field), written once with their rustdoc (the
/// layer's own words for `num_oov_indices` and `invert`); each builder re-checks the
/// arguments as Keras's constructor does.
macro_rules! lookup_builders {
    (num_oov_indices: $(#[$oov_doc:meta])* ; invert: $(#[$invert_doc:meta])*) => {
        fn recheck(mut self) -> Self {
            if let Err(e) = self.lookup.check() {
                self.base.fail(e);
            }
            self
        }

        $(#[$oov_doc])*
        pub fn num_oov_indices(mut self, n: usize) -> Self {
            self.lookup.args.num_oov_indices = n;
            self.recheck()
        }

        $(#[$invert_doc])*
        pub fn invert(mut self, yes: bool) -> Self {
            self.lookup.args.invert = yes;
            self.recheck()
        }

        /// The largest vocabulary (mask and OOV slots included).
        pub fn max_tokens(mut self, n: usize) -> Self {
            self.lookup.args.max_tokens = Some(n);
            self.recheck()
        }

        /// `"int"`, `"one_hot"`, `"multi_hot"`, `"count"` or `"tf_idf"`.
        pub fn output_mode(mut self, mode: &str) -> Self {
            match self.lookup.parse_mode(mode) {
                Ok(m) => self.lookup.args.output_mode = m,
                Err(e) => self.base.fail(e),
            }
            self.recheck()
        }

        /// Encodings as wide as `max_tokens`.
        pub fn pad_to_max_tokens(mut self, yes: bool) -> Self {
            self.lookup.args.pad_to_max_tokens = yes;
            self.recheck()
        }

        /// Keras's `salt=s`: the OOV buckets by SipHash keyed with `[s, s]` instead of
        /// FarmHash (IntegerLookup: only with `oov_method("farmhash")`, as Keras requires).
        pub fn salt(self, salt: i64) -> Self {
            self.salt_pair([salt, salt])
        }

        /// Keras's `salt=(k0, k1)`: the OOV buckets by SipHash keyed with the two integers.
        pub fn salt_pair(mut self, salt: [i64; 2]) -> Self {
            self.lookup.args.salt = Some($crate::layers::preprocessing::siphash::HashSalt(salt));
            self
        }

        /// Mask, OOV and learned entries.
        pub fn vocabulary_size(&self) -> usize {
            self.lookup.vocabulary_size()
        }
    };
}
pub(crate) use lookup_builders;

/// The [`Layer`](crate::layers::Layer) methods that `IntegerLookup` and `StringLookup`
/// share: the output shape of their encoding, and the vocabulary saved as an asset.
macro_rules! lookup_layer_methods {
    () => {
        fn compute_output_shape(&self, s: &[Option<usize>]) -> Result<Shape> {
            let depth = Some(self.lookup.output_depth());
            Ok($crate::layers::preprocessing::encoding::encoded_shape(
                s,
                self.lookup.output_mode(),
                depth,
                Some(1),
                |d| d == Some(1),
            ))
        }

        fn save_assets(&self) -> Vec<(String, Vec<u8>)> {
            self.lookup.save_assets()
        }

        fn load_assets(&mut self, file: &dyn Fn(&str) -> Option<Vec<u8>>) -> Result<()> {
            self.lookup.load_assets(file)
        }
    };
}
pub(crate) use lookup_layer_methods;
