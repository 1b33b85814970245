//! `IntegerLookup`: integer tokens to contiguous indices (or encodings), and back with
//! `invert`.

use serde_json::{json, Value};

use crate::layers::layer::{CallContext, Layer, LayerBase, Shape};
use crate::layers::layer_args::insert_before;
use crate::layers::preprocessing::encoding::ids_of;
use crate::layers::preprocessing::index_lookup::{
    lookup_builders, lookup_layer_methods, IndexLookup, OovMethod, Token,
};
use crate::layers::reshaping::args::layer_common;
use crate::{Error, Result, Tensor};

/// Keras `keras.layers.IntegerLookup`: a vocabulary of integers (given, or learned by
/// [`adapt`](Self::adapt) by descending frequency) maps each input to its index; unknown
/// values go to the OOV index (with several, `value mod num_oov_indices`), the mask token
/// (when set) to 0. `output_mode` `one_hot` / `multi_hot` / `count` give int64 encodings,
/// `tf_idf` float32. With `invert`, indices map back to values. An adapted vocabulary is
/// saved in `.keras` files as Keras does (`assets/.../vocabulary.txt`).
///
/// ```
/// use keras::layers::{CallContext, IntegerLookup, Layer};
/// use keras::Tensor;
/// let lookup = IntegerLookup::new().vocabulary(&[12, 36, 1138]);
/// let x = Tensor::from_i64(vec![12, 1138, 42], [1, 3]).unwrap();
/// assert_eq!(lookup.call(&x, &mut CallContext::new(false)).unwrap().to_i64_vec(), vec![1, 3, 0]);
/// assert_eq!(lookup.get_vocabulary(true), vec![-1, 12, 36, 1138]);
/// ```
pub struct IntegerLookup {
    base: LayerBase,
    lookup: IndexLookup<i64>,
}

impl Default for IntegerLookup {
    fn default() -> Self {
        Self::new()
    }
}

impl IntegerLookup {
    /// Keras's defaults: one OOV index (token -1), no mask, `int` output.
    pub fn new() -> Self {
        IntegerLookup { base: LayerBase::new("integer_lookup"), lookup: IndexLookup::new("IntegerLookup") }
    }

    /// The value that means padding (index 0 in `int` mode).
    pub fn mask_token(mut self, t: i64) -> Self {
        self.lookup.args.mask_token = Some(Token(t));
        self.recheck()
    }

    /// The value `invert` returns for unknown indices (default -1).
    pub fn oov_token(mut self, t: i64) -> Self {
        self.lookup.args.oov_token = Token(t);
        self.recheck()
    }

    /// How several OOV indices are chosen: `"floormod"` (value mod `num_oov_indices`, the
    /// default) or `"farmhash"` (FarmHash of the value's decimal text).
    pub fn oov_method(mut self, method: &str) -> Self {
        self.base.accept(&mut self.lookup.args.oov_method, OovMethod::parse("IntegerLookup", method));
        self
    }

    /// A fixed vocabulary (Keras `vocabulary=`); it is kept in the config.
    pub fn vocabulary(mut self, vocabulary: &[i64]) -> Self {
        if let Err(e) = self.lookup.set_input_vocabulary(vocabulary.to_vec(), None) {
            self.base.fail(e);
        }
        self
    }

    /// A fixed vocabulary with its inverse document frequencies (`tf_idf`).
    pub fn vocabulary_with_idf(mut self, vocabulary: &[i64], idf_weights: &[f64]) -> Self {
        if let Err(e) = self.lookup.set_input_vocabulary(vocabulary.to_vec(), Some(idf_weights.to_vec())) {
            self.base.fail(e);
        }
        self
    }

    crate::layers::builders::base_builders!();
    lookup_builders! {
        num_oov_indices:
        /// How many OOV indices (default 1; 0 makes unknown values an error).
        ;
        invert:
        /// Map indices back to values.
    }

    /// Learns the vocabulary from `data`: a 1-D tensor is one value per document, a 2-D one a
    /// document per row (Keras `adapt`).
    pub fn adapt(&mut self, data: &Tensor) -> Result<()> {
        crate::layers::layer::check_pending(self)?;
        let values = ids_of(data);
        let row = match data.rank() {
            0 | 1 => 1,
            _ => data.shape()[1..].iter().product::<usize>().max(1),
        };
        let rows: Vec<Vec<i64>> = values.chunks(row).map(<[i64]>::to_vec).collect();
        self.lookup.adapt(&rows)
    }

    /// Replaces the vocabulary (Keras `set_vocabulary`).
    pub fn set_vocabulary(&mut self, vocabulary: &[i64], idf_weights: Option<&[f64]>) -> Result<()> {
        self.lookup.set_vocabulary(vocabulary, idf_weights)
    }

    /// The vocabulary, with or without the mask and OOV entries.
    pub fn get_vocabulary(&self, include_special_tokens: bool) -> Vec<i64> {
        self.lookup.get_vocabulary(include_special_tokens)
    }

    /// Rebuilds from a Keras config.
    pub fn from_config(cfg: &Value) -> Result<Self> {
        let mut l = IntegerLookup::new();
        l.base.apply_config(cfg);
        if let Some(d) = cfg.get("vocabulary_dtype").and_then(Value::as_str) {
            if d != "int64" && d != "int32" {
                return Err(Error::Config(format!(
                    "IntegerLookup: `vocabulary_dtype` must be int64 or int32, received {d}"
                )));
            }
        }
        l.lookup.apply_config(cfg)?;
        l.lookup.check_salt(true)?;
        Ok(l)
    }
}

impl Layer for IntegerLookup {
    layer_common!("IntegerLookup", false);
    lookup_layer_methods!();

    fn call(&self, x: &Tensor, _ctx: &mut CallContext) -> Result<Tensor> {
        crate::layers::layer::check_pending(self)?;
        self.lookup.check_salt(true)?;
        let keys = ids_of(x);
        if self.lookup.args.invert {
            return Ok(Tensor::from_i64(self.lookup.invert_lookup(&keys), x.shape().to_vec())?);
        }
        let farmhash = self.lookup.farmhash();
        let ids = self.lookup.lookup(&keys, |k, n| {
            Some(if farmhash {
                // Keras hashes the decimal text of the value (`tf.strings.as_string`).
                self.lookup.hash_bucket(k.to_string().as_bytes(), n)
            } else {
                k.rem_euclid(n as i64) as usize
            })
        })?;
        self.lookup.output(ids, x.shape(), &self.base.name)
    }

    fn get_config(&self) -> Value {
        let mut m = self.base.base_config();
        self.lookup.write_config(&mut m);
        insert_before(&mut m, "idf_weights", "vocabulary_dtype", json!("int64"));
        Value::Object(m)
    }
}
