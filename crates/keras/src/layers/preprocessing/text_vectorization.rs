//! `TextVectorization`: strings to token ids or bag-of-words vectors, with a vocabulary learned
//! by `adapt` (Keras `keras.layers.TextVectorization`, backed by its `StringLookup`).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use serde_json::{json, Value};

use crate::layers::layer::{CallContext, Layer, LayerBase, Shape};
use crate::layers::layer_args::{LayerArgs, LayerCfg};
use crate::preprocessing::text::decode_utf8;
use crate::utils::config_args::{config_args, ConfigArg};
use crate::{keras_bail, Error, Result, Tensor};

/// The OOV token of Keras's `StringLookup`.
const OOV_TOKEN: &str = "[UNK]";
/// The mask (padding) token, index 0 in `int` mode.
const MASK_TOKEN: &str = "";

/// A user standardization function (Keras's callable `standardize`).
pub type StandardizeFn = Arc<dyn Fn(&str) -> String + Send + Sync>;
/// A user split function (Keras's callable `split`).
pub type SplitFn = Arc<dyn Fn(&str) -> Vec<String> + Send + Sync>;

#[derive(Clone)]
enum Standardize {
    None,
    Lower,
    StripPunctuation,
    LowerAndStripPunctuation,
    Custom(StandardizeFn),
}

#[derive(Clone)]
enum Split {
    None,
    Whitespace,
    Character,
    Custom(SplitFn),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Int,
    OneHot,
    MultiHot,
    Count,
    TfIdf,
}

impl Mode {
    fn parse(s: &str) -> Result<Mode> {
        Ok(match s {
            "int" => Mode::Int,
            "one_hot" => Mode::OneHot,
            "multi_hot" | "binary" => Mode::MultiHot,
            "count" => Mode::Count,
            "tf_idf" | "tf-idf" => Mode::TfIdf,
            other => keras_bail!(
                InvalidArgument,
                "TextVectorization: `output_mode` must be one of 'int', 'one_hot', 'multi_hot', 'count', \
                 'tf_idf'. Received: output_mode={other}"
            ),
        })
    }
    fn name(self) -> &'static str {
        match self {
            Mode::Int => "int",
            Mode::OneHot => "one_hot",
            Mode::MultiHot => "multi_hot",
            Mode::Count => "count",
            Mode::TfIdf => "tf_idf",
        }
    }
}

impl Standardize {
    fn parse(s: &str) -> Result<Standardize> {
        Ok(match s {
            "lower_and_strip_punctuation" => Standardize::LowerAndStripPunctuation,
            "lower" => Standardize::Lower,
            "strip_punctuation" => Standardize::StripPunctuation,
            "none" | "None" => Standardize::None,
            other => keras_bail!(
                InvalidArgument,
                "TextVectorization: `standardize` must be one of 'lower_and_strip_punctuation', \
                 'lower', 'strip_punctuation' or none. Received: standardize={other}"
            ),
        })
    }
}

/// `null` is none, a name is read by `parse`; a custom function is written `"custom"` and
/// cannot be read back.
impl ConfigArg<LayerArgs> for Standardize {
    fn to_config(&self) -> Value {
        match self {
            Standardize::None => Value::Null,
            Standardize::Lower => json!("lower"),
            Standardize::StripPunctuation => json!("strip_punctuation"),
            Standardize::LowerAndStripPunctuation => json!("lower_and_strip_punctuation"),
            Standardize::Custom(_) => json!("custom"),
        }
    }
    fn from_config(src: &mut LayerCfg<'_>, key: &str, default: Option<Self>) -> Result<Self> {
        match src.cfg.get(key) {
            None => Ok(default.unwrap_or(Standardize::None)),
            Some(Value::Null) => Ok(Standardize::None),
            Some(Value::String(s)) => Standardize::parse(s).map_err(|e| Error::Config(e.message().into())),
            Some(other) => keras_bail!(
                Config,
                "TextVectorization: a custom `standardize` function cannot be loaded (got {other})"
            ),
        }
    }
}

impl Split {
    fn parse(s: &str) -> Result<Split> {
        Ok(match s {
            "whitespace" => Split::Whitespace,
            "character" => Split::Character,
            "none" | "None" => Split::None,
            other => keras_bail!(
                InvalidArgument,
                "TextVectorization: `split` must be one of 'whitespace', 'character' or none. \
                 Received: split={other}"
            ),
        })
    }
}

/// As [`Standardize`]'s.
impl ConfigArg<LayerArgs> for Split {
    fn to_config(&self) -> Value {
        match self {
            Split::None => Value::Null,
            Split::Whitespace => json!("whitespace"),
            Split::Character => json!("character"),
            Split::Custom(_) => json!("custom"),
        }
    }
    fn from_config(src: &mut LayerCfg<'_>, key: &str, default: Option<Self>) -> Result<Self> {
        match src.cfg.get(key) {
            None => Ok(default.unwrap_or(Split::None)),
            Some(Value::Null) => Ok(Split::None),
            Some(Value::String(s)) => Split::parse(s).map_err(|e| Error::Config(e.message().into())),
            Some(other) => {
                keras_bail!(
                    Config,
                    "TextVectorization: a custom `split` function cannot be loaded (got {other})"
                )
            }
        }
    }
}

