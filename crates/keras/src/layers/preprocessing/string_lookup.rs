//! `StringLookup`: string tokens to contiguous indices (or encodings), and back with
//! `invert`.

use serde_json::{json, Value};

use crate::layers::layer::{CallContext, Layer, LayerBase, Shape};
use crate::layers::preprocessing::index_lookup::{lookup_builders, lookup_layer_methods, IndexLookup, Token};
use crate::layers::reshaping::args::layer_common;
use crate::{keras_bail, Error, Result, Tensor};

/// Keras `keras.layers.StringLookup`: a vocabulary of strings (given, or learned by
/// [`adapt`](Self::adapt) by descending frequency, ties in descending byte order) maps each
/// string to its index; unknown strings go to the OOV index (`"[UNK]"`), the mask token (when
/// set) to 0. `output_mode` `one_hot` / `multi_hot` / `count` give int64 encodings, `tf_idf`
/// float32. An adapted vocabulary is saved in `.keras` files as Keras does
/// (`assets/.../vocabulary.txt`).
///
/// Tensors hold no strings, so the layer is called with [`call_strings`](Self::call_strings)
/// (and inverted with [`invert_ids`](Self::invert_ids)); calling it on a tensor is an error.
///
/// ```
/// use keras::layers::StringLookup;
/// let mut lookup = StringLookup::new();
/// lookup.adapt(&["a", "c", "c", "b", "c", "b"]).unwrap();
/// assert_eq!(lookup.get_vocabulary(true), vec!["[UNK]", "c", "b", "a"]);
/// let ids = lookup.call_strings(&["a", "z", "c"], &[1, 3]).unwrap();
/// assert_eq!(ids.to_i64_vec(), vec![3, 0, 1]);
/// ```
pub struct StringLookup {
    base: LayerBase,
    lookup: IndexLookup<String>,
}

impl Default for StringLookup {
    fn default() -> Self {
        Self::new()
    }
}

impl StringLookup {
    /// Keras's defaults: one OOV index (`"[UNK]"`), no mask, `int` output.
    pub fn new() -> Self {
        StringLookup { base: LayerBase::new("string_lookup"), lookup: IndexLookup::new("StringLookup") }
    }

    /// The string that means padding (index 0 in `int` mode).
    pub fn mask_token(mut self, t: &str) -> Self {
        self.lookup.args.mask_token = Some(Token(t.to_string()));
        self.recheck()
    }

    /// The OOV token (default `"[UNK]"`).
    pub fn oov_token(mut self, t: &str) -> Self {
        self.lookup.args.oov_token = Token(t.to_string());
        self.recheck()
    }

    /// A fixed vocabulary (Keras `vocabulary=`); it is kept in the config.
    pub fn vocabulary(mut self, vocabulary: &[&str]) -> Self {
        let v = vocabulary.iter().map(|s| s.to_string()).collect();
        if let Err(e) = self.lookup.set_input_vocabulary(v, None) {
            self.base.fail(e);
        }
        self
    }

    /// A fixed vocabulary with its inverse document frequencies (`tf_idf`).
    pub fn vocabulary_with_idf(mut self, vocabulary: &[&str], idf_weights: &[f64]) -> Self {
        let v = vocabulary.iter().map(|s| s.to_string()).collect();
        if let Err(e) = self.lookup.set_input_vocabulary(v, Some(idf_weights.to_vec())) {
            self.base.fail(e);
        }
        self
    }

    crate::layers::builders::base_builders!();
    lookup_builders! {
        num_oov_indices:
        /// How many OOV indices (0 makes unknown strings an error; 1, the default; more hash
        /// unknown strings into buckets with FarmHash, as Keras).
        ;
        invert:
        /// Map indices back to strings ([`invert_ids`](Self::invert_ids)).
    }

    /// Learns the vocabulary, one string per document (Keras `adapt` on a 1-D array).
    pub fn adapt<S: AsRef<str>>(&mut self, data: &[S]) -> Result<()> {
        let rows: Vec<Vec<String>> = data.iter().map(|s| vec![s.as_ref().to_string()]).collect();
        self.adapt_rows_owned(rows)
    }