/// Written by its Keras name; a config's value that is not a string is the default.
impl ConfigArg<LayerArgs> for Mode {
    fn to_config(&self) -> Value {
        json!(self.name())
    }
    fn from_config(src: &mut LayerCfg<'_>, key: &str, default: Option<Self>) -> Result<Self> {
        match src.cfg.get(key).and_then(Value::as_str) {
            Some(m) => Mode::parse(m).map_err(|e| Error::Config(e.message().into())),
            None => Ok(default.unwrap_or(Mode::Int)),
        }
    }
}

/// An integer (`1..=n`) or a list of sizes; `null` is none.
impl ConfigArg<LayerArgs> for Option<Ngrams> {
    fn to_config(&self) -> Value {
        match self {
            None => Value::Null,
            Some(Ngrams::UpTo(n)) => json!(n),
            Some(Ngrams::Sizes(v)) => json!(v),
        }
    }
    fn from_config(src: &mut LayerCfg<'_>, key: &str, _default: Option<Self>) -> Result<Self> {
        Ok(match src.cfg.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => Some(Ngrams::UpTo(n.as_u64().unwrap_or(0) as usize)),
            Some(Value::Array(a)) => {
                let sizes: Option<Vec<usize>> = a.iter().map(|v| v.as_u64().map(|n| n as usize)).collect();
                match sizes {
                    Some(s) => Some(Ngrams::Sizes(s)),
                    None => keras_bail!(Config, "TextVectorization `ngrams` must be integers, got {a:?}"),
                }
            }
            Some(other) => keras_bail!(
                Config,
                "`ngrams` must be None, an integer, or a tuple of integers. Received: ngrams={other}"
            ),
        })
    }
}

config_args! {
    /// TextVectorization's Keras arguments, in the order of its `get_config()` (then the
    /// vocabulary size).
    #[derive(Clone)]
    pub(crate) struct TextVectorizationArgs in TextVectorization.args, family LayerArgs {
        max_tokens: Option<usize> = None,
        standardize: Standardize = Standardize::LowerAndStripPunctuation,
        split: Split = Split::Whitespace,
        /// N-gram sizes, kept as a bound, not a list (`ngrams` from a config may be huge).
        ngrams: Option<Ngrams> = None,
        output_mode: Mode = Mode::Int,
        /// Pad or cut `int` output to this many ids per text.
        output_sequence_length: Option<usize> = None;
            builder output_sequence_length(value: usize) => Some(value),
        /// Make non-int outputs `max_tokens` wide whatever the vocabulary size.
        pad_to_max_tokens: bool = false; builder pad_to_max_tokens(value: bool),
        /// Always false (checked by `from_config`).
        sparse: bool = false,
        /// Always false (checked by `from_config`).
        ragged: bool = false,
        /// The vocabulary given (`vocabulary=` or `set_vocabulary`).
        vocabulary: Option<Vec<String>> = None,
        /// Its idf weights (tf_idf).
        idf_weights: Option<Vec<f32>> = None,
        /// Only utf-8 (checked by `from_config`).
        encoding: String = "utf-8".into(),
    }
}

/// N-gram sizes: `1..=n` (Keras's integer form) or a list (the tuple form).
#[derive(Clone, Debug)]
enum Ngrams {
    UpTo(usize),
    Sizes(Vec<usize>),
}

/// Keras `keras.layers.TextVectorization`: standardizes each string (default: ASCII lowercase
/// and strip ASCII punctuation, apostrophes and hyphens included, without inserting spaces),
/// splits it (default: on ASCII whitespace), optionally forms n-grams, and maps tokens through a
/// vocabulary learned by [`adapt`](Self::adapt) or given with
/// [`vocabulary`](Self::vocabulary).
///
/// * `int` output: ids with 0 = padding (`""`), 1 = OOV (`"[UNK]"`), learned tokens from 2 by
///   descending frequency, ties in descending byte order (oracle README note 17); rows padded
///   to the longest text or cut/padded to `output_sequence_length`. Returned as int64, like
///   Keras.
/// * `multi_hot` / `count` / `tf_idf` (and `one_hot` with `split` none): float32
///   `[texts, vocabulary_size]` (or `max_tokens` with `pad_to_max_tokens`), index 0 = OOV.
///   tf_idf multiplies counts by `ln(1 + documents / (1 + documents containing the token))`; the
///   OOV weight is the mean of the learned weights.
///
/// Tensors hold no strings, so the layer is called with [`call_texts`](Self::call_texts) (and
/// its output fed to a model); calling it on a tensor is an error.
///
/// ```
/// use keras::layers::TextVectorization;
/// let mut tv = TextVectorization::new().output_sequence_length(4);
/// tv.adapt(&["The cat sat.", "the dog"]).unwrap();
/// assert_eq!(tv.get_vocabulary(true), vec!["", "[UNK]", "the", "sat", "dog", "cat"]);
/// let ids = tv.call_texts(&["the bird sat"]).unwrap();
/// assert_eq!(ids.to_i64_vec(), vec![2, 1, 3, 0]);
/// ```
#[derive(Clone)]
pub struct TextVectorization {
    base: LayerBase,
    args: TextVectorizationArgs,
    /// Learned or given tokens, without the special ones.
    tokens: Vec<String>,
    index: HashMap<String, usize>,
    /// One weight per output index (special indices first), tf_idf only.
    idf: Option<Vec<f32>>,
    /// Whether a vocabulary is set (adapt or given).
    has_vocabulary: bool,
    has_input_vocabulary: bool,
    /// adapt() accumulators: token -> (count, documents), and the number of documents.
    token_counts: HashMap<String, (u64, u64)>,
    num_documents: u64,
}

impl Default for TextVectorization {
    fn default() -> Self {
        Self::new()
    }
}

fn strip_punctuation(s: &str) -> String {
    s.chars().filter(|c| !c.is_ascii_punctuation()).collect()
}

impl TextVectorization {
    /// A layer with Keras's defaults: no max_tokens, `lower_and_strip_punctuation`,
    /// `whitespace`, no n-grams, `int` output padded to the longest text.
    pub fn new() -> Self {
        TextVectorization {
            base: LayerBase::new("text_vectorization"),
            args: TextVectorizationArgs::defaults(),
            tokens: Vec::new(),
            index: HashMap::new(),
            idf: None,
            has_vocabulary: false,
            has_input_vocabulary: false,
            token_counts: HashMap::new(),
            num_documents: 0,
        }
    }

    /// Largest vocabulary, special tokens included (must be > 1).
    pub fn max_tokens(mut self, n: usize) -> Self {
        self.args.max_tokens = Some(n);
        self.check_max_tokens();
        self
    }

    fn check_max_tokens(&mut self) {
        if let Some(n) = self.args.max_tokens.filter(|&n| n <= 1) {
            self.base.fail(Error::InvalidArgument(format!(
                "If set, `max_tokens` must be greater than 1. Received: max_tokens={n}"
            )));
        }
    }

    /// `"lower_and_strip_punctuation"` (default), `"lower"`, `"strip_punctuation"` or `"none"`.
    pub fn standardize(mut self, s: &str) -> Self {
        match Standardize::parse(s) {
            Ok(v) => self.args.standardize = v,
            Err(e) => {
                self.base.fail(e);
                self.args.standardize = Standardize::None;
            }
        }
        self
    }

    /// A custom standardization (not serializable: `get_config` writes `"custom"`).
    pub fn standardize_with(mut self, f: impl Fn(&str) -> String + Send + Sync + 'static) -> Self {
        self.args.standardize = Standardize::Custom(Arc::new(f));
        self
    }

    /// `"whitespace"` (default), `"character"` or `"none"` (each string is one token).
    pub fn split(mut self, s: &str) -> Self {
        match Split::parse(s) {
            Ok(v) => self.args.split = v,
            Err(e) => {
                self.base.fail(e);
                self.args.split = Split::None;
            }
        }
        self
    }

    /// A custom splitter (not serializable: `get_config` writes `"custom"`).
    pub fn split_with(mut self, f: impl Fn(&str) -> Vec<String> + Send + Sync + 'static) -> Self {
        self.args.split = Split::Custom(Arc::new(f));
        self
    }

    /// N-grams of sizes 1..=n.
    pub fn ngrams(mut self, n: usize) -> Self {
        self.args.ngrams = Some(Ngrams::UpTo(n));
        self
    }

    /// N-grams of exactly these sizes (Keras's tuple form).
    pub fn ngram_sizes(mut self, sizes: &[usize]) -> Self {
        self.args.ngrams = Some(Ngrams::Sizes(sizes.to_vec()));
        self.check_ngram_sizes();
        self
    }

    /// `"int"` (default), `"multi_hot"`, `"count"`, `"tf_idf"` or `"one_hot"`.
    pub fn output_mode(mut self, m: &str) -> Self {
        self.base.accept(&mut self.args.output_mode, Mode::parse(m));
        self
    }

    fn check_ngram_sizes(&mut self) {
        if matches!(&self.args.ngrams, Some(Ngrams::Sizes(s)) if s.contains(&0)) {
            self.base.fail(Error::InvalidArgument("TextVectorization: n-gram sizes must be >= 1".into()));
        }
    }

    crate::layers::builders::name_builder!();

    /// A fixed vocabulary (the layer can then not be adapted). It may start with the special
    /// tokens (`""`, `"[UNK]"` in int mode; `"[UNK]"` otherwise), or omit them.
    pub fn vocabulary(mut self, vocab: &[&str]) -> Self {
        let v: Vec<String> = vocab.iter().map(|s| s.to_string()).collect();
        self.args.vocabulary = Some(v.clone());
        self.has_input_vocabulary = true;
        if let Err(e) = self.set_vocab_checked(v, None) {
            self.base.fail(e);
        }
        self
    }