    /// Learns the vocabulary from documents of several strings (Keras `adapt` on a 2-D array).
    pub fn adapt_rows<S: AsRef<str>>(&mut self, rows: &[Vec<S>]) -> Result<()> {
        let rows: Vec<Vec<String>> =
            rows.iter().map(|r| r.iter().map(|s| s.as_ref().to_string()).collect()).collect();
        self.adapt_rows_owned(rows)
    }

    fn adapt_rows_owned(&mut self, rows: Vec<Vec<String>>) -> Result<()> {
        crate::layers::layer::check_pending(self)?;
        self.lookup.adapt(&rows)
    }

    /// Replaces the vocabulary (Keras `set_vocabulary`).
    pub fn set_vocabulary(&mut self, vocabulary: &[&str], idf_weights: Option<&[f64]>) -> Result<()> {
        let v: Vec<String> = vocabulary.iter().map(|s| s.to_string()).collect();
        self.lookup.set_vocabulary(&v, idf_weights)
    }

    /// The vocabulary, with or without the mask and OOV entries.
    pub fn get_vocabulary(&self, include_special_tokens: bool) -> Vec<String> {
        self.lookup.get_vocabulary(include_special_tokens)
    }

    /// The layer on strings laid out as `shape` (row-major): int64 indices of the same shape,
    /// or the encodings.
    pub fn call_strings<S: AsRef<str>>(&self, strings: &[S], shape: &[usize]) -> Result<Tensor> {
        crate::layers::layer::check_pending(self)?;
        if self.lookup.args.invert {
            keras_bail!(
                InvalidArgument,
                "StringLookup with invert=True maps indices to strings: use invert_ids"
            );
        }
        if shape.iter().product::<usize>() != strings.len() {
            keras_bail!(Shape, "StringLookup: {} strings do not fill the shape {shape:?}", strings.len());
        }
        let keys: Vec<String> = strings.iter().map(|s| s.as_ref().to_string()).collect();
        // Several OOV indices: TensorFlow's `to_hash_bucket_fast` (FarmHash) buckets, or
        // `to_hash_bucket_strong` (SipHash) with a salt.
        let ids = self.lookup.lookup(&keys, |k, n| Some(self.lookup.hash_bucket(k.as_bytes(), n)))?;
        self.lookup.output(ids, shape, &self.base.name)
    }

    /// `invert=True`: the string of each index (unknown indices give the OOV token).
    pub fn invert_ids(&self, ids: &Tensor) -> Result<Vec<String>> {
        crate::layers::layer::check_pending(self)?;
        if !self.lookup.args.invert {
            keras_bail!(InvalidArgument, "StringLookup.invert_ids needs invert=True");
        }
        Ok(self.lookup.invert_lookup(&crate::layers::preprocessing::encoding::ids_of(ids)))
    }

    /// Rebuilds from a Keras config.
    pub fn from_config(cfg: &Value) -> Result<Self> {
        let mut l = StringLookup::new();
        l.base.apply_config(cfg);
        if let Some(e) =
            cfg.get("encoding").and_then(Value::as_str).filter(|e| !e.eq_ignore_ascii_case("utf-8"))
        {
            return Err(Error::Config(format!(
                "StringLookup: only encoding=\"utf-8\" is supported, received {e}"
            )));
        }
        l.lookup.apply_config(cfg)?;
        l = l.recheck();
        crate::layers::reshaping::args::finish(&mut l.base, ())?;
        Ok(l)
    }
}

impl Layer for StringLookup {
    layer_common!("StringLookup", false);
    lookup_layer_methods!();

    fn call(&self, _x: &Tensor, _ctx: &mut CallContext) -> Result<Tensor> {
        keras_bail!(
            InvalidArgument,
            "StringLookup '{}' looks up strings, which tensors do not hold: call it with call_strings (or invert_ids)",
            self.base.name
        )
    }

    fn get_config(&self) -> Value {
        let mut m = self.base.base_config();
        self.lookup.write_config(&mut m);
        m.insert("encoding".into(), json!("utf-8"));
        Value::Object(m)
    }
}