    /// A fixed vocabulary with its idf weights (tf_idf mode).
    pub fn vocabulary_with_idf(mut self, vocab: &[&str], idf_weights: &[f32]) -> Self {
        let v: Vec<String> = vocab.iter().map(|s| s.to_string()).collect();
        self.args.vocabulary = Some(v.clone());
        self.args.idf_weights = Some(idf_weights.to_vec());
        self.has_input_vocabulary = true;
        if let Err(e) = self.set_vocab_checked(v, Some(idf_weights.to_vec())) {
            self.base.fail(e);
        }
        self
    }

    fn check(&self) -> Result<()> {
        if let Some(e) = &self.base.pending_error {
            return Err(e.clone());
        }
        if self.args.output_mode != Mode::Int && self.args.output_sequence_length.is_some() {
            keras_bail!(
                InvalidArgument,
                "`output_sequence_length` must not be set if `output_mode` is not 'int'. Received \
                 output_sequence_length={:?}.",
                self.args.output_sequence_length.unwrap_or(0)
            );
        }
        if self.args.pad_to_max_tokens && self.args.output_mode != Mode::Int && self.args.max_tokens.is_none()
        {
            keras_bail!(InvalidArgument, "TextVectorization: `pad_to_max_tokens=True` needs `max_tokens`");
        }
        Ok(())
    }

    fn token_start(&self) -> usize {
        if self.args.output_mode == Mode::Int {
            2
        } else {
            1
        }
    }

    fn standardized(&self, s: &str) -> String {
        match &self.args.standardize {
            Standardize::None => s.to_string(),
            // tf.strings.lower without an encoding lowercases ASCII only.
            Standardize::Lower => s.to_ascii_lowercase(),
            Standardize::StripPunctuation => strip_punctuation(s),
            Standardize::LowerAndStripPunctuation => strip_punctuation(&s.to_ascii_lowercase()),
            Standardize::Custom(f) => f(s),
        }
    }

    /// The tokens of one text after standardize, split and n-grams (what the lookup sees).
    pub fn preprocess(&self, text: &str) -> Vec<String> {
        let s = self.standardized(text);
        let toks: Vec<String> = match &self.args.split {
            Split::None => vec![s],
            // tf.strings.split: ASCII whitespace only, runs count as one separator.
            Split::Whitespace => s
                .split(|c: char| c.is_ascii_whitespace() || c == '\u{b}')
                .filter(|w| !w.is_empty())
                .map(String::from)
                .collect(),
            Split::Character => s.chars().map(String::from).collect(),
            Split::Custom(f) => f(&s),
        };
        match &self.args.ngrams {
            None => toks,
            Some(ngrams) => {
                let sizes: Vec<usize> = match ngrams {
                    Ngrams::UpTo(n) => (1..=(*n).min(toks.len())).collect(),
                    Ngrams::Sizes(v) => v.clone(),
                };
                let mut out = Vec::new();
                for n in sizes {
                    if n == 0 || toks.len() < n {
                        continue;
                    }
                    out.extend(toks.windows(n).map(|w| w.join(" ")));
                }
                out
            }
        }
    }

    /// Clears what `update_state` accumulated.
    pub fn reset_state(&mut self) {
        self.token_counts.clear();
        self.num_documents = 0;
    }

    /// Accumulates token counts of a batch of texts (Keras `update_state`).
    pub fn update_state<S: AsRef<str>>(&mut self, texts: &[S]) -> Result<()> {
        self.check()?;
        if self.has_input_vocabulary {
            keras_bail!(
                State,
                "Cannot adapt layer '{}' after setting a static vocabulary via `vocabulary` argument or \
                 `set_vocabulary()` method.",
                self.base.name
            );
        }
        for t in texts {
            let toks = self.preprocess(t.as_ref());
            let mut seen = std::collections::HashSet::new();
            for tok in &toks {
                let e = self.token_counts.entry(tok.clone()).or_insert((0, 0));
                e.0 += 1;
                if seen.insert(tok) {
                    e.1 += 1;
                }
            }
            self.num_documents += 1;
        }
        Ok(())
    }

    /// Builds the vocabulary from the accumulated counts (Keras `finalize_state`): descending
    /// count, ties in descending byte order, cut to `max_tokens`.
    pub fn finalize_state(&mut self) -> Result<()> {
        self.check()?;
        if self.has_input_vocabulary || self.token_counts.is_empty() {
            if !self.has_input_vocabulary {
                self.set_tokens(Vec::new());
                if self.args.output_mode == Mode::TfIdf {
                    self.idf = Some(vec![0.0; self.depth()]);
                }
            }
            return Ok(());
        }
        let mut counts: Vec<(String, (u64, u64))> = std::mem::take(&mut self.token_counts)
            .into_iter()
            .filter(|(k, _)| k != MASK_TOKEN && k != OOV_TOKEN)
            .collect();
        counts.sort_by(|a, b| b.1 .0.cmp(&a.1 .0).then_with(|| b.0.as_bytes().cmp(a.0.as_bytes())));
        if let Some(m) = self.args.max_tokens {
            counts.truncate(m.saturating_sub(self.token_start()));
        }
        let docs = self.num_documents as f64;
        let weights: Vec<f32> =
            counts.iter().map(|(_, (_, d))| (1.0 + docs / (1.0 + *d as f64)).ln() as f32).collect();
        self.set_tokens(counts.into_iter().map(|(t, _)| t).collect());
        if self.args.output_mode == Mode::TfIdf {
            let mean =
                if weights.is_empty() { 0.0 } else { weights.iter().sum::<f32>() / weights.len() as f32 };
            let mut idf = vec![mean; self.token_start()];
            idf.extend(weights);
            idf.resize(self.depth().max(idf.len()), 0.0);
            self.idf = Some(idf);
        }
        self.reset_state();
        Ok(())
    }

    /// Learns the vocabulary (and document frequencies for tf_idf) from texts (Keras `adapt`).
    pub fn adapt<S: AsRef<str>>(&mut self, texts: &[S]) -> Result<()> {
        self.reset_state();
        self.update_state(texts)?;
        self.finalize_state()
    }

    /// [`adapt`](Self::adapt) on byte strings; invalid UTF-8 is an error.
    pub fn adapt_bytes<B: AsRef<[u8]>>(&mut self, texts: &[B]) -> Result<()> {
        let t = decode_utf8(texts)?;
        self.adapt(&t)
    }

    fn set_tokens(&mut self, tokens: Vec<String>) {
        let start = self.token_start();
        self.index = tokens.iter().enumerate().map(|(i, t)| (t.clone(), i + start)).collect();
        self.tokens = tokens;
        self.has_vocabulary = true;
    }

    fn set_vocab_checked(&mut self, vocab: Vec<String>, idf_weights: Option<Vec<f32>>) -> Result<()> {
        if self.args.output_mode == Mode::TfIdf && idf_weights.is_none() {
            keras_bail!(InvalidArgument, "`idf_weights` must be set if output_mode is 'tf_idf'.");
        }
        if self.args.output_mode != Mode::TfIdf && idf_weights.is_some() {
            keras_bail!(
                InvalidArgument,
                "`idf_weights` should only be set if output_mode is `'tf_idf'`. Received: output_mode={}",
                self.args.output_mode.name()
            );
        }
        if vocab.is_empty() {
            keras_bail!(InvalidArgument, "Cannot set an empty vocabulary.");
        }
        let specials: Vec<&str> =
            if self.args.output_mode == Mode::Int { vec![MASK_TOKEN, OOV_TOKEN] } else { vec![OOV_TOKEN] };
        let found = vocab.len() >= specials.len() && vocab.iter().zip(&specials).all(|(a, b)| a == b);
        let tokens: Vec<String> = if found { vocab[specials.len()..].to_vec() } else { vocab.clone() };
        let mut seen = std::collections::HashSet::new();
        let repeated: Vec<&String> = tokens.iter().filter(|t| !seen.insert(*t)).collect();
        if !repeated.is_empty() {
            keras_bail!(
                InvalidArgument,
                "The passed vocabulary has at least one repeated term. Please uniquify your dataset. The \
                 repeated terms are: {repeated:?}"
            );
        }
        if tokens.iter().any(|t| t == MASK_TOKEN) {
            keras_bail!(
                InvalidArgument,
                "Found reserved mask token at unexpected location in `vocabulary`. Either remove all mask and \
                 OOV tokens, or include them only at the start of the vocabulary in precisely this order: \
                 {specials:?}."
            );
        }
        let size = specials.len() + tokens.len();
        if let Some(m) = self.args.max_tokens {
            if size > m {
                keras_bail!(
                    InvalidArgument,
                    "Attempted to set a vocabulary larger than the maximum vocab size. Received vocabulary \
                     size is {size}; `max_tokens` is {m}."
                );
            }
        }
        if let Some(w) = &idf_weights {
            if w.len() != vocab.len() {
                keras_bail!(
                    InvalidArgument,
                    "`idf_weights` must be the same length as vocabulary. len(idf_weights) is {}; \
                     len(vocabulary) is {}",
                    w.len(),
                    vocab.len()
                );
            }
        }
        self.set_tokens(tokens);
        if let Some(w) = idf_weights {
            let mut idf = if found {
                Vec::new()
            } else {
                let mean = (w.iter().map(|&v| v as f64).sum::<f64>() / w.len() as f64) as f32;
                vec![mean; specials.len()]
            };
            idf.extend(w);
            idf.resize(self.depth().max(idf.len()), 0.0);
            self.idf = Some(idf);
        }
        Ok(())
    }

    /// Replaces the vocabulary (Keras `set_vocabulary`); `idf_weights` is required for tf_idf
    /// and refused otherwise.
    pub fn set_vocabulary(&mut self, vocab: &[&str], idf_weights: Option<&[f32]>) -> Result<()> {
        self.check()?;
        let v: Vec<String> = vocab.iter().map(|s| s.to_string()).collect();
        self.set_vocab_checked(v.clone(), idf_weights.map(<[f32]>::to_vec))?;
        self.args.vocabulary = Some(v);
        self.args.idf_weights = idf_weights.map(<[f32]>::to_vec);
        self.has_input_vocabulary = true;
        Ok(())
    }

    /// The vocabulary; with `include_special_tokens` index `i` is the token of id `i`.
    pub fn get_vocabulary(&self, include_special_tokens: bool) -> Vec<String> {
        let mut v: Vec<String> = Vec::new();
        if include_special_tokens {
            if self.args.output_mode == Mode::Int {
                v.push(MASK_TOKEN.into());
            }
            v.push(OOV_TOKEN.into());
        }
        v.extend(self.tokens.iter().cloned());
        v
    }

    /// Vocabulary size including the special tokens.
    pub fn vocabulary_size(&self) -> usize {
        self.token_start() + self.tokens.len()
    }

    /// The tf_idf weights, one per output column (None outside tf_idf mode).
    pub fn idf_weights(&self) -> Option<&[f32]> {
        self.idf.as_deref()
    }

    /// Writes the vocabulary as Keras saves it in a `.keras` archive's assets
    /// (`vocabulary.txt`: special tokens included, one per line, no trailing newline).
    pub fn save_vocabulary(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        std::fs::write(path, self.get_vocabulary(true).join("\n"))
            .map_err(|e| Error::Io(format!("cannot write vocabulary {}: {e}", path.display())))
    }

    /// Reads a vocabulary written by [`save_vocabulary`](Self::save_vocabulary) or by Keras
    /// (`assets/vocabulary.txt`), as Keras's `load_assets`: trailing empty lines are dropped and
    /// leading special tokens recognised. tf_idf keeps the current idf weights.
    pub fn load_vocabulary(&mut self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let bytes = std::fs::read(path)
            .map_err(|e| Error::Io(format!("cannot read vocabulary {}: {e}", path.display())))?;
        let text = String::from_utf8(bytes)
            .map_err(|_| Error::Io(format!("vocabulary {} is not valid UTF-8", path.display())))?;
        let mut lines: Vec<String> = text.lines().map(String::from).collect();
        while lines.last().is_some_and(|l| l.is_empty()) {
            lines.pop();
        }
        let idf = if self.args.output_mode == Mode::TfIdf {
            match &self.idf {
                Some(w) if w.len() >= lines.len() => Some(w[..lines.len()].to_vec()),
                _ => keras_bail!(
                    State,
                    "TextVectorization: loading a tf_idf vocabulary needs idf weights of the same length"
                ),
            }
        } else {
            None
        };
        self.has_input_vocabulary = false;
        self.set_vocab_checked(lines, idf)
    }

    fn depth(&self) -> usize {
        match (self.args.pad_to_max_tokens, self.args.max_tokens) {
            (true, Some(m)) => m,
            _ => self.vocabulary_size(),
        }
    }

    fn lookup(&self, tok: &str) -> usize {
        if self.args.output_mode == Mode::Int && tok == MASK_TOKEN {
            return 0;
        }
        self.index.get(tok).copied().unwrap_or(self.token_start() - 1)
    }

    /// Vectorizes texts (Keras `layer(texts)`): `[texts, length]` int64 ids in `int` mode,
    /// `[texts, depth]` float32 otherwise.
    pub fn call_texts<S: AsRef<str>>(&self, texts: &[S]) -> Result<Tensor> {
        self.check()?;
        if !(self.has_vocabulary || self.args.output_mode == Mode::Int || self.args.pad_to_max_tokens) {
            keras_bail!(
                State,
                "When using `output_mode={}` and `pad_to_max_tokens=False`, you must set the layer's \
                 vocabulary before calling it. Either pass a `vocabulary` argument to the layer, or call \
                 `adapt` with some sample data.",
                self.args.output_mode.name()
            );
        }
        let ids: Vec<Vec<usize>> = texts
            .iter()
            .map(|t| self.preprocess(t.as_ref()).iter().map(|w| self.lookup(w)).collect())
            .collect();
        let n = texts.len();
        if self.args.output_mode == Mode::Int {
            let len = self
                .args
                .output_sequence_length
                .unwrap_or_else(|| ids.iter().map(Vec::len).max().unwrap_or(0));
            let mut out = vec![0i64; n * len];
            for (r, row) in ids.iter().enumerate() {
                for (k, &id) in row.iter().take(len).enumerate() {
                    out[r * len + k] = id as i64;
                }
            }
            return Ok(Tensor::from_i64(out, [n, len])?);
        }
        if self.args.output_mode == Mode::OneHot && !matches!(self.args.split, Split::None) {
            keras_bail!(
                InvalidArgument,
                "TextVectorization: output_mode 'one_hot' is supported only with split none (one token per \
                 string); use 'multi_hot' or 'count' for split texts"
            );
        }
        let depth = self.depth();
        let mut out = vec![0f32; n * depth];
        for (r, row) in ids.iter().enumerate() {
            for &id in row {
                if id >= depth {
                    continue;
                }
                let cell = &mut out[r * depth + id];
                match self.args.output_mode {
                    Mode::MultiHot | Mode::OneHot => *cell = 1.0,
                    _ => *cell += 1.0,
                }
            }
        }
        if self.args.output_mode == Mode::TfIdf {
            let idf = self.idf.as_ref().ok_or_else(|| {
                Error::State("When `output_mode` is `'tf_idf'`, `idf_weights` must be provided.".into())
            })?;
            for row in out.chunks_mut(depth) {
                for (v, w) in row.iter_mut().zip(idf) {
                    *v *= w;
                }
            }
        }
        Ok(Tensor::new(out, [n, depth])?)
    }

    /// [`call_texts`](Self::call_texts) on byte strings; invalid UTF-8 is an error.
    pub fn call_byte_texts<B: AsRef<[u8]>>(&self, texts: &[B]) -> Result<Tensor> {
        let t = decode_utf8(texts)?;
        self.call_texts(&t)
    }

    /// Rebuilds from a Keras config (callable standardize/split cannot be restored).
    pub fn from_config(cfg: &Value) -> Result<Self> {
        let mut args = TextVectorizationArgs::read_args(&mut LayerCfg::new(cfg, "TextVectorization"))?;
        for (k, set) in [("sparse", args.sparse), ("ragged", args.ragged)] {
            if set {
                keras_bail!(Config, "TextVectorization: `{k}=True` outputs are not supported by keras-rs");
            }
        }
        let e = &args.encoding;
        if !e.eq_ignore_ascii_case("utf-8") && !e.eq_ignore_ascii_case("utf8") {
            keras_bail!(Config, "TextVectorization: only the utf-8 encoding is supported, got '{e}'");
        }
        // Set by `set_vocabulary` below.
        let (vocabulary, idf) = (args.vocabulary.take(), args.idf_weights.take());
        let mut l = TextVectorization::new();
        l.base.apply_config(cfg);
        l.args = args;
        l.check_max_tokens();
        l.check_ngram_sizes();
        if let Some(e) = l.base.pending_error.take() {
            return Err(Error::Config(e.message().to_string()));
        }
        if let Some(v) = vocabulary {
            let refs: Vec<&str> = v.iter().map(String::as_str).collect();
            l.set_vocabulary(&refs, idf.as_deref()).map_err(|e| Error::Config(e.message().to_string()))?;
        }
        l.check().map_err(|e| Error::Config(e.message().to_string()))?;
        Ok(l)
    }
}

impl Layer for TextVectorization {
    crate::layers::layer::layer_base_methods!("TextVectorization");
    fn records_build_config(&self) -> bool {
        false
    }
    fn compute_output_shape(&self, s: &[Option<usize>]) -> Result<Shape> {
        let batch = s.first().copied().flatten();
        Ok(match self.args.output_mode {
            Mode::Int => vec![batch, self.args.output_sequence_length],
            _ => vec![batch, Some(self.depth())],
        })
    }
    fn call(&self, _inputs: &Tensor, _ctx: &mut CallContext) -> Result<Tensor> {
        keras_bail!(
            InvalidArgument,
            "Layer {}: TextVectorization takes strings, which tensors cannot hold; vectorize the texts with \
             `call_texts` and feed the result to the model",
            self.base.name
        )
    }
    fn get_config(&self) -> Value {
        let mut m = self.base.base_config();
        self.args.write_args(&mut m);
        m.insert("vocabulary_size".into(), json!(self.vocabulary_size()));
        Value::Object(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::deserialize;

    fn ids(t: &Tensor) -> Vec<i64> {
        t.to_i64_vec()
    }

    // Expected values below were produced by Keras 3.15.1 (TensorFlow backend).
    #[test]
    fn standardize_split_and_ngrams_match_keras() {
        let mut l = TextVectorization::new();
        l.adapt(&["ÉCOLE Straße école", "a\u{a0}b\u{2003}c\u{b}d\u{c}e\rf g"]).unwrap();
        assert_eq!(
            l.get_vocabulary(true),
            ["", "[UNK]", "école", "École", "straße", "g", "f", "e", "d", "a\u{a0}b\u{2003}c"]
        );
        let mut l = TextVectorization::new().ngrams(3);
        l.adapt(&["a b c d", "x y"]).unwrap();
        let out = l.call_texts(&["a b c d", "x y", "q"]).unwrap();
        assert_eq!(
            ids(&out),
            [13, 10, 7, 5, 12, 9, 6, 11, 8, 4, 2, 3, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]
        );
        let mut l = TextVectorization::new().split("character").standardize("none");
        l.adapt(&["abca é"]).unwrap();
        assert_eq!(l.get_vocabulary(true), ["", "[UNK]", "a", "é", "c", "b", " "]);
        let mut l = TextVectorization::new().split("none");
        l.adapt(&["a b", "c"]).unwrap();
        assert_eq!(ids(&l.call_texts(&["a b", "c"]).unwrap()), [3, 2]);
    }

    #[test]
    fn output_modes_match_keras() {
        let mut l = TextVectorization::new().output_sequence_length(2);
        l.adapt(&["a b c a"]).unwrap();
        assert_eq!(ids(&l.call_texts(&["a b c", "c"]).unwrap()), [2, 4, 3, 0]);
        let mut l = TextVectorization::new().output_mode("tf_idf");
        l.adapt(&["a b c a", "a d", "e"]).unwrap();
        let got = l.call_texts(&["a a z b"]).unwrap();
        let want = [0.871662f32, 1.3862944, 0.0, 0.0, 0.0, 0.91629076];
        for (g, w) in got.as_f32().unwrap().iter().zip(want) {
            assert!((g - w).abs() < 1e-6, "{g} vs {w}");
        }
        let mut l = TextVectorization::new().max_tokens(5).pad_to_max_tokens(true).output_mode("count");
        l.adapt(&["a b c d e f g a"]).unwrap();
        assert_eq!(l.get_vocabulary(true), ["[UNK]", "a", "g", "f", "e"]);
        assert_eq!(l.call_texts(&["a g"]).unwrap().as_f32().unwrap(), &[0., 1., 1., 0., 0.]);
        let mut l = TextVectorization::new().output_mode("one_hot").split("none");
        l.adapt(&["a", "b", "a"]).unwrap();
        assert_eq!(l.call_texts(&["a", "z"]).unwrap().as_f32().unwrap(), &[0., 1., 0., 1., 0., 0.]);
        let l = TextVectorization::new().output_mode("tf_idf").vocabulary_with_idf(&["a", "b"], &[0.5, 0.25]);
        assert_eq!(l.call_texts(&["a b z z"]).unwrap().as_f32().unwrap(), &[0.75, 0.5, 0.25]);
        let l = TextVectorization::new().output_mode("multi_hot").vocabulary(&["x", "y"]);
        assert_eq!(l.call_texts(&["x q", ""]).unwrap().as_f32().unwrap(), &[1., 1., 0., 0., 0., 0.]);
        let l = TextVectorization::new().vocabulary(&["", "[UNK]", "x", "y"]);
        assert_eq!(ids(&l.call_texts(&["x y q", ""]).unwrap()), [2, 3, 1, 0, 0, 0]);
    }

    #[test]
    fn config_round_trip_and_vocabulary_files() {
        crate::backend::clear_session();
        let l = TextVectorization::new()
            .output_mode("count")
            .ngram_sizes(&[1, 3])
            .vocabulary(&["a", "b"])
            .name("tv");
        let cfg = l.get_config();
        assert_eq!(cfg["ngrams"], json!([1, 3]));
        assert_eq!(cfg["vocabulary_size"], json!(3));
        let back = deserialize(&json!({"class_name": "TextVectorization", "config": cfg})).unwrap();
        assert_eq!(back.get_config(), cfg);

        let mut a = TextVectorization::new();
        a.adapt(&["b a a"]).unwrap();
        let dir = std::env::temp_dir().join(format!("keras_tv_{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("vocabulary.txt");
        a.save_vocabulary(&path).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "\n[UNK]\na\nb");
        let mut b = TextVectorization::new();
        b.load_vocabulary(&path).unwrap();
        assert_eq!(b.get_vocabulary(true), a.get_vocabulary(true));
        assert!(b.load_vocabulary(dir.join("missing.txt")).is_err());
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn bad_arguments_are_errors() {
        assert!(TextVectorization::new().max_tokens(1).call_texts(&["a"]).is_err());
        assert!(TextVectorization::new().output_mode("bag").call_texts(&["a"]).is_err());
        assert!(TextVectorization::new().split("comma").call_texts(&["a"]).is_err());
        assert!(TextVectorization::new()
            .output_mode("count")
            .output_sequence_length(3)
            .call_texts(&["a"])
            .is_err());
        assert!(matches!(
            TextVectorization::new().output_mode("count").call_texts(&["a"]),
            Err(Error::State(_))
        ));
        assert!(TextVectorization::new().vocabulary(&["a", "a"]).call_texts(&["a"]).is_err());
        assert!(TextVectorization::new().vocabulary(&["a", ""]).call_texts(&["a"]).is_err());
        assert!(TextVectorization::new().max_tokens(3).vocabulary(&["a", "b"]).call_texts(&["a"]).is_err());
        assert!(TextVectorization::new()
            .output_mode("tf_idf")
            .vocabulary(&["a"])
            .call_texts(&["a"])
            .is_err());
        let mut fixed = TextVectorization::new().vocabulary(&["a"]);
        assert!(matches!(fixed.adapt(&["b"]), Err(Error::State(_))));
        assert!(fixed.adapt_bytes(&[b"\xfe".as_slice()]).is_err());
        assert!(fixed.call_byte_texts(&[b"a\xff".as_slice()]).is_err());
        assert!(fixed.call(&Tensor::zeros([1, 1]), &mut CallContext::new(false)).is_err());
        assert!(TextVectorization::from_config(&json!({"ragged": true})).is_err());
        assert!(TextVectorization::from_config(&json!({"standardize": {"class_name": "f"}})).is_err());
        assert!(TextVectorization::from_config(&json!({"max_tokens": 1})).is_err());
    }
}
